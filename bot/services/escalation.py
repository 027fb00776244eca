"""Handing a case to human agents: a ticket in Redis and the transcript in the agents' chat."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.services.answering import Escalation
from bot.store import Stores, Ticket, Turn

log = logging.getLogger(__name__)


class AgentNotifier(Protocol):
    """Where new tickets are announced to agents (the Telegram agents' chat, a console…)."""

    async def new_ticket(
        self, ticket: Ticket, transcript: Sequence[Turn], escalation: Escalation
    ) -> int | None: ...

    async def customer_message(self, ticket: Ticket, text: str) -> None: ...


@dataclass(frozen=True, slots=True)
class EscalationOutcome:
    ticket: Ticket
    is_new: bool


class EscalationService:
    def __init__(self, stores: Stores, notifier: AgentNotifier | None) -> None:
        self.stores = stores
        self.notifier = notifier

    async def escalate(
        self, chat_id: int, customer_name: str, escalation: Escalation
    ) -> EscalationOutcome:
        """Open (or reuse) the customer's ticket and make sure agents hear about it."""
        ticket, is_new = await self.stores.tickets.open(
            chat_id, customer_name, escalation.reason.value, escalation.question
        )
        transcript = await self.stores.conversations.history(chat_id)
        if self.notifier is None:
            log.warning("ticket %s opened but no agents' chat is configured", ticket.id)
        elif is_new:
            message_id = await self.notifier.new_ticket(ticket, transcript, escalation)
            if message_id is not None:
                await self.stores.tickets.update(ticket.id, agents_message_id=message_id)
                ticket.agents_message_id = message_id
        else:
            await self.notifier.customer_message(ticket, escalation.question)
        log.info("ticket %s (%s) for chat %s, new=%s", ticket.id, ticket.reason, chat_id, is_new)
        return EscalationOutcome(ticket, is_new)
