"""``/draft`` for operators: rewrites, product copy and entry drafts, approved or discarded.

Registered on the operators' router (``bot/handlers/operator.py``), so only ``OPERATORS__IDS`` get
here. Handlers parse, call ``DraftService`` and render with ``operator.ftl``; a refused request (an
unknown entry, style or draft, no facts) is a ``KbEditError`` the errors router answers. Every
draft is marked DRAFT and goes to the operator only, never to a customer.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot.handlers.operator import _say, author
from bot.i18n import TextSource
from bot.keyboards import DraftAction, DraftCallback, draft_keyboard
from bot.services.drafts import DraftService, render_draft
from bot.services.knowledge import describe_commit
from knowledge_base.drafts import Draft, DraftStatus

DRAFTS_LISTED = 10


def register(router: Router) -> None:
    """Add ``/draft`` and the draft buttons to the operators' router."""
    router.message.register(cmd_draft, Command("draft"))
    router.callback_query.register(on_draft_decision, DraftCallback.filter())


async def _show(message: Message, draft: Draft, i18n: TextSource) -> None:
    """The draft; a pending one is followed by its Approve / Discard buttons (a long draft is
    split into several messages, so the buttons come in a message of their own)."""
    await _say(message, render_draft(draft, i18n))
    if draft.status is DraftStatus.PENDING:
        await message.answer(
            i18n.get("draft-decide", id=draft.id), reply_markup=draft_keyboard(i18n, draft.id)
        )


async def cmd_draft(
    message: Message, command: CommandObject, drafts: DraftService, i18n: TextSource
) -> None:
    """``/draft rewrite ID STYLE`` · ``/draft copy name=…; …`` · ``/draft entry`` ·
    ``/draft show|approve|discard ID`` · ``/draft`` alone lists the recent drafts."""
    verb, _, rest = (command.args or "").strip().partition(" ")
    verb, rest, who = verb.lower(), rest.strip(), author(message.from_user)
    if verb == "rewrite":
        parts = rest.split()
        if len(parts) != 2:
            await message.answer(i18n.get("draft-usage"))
            return
        await _show(message, await drafts.rewrite(parts[0], parts[1], who), i18n)
    elif verb == "copy":
        await _show(message, await drafts.product_copy(rest, who), i18n)
    elif verb == "entry":
        await _show(message, await drafts.entry_from_gaps(who), i18n)
    elif verb in ("show", "approve", "discard") and rest:
        if verb == "show":
            await _show(message, await drafts.get(rest), i18n)
        else:
            await message.answer(await _decide(drafts, verb, rest, who, i18n))
    elif not verb:
        await _list(message, drafts, i18n)
    else:
        await message.answer(i18n.get("draft-usage"))


async def _list(message: Message, drafts: DraftService, i18n: TextSource) -> None:
    recent = await drafts.recent(DRAFTS_LISTED)
    lines = [
        i18n.get(
            "draft-list-line", id=d.id, kind=d.kind.value, status=d.status.value,
            about=d.entry_id or d.question or d.original,
        )[:200]
        for d in recent
    ]  # fmt: skip
    await _say(message, "\n".join([i18n.get("draft-usage"), "", *lines]))


async def _decide(
    drafts: DraftService, action: str, draft_id: str, who: str, i18n: TextSource
) -> str:
    if action == DraftAction.APPROVE:
        draft, result = await drafts.approve(draft_id, who)
        if result is None:
            return i18n.get("draft-approved-copy", id=draft.id)
        return i18n.get(
            "draft-approved", id=draft.id, entry=draft.entry_id,
            commit=describe_commit(result, i18n),
        )  # fmt: skip
    draft = await drafts.discard(draft_id, who)
    return i18n.get("draft-discarded", id=draft.id)


async def on_draft_decision(
    query: CallbackQuery, callback_data: DraftCallback, drafts: DraftService, i18n: TextSource
) -> None:
    note = await _decide(
        drafts, callback_data.action, callback_data.draft_id, author(query.from_user), i18n
    )
    await query.answer(note[:190])
    if query.message is not None:
        await query.message.answer(note)
