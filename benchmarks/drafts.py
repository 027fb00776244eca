"""Drafts for operators over the bundled knowledge base: how many pass the grounding checks.

Every answer of ``knowledge_base/data/brightcart.yaml`` is rewritten in each style (shorter,
friendlier, steps), a few product fact sets become copy, and every entry is composed back from
synthetic agents' replies (its answer with a greeting, a question back and a sign-off around
it, plus a second reply repeating its first sentence). Each text goes through the same grounding
guard as generated replies; the share that passes is printed per kind, with examples of good and
refused drafts. "shorter" (and condensing an entry) uses the fine-tuned generator when one is
found, else an extract; friendlier, steps and copy are rules and templates either way.

Usage: python benchmarks/drafts.py [--model var/generator] [--backend auto] [--limit N]
       [--no-generator]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import build_generator  # noqa: E402
from bot.services.drafts import writer_for  # noqa: E402
from bot.settings import GeneratorSettings  # noqa: E402
from knowledge_base import bundled_path, load_knowledge_base  # noqa: E402
from models.drafting import DraftPart, ProductFacts, RewriteStyle  # noqa: E402
from models.training import split_sentences  # noqa: E402
from retrieval import SentenceTransformerEmbedder  # noqa: E402

FACT_SETS = (
    "name=Brightcart Mini Blender; features=600 W motor, 3 speeds, dishwasher-safe jar; "
    "price=€39; offer=10% off until Sunday",
    "name=Brightpoints Gold; features=free express delivery, early access to sales; "
    "price=€4.99 a month",
    "name=Trail Flask 750; features=keeps drinks cold for 24 hours, steel, 750 ml",
    "name=Gift card; offer=buy €50, get €5 extra until 31 December",
    "name=Desk Lamp Arc; features=warm white LED, USB-C charging; price=€29.90; offer=free "
    "shipping this week",
    "price=€10",  # no name: refused before anything is written
)


def short(text: str, width: int = 220) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "var" / "generator")
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--limit", type=int, default=None, help="first N entries only")
    parser.add_argument("--no-generator", action="store_true", help="rules and extracts only")
    args = parser.parse_args()

    kb = load_knowledge_base(bundled_path())
    entries = list(kb)[: args.limit] if args.limit else list(kb)
    embedder = SentenceTransformerEmbedder()
    embedder.warm_up()
    settings = GeneratorSettings(
        model_path=None if args.no_generator else args.model, backend=args.backend
    )
    generator = build_generator(settings, embedder)
    generator.warm_up()
    writer = writer_for(generator, embedder, settings.min_similarity)
    print(f"knowledge base: {len(entries)} of {len(kb)} entries · generator: "
          f"{writer.model_name or 'none (extracts for shorter)'}")  # fmt: skip

    results: dict[str, list[tuple[str, DraftPart]]] = defaultdict(list)
    seconds: dict[str, float] = defaultdict(float)
    for style in RewriteStyle:
        for entry in entries:
            started = time.perf_counter()
            results[style.value].append((entry.id, writer.rewrite(entry, style)))
            seconds[style.value] += time.perf_counter() - started
    for facts_text in FACT_SETS:
        facts = ProductFacts.parse(facts_text)
        started = time.perf_counter()
        try:
            parts = writer.product_copy(facts)
        except ValueError as exc:
            print(f"copy refused before writing: {facts_text!r}: {exc}")
            continue
        seconds["copy"] += time.perf_counter() - started
        for part in parts:
            results[f"copy: {part.label}"].append((facts.name, part))
    for entry in entries:
        first = split_sentences(entry.answer)[0]
        replies = [f"Hi there! {entry.answer} Is there anything else I can help with?",
                   f"Hello, thanks for waiting. {first} Have a nice day!"]  # fmt: skip
        started = time.perf_counter()
        composed = writer.entry(entry.question, entry.alternatives, replies)
        seconds["entry"] += time.perf_counter() - started
        results["entry (synthetic replies)"].append((entry.id, composed.answer))

    print(f"\n{'kind':28} {'passed':>8} {'share':>7} {'by':>11} {'s/draft':>8}")
    for kind, rows in results.items():
        passed = sum(p.ok for _, p in rows)
        methods = ",".join(sorted({p.method for _, p in rows}))
        per = seconds.get(kind.split(":")[0].split(" (")[0], 0.0) / max(1, len(rows))
        print(f"{kind:28} {passed:>4}/{len(rows):<3} {passed / len(rows):>7.0%} {methods:>11} "
              f"{per:>8.2f}")  # fmt: skip
    print("\nrefusal reasons:")
    for kind, rows in results.items():
        reasons: dict[str, int] = defaultdict(int)
        for _, part in rows:
            if not part.ok:
                reasons[part.reason] += 1
        if reasons:
            listed = ", ".join(
                f"{r} ×{n}" for r, n in sorted(reasons.items(), key=lambda x: -x[1])
            )
            print(f"  {kind}: {listed}")
    print("\nexamples:")
    for kind, rows in results.items():
        good = next(((i, p) for i, p in rows if p.ok), None)
        bad = next(((i, p) for i, p in rows if not p.ok and p.text), None)
        if good:
            print(f"  [{kind}] GOOD {good[0]} ({good[1].method}): {short(good[1].text)}")
        if bad:
            print(f"  [{kind}] REFUSED {bad[0]} ({bad[1].why()}): {short(bad[1].text)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
