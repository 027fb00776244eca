"""Customers' data respected: ``/mydata`` exports it, ``/forget`` deletes it, a sweep ages it out.

Every store that keeps a customer's words or identity implements ``common.privacy.PersonalData``
and is listed once, in ``bot/app.py``'s ``personal_data``; this service runs them all. The sweep
(``run``, in every bot worker; ``supportbot privacy sweep`` by hand) masks closed tickets'
transcripts after ``PRIVACY__TRANSCRIPT_DAYS`` and deletes what is older than
``PRIVACY__RETENTION_DAYS``; keys with their own expiry (conversations, answers, votes, language,
counters) need no sweep. Every step is idempotent and one worker at a time runs it (a Redis lock).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.settings import PrivacySettings
from bot.store import Stores, Ticket, TurnRole
from common.privacy import AgesOut, Customer, Cutoffs, PersonalData

log = logging.getLogger(__name__)

DAY_S = 24 * 3600
FORGET_CONFIRM_S = 10 * 60  # how long /forget's buttons wait for an answer

# Kept of every message anyone sends (events, flood counters, the inbox): on their own they
# are a record that someone wrote (the /mydata command itself makes one), not what /mydata and
# /forget report as "kept about you".
INCIDENTAL = frozenset({"events", "throttling", "received_updates"})
# The events that are such a record; any other event (answered, escalated…) is the customer's.
INCIDENTAL_EVENTS = frozenset({"message_received", "throttled"})


def substantive(kind: str, found: Any) -> bool:
    """Whether what a store found is more than the record of the customer's recent messages."""
    if kind == "events":
        return any(event.get("kind") not in INCIDENTAL_EVENTS for event in found)
    return kind not in INCIDENTAL


@dataclass(frozen=True, slots=True)
class Forgotten:
    """What ``/forget`` removed: items per kind of data (only kinds that had some)."""

    removed: dict[str, int]
    closed_ticket: str | None = None

    @property
    def reported(self) -> dict[str, int]:
        """What to tell the customer was deleted: all but the records of their messages."""
        return {kind: n for kind, n in self.removed.items() if kind not in INCIDENTAL}


@dataclass
class PrivacyService:
    """Export, forget and sweep over every registered ``PersonalData`` store.

    ``close_ticket`` (the escalation service's) closes a customer's active ticket with a note to
    the agents before their data goes; without it (the command line) the ticket just goes.
    """

    stores: Stores
    registry: Sequence[PersonalData]
    settings: PrivacySettings = field(default_factory=PrivacySettings)
    close_ticket: Callable[[Ticket], Awaitable[object]] | None = None

    # ------------------------------------------------------------------ customers

    async def customer(self, customer_id: int) -> Customer:
        """The customer with their words and ticket ids, read from the stores that keep both."""
        words: list[str] = []
        for turn in await self.stores.conversations.history(customer_id):
            if turn.role == TurnRole.CUSTOMER:
                words.append(turn.text)
        for record, _ in await self.stores.answers.of_chat(customer_id):
            words.append(record.question)
        tickets = await self.stores.tickets.ids_of(customer_id)
        for ticket_id in tickets:
            ticket = await self.stores.tickets.get(ticket_id)
            if ticket is not None:
                words.append(ticket.question)
            for turn in await self.stores.tickets.transcript(ticket_id):
                if turn.role == TurnRole.CUSTOMER:
                    words.append(turn.text)
        kept = tuple(dict.fromkeys(w for w in words if w.strip()))
        return Customer(customer_id, kept, tuple(tickets))

    async def export(self, customer_id: int) -> dict[str, Any] | None:
        """Everything kept about the customer by kind; None when nothing is but the record of
        their recent messages (``substantive``)."""
        customer = await self.customer(customer_id)
        data: dict[str, Any] = {}
        for store in self.registry:
            found = await store.export(customer)
            if found:
                data[store.data_kind] = found
        if not any(substantive(kind, found) for kind, found in data.items()):
            return None
        return {"customer_id": customer_id, "exported_at": time.time(), "data": data}

    @staticmethod
    def to_json(export: dict[str, Any]) -> bytes:
        return json.dumps(export, ensure_ascii=False, indent=2, default=str).encode()

    async def ask_to_forget(self, customer_id: int) -> str:
        """A token for /forget's confirmation buttons; a newer /forget replaces an older one."""
        token = secrets.token_hex(4)
        key = self.stores.keys.forget_request(customer_id)
        await self.stores.redis.set(key, token, ex=FORGET_CONFIRM_S)
        return token

    async def answer_request(self, customer_id: int, token: str) -> bool:
        """True once for the latest /forget's buttons (confirm or cancel); False when it was
        answered already, replaced or expired."""
        key = self.stores.keys.forget_request(customer_id)
        # Compare and delete in one step: two presses at once answer it once.
        script = (
            "if redis.call('GET', KEYS[1]) == ARGV[1] then "
            "return redis.call('DEL', KEYS[1]) else return 0 end"
        )
        return bool(await self.stores.redis.eval(script, 1, key, token))

    async def forget(self, customer_id: int) -> Forgotten:
        """Close the customer's active ticket (agents get a note), then delete or mask
        everything every store keeps about them."""
        closed = None
        ticket = await self.stores.tickets.current(customer_id)
        if ticket is not None and self.close_ticket is not None:
            await self.close_ticket(ticket)
            closed = ticket.id
        customer = await self.customer(customer_id)
        removed: dict[str, int] = {}
        for store in self.registry:
            count = await store.forget(customer)
            if count:
                removed[store.data_kind] = count
        log.info("customer data forgotten on request: %s", removed)  # kinds and counts only
        return Forgotten(removed, closed)

    # ------------------------------------------------------------------ retention

    async def sweep(self, now: float | None = None) -> dict[str, int]:
        """Mask and delete what is older than the settings allow (``now``: a Unix time, for
        tests and for a sweep run by hand); how many records changed, per kind."""
        now = time.time() if now is None else now
        cutoffs = Cutoffs(
            mask_before=now - self.settings.transcript_days * DAY_S,
            delete_before=now - self.settings.retention_days * DAY_S,
            handled_before=now - self.settings.inbox_hours * 3600,
        )
        changed: dict[str, int] = {}
        for store in self.registry:
            if isinstance(store, AgesOut):
                changed[store.data_kind] = await store.age_out(cutoffs)
        return changed

    async def sweep_once(self, now: float | None = None) -> dict[str, int] | None:
        """``sweep``, unless another worker swept within the interval (then None)."""
        lock = self.stores.keys.privacy_sweep()
        hold = max(1, int(self.settings.sweep_every_s * 0.9))
        if not await self.stores.redis.set(lock, "1", nx=True, ex=hold):
            return None
        return await self.sweep(now)

    async def run(self) -> None:
        """Sweep every ``PRIVACY__SWEEP_EVERY_S`` in the background (any worker; one at a time)."""
        interval = self.settings.sweep_every_s
        while True:
            try:
                changed = await self.sweep_once()
                if changed and any(changed.values()):
                    log.info("retention sweep: %s", changed)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("retention sweep failed; trying again in %ss", interval)
            await asyncio.sleep(interval)
