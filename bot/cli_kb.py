"""``supportbot kb …``: the operators' command line for the live knowledge base in Redis.

Every change is a new version (``kb history``) that running bot processes serve within seconds.
Exit status: 0 done, 2 refused (invalid file or edit, Redis unreachable, bad arguments): a refusal
is raised as a ``UserFacingError`` and printed by ``bot.cli.main``. What is printed comes from the
app's text catalog (``cli.ftl``, and ``operator.ftl`` for what operators see on every surface).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import UserFacingError

if TYPE_CHECKING:
    from bot.app import App
    from bot.i18n import TextSource
    from bot.services.knowledge import KnowledgeService
    from bot.services.learning import LearningService
    from knowledge_base.store import CommitResult


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``kb`` and its subcommands to the ``supportbot`` parser."""
    kb = sub.add_parser("kb", help="knowledge base: import/export, edit, history, rollback…")
    kb.add_argument("--author", help="name recorded in the history (default: user@host)")
    ops = kb.add_subparsers(dest="kb_command", metavar="KB_COMMAND", required=True)

    p = ops.add_parser("import", help="import a .yaml/.jsonl/.csv/.md file (all or nothing)")
    p.add_argument("file", type=Path)
    p.add_argument("--replace", action="store_true", help="remove entries not in the file")
    p.add_argument("--no-check", action="store_true", help="skip the quality checks")

    p = ops.add_parser("export", help="write the live (or an older) version to a file")
    p.add_argument("file", type=Path)
    p.add_argument("--format", choices=["yaml", "jsonl", "csv", "md"], help="default: from name")
    p.add_argument("--version", type=int, help="default: the live version")

    ops.add_parser("list", help="ids and questions of the live version")
    p = ops.add_parser("show", help="one entry")
    p.add_argument("id")

    p = ops.add_parser("add", help="add an entry")
    p.add_argument("id")
    p.add_argument("--question", required=True)
    p.add_argument("--answer", required=True)
    p.add_argument("--alt", action="append", default=[], help="an alternative phrasing")
    p.add_argument("--tag", action="append", default=[])

    p = ops.add_parser("edit", help="change fields of an entry")
    p.add_argument("id")
    p.add_argument("--question")
    p.add_argument("--answer")
    p.add_argument("--alternatives", help="all phrasings, separated by |")
    p.add_argument("--tags", help="comma-separated")

    p = ops.add_parser("delete", help="delete an entry")
    p.add_argument("id")

    p = ops.add_parser("phrasing", help="add or remove an alternative phrasing")
    p.add_argument("action", choices=["add", "remove"])
    p.add_argument("id")
    p.add_argument("text")

    p = ops.add_parser(
        "out-of-scope", help="questions no entry answers: the bot hands them to a person"
    )
    p.add_argument("action", nargs="?", choices=["list", "add", "remove"], default="list")
    p.add_argument("text", nargs="?", help="the question (for add / remove)")

    p = ops.add_parser("history", help="the latest versions: who, when, what")
    p.add_argument("-n", type=int, default=20)

    p = ops.add_parser("diff", help="what changed between two versions")
    p.add_argument("a", type=int)
    p.add_argument("b", type=int)

    p = ops.add_parser("rollback", help="make version N's content live again (as a new version)")
    p.add_argument("version", type=int)

    ops.add_parser("check", help="near-duplicate questions and misplaced phrasings")
    ops.add_parser("gaps", help="clusters of unanswered and escalated questions")

    p = ops.add_parser("suggestions", help="pending 'add to knowledge base' suggestions")
    p.add_argument("action", nargs="?", choices=["approve", "reject"])
    p.add_argument("suggestion", nargs="?")
    p.add_argument("--entry", help="approve as a phrasing of this existing entry")

    ops.add_parser("retrain", help="retrain the retriever model in the background (bot process)")

    p = ops.add_parser("learned", help="phrasings learned from confirmed answers; undo one")
    p.add_argument("--undo", metavar="ID", help="take learned phrasing ID out (a new version)")
    p.add_argument("-n", type=int, default=50, help="how many to list (newest first)")

    p = ops.add_parser(
        "propose-threshold",
        help="the RETRIEVAL__THRESHOLD that escalates the share of out-of-scope questions asked"
        " for, with what to expect of it on unseen questions",
    )
    p.add_argument(
        "--recall",
        type=float,
        default=0.9,
        help="the out-of-scope recall to promise, above 0 and below 1 (default 0.9)",
    )
    p.add_argument(
        "--confidence",
        type=float,
        default=0.95,
        help="how sure the promise must be: the lower bound's level, above 0 and below 1"
        " (default 0.95; lower: a lower threshold from fewer questions, kept less often)",
    )

    p = ops.add_parser("draft", help="drafts for operators: rewrite, copy, entry; approve/discard")
    p.add_argument(
        "action", choices=["list", "rewrite", "copy", "entry", "show", "approve", "discard"]
    )
    p.add_argument("args", nargs="*", help="rewrite: ENTRY_ID STYLE; copy: 'name=…; features=…; "
                   "price=…; offer=…'; show/approve/discard: DRAFT_ID")  # fmt: skip
    kb.set_defaults(func=cmd_kb)


