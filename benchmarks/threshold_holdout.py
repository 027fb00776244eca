"""Does the escalation threshold keep its out-of-scope recall promise on questions it never saw?

CLINC150, knowledge base + train phrasings (the setting of `supportbot eval --train`). Two checks,
each over several random splits:
  dev    half of dev's 100 out-of-scope questions are held out of the choice (and of calibration)
  train  half of train's 100 out-of-scope rows are held out of the choice (and of calibration)
and the threshold is chosen for the promise (default 90 % recall) by
  old            point estimate on dev's out-of-scope rows (calibrated on train's, as `eval` did)
  pooled, leaky  every labelled out-of-scope question pooled, scored by the served model that was
                 calibrated on them (what "just pool them" does: it grades on what taught it)
  pooled CV      pooled, each scored by a calibrator fitted without it; point estimate
  new            pooled CV + the threshold where the one-sided 95 % Clopper–Pearson lower bound
                 of the recall reaches the promise (`retrieval.threshold`, what `eval` does now)
Printed: the recall reached on the held-out questions (mean and worst over the splits) against the
promise, and the in-scope accuracy on dev it costs (answered with the right entry).

Usage:
  python benchmarks/threshold_holdout.py [--data ../shared/datasets] [--splits 5] [--recall 0.9]
Vectors are embedded once (cached in --cache); a run of 5 splits takes a few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.vector_cache import CachedEmbedder
from knowledge_base.loaders import LabelledQuery, load_queries, load_with_training
from retrieval import FaqRetriever, SentenceTransformerEmbedder
from retrieval.evaluation import choose_threshold, threshold_for_recall
from retrieval.threshold import threshold_with_bound

METHODS = ("old", "pooled, leaky", "pooled CV", "new")


def confidences(retriever: FaqRetriever, texts: list[str]) -> tuple[np.ndarray, list]:
    vectors = retriever.embedder.encode(texts, kind="query")
    results = retriever.search_vectors(texts, vectors, 1)
    return np.array([r.confidence for r in results]), results


def in_scope_accuracy(retriever: FaqRetriever, dev_in: list[LabelledQuery], t: float) -> float:
    """Share of in-scope questions answered (confidence ≥ t) with the right entry."""
    texts = [q.text for q in dev_in]
    return accuracy_at(
        retriever.search_vectors(texts, retriever.embedder.encode(texts), 1), dev_in, t
    )


def accuracy_at(results: list, queries: list[LabelledQuery], t: float) -> float:
    pairs = [(r, q) for r, q in zip(results, queries, strict=True) if q.faq_id is not None]
    return float(
        np.mean(
            [r.confidence >= t and r.top is not None and r.top.id == q.faq_id for r, q in pairs]
        )
    )


def choose(retriever: FaqRetriever, pool: list[str], target: float) -> dict[str, float]:
    """The threshold of each pooled method, on a retriever loaded with ``pool`` as out-of-scope."""
    held = retriever.held_out_confidence()
    served, _ = confidences(retriever, pool)
    in_conf, in_ok = held.in_scope_confidence, held.in_scope_correct

    def point(oos_conf: np.ndarray) -> float:
        conf = np.concatenate([oos_conf, in_conf])
        oos = np.arange(len(conf)) < len(oos_conf)
        return threshold_for_recall(
            conf, oos, np.concatenate([np.zeros(len(oos_conf), bool), in_ok]), target
        )

    return {
        "pooled, leaky": point(served),
        "pooled CV": point(held.oos_confidence),
        "new": threshold_with_bound(held.oos_confidence, target).threshold,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--model", help="embedding model folder (default all-MiniLM-L6-v2)")
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--recall", type=float, default=0.9)
    parser.add_argument("--cache", type=Path, default=Path(".cache/benchmarks"))
    parser.add_argument("--json", action="store_true", help="last line: one JSON object")
    parser.add_argument(
        "--without-oos-features",
        action="store_true",
        help="ablation: calibrate without the closeness to known out-of-scope questions",
    )
    args = parser.parse_args()
    if args.without_oos_features:
        import retrieval.retriever
        from retrieval.scoring import features

        retrieval.retriever.features = lambda *a: features(*a[:4], 0.0)
    started = time.perf_counter()
    folder = args.data / "clinc150"
    kb, train_oos = load_with_training(folder / "kb.jsonl", folder / "train.jsonl")
    dev = load_queries(folder / "dev.jsonl")
    dev_in = [q for q in dev if q.faq_id is not None]
    dev_oos = [q.text for q in dev if q.faq_id is None]
    embedder = CachedEmbedder(SentenceTransformerEmbedder(args.model))
    retriever = FaqRetriever(embedder, cache_dir=args.cache)
    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    say(f"clinc150: {len(kb)} entries, {kb.phrasing_count()} phrasings; out-of-scope: "
        f"{len(train_oos)} train, {len(dev_oos)} dev; promise {args.recall:.0%}")  # fmt: skip
    embedder.encode([q.text for q in dev] + train_oos, kind="query")

    # The old way on the dev check: calibrated on train's out-of-scope rows in every split.
    retriever.load(kb, out_of_scope=train_oos)
    dev_results = retriever.search_vectors(
        [q.text for q in dev], embedder.encode([q.text for q in dev]), 1
    )
    reached: dict[str, dict[str, list[float]]] = {
        check: {m: [] for m in METHODS} for check in ("dev", "train")
    }
    cost: dict[str, dict[str, list[float]]] = {
        check: {m: [] for m in METHODS} for check in ("dev", "train")
    }
    for split in range(args.splits):
        rng = np.random.default_rng(split)
        # -- check 1: half of dev's out-of-scope questions held out
        held = set(rng.choice(dev_oos, len(dev_oos) // 2, replace=False).tolist())
        rows = [i for i, q in enumerate(dev) if q.text not in held]
        held_conf = np.array(
            [r.confidence for r, q in zip(dev_results, dev, strict=True) if q.text in held]
        )
        t_old = choose_threshold(
            [dev_results[i] for i in rows], [dev[i] for i in rows], min_oos_recall=args.recall
        )
        reached["dev"]["old"].append(float((held_conf < t_old).mean()))
        cost["dev"]["old"].append(accuracy_at(dev_results, dev, t_old))
        held_list = sorted(held)
        pool = train_oos + [t for t in dev_oos if t not in held]
        retriever.load(kb, out_of_scope=pool)
        held_conf, _ = confidences(retriever, held_list)
        for method, t in choose(retriever, pool, args.recall).items():
            reached["dev"][method].append(float((held_conf < t).mean()))
            cost["dev"][method].append(in_scope_accuracy(retriever, dev_in, t))
        # -- check 2: half of train's out-of-scope rows held out
        held_train = set(rng.choice(train_oos, len(train_oos) // 2, replace=False).tolist())
        held_list = sorted(held_train)
        kept = [t for t in train_oos if t not in held_train]
        retriever.load(kb, out_of_scope=kept)
        dev_results = retriever.search_vectors(
            [q.text for q in dev], embedder.encode([q.text for q in dev]), 1
        )
        t_old = choose_threshold(dev_results, dev, min_oos_recall=args.recall)
        held_conf, _ = confidences(retriever, held_list)
        reached["train"]["old"].append(float((held_conf < t_old).mean()))
        cost["train"]["old"].append(in_scope_accuracy(retriever, dev_in, t_old))
        pool = kept + dev_oos
        retriever.load(kb, out_of_scope=pool)
        held_conf, _ = confidences(retriever, held_list)
        for method, t in choose(retriever, pool, args.recall).items():
            reached["train"][method].append(float((held_conf < t).mean()))
            cost["train"][method].append(in_scope_accuracy(retriever, dev_in, t))
        say(f"split {split + 1}/{args.splits} done ({time.perf_counter() - started:.0f}s)")

    print(
        f"\nCLINC150, promise: {args.recall:.0%} out-of-scope recall; {args.splits} splits; "
        f"recall reached on the held-out out-of-scope questions (mean / worst) and dev in-scope"
        f" accuracy at the threshold (mean)"
    )
    print(f"{'check':<6} {'method':<14} {'recall mean':>11} {'worst':>7} {'in-scope':>9}")
    out: dict[str, dict[str, dict[str, float]]] = {}
    for check in ("dev", "train"):
        for method in METHODS:
            r, c = reached[check][method], cost[check][method]
            row = {
                "mean": float(np.mean(r)),
                "worst": float(np.min(r)),
                "in_scope": float(np.mean(c)),
            }
            out.setdefault(check, {})[method] = {k: round(v, 4) for k, v in row.items()}
            print(
                f"{check:<6} {method:<14} {row['mean']:>11.1%} {row['worst']:>7.1%}"
                f" {row['in_scope']:>9.1%}"
            )
    print(f"\n{time.perf_counter() - started:.0f}s")
    if args.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
