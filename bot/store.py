"""Conversation state in Redis, behind repositories with typed keys.

Every key name is built by ``Keys`` from one prefix, so two deployments (or a test run) can share a Redis
server without touching each other's data. Handlers and services call repository methods, never Redis.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError

from bot.errors import StoreUnavailableError

log = logging.getLogger(__name__)


class Keys:
    """The one place that names Redis keys."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix.rstrip(":")

    def history(self, chat_id: int) -> str:
        return f"{self.prefix}:conv:{chat_id}"

    def answer(self, answer_id: str) -> str:
        return f"{self.prefix}:answer:{answer_id}"

    def feedback(self, answer_id: str) -> str:
        return f"{self.prefix}:feedback:{answer_id}"

    def feedback_stats(self) -> str:
        return f"{self.prefix}:stats:feedback"

    def ticket(self, ticket_id: str) -> str:
        return f"{self.prefix}:ticket:{ticket_id}"

    def ticket_seq(self) -> str:
        return f"{self.prefix}:ticket-seq"

    def open_ticket(self, chat_id: int) -> str:
        return f"{self.prefix}:open-ticket:{chat_id}"

    def open_tickets(self) -> str:
        return f"{self.prefix}:tickets:open"

    def heartbeat(self, host: str) -> str:
        return f"{self.prefix}:heartbeat:{host}"

    def ticket_transcript(self, ticket_id: str) -> str:
        return f"{self.prefix}:ticket:{ticket_id}:transcript"

    def ticket_lock(self, ticket_id: str) -> str:
        return f"{self.prefix}:ticket:{ticket_id}:lock"

    def thread_tickets(self) -> str:
        return f"{self.prefix}:tickets:by-thread"

    def dislikes(self, chat_id: int) -> str:
        return f"{self.prefix}:dislikes:{chat_id}"

    def fsm_prefix(self) -> str:
        return f"{self.prefix}:fsm"

    def events(self) -> str:
        return f"{self.prefix}:events"


async def connect_redis(url: str) -> Redis:
    """A client that has answered PING, or StoreUnavailableError saying where it tried."""
    client = Redis.from_url(url, decode_responses=True, socket_connect_timeout=3, socket_timeout=5)
    try:
        await client.ping()
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        await client.aclose()
        raise StoreUnavailableError(
            f"cannot reach Redis at {_safe_url(url)} ({exc.__class__.__name__}: {exc}); "
            "check REDIS__URL and that the server is running"
        ) from exc
    return client


def in_process_redis() -> Redis:
    """An in-process Redis-compatible store for the local terminal chat (nothing survives exit)."""
    from fakeredis import FakeAsyncRedis

    return FakeAsyncRedis(decode_responses=True)


def _safe_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"


@dataclass(frozen=True, slots=True)
class Turn:
    """One message in a conversation."""

    role: str  # "customer" | "bot" | "agent"
    text: str
    at: float = field(default_factory=time.time)
    meta: dict[str, Any] = field(default_factory=dict)


class ConversationRepository:
    """The recent turns of each chat, bounded in length and kept for a limited time."""

    def __init__(self, redis: Redis, keys: Keys, *, ttl_seconds: int, max_turns: int) -> None:
        self.redis, self.keys, self.ttl, self.max_turns = redis, keys, ttl_seconds, max_turns

    async def append(self, chat_id: int, turn: Turn) -> None:
        key = self.keys.history(chat_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, json.dumps(asdict(turn), ensure_ascii=False))
            pipe.ltrim(key, -self.max_turns, -1)
            pipe.expire(key, self.ttl)
            await pipe.execute()

    async def history(self, chat_id: int, limit: int | None = None) -> list[Turn]:
        start = -limit if limit else 0
        raw = await self.redis.lrange(self.keys.history(chat_id), start, -1)
        return [Turn(**json.loads(item)) for item in raw]

    async def clear(self, chat_id: int) -> None:
        await self.redis.delete(self.keys.history(chat_id))


@dataclass(frozen=True, slots=True)
class AnswerRecord:
    """What the bot answered, so feedback and handoff can refer to it later."""

    answer_id: str
    chat_id: int
    question: str
    entry_id: str | None
    confidence: float
    at: float = field(default_factory=time.time)


class AnswerRepository:
    """Answers the bot sent, and the customers' 👍 / 👎 on them."""

    def __init__(self, redis: Redis, keys: Keys, *, ttl_seconds: int) -> None:
        self.redis, self.keys, self.ttl = redis, keys, ttl_seconds

    async def save(self, record: AnswerRecord) -> None:
        await self.redis.set(
            self.keys.answer(record.answer_id), json.dumps(asdict(record)), ex=self.ttl
        )

    async def get(self, answer_id: str) -> AnswerRecord | None:
        raw = await self.redis.get(self.keys.answer(answer_id))
        return AnswerRecord(**json.loads(raw)) if raw else None

    async def record_feedback(self, answer_id: str, helpful: bool) -> AnswerRecord | None:
        """Store the vote (a second vote replaces the first); None if the answer is unknown."""
        record = await self.get(answer_id)
        if record is None:
            return None
        vote = "up" if helpful else "down"
        previous = await self.redis.getset(self.keys.feedback(answer_id), vote)
        await self.redis.expire(self.keys.feedback(answer_id), self.ttl)
        entry = record.entry_id or "(none)"
        async with self.redis.pipeline(transaction=True) as pipe:
            if previous and previous != vote:
                pipe.hincrby(self.keys.feedback_stats(), f"{entry}:{previous}", -1)
            if previous != vote:
                pipe.hincrby(self.keys.feedback_stats(), f"{entry}:{vote}", 1)
            await pipe.execute()
        return record

    async def dislike_streak(self, chat_id: int, answer_id: str, helpful: bool) -> int:
        """How many different answers in a row this customer has rated 👎 (a 👍 resets it)."""
        key = self.keys.dislikes(chat_id)
        if helpful:
            await self.redis.delete(key)
            return 0
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.sadd(key, answer_id)
            pipe.expire(key, self.ttl)
            pipe.scard(key)
            results = await pipe.execute()
        return int(results[-1])

    async def reset_dislikes(self, chat_id: int) -> None:
        await self.redis.delete(self.keys.dislikes(chat_id))

    async def feedback_stats(self) -> dict[str, int]:
        raw = await self.redis.hgetall(self.keys.feedback_stats())
        return {k: int(v) for k, v in raw.items()}


