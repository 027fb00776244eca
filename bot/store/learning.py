"""What learning from confirmed answers keeps in Redis, shared by every worker.

* who confirmed which entry (``confirmed:<entry>``: opaque customer key → when), for the policy's
  distinct-customer minimum, and how many candidates each customer gave today
  (``today:<customer>:<day>``), for its per-customer cap;
* candidates waiting for more customers (``pending:<entry>``, listed in ``pending-entries``: the
  masked question, the evidence, the customer key);
* what was learned (``learned:<id>``, listed by ``learned``): entry, text, evidence, customers,
  version, time, and whether it is still live, undone, withdrawn or gone;
* one-shot guards (``seen:<answer>:<vote>``), so a vote pressed twice counts once, and counts of
  what was skipped and why (``stats``);
* decided adds waiting to be committed as one version (``queue``, a list); a flusher moves it
  to ``batch:<token>`` (listed in ``batches``) and deletes that in the same MULTI as the version
  and the learned records, so a flusher that dies between the two loses nothing: the next one
  commits the leftover batch.

The customer key is an HMAC of the Telegram id under a random per-deployment salt: it names no
one, yet ``/forget`` and ``/mydata`` can find a customer's candidates from their id.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import asdict, dataclass, replace

from redis.asyncio import Redis

from bot.store.keys import Keys
from common.privacy import Customer, Cutoffs
from knowledge_base.model import text_key

DAY_S = 24 * 3600


class LearnedStatus:
    LIVE = "live"  # the phrasing is in the knowledge base
    UNDONE = "undone"  # an operator undid it
    WITHDRAWN = "withdrawn"  # its answers collected 👎
    GONE = "gone"  # an operator had removed or reworded it already: nothing to undo


@dataclass(frozen=True, slots=True)
class PendingCandidate:
    """A candidate judged "few customers": judged again when more customers confirm the entry."""

    text: str  # masked
    entry_id: str
    evidence: str
    customer: str
    confidence: float
    at: float
    # A choice made after a 👎: the rejected entry, left out of the margin rule when judged again.
    rejected: str | None = None


@dataclass(frozen=True, slots=True)
class LearnedPhrasing:
    """One phrasing learned from traffic, as operators see it (``kb learned``, /kb/learned)."""

    id: str
    entry_id: str
    text: str  # masked, as added to the entry
    evidence: str
    customers: int  # distinct customers who had confirmed the entry when it was added
    version: int  # the knowledge-base version that added it
    at: float
    status: str = LearnedStatus.LIVE
    downvotes: int = 0  # 👎 on answers found through it
    upvotes: int = 0  # 👍 on answers found through it (after it was learned)
    ended_by: str = ""  # who undid it (or "👎" when withdrawn)
    ended_version: int = 0  # the version that removed it (0: none was needed)
    ended_at: float = 0.0


@dataclass(frozen=True, slots=True)
class QueuedAdd:
    """A phrasing the policy decided to add, waiting for the next batch commit."""

    entry_id: str
    text: str  # masked
    evidence: str
    customers: int  # distinct customers who had confirmed the entry when it was decided
    at: float


def _phrasing_field(entry_id: str, text: str) -> str:
    return f"{entry_id}\x1f{text_key(text)}"


def _digest(entry_id: str, text: str) -> str:
    """A phrasing of an entry, kept without its words."""
    return hashlib.sha256(_phrasing_field(entry_id, text).encode()).hexdigest()[:20]


class LearningRepository:
    """The learning loop's state; registered as personal data (it keeps customers' masked words
    under an opaque key until they are learned, dropped or aged out)."""

    data_kind = "learning_candidates"

    def __init__(self, redis: Redis, keys: Keys, *, window_s: float = 30 * DAY_S) -> None:
        self.redis, self.keys, self.window_s = redis, keys, window_s
        self._salt: bytes | None = None

    def _key(self, part: str) -> str:
        return self.keys.learning(part)

    # ------------------------------------------------------------------ customers

    async def customer_key(self, chat_id: int) -> str:
        """The opaque key of a customer (an HMAC of the id under this deployment's salt)."""
        if self._salt is None:
            await self.redis.set(self._key("salt"), secrets.token_hex(16), nx=True)
            self._salt = (await self.redis.get(self._key("salt"))).encode()
        return hmac.new(self._salt, str(chat_id).encode(), hashlib.sha256).hexdigest()[:24]

    async def first_vote(self, answer_id: str, vote: str, ttl_s: int) -> bool:
        """True the first time this vote is counted for this answer (a second press is not)."""
        key = self._key(f"seen:{answer_id}:{vote}")
        return bool(await self.redis.set(key, "1", nx=True, ex=max(1, ttl_s)))

    async def confirm(self, entry_id: str, customer: str, now: float | None = None) -> int:
        """Record that ``customer`` confirmed ``entry_id``; distinct customers in the window."""
        now = time.time() if now is None else now
        key = self._key(f"confirmed:{entry_id}")
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {customer: now})
            pipe.zremrangebyscore(key, "-inf", now - self.window_s)
            pipe.zcard(key)
            pipe.expire(key, int(self.window_s) + DAY_S)
            results = await pipe.execute()
        return int(results[2])

    async def customers(self, entry_id: str, now: float | None = None) -> int:
        now = time.time() if now is None else now
        key = self._key(f"confirmed:{entry_id}")
        return int(await self.redis.zcount(key, now - self.window_s, "+inf"))

    async def count_today(self, customer: str, now: float | None = None) -> int:
        """Count one more candidate of ``customer`` today; how many they gave before it."""
        day = time.strftime("%Y%m%d", time.gmtime(time.time() if now is None else now))
        key = self._key(f"today:{customer}:{day}")
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, 2 * DAY_S)
            results = await pipe.execute()
        return int(results[0]) - 1

    async def count(self, action: str, reason: str) -> None:
        await self.redis.hincrby(self._key("stats"), f"{action}:{reason}", 1)

    async def stats(self) -> dict[str, int]:
        raw = await self.redis.hgetall(self._key("stats"))
        return {k: int(v) for k, v in sorted(raw.items())}

    async def suggest_once(self, entry_id: str, text: str) -> bool:
        """True the first time a text is queued as a suggestion for an entry (kept as a hash)."""
        return bool(await self.redis.sadd(self._key("suggested"), _digest(entry_id, text)))

    async def claim_add(self, entry_id: str, text: str, hold_s: float = 60) -> bool:
        """True for the one worker that may add this text to this entry now (two customers'
        same question judged at once on two workers is added once). ``hold_s`` covers the
        time the add may wait in the queue, until the phrasing is in the knowledge base."""
        key = self._key(f"adding:{_digest(entry_id, text)}")
        return bool(await self.redis.set(key, "1", nx=True, ex=max(1, int(hold_s))))

    async def blocked(self, entry_id: str, text: str) -> bool:
        """Whether this text was learned for this entry and then taken out (undone, withdrawn,
        or removed by an operator): it is not learned again."""
        return bool(await self.redis.sismember(self._key("blocked"), _digest(entry_id, text)))

    # ------------------------------------------------------------------ pending

    async def keep_pending(self, candidate: PendingCandidate) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                self._key(f"pending:{candidate.entry_id}"),
                text_key(candidate.text),
                json.dumps(asdict(candidate)),
            )
            pipe.sadd(self._key("pending-entries"), candidate.entry_id)
            await pipe.execute()

    async def pending(self, entry_id: str | None = None) -> list[PendingCandidate]:
        """Waiting candidates of one entry (or of all), oldest first."""
        if entry_id is None:
            entries = sorted(await self.redis.smembers(self._key("pending-entries")))
        else:
            entries = [entry_id]
        found: list[PendingCandidate] = []
        for entry in entries:
            raw = await self.redis.hgetall(self._key(f"pending:{entry}"))
            found += [PendingCandidate(**json.loads(v)) for v in raw.values()]
        return sorted(found, key=lambda c: c.at)

    async def drop_pending(self, candidate: PendingCandidate) -> bool:
        """Take a waiting candidate out; False when another worker took it first."""
        key = self._key(f"pending:{candidate.entry_id}")
        return bool(await self.redis.hdel(key, text_key(candidate.text)))

    # ------------------------------------------------------------------ queue

    async def queue_add(self, item: QueuedAdd) -> None:
        await self.redis.rpush(self._key("queue"), json.dumps(asdict(item)))

    async def queued(self) -> int:
        """Adds waiting for the next batch commit (in the queue and in unfinished batches)."""
        count = await self.redis.llen(self._key("queue"))
        for token in await self.redis.smembers(self._key("batches")):
            count += await self.redis.llen(self._key(f"batch:{token}"))
        return int(count)

    async def claim_flush(self, hold_s: float) -> bool:
        """True for the one worker that may commit the queue now; held ``hold_s`` (not
        released: batches are committed at most every ``hold_s`` across all workers)."""
        key = self._key("flush")
        return bool(await self.redis.set(key, "1", nx=True, px=max(1, int(hold_s * 1000))))

    async def batches(self) -> list[tuple[str, list[QueuedAdd]]]:
        """The batches to commit: those a flusher took and did not finish (it died), then the
        queue, taken whole as a new batch (adds queued after it wait for the next)."""
        tokens = sorted(await self.redis.smembers(self._key("batches")))
        queue, token = self._key("queue"), f"{time.time():.6f}-{secrets.token_hex(4)}"

        async def take(pipe) -> bool:
            # WATCHed: an add queued meanwhile, or another flusher taking it first, makes it
            # start over. (Moved item by item: a cluster pipeline refuses RENAME.)
            raw = await pipe.lrange(queue, 0, -1)
            if not raw:
                return False
            pipe.multi()
            pipe.rpush(self._key(f"batch:{token}"), *raw)
            pipe.sadd(self._key("batches"), token)
            pipe.delete(queue)
            return True

        if await self.redis.transaction(take, queue, value_from_callable=True):
            tokens.append(token)
        found = []
        for token in tokens:
            raw = await self.redis.lrange(self._key(f"batch:{token}"), 0, -1)
            found.append((token, [QueuedAdd(**json.loads(r)) for r in raw]))
        return found

    def batch_done(self, pipe, token: str) -> None:
        """Queue the deletion of a committed batch in ``pipe`` (the version's own MULTI)."""
        pipe.delete(self._key(f"batch:{token}"))
        pipe.srem(self._key("batches"), token)

    async def drop_batch(self, token: str) -> None:
        """A batch that added nothing (every phrasing skipped): no version to go with."""
        async with self.redis.pipeline(transaction=True) as pipe:
            self.batch_done(pipe, token)
            await pipe.execute()

    async def reserve_ids(self, count: int) -> list[str]:
        """``count`` new learned-record ids (one unused, if a commit does not add them all)."""
        last = await self.redis.incrby(self._key("seq"), count)
        return [str(n) for n in range(last - count + 1, last + 1)]

    # ------------------------------------------------------------------ learned

    async def save_learned(
        self,
        entry_id: str,
        text: str,
        evidence: str,
        customers: int,
        version: int,
    ) -> LearnedPhrasing:
        number = await self.redis.incr(self._key("seq"))
        record = LearnedPhrasing(
            str(number), entry_id, text, evidence, customers, version, time.time()
        )
        async with self.redis.pipeline(transaction=True) as pipe:
            self.write_learned(pipe, record)
            await pipe.execute()
        return record

    def write_learned(self, pipe, record: LearnedPhrasing) -> None:
        """Queue the writes of a learned record in ``pipe`` (e.g. the version's own MULTI)."""
        pipe.set(self._key(f"learned:{record.id}"), json.dumps(asdict(record)))
        pipe.zadd(self._key("learned"), {record.id: record.at})
        pipe.hset(self._key("live"), _phrasing_field(record.entry_id, record.text), record.id)

    async def get(self, learned_id: str) -> LearnedPhrasing | None:
        raw = await self.redis.get(self._key(f"learned:{learned_id}"))
        return LearnedPhrasing(**json.loads(raw)) if raw else None

    async def learned(self, limit: int = 100) -> list[LearnedPhrasing]:
        """The latest learned phrasings, newest first."""
        ids = await self.redis.zrevrange(self._key("learned"), 0, limit - 1)
        if not ids:
            return []
        raw = await self.redis.mget([self._key(f"learned:{i}") for i in ids])
        return [LearnedPhrasing(**json.loads(r)) for r in raw if r]

    async def live_for(self, entry_id: str, phrasing: str) -> LearnedPhrasing | None:
        """The live learned record of this phrasing of this entry, if it was learned."""
        learned_id = await self.redis.hget(self._key("live"), _phrasing_field(entry_id, phrasing))
        return await self.get(learned_id) if learned_id else None

    async def vote(self, learned_id: str, helpful: bool) -> LearnedPhrasing | None:
        """One more 👍 or 👎 on an answer given through this phrasing; the updated record."""
        key = self._key(f"learned:{learned_id}")

        async def add_one(pipe) -> LearnedPhrasing | None:
            raw = await pipe.get(key)
            if raw is None:
                return None
            record = LearnedPhrasing(**json.loads(raw))
            if helpful:
                record = replace(record, upvotes=record.upvotes + 1)
            else:
                record = replace(record, downvotes=record.downvotes + 1)
            pipe.multi()
            pipe.set(key, json.dumps(asdict(record)))
            return record

        return await self.redis.transaction(add_one, key, value_from_callable=True)

    async def end(
        self, record: LearnedPhrasing, status: str, by: str, version: int
    ) -> LearnedPhrasing:
        """Mark a learned phrasing undone / withdrawn / gone (it stays listed, with who and when)."""
        ended = replace(
            record, status=status, ended_by=by, ended_version=version, ended_at=time.time()
        )
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self._key(f"learned:{record.id}"), json.dumps(asdict(ended)))
            pipe.hdel(self._key("live"), _phrasing_field(record.entry_id, record.text))
            pipe.sadd(self._key("blocked"), _digest(record.entry_id, record.text))
            await pipe.execute()
        return ended

    async def claim_end(self, learned_id: str) -> bool:
        """True for the one caller that may end this record (two undo presses end it once)."""
        return bool(await self.redis.set(self._key(f"ending:{learned_id}"), "1", nx=True, ex=60))

    async def release_end(self, learned_id: str) -> None:
        await self.redis.delete(self._key(f"ending:{learned_id}"))

    # ------------------------------------------------------------------ personal data

    async def export(self, customer: Customer) -> list[dict]:
        key = await self.customer_key(customer.id)
        return [
            {"question": c.text, "entry_id": c.entry_id, "evidence": c.evidence, "at": c.at}
            for c in await self.pending()
            if c.customer == key
        ]

    async def forget(self, customer: Customer) -> int:
        """Their waiting candidates and confirmations; what was learned stays (masked, and part
        of the knowledge base, like an approved suggestion)."""
        key = await self.customer_key(customer.id)
        mine = [c for c in await self.pending() if c.customer == key]
        for candidate in mine:
            await self.drop_pending(candidate)
        async for name in self.redis.scan_iter(match=self._key("confirmed:*"), count=500):
            await self.redis.zrem(name, key)
        async for name in self.redis.scan_iter(match=self._key(f"today:{key}:*"), count=500):
            await self.redis.delete(name)
        return len(mine)

    async def age_out(self, cutoffs: Cutoffs) -> int:
        """Candidates older than the retention (or the learning window) are dropped."""
        cutoff = max(cutoffs.delete_before, time.time() - self.window_s)
        old = [c for c in await self.pending() if c.at < cutoff]
        for candidate in old:
            await self.drop_pending(candidate)
        return len(old)
