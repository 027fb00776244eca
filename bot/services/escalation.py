"""Human handoff: tickets in Redis, one agents' forum topic per ticket, claim / close / rate.

Everything that must survive a restart lives in Redis (tickets, transcripts, thread → ticket);
this service keeps only a short-lived cache of who is an agent. What agents teach the knowledge
base is ``KnowledgeService``'s (injected); reminders of overdue tickets are ``sla.SlaMonitor``'s.
Texts come from the injected catalog: the agents' in the default language, a customer's in the
language ``customer_texts`` chooses.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Message

from bot.i18n import Catalog, Texts, TextSource
from bot.keyboards import kb_suggest_keyboard, rating_keyboard, ticket_keyboard
from bot.services.agents_chat import TelegramAgentsChat, customer_name, reason_text, render_turn
from bot.services.answering import Escalation
from bot.services.delivery import CustomerDelivery, Delivery
from bot.services.events import DomainEvent, EventKind, EventRecorder, RedisEventLog
from bot.services.hours import BusinessHours
from bot.services.knowledge import KnowledgeService
from bot.settings import EscalationSettings
from bot.store import ClaimResult, Stores, Ticket, TicketStatus, Turn, TurnRole

log = logging.getLogger(__name__)

MEMBERSHIP_CACHE_SECONDS = 60.0
FILE_LIMIT_MB = 20  # a file sent from the console (the Bot API takes uploads up to 50 MB)
FILE_LIMIT_BYTES = FILE_LIMIT_MB * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts on a ticket: a Telegram agent (``id``) or a console user (``id`` None)."""

    id: int | None
    name: str


@dataclass(frozen=True, slots=True)
class EscalationOutcome:
    ticket: Ticket
    is_new: bool


def message_text(texts: TextSource, message: Message) -> str:
    """What a message says, for the transcript: text, caption, or its kind."""
    if message.text:
        return message.text
    kind = getattr(message.content_type, "value", message.content_type)
    if message.caption:
        return texts.get("turn-attachment-caption", kind=kind, caption=message.caption)
    return texts.get("turn-attachment", kind=kind)


