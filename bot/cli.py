"""The ``supportbot`` command: run the Telegram bot, chat in the terminal, evaluate retrieval.

What a command prints comes from the text catalog (``bot/locales/<locale>/cli.ftl``), loaded once
in ``main`` and handed to every command as ``texts``; the ``kb`` commands use the app's catalog.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import SupportBotError
from bot.i18n import Catalog, TextSource
from common.paths import CACHE_DIR, GENERATOR_MODELS_DIR, RETRIEVER_MODELS_DIR

if TYPE_CHECKING:
    from models.training import GeneratorTrainingReport
    from retrieval.training import TrainingReport

log = logging.getLogger("supportbot")


def _share(texts: TextSource) -> Callable[[str], float]:
    """An argparse type: a share between 0 and 1."""

    def share(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(texts.get("cli-share", got=repr(text))) from None
        if not 0.0 <= value <= 1.0:
            raise argparse.ArgumentTypeError(texts.get("cli-share", got=text))
        return value

    return share


def _settings():
    from bot.settings import load_settings

    return load_settings()


def cmd_run(args: argparse.Namespace, texts: TextSource) -> int:
    """The Telegram bot (polling or webhook, from settings)."""
    from bot.logging_setup import setup_logging
    from bot.runner import serve

    settings = _settings()
    setup_logging(settings)
    asyncio.run(serve(settings))
    return 0


def cmd_start(args: argparse.Namespace, texts: TextSource) -> int:
    """The main job: the Telegram bot when a token is configured, else the terminal chat."""
    settings = _settings()
    if settings.telegram.token is None:
        print(texts.get("cli-start-chat"))
        return cmd_chat(args, texts)
    return cmd_run(args, texts)


def cmd_chat(args: argparse.Namespace, texts: TextSource) -> int:
    """A conversation with the bot in the terminal (no Telegram needed)."""
    from bot.logging_setup import setup_logging

    # The conversation is the screen: log lines only for errors unless asked (--log-level), and
    # no model-loading progress bars.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    settings = _settings()
    setup_logging(settings, "ERROR")
    level = (getattr(args, "log_level", None) or "ERROR").upper()
    for logger in (logging.getLogger(), *logging.getLogger().handlers):
        logger.setLevel(level)
    from bot.terminal import chat

    return asyncio.run(chat(settings))


def cmd_health(args: argparse.Namespace, texts: TextSource) -> int:
    """Exit 0 when a bot process on this host has written its heartbeat to Redis recently."""
    import socket

    from bot.store import Keys, connect_redis, key_prefix

    settings = _settings()
    if not settings.redis.url:
        print(texts.get("cli-unhealthy-no-redis"), file=sys.stderr)
        return 1

    async def check() -> bool:
        redis = await connect_redis(settings.redis.url, cluster=settings.redis.cluster)
        try:
            prefix = key_prefix(settings.redis.prefix, cluster=settings.redis.cluster)
            key = Keys(prefix).heartbeat(socket.gethostname())
            return bool(await redis.exists(key))
        finally:
            await redis.aclose()

    if asyncio.run(check()):
        print(texts.get("cli-healthy"))
        return 0
    print(texts.get("cli-unhealthy"), file=sys.stderr)
    return 1


def cmd_warm_up(args: argparse.Namespace, texts: TextSource) -> int:
    """Build and cache the index of the configured knowledge base (e.g. while building an image)."""
    from bot.logging_setup import setup_logging
    from knowledge_base import bundled_path, load_knowledge_base
    from retrieval.routing import make_retriever

    settings = _settings()
    setup_logging(settings)
    kb = load_knowledge_base(settings.kb.path or bundled_path())
    retriever = make_retriever(
        settings.retrieval.embedder,
        settings.retrieval.model_path,
        runtime=settings.retrieval.runtime,
        cache_dir=settings.retrieval.cache_dir,
    )
    stats = retriever.load(kb)
    print(
        texts.get("cli-index-ready", entries=str(len(kb)), phrasings=str(int(stats["phrasings"])))
    )
    return 0


def cmd_privacy_sweep(args: argparse.Namespace, texts: TextSource) -> int:
    """Mask and delete customers' data older than PRIVACY__* allows, now (the bot also does it
    every PRIVACY__SWEEP_EVERY_S)."""
    from bot.app import Models, open_app
    from bot.logging_setup import setup_logging

    settings = _settings()
    setup_logging(settings)

    async def sweep() -> dict[str, int]:
        needs = "the retention sweep works on the bot's Redis"
        async with open_app(settings, models=Models.LAZY, needs_redis=needs, seed=False) as app:
            return await app.privacy().sweep()

    changed = asyncio.run(sweep())
    for kind, count in changed.items():
        print(texts.get("cli-privacy-swept", kind=kind, count=str(count)))
    return 0


def cmd_console(args: argparse.Namespace, texts: TextSource) -> int:
    """The web console (needs TELEGRAM__TOKEN, REDIS__URL, CONSOLE__PASSWORD or accounts)."""
    from bot.console.server import serve_console
    from bot.logging_setup import setup_logging

    settings = _settings()
    setup_logging(settings)
    asyncio.run(serve_console(settings, host=args.host, port=args.port))
    return 0


def cmd_eval(args: argparse.Namespace, texts: TextSource) -> int:
    """Retrieval quality on labelled queries."""
    from bot.eval_report import run_eval

    report = run_eval(args)
    if args.json:
        print(json.dumps(report.summary()))
    return 0


def cmd_train_retriever(args: argparse.Namespace, texts: TextSource) -> int:
    """Fine-tune the embedder on the knowledge base's phrasings and save a new model version."""
    from bot.logging_setup import setup_logging
    from knowledge_base.loaders import load_with_training
    from retrieval.training import TrainingConfig, train_retriever

    setup_logging(None, "INFO")
    kb, out_of_scope = load_with_training(args.kb, args.train)
    sizes = {"entries": str(len(kb)), "phrasings": str(kb.phrasing_count())}
    if out_of_scope:
        training = texts.get(
            "cli-training-with-negatives", negatives=str(len(out_of_scope)), **sizes
        )
    else:
        training = texts.get("cli-training", **sizes)
    print(training, flush=True)
    config = TrainingConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        time_budget_s=args.time_budget,
        hard_negatives=args.hard_negatives,
    )
    report = train_retriever(
        kb, args.out, config, base_model=args.base_model, out_of_scope=out_of_scope
    )
    print(_training_saved(texts, "cli-retriever-saved", report, args.out))
    return 0


