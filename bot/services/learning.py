"""Learning from confirmed answers: customers' own questions become phrasings of the entries.

A question whose answer was confirmed — 👍 on it, the customer's choice under "Did you mean …?",
or an agent's ``/reply kb:ENTRY`` in a ticket — is a candidate phrasing of that entry: masked
(``common.pii.mask``), skipped when abusive (``common.moderation``), compared with the served
phrasings and out-of-scope questions, and judged by the policy (``knowledge_base.learning``):

* **add**: a new phrasing in the versioned knowledge base, author ``learned`` (every worker
  serves it through its watcher), recorded with its evidence, customers and version. Adds wait
  in a Redis queue and are committed as ONE version per batch, at most every
  ``commit_every_s`` (``run``/``flush``; 0: each at once), so learning neither floods the kept
  versions nor reloads every worker once per phrasing;
* **suggest**: the operators' suggestions queue, as a new phrasing of that entry;
* **skip**: nothing (counted by reason). A candidate judged "few customers" waits (in Redis)
  and is judged again when more distinct customers confirm the entry.

The caps (distinct customers per entry, candidates per customer per day) are counted in Redis, so
every worker shares them: a flood of 👍 from one customer teaches nothing. 👎 never teaches; a
learned phrasing whose answers collect ``withdraw_after_downvotes`` 👎 (more 👎 than 👍, by
default: ``should_withdraw``) is withdrawn, and an
operator can undo any learned phrasing (``kb learned --undo``, the console's /kb/learned): each is
a new version, so history and rollback work as for any edit. A phrasing an operator removed or
reworded meanwhile is left as they made it.

Learning never fails the customer's action that triggered it, nor delays it: the handlers answer
the press (or send the chosen answer) first and learn afterwards; a fault is logged and skipped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from typing import TYPE_CHECKING

from bot.services.events import DomainEvent, EventKind, EventRecorder
from bot.store.learning import (
    LearnedPhrasing,
    LearnedStatus,
    LearningRepository,
    PendingCandidate,
    QueuedAdd,
)
from common.pii import mask
from knowledge_base.learning import (
    Action,
    Candidate,
    Evidence,
    LearningRules,
    Neighbours,
    Verdict,
    judge,
    neighbours,
    should_withdraw,
)
from knowledge_base.model import text_key
from knowledge_base.store import CommitResult, KbEditError, KbVersion, PhrasingAdd

if TYPE_CHECKING:
    from bot.i18n import TextSource
    from bot.services.knowledge import KnowledgeService
    from bot.services.live import LiveModels
    from bot.store import AnswerRecord

log = logging.getLogger(__name__)

LEARNED_AUTHOR = "learned"  # the author of the versions learning makes
FEW_CUSTOMERS = "few_customers"


class LearningService:
    """Turns confirmations into phrasings (or suggestions), and takes them back."""

    def __init__(
        self,
        knowledge: KnowledgeService,
        repository: LearningRepository,
        rules: LearningRules,
        *,
        events: EventRecorder,
        abusive: Callable[[str], bool] | None = None,
        executor: Executor | None = None,
        live: LiveModels | None = None,
        vote_ttl_s: int = 7 * 24 * 3600,
        max_age_s: float = 72 * 3600,
        commit_every_s: float = 0.0,
    ) -> None:
        self.knowledge = knowledge
        self.repository = repository
        self.rules = rules
        self.events = events
        self.abusive = abusive
        self.executor = executor
        self.live = live  # the served models (None: operators' tools list and undo only)
        self.vote_ttl_s = vote_ttl_s
        # Evidence older than the conversation's retention teaches nothing (its answer outlives
        # the conversation, so its buttons still work).
        self.max_age_s = max_age_s
        # Automatic adds wait in a Redis queue and are committed as one version at most this
        # often (``run``); 0: each is committed at once, as its own version.
        self.commit_every_s = commit_every_s

    # ------------------------------------------------------------------ evidence

    async def thumbs_up(self, record: AnswerRecord) -> Verdict | None:
        """👍 on an answer (counted once per answer, however often it is pressed)."""
        if record.entry_id is None:
            return None
        if not await self.repository.first_vote(record.answer_id, "up", self.vote_ttl_s):
            return None
        if record.phrasing:  # found through a learned phrasing: it helped
            try:
                learned = await self.repository.live_for(record.entry_id, record.phrasing)
                if learned is not None:
                    await self.repository.vote(learned.id, helpful=True)
            except Exception:
                log.exception("a 👍 on a learned phrasing was not counted")
        return await self.confirmed(
            record.chat_id,
            record.question,
            record.entry_id,
            Evidence.THUMBS_UP,
            record.confidence,
            at=record.at,
        )

    async def chosen(
        self,
        chat_id: int,
        question: str,
        entry_id: str,
        confidence: float,
        at: float | None = None,
        rejected: str | None = None,
    ) -> Verdict | None:
        """The customer picked ``entry_id`` under "Did you mean …?" for ``question`` (asked
        ``at``); ``rejected``: the entry whose answer they had just 👎 when these were offered
        (the question is near it by construction, so the margin rule leaves it out)."""
        return await self.confirmed(
            chat_id,
            question,
            entry_id,
            Evidence.DID_YOU_MEAN,
            confidence,
            at=at,
            rejected=rejected,
        )

    async def agent_answered(self, ticket_id: str, chat_id: int, entry_id: str) -> Verdict | None:
        """An agent answered the ticket with the entry's answer (``/reply kb:ENTRY``)."""
        question = await self.knowledge.ticket_question(ticket_id)
        if question is None:
            return None
        return await self.confirmed(chat_id, question, entry_id, Evidence.AGENT, 1.0)

    async def thumbs_down(self, record: AnswerRecord) -> LearnedPhrasing | None:
        """👎 on an answer: teaches nothing; an answer given through a learned phrasing counts
        against it, and enough 👎 withdraw it. The withdrawn record, if one was."""
        if not record.entry_id or not record.phrasing:
            return None
        try:
            learned = await self.repository.live_for(record.entry_id, record.phrasing)
            if learned is None:
                return None
            if not await self.repository.first_vote(record.answer_id, "down", self.vote_ttl_s):
                return None
            voted = await self.repository.vote(learned.id, helpful=False)
            if voted is None or not should_withdraw(voted.downvotes, voted.upvotes, self.rules):
                return None
            ended, _ = await self._end(voted, LearnedStatus.WITHDRAWN, "👎", "downvotes")
            return ended
        except KbEditError as exc:  # another worker or an operator is taking it out
            log.info("learned phrasing not withdrawn: %s", exc)
            return None
        except Exception:
            log.exception("a learned phrasing could not be withdrawn; it stays")
            return None

    async def confirmed(
        self,
        chat_id: int,
        question: str,
        entry_id: str,
        evidence: Evidence,
        confidence: float,
        *,
        at: float | None = None,
        rejected: str | None = None,
    ) -> Verdict | None:
        """One confirmation of a question asked ``at`` (default: now); the verdict on it (None
        when learning could not run). ``rejected``: an entry left out of the comparison with
        other entries (the one the customer 👎 before choosing this one)."""
        try:
            if at is not None and time.time() - at > self.max_age_s:
                return await self._skipped(Verdict(Action.SKIP, "too_old"))
            return await self._confirmed(
                chat_id, question, entry_id, evidence, confidence, rejected
            )
        except Exception:
            log.exception("learning from a confirmed answer failed; nothing learned")
            return None

    async def _confirmed(
        self,
        chat_id: int,
        question: str,
        entry_id: str,
        evidence: Evidence,
        confidence: float,
        rejected: str | None = None,
    ) -> Verdict:
        rules = self.rules
        if not rules.enabled:
            return await self._skipped(Verdict(Action.SKIP, "disabled"))
        text = mask(" ".join(question.split()))
        if self.abusive is not None and self.abusive(question):
            return await self._skipped(Verdict(Action.SKIP, "abusive"))
        customer = await self.repository.customer_key(chat_id)
        customers = await self.repository.confirm(entry_id, customer)
        # An agent's mapping is staff evidence: it does not use up the customer's daily share.
        today = 0 if evidence is Evidence.AGENT else await self.repository.count_today(customer)
        candidate = Candidate(text, entry_id, evidence, customer, confidence)
        verdict = await self._judge(candidate, customers=customers, today=today, rejected=rejected)
        await self._act(candidate, verdict, customers, rejected)
        if verdict.reason != FEW_CUSTOMERS and customers >= rules.min_customers:
            await self._promote(entry_id, customers)
        return verdict

    async def _judge(
        self, candidate: Candidate, *, customers: int, today: int, rejected: str | None = None
    ) -> Verdict:
        if not candidate.text.strip():
            return Verdict(Action.SKIP, "empty")
        _, kb = await self.knowledge.live()
        entry = kb.get(candidate.entry_id)
        if entry is None:
            return Verdict(Action.SKIP, "unknown_entry")
        present = any(text_key(p) == text_key(candidate.text) for p in entry.phrasings)
        learned = await self.repository.live_for(candidate.entry_id, candidate.text)
        if learned is not None and not present:
            # Learned, then removed by an operator's own edit: recorded, and not learned again.
            await self.repository.end(learned, LearnedStatus.GONE, "operator", 0)
        if await self.repository.blocked(candidate.entry_id, candidate.text):
            return Verdict(Action.SKIP, "taken_out")
        if present:
            return Verdict(Action.SKIP, "duplicate")
        near = await self._neighbours(candidate, rejected)
        return judge(candidate, near, self.rules, entry_customers=customers, customer_today=today)

    async def _neighbours(self, candidate: Candidate, rejected: str | None = None) -> Neighbours:
        if self.live is None:
            raise RuntimeError("learning needs the served models")
        retriever = self.live.retriever

        def compare() -> Neighbours:
            vectors, owners, oos = retriever.served_vectors()
            vector = retriever.phrasing_vectors([candidate.text])[0]
            return neighbours(vector, vectors, owners, candidate.entry_id, oos, exclude=rejected)

        return await asyncio.get_running_loop().run_in_executor(self.executor, compare)

    async def _act(
        self, candidate: Candidate, verdict: Verdict, customers: int, rejected: str | None = None
    ) -> None:
        if verdict.reason == FEW_CUSTOMERS:
            # Judged again when more customers confirm the entry (or aged out).
            await self.repository.keep_pending(
                PendingCandidate(
                    candidate.text,
                    candidate.entry_id,
                    str(candidate.evidence),
                    candidate.customer,
                    candidate.confidence,
                    time.time(),
                    rejected,
                )
            )
            await self.repository.count("wait", verdict.reason)
        elif verdict.action is Action.ADD:
            await self._add(candidate, customers)
        elif verdict.action is Action.SUGGEST:
            await self._suggest(candidate, verdict)
        else:
            await self._skipped(verdict)

    async def _promote(self, entry_id: str, customers: int) -> None:
        """Judge again the candidates of ``entry_id`` that waited for more customers."""
        for waiting in await self.repository.pending(entry_id):
            if not await self.repository.drop_pending(waiting):
                continue  # another worker took it
            candidate = Candidate(
                waiting.text,
                waiting.entry_id,
                Evidence(waiting.evidence),
                waiting.customer,
                waiting.confidence,
            )
            # Its customer's daily cap was applied when it arrived.
            verdict = await self._judge(
                candidate, customers=customers, today=0, rejected=waiting.rejected
            )
            await self._act(candidate, verdict, customers, waiting.rejected)

    async def _add(self, candidate: Candidate, customers: int) -> None:
        hold = 60 + 2 * self.commit_every_s  # until the batch it joins is committed
        if not await self.repository.claim_add(candidate.entry_id, candidate.text, hold):
            await self._skipped(Verdict(Action.SKIP, "duplicate"))
            return
        item = QueuedAdd(
            candidate.entry_id,
            candidate.text,
            str(candidate.evidence),
            customers,
            time.time(),
        )
        if self.commit_every_s > 0:
            await self.repository.queue_add(item)  # committed by the next batch (``flush``)
            return
        await self._commit([item])

    # ------------------------------------------------------------------ batches

    async def run(self) -> None:
        """Commit the queued adds as one version at most every ``commit_every_s`` (any worker
        may; one at a time). Started in every bot worker; the first round commits what an
        earlier process left queued."""
        while True:
            try:
                await self.flush_once()
            except Exception:
                log.exception("learned phrasings not committed; trying again later")
            await asyncio.sleep(self.commit_every_s or 60)

    async def flush_once(self) -> list[LearnedPhrasing] | None:
        """``flush``, unless another worker committed within the interval (then None)."""
        hold = max(0.1, 0.9 * self.commit_every_s)
        if not await self.repository.claim_flush(hold):
            return None
        return await self.flush()

    async def flush(self) -> list[LearnedPhrasing]:
        """Commit every queued add, one version per batch (normally one batch: the queue; more
        when a flusher died before finishing its batch); the learned records."""
        learned: list[LearnedPhrasing] = []
        for token, items in await self.repository.batches():
            try:
                learned += await self._commit(items, token)
            except KbEditError as exc:  # e.g. the live version is missing: kept for next time
                log.warning("a batch of %d learned phrasings not committed: %s", len(items), exc)
        return learned

    async def _commit(
        self, items: list[QueuedAdd], token: str | None = None
    ) -> list[LearnedPhrasing]:
        """``items`` as one version, with their learned records (and, for a batch, its removal
        from the queue) in the version's own MULTI; one ``phrasing_learned`` event each."""
        if not items:
            if token is not None:
                await self.repository.drop_batch(token)
            return []
        ids = await self.repository.reserve_ids(len(items))
        records: list[LearnedPhrasing] = []

        def also(pipe, version: KbVersion, skipped: tuple[str | None, ...]) -> None:
            records.clear()  # the commit is recomputed when another edit came first
            added = [item for item, reason in zip(items, skipped, strict=True) if not reason]
            for learned_id, item in zip(ids, added, strict=False):
                record = LearnedPhrasing(
                    learned_id,
                    item.entry_id,
                    item.text,
                    item.evidence,
                    item.customers,
                    version.number,
                    version.at,
                )
                self.repository.write_learned(pipe, record)
                records.append(record)
            if token is not None:
                self.repository.batch_done(pipe, token)

        adds = [PhrasingAdd(item.entry_id, item.text) for item in items]
        batch = await self.knowledge.add_phrasings(adds, LEARNED_AUTHOR, also=also)
        if batch.result.version is None:
            records.clear()
            if token is not None:
                await self.repository.drop_batch(token)
        for reason in batch.skipped:
            if reason:  # the entry went, or the text clashes with an edit made meanwhile
                await self._skipped(
                    Verdict(Action.SKIP, "duplicate" if reason == "duplicate" else "kb_refused")
                )
        for record in records:
            await self.repository.count(str(Action.ADD), "confirmed")
            await self.events.record(
                DomainEvent(
                    EventKind.PHRASING_LEARNED,
                    entry_id=record.entry_id,
                    version=record.version,
                    reason=record.evidence,
                    score=record.customers,
                    actor=LEARNED_AUTHOR,
                )
            )
        if len(records) > 1:
            log.info("learned %d phrasings in version %d", len(records), records[0].version)
        return records

    async def _suggest(self, candidate: Candidate, verdict: Verdict) -> None:
        await self.repository.count(str(Action.SUGGEST), verdict.reason)
        if not await self.repository.suggest_once(candidate.entry_id, candidate.text):
            return  # already queued once
        _, kb = await self.knowledge.live()
        entry = kb.get(candidate.entry_id)
        if entry is None:
            return
        await self.knowledge.suggestions.create(
            candidate.text,
            entry.answer,
            f"{LEARNED_AUTHOR} ({candidate.evidence}, {verdict.reason})",
            entry_id=candidate.entry_id,
        )

    async def _skipped(self, verdict: Verdict) -> Verdict:
        await self.repository.count(str(verdict.action), verdict.reason)
        return verdict

    # ------------------------------------------------------------------ operators

    async def learned(self, limit: int = 100) -> list[LearnedPhrasing]:
        return await self.repository.learned(limit)

    async def stats(self) -> dict[str, int]:
        """Decisions counted by reason; ``add:queued``: adds waiting for the next batch commit."""
        counts = await self.repository.stats()
        queued = await self.repository.queued()
        if queued:
            counts["add:queued"] = queued
        return counts

    async def undo(self, learned_id: str, who: str) -> tuple[LearnedPhrasing, CommitResult | None]:
        """Take a learned phrasing out of its entry (a new version); KbEditError when there is
        no such learned phrasing or it was already taken out. The result is None when an
        operator had removed or reworded it already (their change is kept)."""
        record = await self.repository.get(learned_id.strip().lstrip("#"))
        if record is None:
            raise KbEditError(f"no learned phrasing #{learned_id}")
        if record.status != LearnedStatus.LIVE:
            raise KbEditError(f"learned phrasing #{record.id} is already {record.status}")
        return await self._end(record, LearnedStatus.UNDONE, who, "undone")

    async def _end(
        self, record: LearnedPhrasing, status: str, who: str, reason: str
    ) -> tuple[LearnedPhrasing, CommitResult | None]:
        if not await self.repository.claim_end(record.id):
            raise KbEditError(f"learned phrasing #{record.id} is being taken out already")
        try:
            current = await self.repository.get(record.id)
            if current is None or current.status != LearnedStatus.LIVE:
                raise KbEditError(f"learned phrasing #{record.id} is already {record.status}")
            author = (
                f"{who}: undo learned #{record.id}"
                if reason == "undone"
                else (f"{LEARNED_AUTHOR}: withdrawn #{record.id} ({reason})")
            )
            result: CommitResult | None
            try:
                result = await self.knowledge.remove_phrasing(record.entry_id, record.text, author)
            except KbEditError:
                # An operator removed or reworded it (or deleted the entry) meanwhile: nothing
                # to take out, and their change stays as they made it.
                result, status, reason = None, LearnedStatus.GONE, "gone"
            version = result.version.number if result and result.version else 0
            ended = await self.repository.end(current, status, who, version)
        finally:
            await self.repository.release_end(record.id)
        await self.events.record(
            DomainEvent(
                EventKind.PHRASING_WITHDRAWN,
                entry_id=record.entry_id,
                version=version or None,
                reason=reason,
                actor=who,
            )
        )
        return ended, result


async def undo_learned(
    learning: LearningService, learned_id: str, who: str, texts: TextSource
) -> str:
    """Undo a learned phrasing for an operator; the line that says what happened (KbEditError
    when there is nothing to undo)."""
    from bot.services.knowledge import describe_commit

    record, result = await learning.undo(learned_id, who)
    if result is None:
        return texts.get("kb-learned-gone", id=record.id, entry=record.entry_id)
    return texts.get(
        "kb-learned-undone",
        id=record.id,
        entry=record.entry_id,
        commit=describe_commit(result, texts),
    )
