"""Abusive language from customers: a calm warning, then a mute that agents can lift.

The first abusive message in a window (``MODERATION__WINDOW_MINUTES``, up to
``MODERATION__WARNINGS`` of them) gets a warning and is answered as usual: an angry customer
with a real problem is still helped. The next one mutes the customer for
``MODERATION__MUTE_MINUTES``: one notice saying until when, a note in their ticket's topic if one
is open, and their messages are neither answered nor relayed until it ends or an agent lifts it
(``/unmute`` in the topic, the console's button). State lives in Redis
(``ModerationRepository``), shared by every worker; events say what happened, never the words.

What the customer reads is rendered by the middleware (``bot/middlewares/moderation.py``) in
their language; this service decides.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.i18n import TextSource
from bot.services.events import DomainEvent, EventKind, EventRecorder
from bot.settings import ModerationSettings
from bot.store import ModerationRepository, Ticket

if TYPE_CHECKING:
    from bot.services.escalation import Actor, EscalationService
    from common.moderation import AbuseDetector

log = logging.getLogger(__name__)

INLINE_CHARS = 200  # longer texts are checked on a thread


class Verdict(StrEnum):
    CLEAN = "clean"  # handled as usual
    WARNED = "warned"  # abusive: warn, then handle as usual
    MUTED = "muted"  # abusive again: muted from now on; tell them until when, once
    SILENCED = "silenced"  # already muted: not handled, nothing said


@dataclass(frozen=True, slots=True)
class Moderation:
    verdict: Verdict
    until: float | None = None  # MUTED: epoch seconds
    # Whether the text is abusive, when it was checked (None: no detector, no text, or muted);
    # the middleware hands it to the answer path so that the text is not checked twice.
    abusive: bool | None = None


class ModerationService:
    """Decides what becomes of a customer's message, and lifts mutes for agents.

    ``detector`` is needed by ``check`` only (the console, which only lifts mutes, has none);
    ``escalation`` reaches the customer's ticket topic and the customer.
    """

    def __init__(
        self,
        store: ModerationRepository,
        events: EventRecorder,
        settings: ModerationSettings,
        escalation: EscalationService | None = None,
        *,
        detector: AbuseDetector | None = None,
    ) -> None:
        self.store, self.events, self.settings = store, events, settings
        self.escalation = escalation
        self.detector = detector

    @property
    def timezone(self) -> ZoneInfo | type[UTC]:
        """Where "until 14:35" is read: the team's time zone (``ESCALATION__TIMEZONE``)."""
        return self.escalation.hours.tz if self.escalation is not None else UTC

    def until_args(self, until: float) -> dict[str, str]:
        """``time`` and ``tz`` of a mute's end, for the texts."""
        tz = self.timezone
        return {
            "time": f"{datetime.fromtimestamp(until, tz):%H:%M}",
            "tz": getattr(tz, "key", "UTC"),
            "minutes": f"{self.settings.mute_minutes:g}",
        }

    async def check(self, chat_id: int, text: str | None) -> Moderation:
        """What becomes of a customer's message (its text or caption)."""
        if await self.store.muted_until(chat_id) is not None:
            await self.events.record(DomainEvent(EventKind.MUTED_MESSAGE, chat_id=chat_id))
            return Moderation(Verdict.SILENCED)
        if self.detector is None or not text:
            return Moderation(Verdict.CLEAN)
        if not await self._abusive(text):
            return Moderation(Verdict.CLEAN, abusive=False)
        window_s = round(self.settings.window_minutes * 60)
        if await self.store.strike(chat_id, window_s) <= self.settings.warnings:
            await self.events.record(DomainEvent(EventKind.ABUSE_WARNED, chat_id=chat_id))
            return Moderation(Verdict.WARNED, abusive=True)
        mute_s = round(self.settings.mute_minutes * 60)
        until = float(round(time.time() + mute_s))  # whole seconds, as stored: one time said
        if not await self.store.mute(chat_id, until, mute_s):  # another worker just did
            await self.events.record(DomainEvent(EventKind.MUTED_MESSAGE, chat_id=chat_id))
            return Moderation(Verdict.SILENCED)
        await self.events.record(DomainEvent(EventKind.CUSTOMER_MUTED, chat_id=chat_id))
        log.info("customer %s muted for abusive language until %.0f", chat_id, until)
        await self._tell_agents(chat_id, until)
        return Moderation(Verdict.MUTED, until)

    async def _abusive(self, text: str) -> bool:
        """A few hundred µs for a question (checked here); a long text costs about 4 µs a
        character (2.6 ms for 600), so it is checked on a thread and the loop serves other chats
        meanwhile (benchmarks/moderation.py)."""
        assert self.detector is not None
        if len(text) <= INLINE_CHARS:
            return self.detector.is_abusive(text)
        return await asyncio.to_thread(self.detector.is_abusive, text)

    async def _tell_agents(self, chat_id: int, until: float) -> None:
        """One note in the topic of the customer's open ticket, if they have one."""
        if self.escalation is None:
            return
        ticket = await self.escalation.current(chat_id)
        if ticket is not None:
            texts: TextSource = self.escalation.texts
            note = texts.get("agent-customer-muted", **self.until_args(until))
            await self.escalation.note_to_agents(ticket, note)

    async def unmute(self, ticket: Ticket, actor: Actor) -> bool:
        """Lift the mute of the ticket's customer; False if they are not muted.

        The customer hears they can write again; the ticket's topic says who lifted it.
        """
        if not await self.store.unmute(ticket.chat_id):
            return False
        await self.events.record(
            DomainEvent(
                EventKind.CUSTOMER_UNMUTED,
                chat_id=ticket.chat_id,
                ticket_id=ticket.id,
                actor=actor.name,
            )
        )
        if self.escalation is not None:
            await self.escalation.tell_customer(ticket, "moderation-unmuted")
            note = self.escalation.texts.get("agent-unmuted", agent=actor.name)
            await self.escalation.note_to_agents(ticket, note)
        return True

    async def muted_until(self, chat_id: int) -> float | None:
        return await self.store.muted_until(chat_id)
