"""Content gaps: questions the bot could not answer (or that went to a person), grouped by topic.

Escalations are logged in Redis as they happen; the report clusters them on their embeddings
(agglomerative clustering, cosine distance) and shows each cluster's size and examples, largest
first, so operators see what to write next. A handled cluster (an entry written, marked out of scope,
or dismissed) leaves the report: its questions are removed from the log.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
from redis.asyncio import Redis

from common.pii import mask
from common.privacy import Customer, Cutoffs
from knowledge_base.keys import KbKeys
from knowledge_base.model import text_key

MAX_LOGGED = 5000
HELD_SECONDS = 7 * 24 * 3600  # how long a reported cluster can still be acted on by its id


@dataclass(frozen=True, slots=True)
class GapQuestion:
    text: str
    reason: str  # "unanswered" (low confidence) or the escalation reason
    at: float = field(default_factory=time.time)


@dataclass(frozen=True, slots=True)
class GapCluster:
    count: int
    examples: tuple[str, ...]
    reasons: dict[str, int]
    members: tuple[str, ...]  # every distinct question of the cluster

    @property
    def label(self) -> str:
        return self.examples[0]


class GapLog:
    """The most recent unanswered / escalated questions, newest first.

    A question is kept masked and without who asked; ``/forget`` finds a customer's questions
    by their words (``Customer.words``), and the retention sweep drops old ones (``trim_before``).
    """

    data_kind = "unanswered_questions"

    def __init__(self, redis: Redis, prefix: str, *, limit: int = MAX_LOGGED) -> None:
        self.redis, self.keys, self.limit = redis, KbKeys(prefix), limit
        self.key = self.keys.gaps()

    async def record(self, text: str, reason: str) -> None:
        """Log a question the bot could not answer, its personal data masked (it is kept for the
        operators' content-gap report, which needs the topic, not who asked)."""
        text = mask(text)
        item = json.dumps({"text": text, "reason": reason, "at": time.time()}, ensure_ascii=False)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lpush(self.key, item)
            pipe.ltrim(self.key, 0, self.limit - 1)
            await pipe.execute()

    async def recent(self, limit: int | None = None) -> list[GapQuestion]:
        raw = await self.redis.lrange(self.key, 0, (limit or self.limit) - 1)
        return [GapQuestion(**json.loads(r)) for r in raw]

    async def hold(self, cluster: GapCluster) -> str:
        """Keep a reported cluster under a short id, for a button pressed later (Telegram's
        callback data holds 64 bytes, not the cluster's questions)."""
        cluster_id = uuid.uuid4().hex[:12]
        data = {"label": cluster.label, "members": list(cluster.members)}
        await self.redis.set(
            self.keys.gap_cluster(cluster_id),
            json.dumps(data, ensure_ascii=False),
            ex=HELD_SECONDS,
        )
        return cluster_id

    async def held(self, cluster_id: str) -> tuple[str, list[str]] | None:
        """A held cluster's label and questions (None once it expired or was acted on)."""
        raw = await self.redis.get(self.keys.gap_cluster(cluster_id))
        if raw is None:
            return None
        data = json.loads(raw)
        return data["label"], data["members"]

    async def release(self, cluster_id: str) -> None:
        await self.redis.delete(self.keys.gap_cluster(cluster_id))

    async def dismiss(self, texts: Iterable[str]) -> int:
        """Remove every logged occurrence of these questions (case and spacing ignored)."""
        wanted = {text_key(t) for t in texts}
        raw = await self.redis.lrange(self.key, 0, -1)
        doomed = {r for r in raw if text_key(json.loads(r)["text"]) in wanted}
        if not doomed:
            return 0
        async with self.redis.pipeline(transaction=True) as pipe:
            for item in doomed:
                pipe.lrem(self.key, 0, item)  # by value: questions logged meanwhile stay
            return sum(await pipe.execute())

    async def export(self, customer: Customer) -> list[dict]:
        wanted = {text_key(mask(w)) for w in customer.words}
        if not wanted:
            return []
        raw = await self.redis.lrange(self.key, 0, -1)
        items = [json.loads(r) for r in raw]
        return [item for item in items if text_key(item["text"]) in wanted]

    async def forget(self, customer: Customer) -> int:
        """The customer's questions, from the log and from clusters held for operators' buttons."""
        masked = {mask(w) for w in customer.words}
        if not masked:
            return 0
        removed = await self.dismiss(masked)
        wanted = {text_key(t) for t in masked}
        async for key in self.redis.scan_iter(match=self.keys.gap_cluster("*"), count=1000):
            raw = await self.redis.get(key)
            if raw is None:
                continue
            data = json.loads(raw)
            kept = [m for m in data["members"] if text_key(m) not in wanted]
            if len(kept) == len(data["members"]):
                continue
            if not kept or text_key(data["label"]) in wanted:
                await self.redis.delete(key)  # its card named their words: it cannot be acted on
                continue
            data["members"] = kept
            await self.redis.set(key, json.dumps(data, ensure_ascii=False), keepttl=True)
        return removed

    async def age_out(self, cutoffs: Cutoffs) -> int:
        return await self.trim_before(cutoffs.delete_before)

    async def trim_before(self, cutoff: float) -> int:
        """Drop the questions logged before ``cutoff`` (a Unix time); how many went."""
        removed = 0
        while True:
            oldest = await self.redis.lindex(self.key, -1)
            if oldest is None or json.loads(oldest)["at"] >= cutoff:
                return removed
            # By value: a concurrent trim or dismissal may have taken it already.
            removed += await self.redis.lrem(self.key, -1, oldest)


def cluster_questions(
    questions: list[GapQuestion],
    vectors: Callable[[list[str]], np.ndarray],
    *,
    distance_threshold: float = 0.45,
    examples: int = 3,
) -> list[GapCluster]:
    """Clusters of similar questions, largest first; each with up to ``examples`` distinct examples."""
    if not questions:
        return []
    texts = [q.text for q in questions]
    if len(texts) == 1:
        labels = np.zeros(1, dtype=int)
        v = np.asarray(vectors(texts), dtype=np.float32)
    else:
        from sklearn.cluster import AgglomerativeClustering

        v = np.asarray(vectors(texts), dtype=np.float32)
        v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        labels = AgglomerativeClustering(
            n_clusters=None,
            distance_threshold=distance_threshold,
            metric="cosine",
            linkage="average",
        ).fit_predict(v)
    clusters = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        centre = v[members].mean(axis=0)
        order = members[np.argsort(-(v[members] @ centre))]
        shown: list[str] = []
        for i in order:
            if texts[i].lower() not in (s.lower() for s in shown):
                shown.append(texts[i])
            if len(shown) == examples:
                break
        reasons = Counter(questions[i].reason for i in members)
        distinct = tuple(dict.fromkeys(texts[i] for i in order))
        clusters.append(GapCluster(len(members), tuple(shown), dict(reasons), distinct))
    clusters.sort(key=lambda c: (-c.count, c.label))
    return clusters
