""" "Add to the knowledge base" suggestions: prefilled from an answered ticket, approved by operators.

A suggestion is pending until an operator approves it (it becomes a new entry, or a new phrasing
of an existing entry, in one knowledge-base version) or rejects it. Approval is claimed atomically,
so two operators pressing Approve at once add it once.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from common.pii import mask
from common.privacy import FORGOTTEN, Customer, Cutoffs
from knowledge_base.formats.markdown import slug
from knowledge_base.keys import KbKeys
from knowledge_base.loaders import validate_entry
from knowledge_base.store import CommitResult, KbEditError, KnowledgeBaseStore


class SuggestionStatus:
    PENDING = "pending"
    APPROVING = "approving"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(slots=True)
class Suggestion:
    id: str
    question: str
    answer: str
    created_by: str
    created_at: float
    status: str = SuggestionStatus.PENDING
    ticket_id: str = ""
    decided_by: str = ""
    decided_at: float = 0.0
    entry_id: str = ""  # the entry it became (or was added to)
    version: int = 0

    @classmethod
    def from_hash(cls, data: dict[str, str]) -> Suggestion:
        return cls(
            id=data["id"],
            question=data["question"],
            answer=data["answer"],
            created_by=data.get("created_by", ""),
            created_at=float(data.get("created_at") or 0),
            status=data.get("status", SuggestionStatus.PENDING),
            ticket_id=data.get("ticket_id", ""),
            decided_by=data.get("decided_by", ""),
            decided_at=float(data.get("decided_at") or 0),
            entry_id=data.get("entry_id", ""),
            version=int(data.get("version") or 0),
        )

    def to_hash(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}


class SuggestionStore:
    """Suggestions in Redis. One made from a ticket names it (``ticket_id``): ``/forget`` of
    that ticket's customer replaces its question (their words) and withdraws it if pending."""

    data_kind = "kb_suggestions"

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis, self.keys = redis, KbKeys(prefix)

    async def all(self, batch: int = 500) -> list[Suggestion]:
        """Every stored suggestion (ids are the numbers of ``suggestion-seq``)."""
        last = int(await self.redis.get(self.keys.suggestion_seq()) or 0)
        found: list[Suggestion] = []
        for start in range(1, last + 1, batch):
            async with self.redis.pipeline(transaction=False) as pipe:
                for n in range(start, min(start + batch, last + 1)):
                    pipe.hgetall(self.keys.suggestion(str(n)))
                found += [Suggestion.from_hash(data) for data in await pipe.execute() if data]
        return found

    async def export(self, customer: Customer) -> list[dict]:
        tickets = set(customer.tickets)
        return [asdict(s) for s in await self.all() if s.ticket_id and s.ticket_id in tickets]

    async def forget(self, customer: Customer) -> int:
        tickets = set(customer.tickets)
        changed = 0
        for suggestion in await self.all():
            if not suggestion.ticket_id or suggestion.ticket_id not in tickets:
                continue
            fields = {"question": FORGOTTEN, "answer": mask(suggestion.answer), "ticket_id": ""}
            async with self.redis.pipeline(transaction=True) as pipe:
                if suggestion.status == SuggestionStatus.PENDING:
                    fields.update(
                        status=SuggestionStatus.REJECTED,
                        decided_by="the customer's request to forget them",
                        decided_at=str(time.time()),
                    )
                    pipe.zrem(self.keys.suggestions_pending(), suggestion.id)
                pipe.hset(self.keys.suggestion(suggestion.id), mapping=fields)
                await pipe.execute()
            changed += 1
        return changed

    async def age_out(self, cutoffs: Cutoffs) -> int:
        return await self.delete_decided_before(cutoffs.delete_before)

    async def delete_decided_before(self, cutoff: float) -> int:
        """Delete approved / rejected suggestions decided before ``cutoff``; how many went."""
        doomed = [
            s.id
            for s in await self.all()
            if s.status in (SuggestionStatus.APPROVED, SuggestionStatus.REJECTED)
            and s.decided_at
            and s.decided_at < cutoff
        ]
        if doomed:
            await self.redis.delete(*(self.keys.suggestion(i) for i in doomed))
        return len(doomed)

    async def create(
        self,
        question: str,
        answer: str,
        created_by: str,
        *,
        ticket_id: str = "",
        entry_id: str = "",
    ) -> Suggestion:
        """A pending suggestion; with ``entry_id`` (an existing entry) it proposes ``question`` as
        a new phrasing of that entry, which approval adds unless the operator names another."""
        question, answer = question.strip(), answer.strip()
        if not question or not answer:
            raise KbEditError("a suggestion needs both a question and an answer")
        number = await self.redis.incr(self.keys.suggestion_seq())
        suggestion = Suggestion(
            id=str(number),
            question=question,
            answer=answer,
            created_by=created_by,
            created_at=time.time(),
            ticket_id=ticket_id,
            entry_id=entry_id,
        )
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.suggestion(suggestion.id), mapping=suggestion.to_hash())
            pipe.zadd(self.keys.suggestions_pending(), {suggestion.id: suggestion.created_at})
            await pipe.execute()
        return suggestion

    async def offer_once(self, ticket_id: str) -> bool:
        """True the first time it is asked for a ticket (the learning-loop button is shown once)."""
        return bool(
            await self.redis.set(
                self.keys.suggestion_offered(ticket_id), "1", nx=True, ex=30 * 86400
            )
        )

    async def get(self, suggestion_id: str) -> Suggestion | None:
        data = await self.redis.hgetall(self.keys.suggestion(suggestion_id))
        return Suggestion.from_hash(data) if data else None

    async def pending(self, limit: int = 50) -> list[Suggestion]:
        ids = await self.redis.zrange(self.keys.suggestions_pending(), 0, limit - 1)
        async with self.redis.pipeline(transaction=False) as pipe:
            for suggestion_id in ids:
                pipe.hgetall(self.keys.suggestion(suggestion_id))
            found = await pipe.execute()
        return [Suggestion.from_hash(data) for data in found if data]

    async def _claim(self, suggestion_id: str, status: str) -> Suggestion:
        """Move a pending suggestion to ``status``; KbEditError when it is not pending any more."""
        key = self.keys.suggestion(suggestion_id)

        async def claim_pending(pipe: Pipeline) -> Suggestion:
            data = await pipe.hgetall(key)
            if not data:
                raise KbEditError(f"no suggestion #{suggestion_id}")
            suggestion = Suggestion.from_hash(data)
            if suggestion.status != SuggestionStatus.PENDING:
                raise KbEditError(f"suggestion #{suggestion_id} is already {suggestion.status}")
            pipe.multi()
            pipe.hset(key, "status", status)
            return suggestion

        return await self.redis.transaction(claim_pending, key, value_from_callable=True)

    async def _finish(self, suggestion: Suggestion, **fields: str | int | float) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                self.keys.suggestion(suggestion.id),
                mapping={k: str(v) for k, v in fields.items()},
            )
            pipe.zrem(self.keys.suggestions_pending(), suggestion.id)
            await pipe.execute()

    async def approve(
        self,
        suggestion_id: str,
        kb_store: KnowledgeBaseStore,
        operator: str,
        *,
        entry_id: str | None = None,
        question: str | None = None,
        answer: str | None = None,
    ) -> tuple[Suggestion, CommitResult]:
        """Add the suggestion to the knowledge base as a new entry (or, with ``entry_id`` of an
        existing entry, its question as a new phrasing of that entry)."""
        suggestion = await self._claim(suggestion_id, SuggestionStatus.APPROVING)
        entry_id = entry_id or suggestion.entry_id or None  # proposed as a phrasing of it
        question = (question or suggestion.question).strip()
        answer = (answer or suggestion.answer).strip()
        try:
            _, live = await kb_store.current()
            if entry_id and live is not None and entry_id in live:
                result = await kb_store.add_phrasing(entry_id, question, operator)
                target = entry_id
            else:
                target = entry_id or _free_id(slug(question), live)
                entry = validate_entry(
                    {"id": target, "question": question, "answer": answer},
                    f"suggestion #{suggestion_id}",
                )
                result = await kb_store.add_entry(entry, operator)
        except BaseException:
            await self.redis.hset(
                self.keys.suggestion(suggestion_id), "status", SuggestionStatus.PENDING
            )
            raise
        version = result.version.number if result.version else 0
        await self._finish(
            suggestion,
            status=SuggestionStatus.APPROVED,
            decided_by=operator,
            decided_at=time.time(),
            entry_id=target,
            version=version,
        )
        suggestion.status, suggestion.entry_id, suggestion.version = "approved", target, version
        suggestion.decided_by = operator
        return suggestion, result

    async def reject(self, suggestion_id: str, operator: str) -> Suggestion:
        suggestion = await self._claim(suggestion_id, SuggestionStatus.REJECTED)
        await self._finish(
            suggestion,
            status=SuggestionStatus.REJECTED,
            decided_by=operator,
            decided_at=time.time(),
        )
        suggestion.status, suggestion.decided_by = SuggestionStatus.REJECTED, operator
        return suggestion


def _free_id(base: str, kb) -> str:
    if kb is None or base not in kb:
        return base
    n = 2
    while f"{base}-{n}" in kb:
        n += 1
    return f"{base}-{n}"
