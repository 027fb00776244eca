"""The answer path: retrieve, decide, compose — or hand the case to a person."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor
from dataclasses import dataclass, field
from enum import StrEnum

from bot.services.signals import wants_human
from bot.store import AnswerRecord, Stores, Turn, new_id
from models.generator import Generator
from retrieval.retriever import FaqRetriever, RetrievedFaq, SearchResult

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 1500


class EscalationReason(StrEnum):
    LOW_CONFIDENCE = "low_confidence"
    ASKED_FOR_HUMAN = "asked_for_human"
    LONG_MESSAGE = "long_message"


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
        retriever: FaqRetriever,
        generator: Generator,
        stores: Stores,
        *,
        threshold: float,
        top_k: int,
        executor: Executor | None = None,
    ) -> None:
        self.retriever = retriever
        self.generator = generator
        self.stores = stores
        self.threshold = threshold
        self.top_k = top_k
        self.executor = executor

    async def answer(self, chat_id: int, text: str) -> Answer | Escalation:
        text = " ".join(text.split())
        await self.stores.conversations.append(chat_id, Turn("customer", text))
        if wants_human(text):
            return Escalation(EscalationReason.ASKED_FOR_HUMAN, text)
        if len(text) > MAX_QUESTION_CHARS:
            return Escalation(EscalationReason.LONG_MESSAGE, text)
        result = await self._search(text)
        top = result.top
        if top is None or result.confidence < self.threshold:
            return Escalation(
                EscalationReason.LOW_CONFIDENCE,
                text,
                confidence=result.confidence,
                best_guess=top,
                candidates=result.candidates,
            )
        history = [t.text for t in await self.stores.conversations.history(chat_id, limit=6)]
        reply = await self._run(self.generator.generate, text, result.candidates, history[:-1])
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

    async def _search(self, text: str) -> SearchResult:
        return await self._run(self.retriever.search, text, self.top_k)

    async def _run(self, fn, *args):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, fn, *args)
