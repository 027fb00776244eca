"""Tickets: a customer's case handed to human agents, at most one active per customer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.store.conversations import Turn
from bot.store.keys import Keys
from common.pii import mask as mask_personal_data
from common.privacy import Customer, Cutoffs


class TicketStatus(StrEnum):
    """Where a ticket is (stored as the plain string)."""

    OPEN = "open"
    CLAIMED = "claimed"
    CLOSED = "closed"


@dataclass(slots=True)
class Ticket:
    """A customer's case handed to human agents (status: open → claimed → closed, reopenable)."""

    id: str
    chat_id: int
    customer_name: str
    status: TicketStatus
    reason: str
    question: str
    created_at: float
    claimed_by: int | None = None
    claimed_by_name: str = ""
    claimed_at: float | None = None
    closed_at: float | None = None
    closed_by_name: str = ""
    agents_message_id: int | None = None
    thread_id: int | None = None
    best_guess: str = ""
    confidence: float | None = None
    customer_blocked: bool = False
    sla_reminded_at: float | None = None  # the last reminder of the current wait
    sla_reminders: int = 0  # reminders of the current wait (unclaimed, or a customer unanswered)
    waiting_since: float | None = None  # claimed: the customer's first message no agent answered
    rating: int | None = None
    reopened_at: float | None = None
    locale: str = ""  # the language the customer was answered in when the ticket opened

    def __post_init__(self) -> None:
        self.status = TicketStatus(self.status)

    @property
    def is_active(self) -> bool:
        return self.status != TicketStatus.CLOSED

    def waiting_seconds(self, now: float | None = None) -> float:
        """How long the customer has waited for a person (until claimed or closed)."""
        end = self.claimed_at or self.closed_at or (now if now is not None else time.time())
        start = self.reopened_at or self.created_at
        return max(0.0, end - start)

    @classmethod
    def from_hash(cls, data: dict[str, str]) -> Ticket:
        def opt_int(name: str) -> int | None:
            return int(data[name]) if data.get(name) else None

        def opt_float(name: str) -> float | None:
            return float(data[name]) if data.get(name) else None

        return cls(
            id=data["id"],
            chat_id=int(data["chat_id"]),
            customer_name=data.get("customer_name", ""),
            status=TicketStatus(data["status"]),
            reason=data.get("reason", ""),
            question=data.get("question", ""),
            created_at=float(data["created_at"]),
            claimed_by=opt_int("claimed_by"),
            claimed_by_name=data.get("claimed_by_name", ""),
            claimed_at=opt_float("claimed_at"),
            closed_at=opt_float("closed_at"),
            closed_by_name=data.get("closed_by_name", ""),
            agents_message_id=opt_int("agents_message_id"),
            thread_id=opt_int("thread_id"),
            best_guess=data.get("best_guess", ""),
            confidence=opt_float("confidence"),
            customer_blocked=data.get("customer_blocked") == "1",
            sla_reminded_at=opt_float("sla_reminded_at"),
            sla_reminders=int(data.get("sla_reminders") or 0),
            waiting_since=opt_float("waiting_since"),
            rating=opt_int("rating"),
            reopened_at=opt_float("reopened_at"),
            locale=data.get("locale", ""),
        )

    def to_hash(self) -> dict[str, str]:
        return {k: _hash_value(v) for k, v in asdict(self).items()}


def _hash_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else ""
    return str(value)


@dataclass(frozen=True, slots=True)
class ClaimResult:
    """What pressing Claim did: ``claimed`` is True only for the agent who got the ticket."""

    ticket: Ticket | None
    claimed: bool


@dataclass(frozen=True, slots=True)
class AssignResult:
    """What an assignment did: ``assigned`` is False for an unknown or closed ticket;
    ``previous`` is who had the ticket before ("" when nobody)."""

    ticket: Ticket | None
    assigned: bool
    previous: str = ""


