"""Latency of generated replies per serving path: torch fp32, torch int8 (dynamic), llama.cpp.

Each path runs the same fine-tuned model on the same prompts (bundled knowledge base, real
retrieval, the bot's prompt): time for a 60-token reply (end of sequence suppressed, prompt
processing included), p50 / p90, and tokens per second; then the model's own replies (stopping
where it ends them), p50 and their median length. llama.cpp runs with flash attention. ONNX
Runtime is measured by benchmarks/generator_onnx.py (it needs an environment of its own) on the
prompts this script writes with --dump-prompts.

Usage: python benchmarks/generator_speed.py [--model var/generator] [--prompts 12] [--threads 2]
       python benchmarks/generator_speed.py --dump-prompts var/bench-prompts.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common.paths import CACHE_DIR
from knowledge_base import bundled_path, load_knowledge_base
from models.llm import LlamaCppBackend, TorchBackend, llama_cpp_available
from models.prompting import MAX_SOURCES, build_messages, render_chatml, select_sources
from models.smollm import GGUF_NAME, resolve_generator_dir
from retrieval import FaqRetriever, SentenceTransformerEmbedder

TOKENS = 60


def prompts(n: int) -> tuple[list[str], list[str]]:
    """Prompts for ``n`` questions of the bundled knowledge base, real retrieval, in two layouts.

    First as served: the sources the bot gives the model (``select_sources``: the top entry alone
    when it clearly wins, else two). Then always two sources — the longest prompts the bot sends.
    """
    kb = load_knowledge_base(bundled_path())
    embedder = SentenceTransformerEmbedder()
    retriever = FaqRetriever(embedder, cache_dir=CACHE_DIR)
    retriever.load(kb)
    questions = [e.alternatives[0] if e.alternatives else e.question for e in kb.entries]
    step = max(1, len(questions) // n)
    served, two = [], []
    for q in questions[::step][:n]:
        candidates = retriever.search(q, 3).candidates
        served.append(render_chatml(build_messages(q, select_sources(candidates))))
        two_entries = [c.entry for c in candidates[:MAX_SOURCES]]
        two.append(render_chatml(build_messages(q, two_entries)))
    return served, two


def measure(backend, texts: list[str]) -> dict[str, float]:
    backend.load()
    list(backend.stream(texts[0], 8, ignore_eos=True))  # warm-up
    times, firsts, own_times, own_words = [], [], [], []
    for prompt in texts:
        started = time.perf_counter()
        first = None
        for _ in backend.stream(prompt, TOKENS, ignore_eos=True):
            first = first or time.perf_counter() - started
        times.append(time.perf_counter() - started)
        firsts.append(first or 0.0)
    for prompt in texts:
        started = time.perf_counter()
        reply = "".join(backend.stream(prompt, 96))
        own_times.append(time.perf_counter() - started)
        own_words.append(len(reply.split()))
    times.sort()
    return {
        "p50_s": statistics.median(times),
        "p90_s": times[int(0.9 * (len(times) - 1))],
        "first_text_s": statistics.median(firsts),
        "tokens_per_s": TOKENS / statistics.median(times),
        "own_p50_s": statistics.median(own_times),
        "own_words": statistics.median(own_words),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=Path, default=Path("var/generator"))
    parser.add_argument("--prompts", type=int, default=12)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--paths", default="llama_cpp,llama_cpp_two,torch_int8,torch")
    parser.add_argument("--dump-prompts", type=Path, help="write the prompts as JSON and stop")
    args = parser.parse_args()
    if args.dump_prompts:
        texts, two = prompts(args.prompts)
        args.dump_prompts.parent.mkdir(parents=True, exist_ok=True)
        args.dump_prompts.write_text(json.dumps({"served": texts, "two": two}), encoding="utf-8")
        print(f"{len(texts)} prompts in each layout written to {args.dump_prompts}")
        return
    model_dir = resolve_generator_dir(args.model)
    if model_dir is None:
        sys.exit(
            f"no fine-tuned generator in {args.model}: run `supportbot train-generator` first"
        )
    texts, two = prompts(args.prompts)
    backends = {
        "torch": lambda: TorchBackend(model_dir, threads=args.threads),
        "torch_int8": lambda: TorchBackend(model_dir, int8=True, threads=args.threads),
        "llama_cpp": lambda: LlamaCppBackend(model_dir / GGUF_NAME, threads=args.threads),
        "llama_cpp_two": lambda: LlamaCppBackend(model_dir / GGUF_NAME, threads=args.threads),
    }
    labels = {
        "llama_cpp": "llama.cpp Q8_0",
        "llama_cpp_two": "llama.cpp Q8_0, two sources",
        "torch": "torch fp32",
        "torch_int8": "torch int8 dynamic",
    }
    print(
        f"{model_dir.name}: {TOKENS}-token replies, {len(texts)} prompts, {args.threads} threads;"
        f" served prompts hold {sum(t.count('[2] Q:') == 0 for t in texts)} single-source,"
        f" median {statistics.median(len(t) for t in texts):.0f} characters"
        f" (two sources: {statistics.median(len(t) for t in two):.0f})"
    )
    print(
        f"{'path':<30}{'p50':>8}{'p90':>8}{'first text':>12}{'tok/s':>8}"
        f"{'own reply p50':>15}{'words':>7}"
    )
    for name in args.paths.split(","):
        if name.startswith("llama_cpp") and not llama_cpp_available():
            print(f"{labels[name]:<30}  not installed (make install-llama-cpp)")
            continue
        try:
            r = measure(backends[name](), two if name.endswith("_two") else texts)
        except Exception as exc:  # a path that cannot run here is reported, not fatal
            print(f"{name:<26}  failed: {exc.__class__.__name__}: {exc}")
            continue
        print(
            f"{labels[name]:<30}{r['p50_s'] * 1000:>6.0f}ms{r['p90_s'] * 1000:>6.0f}ms"
            f"{r['first_text_s'] * 1000:>10.0f}ms{r['tokens_per_s']:>8.1f}"
            f"{r['own_p50_s'] * 1000:>13.0f}ms{r['own_words']:>7.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
