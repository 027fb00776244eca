"""What "People also ask" learns and offers, in Redis: entry ids and counts, never words.

- ``related_next(entry)``: a sorted set, for each entry asked next after ``entry`` (in the same
  chat, within the window) how often. No chat id: an aggregate over all customers.
- ``related_recent(chat)``: the entries answered in the customer's current conversation, scored
  by the time of the answer; the key expires one window after the last answer, so what it holds
  is the conversation's chain of answers.
- ``related_asked(chat)``: how often the customer was answered from each entry, kept for the
  retention period (``PRIVACY__RETENTION_DAYS``) after their last answer.
- ``related_offers(chat)``: the buttons sent under each answer (answer id → the offered entries
  and their questions), kept as long as answers are, so a press names a button by its number.

The three per-customer keys are the customer's data (``/mydata``, ``/forget``); all three expire
on their own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from redis.asyncio import Redis

from bot.store.keys import Keys
from common.privacy import Customer

TOP_READ = 30  # co-occurring entries and a customer's own entries read per suggestion

# ``observe`` in one round trip (and atomic: two workers answering one chat at once cannot both
# count the same previous entry). KEYS: the chat's recent and asked sets, the sources set;
# ARGV: entry, at, window (s), the recent set's expiry, the asked set's expiry, counts as next
# ("1"/"0"), and the name of ``related_next`` without its entry. The ``related_next`` key is named
# in the script; it shares the deployment's prefix, which is one hash tag on a cluster
# (``bot/store/keys.py``), so it lives in the declared keys' slot.
_OBSERVE = """
local last = redis.call('ZREVRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local previous = false
if #last > 0 then
    local at, when = tonumber(ARGV[2]), tonumber(last[2])
    if at - when > tonumber(ARGV[3]) then
        redis.call('DEL', KEYS[1])
    elseif at >= when and last[1] ~= ARGV[1] then
        previous = last[1]
    end
end
if previous and ARGV[6] == '1' then
    redis.call('ZINCRBY', ARGV[7] .. previous, 1, ARGV[1])
    redis.call('SADD', KEYS[3], previous)
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('ZINCRBY', KEYS[2], 1, ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[5])
return previous
"""


@dataclass(frozen=True, slots=True)
class RelatedOffer:
    """The "People also ask" buttons under one answer: the entries and their questions (kept to
    find the nearest entry when one is deleted before its button is pressed)."""

    answer_id: str
    entry_id: str  # the answer's entry
    entry_ids: tuple[str, ...]
    questions: tuple[str, ...]

    @classmethod
    def from_json(cls, raw: str) -> RelatedOffer:
        values = json.loads(raw)
        return cls(
            values["answer_id"],
            values["entry_id"],
            tuple(values["entry_ids"]),
            tuple(values["questions"]),
        )


@dataclass(frozen=True, slots=True)
class RelatedSignals:
    """What a suggestion is made from: counts of entries asked next after the answered one, the
    customer's own counts, and the entries of the current conversation."""

    following: dict[str, float] = field(default_factory=dict)
    asked: dict[str, float] = field(default_factory=dict)
    conversation: frozenset[str] = frozenset()


class RelatedRepository:
    def __init__(
        self, redis: Redis, keys: Keys, *, window_s: float, history_s: int, offers_s: int
    ) -> None:
        self.redis, self.keys = redis, keys
        self.window_s = window_s  # an answer this soon after another one "comes next"
        self.history_s = history_s  # a customer's own counts: kept this long after the last
        self.offers_s = offers_s  # the buttons' records: as long as answers are kept
        self._observe = redis.register_script(_OBSERVE)

    data_kind = "related_questions"

    async def observe(
        self, chat_id: int, entry_id: str, at: float, *, counts_as_next: bool = True
    ) -> str | None:
        """The customer was answered from ``entry_id`` at ``at``: the entry answered before it in
        the same conversation (returned) gets ``entry_id`` counted as asked next after it —
        unless ``counts_as_next`` is False — and the customer's own history counts it."""
        previous = await self._observe(
            keys=[
                self.keys.related_recent(chat_id),
                self.keys.related_asked(chat_id),
                self.keys.related_sources(),
            ],
            args=[
                entry_id,
                repr(float(at)),
                repr(float(self.window_s)),
                max(1, int(self.window_s)),
                self.history_s,
                "1" if counts_as_next else "0",
                self.keys.related_next(""),
            ],
        )
        if isinstance(previous, bytes):
            previous = previous.decode()
        return previous or None

    async def signals(self, chat_id: int, entry_id: str) -> RelatedSignals:
        """The counts a suggestion after an answer from ``entry_id`` is made from, in one round
        trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zrevrange(self.keys.related_next(entry_id), 0, TOP_READ - 1, withscores=True)
            pipe.zrevrange(self.keys.related_asked(chat_id), 0, TOP_READ - 1, withscores=True)
            pipe.zrange(self.keys.related_recent(chat_id), 0, -1)
            following, asked, recent = await pipe.execute()
        return RelatedSignals(dict(following), dict(asked), frozenset(recent))

    async def conversation(self, chat_id: int) -> frozenset[str]:
        """The entries answered in the customer's current conversation."""
        return frozenset(await self.redis.zrange(self.keys.related_recent(chat_id), 0, -1))

    async def following(self, entry_id: str) -> dict[str, float]:
        """Every entry counted as asked next after ``entry_id``, with its count."""
        return dict(
            await self.redis.zrange(self.keys.related_next(entry_id), 0, -1, withscores=True)
        )

    async def save_offer(self, chat_id: int, offer: RelatedOffer) -> None:
        key = self.keys.related_offers(chat_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, offer.answer_id, json.dumps(asdict(offer), ensure_ascii=False))
            pipe.expire(key, self.offers_s)
            await pipe.execute()

    async def offer(self, chat_id: int, answer_id: str) -> RelatedOffer | None:
        """The buttons sent to ``chat_id`` under ``answer_id``; None if none were (or they
        expired)."""
        raw = await self.redis.hget(self.keys.related_offers(chat_id), answer_id)
        if not raw:
            return None
        try:
            return RelatedOffer.from_json(raw)
        except (ValueError, KeyError, TypeError):
            return None

    async def clear_learned(self) -> int:
        """Delete every ``related_next`` count (before a rebuild); how many sets went."""
        sources = await self.redis.smembers(self.keys.related_sources())
        keys = [self.keys.related_next(s) for s in sources]
        for start in range(0, len(keys), 500):
            await self.redis.delete(*keys[start : start + 500])
        await self.redis.delete(self.keys.related_sources())
        return len(keys)

    async def add_counts(self, counts: Iterable[tuple[str, str, int]]) -> None:
        """Add ``(entry, next entry, count)`` to the learned counts, in one round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for source, following, count in counts:
                pipe.zincrby(self.keys.related_next(source), count, following)
                pipe.sadd(self.keys.related_sources(), source)
            await pipe.execute()

    # ------------------------------------------------------------------ personal data

    def _personal_keys(self, chat_id: int) -> list[str]:
        return [
            self.keys.related_recent(chat_id),
            self.keys.related_asked(chat_id),
            self.keys.related_offers(chat_id),
        ]

    async def export(self, customer: Customer) -> dict | None:
        """The entries the customer was answered from (how often), those of the current
        conversation, and the buttons offered to them; None when there is nothing."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zrange(self.keys.related_asked(customer.id), 0, -1, withscores=True)
            pipe.zrange(self.keys.related_recent(customer.id), 0, -1, withscores=True)
            pipe.hvals(self.keys.related_offers(customer.id))
            asked, recent, offers = await pipe.execute()
        if not (asked or recent or offers):
            return None
        return {
            "answered_entries": {entry: int(n) for entry, n in asked},
            "current_conversation": {entry: at for entry, at in recent},
            "offered": [asdict(RelatedOffer.from_json(raw)) for raw in offers],
        }

    async def forget(self, customer: Customer) -> int:
        """Delete the customer's counts, conversation and offers (the anonymous ``related_next``
        counts keep no chat id and stay); how many items went."""
        keys = self._personal_keys(customer.id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcard(keys[0])
            pipe.zcard(keys[1])
            pipe.hlen(keys[2])
            sizes = await pipe.execute()
        await self.redis.delete(*keys)
        return int(sum(sizes))
