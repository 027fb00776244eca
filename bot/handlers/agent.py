"""Agents in their forum supergroup: Claim / Close / Reopen buttons, /unmute, /reply (canned
replies) and replies in ticket topics.

Replies to an agent are in their language: ``i18n``, which the locale middleware injects.
"""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, Filter
from aiogram.types import CallbackQuery, Message, TelegramObject, User

from bot.handlers.filters import Inline
from bot.i18n import TextSource
from bot.keyboards import KbSuggestCallback, TicketAction, TicketCallback
from bot.services.agents_chat import display_name
from bot.services.canned import KB_PREFIX, CannedReplies
from bot.services.escalation import Actor, EscalationService
from bot.services.knowledge import KnowledgeService
from bot.services.learning import LearningService
from bot.services.moderation import ModerationService
from bot.settings import Settings
from bot.store import Ticket

log = logging.getLogger(__name__)


class InAgentsChat(Filter):
    """Updates from the configured agents' chat (ESCALATION__AGENTS_CHAT_ID)."""

    async def __call__(self, event: TelegramObject, settings: Settings) -> bool:
        chat_id = settings.escalation.agents_chat_id
        if chat_id is None:
            return False
        if isinstance(event, CallbackQuery):
            return event.message is not None and event.message.chat.id == chat_id
        return isinstance(event, Message) and event.chat.id == chat_id


def create_router() -> Router:
    """A fresh router for the agents' chat (a router can belong to one dispatcher only)."""
    router = Router(name=__name__)
    router.message.filter(InAgentsChat())
    router.callback_query.filter(InAgentsChat())
    router.callback_query.register(on_ticket_button, TicketCallback.filter())
    router.callback_query.register(on_add_to_kb, KbSuggestCallback.filter())
    router.message.register(cmd_ticket, Command(*TicketAction), Inline(F.message_thread_id))
    router.message.register(cmd_unmute, Command("unmute"), Inline(F.message_thread_id))
    router.message.register(cmd_assign, Command("assign"), Inline(F.message_thread_id))
    router.message.register(cmd_available, Command("available"))
    router.message.register(cmd_reply, Command("reply"), Inline(F.message_thread_id))
    router.message.register(relay_to_customer, Inline(F.message_thread_id))
    return router


async def actor(user: User, escalation: EscalationService) -> Actor:
    """Who acts: their console account's name when their Telegram id is linked to one."""
    return await escalation.actor(user.id, display_name(user))


async def on_ticket_button(
    query: CallbackQuery,
    callback_data: TicketCallback,
    escalation: EscalationService,
    i18n: TextSource,
) -> None:
    if not await escalation.is_agent(query.from_user.id):
        log.info("user %s (not an agent) pressed %s", query.from_user.id, callback_data.action)
        await query.answer(i18n.get("agent-not-allowed"), show_alert=True)
        return
    who, ticket_id = await actor(query.from_user, escalation), callback_data.ticket_id
    match callback_data.action:
        case TicketAction.CLAIM:
            result = await escalation.claim(ticket_id, who)
            if result.ticket is None:
                await query.answer(i18n.get("agent-unknown-ticket"), show_alert=True)
            elif result.claimed:
                await query.answer(i18n.get("agent-claimed-toast", ticket=ticket_id))
            elif not result.ticket.is_active:
                await query.answer(i18n.get("agent-ticket-closed-toast", ticket=ticket_id))
            else:
                name = result.ticket.claimed_by_name
                await query.answer(i18n.get("agent-already-claimed", agent=name), show_alert=True)
        case TicketAction.CLOSE:
            ticket, closed = await escalation.close(ticket_id, who)
            if ticket is None:
                await query.answer(i18n.get("agent-unknown-ticket"), show_alert=True)
            elif closed:
                await query.answer(i18n.get("agent-closed-toast", ticket=ticket_id))
            else:
                await query.answer(i18n.get("agent-ticket-closed-toast", ticket=ticket_id))
        case TicketAction.REOPEN:
            ticket, refusal = await escalation.reopen(ticket_id, who)
            await query.answer(refusal or None, show_alert=bool(refusal))


async def on_add_to_kb(
    query: CallbackQuery,
    callback_data: KbSuggestCallback,
    escalation: EscalationService,
    knowledge: KnowledgeService,
    i18n: TextSource,
) -> None:
    """ "Add to knowledge base": a suggestion prefilled with the customer's words and the reply."""
    if not await escalation.is_agent(query.from_user.id):
        await query.answer(i18n.get("agent-not-allowed"), show_alert=True)
        return
    suggestion = await knowledge.suggest_from_ticket(
        callback_data.ticket_id, (await actor(query.from_user, escalation)).name
    )
    if suggestion is None:
        await query.answer(i18n.get("agent-kb-no-reply"), show_alert=True)
        return
    await query.answer(
        i18n.get("agent-kb-suggested", id=suggestion.id, question=suggestion.question[:80])
    )
    if query.message is not None:
        await query.message.reply(
            i18n.get("agent-kb-suggested", id=suggestion.id, question=suggestion.question)
        )


async def _agent_in_topic(
    message: Message, escalation: EscalationService, i18n: TextSource
) -> tuple[Ticket, Actor] | None:
    """The ticket of the topic a command was sent in, and the agent who sent it; None (after
    telling a non-agent so) when it is no ticket's topic or the sender is no agent."""
    ticket = await escalation.ticket_for_thread(message.chat.id, message.message_thread_id)
    if ticket is None or message.from_user is None:
        return None
    if not await escalation.is_agent(message.from_user.id):
        await message.reply(i18n.get("agent-not-allowed"))
        return None
    return ticket, await actor(message.from_user, escalation)