def cmd_kb(args: argparse.Namespace, texts: TextSource) -> int:
    """``supportbot kb …``; it prints with the app's catalog (``TEXTS__PATH``), not ``texts``."""
    from bot.settings import load_settings

    return asyncio.run(_run(load_settings(), args))


def _author(args: argparse.Namespace) -> str:
    if args.author:
        return args.author
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "operator"
    return f"{user}@{socket.gethostname()} (cli)"


async def _run(settings, args: argparse.Namespace) -> int:
    from bot.app import Models, open_app

    async with open_app(
        settings,
        models=Models.LAZY,
        needs_redis="the live knowledge base is kept in Redis",
        # An import that replaces everything must not first seed the configured file.
        seed=args.kb_command != "import" or not args.replace,
    ) as app:
        if args.kb_command == "draft":
            return await _drafts(app, args, _author(args), app.catalog.texts())
        if args.kb_command == "propose-threshold":
            return await _propose_threshold(app, args.recall, args.confidence, app.catalog.texts())
        return await _dispatch(
            app.knowledge, args, _author(args), app.catalog.texts(), app.learning
        )


async def _propose_threshold(app: App, recall: float, level: float, texts: TextSource) -> int:
    """``kb propose-threshold``: choose the threshold as ``retrieval.threshold`` does, on the live
    knowledge base's held-out phrasings and its and the settings file's out-of-scope questions."""
    from bot.app import ModelLoader
    from retrieval.threshold import TooFewOutOfScope, recall_interval

    if not 0.0 < recall < 1.0:
        raise UserFacingError(texts.get("cli-kb-threshold-bad-recall", got=str(recall)))
    if not 0.0 < level < 1.0:
        raise UserFacingError(texts.get("cli-kb-threshold-bad-confidence", got=str(level)))
    loader = ModelLoader.from_settings(app.settings)
    retriever, version, kb, _model = await loader.load_retriever(app.knowledge, app.executor)
    if not len(kb):
        raise UserFacingError(texts.get("cli-kb-threshold-empty", version=str(version)))
    loop = asyncio.get_running_loop()
    held = await loop.run_in_executor(app.executor, retriever.held_out_confidence)
    pct = "{:.1%}".format
    sources = {
        "kb": str(len(kb.out_of_scope)),
        "file": str(len(held.oos_confidence) - len(set(kb.out_of_scope))),
        "version": str(version),
    }
    try:
        point = held.operating_point(recall, level)
    except TooFewOutOfScope as exc:
        raise UserFacingError(
            texts.get(
                "cli-kb-threshold-too-few",
                have=str(exc.have),
                needed=str(exc.needed),
                recall=pct(recall),
                level=f"{level:.0%}",
                **sources,
            )
        ) from None
    print(texts.get("cli-kb-threshold-proposed", threshold=f"{point.threshold:.4f}"))
    print(
        texts.get(
            "cli-kb-threshold-recall",
            recall=pct(point.recall),
            low=pct(point.recall_low),
            high=pct(point.recall_high),
            target=pct(recall),
            level=f"{level:.0%}",
        )
    )
    if point.in_scope_accuracy is not None:
        print(
            texts.get(
                "cli-kb-threshold-in-scope",
                answered=pct(point.answered),
                right=pct(point.in_scope_accuracy),
            )
        )
    else:
        print(texts.get("cli-kb-threshold-in-scope-unknown"))
    print(
        texts.get(
            "cli-kb-threshold-evidence",
            oos=str(point.n_oos),
            phrasings=str(point.n_in_scope),
            **sources,
        )
    )
    current = app.settings.retrieval.threshold
    caught = int((held.oos_confidence < current).sum())
    low, high = recall_interval(caught, point.n_oos, level)
    print(
        texts.get(
            "cli-kb-threshold-current",
            threshold=f"{current:.4f}",
            recall=pct(caught / point.n_oos),
            low=pct(low),
            high=pct(high),
        )
    )
    return 0


