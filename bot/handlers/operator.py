"""Operators in a private chat with the bot: edit, import, export and version the knowledge base.

Only ``OPERATORS__IDS`` may change anything; anyone else sending a ``/kb…`` command or pressing an
operator's button is refused (and a file from anyone else is just a customer's file). Handlers
parse, call ``KnowledgeService`` and render with the injected ``i18n`` texts (``operator.ftl``);
a refused change (a ``KnowledgeBaseError``) becomes the reply in the errors router. Changes reach
every bot process through the knowledge-base watcher.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import timedelta

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject, Filter, or_f
from aiogram.types import BufferedInputFile, CallbackQuery, Message, TelegramObject, User

from bot.handlers.filters import Inline
from bot.i18n import TextSource
from bot.keyboards import (
    DraftCallback,
    KbGapCallback,
    KbSuggestionCallback,
    kb_decision_keyboard,
    kb_gap_keyboard,
)
from bot.services.analytics import seconds_text, share_text
from bot.services.delivery import split_message
from bot.services.escalation import EscalationService
from bot.services.knowledge import (
    ImportReport,
    KnowledgeService,
    describe_commit,
    describe_version,
)
from bot.services.learning import LearningService, undo_learned
from bot.services.rollup import DailyFigures
from bot.settings import Settings
from bot.store import Stores, TicketStatus
from knowledge_base.formats import EXPORT_FORMATS
from knowledge_base.loaders import SUPPORTED_SUFFIXES
from knowledge_base.store import CommitResult
from knowledge_base.versions import KbDiff

log = logging.getLogger(__name__)

KB_COMMANDS = (
    "kb",
    "kb_help",
    "kb_show",
    "kb_add",
    "kb_edit",
    "kb_delete",
    "kb_phrasing_add",
    "kb_phrasing_remove",
    "kb_oos",
    "kb_oos_add",
    "kb_oos_remove",
    "kb_history",
    "kb_diff",
    "kb_rollback",
    "kb_check",
    "kb_gaps",
    "kb_suggestions",
    "kb_approve",
    "kb_reject",
    "kb_export",
    "kb_retrain",
    "stats",
    "kb_learned",  # learning from confirmed answers
    "draft",  # drafts for operators (bot/handlers/drafts.py)
)
EDITABLE = ("question", "answer", "tags", "alternatives")
GAPS_SHOWN = 10  # clusters sent by /kb_gaps, each with its buttons
MAX_GAP_CHARS = 1000


def _is_operator(user: User | None, settings: Settings) -> bool:
    return user is not None and user.id in settings.operators.ids


class IsOperator(Filter):
    async def __call__(self, event: TelegramObject, settings: Settings) -> bool:
        return _is_operator(getattr(event, "from_user", None), settings)


class ForOperators(Filter):
    """A ``/kb…`` command from anyone (non-operators get a refusal) or a file from an operator."""

    async def __call__(self, message: Message, settings: Settings) -> bool:
        text = message.text or ""
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0].split("@")[0].lstrip("/").lower()
            if command in KB_COMMANDS:
                return True
        return message.document is not None and _is_operator(message.from_user, settings)


def create_router() -> Router:
    """A fresh router for operators in private chats (a router can belong to one dispatcher)."""
    router = Router(name=__name__)
    router.message.filter(Inline(F.chat.type == ChatType.PRIVATE), ForOperators())
    router.message.register(refuse, ~IsOperator())
    router.message.register(cmd_help, Command("kb", "kb_help"))
    router.message.register(cmd_show, Command("kb_show"))
    router.message.register(cmd_add, Command("kb_add"))
    router.message.register(cmd_edit, Command("kb_edit"))
    router.message.register(cmd_delete, Command("kb_delete"))
    router.message.register(cmd_phrasing, Command("kb_phrasing_add", "kb_phrasing_remove"))
    router.message.register(cmd_out_of_scope, Command("kb_oos", "kb_oos_add", "kb_oos_remove"))
    router.message.register(cmd_history, Command("kb_history"))
    router.message.register(cmd_diff, Command("kb_diff"))
    router.message.register(cmd_rollback, Command("kb_rollback"))
    router.message.register(cmd_check, Command("kb_check"))
    router.message.register(cmd_gaps, Command("kb_gaps"))
    router.message.register(cmd_suggestions, Command("kb_suggestions"))
    router.message.register(cmd_decide, Command("kb_approve", "kb_reject"))
    router.message.register(cmd_export, Command("kb_export"))
    router.message.register(cmd_retrain, Command("kb_retrain"))
    router.message.register(cmd_stats, Command("stats"))
    router.message.register(cmd_learned, Command("kb_learned"))  # learning
    router.message.register(handle_upload, Inline(F.document))
    router.callback_query.filter(
        or_f(KbSuggestionCallback.filter(), KbGapCallback.filter(), DraftCallback.filter())
    )
    router.callback_query.register(refuse_button, ~IsOperator())
    router.callback_query.register(on_decision, KbSuggestionCallback.filter())
    router.callback_query.register(on_gap_decision, KbGapCallback.filter())
    from bot.handlers import drafts  # imports this module's helpers

    drafts.register(router)
    return router


def author(user: User | None) -> str:
    """Who made a change, as the knowledge base's history records it."""
    if user is None:
        return "operator"
    return f"{user.full_name or user.username or user.id} (tg:{user.id})"


