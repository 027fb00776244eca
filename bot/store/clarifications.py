"""The "Did you mean …?" questions the bot asked, so their buttons can name an entry by number."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.store.keys import Keys


@dataclass(frozen=True, slots=True)
class ClarificationRecord:
    """What the customer wrote, why the bot asked back, and the entries its buttons offer.

    A button's callback carries ``clarification_id`` and an index into ``entry_ids``: Telegram
    allows 64 bytes of callback data, and an entry id can be longer.
    """

    clarification_id: str
    chat_id: int
    question: str
    reason: str  # a JunkKind value, or "low_confidence"
    entry_ids: tuple[str, ...] = ()
    confidence: float = 0.0
    at: float = field(default_factory=time.time)

    @classmethod
    def from_json(cls, raw: str) -> ClarificationRecord:
        values = json.loads(raw)
        values["entry_ids"] = tuple(values.get("entry_ids", ()))
        return cls(**values)


class ClarificationRepository:
    """Clarifications asked, kept as long as answers are (their buttons stay in the chat)."""

    def __init__(self, redis: Redis, keys: Keys, *, ttl_seconds: int) -> None:
        self.redis, self.keys, self.ttl = redis, keys, ttl_seconds

    def save_in(self, pipe: Pipeline, record: ClarificationRecord) -> None:
        """Queue the save on ``pipe`` (written with the caller's other writes)."""
        key = self.keys.clarification(record.clarification_id)
        pipe.set(key, json.dumps(asdict(record), ensure_ascii=False), ex=self.ttl)

    async def get(self, clarification_id: str) -> ClarificationRecord | None:
        raw = await self.redis.get(self.keys.clarification(clarification_id))
        return ClarificationRecord.from_json(raw) if raw else None