def _print_commit(result: CommitResult, texts: TextSource) -> None:
    from bot.services.knowledge import describe_commit

    print(describe_commit(result, texts))


async def _dispatch(
    service: KnowledgeService,
    args: argparse.Namespace,
    author: str,
    texts: TextSource,
    learning: LearningService | None = None,
) -> int:
    from bot.services.knowledge import describe_version
    from knowledge_base.formats import format_for_path

    command = args.kb_command
    if command == "import":
        if args.no_check:
            service.vectors = None
        if not args.file.is_file():
            raise UserFacingError(texts.get("cli-kb-file-not-found", file=str(args.file)))
        data = args.file.read_bytes()
        report = await service.import_bytes(data, str(args.file), author, replace=args.replace)
        print(texts.get("cli-kb-imported", entries=str(report.entries), file=str(args.file)))
        _print_commit(report.result, texts)
        for issue in report.issues:
            print(texts.get("cli-kb-warning", issue=issue.describe()))
    elif command == "export":
        fmt = args.format or format_for_path(args.file)
        version = args.version or (await service.live())[0]
        args.file.write_text(await service.export(fmt, version), encoding="utf-8")
        print(texts.get("cli-kb-exported", version=str(version), file=str(args.file), format=fmt))
    elif command == "list":
        version, kb = await service.live()
        print(texts.get("cli-kb-entries", version=str(version), entries=str(len(kb))))
        for entry in kb:
            print(f"{entry.id}\t{entry.question}")
    elif command == "show":
        version, kb = await service.live()
        entry = kb.get(args.id)
        if entry is None:
            raise UserFacingError(
                texts.get("cli-kb-no-entry", id=repr(args.id), version=str(version))
            )
        print(texts.get("cli-kb-entry", id=entry.id, question=entry.question, answer=entry.answer))
        for alt in entry.alternatives:
            print(texts.get("cli-kb-entry-also", phrasing=alt))
        print(texts.get("cli-kb-entry-tags", tags=", ".join(entry.tags)))
    elif command == "add":
        result = await service.add_entry(
            args.id, args.question, args.answer, author, alternatives=args.alt, tags=args.tag
        )
        _print_commit(result, texts)
    elif command == "edit":
        fields = {
            "question": args.question,
            "answer": args.answer,
            "alternatives": [a.strip() for a in args.alternatives.split("|") if a.strip()]
            if args.alternatives is not None
            else None,
            "tags": [t.strip() for t in args.tags.split(",") if t.strip()]
            if args.tags is not None
            else None,
        }
        if all(v is None for v in fields.values()):
            raise UserFacingError(texts.get("cli-kb-nothing-to-change"))
        _print_commit(await service.edit_entry(args.id, author, **fields), texts)
    elif command == "delete":
        _print_commit(await service.delete_entry(args.id, author), texts)
    elif command == "phrasing":
        change = service.add_phrasing if args.action == "add" else service.remove_phrasing
        _print_commit(await change(args.id, args.text, author), texts)
    elif command == "out-of-scope":
        if args.action == "list":
            version, kb = await service.live()
            count = str(len(kb.out_of_scope))
            print(texts.get("cli-kb-out-of-scope", version=str(version), count=count))
            for text in kb.out_of_scope:
                print(text)
        elif not args.text:
            raise UserFacingError(texts.get("cli-kb-needs-question", action=args.action))
        else:
            change = (
                service.add_out_of_scope if args.action == "add" else service.remove_out_of_scope
            )
            _print_commit(await change(args.text, author), texts)
    elif command == "history":
        for version in await service.history(args.n):
            print(describe_version(version, texts))
    elif command == "diff":
        difference = await service.diff(args.a, args.b)
        summary = difference.summary()
        print(texts.get("kb-diff-head", a=str(args.a), b=str(args.b), summary=summary))
        for line in difference.lines(10_000):
            print(line)
    elif command == "rollback":
        _print_commit(await service.rollback(args.version, author), texts)
    elif command == "check":
        issues = await service.check()
        for issue in issues:
            print(issue.describe())
        print(texts.get("cli-kb-issues", count=str(len(issues))))
    elif command == "gaps":
        clusters = await service.gap_report()
        if not clusters:
            print(texts.get("cli-kb-gaps-none"))
        for cluster in clusters:
            reasons = ", ".join(f"{k} {v}" for k, v in sorted(cluster.reasons.items()))
            count = f"{cluster.count:4d}"
            print(texts.get("cli-kb-gap", count=count, label=cluster.label, reasons=reasons))
            for example in cluster.examples[1:]:
                print(f"       {example}")
    elif command == "suggestions":
        return await _suggestions(service, args, author, texts)
    elif command == "retrain":
        await service.request_retrain(author)
        print(texts.get("cli-kb-retrain-requested"))
    elif command == "learned":
        return await _learned(learning, args, author, texts)
    return 0


