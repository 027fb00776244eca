"""Drafts for operators in Redis: written by ``models/drafting.py``, kept until approved or discarded.

A draft is never sent to a customer. It is pending until an operator approves it (a rewrite becomes
an edit of its entry, an entry draft a new entry: each one knowledge-base version, made by the
service) or discards it. Its id is random, so a URL or a button cannot name another draft by
counting; an id that is not a stored draft is refused. Drafts expire after ``KEEP_SECONDS``: an entry
draft holds customers' wordings and agents' replies (masked), which need not be kept longer.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from common.pii import mask
from common.privacy import Customer
from knowledge_base.keys import KbKeys
from knowledge_base.model import text_key
from knowledge_base.store import KbEditError
from models.drafting import DraftPart

KEEP_SECONDS = 14 * 24 * 3600
_ID = re.compile(r"^[0-9a-f]{10}$")


class DraftKind(StrEnum):
    ENTRY = "entry"  # an entry composed from agents' answers to a content-gap cluster
    REWRITE = "rewrite"  # an entry's answer rewritten in a style
    COPY = "copy"  # product description and channel post from an operator's facts


class DraftStatus(StrEnum):
    PENDING = "pending"
    APPROVING = "approving"
    APPROVED = "approved"
    DISCARDED = "discarded"
    REFUSED = "refused"  # every text failed the checks: shown with why, never stored


class DraftNotFoundError(KbEditError):
    """A draft id that names no stored draft (mistyped, forged, expired)."""


@dataclass(slots=True)
class Draft:
    id: str
    kind: DraftKind
    created_by: str
    created_at: float
    parts: list[DraftPart]
    original: str = ""  # rewrite: the answer it rewrites; copy: the facts; entry: agents' replies
    entry_id: str = ""  # rewrite: the entry; entry: the id it was added as
    style: str = ""  # rewrite: shorter | friendlier | steps
    question: str = ""  # entry: the cluster's representative question
    phrasings: list[str] = field(default_factory=list)  # entry: the customers' other wordings
    members: list[str] = field(default_factory=list)  # entry: the cluster, dismissed on approval
    tickets: list[str] = field(default_factory=list)  # entry: the tickets the replies came from
    status: DraftStatus = DraftStatus.PENDING
    decided_by: str = ""
    version: int = 0  # the knowledge-base version the approval made

    def part(self, label: str) -> DraftPart | None:
        return next((p for p in self.parts if p.label == label), None)

    @property
    def usable(self) -> list[DraftPart]:
        return [p for p in self.parts if p.ok]

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> Draft:
        data = json.loads(raw)
        data["parts"] = [
            DraftPart(**{**p, "unsupported": tuple(p["unsupported"])}) for p in data["parts"]
        ]
        data["kind"], data["status"] = DraftKind(data["kind"]), DraftStatus(data["status"])
        return cls(**data)


class DraftStore:
    """Drafts as JSON values with a time to live, and an index of them by age.

    An entry draft names the tickets its replies came from and holds customers' wordings
    (masked): ``/mydata`` exports and ``/forget`` deletes the drafts that hold a customer's
    tickets or words, whatever their status.
    """

    data_kind = "kb_drafts"

    def __init__(self, redis: Redis, prefix: str, *, keep_seconds: int = KEEP_SECONDS) -> None:
        self.redis, self.keys, self.keep_seconds = redis, KbKeys(prefix), keep_seconds

    async def create(self, kind: DraftKind, created_by: str, parts: list[DraftPart], **fields):
        """Store a new pending draft (one of its parts at least passed the checks)."""
        if not any(p.ok for p in parts):
            raise KbEditError("nothing to keep: every text of this draft was refused")
        draft = Draft(secrets.token_hex(5), kind, created_by, time.time(), parts, **fields)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.draft(draft.id), draft.to_json(), ex=self.keep_seconds)
            pipe.zadd(self.keys.drafts(), {draft.id: draft.created_at})
            await pipe.execute()
        return draft

    async def get(self, draft_id: str) -> Draft | None:
        if not _ID.match(draft_id or ""):
            return None
        raw = await self.redis.get(self.keys.draft(draft_id))
        return Draft.from_json(raw) if raw else None

    async def require(self, draft_id: str) -> Draft:
        draft = await self.get(draft_id)
        if draft is None:
            raise DraftNotFoundError(f"no draft {draft_id[:40]!r} (mistyped, or expired)")
        return draft

    async def recent(self, limit: int = 50) -> list[Draft]:
        """The newest drafts first (expired ones leave the index as they are met)."""
        ids = await self.redis.zrevrange(self.keys.drafts(), 0, limit - 1)
        if not ids:
            return []
        raws = await self.redis.mget([self.keys.draft(i) for i in ids])
        gone = [i for i, raw in zip(ids, raws, strict=True) if raw is None]
        if gone:
            await self.redis.zrem(self.keys.drafts(), *gone)
        return [Draft.from_json(raw) for raw in raws if raw]

    async def claim(self, draft_id: str, status: DraftStatus = DraftStatus.APPROVING) -> Draft:
        """Move a pending draft to ``status`` (one operator wins when two decide at once)."""
        draft = await self.require(draft_id)
        key = self.keys.draft(draft.id)

        async def claim_pending(pipe: Pipeline) -> Draft:
            raw = await pipe.get(key)
            if raw is None:
                raise DraftNotFoundError(f"no draft {draft_id!r} (expired)")
            found = Draft.from_json(raw)
            if found.status is not DraftStatus.PENDING:
                raise KbEditError(f"draft {draft_id} is already {found.status.value}")
            found.status = status
            pipe.multi()
            pipe.set(key, found.to_json(), keepttl=True)
            return found

        return await self.redis.transaction(claim_pending, key, value_from_callable=True)

    async def save(self, draft: Draft) -> None:
        """Write a claimed draft's outcome (or put it back to pending)."""
        await self.redis.set(self.keys.draft(draft.id), draft.to_json(), keepttl=True)

    async def _of(self, customer: Customer) -> list[Draft]:
        tickets = set(customer.tickets)
        words = {text_key(mask(w)) for w in customer.words}
        found = []
        for draft in await self.recent(limit=10_000):
            said = {text_key(t) for t in (draft.question, *draft.phrasings, *draft.members)}
            if tickets & set(draft.tickets) or (words & said):
                found.append(draft)
        return found

    async def export(self, customer: Customer) -> list[dict]:
        return [asdict(d) for d in await self._of(customer)]

    async def forget(self, customer: Customer) -> int:
        doomed = [d.id for d in await self._of(customer)]
        if doomed:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(*(self.keys.draft(i) for i in doomed))
                pipe.zrem(self.keys.drafts(), *doomed)
                await pipe.execute()
        return len(doomed)