async def _say(message: Message, text: str) -> None:
    for part in split_message(text):
        await message.answer(part)


def _pipe_args(command: CommandObject, count: int) -> list[str] | None:
    parts = [p.strip() for p in (command.args or "").split("|")]
    return parts if len(parts) >= count and all(parts[:count]) else None


def _bullets(lines: Iterable[str], indent: str = "") -> str:
    return "\n".join(f"{indent}• {line}" for line in lines)


async def _committed(message: Message, result: CommitResult, i18n: TextSource) -> None:
    """The reply to a change that went through: the new version and what it changed."""
    await message.answer(i18n.get("kb-committed", commit=describe_commit(result, i18n)))


async def refuse(message: Message, i18n: TextSource) -> None:
    log.info(
        "user %s (not an operator) tried %r", getattr(message.from_user, "id", None), message.text
    )
    await message.answer(i18n.get("operator-only"))


async def refuse_button(query: CallbackQuery, i18n: TextSource) -> None:
    """Someone who is not an operator pressed an operator's button: nothing changes."""
    await query.answer(i18n.get("operator-only"), show_alert=True)


async def cmd_help(message: Message, i18n: TextSource) -> None:
    await message.answer(i18n.get("kb-help"))


async def cmd_show(
    message: Message, command: CommandObject, knowledge: KnowledgeService, i18n: TextSource
) -> None:
    version, kb = await knowledge.live()
    entry = kb.get((command.args or "").strip())
    if entry is None:
        await message.answer(
            i18n.get("kb-show-missing", id=repr(command.args), version=str(version))
        )
        return
    await _say(
        message,
        i18n.get(
            "kb-entry",
            id=entry.id,
            version=str(version),
            question=entry.question,
            answer=entry.answer,
            phrasings=_bullets(entry.alternatives, "  ") or "  " + i18n.get("kb-none"),
            tags=", ".join(entry.tags) or "-",
        ),
    )


async def cmd_add(
    message: Message, command: CommandObject, knowledge: KnowledgeService, i18n: TextSource
) -> None:
    args = _pipe_args(command, 3)
    if args is None:
        await message.answer(i18n.get("kb-add-usage"))
        return
    alternatives = [a.strip() for a in args[3].split(";")] if len(args) > 3 else []
    result = await knowledge.add_entry(
        args[0], args[1], args[2], author(message.from_user), alternatives=alternatives
    )
    await _committed(message, result, i18n)


async def cmd_edit(
    message: Message, command: CommandObject, knowledge: KnowledgeService, i18n: TextSource
) -> None:
    parts = (command.args or "").split(maxsplit=2)
    if len(parts) < 3 or parts[1].lower() not in EDITABLE:
        await message.answer(i18n.get("kb-edit-usage"))
        return
    entry_id, field, value = parts[0], parts[1].lower(), parts[2].strip()
    fields: dict[str, object] = {field: value}
    if field == "tags":
        fields[field] = [t.strip() for t in value.split(",") if t.strip()]
    elif field == "alternatives":
        fields[field] = [t.strip() for t in value.split(";") if t.strip()]
    result = await knowledge.edit_entry(entry_id, author(message.from_user), **fields)
    await _committed(message, result, i18n)


