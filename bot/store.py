"""Conversation state in Redis, behind repositories with typed keys.

Every key name is built by ``Keys`` from one prefix, so two deployments (or a test run) can share a Redis
server without touching each other's data. Handlers and services call repository methods, never Redis.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

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

    def fsm_prefix(self) -> str:
        return f"{self.prefix}:fsm"


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

    async def feedback_stats(self) -> dict[str, int]:
        raw = await self.redis.hgetall(self.keys.feedback_stats())
        return {k: int(v) for k, v in raw.items()}


def new_id() -> str:
    return secrets.token_hex(6)


@dataclass(slots=True)
class Ticket:
    """A customer's case handed to human agents."""

    id: str
    chat_id: int
    customer_name: str
    status: str  # "open" | "claimed" | "closed"
    reason: str
    question: str
    created_at: float
    claimed_by: int | None = None
    closed_at: float | None = None
    agents_message_id: int | None = None

    @classmethod
    def from_hash(cls, data: dict[str, str]) -> Ticket:
        def opt_int(name: str) -> int | None:
            return int(data[name]) if data.get(name) else None

        return cls(
            id=data["id"],
            chat_id=int(data["chat_id"]),
            customer_name=data.get("customer_name", ""),
            status=data["status"],
            reason=data.get("reason", ""),
            question=data.get("question", ""),
            created_at=float(data["created_at"]),
            claimed_by=opt_int("claimed_by"),
            closed_at=float(data["closed_at"]) if data.get("closed_at") else None,
            agents_message_id=opt_int("agents_message_id"),
        )

    def to_hash(self) -> dict[str, str]:
        return {k: "" if v is None else str(v) for k, v in asdict(self).items()}


class TicketRepository:
    """Tickets with at most one open ticket per customer, also under concurrent messages."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis, self.keys = redis, keys

    async def open(
        self, chat_id: int, customer_name: str, reason: str, question: str
    ) -> tuple[Ticket, bool]:
        """The customer's open ticket, creating it if there is none; the flag says it is new."""
        seq = await self.redis.incr(self.keys.ticket_seq())
        ticket = Ticket(
            id=str(seq),
            chat_id=chat_id,
            customer_name=customer_name,
            status="open",
            reason=reason,
            question=question,
            created_at=time.time(),
        )
        claimed = await self.redis.set(self.keys.open_ticket(chat_id), ticket.id, nx=True)
        if not claimed:
            existing = await self.current(chat_id)
            if existing is not None:
                return existing, False
            # The pointer outlived its ticket; take it over.
            await self.redis.set(self.keys.open_ticket(chat_id), ticket.id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.ticket(ticket.id), mapping=ticket.to_hash())
            pipe.zadd(self.keys.open_tickets(), {ticket.id: ticket.created_at})
            await pipe.execute()
        return ticket, True

    async def get(self, ticket_id: str) -> Ticket | None:
        data = await self.redis.hgetall(self.keys.ticket(ticket_id))
        return Ticket.from_hash(data) if data else None

    async def current(self, chat_id: int) -> Ticket | None:
        """The customer's ticket that is not closed, if any."""
        ticket_id = await self.redis.get(self.keys.open_ticket(chat_id))
        if not ticket_id:
            return None
        ticket = await self.get(ticket_id)
        return ticket if ticket and ticket.status != "closed" else None

    async def update(self, ticket_id: str, **fields: Any) -> None:
        values = {k: "" if v is None else str(v) for k, v in fields.items()}
        await self.redis.hset(self.keys.ticket(ticket_id), mapping=values)

    async def close(self, ticket: Ticket) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                self.keys.ticket(ticket.id),
                mapping={"status": "closed", "closed_at": str(time.time())},
            )
            pipe.zrem(self.keys.open_tickets(), ticket.id)
            await pipe.execute()
        # Only drop the pointer if it still names this ticket.
        if await self.redis.get(self.keys.open_ticket(ticket.chat_id)) == ticket.id:
            await self.redis.delete(self.keys.open_ticket(ticket.chat_id))

    async def list_open(self) -> list[Ticket]:
        ids = await self.redis.zrange(self.keys.open_tickets(), 0, -1)
        tickets = [await self.get(i) for i in ids]
        return [t for t in tickets if t is not None]


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
