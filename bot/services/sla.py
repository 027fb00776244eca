"""The service level: agents are reminded of customers waiting for a person.

A background task checks every ``ESCALATION__SLA_CHECK_SECONDS``. A customer waits while their
ticket is unclaimed, and while it is claimed but their last message has no agent's reply; each
``ESCALATION__SLA_MINUTES`` of such a wait (business hours only) brings a reminder in the agents'
chat, and from the second one on the admins are told too (``admins``: whoever the deployment says,
e.g. the accounts with the admin role and a Telegram id). The same pass creates the topics that
could not be created when their ticket opened, and sets the gauges of tickets waiting.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

from bot import metrics
from bot.keyboards import ticket_keyboard
from bot.services.agents_chat import customer_name
from bot.services.escalation import EscalationService
from bot.store import Role, Stores, Ticket, TicketStatus

log = logging.getLogger(__name__)


ADMINS_FROM = 2  # the reminder from which the admins are told as well


class SlaMonitor:
    """Every ``interval`` seconds, remind agents of customers waiting too long for a person."""

    def __init__(
        self,
        escalation: EscalationService,
        interval: float | None = None,
        admins: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.escalation = escalation
        self.interval = interval or escalation.settings.sla_check_seconds
        self.admins = admins

    async def run(self) -> None:
        while True:
            try:
                reminded = await self.remind_overdue()
                if reminded:
                    log.info("SLA reminders posted for tickets %s", ", ".join(reminded))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("SLA check failed; trying again in %ss", self.interval)
            await asyncio.sleep(self.interval)

    async def remind_overdue(self, now: float | None = None) -> list[str]:
        """Remind of each customer whose wait ran another SLA period; heal missing topics; set the
        gauges of tickets waiting. The ids of the tickets reminded of."""
        service = self.escalation
        agents, tickets = service.agents, service.stores.tickets
        now = now or time.time()
        reminded: list[str] = []
        waiting = await tickets.list_open()
        metrics.set_tickets(len(waiting), sum(t.status == TicketStatus.OPEN for t in waiting))
        if agents is None:
            return reminded
        for ticket in waiting:
            if not ticket.thread_id:
                await service.ensure_topic(ticket)  # e.g. Telegram was down
            if await self._remind(ticket, now):
                reminded.append(ticket.id)
        return reminded

    async def _remind(self, ticket: Ticket, now: float) -> bool:
        """One reminder if the customer's current wait has run another SLA period."""
        service = self.escalation
        texts, hours = service.texts, service.hours
        if ticket.status == TicketStatus.OPEN:
            since = ticket.reopened_at or ticket.created_at
        elif ticket.waiting_since is not None:
            since = ticket.waiting_since
        else:
            return False  # claimed, and the agent answered last
        last = ticket.sla_reminded_at if ticket.sla_reminders else None
        period = service.settings.sla_minutes * 60
        if hours.open_seconds(_at(max(since, last or since)), _at(now)) < period:
            return False
        if not await service.stores.tickets.mark_reminder(ticket.id, ticket.sla_reminders, now):
            return False  # another worker reminded of it just now
        minutes = str(int(hours.open_seconds(_at(since), _at(now)) // 60))
        if ticket.status == TicketStatus.OPEN:
            text = texts.get(
                "agent-sla-reminder",
                ticket=ticket.id,
                customer=customer_name(texts, ticket),
                minutes=minutes,
            )
        else:
            text = texts.get(
                "agent-sla-reply-reminder",
                ticket=ticket.id,
                customer=customer_name(texts, ticket),
                agent=ticket.claimed_by_name,
                minutes=minutes,
            )
        try:
            await service.agents.post_general(
                text, ticket_keyboard(texts, ticket.status, ticket.id)
            )
        except TelegramAPIError as exc:
            log.error("SLA reminder for ticket %s not posted: %s", ticket.id, exc)
            await service.stores.tickets.update(
                ticket.id,
                sla_reminders=ticket.sla_reminders,
                sla_reminded_at=ticket.sla_reminded_at,
            )
            return False
        if ticket.sla_reminders + 1 >= ADMINS_FROM and self.admins is not None:
            await self.admins(texts.get("agent-sla-admins", reminder=text))
        return True


def _at(moment: float) -> datetime:
    return datetime.fromtimestamp(moment, UTC)


def telegram_admins(stores: Stores, bot: Bot) -> Callable[[str], Awaitable[None]]:
    """The admins are told in a private message: every enabled admin account with a Telegram id
    (``supportbot users add NAME --role admin --telegram-id ID``)."""

    async def tell(text: str) -> None:
        for account in await stores.users.list_all():
            if account.role != Role.ADMIN or account.disabled or account.telegram_id is None:
                continue
            try:
                await bot.send_message(account.telegram_id, text)
            except TelegramAPIError as exc:
                log.warning("SLA note to admin %s not sent: %s", account.name, exc)

    return tell
