"""Operators' work on the knowledge base, shared by the CLI, Telegram and the web console.

Every change goes through ``KnowledgeBaseStore`` (a new version with who / when / what, and a
``kb_changed`` event); the bot processes pick it up through their watcher. Imports are validated
whole first (``file:line: field: problem`` for every problem) and then quality-checked; quality
issues are reported, not refused. The learning loop lives here too: escalated questions feed the
content-gap report, and agents' replies in tickets become "add to knowledge base" suggestions.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from redis.asyncio import Redis

from bot.i18n import TextSource
from bot.services.events import DomainEvent, EventKind, EventRecorder, RedisEventLog
from bot.services.signals import EscalationReason, wants_human
from bot.store import Keys, TicketRepository, TurnRole
from common.pii import mask
from knowledge_base.formats import export_knowledge_base
from knowledge_base.gaps import GapCluster, GapLog, cluster_questions
from knowledge_base.loaders import KnowledgeBaseError, parse_knowledge_base, validate_entry
from knowledge_base.model import KnowledgeBase
from knowledge_base.quality import QualityIssue, check_quality
from knowledge_base.retrain import request_retrain, retrain_status
from knowledge_base.store import (
    BatchResult,
    CommitResult,
    KbEditError,
    KbVersion,
    KnowledgeBaseStore,
    PhrasingAdd,
)
from knowledge_base.suggestions import Suggestion, SuggestionStore
from knowledge_base.versions import KbDiff

log = logging.getLogger(__name__)

Vectors = Callable[[list[str]], np.ndarray]
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class LazyVectors:
    """Passage vectors from an embedder loaded on first use (CLI, console: no index of their own)."""

    def __init__(self, kind: str, model_path: Path | None = None) -> None:
        self.kind, self.model_path, self.embedder = kind, model_path, None

    def __call__(self, texts: list[str]) -> np.ndarray:
        if self.embedder is None:
            from retrieval.embedder import make_embedder

            embedder = make_embedder(self.kind, self.model_path)
            embedder.warm_up()
            self.embedder = embedder
        return self.embedder.encode(texts, kind="passage")


@dataclass(frozen=True, slots=True)
class ImportReport:
    """A committed import and the quality issues it brought (if any)."""

    result: CommitResult
    issues: list[QualityIssue] = field(default_factory=list)
    entries: int = 0


class KnowledgeService:
    def __init__(
        self,
        store: KnowledgeBaseStore,
        suggestions: SuggestionStore,
        gaps: GapLog,
        vectors: Vectors | None = None,
        *,
        tickets: TicketRepository,
        events: EventRecorder,
        executor: Executor | None = None,
    ) -> None:
        self.store = store
        self.suggestions = suggestions
        self.gaps = gaps
        self.vectors = vectors
        self.tickets = tickets  # read only: agents' replies to learn from
        self.events = events
        self.executor = executor

    @classmethod
    def build(
        cls,
        redis: Redis,
        prefix: str,
        vectors: Vectors | None = None,
        *,
        keep_versions: int = 100,
        executor: Executor | None = None,
        events: EventRecorder | None = None,
    ) -> KnowledgeService:
        keys = Keys(prefix)
        return cls(
            KnowledgeBaseStore(redis, prefix, keep_versions=keep_versions),
            SuggestionStore(redis, prefix),
            GapLog(redis, prefix),
            vectors,
            tickets=TicketRepository(redis, keys),
            events=events or RedisEventLog(redis, keys),
            executor=executor,
        )

    async def _off_loop(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    # ------------------------------------------------------------------ reading

    async def live(self) -> tuple[int, KnowledgeBase]:
        version, kb = await self.store.current()
        if kb is None:
            raise KbEditError("no knowledge base is stored yet; import one first")
        return version, kb

    async def history(self, limit: int = 20) -> list[KbVersion]:
        return await self.store.history(limit)

    async def diff(self, a: int, b: int) -> KbDiff:
        return await self.store.diff(a, b)

    async def export(self, fmt: str, version: int | None = None) -> str:
        kb = await self.store.at_version(version) if version else (await self.live())[1]
        return export_knowledge_base(kb, fmt)

    async def check(
        self, kb: KnowledgeBase | None = None, only_ids: Iterable[str] | None = None
    ) -> list[QualityIssue]:
        """Near-duplicates and misplaced phrasings (empty when no embedder is available)."""
        if self.vectors is None:
            return []
        kb = kb if kb is not None else (await self.live())[1]
        ids = list(only_ids) if only_ids is not None else None
        return await self._off_loop(lambda: check_quality(kb, self.vectors, only_ids=ids))

    async def gap_report(self, limit: int = 1000) -> list[GapCluster]:
        questions = await self.gaps.recent(limit)
        if not questions or self.vectors is None:
            return []
        return await self._off_loop(lambda: cluster_questions(questions, self.vectors))

    # ------------------------------------------------------------------ changing

    async def import_text(
        self, text: str, filename: str, author: str, *, replace: bool = False
    ) -> ImportReport:
        """Validate a whole file (KnowledgeBaseError lists every problem) and commit it."""
        suffix = Path(filename).suffix.lower()
        kb = parse_knowledge_base(text, suffix, filename)
        result = await self._committed(await self.store.import_kb(kb, author, replace=replace))
        touched = [*result.diff.added_ids, *result.diff.changed_ids]
        issues = await self.check(result.kb, only_ids=touched) if touched else []
        return ImportReport(result, issues, len(kb))

    async def import_bytes(
        self, data: bytes, filename: str, author: str, *, replace: bool = False
    ) -> ImportReport:
        if len(data) > MAX_UPLOAD_BYTES:
            raise KnowledgeBaseError([f"{filename}: larger than {MAX_UPLOAD_BYTES // 2**20} MB"])
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise KnowledgeBaseError(
                [f"{filename}: not UTF-8 text ({exc.reason} at byte {exc.start})"]
            ) from exc
        return await self.import_text(text, filename, author, replace=replace)

    async def add_entry(
        self,
        entry_id: str,
        question: str,
        answer: str,
        author: str,
        *,
        alternatives: Iterable[str] = (),
        tags: Iterable[str] = (),
    ) -> CommitResult:
        data = {
            "id": entry_id,
            "question": question,
            "answer": answer,
            "alternatives": list(alternatives),
            "tags": list(tags),
        }
        try:
            entry = validate_entry(data, entry_id or "entry")
        except KnowledgeBaseError as exc:
            raise KbEditError(exc.problems) from None
        return await self._committed(await self.store.add_entry(entry, author))

    async def edit_entry(self, entry_id: str, author: str, **fields) -> CommitResult:
        return await self._committed(await self.store.update_entry(entry_id, author, **fields))

    async def delete_entry(self, entry_id: str, author: str) -> CommitResult:
        return await self._committed(await self.store.delete_entry(entry_id, author))

    async def add_phrasing(self, entry_id: str, text: str, author: str) -> CommitResult:
        return await self._committed(await self.store.add_phrasing(entry_id, text, author))

    async def add_phrasings(
        self, adds: Sequence[PhrasingAdd], author: str, *, also=None
    ) -> BatchResult:
        """Many phrasings as one version (``KnowledgeBaseStore.add_phrasings``)."""
        batch = await self.store.add_phrasings(adds, author, also=also)
        await self._committed(batch.result)
        return batch

    async def remove_phrasing(self, entry_id: str, text: str, author: str) -> CommitResult:
        return await self._committed(await self.store.remove_phrasing(entry_id, text, author))

    async def add_out_of_scope(self, text: str, author: str) -> CommitResult:
        return await self._committed(await self.store.add_out_of_scope(text, author))

    async def remove_out_of_scope(self, text: str, author: str) -> CommitResult:
        return await self._committed(await self.store.remove_out_of_scope(text, author))

    async def rollback(self, number: int, author: str) -> CommitResult:
        return await self._committed(await self.store.rollback(number, author))

    async def _committed(self, result: CommitResult) -> CommitResult:
        """Record a new version as ``kb_changed`` (nothing when the change changed nothing)."""
        if result.version is not None:
            await self.events.record(
                DomainEvent(
                    EventKind.KB_CHANGED,
                    version=result.version.number,
                    actor=result.version.author,
                    # Ids and counts only: an out-of-scope text may be a customer's words.
                    summary=result.diff.summary(quote_texts=False),
                )
            )
        return result

    # ------------------------------------------------------------------ learning loop

    async def record_gap(self, text: str, reason: str) -> None:
        try:
            await self.gaps.record(text, reason)
        except Exception as exc:  # the report is best effort; never fail a customer's question
            log.warning("could not log an unanswered question: %s", exc)

    async def record_escalation(self, question: str, reason: EscalationReason) -> None:
        """Questions the bot could not answer feed the content-gap report (not "a human please",
        nor messages that were no question: emoji, keyboard mash, code…)."""
        if reason in (EscalationReason.ASKED_FOR_HUMAN, EscalationReason.UNCLEAR):
            return
        await self.record_gap(
            question, "unanswered" if reason is EscalationReason.LOW_CONFIDENCE else reason.value
        )

    async def offer_once(self, ticket_id: str) -> bool:
        """True the first time only: "add to knowledge base" is offered once per ticket."""
        return await self.suggestions.offer_once(ticket_id)

    async def kb_draft(self, ticket_id: str) -> tuple[str, str] | None:
        """("the customer's words", "the agent's latest reply") from a ticket, or None if no reply;
        personal data in either is masked (a suggestion may become an FAQ entry)."""
        ticket = await self.tickets.get(ticket_id)
        if ticket is None:
            return None
        transcript = await self.tickets.transcript(ticket_id)
        replies = [
            i for i, t in enumerate(transcript) if t.role == TurnRole.AGENT and t.text.strip()
        ]
        if not replies:
            return None
        last = replies[-1]
        question = customer_question(ticket.question, transcript[:last])
        return mask(question), mask(transcript[last].text.strip())

    async def ticket_question(self, ticket_id: str) -> str | None:
        """The customer's latest question in a ticket, as they wrote it (not masked); None if the
        ticket is gone or holds no question (only "a human please", button presses…)."""
        ticket = await self.tickets.get(ticket_id)
        if ticket is None:
            return None
        question = customer_question("", await self.tickets.transcript(ticket_id))
        if (
            not question
            and not ticket.question.startswith("[")
            and not wants_human(ticket.question)
        ):
            question = ticket.question
        return question or None

    async def suggest_from_ticket(self, ticket_id: str, author: str) -> Suggestion | None:
        """A pending "add to knowledge base" suggestion prefilled from the ticket's last reply."""
        draft = await self.kb_draft(ticket_id)
        if draft is None:
            return None
        question, answer = draft
        return await self.suggest(question, answer, author, ticket_id=ticket_id)

    async def dismiss_gap(self, questions: Iterable[str]) -> int:
        """Take handled questions out of the content-gap report; how many logged ones went."""
        return await self.gaps.dismiss(questions)

    async def suggest(
        self, question: str, answer: str, author: str, *, ticket_id: str = ""
    ) -> Suggestion:
        return await self.suggestions.create(question, answer, author, ticket_id=ticket_id)

    async def pending_suggestions(self) -> list[Suggestion]:
        return await self.suggestions.pending()

    async def approve(
        self,
        suggestion_id: str,
        author: str,
        *,
        entry_id: str | None = None,
        question: str | None = None,
        answer: str | None = None,
    ) -> tuple[Suggestion, CommitResult]:
        suggestion, result = await self.suggestions.approve(
            suggestion_id, self.store, author, entry_id=entry_id, question=question, answer=answer
        )
        return suggestion, await self._committed(result)

    async def reject(self, suggestion_id: str, author: str) -> Suggestion:
        return await self.suggestions.reject(suggestion_id, author)

    # ------------------------------------------------------------------ models

    async def request_retrain(self, author: str) -> None:
        await request_retrain(self.store, author)

    async def retrain_status(self) -> dict:
        return await retrain_status(self.store)


def customer_question(question: str, transcript) -> str:
    """The customer's latest real question in ``transcript`` (not a button press shown as
    ``[…]``, nor "a human please"); ``question`` (the ticket's) when there is none."""
    for turn in reversed(transcript):
        text = turn.text.strip()
        if (
            turn.role == TurnRole.CUSTOMER
            and text
            and not text.startswith("[")
            and not wants_human(text)
        ):
            return text
    return question


def describe_commit(result: CommitResult, texts: TextSource) -> str:
    """One line for an operator: the new version and what changed, or that nothing did."""
    if result.version is None:
        return texts.get("kb-nothing-changed")
    return texts.get(
        "kb-commit", version=str(result.version.number), summary=result.diff.summary()
    )


def describe_version(version: KbVersion, texts: TextSource) -> str:
    """One line of the history for an operator: number, when (UTC), who, what."""
    return texts.get(
        "kb-version-line",
        version=str(version.number),
        when=time.strftime("%Y-%m-%d %H:%M", time.gmtime(version.at)),
        author=version.author,
        summary=version.summary,
    )