class TicketRepository:
    """Tickets with at most one active ticket per customer, also under concurrent messages.

    Each ticket is a hash plus a transcript list; ``open-ticket:<chat>`` points at the customer's
    active ticket and is only ever changed inside WATCH/MULTI transactions (redis-py's
    ``transaction``, which reruns a step when a watched key changed before it committed), so two
    messages arriving at the same moment (in one process or several) open one ticket, not two.
    """

    data_kind = "tickets"

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis, self.keys = redis, keys

    async def open(
        self,
        chat_id: int,
        customer_name: str,
        reason: str,
        question: str,
        *,
        best_guess: str = "",
        confidence: float | None = None,
        transcript: Sequence[Turn] = (),
        locale: str = "",
    ) -> tuple[Ticket, bool]:
        """The customer's active ticket, creating it if there is none; the flag says it is new."""
        pointer = self.keys.open_ticket(chat_id)
        new_id: str | None = None  # allocated once, kept when the step is rerun

        async def open_or_join(pipe: Pipeline) -> tuple[Ticket, bool]:
            nonlocal new_id
            current_id = await pipe.get(pointer)
            if current_id:
                data = await pipe.hgetall(self.keys.ticket(current_id))
                if data and data.get("status") != TicketStatus.CLOSED:
                    await pipe.unwatch()
                    return Ticket.from_hash(data), False
            if new_id is None:
                new_id = str(await self.redis.incr(self.keys.ticket_seq()))
            ticket = Ticket(
                id=new_id,
                chat_id=chat_id,
                customer_name=customer_name,
                status=TicketStatus.OPEN,
                reason=reason,
                question=question,
                created_at=time.time(),
                best_guess=best_guess,
                confidence=confidence,
                locale=locale,
            )
            pipe.multi()
            pipe.hset(self.keys.ticket(ticket.id), mapping=ticket.to_hash())
            pipe.set(pointer, ticket.id)
            pipe.sadd(self.keys.chat_tickets(chat_id), ticket.id)
            pipe.zadd(self.keys.open_tickets(), {ticket.id: ticket.created_at})
            pipe.delete(self.keys.ticket_transcript(ticket.id))
            for turn in transcript:
                pipe.rpush(self.keys.ticket_transcript(ticket.id), turn.to_json())
            return ticket, True

        return await self.redis.transaction(open_or_join, pointer, value_from_callable=True)

    async def get(self, ticket_id: str) -> Ticket | None:
        data = await self.redis.hgetall(self.keys.ticket(ticket_id))
        return Ticket.from_hash(data) if data else None

    async def current(self, chat_id: int) -> Ticket | None:
        """The customer's ticket that is not closed, if any."""
        ticket_id = await self.redis.get(self.keys.open_ticket(chat_id))
        if not ticket_id:
            return None
        ticket = await self.get(ticket_id)
        return ticket if ticket and ticket.is_active else None

    async def update(self, ticket_id: str, **fields: Any) -> None:
        values = {k: _hash_value(v) for k, v in fields.items()}
        await self.redis.hset(self.keys.ticket(ticket_id), mapping=values)

    async def claim(self, ticket_id: str, agent_id: int | None, agent_name: str) -> ClaimResult:
        """Give an open ticket to one agent; a second claim (or a closed ticket) changes nothing."""
        key = self.keys.ticket(ticket_id)

        async def claim_open(pipe: Pipeline) -> ClaimResult:
            data = await pipe.hgetall(key)
            if not data:
                await pipe.unwatch()
                return ClaimResult(None, False)
            ticket = Ticket.from_hash(data)
            if ticket.status != TicketStatus.OPEN:
                await pipe.unwatch()
                return ClaimResult(ticket, False)
            ticket.status = TicketStatus.CLAIMED
            ticket.claimed_by, ticket.claimed_by_name = agent_id, agent_name
            ticket.claimed_at = time.time()
            pipe.multi()
            pipe.hset(
                key,
                mapping={
                    "status": ticket.status,
                    "claimed_by": _hash_value(agent_id),
                    "claimed_by_name": agent_name,
                    "claimed_at": _hash_value(ticket.claimed_at),
                },
            )
            return ClaimResult(ticket, True)

        return await self.redis.transaction(claim_open, key, value_from_callable=True)

    async def assign(self, ticket_id: str, agent_id: int | None, agent_name: str) -> AssignResult:
        """Give an active ticket to a named agent, whoever held it (a transfer when claimed);
        an unknown or closed ticket stays as it was."""
        key = self.keys.ticket(ticket_id)

        async def assign_active(pipe: Pipeline) -> AssignResult:
            data = await pipe.hgetall(key)
            if not data:
                await pipe.unwatch()
                return AssignResult(None, False)
            ticket = Ticket.from_hash(data)
            if not ticket.is_active:
                await pipe.unwatch()
                return AssignResult(ticket, False)
            previous = ticket.claimed_by_name
            ticket.status = TicketStatus.CLAIMED
            ticket.claimed_by, ticket.claimed_by_name = agent_id, agent_name
            ticket.claimed_at = time.time()
            pipe.multi()
            pipe.hset(
                key,
                mapping={
                    "status": ticket.status,
                    "claimed_by": _hash_value(agent_id),
                    "claimed_by_name": agent_name,
                    "claimed_at": _hash_value(ticket.claimed_at),
                },
            )
            return AssignResult(ticket, True, previous)

        return await self.redis.transaction(assign_active, key, value_from_callable=True)

    async def close(self, ticket: Ticket, closed_by: str = "") -> bool:
        """Close an active ticket; False when it was already closed (nothing changes)."""
        key = self.keys.ticket(ticket.id)
        pointer = self.keys.open_ticket(ticket.chat_id)

        async def close_active(pipe: Pipeline) -> float | None:
            if await pipe.hget(key, "status") in (None, TicketStatus.CLOSED):
                await pipe.unwatch()
                return None
            points_here = await pipe.get(pointer) == ticket.id
            now = time.time()
            pipe.multi()
            pipe.hset(
                key,
                mapping={
                    "status": TicketStatus.CLOSED,
                    "closed_at": str(now),
                    "closed_by_name": closed_by,
                },
            )
            pipe.zrem(self.keys.open_tickets(), ticket.id)
            if points_here:
                pipe.delete(pointer)
            return now

        closed_at = await self.redis.transaction(
            close_active, key, pointer, value_from_callable=True
        )
        if closed_at is None:
            return False
        ticket.status, ticket.closed_at, ticket.closed_by_name = (
            TicketStatus.CLOSED,
            closed_at,
            closed_by,
        )
        return True

    async def reopen(self, ticket_id: str) -> Ticket | None:
        """Make a closed ticket active again, unless the customer already has another one."""
        key = self.keys.ticket(ticket_id)

        async def reopen_closed(pipe: Pipeline) -> Ticket | None:
            data = await pipe.hgetall(key)
            if not data:
                await pipe.unwatch()
                return None
            ticket = Ticket.from_hash(data)
            pointer = self.keys.open_ticket(ticket.chat_id)
            await pipe.watch(pointer)
            current_id = await pipe.get(pointer)
            if current_id and current_id != ticket.id:
                other = await pipe.hget(self.keys.ticket(current_id), "status")
                if other and other != TicketStatus.CLOSED:
                    await pipe.unwatch()
                    return None
            if ticket.is_active:
                await pipe.unwatch()
                return ticket
            now = time.time()
            ticket.status, ticket.reopened_at = TicketStatus.OPEN, now
            ticket.claimed_by, ticket.claimed_by_name, ticket.claimed_at = None, "", None
            ticket.closed_at, ticket.closed_by_name = None, ""
            ticket.sla_reminded_at, ticket.rating = None, None
            ticket.sla_reminders, ticket.waiting_since = 0, None
            pipe.multi()
            pipe.hset(key, mapping=ticket.to_hash())
            pipe.set(pointer, ticket.id)
            pipe.zadd(self.keys.open_tickets(), {ticket.id: now})
            return ticket

        return await self.redis.transaction(reopen_closed, key, value_from_callable=True)

    async def list_open(self) -> list[Ticket]:
        """Active tickets (open or claimed), the longest-waiting first."""
        ids = await self.redis.zrange(self.keys.open_tickets(), 0, -1)
        if not ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:  # one round trip for all
            for ticket_id in ids:
                pipe.hgetall(self.keys.ticket(ticket_id))
            rows = await pipe.execute()
        tickets = [Ticket.from_hash(data) for data in rows if data]
        return [t for t in tickets if t.is_active]

    async def append_turn(self, ticket_id: str, turn: Turn) -> None:
        await self.redis.rpush(self.keys.ticket_transcript(ticket_id), turn.to_json())

    async def transcript(self, ticket_id: str) -> list[Turn]:
        raw = await self.redis.lrange(self.keys.ticket_transcript(ticket_id), 0, -1)
        return [Turn.from_json(item) for item in raw]

    async def bind_thread(self, ticket: Ticket, chat_id: int, thread_id: int) -> None:
        """Remember the ticket's forum topic, both ways."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.ticket(ticket.id), "thread_id", str(thread_id))
            pipe.hset(self.keys.thread_tickets(), f"{chat_id}:{thread_id}", ticket.id)
            await pipe.execute()
        ticket.thread_id = thread_id

    async def by_thread(self, chat_id: int, thread_id: int) -> Ticket | None:
        ticket_id = await self.redis.hget(self.keys.thread_tickets(), f"{chat_id}:{thread_id}")
        return await self.get(ticket_id) if ticket_id else None

    async def mark_reminder(self, ticket_id: str, seen: int, now: float | None = None) -> bool:
        """Count one more reminder of the ticket's current wait if it still has ``seen``: True
        for exactly one process when several check the same ticket at once."""
        key = self.keys.ticket(ticket_id)

        async def count_once(pipe: Pipeline) -> bool:
            if int(await pipe.hget(key, "sla_reminders") or 0) != seen:
                await pipe.unwatch()
                return False
            pipe.multi()
            pipe.hset(
                key,
                mapping={
                    "sla_reminders": str(seen + 1),
                    "sla_reminded_at": str(now or time.time()),
                },
            )
            return True

        return await self.redis.transaction(count_once, key, value_from_callable=True)

    async def wait_over(self, ticket_id: str) -> None:
        """The customer's wait ended (claimed, or an agent answered): reminders start again."""
        await self.update(ticket_id, sla_reminders=0, sla_reminded_at=None, waiting_since=None)

    async def rate(self, ticket_id: str, score: int) -> Ticket | None:
        """Store the customer's 1–5 rating of a closed ticket once; None if not allowed."""
        key = self.keys.ticket(ticket_id)

        async def rate_once(pipe: Pipeline) -> Ticket | None:
            data = await pipe.hgetall(key)
            if not data or not 1 <= score <= 5:
                await pipe.unwatch()
                return None
            ticket = Ticket.from_hash(data)
            if ticket.is_active or ticket.rating is not None:
                await pipe.unwatch()
                return None
            pipe.multi()
            pipe.hset(key, "rating", str(score))
            ticket.rating = score
            return ticket

        return await self.redis.transaction(rate_once, key, value_from_callable=True)

    # ------------------------------------------------------------- personal data

    async def ids_of(self, chat_id: int) -> list[str]:
        """Every ticket id the customer has had (their active one included)."""
        ids = set(await self.redis.smembers(self.keys.chat_tickets(chat_id)))
        active = await self.redis.get(self.keys.open_ticket(chat_id))
        if active:
            ids.add(active)
        return sorted(ids, key=int)

    async def export(self, customer: Customer) -> list[dict[str, Any]]:
        out = []
        for ticket_id in await self.ids_of(customer.id):
            ticket = await self.get(ticket_id)
            if ticket is None:
                continue
            data = asdict(ticket)
            data["transcript"] = [asdict(turn) for turn in await self.transcript(ticket_id)]
            out.append(data)
        return out

    async def forget(self, customer: Customer) -> int:
        """Delete every ticket of the customer (close an active one first: that is the
        service's, which tells the agents)."""
        removed = 0
        for ticket_id in await self.ids_of(customer.id):
            removed += await self.delete(ticket_id)
        await self.redis.delete(
            self.keys.chat_tickets(customer.id), self.keys.open_ticket(customer.id)
        )
        return removed

    async def delete(self, ticket_id: str) -> int:
        """Remove a ticket and everything pointing at it; 1 if it existed."""
        data = await self.redis.hgetall(self.keys.ticket(ticket_id))
        if not data:
            return 0
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(
                self.keys.ticket(ticket_id),
                self.keys.ticket_transcript(ticket_id),
                self.keys.ticket_lock(ticket_id),
            )
            pipe.zrem(self.keys.open_tickets(), ticket_id)
            if data.get("chat_id"):
                pipe.srem(self.keys.chat_tickets(int(data["chat_id"])), ticket_id)
            await pipe.execute()
        if data.get("thread_id"):
            match = f"*:{data['thread_id']}"
            async for field, value in self.redis.hscan_iter(self.keys.thread_tickets(), match):
                if value == ticket_id:
                    await self.redis.hdel(self.keys.thread_tickets(), field)
        return 1

    async def closed(self, batch: int = 500) -> list[tuple[str, float, bool]]:
        """Every closed ticket: ``(id, closed_at, transcript already masked)``.

        Ticket ids are the numbers of ``ticket-seq``, so they are read in batches without
        scanning the keyspace.
        """
        last = int(await self.redis.get(self.keys.ticket_seq()) or 0)
        found: list[tuple[str, float, bool]] = []
        for start in range(1, last + 1, batch):
            ids = [str(n) for n in range(start, min(start + batch, last + 1))]
            async with self.redis.pipeline(transaction=False) as pipe:
                for ticket_id in ids:
                    pipe.hmget(self.keys.ticket(ticket_id), "status", "closed_at", "masked_at")
                rows = await pipe.execute()
            for ticket_id, (status, closed_at, masked_at) in zip(ids, rows, strict=True):
                if status == TicketStatus.CLOSED and closed_at:
                    found.append((ticket_id, float(closed_at), bool(masked_at)))
        return found

    async def questions(self, batch: int = 500) -> list[tuple[str, str]]:
        """Every stored ticket's ``(id, question)``, oldest first (read in batches by id, as
        ``closed`` does; entry drafts find the tickets of a content-gap cluster with it)."""
        last = int(await self.redis.get(self.keys.ticket_seq()) or 0)
        found: list[tuple[str, str]] = []
        for start in range(1, last + 1, batch):
            ids = [str(n) for n in range(start, min(start + batch, last + 1))]
            async with self.redis.pipeline(transaction=False) as pipe:
                for ticket_id in ids:
                    pipe.hget(self.keys.ticket(ticket_id), "question")
                rows = await pipe.execute()
            found += [(i, q) for i, q in zip(ids, rows, strict=True) if q]
        return found

    async def mask(self, ticket_id: str, masker: Callable[[str], str]) -> bool:
        """Mask the personal data in a closed ticket's transcript and question, and drop the
        customer's name; False when the ticket is gone or active again (nothing changes)."""
        key, transcript = self.keys.ticket(ticket_id), self.keys.ticket_transcript(ticket_id)

        async def mask_closed(pipe: Pipeline) -> bool:
            data = await pipe.hgetall(key)
            if not data or data.get("status") != TicketStatus.CLOSED:
                await pipe.unwatch()
                return False
            turns = [Turn.from_json(raw) for raw in await pipe.lrange(transcript, 0, -1)]
            texts = [data.get("question", ""), *(turn.text for turn in turns)]
            # Finding personal data is CPU work (about 0.5 ms a turn): off the event loop.
            question, *masked = await asyncio.to_thread(lambda: [masker(t) for t in texts])
            pipe.multi()
            pipe.delete(transcript)
            for turn, text in zip(turns, masked, strict=True):
                pipe.rpush(transcript, Turn(turn.role, text, turn.at, turn.meta).to_json())
            pipe.hset(
                key,
                mapping={
                    "question": question,
                    "customer_name": "",
                    "masked_at": str(time.time()),
                },
            )
            return True

        return await self.redis.transaction(mask_closed, key, transcript, value_from_callable=True)

    async def age_out(self, cutoffs: Cutoffs) -> int:
        """Mask closed tickets after ``mask_before``, delete them after ``delete_before``."""
        changed = 0
        for ticket_id, closed_at, masked in await self.closed():
            if closed_at < cutoffs.delete_before:
                changed += await self.delete(ticket_id)
            elif closed_at < cutoffs.mask_before and not masked:
                changed += int(await self.mask(ticket_id, mask_personal_data))
        return changed
