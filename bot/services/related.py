""" "People also ask": after an answer, up to three entries customers asked next.

What is learned, from the ``answered`` domain events (ids only, never what anyone wrote):

- **What comes next.** When a customer is answered from entry B within ``RELATED__WINDOW_MINUTES``
  of an answer from entry A in the same chat, B counts once as "asked next after A". The counts
  live in Redis (``bot/store/related.py``), updated as each ``answered`` event is recorded
  (``LearningRecorder``), so they survive restarts and every worker shares them; ``rebuild``
  recounts them from the event stream. Answers given because a "People also ask" button was
  pressed move the conversation on but are not counted as "next": the buttons would otherwise
  learn from themselves (an entry shown first gets pressed more and so shown more).
- **The customer's own history.** How often this customer was answered from each entry. Support
  questions recur per customer (every order brings "where is my parcel?"), so entries they asked
  about in earlier conversations are *boosted*; entries answered in the *current* conversation
  are never offered (they have just read them).

A suggestion ranks ``P(next = e | this entry) + w · asked(e) / (asked + 2)`` — the share of
customers who asked ``e`` next, plus the customer's own (shrunk) share of ``e``, weighted by
``RELATED__PERSONAL_WEIGHT`` — and fills what is left with the entries nearest to the answered
one by embedding (the fallback for entries nobody has asked anything after yet). Never the
answered entry, an entry of the current conversation or one no longer in the knowledge base.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass

from redis.exceptions import RedisError

from bot.services.events import DomainEvent, EventKind, EventRecorder, RedisEventLog
from bot.services.live import LiveModels
from bot.settings import RelatedSettings, Settings
from bot.store import Stores
from bot.store.related import RelatedOffer, RelatedRepository
from bot.store.streams import stream_pages
from knowledge_base.model import FaqEntry, KnowledgeBase

log = logging.getLogger(__name__)

# The ``answered`` event's source for an entry picked under "People also ask", and for the
# nearest entry answered in place of one deleted since its button was sent.
RELATED_SOURCE = "related"
RELATED_NEAREST_SOURCE = "related_nearest"
PRESSED_SOURCES = frozenset({RELATED_SOURCE, RELATED_NEAREST_SOURCE})
ASKED_PRIOR = 2.0  # a customer's own share is shrunk towards nothing until they asked a few
NEAREST_READ = 10  # nearest entries read for the fallback (some may be excluded)


def rank_related(
    following: Mapping[str, float],
    asked: Mapping[str, float],
    nearest: Iterable[str],
    *,
    exclude: Collection[str],
    k: int,
    personal_weight: float,
    allowed: Callable[[str], bool] = lambda _: True,
) -> list[str]:
    """The ``k`` entry ids to offer, best first.

    ``following``: how often each entry was asked next after the answered one (all customers);
    ``asked``: how often this customer was answered from each entry; ``nearest``: the entries
    nearest to the answered one, best first (the fallback); ``exclude``: never offered (the
    answered entry and the rest of the conversation); ``allowed``: whether an entry still exists.
    """
    if k <= 0:
        return []
    scores: Counter[str] = Counter()
    total = sum(following.values())
    if total > 0:
        for entry, count in following.items():
            scores[entry] += count / total
    earlier = {e: n for e, n in asked.items() if e not in exclude}
    mine = sum(earlier.values())
    if personal_weight > 0 and mine > 0:
        for entry, count in earlier.items():
            scores[entry] += personal_weight * count / (mine + ASKED_PRIOR)
    ranked = sorted(
        (e for e, s in scores.items() if s > 0 and e not in exclude and allowed(e)),
        key=lambda e: (-scores[e], e),
    )
    chosen = ranked[:k]
    for entry in nearest:
        if len(chosen) >= k:
            break
        if entry not in exclude and entry not in chosen and allowed(entry):
            chosen.append(entry)
    return chosen


@dataclass(frozen=True, slots=True)
class RelatedPick:
    """What a press of a "People also ask" button answers: the entry (None when it was deleted
    and nothing near it is left), whether it is the nearest in place of a deleted one, and the
    question the button offered."""

    entry: FaqEntry | None
    offered: str
    gone: bool = False

    @property
    def source(self) -> str:
        return RELATED_NEAREST_SOURCE if self.gone else RELATED_SOURCE


def related_store(stores: Stores, settings: Settings) -> RelatedRepository:
    """The repository over the stores' Redis: a customer's own counts are kept for the retention
    period after their last answer, the buttons' records as long as answers are."""
    return RelatedRepository(
        stores.redis,
        stores.keys,
        window_s=settings.related.window_minutes * 60,
        history_s=max(1, int(settings.privacy.retention_days * 24 * 3600)),
        offers_s=stores.answers.ttl,
    )