async def cmd_delete(
    message: Message, command: CommandObject, knowledge: KnowledgeService, i18n: TextSource
) -> None:
    entry_id = (command.args or "").strip()
    if not entry_id:
        await message.answer(i18n.get("kb-delete-usage"))
        return
    result = await knowledge.delete_entry(entry_id, author(message.from_user))
    await _committed(message, result, i18n)


async def cmd_phrasing(
    message: Message, command: CommandObject, knowledge: KnowledgeService, i18n: TextSource
) -> None:
    args = _pipe_args(command, 2)
    if args is None:
        await message.answer(i18n.get("kb-phrasing-usage", command=command.command))
        return
    removing = command.command.lower().endswith("remove")
    change = knowledge.remove_phrasing if removing else knowledge.add_phrasing
    await _committed(message, await change(args[0], args[1], author(message.from_user)), i18n)


async def cmd_out_of_scope(
    message: Message, command: CommandObject, knowledge: KnowledgeService, i18n: TextSource
) -> None:
    """List, add or remove the questions no entry answers (the bot hands them to a person)."""
    name = command.command.lower()
    text = (command.args or "").strip()
    if name == "kb_oos":
        version, kb = await knowledge.live()
        listed = _bullets(kb.out_of_scope) or i18n.get("kb-none")
        await _say(message, i18n.get("kb-oos-list", version=str(version), questions=listed))
        return
    if not text:
        await message.answer(i18n.get("kb-oos-usage", command=command.command))
        return
    adding = name == "kb_oos_add"
    change = knowledge.add_out_of_scope if adding else knowledge.remove_out_of_scope
    await _committed(message, await change(text, author(message.from_user)), i18n)


async def cmd_history(
    message: Message, command: CommandObject, knowledge: KnowledgeService, i18n: TextSource
) -> None:
    limit = int(command.args) if (command.args or "").strip().isdigit() else 10
    versions = await knowledge.history(min(limit, 50))
    if not versions:
        await message.answer(i18n.get("kb-history-empty"))
        return
    await _say(message, "\n".join(describe_version(v, i18n) for v in versions))


def _render_diff(a: int, b: int, diff: KbDiff, i18n: TextSource) -> str:
    if diff.empty:
        return i18n.get("kb-diff-same", a=str(a), b=str(b))
    head = i18n.get("kb-diff-head", a=str(a), b=str(b), summary=diff.summary())
    return "\n".join([head, *diff.lines(80)])


async def cmd_diff(
    message: Message, command: CommandObject, knowledge: KnowledgeService, i18n: TextSource
) -> None:
    parts = (command.args or "").replace("v", "").split()
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        await message.answer(i18n.get("kb-diff-usage"))
        return
    a, b = int(parts[0]), int(parts[1])
    await _say(message, _render_diff(a, b, await knowledge.diff(a, b), i18n))


async def cmd_rollback(
    message: Message, command: CommandObject, knowledge: KnowledgeService, i18n: TextSource
) -> None:
    arg = (command.args or "").strip().lstrip("v")
    if not arg.isdigit():
        await message.answer(i18n.get("kb-rollback-usage"))
        return
    result = await knowledge.rollback(int(arg), author(message.from_user))
    await _committed(message, result, i18n)


async def cmd_check(message: Message, knowledge: KnowledgeService, i18n: TextSource) -> None:
    issues = await knowledge.check()
    if not issues:
        await message.answer(i18n.get("kb-check-clean"))
        return
    await _say(message, _bullets(i.describe() for i in issues[:40]))


async def cmd_gaps(message: Message, knowledge: KnowledgeService, i18n: TextSource) -> None:
    clusters = await knowledge.gap_report()
    if not clusters:
        await message.answer(i18n.get("kb-gaps-none"))
        return
    shown = clusters[:GAPS_SHOWN]
    if len(clusters) > len(shown):
        head = i18n.get("kb-gaps-head-largest", shown=str(len(shown)), total=str(len(clusters)))
    else:
        head = i18n.get("kb-gaps-head")
    await message.answer(head)
    for c in shown:
        examples = "; ".join(i18n.get("kb-quoted", text=e) for e in c.examples)
        cluster_id = await knowledge.gaps.hold(c)
        card = i18n.get("kb-gap-card", count=str(c.count), examples=examples)
        await message.answer(card[:MAX_GAP_CHARS], reply_markup=kb_gap_keyboard(i18n, cluster_id))