def cmd_train_generator(args: argparse.Namespace, texts: TextSource) -> int:
    """Fine-tune SmolLM2 to write grounded replies from the knowledge base; save a new version."""
    from bot.logging_setup import setup_logging
    from knowledge_base import load_knowledge_base
    from models.training import GeneratorTrainingConfig, train_generator
    from retrieval.embedder import make_embedder

    setup_logging(None, "INFO")
    kb = load_knowledge_base(args.kb)
    sizes = {"entries": str(len(kb)), "phrasings": str(kb.phrasing_count())}
    print(texts.get("cli-training", **sizes), flush=True)
    config = GeneratorTrainingConfig(
        epochs=args.epochs,
        learning_rate=args.learning_rate,
        lora_rank=0 if args.full else args.lora_rank,
        time_budget_s=args.time_budget,
        grad_accumulation=args.grad_accumulation,
        handoff_share=args.handoff_share,
        max_examples=args.max_examples,
        heldout_loss_examples=args.heldout_loss_examples,
        export_gguf=not args.no_gguf,
    )
    embedder = make_embedder("minilm", args.retriever_model)
    report = train_generator(kb, args.out, embedder, config, cache_dir=args.cache_dir)
    saved = _training_saved(
        texts,
        "cli-generator-saved",
        report,
        args.out,
        examples=str(report.examples),
        before=f"{report.heldout_loss_before:.3f}",
        after=f"{report.heldout_loss_after:.3f}",
        heldout=str(report.heldout_queries),
        heldout_file=str(report.model_dir / "heldout.jsonl"),
    )
    print(saved)
    return 0


def cmd_eval_generator(args: argparse.Namespace, texts: TextSource) -> int:
    """Faithfulness, similarity to the gold answer, fallback rate and latency of the replies."""
    from bot.app import build_generator
    from bot.logging_setup import setup_logging
    from knowledge_base import load_knowledge_base
    from knowledge_base.loaders import load_queries
    from models.evaluation import evaluate_generator
    from models.generator import VerbatimGenerator
    from retrieval import FaqRetriever
    from retrieval.embedder import make_embedder

    settings = _settings()
    setup_logging(None, "WARNING")
    kb = load_knowledge_base(args.kb)
    queries = load_queries(args.queries)
    embedder = make_embedder("minilm", args.retriever_model)
    retriever = FaqRetriever(embedder, cache_dir=args.cache_dir)
    retriever.warm_up()
    retriever.load(kb)
    if args.verbatim:
        generator = VerbatimGenerator()
    else:
        overrides = {"model_path": args.model} if args.model else {}
        if args.backend:
            overrides["backend"] = args.backend
        gen_settings = settings.generator.model_copy(update=overrides)
        generator = build_generator(gen_settings, embedder)
        if isinstance(generator, VerbatimGenerator):
            where = str(gen_settings.model_path)
            print(texts.get("cli-no-generator", path=where), file=sys.stderr)
    generator.warm_up()
    report = evaluate_generator(
        kb, queries, retriever, generator, embedder, top_k=args.top_k, progress=not args.json
    )
    summary = report.summary()
    name = getattr(generator, "model_dir", None)
    summary["model"] = name.name if name else "verbatim"
    summary["backend"] = getattr(getattr(generator, "backend", None), "name", "none")
    rows = [
        (key, f"{summary[key]:.3f}")
        for key in (
            "faithfulness",
            "draft_faithfulness",
            "rouge_l",
            "answer_similarity",
            "fallback_rate",
            "handoff_rate",
            "retrieval_accuracy",
        )
    ]
    latency = texts.get(
        "cli-latency", p50=f"{summary['p50_ms']:.0f}", p99=f"{summary['p99_ms']:.0f}"
    )
    rows.append((texts.get("cli-latency-label"), latency))
    queries = texts.get(
        "cli-queries",
        queries=str(summary["queries"]),
        skipped=str(summary["skipped_out_of_scope"]),
    )
    rows.append((texts.get("cli-queries-label"), queries))
    for name, value in rows:
        print(texts.get("cli-metric", name=f"{name:>20}", value=value))
    if args.show:
        for row in report.rows[: args.show]:
            source = f"{row.source} {row.note}" if row.note else row.source
            print()
            print(texts.get("cli-reply", query=row.query, source=source, reply=row.reply))
    if args.json:
        print(json.dumps(summary))
    return 0


