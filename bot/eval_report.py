"""``supportbot eval``: load data, run retrieval, print a readable report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.errors import UserFacingError
from knowledge_base.loaders import LabelledQuery, load_queries, load_with_training
from knowledge_base.model import KnowledgeBase
from retrieval.evaluation import (
    DEFAULT_OOS_RECALL,
    EvalReport,
    choose_threshold,
    evaluate,
    measure_latency,
    search_all,
)
from retrieval.retriever import FaqRetriever
from retrieval.routing import LanguageRoutedRetriever, make_retriever
from retrieval.threshold import DEFAULT_LEVEL, OperatingPoint, TooFewOutOfScope, questions_needed


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_eval(args: argparse.Namespace) -> EvalReport:
    level = getattr(args, "confidence", DEFAULT_LEVEL)
    if not 0.0 < level < 1.0:
        raise UserFacingError(f"--confidence: expected a share above 0 and below 1, got {level}")
    kb, out_of_scope = load_with_training(args.kb, args.train)
    queries = load_queries(args.queries)
    if args.train:
        _say(
            f"train: {kb.phrasing_count()} phrasings in all; "
            f"{len(out_of_scope)} out-of-scope rows used to calibrate the confidence"
        )
    kind = getattr(args, "embedder", "auto")
    model = f"fine-tuned model {args.model}" if args.model else "all-MiniLM-L6-v2 (not fine-tuned)"
    model = {
        "e5": "multilingual-e5-small",
        "auto": f"{model} for English questions, multilingual-e5-small for Chinese ones",
    }.get(kind, model)
    _say(f"knowledge base: {len(kb)} entries, {kb.phrasing_count()} phrasings; embedder: {model}")
    if args.train and not args.model and kind != "e5":
        _say("eval does not train: pass --model DIR from `supportbot train-retriever` to use one")
    retriever = make_retriever(kind, args.model, cache_dir=args.cache_dir)
    retriever.warm_up()
    threshold = args.threshold
    target = DEFAULT_OOS_RECALL if args.oos_recall is None else args.oos_recall or None
    dev = load_queries(args.dev) if args.dev and threshold is None else []
    promise = None
    if threshold is None and target and getattr(args, "threshold_method", "bound") == "bound":
        promise = _choose_with_bound(retriever, kb, out_of_scope, dev, target, level)
        threshold = None if promise is None else promise.threshold
    if promise is None:
        retriever.load(kb, out_of_scope=out_of_scope)
    if threshold is None and dev:
        if any(q.faq_id is None for q in dev):
            threshold = choose_threshold(
                search_all(retriever, [q.text for q in dev]), dev, min_oos_recall=target
            )
            rule = (
                f"escalates ≥ {target:.0%} of its out-of-scope queries"
                if target
                else "balances in-scope accuracy and out-of-scope recall"
            )
            if threshold is None:
                _say("dev has only out-of-scope rows: threshold not tuned")
            else:
                _say(f"threshold chosen on dev ({len(dev)} queries; {rule}): {threshold:.4f}")
        else:
            _say("dev has no out-of-scope rows: threshold not tuned")
    if promise is not None:
        known = {*kb.out_of_scope, *out_of_scope, *(q.text for q in dev if q.faq_id is None)}
        seen = sum(q.faq_id is None and q.text in known for q in queries)
        if seen:
            _say(
                f"{seen} of the queries' out-of-scope rows also calibrate the confidence (train,"
                " dev): their recall below is not what unseen questions get (see the expected one)"
            )
    results = search_all(retriever, [q.text for q in queries])
    latency = measure_latency(retriever, [q.text for q in queries], args.latency_queries)
    report = evaluate(results, queries, threshold=threshold, latency=latency)
    report.promise = promise
    print_report(report)
    if args.plot:
        if report.tradeoff:
            plot_tradeoff(report, args.plot)
            _say(f"trade-off curve written to {args.plot}")
        else:
            _say("--plot: the queries have no out-of-scope rows, so there is no trade-off to draw")
    return report


def _choose_with_bound(
    retriever: FaqRetriever | LanguageRoutedRetriever,
    kb: KnowledgeBase,
    out_of_scope: list[str],
    dev: list[LabelledQuery],
    target: float,
    level: float = DEFAULT_LEVEL,
) -> OperatingPoint | None:
    """Load ``kb`` calibrated on every labelled out-of-scope question (the knowledge base's,
    train's and dev's) and choose the threshold whose recall lower bound on them, each scored as an
    unseen question, keeps the promise. None (nothing loaded) when they are too few for it."""
    dev_oos = [q.text for q in dev if q.faq_id is None]
    pool = list(dict.fromkeys(t for t in (*kb.out_of_scope, *out_of_scope, *dev_oos) if t.strip()))
    needed = questions_needed(target, level)
    instead = "chosen on dev's point estimate instead" if dev_oos else "not chosen"
    if len(pool) < needed:
        if pool:
            _say(
                f"{len(pool)} labelled out-of-scope questions (knowledge base, train, dev): "
                f"{needed} are needed to promise {target:.0%} recall with {level:.0%} "
                f"confidence; the threshold is {instead}"
            )
        return None
    retriever.load(kb, out_of_scope=[*out_of_scope, *dev_oos])
    try:
        point = retriever.held_out_confidence().operating_point(target, level)
    except TooFewOutOfScope as exc:  # calibration dropped some (e.g. empty texts)
        _say(f"{exc}; the threshold is {instead}")
        retriever.load(kb, out_of_scope=out_of_scope)
        return None
    _say(
        f"threshold chosen by cross-validation over {point.n_oos} out-of-scope questions "
        f"({len(kb.out_of_scope)} knowledge base, {len(out_of_scope)} train, {len(dev_oos)} dev),"
        f" so that recall ≥ {target:.0%} holds with {level:.0%} confidence: "
        f"{point.threshold:.4f}"
    )
    return point


def plot_tradeoff(report: EvalReport, path: Path) -> None:
    """Write the in-scope accuracy / out-of-scope recall curve over the threshold as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    thresholds = [t for t, _, _ in report.tradeoff]
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    ax.plot(thresholds, [a for _, a, _ in report.tradeoff], label="in-scope accuracy")
    ax.plot(thresholds, [r for _, _, r in report.tradeoff], label="out-of-scope recall")
    if report.threshold is not None:
        ax.axvline(report.threshold, color="grey", linestyle="--", label="chosen threshold")
    ax.set_xlabel("confidence threshold (escalate below)")
    ax.set_ylabel("share of queries")
    ax.set_ylim(0, 1.01)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")
    ax.set_title(f"Escalation trade-off (AUROC {report.auroc:.3f})")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def print_report(report: EvalReport) -> None:
    rows = [
        ("queries", f"{report.n_queries} ({report.n_in_scope} in scope)"),
        ("accuracy@1", f"{report.accuracy_at_1:.2%}"),
        ("recall@5", f"{report.recall_at_5:.2%}"),
        ("MRR", f"{report.mrr:.4f}"),
        ("macro F1", f"{report.macro_f1:.4f}"),
        ("latency p50 / p99", f"{report.p50_ms:.1f} / {report.p99_ms:.1f} ms"),
    ]
    if report.threshold is not None:
        rows += [
            ("threshold", f"{report.threshold:.4f}"),
            ("in-scope accuracy", f"{report.in_scope_accuracy:.2%}"),
            ("out-of-scope precision", f"{report.oos_precision:.2%}"),
            ("out-of-scope recall", f"{report.oos_recall:.2%}"),
            ("out-of-scope F1", f"{report.oos_f1:.4f}"),
            ("AUROC", f"{report.auroc:.4f}"),
        ]
    if report.promise is not None:
        rows += promise_rows(report.promise)
    width = max(len(name) for name, _ in rows)
    print("\nRetrieval evaluation")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    weakest = sorted(report.per_entry, key=lambda s: (s.f1, -s.support))[:10]
    if weakest:
        print("\nWeakest entries (precision / recall / F1 / support)")
        for s in weakest:
            print(
                f"  {s.entry_id:<40} {s.precision:.2f} / {s.recall:.2f} / {s.f1:.2f} / {s.support}"
            )
    if report.confused_pairs:
        print("\nMost confused (expected → answered: count)")
        for gold, pred, count in report.confused_pairs:
            print(f"  {gold} → {pred}: {count}")
    if report.tradeoff:
        print("\nThreshold trade-off (threshold: in-scope accuracy / out-of-scope recall)")
        for t, acc, rec in report.tradeoff[::10]:
            print(f"  {t:.2f}: {acc:.2%} / {rec:.2%}")


def promise_rows(point: OperatingPoint) -> list[tuple[str, str]]:
    """What to expect of a threshold on unseen questions, and what it costs in scope."""
    rows = [
        (
            "expected OOS recall (unseen)",
            f"{point.recall:.1%} ({point.level:.0%} interval {point.recall_low:.1%}–"
            f"{point.recall_high:.1%}; ≥ {point.target:.0%} with {point.level:.0%} confidence;"
            f" {point.escalated} of {point.n_oos} held-out out-of-scope questions)",
        )
    ]
    if point.in_scope_accuracy is not None:
        rows.append(
            (
                "expected in-scope (unseen)",
                f"{point.answered:.1%} answered, {point.in_scope_accuracy:.1%} answered right"
                f" ({point.n_in_scope} held-out phrasings)",
            )
        )
    return rows
