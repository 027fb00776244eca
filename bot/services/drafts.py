"""Drafts for operators: shared by Telegram (``/draft``), the console (``/kb/drafts``) and the CLI.

``models/drafting.py`` writes and checks the texts; this service finds what they are written from
(an entry of the live knowledge base, the tickets agents answered for a content-gap cluster),
keeps the drafts that passed (``knowledge_base/drafts.py``) and turns an approved one into a
knowledge-base change through ``KnowledgeService`` (one new version, recorded as every change is).
A draft is never sent to a customer. A refused text is returned with why and nothing is stored;
bad input (no facts, an unknown entry or style, a forged id) raises a ``KbEditError`` that each
surface shows, and changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Executor

from bot.i18n import TextSource
from bot.services.knowledge import KnowledgeService
from bot.store import TicketRepository, TurnRole
from common.pii import mask
from knowledge_base.drafts import Draft, DraftKind, DraftStatus, DraftStore
from knowledge_base.formats.markdown import slug
from knowledge_base.model import text_key
from knowledge_base.store import CommitResult, KbEditError
from models.drafting import DraftInputError, DraftPart, DraftWriter, ProductFacts, RewriteStyle
from models.generator import Generator
from models.grounding import GroundingGuard
from retrieval.embedder import Embedder

log = logging.getLogger(__name__)

REPLIES_PER_CLUSTER = 20  # agents' replies an entry draft is composed from, at most


def writer_for(generator: Generator, embedder: Embedder, min_similarity: float) -> DraftWriter:
    """Drafts written with ``generator`` when it is the fine-tuned model, checked by its guard;
    otherwise (verbatim replies) by the rules and extracts alone, checked with ``embedder``."""
    from models.llm import SmolLMGenerator

    if isinstance(generator, SmolLMGenerator):
        name = generator.model_dir.name if generator.model_dir else generator.name
        return DraftWriter(generator.guard, generator.write, name)
    return DraftWriter(GroundingGuard(embedder, min_similarity))


class DraftService:
    """Writes, keeps and decides drafts; ``writer`` gives the current ``DraftWriter`` (called on a
    worker thread: it may load the models on first use)."""

    def __init__(
        self,
        knowledge: KnowledgeService,
        store: DraftStore,
        writer: Callable[[], DraftWriter],
        *,
        executor: Executor | None = None,
    ) -> None:
        self.knowledge, self.store, self.writer = knowledge, store, writer
        self.executor = executor if executor is not None else knowledge.executor

    @property
    def tickets(self) -> TicketRepository:
        return self.knowledge.tickets

    async def _write(self, fn: Callable[[DraftWriter], object]):
        def run():
            return fn(self.writer())

        return await asyncio.get_running_loop().run_in_executor(self.executor, run)

    async def _keep(self, kind: DraftKind, author: str, parts, **fields) -> Draft:
        """A draft with a passing text is stored; an all-refused one is returned, not stored."""
        if any(p.ok for p in parts):
            return await self.store.create(kind, author, list(parts), **fields)
        return Draft("", kind, author, 0.0, list(parts), status=DraftStatus.REFUSED, **fields)

    # ------------------------------------------------------------------ writing

    async def rewrite(self, entry_id: str, style: str, author: str) -> Draft:
        """The entry's answer rewritten in ``style``; REFUSED (not stored) when it fails the
        grounding checks."""
        try:
            style = RewriteStyle((style or "").strip().lower())
        except ValueError:
            styles = "|".join(s.value for s in RewriteStyle)
            raise KbEditError(f"unknown style {style!r}; expected {styles}") from None
        version, kb = await self.knowledge.live()
        entry = kb.get((entry_id or "").strip())
        if entry is None:
            raise KbEditError(f"no entry {entry_id!r} in v{version}")
        part = await self._write(lambda w: w.rewrite(entry, style))
        return await self._keep(
            DraftKind.REWRITE, author, [part], original=entry.answer, entry_id=entry.id,
            style=style.value, question=entry.question,
        )  # fmt: skip

    async def product_copy(self, facts: str | ProductFacts, author: str) -> Draft:
        """A description and a channel post from the operator's facts alone (typed as
        ``name=…; features=a, b; price=…; offer=…``, or already parsed)."""
        try:
            if isinstance(facts, str):
                facts = ProductFacts.parse(facts)
            if facts.empty:
                raise DraftInputError("no facts given: name=…; features=…; price=…; offer=…")
            given = facts
            parts = await self._write(lambda w: w.product_copy(given))
        except DraftInputError as exc:
            raise KbEditError(str(exc)) from None
        return await self._keep(DraftKind.COPY, author, parts, original=facts.describe())

    async def entry_from_gaps(self, author: str) -> Draft:
        """An entry for the largest content-gap cluster whose tickets agents answered."""
        clusters = await self.knowledge.gap_report()
        if not clusters:
            raise KbEditError("no content gaps: no unanswered or escalated questions are logged")
        asked = await self.tickets.questions()
        for cluster in clusters:
            tickets, replies = await self._answers(cluster.members, asked)
            if not replies:
                continue
            composed = await self._write(
                lambda w, c=cluster, r=replies: w.entry(c.label, c.members, r)
            )
            return await self._keep(
                DraftKind.ENTRY, author, [composed.answer], original="\n\n".join(composed.sources),
                question=composed.question, phrasings=list(composed.phrasings),
                members=list(cluster.members), tickets=tickets,
            )  # fmt: skip
        raise KbEditError("no content-gap cluster has tickets that agents answered yet")

    async def _answers(
        self, members: tuple[str, ...], asked: list[tuple[str, str]]
    ) -> tuple[list[str], list[str]]:
        """The tickets whose question is one of the cluster's, and their agents' replies."""
        wanted = {text_key(m) for m in members}
        tickets, replies = [], []
        for ticket_id, question in asked:
            if text_key(mask(question)) not in wanted:
                continue
            said = [
                t.text.strip()
                for t in await self.tickets.transcript(ticket_id)
                if t.role == TurnRole.AGENT and t.text.strip()
            ]
            if said:
                tickets.append(ticket_id)
                replies += said
            if len(replies) >= REPLIES_PER_CLUSTER:
                break
        return tickets, replies[:REPLIES_PER_CLUSTER]

    # ------------------------------------------------------------------ reading

    async def recent(self, limit: int = 50) -> list[Draft]:
        return await self.store.recent(limit)

    async def get(self, draft_id: str) -> Draft:
        """The stored draft (KbEditError for an unknown, forged or expired id)."""
        return await self.store.require(draft_id)

    # ------------------------------------------------------------------ deciding

    async def approve(
        self,
        draft_id: str,
        author: str,
        *,
        text: str | None = None,
        question: str | None = None,
        phrasings: list[str] | None = None,
        entry_id: str | None = None,
    ) -> tuple[Draft, CommitResult | None]:
        """Approve a pending draft, with the operator's edits: a rewrite becomes the entry's new
        answer, an entry draft a new entry (its cluster leaves the gap report); copy is approved
        for the operator to use (the knowledge base does not change)."""
        draft = await self.store.claim(draft_id)
        try:
            result = await self._apply(draft, author, text, question, phrasings, entry_id)
        except BaseException:
            draft.status = DraftStatus.PENDING
            await self.store.save(draft)
            raise
        draft.status, draft.decided_by = DraftStatus.APPROVED, author
        if result is not None and result.version is not None:
            draft.version = result.version.number
        await self.store.save(draft)
        return draft, result

    async def _apply(
        self,
        draft: Draft,
        author: str,
        text: str | None,
        question: str | None,
        phrasings: list[str] | None,
        entry_id: str | None,
    ) -> CommitResult | None:
        answer = (text or "").strip() or (draft.usable[0].text if draft.usable else "")
        if draft.kind is DraftKind.REWRITE:
            version, kb = await self.knowledge.live()
            entry = kb.get(draft.entry_id)
            if entry is None:
                raise KbEditError(f"entry {draft.entry_id!r} is gone (v{version}); discard it")
            if entry.answer != draft.original:
                raise KbEditError(
                    f"entry {draft.entry_id!r} changed since this draft was written; "
                    "write a new draft"
                )
            return await self.knowledge.edit_entry(draft.entry_id, author, answer=answer)
        if draft.kind is DraftKind.ENTRY:
            question = (question or "").strip() or draft.question
            wordings = draft.phrasings if phrasings is None else phrasings
            _, kb = await self.knowledge.live()
            target = (entry_id or "").strip() or _free_id(slug(question), kb)
            result = await self.knowledge.add_entry(
                target, question, answer, author, alternatives=wordings
            )
            draft.entry_id = target
            if draft.members:
                await self.knowledge.dismiss_gap(draft.members)
            return result
        return None

    async def discard(self, draft_id: str, author: str) -> Draft:
        draft = await self.store.claim(draft_id, DraftStatus.DISCARDED)
        draft.decided_by = author
        await self.store.save(draft)
        return draft


def _part(part: DraftPart, i18n: TextSource) -> str:
    if part.ok:
        return i18n.get("draft-part", label=part.label, method=part.method, text=part.text)
    return i18n.get(
        "draft-part-refused", label=part.label, method=part.method, why=part.why(),
        text=part.text or "-",
    )  # fmt: skip


def render_draft(draft: Draft, i18n: TextSource) -> str:
    """The draft as the operator reads it: marked DRAFT (or REFUSED), what it was written from,
    and each text with how it was written."""
    if draft.status is DraftStatus.REFUSED:
        head = i18n.get("draft-refused-head", kind=draft.kind.value)
    else:
        head = i18n.get(
            "draft-head", id=draft.id, kind=draft.kind.value, status=draft.status.value
        )
    if draft.kind is DraftKind.REWRITE:
        about = i18n.get(
            "draft-rewrite-of", entry=draft.entry_id, style=draft.style, original=draft.original
        )
    elif draft.kind is DraftKind.COPY:
        about = i18n.get("draft-copy-of", facts=draft.original)
    else:
        phrasings = "\n".join(f"• {p}" for p in draft.phrasings) or i18n.get("kb-none")
        about = i18n.get(
            "draft-entry-of", question=draft.question, phrasings=phrasings,
            tickets=", ".join(f"#{t}" for t in draft.tickets) or "-",
        )  # fmt: skip
    return "\n\n".join([head, about, *(_part(p, i18n) for p in draft.parts)])


def _free_id(base: str, kb) -> str:
    if base not in kb:
        return base
    n = 2
    while f"{base}-{n}" in kb:
        n += 1
    return f"{base}-{n}"
