"""Answers the bot sent, and the customers' 👍 / 👎 on them."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass, field

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.store.keys import Keys
from common.privacy import Customer


def new_id() -> str:
    return secrets.token_hex(6)


@dataclass(frozen=True, slots=True)
class AnswerRecord:
    """What the bot answered, so feedback and handoff can refer to it later."""

    answer_id: str
    chat_id: int
    question: str
    entry_id: str | None
    confidence: float
    at: float = field(default_factory=time.time)
    # The entry's phrasing the question matched (a learned one can be withdrawn after 👎).
    phrasing: str = ""


class AnswerRepository:
    """Answers the bot sent, and the customers' 👍 / 👎 on them.

    Each answer (with the question it answered) and its vote expire after ``ttl_seconds``; the
    per-entry vote counts (``feedback_stats``) keep no one's id or words.
    """

    data_kind = "answers"

    def __init__(self, redis: Redis, keys: Keys, *, ttl_seconds: int) -> None:
        self.redis, self.keys, self.ttl = redis, keys, ttl_seconds

    async def save(self, record: AnswerRecord) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            self.save_in(pipe, record)
            await pipe.execute()

    def save_in(self, pipe: Pipeline, record: AnswerRecord) -> None:
        """Queue the save on ``pipe`` (written with the caller's other writes)."""
        pipe.set(self.keys.answer(record.answer_id), json.dumps(asdict(record)), ex=self.ttl)
        index = self.keys.chat_answers(record.chat_id)
        pipe.sadd(index, record.answer_id)
        pipe.expire(index, self.ttl)

    async def get(self, answer_id: str) -> AnswerRecord | None:
        raw = await self.redis.get(self.keys.answer(answer_id))
        return AnswerRecord(**json.loads(raw)) if raw else None

    async def record_feedback(self, answer_id: str, helpful: bool) -> AnswerRecord | None:
        """Store the vote (a second vote replaces the first); None if the answer is unknown."""
        record, _ = await self.vote(answer_id, helpful)
        return record

    async def vote(
        self, answer_id: str, helpful: bool, record: AnswerRecord | None = None
    ) -> tuple[AnswerRecord | None, str | None]:
        """``record_feedback``, also saying the vote it replaced ("up", "down" or None): the
        same vote pressed twice changes nothing."""
        record = record or await self.get(answer_id)
        if record is None:
            return None, None
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
        return record, previous

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

    async def of_chat(self, chat_id: int) -> list[tuple[AnswerRecord, str | None]]:
        """The customer's answers still kept, oldest first, each with its vote ("up", "down")."""
        ids = sorted(await self.redis.smembers(self.keys.chat_answers(chat_id)))
        if not ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for answer_id in ids:
                pipe.get(self.keys.answer(answer_id))
                pipe.get(self.keys.feedback(answer_id))
            found = await pipe.execute()
        pairs = zip(found[::2], found[1::2], strict=True)
        records = [(AnswerRecord(**json.loads(raw)), vote) for raw, vote in pairs if raw]
        return sorted(records, key=lambda pair: pair[0].at)

    async def export(self, customer: Customer) -> list[dict]:
        return [
            {**asdict(record), "feedback": vote}
            for record, vote in await self.of_chat(customer.id)
        ]

    async def forget(self, customer: Customer) -> int:
        """The customer's answers, votes and 👎 streak; the per-entry counts stay (no identity)."""
        index = self.keys.chat_answers(customer.id)
        ids = await self.redis.smembers(index)
        doomed = [index, self.keys.dislikes(customer.id)]
        for answer_id in ids:
            doomed += [self.keys.answer(answer_id), self.keys.feedback(answer_id)]
        await self.redis.delete(*doomed)
        return len(ids)