class EscalationService:
    """Opens tickets, relays messages both ways, and runs claim / close / reopen / rating."""

    def __init__(
        self,
        stores: Stores,
        agents: TelegramAgentsChat | None = None,
        bot: Bot | None = None,
        settings: EscalationSettings | None = None,
        *,
        catalog: Catalog,
        knowledge: KnowledgeService | None = None,
        events: EventRecorder | None = None,
        delivery: CustomerDelivery | None = None,
    ) -> None:
        """``delivery`` reaches customers (default: through ``bot``; the terminal chat prints)."""
        self.stores = stores
        self.agents = agents
        self.catalog = catalog
        self.texts = catalog.texts()  # the agents' language: the default one
        if delivery is None and bot is not None:
            delivery = CustomerDelivery(bot, self.texts)
        self.delivery = delivery
        self.settings = settings or EscalationSettings()
        self.knowledge = knowledge
        self.events = events or RedisEventLog(stores.redis, stores.keys)
        self.hours = BusinessHours.parse(self.settings.business_hours, self.settings.timezone)
        self._membership: dict[int, tuple[float, bool]] = {}
        self._warned_no_agents_chat = False

    # ------------------------------------------------------------- customers

    async def customer_texts(self, ticket: Ticket) -> Texts:
        """The language of what the bot sends a customer outside a reply to their own update.

        The one they chose with ``/language`` (in a private chat the chat is the customer), else
        the one they were answered in when the ticket opened (their Telegram language or their
        message's script), else the default language.
        """
        chosen = self.catalog.match(await self.stores.languages.get(ticket.chat_id))
        return self.catalog.texts(chosen or self.catalog.match(ticket.locale or None))

    async def current(self, chat_id: int) -> Ticket | None:
        return await self.stores.tickets.current(chat_id)

    async def escalate(
        self, chat_id: int, customer_name: str, escalation: Escalation, *, locale: str = ""
    ) -> EscalationOutcome:
        """Open (or reuse) the customer's ticket and make sure agents see it in a topic;
        ``locale`` is the language the customer is being answered in."""
        history = escalation.transcript
        if history is None:  # not read on the way here (a button, not a message)
            history = await self.stores.conversations.history(chat_id)
        guess = escalation.best_guess
        ticket, is_new = await self.stores.tickets.open(
            chat_id,
            customer_name,
            escalation.reason.value,
            escalation.question,
            best_guess=f"{guess.entry.question} → {guess.entry.answer}" if guess else "",
            confidence=escalation.confidence if guess else None,
            transcript=history,
            locale=locale,
        )
        log.info("ticket %s (%s) for chat %s, new=%s", ticket.id, ticket.reason, chat_id, is_new)
        await self.events.record(
            DomainEvent(
                EventKind.ESCALATED,
                chat_id=chat_id,
                ticket_id=ticket.id,
                reason=escalation.reason.value,
                is_new=is_new,
                confidence=escalation.confidence if guess else None,
            )
        )
        if self.knowledge is not None and not escalation.gap_logged:
            await self.knowledge.record_escalation(escalation.question, escalation.reason)
        if is_new:
            await self.ensure_topic(ticket)
            if self.settings.auto_assign:
                ticket = await self.auto_assign(ticket)
        else:
            reason = reason_text(self.texts, escalation.reason.value)
            note = Turn(TurnRole.CUSTOMER, self.texts.get("turn-escalated", reason=reason))
            await self.stores.tickets.append_turn(ticket.id, note)
            line = render_turn(self.texts, note)
            await self._to_agents(ticket, lambda t: self.agents.post(t, line))
        return EscalationOutcome(ticket, is_new)

    async def customer_message(self, ticket: Ticket, message: Message) -> None:
        """A customer with an active ticket wrote: keep it and show it to the agents."""
        text = message_text(self.texts, message)
        await self.customer_wrote(ticket, text, message_id=message.message_id)
        if not message.text:
            await self._to_agents(
                ticket, lambda t: self.agents.copy_in(t, message.chat.id, message.message_id)
            )

    async def customer_wrote(self, ticket: Ticket, text: str, *, message_id: int = 0) -> None:
        """Keep what the customer wrote in the ticket (agents read it in the console) and, for a
        text, post it in the agents' topic."""
        meta = {"message_id": message_id} if message_id else {}
        await self.stores.tickets.append_turn(ticket.id, Turn(TurnRole.CUSTOMER, text, meta=meta))
        await self.stores.conversations.append(ticket.chat_id, Turn(TurnRole.CUSTOMER, text))
        if ticket.customer_blocked:
            await self.stores.tickets.update(ticket.id, customer_blocked=False)
            ticket.customer_blocked = False
        if ticket.status == TicketStatus.CLAIMED and ticket.waiting_since is None:
            # the customer now waits for the agent: the SLA counts from here
            ticket.waiting_since = time.time()
            await self.stores.tickets.update(ticket.id, waiting_since=ticket.waiting_since)
        name = customer_name(self.texts, ticket)
        if self.agents is not None and text:
            line = render_turn(self.texts, Turn(TurnRole.CUSTOMER, text, meta={"name": name}))
            await self._to_agents(ticket, lambda t: self.agents.post(t, line))

    def wait_notice(self, now: datetime | None = None, *, texts: TextSource | None = None) -> str:
        """Roughly when a person will answer: soon, or when the team is back.

        In ``texts``, the customer's language (default: the catalog's default language).
        """
        texts = texts or self.catalog.texts()
        now = now or datetime.now(UTC)
        back = self.hours.next_opening(now)
        if back is None:
            return texts.get("wait-soon", minutes=f"{self.settings.sla_minutes:g}")
        local_now, at = now.astimezone(self.hours.tz), f"{back:%H:%M}"
        if back.date() == local_now.date():
            when = texts.get("wait-back-today", time=at)
        elif (back.date() - local_now.date()).days == 1:
            when = texts.get("wait-back-tomorrow", time=at)
        else:
            when = texts.get("wait-back-on", day=f"{back:%A}", time=at)
        return texts.get("wait-offline", when=when, tz=self.hours.tz.key)

    async def rate(self, ticket_id: str, score: int, chat_id: int) -> Ticket | None:
        """The customer's 1–5 rating of their closed ticket (once); None if it can't be rated."""
        existing = await self.stores.tickets.get(ticket_id)
        if existing is None or existing.chat_id != chat_id:
            return None
        ticket = await self.stores.tickets.rate(ticket_id, score)
        if ticket is not None:
            await self.events.record(
                DomainEvent(EventKind.RATING, chat_id=chat_id, ticket_id=ticket.id, score=score)
            )
            await self.stores.tickets.append_turn(
                ticket.id, Turn(TurnRole.CUSTOMER, self.texts.get("turn-rated", score=score))
            )
            rated = self.texts.get("agent-rating", score=score)
            await self._to_agents(ticket, lambda t: self.agents.post(t, rated))
        return ticket

    # ------------------------------------------------------------- agents

    async def actor(self, user_id: int, display_name: str) -> Actor:
        """An agent acting in Telegram, named as their console account when their Telegram id
        is linked to one (the same person on both surfaces), else by their Telegram name."""
        account = await self.stores.users.by_telegram(user_id)
        return Actor(user_id, account.name if account is not None else display_name)

    async def is_agent(self, user_id: int) -> bool:
        """Listed in ESCALATION__AGENT_IDS, or a member of the agents' chat."""
        if user_id in self.settings.agent_ids:
            return True
        if self.agents is None:
            return False
        cached = self._membership.get(user_id)
        now = time.monotonic()
        if cached and now - cached[0] < MEMBERSHIP_CACHE_SECONDS:
            return cached[1]
        member = await self.agents.is_member(user_id)
        self._membership[user_id] = (now, member)
        return member

    async def ticket_for_thread(self, chat_id: int, thread_id: int) -> Ticket | None:
        return await self.stores.tickets.by_thread(chat_id, thread_id)

    async def claim(self, ticket_id: str, actor: Actor) -> ClaimResult:
        result = await self.stores.tickets.claim(ticket_id, actor.id, actor.name)
        if result.claimed and result.ticket is not None:
            await self.stores.tickets.wait_over(ticket_id)
            await self._ticket_event(EventKind.TICKET_CLAIMED, result.ticket, actor)
            await self._announce_claim(result.ticket, actor)
        return result

    async def assign(
        self, ticket_id: str, name: str, actor: Actor, *, announce: bool = True
    ) -> tuple[Ticket | None, str]:
        """Give the ticket to the enabled account called ``name`` (any case): claimed by them, or
        transferred when someone else had it. The second value is a refusal to show, or "";
        after a refusal nothing stored has changed. The customer hears who handles their case
        when that person changes (``announce``)."""
        account = await self.stores.users.find(name) if name.strip() else None
        if account is None or account.disabled:
            refusal = "agent-assign-unknown" if name.strip() else "agent-assign-usage"
            return await self.stores.tickets.get(ticket_id), self.texts.get(refusal, name=name)
        result = await self.stores.tickets.assign(ticket_id, account.telegram_id, account.name)
        ticket = result.ticket
        if ticket is None:
            return None, self.texts.get("agent-unknown-ticket")
        if not result.assigned:
            return ticket, self.texts.get("agent-ticket-closed-toast", ticket=ticket_id)
        await self.stores.tickets.wait_over(ticket_id)
        await self.events.record(
            DomainEvent(
                EventKind.TICKET_ASSIGNED,
                chat_id=ticket.chat_id,
                ticket_id=ticket.id,
                actor=actor.name,
                assignee=account.name,
            )
        )
        note = self.texts.get(
            "agent-assigned", ticket=ticket.id, agent=account.name, by=actor.name
        )
        await self.stores.tickets.append_turn(ticket.id, Turn(TurnRole.BOT, note))
        await self._to_agents(ticket, lambda t: self.agents.post(t, note))
        await self._to_agents(ticket, self.agents_status)
        if announce and result.previous != account.name:  # only of a new person
            customer = await self.customer_texts(ticket)
            joined = customer.get("handoff-agent-joined", agent=_first_name(account.name))
            await self._to_customer(ticket, lambda d: d.send_text(ticket.chat_id, joined))
        log.info("ticket %s assigned to %s by %s", ticket.id, account.name, actor.name)
        return ticket, ""

    async def auto_assign(self, ticket: Ticket) -> Ticket:
        """ESCALATION__AUTO_ASSIGN: a new ticket goes to the next available account in turn; with
        nobody available it stays open for anyone to claim."""
        account = await self.stores.users.next_available()
        if account is None:
            return ticket
        auto = Actor(None, self.texts.get("agent-auto-assigner"))
        assigned, _ = await self.assign(ticket.id, account.name, auto, announce=False)
        if assigned is None or not assigned.is_active:
            return ticket
        # nobody has answered yet: the customer waits for the assignee since the ticket opened
        assigned.waiting_since = assigned.created_at
        await self.stores.tickets.update(assigned.id, waiting_since=assigned.waiting_since)
        return assigned

    async def set_available(self, user_id: int, available: bool) -> str | None:
        """An agent in Telegram marks their linked account available or away; the account's
        name, or None when their Telegram id is linked to no account (nothing changed)."""
        account = await self.stores.users.by_telegram(user_id)
        if account is None:
            return None
        await self.stores.users.set_available(account.name, available)
        return account.name

    async def close(self, ticket_id: str, actor: Actor) -> tuple[Ticket | None, bool]:
        """Close the ticket, hand the customer back to the bot and ask for a rating."""
        ticket = await self.stores.tickets.get(ticket_id)
        if ticket is None:
            return None, False
        if not await self.stores.tickets.close(ticket, actor.name):
            return ticket, False
        await self._ticket_event(EventKind.TICKET_CLOSED, ticket, actor)
        await self.stores.conversations.append(
            ticket.chat_id,
            Turn(
                TurnRole.BOT,
                self.texts.get("turn-handed-back"),
                meta={"ticket_closed": ticket.id},
            ),
        )
        customer = await self.customer_texts(ticket)
        closing = customer.get("handoff-closed", ticket=ticket.id)
        rating = rating_keyboard(customer, ticket.id)
        await self.stores.tickets.append_turn(ticket.id, Turn(TurnRole.BOT, closing))
        await self._to_customer(ticket, lambda d: d.send_text(ticket.chat_id, closing, rating))
        closed = self.texts.get("agent-closed", agent=actor.name)
        await self._to_agents(ticket, lambda t: self.agents.post(t, closed))
        await self._to_agents(ticket, self.agents_status)
        log.info("ticket %s closed by %s", ticket.id, actor.name)
        return ticket, True

    async def close_for_privacy(self, ticket: Ticket) -> None:
        """The customer asked us to delete their data: close their active ticket and tell the
        agents in its topic (the customer hears from the /forget handler)."""
        if not await self.stores.tickets.close(ticket, self.texts.get("agent-closed-by-customer")):
            return
        note = self.texts.get("agent-customer-forgot", ticket=ticket.id)
        await self._to_agents(ticket, lambda t: self.agents.post(t, note))
        await self._to_agents(ticket, self.agents_status)
        log.info("ticket %s closed: its customer asked to delete their data", ticket.id)

    async def reopen(self, ticket_id: str, actor: Actor) -> tuple[Ticket | None, str]:
        """Reopen a closed ticket; the second value is a refusal to show, or ""."""
        ticket = await self.stores.tickets.reopen(ticket_id)
        if ticket is None:
            other = None
            existing = await self.stores.tickets.get(ticket_id)
            if existing is not None:
                other = await self.stores.tickets.current(existing.chat_id)
            if other is not None:
                return existing, self.texts.get("agent-reopen-refused", ticket=other.id)
            return existing, self.texts.get("agent-unknown-ticket")
        await self._ticket_event(EventKind.TICKET_REOPENED, ticket, actor)
        await self.stores.tickets.append_turn(
            ticket.id, Turn(TurnRole.BOT, self.texts.get("turn-reopened", agent=actor.name))
        )
        reopened = self.texts.get("agent-reopened", agent=actor.name)
        await self._to_agents(
            ticket,
            lambda t: self.agents.post(t, reopened, ticket_keyboard(self.texts, t.status, t.id)),
        )
        await self._to_agents(ticket, self.agents_status)
        return ticket, ""

    async def agent_reply(self, ticket: Ticket, actor: Actor, message: Message) -> Delivery:
        """An agent wrote in the ticket's topic: copy it (text, photo, document…) to the customer."""
        if not ticket.is_active:
            return Delivery(False, self.texts.get("agent-reply-to-closed"))
        if ticket.customer_blocked:
            return Delivery(False, self.texts.get("agent-customer-blocked"))
        if ticket.status == TicketStatus.OPEN:
            await self.claim(ticket.id, actor)  # the first reply claims an unclaimed ticket
        delivery = await self._to_customer(
            ticket, lambda d: d.copy(ticket.chat_id, message.chat.id, message.message_id)
        )
        if delivery.delivered:
            await self._record_agent_turn(ticket, actor, message_text(self.texts, message))
            if message.text:
                await self._offer_kb_suggestion(ticket)
        return delivery

    async def console_reply(
        self, ticket_id: str, actor: Actor, text: str, *, shown: str | None = None
    ) -> Delivery:
        """A reply typed in the web console (or a canned one, ``/reply``): sent by the bot, kept,
        and shown in the topic (as ``shown`` if given)."""
        ticket = await self.stores.tickets.get(ticket_id)
        text = text.strip()
        if ticket is None:
            return Delivery(False, self.texts.get("agent-unknown-ticket"))
        if not text:
            return Delivery(False, self.texts.get("agent-nothing-to-send"))
        if not ticket.is_active:
            return Delivery(False, self.texts.get("agent-reply-to-closed"))
        if ticket.customer_blocked:
            return Delivery(False, self.texts.get("agent-customer-blocked"))
        if ticket.status == TicketStatus.OPEN:
            await self.claim(ticket.id, actor)
        delivery = await self._to_customer(ticket, lambda d: d.send_text(ticket.chat_id, text))
        if not delivery.delivered:
            return delivery
        await self._record_agent_turn(ticket, actor, text)
        shown = shown or self.texts.get("agent-console-reply", agent=actor.name, text=text)
        await self._to_agents(ticket, lambda t: self.agents.post(t, shown))
        await self._offer_kb_suggestion(ticket)
        return Delivery(True)

    async def console_file(
        self, ticket_id: str, actor: Actor, filename: str, data: bytes, caption: str = ""
    ) -> Delivery:
        """A file (a photo or any document) sent from the web console: sent by the bot, kept in
        the transcript as "[file: NAME]", and shown in the topic."""
        ticket = await self.stores.tickets.get(ticket_id)
        caption = caption.strip()
        if ticket is None:
            return Delivery(False, self.texts.get("agent-unknown-ticket"))
        if not data:
            return Delivery(False, self.texts.get("agent-file-empty"))
        if len(data) > FILE_LIMIT_BYTES:
            return Delivery(False, self.texts.get("agent-file-too-big", limit=str(FILE_LIMIT_MB)))
        if not ticket.is_active:
            return Delivery(False, self.texts.get("agent-reply-to-closed"))
        if ticket.customer_blocked:
            return Delivery(False, self.texts.get("agent-customer-blocked"))
        if ticket.status == TicketStatus.OPEN:
            await self.claim(ticket.id, actor)
        delivery = await self._to_customer(
            ticket, lambda d: d.send_file(ticket.chat_id, filename, data, caption)
        )
        if not delivery.delivered:
            return delivery
        if caption:
            turn = self.texts.get("turn-agent-file-caption", name=filename, caption=caption)
        else:
            turn = self.texts.get("turn-agent-file", name=filename)
        await self._record_agent_turn(ticket, actor, turn)
        shown = self.texts.get("agent-console-file", agent=actor.name, name=filename)
        await self._to_agents(ticket, lambda t: self.agents.post(t, shown))
        return Delivery(True)

    async def ensure_topic(self, ticket: Ticket) -> bool:
        """The ticket's topic in the agents' chat, created if missing; False if that failed."""
        return await self._to_agents(ticket, lambda t: self.agents.ensure_topic(t))

    # ------------------------------------------------------------- internals

    async def _offer_kb_suggestion(self, ticket: Ticket) -> None:
        """After the first agent reply in a ticket, offer "Add to knowledge base" in its topic."""
        if self.agents is None or self.knowledge is None:
            return
        if not await self.knowledge.offer_once(ticket.id):
            return
        offer = self.texts.get("agent-kb-offer")
        await self._to_agents(
            ticket,
            lambda t: self.agents.post(t, offer, kb_suggest_keyboard(self.texts, t.id)),
        )

    async def _ticket_event(self, kind: EventKind, ticket: Ticket, actor: Actor) -> None:
        await self.events.record(
            DomainEvent(kind, chat_id=ticket.chat_id, ticket_id=ticket.id, actor=actor.name)
        )

    async def agents_status(self, ticket: Ticket) -> None:
        await self.agents.show_status(ticket)

    async def _announce_claim(self, ticket: Ticket, actor: Actor) -> None:
        await self.stores.tickets.append_turn(
            ticket.id, Turn(TurnRole.BOT, self.texts.get("turn-claimed", agent=actor.name))
        )
        claimed = self.texts.get("agent-claimed", agent=actor.name)
        await self._to_agents(ticket, lambda t: self.agents.post(t, claimed))
        await self._to_agents(ticket, self.agents_status)
        customer = await self.customer_texts(ticket)
        joined = customer.get("handoff-agent-joined", agent=_first_name(actor.name))
        await self._to_customer(ticket, lambda d: d.send_text(ticket.chat_id, joined))

    async def _record_agent_turn(self, ticket: Ticket, actor: Actor, text: str) -> None:
        """A reply that reached the customer: kept in the ticket and the conversation."""
        turn = Turn(TurnRole.AGENT, text, meta={"name": actor.name})
        await self.stores.tickets.append_turn(ticket.id, turn)
        await self.stores.conversations.append(ticket.chat_id, turn)
        await self.stores.tickets.wait_over(ticket.id)
        await self._ticket_event(EventKind.TICKET_REPLIED, ticket, actor)

    async def note_to_agents(self, ticket: Ticket, text: str) -> bool:
        """A note from the bot in the ticket's topic (e.g. the customer was muted)."""
        return await self._to_agents(ticket, lambda t: self.agents.post(t, text))

    async def tell_customer(self, ticket: Ticket, key: str, **args: object) -> Delivery:
        """A catalog text to the ticket's customer, in their language."""
        text = (await self.customer_texts(ticket)).get(key, **args)
        return await self._to_customer(ticket, lambda d: d.send_text(ticket.chat_id, text))

    async def _to_agents(
        self, ticket: Ticket, action: Callable[[Ticket], Awaitable[object]]
    ) -> bool:
        """Run something in the agents' chat; failures are logged (the transcript keeps all)."""
        if self.agents is None:
            if not self._warned_no_agents_chat:  # once: agents may work in the console only
                self._warned_no_agents_chat = True
                log.warning(
                    "no agents' chat configured (ESCALATION__AGENTS_CHAT_ID): tickets are in the "
                    "console only (first: ticket %s)",
                    ticket.id,
                )
            return False
        try:
            await action(ticket)
        except TelegramAPIError as exc:
            log.error("ticket %s: agents' chat failed: %s", ticket.id, exc)
            return False
        return True

    async def _to_customer(
        self, ticket: Ticket, send: Callable[[CustomerDelivery], Awaitable[Delivery]]
    ) -> Delivery:
        """Send to the customer; if they blocked the bot, mark the ticket and tell agents."""
        if self.delivery is None:
            return Delivery(False, self.texts.get("agent-no-bot"))
        delivery = await send(self.delivery)
        if delivery.blocked and not ticket.customer_blocked:
            log.warning("ticket %s: the customer has blocked the bot", ticket.id)
            ticket.customer_blocked = True
            await self.stores.tickets.update(ticket.id, customer_blocked=True)
            await self.stores.tickets.append_turn(
                ticket.id, Turn(TurnRole.BOT, self.texts.get("turn-customer-blocked"))
            )
            blocked = self.texts.get("agent-customer-blocked")
            await self._to_agents(ticket, lambda t: self.agents.post(t, blocked))
        return delivery


def _first_name(name: str) -> str:
    """How the customer is told who joined: the first word of the agent's name."""
    return (name.split(" (")[0].split() or [name])[0]
