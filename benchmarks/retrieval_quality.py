"""Retrieval quality and latency of the product next to the naive baseline, on BANKING77 and CLINC150.

For each dataset and each setting (kb + train phrasings; kb only = zero-shot), queries = dev:
  baseline  frozen all-MiniLM-L6-v2 + FAISS, entry of the nearest phrasing, raw similarity
  product   the product's scoring (top-m mean + BM25 + calibrated confidence), with the fine-tuned
            model from `supportbot train-retriever` when --models names a folder that has one
The escalation threshold is chosen on dev (CLINC150 has out-of-scope rows).

Usage:
  python benchmarks/retrieval_quality.py [--data ../shared/datasets] [--models /path/to/models]
  (--models/<dataset>/ holds the versions written by `supportbot train-retriever --out`)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from knowledge_base.loaders import load_queries, load_with_training
from retrieval import FaqRetriever, SentenceTransformerEmbedder
from retrieval.evaluation import choose_threshold, evaluate, measure_latency, search_all
from retrieval.scoring import ScoringConfig


def run(kb_path, train_path, dev_path, model, scoring, cache) -> dict:
    kb, out_of_scope = load_with_training(kb_path, train_path)
    retriever = FaqRetriever(SentenceTransformerEmbedder(model), cache_dir=cache, scoring=scoring)
    retriever.load(kb, out_of_scope=out_of_scope if scoring.calibrate else ())
    dev = load_queries(dev_path)
    results = search_all(retriever, [q.text for q in dev])
    threshold = choose_threshold(results, dev)
    latency = measure_latency(retriever, [q.text for q in dev], 300)
    return evaluate(results, dev, threshold=threshold, latency=latency).summary()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=Path("../shared/datasets"))
    parser.add_argument(
        "--models", type=Path, help="folder with <dataset>/LATEST fine-tuned models"
    )
    parser.add_argument("--datasets", nargs="+", default=["banking77", "clinc150"])
    parser.add_argument("--cache", type=Path, default=Path(".cache/benchmarks"))
    args = parser.parse_args()
    rows = []
    for name in args.datasets:
        folder = args.data / name
        tuned = (
            args.models / name
            if args.models and (args.models / name / "LATEST").is_file()
            else None
        )
        for setting, train in (("kb+train", folder / "train.jsonl"), ("kb only", None)):
            configs = [("baseline", None, ScoringConfig.nearest_phrasing())]
            configs.append(("product", None, ScoringConfig()))
            if tuned is not None and setting == "kb+train":
                configs.append(("product+fine-tuned", tuned, ScoringConfig()))
            for label, model, scoring in configs:
                print(f"… {name} {setting} {label}", file=sys.stderr, flush=True)
                metrics = run(
                    folder / "kb.jsonl", train, folder / "dev.jsonl", model, scoring, args.cache
                )
                rows.append({"dataset": name, "setting": setting, "system": label, **metrics})
                print(json.dumps(rows[-1]), flush=True)
    print()
    head = f"{'dataset':<10} {'setting':<9} {'system':<19} {'acc@1':>7} {'R@5':>7} {'MRR':>6}"
    head += f" {'F1':>6} {'in-sc':>7} {'OOS-R':>7} {'AUROC':>6} {'p50ms':>6} {'p99ms':>6}"
    print(head)
    for r in rows:
        ins = f"{r['in_scope_accuracy']:.2%}" if "in_scope_accuracy" in r else "-"
        oos = f"{r['oos_recall']:.2%}" if "oos_recall" in r else "-"
        auc = f"{r['auroc']:.3f}" if "auroc" in r else "-"
        print(
            f"{r['dataset']:<10} {r['setting']:<9} {r['system']:<19} {r['accuracy_at_1']:>7.2%}"
            f" {r['recall_at_5']:>7.2%} {r['mrr']:>6.3f} {r['macro_f1']:>6.3f} {ins:>7} {oos:>7}"
            f" {auc:>6} {r['p50_ms']:>6.1f} {r['p99_ms']:>6.1f}"
        )


if __name__ == "__main__":
    main()