class RelatedQuestions:
    """Learns what customers ask next and offers it under answers."""

    def __init__(
        self,
        live: LiveModels,
        repository: RelatedRepository,
        settings: RelatedSettings,
        *,
        executor: Executor | None = None,
    ) -> None:
        self.live, self.repository, self.settings = live, repository, settings
        self.executor = executor

    @classmethod
    def build(
        cls,
        live: LiveModels,
        stores: Stores,
        settings: Settings,
        *,
        executor: Executor | None = None,
    ) -> RelatedQuestions:
        return cls(live, related_store(stores, settings), settings.related, executor=executor)

    # ------------------------------------------------------------------ learning

    def learning(self, events: EventRecorder) -> EventRecorder:
        """``events``, and what is learned from every ``answered`` event recorded through it."""
        return LearningRecorder(events, self) if self.settings.enabled else events

    async def learn(self, event: DomainEvent) -> None:
        """One ``answered`` event: counts the entry as asked next after the conversation's
        previous one (unless a button was pressed for it) and in the customer's history."""
        if event.kind != EventKind.ANSWERED or event.chat_id is None or not event.entry_id:
            return
        await self.repository.observe(
            event.chat_id,
            event.entry_id,
            event.at,
            counts_as_next=event.source not in PRESSED_SOURCES,
        )

    async def rebuild(self, events: RedisEventLog) -> int:
        """``rebuild`` over this service's store and window."""
        return await rebuild(self.repository, events, self.settings.window_minutes * 60)

    # ------------------------------------------------------------------ offering

    def _kb(self) -> KnowledgeBase | None:
        kb = self.live.kb
        if kb is None and self.live.retriever.ready:
            kb = self.live.retriever.knowledge_base
        return kb

    async def _nearest(self, entry_id: str) -> list[str]:
        retriever = self.live.retriever
        if not retriever.ready:
            return []
        known = retriever.nearest_known(entry_id, NEAREST_READ)
        if known is not None:  # computed before for the served index: no thread hop
            return known
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.executor, retriever.nearest_entries, entry_id, NEAREST_READ
        )

    async def suggest(self, chat_id: int, answer_id: str, entry_id: str) -> list[FaqEntry]:
        """The entries to offer under the answer ``answer_id`` (from ``entry_id``), recorded so
        that a press names its button by number; empty when turned off or nothing fits, and when
        the store fails (the answer goes out without them rather than not at all)."""
        try:
            return await self._suggest(chat_id, answer_id, entry_id)
        except RedisError as exc:
            log.warning("no related questions offered: %s", exc)
            return []

    async def _suggest(self, chat_id: int, answer_id: str, entry_id: str) -> list[FaqEntry]:
        kb = self._kb()
        if not self.settings.enabled or self.settings.max_buttons == 0 or kb is None:
            return []
        signals, nearest = await asyncio.gather(
            self.repository.signals(chat_id, entry_id), self._nearest(entry_id)
        )
        ids = rank_related(
            signals.following,
            signals.asked,
            nearest,
            exclude={entry_id, *signals.conversation},
            k=self.settings.max_buttons,
            personal_weight=self.settings.personal_weight,
            allowed=lambda e: kb.get(e) is not None,
        )
        entries = [entry for e in ids if (entry := kb.get(e)) is not None]
        if entries:
            offer = RelatedOffer(
                answer_id,
                entry_id,
                tuple(e.id for e in entries),
                tuple(e.question for e in entries),
            )
            await self.repository.save_offer(chat_id, offer)
        return entries

    async def pressed(self, chat_id: int, answer_id: str, choice: int) -> RelatedPick | None:
        """The entry a press of button ``choice`` under ``answer_id`` answers; None when no such
        button was sent to this chat (a forged press, or one whose record expired)."""
        offer = await self.repository.offer(chat_id, answer_id)
        if offer is None or not 0 <= choice < len(offer.entry_ids):
            return None
        kb = self._kb()
        entry = kb.get(offer.entry_ids[choice]) if kb is not None else None
        question = offer.questions[choice]
        if entry is not None:
            return RelatedPick(entry, question)
        return RelatedPick(await self._nearest_to_gone(chat_id, question, kb), question, True)

    async def _nearest_to_gone(
        self, chat_id: int, question: str, kb: KnowledgeBase | None
    ) -> FaqEntry | None:
        """The entry that best answers a deleted entry's question, other than the entries of the
        current conversation; None when nothing is left."""
        retriever = self.live.retriever
        if kb is None or not retriever.ready:
            return None
        loop = asyncio.get_running_loop()
        found, conversation = await asyncio.gather(
            loop.run_in_executor(self.executor, retriever.search, question, NEAREST_READ),
            self.repository.conversation(chat_id),
        )
        for candidate in found.candidates:
            entry = kb.get(candidate.id)
            if entry is not None and entry.id not in conversation:
                return entry
        return None