async def _learned(
    learning: LearningService, args: argparse.Namespace, author: str, texts: TextSource
) -> int:
    """``kb learned``: what was learned (a table), or ``--undo ID``."""
    from bot.services.learning import undo_learned

    if args.undo:
        print(await undo_learned(learning, args.undo, author, texts))
        return 0
    from rich.console import Console
    from rich.table import Table

    records = await learning.learned(args.n)
    stats = await learning.stats()
    if not records:
        print(texts.get("cli-kb-learned-none"))
    else:
        table = Table(box=None)
        columns = ("id", "entry", "text", "evidence", "customers", "version", "when", "status")
        for column in columns:
            table.add_column(texts.get(f"cli-kb-learned-col-{column}"), overflow="fold")
        for r in records:
            when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(r.at))
            version = f"v{r.version}" + (f" → v{r.ended_version}" if r.ended_version else "")
            status = r.status + (f" ({r.ended_by})" if r.ended_by else "")
            table.add_row(
                r.id, r.entry_id, r.text, r.evidence, str(r.customers), version, when, status
            )
        Console(width=140).print(table)
    if stats:
        counts = ", ".join(f"{k} {v}" for k, v in stats.items())
        print(texts.get("cli-kb-learned-counts", counts=counts))
    return 0


async def _suggestions(
    service: KnowledgeService, args: argparse.Namespace, author: str, texts: TextSource
) -> int:
    if args.action is None:
        pending = await service.pending_suggestions()
        if not pending:
            print(texts.get("cli-kb-suggestions-none"))
        for s in pending:
            card = {"id": s.id, "by": s.created_by, "question": s.question, "answer": s.answer}
            if s.ticket_id:
                print(texts.get("cli-kb-suggestion-from-ticket", ticket=s.ticket_id, **card))
            else:
                print(texts.get("cli-kb-suggestion", **card))
        return 0
    if not args.suggestion:
        raise UserFacingError(texts.get("cli-kb-needs-suggestion", action=args.action))
    if args.action == "approve":
        suggestion, result = await service.approve(args.suggestion, author, entry_id=args.entry)
        print(texts.get("cli-kb-approved", id=suggestion.id, entry=suggestion.entry_id))
        _print_commit(result, texts)
    else:
        await service.reject(args.suggestion, author)
        print(texts.get("cli-kb-rejected", id=args.suggestion))
    return 0


async def _drafts(app, args: argparse.Namespace, author: str, texts: TextSource) -> int:
    """``supportbot kb draft …``: the same drafts as ``/draft`` and the console's, printed."""
    from bot.services.drafts import render_draft

    drafts, action, rest = app.drafts(), args.action, args.args
    if action == "list":
        for d in await drafts.recent():
            about = d.entry_id or d.question or d.original
            print(texts.get("draft-list-line", id=d.id, kind=d.kind.value, status=d.status.value,
                            about=about))  # fmt: skip
        return 0
    needs = {"rewrite": 2, "show": 1, "approve": 1, "discard": 1, "copy": 0, "entry": 0}[action]
    if len(rest) < needs:
        raise UserFacingError(texts.get("draft-usage"))
    if action == "rewrite":
        draft = await drafts.rewrite(rest[0], rest[1], author)
    elif action == "copy":
        draft = await drafts.product_copy(" ".join(rest), author)
    elif action == "entry":
        draft = await drafts.entry_from_gaps(author)
    elif action == "show":
        draft = await drafts.get(rest[0])
    elif action == "approve":
        draft, result = await drafts.approve(rest[0], author)
        if result is None:
            print(texts.get("draft-approved-copy", id=draft.id))
        else:
            from bot.services.knowledge import describe_commit

            commit = describe_commit(result, texts)
            print(texts.get("draft-approved", id=draft.id, entry=draft.entry_id, commit=commit))
        return 0
    else:
        print(texts.get("draft-discarded", id=(await drafts.discard(rest[0], author)).id))
        return 0
    print(render_draft(draft, texts))
    return 0 if draft.id else 2  # a refused draft was not stored
