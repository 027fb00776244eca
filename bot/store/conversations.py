"""The recent turns of each conversation."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.store.keys import Keys
from common.privacy import Customer


@dataclass(frozen=True, slots=True)
class Turn:
    """One message in a conversation."""

    role: TurnRole
    text: str
    at: float = field(default_factory=time.time)
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Stored turns come back with the role as a plain string.
        object.__setattr__(self, "role", TurnRole(self.role))

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> Turn:
        return cls(**json.loads(raw))


class TurnRole(StrEnum):
    """Who said a turn (stored as the plain string)."""

    CUSTOMER = "customer"
    BOT = "bot"
    AGENT = "agent"


class ConversationRepository:
    """The recent turns of each chat, bounded in length and kept for a limited time."""

    data_kind = "conversation"

    def __init__(self, redis: Redis, keys: Keys, *, ttl_seconds: int, max_turns: int) -> None:
        self.redis, self.keys, self.ttl, self.max_turns = redis, keys, ttl_seconds, max_turns

    async def append(self, chat_id: int, turn: Turn) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            self.append_in(pipe, chat_id, turn)
            await pipe.execute()

    def append_in(self, pipe: Pipeline, chat_id: int, turn: Turn) -> None:
        """Queue the append on ``pipe`` (written with the caller's other writes)."""
        key = self.keys.history(chat_id)
        pipe.rpush(key, turn.to_json())
        pipe.ltrim(key, -self.max_turns, -1)
        pipe.expire(key, self.ttl)

    async def add(self, chat_id: int, turn: Turn) -> list[Turn]:
        """Append ``turn`` and return the conversation as it was before it, in one round trip."""
        key = self.keys.history(chat_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lrange(key, 0, -1)
            pipe.rpush(key, turn.to_json())
            pipe.ltrim(key, -self.max_turns, -1)
            pipe.expire(key, self.ttl)
            before, *_ = await pipe.execute()
        return [Turn.from_json(item) for item in before]

    async def history(self, chat_id: int, limit: int | None = None) -> list[Turn]:
        start = -limit if limit else 0
        raw = await self.redis.lrange(self.keys.history(chat_id), start, -1)
        return [Turn.from_json(item) for item in raw]

    async def clear(self, chat_id: int) -> None:
        await self.redis.delete(self.keys.history(chat_id))

    async def export(self, customer: Customer) -> list[dict[str, Any]]:
        return [asdict(turn) for turn in await self.history(customer.id)]

    async def forget(self, customer: Customer) -> int:
        return int(await self.redis.delete(self.keys.history(customer.id)))
