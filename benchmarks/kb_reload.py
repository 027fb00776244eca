"""Hot-reload figures: edit → every bot process answering with it, and re-embedding a 1-entry change.

1. Two headless bot processes (``tests/support/kb_process.py``: the product's App with its
   watcher, no Telegram) share one Redis. For each of ``--edits`` edits of an answer, the time from
   the commit until *both* processes answer the question with the new text (p50, max).
2. A 10,000-entry knowledge base in Redis served by a retriever with its watcher: the time from a
   1-entry change (a new phrasing; an answer-only change) until the new index is served, and how
   many phrasings were embedded for it.

Needs Redis (default ``redis://127.0.0.1:6379/15``; keys under a random prefix, deleted at the end).

    python benchmarks/kb_reload.py [--edits 20] [--entries 10000] [--redis URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from redis.asyncio import Redis  # noqa: E402

from bot.services.live import LiveModels  # noqa: E402
from bot.services.watcher import KbWatcher  # noqa: E402
from knowledge_base import FaqEntry, KnowledgeBase, bundled_path, load_knowledge_base  # noqa: E402
from knowledge_base.store import KnowledgeBaseStore  # noqa: E402


async def edit_to_answer(redis_url: str, edits: int, torch_threads: int | None) -> dict:
    from tests.support.bot_processes import BotProcess, until_answered

    prefix = f"bench-kb-{uuid.uuid4().hex[:8]}"
    redis = Redis.from_url(redis_url, decode_responses=True)
    cache = tempfile.mkdtemp(prefix="kb-bench-cache-")
    env = {
        "REDIS__URL": redis_url,
        "REDIS__PREFIX": prefix,
        "RETRIEVAL__CACHE_DIR": cache,
        "RETRIEVAL__WORKERS": "1",
        "LOG_LEVEL": "WARNING",
    }
    if torch_threads:
        env["OMP_NUM_THREADS"] = str(torch_threads)
    processes = []
    try:
        processes = list(await asyncio.gather(BotProcess.start(env), BotProcess.start(env)))
        store = KnowledgeBaseStore(redis, prefix)
        _, kb = await store.current()
        entry = kb.entries[0]
        question = entry.alternatives[0] if entry.alternatives else entry.question
        first = await processes[0].ask(question)
        if first["entry_id"] != entry.id:
            raise SystemExit(f"the benchmark question {question!r} is not answered by {entry.id}")
        waits: dict[str, list[float]] = {"answer": [], "answer+phrasing": []}
        for i in range(edits):
            answer = f"{entry.answer} (revision {i + 1})"
            # Every other edit also adds a phrasing, so the index is rebuilt (1 phrasing embedded).
            kind = "answer+phrasing" if i % 2 else "answer"
            alternatives = (
                [*entry.alternatives, f"{entry.question} (wording {i})"] if i % 2 else None
            )
            committed = time.perf_counter()
            await store.update_entry(
                entry.id, "benchmark", answer=answer, alternatives=alternatives
            )
            await asyncio.gather(*(until_answered(p, question, answer, 10.0) for p in processes))
            waits[kind].append(time.perf_counter() - committed)
        return waits
    finally:
        await asyncio.gather(*(p.stop() for p in processes))
        async for key in redis.scan_iter(match=f"{prefix}*", count=500):
            await redis.delete(key)
        await redis.aclose()


def big_knowledge_base(n: int) -> KnowledgeBase:
    """``n`` distinct entries: the bundled FAQ plus generated ones (question + one phrasing)."""
    base = list(load_knowledge_base(bundled_path()).entries)
    products = ["laptop", "phone", "tablet", "monitor", "headset", "camera", "router", "speaker"]
    topics = [
        ("reset {p} model {i}", "How do I reset the {p} model {i}?", "factory reset {p} {i}"),
        ("warranty {p} {i}", "What warranty does the {p} model {i} have?", "{p} {i} guarantee"),
        (
            "battery {p} {i}",
            "How long does the battery of the {p} model {i} last?",
            "{p} {i} battery life",
        ),
        ("manual {p} {i}", "Where is the manual for the {p} model {i}?", "{p} {i} user guide"),
        ("stock {p} {i}", "Is the {p} model {i} in stock?", "can I buy {p} {i} now"),
    ]
    entries = base
    i = 0
    while len(entries) < n:
        for key, question, alt in topics:
            for p in products:
                if len(entries) >= n:
                    break
                entries.append(
                    FaqEntry(
                        id=key.format(p=p, i=i).replace(" ", "-"),
                        question=question.format(p=p, i=i),
                        answer=f"Answer about {p} model {i}.",
                        alternatives=(alt.format(p=p, i=i),),
                    )
                )
        i += 1
    return KnowledgeBase(entries=tuple(entries[:n]))


async def one_entry_change(redis_url: str, n: int) -> dict[str, float]:
    from models.generator import VerbatimGenerator
    from retrieval import FaqRetriever, SentenceTransformerEmbedder

    prefix = f"bench-kb-{uuid.uuid4().hex[:8]}"
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        store = KnowledgeBaseStore(redis, prefix)
        kb = big_knowledge_base(n)
        await store.seed(kb)
        embedder = SentenceTransformerEmbedder()
        embedder.warm_up()
        retriever = FaqRetriever(embedder)
        watcher = KbWatcher(store, LiveModels(retriever, VerbatimGenerator()))
        started = time.perf_counter()
        await watcher.sync()
        full = time.perf_counter() - started
        target = kb.entries[len(kb) // 2]
        figures = {"entries": len(kb), "phrasings": kb.phrasing_count(), "full_build_s": full}

        committed = time.perf_counter()
        await store.add_phrasing(target.id, f"{target.question} (new wording)", "benchmark")
        await watcher.sync()
        figures["phrasing_change_s"] = time.perf_counter() - committed
        figures["phrasing_change_embedded"] = watcher.last_reload["embedded"]
        figures["phrasing_change_reload_s"] = watcher.last_reload["seconds"]

        committed = time.perf_counter()
        await store.update_entry(target.id, "benchmark", answer="A new answer.")
        await watcher.sync()
        figures["answer_change_s"] = time.perf_counter() - committed
        figures["answer_change_embedded"] = watcher.last_reload["embedded"]
        return figures
    finally:
        async for key in redis.scan_iter(match=f"{prefix}*", count=500):
            await redis.delete(key)
        await redis.aclose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--skip-processes", action="store_true", help="only the 10k-entry part")
    parser.add_argument("--skip-large", action="store_true", help="only the two-process part")
    parser.add_argument(
        "--torch-threads",
        type=int,
        help="OMP_NUM_THREADS of each bot process (two processes × threads ≤ cores avoids "
        "oversubscription; default: torch's own choice)",
    )
    args = parser.parse_args()
    results: dict[str, object] = {}
    if not args.skip_processes:
        by_kind = await edit_to_answer(args.redis, args.edits, args.torch_threads)
        by_kind["all"] = [w for kind in list(by_kind) for w in by_kind[kind]]
        results["edit_to_all_processes_s"] = {}
        for kind, waits in by_kind.items():
            if not waits:
                continue
            results["edit_to_all_processes_s"][kind] = {
                "edits": len(waits),
                "p50": round(statistics.median(waits), 3),
                "max": round(max(waits), 3),
            }
            print(
                f"edit ({kind}) → both processes answering with it, {len(waits)} edits, "
                f"torch threads {args.torch_threads or 'default'}: "
                f"p50 {statistics.median(waits):.3f} s, max {max(waits):.3f} s",
                flush=True,
            )
    if args.skip_large:
        print(json.dumps(results))
        return
    figures = await one_entry_change(args.redis, args.entries)
    print(
        f"{figures['entries']} entries / {figures['phrasings']} phrasings: full build "
        f"{figures['full_build_s']:.1f} s; 1-entry change (new phrasing): "
        f"{int(figures['phrasing_change_embedded'])} phrasing embedded, served after "
        f"{figures['phrasing_change_s']:.2f} s; answer-only change: "
        f"{int(figures['answer_change_embedded'])} embedded, served after "
        f"{figures['answer_change_s']:.2f} s"
    )
    results["one_entry_change"] = {k: round(v, 3) for k, v in figures.items()}
    print(json.dumps(results))


if __name__ == "__main__":
    asyncio.run(main())
