"""The service level: agents are reminded of tickets nobody has claimed in time.

A background task checks every ``ESCALATION__SLA_CHECK_SECONDS``; a ticket waiting longer than
``ESCALATION__SLA_MINUTES`` during business hours gets one reminder in the agents' chat. The same
pass creates the topics that could not be created when their ticket opened.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

from aiogram.exceptions import TelegramAPIError

from bot import metrics
from bot.keyboards import ticket_keyboard
from bot.services.agents_chat import customer_name
from bot.services.escalation import EscalationService
from bot.store import TicketStatus

log = logging.getLogger(__name__)


class SlaMonitor:
    """Every ``interval`` seconds, remind agents of overdue unclaimed tickets."""

    def __init__(self, escalation: EscalationService, interval: float | None = None) -> None:
        self.escalation = escalation
        self.interval = interval or escalation.settings.sla_check_seconds

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
        """Post one reminder per unclaimed ticket waiting longer than the SLA; heal missing topics;
        set the gauges of tickets waiting."""
        service = self.escalation
        agents, tickets, settings = service.agents, service.stores.tickets, service.settings
        texts = service.texts
        now = now or time.time()
        reminded: list[str] = []
        waiting = await tickets.list_open()
        metrics.set_tickets(len(waiting), sum(t.status == TicketStatus.OPEN for t in waiting))
        if agents is None:
            return reminded
        business_open = service.hours.is_open(datetime.fromtimestamp(now, UTC))
        for ticket in waiting:
            if not ticket.thread_id:
                await service.ensure_topic(ticket)  # e.g. Telegram was down
            if ticket.status != TicketStatus.OPEN or not business_open:
                continue
            waited = ticket.waiting_seconds(now)
            if waited < settings.sla_minutes * 60 or ticket.sla_reminded_at:
                continue
            if not await tickets.mark_reminded(ticket.id):
                continue
            text = texts.get(
                "agent-sla-reminder",
                ticket=ticket.id,
                customer=customer_name(texts, ticket),
                minutes=str(int(waited // 60)),
            )
            try:
                await agents.post_general(text, ticket_keyboard(texts, ticket.status, ticket.id))
            except TelegramAPIError as exc:
                log.error("SLA reminder for ticket %s not posted: %s", ticket.id, exc)
                await tickets.update(ticket.id, sla_reminded_at=None)
                continue
            reminded.append(ticket.id)
        return reminded
