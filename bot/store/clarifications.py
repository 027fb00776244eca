"""The "Did you mean …?" questions the bot asked, so their buttons can name an entry by number."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.store.keys import Keys
from common.privacy import Customer


@dataclass(frozen=True, slots=True)
class ClarificationRecord:
    """What the customer wrote, why the bot asked back, and the entries its buttons offer — or,
    after a 👎 on an answer, the other entries offered for its question.

    A button's callback carries ``clarification_id`` and an index into ``entry_ids``: Telegram
    allows 64 bytes of callback data, and an entry id can be longer.
    """

    clarification_id: str
    chat_id: int
    question: str
    reason: str  # a JunkKind value, a SmallTalk value, "low_confidence" or "disliked"
    entry_ids: tuple[str, ...] = ()
    confidence: float = 0.0
    at: float = field(default_factory=time.time)
    # After a 👎: the entry of the answer the customer rejected (the others are offered).
    rejected: str | None = None

    @classmethod
    def from_json(cls, raw: str) -> ClarificationRecord:
        values = json.loads(raw)
        values["entry_ids"] = tuple(values.get("entry_ids", ()))
        return cls(**values)


class ClarificationRepository:
    """Clarifications asked, kept as long as answers are (their buttons stay in the chat)."""

    def __init__(self, redis: Redis, keys: Keys, *, ttl_seconds: int) -> None:
        self.redis, self.keys, self.ttl = redis, keys, ttl_seconds

    data_kind = "clarifications"

    def save_in(self, pipe: Pipeline, record: ClarificationRecord) -> None:
        """Queue the save on ``pipe`` (written with the caller's other writes), and its id in
        the customer's index (to export or forget it)."""
        key = self.keys.clarification(record.clarification_id)
        pipe.set(key, json.dumps(asdict(record), ensure_ascii=False), ex=self.ttl)
        index = self.keys.chat_clarifications(record.chat_id)
        pipe.sadd(index, record.clarification_id)
        pipe.expire(index, self.ttl)

    async def export(self, customer: Customer) -> list[dict]:
        """The questions the bot asked back about, with the entries it offered."""
        ids = sorted(await self.redis.smembers(self.keys.chat_clarifications(customer.id)))
        raws = await self.redis.mget([self.keys.clarification(i) for i in ids]) if ids else []
        return [asdict(ClarificationRecord.from_json(raw)) for raw in raws if raw]

    async def forget(self, customer: Customer) -> int:
        index = self.keys.chat_clarifications(customer.id)
        ids = await self.redis.smembers(index)
        gone = await self.redis.delete(*(self.keys.clarification(i) for i in ids)) if ids else 0
        await self.redis.delete(index)
        return int(gone)

    async def get(self, clarification_id: str) -> ClarificationRecord | None:
        raw = await self.redis.get(self.keys.clarification(clarification_id))
        return ClarificationRecord.from_json(raw) if raw else None
