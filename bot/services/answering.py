"""The answer path: retrieve, decide, compose — or hand the case to a person."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from bot.errors import SupportBotError
from bot.services.events import DomainEvent, EventKind, EventRecorder, RedisEventLog
from bot.services.generation import GenerationService
from bot.services.live import LiveModels
from bot.services.sentiment import SentimentAnalyzer
from bot.services.signals import EscalationReason, same_question, wants_human
from bot.services.topics import AskedQuestion, QuestionLog
from bot.services.unclear import SmallTalk, junk_kind, small_talk
from bot.store import AnswerRecord, ClarificationRecord, Stores, Turn, TurnRole, new_id
from common.moderation import AbuseDetector
from knowledge_base.model import FaqEntry
from models.generator import HistoryTurn, ReplySource, TextCallback
from retrieval.batching import SearchBatcher
from retrieval.followup import contextual_query
from retrieval.retriever import RetrievedFaq, SearchResult

if TYPE_CHECKING:
    from bot.services.learning import LearningService

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 1500
HISTORY_TURNS = 6  # turns read back for follow-ups and the generator's prompt
MAX_SUGGESTIONS = 3  # "Did you mean …?" buttons under a clarification
# Why the bot asked back about a question it searched (junk gets its JunkKind value).
UNSURE = "low_confidence"
SMALL_TALK = frozenset(SmallTalk)  # "hi", "thanks": answered, and not an unclear message
# The ANSWERED event's source for an entry picked under "Did you mean …?".
CLARIFIED_SOURCE = "clarified"
# Why the bot offered other entries: the customer pressed 👎 on an answer (not an unclear message).
DISLIKED = "disliked"


class NotYourAnswer(SupportBotError):
    """A vote on an answer another chat was sent (a forged button): refused, nothing stored."""


@dataclass(frozen=True, slots=True)
class Answer:
    """A reply the bot can give itself."""

    text: str
    answer_id: str
    entry_id: str
    confidence: float
    source: ReplySource
    candidates: tuple[RetrievedFaq, ...] = ()


@dataclass(frozen=True, slots=True)
class Escalation:
    """The case goes to a person; ``best_guess`` is what the bot would have said.

    ``transcript`` is the conversation as stored, this message included, when the answer path
    has already read it (the ticket keeps it); None when nobody has.
    """

    reason: EscalationReason
    question: str
    confidence: float = 0.0
    best_guess: RetrievedFaq | None = None
    candidates: tuple[RetrievedFaq, ...] = field(default_factory=tuple)
    transcript: tuple[Turn, ...] | None = None
    gap_logged: bool = False  # already in the content-gap log (the bot asked back first)


@dataclass(frozen=True, slots=True)
class Dislike:
    """A first 👎 on an answer that does not make two in a row: the bot offers the other entries
    for its question (``AnsweringService.alternatives``) rather than a person at once."""

    answer_id: str
    rejected: str | None  # the answer's entry


@dataclass(frozen=True, slots=True)
class Clarification:
    """The bot asks back instead of answering or opening a ticket.

    ``reason`` is a ``JunkKind`` value (the message was no question), a ``SmallTalk`` value
    ("hi", "thanks": not unclear) or ``UNSURE`` (a question the bot is not confident about); ``candidates`` are the entries offered as
    "Did you mean …?" (none when nothing is plausible). A second unclear message in a row goes
    to a person.
    """

    clarification_id: str
    reason: str
    question: str
    candidates: tuple[RetrievedFaq, ...] = ()
    confidence: float = 0.0


class AnsweringService:
    """Turns a customer's message into an Answer, a Clarification or an Escalation, and records
    the exchange."""

    def __init__(
        self,
        live: LiveModels,
        stores: Stores,
        *,
        threshold: float,
        top_k: int,
        suggest_floor: float = 0.0,
        executor: Executor | None = None,
        sentiment: SentimentAnalyzer | None = None,
        generation_timeout_s: float = 20.0,
        generation_queue: int = 8,
        events: EventRecorder | None = None,
        abuse: AbuseDetector | None = None,
        record_gap: Callable[[str, str], Awaitable[None]] | None = None,
        learning: LearningService | None = None,
    ) -> None:
        self.live = live
        self.generation = GenerationService(
            live, timeout_s=generation_timeout_s, max_waiting=generation_queue, abuse=abuse
        )
        self.stores = stores
        self.threshold = threshold
        self.top_k = top_k
        self.suggest_floor = suggest_floor  # a candidate's score to be offered as "Did you mean"
        self.executor = executor
        # Concurrent questions are embedded and searched together (one batch at a time).
        self.searches = SearchBatcher(lambda: self.live.retriever, executor)
        self.sentiment = sentiment
        self.events = events or RedisEventLog(stores.redis, stores.keys)
        self.questions = QuestionLog(stores.redis, stores.keys)
        # Questions asked back for lack of confidence feed the content-gap report.
        self.record_gap = record_gap
        self.abuse = abuse
        self.learning = learning  # confirmed answers teach the knowledge base new phrasings

    async def answer(
        self,
        chat_id: int,
        text: str,
        on_text: TextCallback | None = None,
        *,
        abusive: bool | None = None,
    ) -> Answer | Clarification | Escalation:
        """``on_text`` receives a generated reply while it is written (from another thread);
        ``abusive``: the abuse detector's verdict on ``text`` if moderation already checked it
        (None: checked here when it matters)."""
        text = " ".join(text.split())
        result = await self._answer(chat_id, text, on_text, abusive)
        if isinstance(result, Escalation):  # an answer or a question back logged it already
            await self.questions.record(self._asked(chat_id, text, result))
        return result

    def _asked(
        self, chat_id: int, text: str, result: Answer | Clarification | Escalation
    ) -> AskedQuestion:
        """What was asked and what became of it, for the topics report (masked there). Logged
        with the answer's (or the question back's) own writes: the same batch as its event."""
        mood = self.sentiment.score(text).compound if self.sentiment is not None else None
        if isinstance(result, Answer):
            asked = AskedQuestion(
                text, chat_id, "answered", time.time(), result.entry_id, result.answer_id
            )
        elif isinstance(result, Clarification):
            asked = AskedQuestion(
                text, chat_id, "clarified", time.time(), reason=str(result.reason)
            )
        else:
            asked = AskedQuestion(text, chat_id, "escalated", time.time(), reason=result.reason)
        return replace(asked, sentiment=mood)

    async def _answer(
        self, chat_id: int, text: str, on_text: TextCallback | None, abusive: bool | None = None
    ) -> Answer | Clarification | Escalation:
        turn = Turn(TurnRole.CUSTOMER, text)
        # The one read per message, with the message's own write.
        before = await self.stores.conversations.add(chat_id, turn)
        # What the conversation now holds, without reading it back.
        transcript = (*before, turn)[-self.stores.conversations.max_turns :]
        earlier = before[-HISTORY_TURNS:]
        if wants_human(text):
            return Escalation(EscalationReason.ASKED_FOR_HUMAN, text, transcript=transcript)
        if len(text) > MAX_QUESTION_CHARS:
            return Escalation(EscalationReason.LONG_MESSAGE, text, transcript=transcript)
        asked_back = asked_back_last(before)
        junk = junk_kind(text)
        if junk is not None:  # no question to search: ask back, or a person the second time
            if asked_back:
                return Escalation(EscalationReason.UNCLEAR, text, transcript=transcript)
            return await self._clarify(chat_id, text, junk.value)
        result = await self._search(text, [t.text for t in earlier if t.role == TurnRole.CUSTOMER])
        top = result.top
        reason = self._handoff_signal(text, top, transcript)
        unsure = top is None or result.confidence < self.threshold
        if reason is None and unsure and self._abusive(text, abusive):
            # Swearing at a bot that cannot help: an angry customer, for a person at once
            # (moderation warns, and mutes a repeat, so agents are not flooded with abuse).
            reason = EscalationReason.NEGATIVE_SENTIMENT
        if reason is None and (top is None or result.confidence < self.threshold):
            talk = small_talk(text)  # unless the knowledge base answers it itself
            if talk is not None:
                return await self._clarify(chat_id, text, talk.value)
            if not asked_back:
                return await self._clarify(chat_id, text, UNSURE, result)
            reason = EscalationReason.LOW_CONFIDENCE
        if reason is not None:
            return Escalation(
                reason,
                text,
                confidence=result.confidence,
                best_guess=top,
                candidates=result.candidates,
                transcript=transcript,
            )
        history: list[HistoryTurn] = [
            (t.role, t.text) for t in earlier if t.role in (TurnRole.CUSTOMER, TurnRole.BOT)
        ]
        reply = await self.generation.reply(text, result.candidates, history, on_text)
        if reply.source == ReplySource.HANDOFF:  # the model found no answer in the entries
            return Escalation(
                EscalationReason.LOW_CONFIDENCE,
                text,
                confidence=result.confidence,
                best_guess=top,
                candidates=result.candidates,
                transcript=transcript,
            )
        answer = Answer(
            text=reply.text,
            answer_id=new_id(),
            entry_id=top.id,
            confidence=result.confidence,
            source=reply.source,
            candidates=result.candidates,
        )
        event = DomainEvent(
            EventKind.ANSWERED,
            chat_id=chat_id,
            answer_id=answer.answer_id,
            entry_id=answer.entry_id,
            confidence=answer.confidence,
            source=answer.source,
        )
        await asyncio.gather(  # independent writes: one wait, not two
            self.stores.record_answer(
                AnswerRecord(
                    answer.answer_id,
                    chat_id,
                    text,
                    top.id,
                    result.confidence,
                    phrasing=top.matched,
                ),
                Turn(TurnRole.BOT, answer.text, meta={"entry_id": top.id}),
            ),
            self.events.record(event),
            self.questions.record(self._asked(chat_id, text, answer)),
        )
        return answer

    def _abusive(self, text: str, known: bool | None) -> bool:
        """Whether the detector finds ``text`` abusive: ``known`` when moderation checked it."""
        if self.abuse is None:
            return False
        return known if known is not None else self.abuse.is_abusive(text)

    async def _clarify(
        self, chat_id: int, text: str, reason: str, result: SearchResult | None = None
    ) -> Clarification:
        """Ask back; the plausible entries (score at least ``suggest_floor``) become buttons."""
        candidates: tuple[RetrievedFaq, ...] = ()
        confidence = 0.0
        if result is not None:
            confidence = result.confidence
            plausible = [c for c in result.candidates if c.score >= self.suggest_floor]
            candidates = tuple(plausible[:MAX_SUGGESTIONS])
        clarification = Clarification(new_id(), reason, text, candidates, confidence)
        entry_ids = tuple(c.id for c in candidates)
        # Agents read this turn in a later ticket's transcript.
        said = "[did you mean: " + " | ".join(entry_ids) + "]" if entry_ids else f"[{reason}]"
        # "Hi" or "thanks" answered does not make the next message a second unclear one.
        meta = {"small_talk": reason} if reason in SMALL_TALK else {"clarified": reason}
        writes = [
            self.stores.record_clarification(
                ClarificationRecord(
                    clarification.clarification_id, chat_id, text, reason, entry_ids, confidence
                ),
                Turn(TurnRole.BOT, said, meta=meta),
            ),
            self.events.record(
                DomainEvent(
                    EventKind.CLARIFIED,
                    chat_id=chat_id,
                    confidence=confidence if result is not None else None,
                    reason=reason,
                    score=len(candidates),
                )
            ),
        ]
        if reason == UNSURE and self.record_gap is not None:
            writes.append(self.record_gap(text, "unanswered"))
        writes.append(self.questions.record(self._asked(chat_id, text, clarification)))
        await asyncio.gather(*writes)
        return clarification

    def offered_entry(self, record: ClarificationRecord, choice: int) -> FaqEntry | None:
        """The entry offered as button ``choice``; None when it is no longer in the knowledge
        base (or no such button was sent)."""
        kb = self.live.kb
        if kb is None and self.live.retriever.ready:
            kb = self.live.retriever.knowledge_base
        if not 0 <= choice < len(record.entry_ids) or kb is None:
            return None
        return kb.get(record.entry_ids[choice])

    def none_of_these(self, record: ClarificationRecord) -> Escalation:
        """ "None of these — talk to a person" pressed: the case for a person, with the offered
        entries still in the knowledge base as the bot's guesses."""
        entries = [self.offered_entry(record, i) for i in range(len(record.entry_ids))]
        guesses = tuple(
            RetrievedFaq(e, record.confidence, e.question) for e in entries if e is not None
        )
        if record.reason == UNSURE:
            reason = EscalationReason.LOW_CONFIDENCE
        elif record.reason in SMALL_TALK or record.reason == DISLIKED:
            # Nothing asked yet, or an answer that did not help: they simply want a person.
            reason = EscalationReason.ASKED_FOR_HUMAN
        else:
            reason = EscalationReason.UNCLEAR
        return Escalation(
            reason,
            record.question,
            confidence=record.confidence,
            best_guess=guesses[0] if guesses else None,
            candidates=guesses,
            gap_logged=record.reason == UNSURE,  # logged when the bot asked back
        )

    async def answer_entry(
        self, record: ClarificationRecord, entry: FaqEntry, customer_said: str
    ) -> Answer:
        """The entry the customer picked under "Did you mean …?", answered and recorded like any
        answer (``customer_said`` is their pick, as the conversation keeps it). The choice
        teaches through ``learn_choice``, called once the answer is sent."""
        return await self.answer_picked(
            record.chat_id,
            record.question,
            entry,
            customer_said,
            confidence=record.confidence,
            source=CLARIFIED_SOURCE,
        )

    async def learn_choice(self, record: ClarificationRecord, entry: FaqEntry) -> None:
        """The customer's choice under "Did you mean …?" confirms the entry (learning; never
        raises: a fault is logged). Called after the answer is sent, so it does not wait. A
        choice among the alternatives offered after a 👎 is not compared with the entry they
        rejected (``record.rejected``)."""
        if self.learning is not None:
            await self.learning.chosen(
                record.chat_id,
                record.question,
                entry.id,
                record.confidence,
                at=record.at,
                rejected=record.rejected,
            )

    async def answer_picked(
        self,
        chat_id: int,
        question: str,
        entry: FaqEntry,
        customer_said: str,
        *,
        confidence: float,
        source: str,
    ) -> Answer:
        """An entry the customer picked by a button, answered with its answer as written and
        recorded like any answer: ``question`` is what the answer record keeps as asked,
        ``customer_said`` the pick as the conversation keeps it, ``source`` the event's."""
        answer = Answer(
            text=entry.answer,
            answer_id=new_id(),
            entry_id=entry.id,
            confidence=confidence,
            source=ReplySource.FAQ,  # the entry's answer as written
        )
        await self.stores.conversations.append(chat_id, Turn(TurnRole.CUSTOMER, customer_said))
        await asyncio.gather(
            self.stores.record_answer(
                AnswerRecord(answer.answer_id, chat_id, question, entry.id, confidence),
                Turn(TurnRole.BOT, answer.text, meta={"entry_id": entry.id}),
            ),
            self.events.record(
                DomainEvent(
                    EventKind.ANSWERED,
                    chat_id=chat_id,
                    answer_id=answer.answer_id,
                    entry_id=entry.id,
                    confidence=confidence,
                    source=source,
                )
            ),
        )
        return answer

    async def feedback(
        self, answer_id: str, helpful: bool, chat_id: int | None = None
    ) -> tuple[AnswerRecord | None, Escalation | Dislike | None]:
        """A 👍 / 👎 on an answer (None if it expired); two answers disliked in a row escalate,
        and any other new 👎 is a ``Dislike``: the caller offers ``alternatives``.

        With ``chat_id`` (who pressed), a vote on another chat's answer (a forged button) raises
        ``NotYourAnswer`` and changes nothing; the same vote pressed again changes nothing (and
        is no new ``Dislike``). What the vote teaches is ``learn_from_feedback``'s, called once
        the press is answered."""
        record = await self.stores.answers.get(answer_id)
        if record is None:
            return None, None
        if chat_id is not None and record.chat_id != chat_id:
            raise NotYourAnswer(answer_id)
        record, previous = await self.stores.answers.vote(answer_id, helpful, record)
        if record is None:
            return None, None
        if previous == ("up" if helpful else "down"):
            return record, None  # pressed twice: counted once
        await self.events.record(
            DomainEvent(
                EventKind.FEEDBACK,
                chat_id=record.chat_id,
                answer_id=answer_id,
                entry_id=record.entry_id,
                helpful=helpful,
            )
        )
        streak = await self.stores.answers.dislike_streak(record.chat_id, answer_id, helpful)
        if streak < 2:
            return record, None if helpful else Dislike(answer_id, record.entry_id)
        await self.stores.answers.reset_dislikes(record.chat_id)
        await self.stores.conversations.append(
            record.chat_id, Turn(TurnRole.CUSTOMER, "[👎 twice in a row]")
        )
        return record, Escalation(EscalationReason.REPEATED_DISLIKES, record.question)

    async def alternatives(self, record: AnswerRecord) -> Clarification | None:
        """After a 👎 on ``record``: the other plausible entries for its question (searched again;
        score at least ``suggest_floor``, at most as many as "Did you mean …?" offers), kept as a
        clarification that remembers the rejected entry, so a pick is answered and teaches as a
        "Did you mean …?" choice. None when no other entry is plausible (nothing is kept)."""
        (result,) = await self.searches.search([record.question], self.top_k + 1)
        plausible = [
            c
            for c in result.candidates
            if c.id != record.entry_id and c.score >= self.suggest_floor
        ]
        candidates = tuple(plausible[:MAX_SUGGESTIONS])
        if not candidates:
            return None
        offer = Clarification(new_id(), DISLIKED, record.question, candidates, result.confidence)
        entry_ids = tuple(c.id for c in candidates)
        # Agents read this turn in a later ticket's transcript. Not an unclear message: the
        # next one is asked back (if unclear) rather than sent to a person.
        said = "[👎 — other answers offered: " + " | ".join(entry_ids) + "]"
        await self.stores.record_clarification(
            ClarificationRecord(
                offer.clarification_id,
                record.chat_id,
                record.question,
                DISLIKED,
                entry_ids,
                result.confidence,
                at=record.at,  # when the question was asked (learning ages evidence by it)
                rejected=record.entry_id,
            ),
            Turn(TurnRole.BOT, said, meta={"disliked": record.entry_id or ""}),
        )
        return offer

    async def learn_from_feedback(self, record: AnswerRecord, helpful: bool) -> None:
        """A first 👍 is a confirmation the knowledge base may learn from; 👎 never teaches (it
        counts against a learned phrasing that gave the answer). Each vote counts once however
        often it is pressed; never raises (learning logs its faults)."""
        if self.learning is None:
            return
        if helpful:
            await self.learning.thumbs_up(record)
        else:
            await self.learning.thumbs_down(record)

    def _handoff_signal(
        self, text: str, top: RetrievedFaq | None, history: Sequence[Turn]
    ) -> EscalationReason | None:
        """An angry customer, or one asking the same thing a third time, goes to a person."""
        if self.sentiment is not None and self.sentiment.is_strongly_negative(text):
            return EscalationReason.NEGATIVE_SENTIMENT
        # Only what was said since the last ticket was closed counts.
        closed_at = [i for i, t in enumerate(history) if t.meta.get("ticket_closed")]
        history = history[closed_at[-1] + 1 :] if closed_at else history
        asked = [t.text for t in history if t.role == TurnRole.CUSTOMER]
        answered = [t.meta.get("entry_id") for t in history if t.role == TurnRole.BOT]
        if same_question(asked[-3:], 3):
            return EscalationReason.REPEATED_QUESTION
        if top is not None and len(answered) >= 2 and answered[-2:] == [top.id, top.id]:
            # The bot would give the same answer a third time in a row: it is not helping.
            return EscalationReason.REPEATED_QUESTION
        return None

    async def _search(self, text: str, earlier_questions: list[str]) -> SearchResult:
        """Search the message; a follow-up is also searched with the previous question."""
        context = contextual_query(text, earlier_questions)
        if context is None:
            (plain,) = await self.searches.search([text], self.top_k)
            return plain
        plain, joined = await self.searches.search([text, context], self.top_k)
        if joined.confidence >= self.threshold or joined.confidence > plain.confidence:
            return joined
        return plain


def asked_back_last(history: Sequence[Turn]) -> bool:
    """True when the bot's (or an agent's) latest turn, since the last ticket closed, was a
    clarification: this message is the second unclear one in a row."""
    for turn in reversed(history):
        if turn.meta.get("ticket_closed"):
            return False
        if turn.role in (TurnRole.BOT, TurnRole.AGENT):
            return bool(turn.meta.get("clarified"))
    return False
