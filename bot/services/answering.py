"""The answer path: retrieve, decide, compose — or hand the case to a person."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor
from dataclasses import dataclass, field
from enum import StrEnum

from bot.services.generation import GenerationService
from bot.services.live import LiveModels
from bot.services.sentiment import SentimentAnalyzer
from bot.services.signals import same_question, wants_human
from bot.store import AnswerRecord, Stores, Turn, new_id
from models.generator import HistoryTurn, TextCallback
from retrieval.followup import contextual_query
from retrieval.retriever import RetrievedFaq, SearchResult

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 1500
HISTORY_TURNS = 6  # turns read back for follow-ups and the generator's prompt


class EscalationReason(StrEnum):
    LOW_CONFIDENCE = "low_confidence"
    ASKED_FOR_HUMAN = "asked_for_human"
    LONG_MESSAGE = "long_message"
    NEGATIVE_SENTIMENT = "negative_sentiment"
    REPEATED_DISLIKES = "repeated_dislikes"
    REPEATED_QUESTION = "repeated_question"


@dataclass(frozen=True, slots=True)
class Answer:
    """A reply the bot can give itself."""

    text: str
    answer_id: str
    entry_id: str
    confidence: float
    source: str
    candidates: tuple[RetrievedFaq, ...] = ()


@dataclass(frozen=True, slots=True)
class Escalation:
    """The case goes to a person; ``best_guess`` is what the bot would have said."""

    reason: EscalationReason
    question: str
    confidence: float = 0.0
    best_guess: RetrievedFaq | None = None
    candidates: tuple[RetrievedFaq, ...] = field(default_factory=tuple)


class AnsweringService:
    """Turns a customer's message into an Answer or an Escalation, and records the exchange."""

    def __init__(
        self,
        live: LiveModels,
        stores: Stores,
        *,
        threshold: float,
        top_k: int,
        executor: Executor | None = None,
        sentiment: SentimentAnalyzer | None = None,
        generation_timeout_s: float = 20.0,
        generation_queue: int = 8,
    ) -> None:
        self.live = live
        self.generation = GenerationService(
            live, timeout_s=generation_timeout_s, max_waiting=generation_queue
        )
        self.stores = stores
        self.threshold = threshold
        self.top_k = top_k
        self.executor = executor
        self.sentiment = sentiment

    async def answer(
        self, chat_id: int, text: str, on_text: TextCallback | None = None
    ) -> Answer | Escalation:
        """``on_text`` receives a generated reply while it is written (from another thread)."""
        text = " ".join(text.split())
        earlier = await self.stores.conversations.history(chat_id, limit=HISTORY_TURNS)
        await self.stores.conversations.append(chat_id, Turn("customer", text))
        if wants_human(text):
            return Escalation(EscalationReason.ASKED_FOR_HUMAN, text)
        if len(text) > MAX_QUESTION_CHARS:
            return Escalation(EscalationReason.LONG_MESSAGE, text)
        result = await self._search(text, [t.text for t in earlier if t.role == "customer"])
        top = result.top
        reason = await self._handoff_signal(chat_id, text, top)
        if reason is None and (top is None or result.confidence < self.threshold):
            reason = EscalationReason.LOW_CONFIDENCE
        if reason is not None:
            return Escalation(
                reason,
                text,
                confidence=result.confidence,
                best_guess=top,
                candidates=result.candidates,
            )
        history: list[HistoryTurn] = [
            (t.role, t.text) for t in earlier if t.role in ("customer", "bot")
        ]
        reply = await self.generation.reply(text, result.candidates, history, on_text)
        if reply.source == "handoff":  # the model found no answer in the entries
            return Escalation(
                EscalationReason.LOW_CONFIDENCE,
                text,
                confidence=result.confidence,
                best_guess=top,
                candidates=result.candidates,
            )
        answer = Answer(
            text=reply.text,
            answer_id=new_id(),
            entry_id=top.id,
            confidence=result.confidence,
            source=reply.source,
            candidates=result.candidates,
        )
        await self.stores.answers.save(
            AnswerRecord(answer.answer_id, chat_id, text, top.id, result.confidence)
        )
        await self.stores.conversations.append(
            chat_id, Turn("bot", answer.text, meta={"entry_id": top.id})
        )
        return answer

    async def _handoff_signal(
        self, chat_id: int, text: str, top: RetrievedFaq | None
    ) -> EscalationReason | None:
        """An angry customer, or one asking the same thing a third time, goes to a person."""
        if self.sentiment is not None and self.sentiment.is_strongly_negative(text):
            return EscalationReason.NEGATIVE_SENTIMENT
        history = await self.stores.conversations.history(chat_id)
        # Only what was said since the last ticket was closed counts.
        closed_at = [i for i, t in enumerate(history) if t.meta.get("ticket_closed")]
        history = history[closed_at[-1] + 1 :] if closed_at else history
        asked = [t.text for t in history if t.role == "customer"]
        answered = [t.meta.get("entry_id") for t in history if t.role == "bot"]
        if same_question(asked[-3:], 3):
            return EscalationReason.REPEATED_QUESTION
        if top is not None and len(answered) >= 2 and answered[-2:] == [top.id, top.id]:
            # The bot would give the same answer a third time in a row: it is not helping.
            return EscalationReason.REPEATED_QUESTION
        return None

    async def _search(self, text: str, earlier_questions: list[str]) -> SearchResult:
        """Search the message; a follow-up is also searched with the previous question."""
        context = contextual_query(text, earlier_questions)
        retriever = self.live.retriever
        if context is None:
            return await self._run(retriever.search, text, self.top_k)
        plain, joined = await self._run(retriever.search_many, [text, context], self.top_k)
        if joined.confidence >= self.threshold or joined.confidence > plain.confidence:
            return joined
        return plain

    async def _run(self, fn, *args):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, fn, *args)