async def cmd_ticket(message: Message, escalation: EscalationService, i18n: TextSource) -> None:
    """/claim, /close and /reopen typed inside a ticket's topic."""
    found = await _agent_in_topic(message, escalation, i18n)
    if found is None:
        return
    ticket, who = found
    command = (message.text or "").split()[0].lstrip("/").split("@")[0].lower()
    if command == TicketAction.CLAIM:
        result = await escalation.claim(ticket.id, who)
        if not result.claimed and result.ticket is not None and result.ticket.is_active:
            name = result.ticket.claimed_by_name
            await message.reply(i18n.get("agent-already-claimed", agent=name))
    elif command == TicketAction.CLOSE:
        _, closed = await escalation.close(ticket.id, who)
        if not closed:
            await message.reply(i18n.get("agent-ticket-closed-toast", ticket=ticket.id))
    else:
        _, refusal = await escalation.reopen(ticket.id, who)
        if refusal:
            await message.reply(refusal)


async def cmd_unmute(
    message: Message,
    escalation: EscalationService,
    moderation: ModerationService,
    i18n: TextSource,
) -> None:
    """/unmute in a ticket's topic: the customer muted for abusive language may write again."""
    found = await _agent_in_topic(message, escalation, i18n)
    if found is None:
        return
    ticket, who = found
    if not await moderation.unmute(ticket, who):
        await message.reply(i18n.get("agent-not-muted"))


async def cmd_assign(
    message: Message, command: CommandObject, escalation: EscalationService, i18n: TextSource
) -> None:
    """/assign NAME in a ticket's topic: the ticket goes to that account (a transfer when claimed)."""
    found = await _agent_in_topic(message, escalation, i18n)
    if found is None:
        return
    ticket, who = found
    _, refusal = await escalation.assign(ticket.id, command.args or "", who)
    if refusal:
        await message.reply(refusal)


async def cmd_available(
    message: Message, command: CommandObject, escalation: EscalationService, i18n: TextSource
) -> None:
    """/available on|off: whether automatic assignment may give this agent new tickets."""
    if message.from_user is None:
        return
    if not await escalation.is_agent(message.from_user.id):
        await message.reply(i18n.get("agent-not-allowed"))
        return
    choice = (command.args or "").strip().lower()
    if choice not in ("on", "off"):
        await message.reply(i18n.get("agent-available-usage"))
        return
    account = await escalation.set_available(message.from_user.id, choice == "on")
    if account is None:
        await message.reply(i18n.get("agent-available-no-account"))
    else:
        await message.reply(i18n.get(f"agent-available-{choice}", agent=account))


async def cmd_reply(
    message: Message,
    escalation: EscalationService,
    canned: CannedReplies,
    knowledge: KnowledgeService | None,
    i18n: TextSource,
    learning: LearningService | None = None,
) -> None:
    """/reply NAME (a canned reply) or /reply kb:ENTRY_ID (an FAQ answer) in a ticket's topic:
    sent to the customer as this agent's reply; /reply alone lists the canned replies. An FAQ
    answer delivered maps the customer's question to that entry: learning evidence."""
    found = await _agent_in_topic(message, escalation, i18n)
    if found is None:
        return
    ticket, who = found
    what = (message.text or "").partition(" ")[2].strip()
    if not what:
        names = ", ".join(r.name for r in await canned.list_all())
        await message.reply(i18n.get("agent-canned-list", names=names or "-"))
        return
    entry_id = None
    if what.lower().startswith(KB_PREFIX):
        entry_id = what[len(KB_PREFIX) :].strip()
        text = await canned.kb_answer(entry_id, knowledge)
    else:
        text = await canned.render(what, ticket, who.name)
    shown = i18n.get("agent-canned-sent", agent=who.name, what=what, text=text)
    delivery = await escalation.console_reply(ticket.id, who, text, shown=shown)
    if not delivery.delivered and delivery.note:
        await message.reply(delivery.note)
    # Learning: the agent mapped the customer's question to this entry.
    if delivery.delivered and entry_id and learning is not None:
        await learning.agent_answered(ticket.id, ticket.chat_id, entry_id)


async def relay_to_customer(
    message: Message, escalation: EscalationService, i18n: TextSource
) -> None:
    """Anything an agent writes in a ticket's topic (text, photo, document…) goes to the customer."""
    if message.from_user is None or message.from_user.is_bot or _is_service(message):
        return
    ticket = await escalation.ticket_for_thread(message.chat.id, message.message_thread_id)
    if ticket is None:
        return  # a topic that is not a ticket
    if not await escalation.is_agent(message.from_user.id):
        await message.reply(i18n.get("agent-not-allowed-reply"))
        return
    who = await actor(message.from_user, escalation)
    delivery = await escalation.agent_reply(ticket, who, message)
    if not delivery.delivered and delivery.note:
        await message.reply(delivery.note)


def _is_service(message: Message) -> bool:
    return bool(
        message.forum_topic_created
        or message.forum_topic_edited
        or message.forum_topic_closed
        or message.forum_topic_reopened
        or message.pinned_message
        or message.new_chat_members
        or message.left_chat_member
    )