def _training_saved(
    texts: TextSource,
    key: str,
    report: TrainingReport | GeneratorTrainingReport,
    out: Path,
    **details: str,
) -> str:
    """What a finished training run says: where the model went, steps, time and whether the time
    budget stopped it, plus what ``key`` says of this kind of model (``details``)."""
    budget = texts.get("cli-stopped-by-budget") if report.stopped_by_budget else ""
    return texts.get(
        key,
        model=str(report.model_dir),
        steps=str(report.steps),
        planned=str(report.planned_steps),
        seconds=f"{report.seconds:.0f}",
        budget=budget,
        out=str(out),
        **details,
    )


def build_parser(texts: TextSource) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="supportbot", description="Offline-first customer-support bot for Telegram."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    start = sub.add_parser(
        "start", help="Telegram bot if TELEGRAM__TOKEN is set, otherwise the terminal chat"
    )
    start.add_argument("--log-level", default=None)
    start.set_defaults(func=cmd_start)

    run = sub.add_parser("run", help="run the Telegram bot (needs TELEGRAM__TOKEN, REDIS__URL)")
    run.set_defaults(func=cmd_run)

    chat = sub.add_parser("chat", help="chat with the bot in the terminal")
    chat.add_argument(
        "--log-level", default=None, help="default ERROR; e.g. INFO to see what the bot does"
    )
    chat.set_defaults(func=cmd_chat)

    sub.add_parser("health", help="exit 0 if the bot on this host is alive").set_defaults(
        func=cmd_health
    )
    sub.add_parser("warm-up", help="build and cache the knowledge-base index").set_defaults(
        func=cmd_warm_up
    )

    console = sub.add_parser("console", help="run the agents' web console")
    console.add_argument("--host", default=None, help="default: CONSOLE__HOST")
    console.add_argument("--port", type=int, default=None, help="default: CONSOLE__PORT")
    console.set_defaults(func=cmd_console)

    tr = sub.add_parser("train-retriever", help="fine-tune the embedder on a knowledge base")
    tr.add_argument("--kb", required=True, type=Path, help="knowledge base (yaml, jsonl, csv)")
    tr.add_argument(
        "--train", type=Path, help="JSONL {text, faq_id}: more phrasings to learn from"
    )
    tr.add_argument("--out", type=Path, default=RETRIEVER_MODELS_DIR, help="versions folder")
    tr.add_argument("--base-model", type=Path, help="start from this model (default MiniLM)")
    tr.add_argument("--epochs", type=float, default=1.0)
    tr.add_argument("--batch-size", type=int, default=64)
    tr.add_argument("--time-budget", type=float, default=900.0, help="seconds (default 900)")
    tr.add_argument(
        "--hard-negatives",
        action="store_true",
        help="also train on the nearest phrasing of another entry, mined before training",
    )
    tr.set_defaults(func=cmd_train_retriever)

    tg = sub.add_parser(
        "train-generator", help="fine-tune the reply generator (SmolLM2) on a knowledge base"
    )
    tg.add_argument("--kb", required=True, type=Path, help="knowledge base (yaml, jsonl, csv)")
    tg.add_argument("--out", type=Path, default=GENERATOR_MODELS_DIR, help="versions folder")
    tg.add_argument("--epochs", type=float, default=1.0)
    tg.add_argument("--learning-rate", type=float, default=8e-4)
    tg.add_argument("--lora-rank", type=int, default=16)
    tg.add_argument("--full", action="store_true", help="full fine-tuning instead of LoRA")
    tg.add_argument("--time-budget", type=float, default=900.0, help="seconds (default 900)")
    tg.add_argument("--grad-accumulation", type=int, default=2, help="examples per step")
    tg.add_argument(
        "--handoff-share", type=float, default=0.06, help="share of 'sources miss' examples"
    )
    tg.add_argument("--max-examples", type=int, help="train on at most this many examples")
    tg.add_argument("--heldout-loss-examples", type=int, default=16)
    tg.add_argument("--no-gguf", action="store_true", help="skip the GGUF export for llama.cpp")
    tg.add_argument("--retriever-model", type=Path, help="fine-tuned embedder for the sources")
    tg.add_argument("--cache-dir", type=Path, default=CACHE_DIR)
    tg.set_defaults(func=cmd_train_generator)

    # What both evaluations read, and how they report.
    labelled = argparse.ArgumentParser(add_help=False)
    labelled.add_argument(
        "--kb", required=True, type=Path, help="knowledge base (yaml, jsonl, csv)"
    )
    labelled.add_argument("--queries", required=True, type=Path, help="JSONL {text, faq_id}")
    labelled.add_argument(
        "--json", action="store_true", help="last line: one JSON object of metrics"
    )

    eg = sub.add_parser(
        "eval-generator", parents=[labelled], help="evaluate generated replies on labelled queries"
    )
    eg.add_argument("--model", type=Path, help="generator folder (default GENERATOR__MODEL_PATH)")
    eg.add_argument("--backend", choices=["auto", "llama_cpp", "torch", "torch_int8"])
    eg.add_argument("--verbatim", action="store_true", help="score the verbatim FAQ baseline")
    eg.add_argument("--retriever-model", type=Path, help="a fine-tuned embedding model folder")
    eg.add_argument("--top-k", type=int, default=3)
    eg.add_argument("--show", type=int, default=0, help="print the first N replies")
    eg.add_argument("--cache-dir", type=Path, default=CACHE_DIR)
    eg.set_defaults(func=cmd_eval_generator)

    ev = sub.add_parser("eval", parents=[labelled], help="evaluate retrieval on labelled queries")
    ev.add_argument("--train", type=Path, help="JSONL whose texts become extra phrasings")
    ev.add_argument("--dev", type=Path, help="JSONL to choose the escalation threshold on")
    ev.add_argument("--model", type=Path, help="a fine-tuned embedding model folder")
    ev.add_argument(
        "--embedder",
        choices=["auto", "minilm", "e5"],
        default="auto",
        help="as RETRIEVAL__EMBEDDER: auto (English on MiniLM, Chinese on e5), minilm, e5",
    )
    ev.add_argument("--threshold", type=float, help="escalation threshold (default: from dev)")
    ev.add_argument(
        "--oos-recall",
        type=_share(texts),
        help="choose the threshold on dev to escalate at least this share of its out-of-scope"
        " queries (default 0.9); 0: balance accuracy and recall instead",
    )
    ev.add_argument(
        "--threshold-method",
        choices=["bound", "point"],
        default="bound",
        help="bound (default): cross-validated over every labelled out-of-scope question (kb,"
        " train, dev), the lowest threshold whose 95%% lower bound of the recall keeps"
        " --oos-recall; point: the point estimate on dev alone (the old way)",
    )
    ev.add_argument(
        "--confidence",
        type=_share(texts),
        default=0.95,
        help="bound: how sure the promise must be (the lower bound's level, default 0.95)",
    )
    ev.add_argument("--cache-dir", type=Path, default=CACHE_DIR)
    ev.add_argument("--latency-queries", type=int, default=200)
    ev.add_argument("--plot", type=Path, help="write the threshold trade-off curve as a PNG")
    ev.set_defaults(func=cmd_eval)

    privacy = sub.add_parser("privacy", help="customers' data: the retention sweep")
    privacy_ops = privacy.add_subparsers(dest="privacy_command", metavar="COMMAND", required=True)
    privacy_ops.add_parser(
        "sweep", help="mask and delete what PRIVACY__TRANSCRIPT_DAYS / RETENTION_DAYS allow, now"
    ).set_defaults(func=cmd_privacy_sweep)

    from bot.cli_canned import register as register_canned
    from bot.cli_kb import register
    from bot.cli_related import register as register_related
    from bot.cli_report import register as register_report
    from bot.cli_users import register as register_users

    register(sub)
    register_report(sub)
    register_users(sub)
    register_canned(sub)
    register_related(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    texts = Catalog.load().texts()  # the bundled texts: they are checked by the tests
    parser = build_parser(texts)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args, texts)
    except SupportBotError as exc:  # refused input, bad settings, Redis away: say what, exit 2
        print(texts.get("cli-error", error=str(exc)), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `supportbot kb list | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