def new_id() -> str:
    return secrets.token_hex(6)


class TicketStatus:
    OPEN = "open"
    CLAIMED = "claimed"
    CLOSED = "closed"


@dataclass(slots=True)
class Ticket:
    """A customer's case handed to human agents (status: open → claimed → closed, reopenable)."""

    id: str
    chat_id: int
    customer_name: str
    status: str
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
    sla_reminded_at: float | None = None
    rating: int | None = None
    reopened_at: float | None = None

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
            status=data["status"],
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
            rating=opt_int("rating"),
            reopened_at=opt_float("reopened_at"),
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


class TicketRepository:
    """Tickets with at most one active ticket per customer, also under concurrent messages.

    Each ticket is a hash plus a transcript list; ``open-ticket:<chat>`` points at the customer's
    active ticket and is only ever changed inside WATCH/MULTI transactions, so two messages
    arriving at the same moment (in one process or several) open one ticket, not two.
    """

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
    ) -> tuple[Ticket, bool]:
        """The customer's active ticket, creating it if there is none; the flag says it is new."""
        pointer = self.keys.open_ticket(chat_id)
        new_id: str | None = None
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(pointer)
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
                    )
                    pipe.multi()
                    pipe.hset(self.keys.ticket(ticket.id), mapping=ticket.to_hash())
                    pipe.set(pointer, ticket.id)
                    pipe.zadd(self.keys.open_tickets(), {ticket.id: ticket.created_at})
                    pipe.delete(self.keys.ticket_transcript(ticket.id))
                    for turn in transcript:
                        pipe.rpush(self.keys.ticket_transcript(ticket.id), _turn_json(turn))
                    await pipe.execute()
                    return ticket, True
                except WatchError:
                    continue

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
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
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
                    await pipe.execute()
                    return ClaimResult(ticket, True)
                except WatchError:
                    continue

    async def close(self, ticket: Ticket, closed_by: str = "") -> bool:
        """Close an active ticket; False when it was already closed (nothing changes)."""
        key = self.keys.ticket(ticket.id)
        pointer = self.keys.open_ticket(ticket.chat_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key, pointer)
                    if await pipe.hget(key, "status") in (None, TicketStatus.CLOSED):
                        await pipe.unwatch()
                        return False
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
                    await pipe.execute()
                    ticket.status, ticket.closed_at, ticket.closed_by_name = (
                        TicketStatus.CLOSED,
                        now,
                        closed_by,
                    )
                    return True
                except WatchError:
                    continue

    async def reopen(self, ticket_id: str) -> Ticket | None:
        """Make a closed ticket active again, unless the customer already has another one."""
        key = self.keys.ticket(ticket_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
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
                    pipe.multi()
                    pipe.hset(key, mapping=ticket.to_hash())
                    pipe.set(pointer, ticket.id)
                    pipe.zadd(self.keys.open_tickets(), {ticket.id: now})
                    await pipe.execute()
                    return ticket
                except WatchError:
                    continue

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
        await self.redis.rpush(self.keys.ticket_transcript(ticket_id), _turn_json(turn))

    async def transcript(self, ticket_id: str) -> list[Turn]:
        raw = await self.redis.lrange(self.keys.ticket_transcript(ticket_id), 0, -1)
        return [Turn(**json.loads(item)) for item in raw]

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

    async def mark_reminded(self, ticket_id: str) -> bool:
        """True exactly once per ticket (per opening), whichever process asks first."""
        key = self.keys.ticket(ticket_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    if await pipe.hget(key, "sla_reminded_at"):
                        await pipe.unwatch()
                        return False
                    pipe.multi()
                    pipe.hset(key, "sla_reminded_at", str(time.time()))
                    await pipe.execute()
                    return True
                except WatchError:
                    continue

    async def rate(self, ticket_id: str, score: int) -> Ticket | None:
        """Store the customer's 1–5 rating of a closed ticket once; None if not allowed."""
        key = self.keys.ticket(ticket_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
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
                    await pipe.execute()
                    ticket.rating = score
                    return ticket
                except WatchError:
                    continue


def _turn_json(turn: Turn) -> str:
    return json.dumps(asdict(turn), ensure_ascii=False)


@dataclass
class Stores:
    """Every repository over one Redis connection."""

    redis: Redis
    keys: Keys
    conversations: ConversationRepository
    answers: AnswerRepository
    tickets: TicketRepository

    @classmethod
    def build(
        cls, redis: Redis, prefix: str, *, history_ttl_hours: float, history_max_turns: int
    ) -> Stores:
        keys = Keys(prefix)
        ttl = int(history_ttl_hours * 3600)
        return cls(
            redis=redis,
            keys=keys,
            conversations=ConversationRepository(
                redis, keys, ttl_seconds=ttl, max_turns=history_max_turns
            ),
            answers=AnswerRepository(redis, keys, ttl_seconds=max(ttl, 7 * 24 * 3600)),
            tickets=TicketRepository(redis, keys),
        )

    async def close(self) -> None:
        await self.redis.aclose()