async def rebuild(repository: RelatedRepository, events: RedisEventLog, window_s: float) -> int:
    """Recount "asked next" from the whole event stream (after a change of window, or if the
    counts were lost: ``supportbot related rebuild``); how many were counted. Customers' own
    histories are not rebuilt: they refill as customers come back. Answers recorded while it runs
    may be counted twice or not at all; run it when the bot is quiet."""
    last: dict[str, tuple[str, float]] = {}  # chat id → (entry, at)
    counts: Counter[tuple[str, str]] = Counter()
    async for page in stream_pages(events.redis, events.key):
        for _, values in page:
            if values.get("kind") != EventKind.ANSWERED or not values.get("entry_id"):
                continue
            event = DomainEvent.from_fields(values)
            chat = str(event.chat_id)
            previous = last.get(chat)
            if (
                previous is not None
                and 0 <= event.at - previous[1] <= window_s
                and previous[0] != event.entry_id
                and event.source not in PRESSED_SOURCES
            ):
                counts[(previous[0], event.entry_id)] += 1
            last[chat] = (event.entry_id, event.at)
    await repository.clear_learned()
    await repository.add_counts((a, b, n) for (a, b), n in counts.items())
    return sum(counts.values())


class LearningRecorder:
    """An ``EventRecorder`` that records into ``events`` and, at the same time, lets related
    questions learn from each ``answered`` event; like any recorder it never fails its caller."""

    def __init__(self, events: EventRecorder, related: RelatedQuestions) -> None:
        self.events, self.related = events, related

    async def record(self, event: DomainEvent) -> None:
        if event.kind != EventKind.ANSWERED:
            await self.events.record(event)
            return
        # Independent writes: one wait, not two.
        await asyncio.gather(self.events.record(event), self._learn(event))

    async def _learn(self, event: DomainEvent) -> None:
        try:
            await self.related.learn(event)
        except Exception as exc:  # a lost count costs a suggestion, never the answer
            log.warning("related questions did not learn from an answer: %s", exc)
