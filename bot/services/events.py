"""Domain events: what happened (answered, escalated, ticket closed, …), recorded once.

Services call an ``EventRecorder``; production records into a capped Redis stream that
analytics, metrics and audit read instead of re-deriving facts from scattered keys. An event
holds ids, entry ids, numbers and reasons only — never what a customer wrote.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any, Protocol

from redis.asyncio import Redis

from bot import metrics
from bot.store import Keys
from bot.store.streams import Append, entries_of, stream_appends, stream_id, stream_pages
from common.privacy import Customer, Cutoffs

log = logging.getLogger(__name__)

MAX_EVENTS = 100_000  # the stream is trimmed (approximately) to about this many events


class EventKind(StrEnum):
    MESSAGE_RECEIVED = "message_received"
    ANSWERED = "answered"
    CLARIFIED = (
        "clarified"  # asked back ("Did you mean …?" / rephrase); reason: why, score: buttons
    )
    ESCALATED = "escalated"
    TICKET_CLAIMED = "ticket_claimed"
    TICKET_REPLIED = "ticket_replied"
    TICKET_CLOSED = "ticket_closed"
    TICKET_REOPENED = "ticket_reopened"
    FEEDBACK = "feedback"
    RATING = "rating"
    KB_CHANGED = "kb_changed"
    THROTTLED = "throttled"  # a customer's message over the flood limit, not answered
    ABUSE_WARNED = "abuse_warned"  # abusive language: the customer was warned, then answered
    CUSTOMER_MUTED = "customer_muted"  # abusive again within the window: muted
    MUTED_MESSAGE = "muted_message"  # a muted customer's message, not answered or relayed
    CUSTOMER_UNMUTED = "customer_unmuted"  # an agent lifted a mute (``actor``)
    TICKET_ASSIGNED = "ticket_assigned"  # ``actor`` gave the ticket to ``assignee``
    # Learning from confirmed answers: ``entry_id``, ``version``; ``reason`` the
    # evidence (learned) or why (withdrawn: "downvotes", "undone", "gone"); ``score`` customers.
    PHRASING_LEARNED = "phrasing_learned"
    PHRASING_WITHDRAWN = "phrasing_withdrawn"


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """One thing that happened; unset fields do not apply to its kind."""

    kind: EventKind
    chat_id: int | None = None
    ticket_id: str | None = None
    answer_id: str | None = None
    entry_id: str | None = None
    confidence: float | None = None
    source: str | None = None  # how an answer was made (verbatim, generated, …)
    reason: str | None = None  # why a case went to a person
    is_new: bool | None = None  # escalated: a new ticket rather than the one already open
    actor: str | None = None  # the agent or operator who acted
    helpful: bool | None = None
    score: int | None = None  # rating: 1–5; clarified: how many entries were offered
    version: int | None = None  # kb_changed: the new knowledge-base version
    summary: str | None = None  # kb_changed: entry ids and counts
    message_kind: str | None = None  # message_received: text, photo, …, callback
    sentiment: float | None = None  # message_received: −1 (furious) … +1 (delighted)
    assignee: str | None = None  # ticket_assigned: the account the ticket was given to
    at: float = field(default_factory=time.time)

    def to_fields(self) -> dict[str, str]:
        """The set fields as stream field values."""
        out: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            out[f.name] = ("1" if value else "0") if isinstance(value, bool) else str(value)
        return out

    @classmethod
    def from_fields(cls, values: Mapping[str, str]) -> DomainEvent:
        known = {f.name for f in fields(cls)}
        parsed = {k: _PARSE.get(k, str)(v) for k, v in values.items() if k in known}
        return cls(**parsed)


_PARSE: dict[str, Callable[[str], Any]] = {
    "kind": EventKind,
    "chat_id": int,
    "confidence": float,
    "sentiment": float,
    "is_new": lambda v: v == "1",
    "helpful": lambda v: v == "1",
    "score": int,
    "version": int,
    "at": float,
}


class EventRecorder(Protocol):
    """Where services report what happened; recording never fails the caller."""

    async def record(self, event: DomainEvent) -> None: ...


class RedisEventLog:
    """Domain events in a capped Redis stream (``Keys.events``).

    An event names its customer by chat id only: ``/forget`` deletes that customer's events
    (``forget``), and the retention sweep trims events older than ``PRIVACY__RETENTION_DAYS``.

    Events recorded at the same time (many customers answered at once) are written together in
    one pipelined round trip, with the questions logged meanwhile (``stream_appends``,
    ``bot/store/streams.py``); ``record`` returns once its event is in the stream.
    """

    data_kind = "events"

    def __init__(self, redis: Redis, keys: Keys, *, max_events: int = MAX_EVENTS) -> None:
        self.redis, self.key, self.max_events = redis, keys.events(), max_events
        self._appends = stream_appends(redis)

    async def record(self, event: DomainEvent) -> None:
        metrics.observe(event)
        try:
            await self._appends.add(Append(self.key, event.to_fields(), self.max_events))
        except Exception as exc:  # the one place a lost event is handled: the caller goes on
            log.warning("event %s not recorded: %s", event.kind, exc)

    async def read(self, start: str = "-", count: int | None = None) -> list[DomainEvent]:
        """Events in the order they were recorded, from stream id ``start`` on."""
        entries = await self.redis.xrange(self.key, min=start, count=count)
        return [DomainEvent.from_fields(values) for _, values in entries]

    async def between(self, since: float, until: float) -> list[DomainEvent]:
        """Events recorded from ``since`` to ``until`` (seconds), read in pages; the stream's
        ids are the milliseconds at which each event was added."""
        return [
            DomainEvent.from_fields(values)
            async for entries in stream_pages(
                self.redis, self.key, stream_id(since), stream_id(until)
            )
            for _, values in entries
        ]

    async def _entries_of(self, chat_id: int) -> list[tuple[str, DomainEvent]]:
        """The stream ids and events about ``chat_id``."""
        found = await entries_of(self.redis, self.key, "chat_id", str(chat_id))
        return [(entry_id, DomainEvent.from_fields(values)) for entry_id, values in found]

    async def export(self, customer: Customer) -> list[dict[str, Any]]:
        return [event.to_fields() for _, event in await self._entries_of(customer.id)]

    async def forget(self, customer: Customer) -> int:
        ids = [entry_id for entry_id, _ in await self._entries_of(customer.id)]
        for start in range(0, len(ids), 1000):
            await self.redis.xdel(self.key, *ids[start : start + 1000])
        return len(ids)

    async def trim_before(self, cutoff: float) -> int:
        """Delete the events recorded before ``cutoff`` (a Unix time); how many went."""
        return int(await self.redis.xtrim(self.key, minid=stream_id(cutoff)))

    async def age_out(self, cutoffs: Cutoffs) -> int:
        return await self.trim_before(cutoffs.delete_before)