async def on_gap_decision(
    query: CallbackQuery,
    callback_data: KbGapCallback,
    knowledge: KnowledgeService,
    i18n: TextSource,
) -> None:
    """Not ours (the cluster's question becomes out of scope) or Dismiss: it leaves the report."""
    held = await knowledge.gaps.held(callback_data.cluster_id)
    if held is None:
        await query.answer(i18n.get("kb-gap-expired"), show_alert=True)
        return
    label, members = held
    result = None
    if callback_data.action == "oos":
        result = await knowledge.add_out_of_scope(label, author(query.from_user))
    removed = str(await knowledge.dismiss_gap(members))
    await knowledge.gaps.release(callback_data.cluster_id)
    if result is None:
        note = i18n.get("kb-gap-dismissed", removed=removed)
    else:
        commit = describe_commit(result, i18n)
        note = i18n.get("kb-gap-out-of-scope", commit=commit, removed=removed)
    await query.answer(note[:190])
    if query.message is not None:
        await query.message.answer(i18n.get("kb-gap-decided", label=label, note=note))


async def cmd_suggestions(message: Message, knowledge: KnowledgeService, i18n: TextSource) -> None:
    pending = await knowledge.pending_suggestions()
    if not pending:
        await message.answer(i18n.get("kb-suggestions-none"))
        return
    for s in pending[:10]:
        card = dict(id=s.id, by=s.created_by, question=s.question, answer=s.answer)
        if s.ticket_id:
            text = i18n.get("kb-suggestion-from-ticket", ticket=s.ticket_id, **card)
        else:
            text = i18n.get("kb-suggestion", **card)
        await message.answer(text, reply_markup=kb_decision_keyboard(i18n, s.id))


async def cmd_decide(
    message: Message, command: CommandObject, knowledge: KnowledgeService, i18n: TextSource
) -> None:
    parts = (command.args or "").split()
    if not parts:
        approving = command.command.endswith("approve")
        usage = "kb-approve-usage" if approving else "kb-reject-usage"
        await message.answer(i18n.get(usage, command=command.command))
        return
    who = author(message.from_user)
    if command.command.lower().endswith("approve"):
        entry_id = parts[1] if len(parts) > 1 else None
        suggestion, result = await knowledge.approve(parts[0], who, entry_id=entry_id)
        await message.answer(
            i18n.get(
                "kb-suggestion-approved",
                id=suggestion.id,
                entry=suggestion.entry_id,
                commit=describe_commit(result, i18n),
            )
        )
    else:
        suggestion = await knowledge.reject(parts[0], who)
        await message.answer(i18n.get("kb-suggestion-rejected", id=suggestion.id))


async def on_decision(
    query: CallbackQuery,
    callback_data: KbSuggestionCallback,
    knowledge: KnowledgeService,
    i18n: TextSource,
) -> None:
    who = author(query.from_user)
    if callback_data.action == "approve":
        suggestion, result = await knowledge.approve(callback_data.suggestion_id, who)
        commit = describe_commit(result, i18n)
        note = i18n.get("kb-suggestion-added-as", entry=suggestion.entry_id, commit=commit)
    else:
        await knowledge.reject(callback_data.suggestion_id, who)
        note = i18n.get("kb-suggestion-rejected-toast")
    await query.answer(note[:190])
    if query.message is not None:
        await query.message.answer(
            i18n.get("kb-suggestion-decided", id=callback_data.suggestion_id, note=note)
        )


async def cmd_export(
    message: Message, command: CommandObject, knowledge: KnowledgeService, i18n: TextSource
) -> None:
    fmt = (command.args or "yaml").strip().lower().lstrip(".")
    fmt = {"yml": "yaml", "markdown": "md"}.get(fmt, fmt)
    if fmt not in EXPORT_FORMATS:
        await message.answer(i18n.get("kb-export-usage", formats="|".join(EXPORT_FORMATS)))
        return
    version, _ = await knowledge.live()
    text = await knowledge.export(fmt, version)
    await message.answer_document(
        BufferedInputFile(text.encode("utf-8"), filename=f"knowledge-base-v{version}.{fmt}"),
        caption=i18n.get("kb-export-caption", version=str(version)),
    )


async def cmd_retrain(message: Message, knowledge: KnowledgeService, i18n: TextSource) -> None:
    await knowledge.request_retrain(author(message.from_user))
    await message.answer(i18n.get("kb-retrain-requested"))


def render_import(report: ImportReport, i18n: TextSource) -> str:
    commit = describe_commit(report.result, i18n)
    lines = [i18n.get("kb-imported", count=str(report.entries), commit=commit)]
    if report.issues:
        lines.append(i18n.get("kb-quality-issues", count=str(len(report.issues))))
        lines.append(_bullets(i.describe() for i in report.issues[:30]))
    return "\n".join(lines)


async def handle_upload(
    message: Message, bot: Bot, knowledge: KnowledgeService, i18n: TextSource
) -> None:
    """A knowledge-base file from an operator: imported whole, or refused with every problem
    (the errors router names the file in its reply)."""
    document = message.document
    name = document.file_name or "upload"
    if not name.lower().endswith(SUPPORTED_SUFFIXES):
        suffixes = ", ".join(SUPPORTED_SUFFIXES)
        await message.answer(i18n.get("kb-not-a-kb-file", name=name, suffixes=suffixes))
        return
    replace = (message.caption or "").strip().lower() == "replace"
    data = await bot.download(document)
    report = await knowledge.import_bytes(
        data.read(), name, author(message.from_user), replace=replace
    )
    await _say(message, render_import(report, i18n))


async def cmd_stats(
    message: Message, stores: Stores, escalation: EscalationService, i18n: TextSource
) -> None:
    """``/stats``: today's and this week's key figures in one message."""
    figures = DailyFigures(stores.redis, stores.keys, escalation.hours)
    now = time.time()
    today = figures.day_of(now)
    periods = (
        ("stats-today", figures.bounds(today)[0]),
        ("stats-week", figures.bounds(today - timedelta(days=6))[0]),
    )
    parts = []
    for title, since in periods:
        f = (await figures.report(since, now, now)).to_json()
        parts.append(
            i18n.get(
                "stats-period",
                title=i18n.get(title),
                conversations=str(f["conversations"]),
                messages=str(f["messages"]),
                involvement=share_text(f["involvement_rate"]),
                resolution=share_text(f["resolution_rate"]),
                confirmed=str(f["resolution_confirmed"]),
                assumed=str(f["resolution_assumed"]),
                escalation=share_text(f["escalation_rate"]),
                tickets=str(f["tickets"]),
                csat=share_text(f["csat"]),
                ratings=str(f["ratings"]),
                helpful=share_text(f["thumbs_up_share"]),
                first_response=seconds_text(f["first_response_p50_s"]),
                resolution_time=seconds_text(f["resolution_time_p50_s"]),
            )
        )
    waiting = await stores.tickets.list_open()
    unclaimed = sum(t.status == TicketStatus.OPEN for t in waiting)
    parts.append(i18n.get("stats-now", open=str(len(waiting)), unclaimed=str(unclaimed)))
    await _say(message, "\n\n".join(parts))


# ------------------------------------------------------------------ learning


async def cmd_learned(
    message: Message,
    command: CommandObject,
    learning: LearningService | None,
    i18n: TextSource,
) -> None:
    """/kb_learned: the latest phrasings learned from confirmed answers; /kb_learned undo ID
    takes one out (a new version)."""
    args = (command.args or "").split()
    if learning is None:
        await message.answer(i18n.get("kb-learned-none"))
        return
    if args:
        if len(args) != 2 or args[0].lower() != "undo":
            await message.answer(i18n.get("kb-learned-usage"))
            return
        await message.answer(
            await undo_learned(learning, args[1], author(message.from_user), i18n)
        )
        return
    records = await learning.learned(20)
    if not records:
        await message.answer(i18n.get("kb-learned-none"))
        return
    lines = [
        i18n.get(
            "kb-learned-line",
            id=r.id,
            entry=r.entry_id,
            text=r.text,
            evidence=r.evidence,
            customers=str(r.customers),
            version=str(r.version),
            status=r.status,
        )
        for r in records
    ]
    await _say(message, "\n".join([i18n.get("kb-learned-head"), *lines]))
