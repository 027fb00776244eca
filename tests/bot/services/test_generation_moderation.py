"""A generated reply with abusive language is never sent: the entry's own answer goes instead,
the text being streamed stops at the last clean version, and the log holds no words."""

from __future__ import annotations

import logging

import pytest

from bot.services.generation import GenerationService
from bot.services.live import LiveModels
from common.moderation import AbuseDetector
from models.generator import GeneratedReply, ReplySource
from retrieval import FaqRetriever

QUESTION = "when will my parcel arrive"


class Scripted:
    """A generator that writes ``parts`` one after another (as a model streams), and replies with
    the last one; it stops early when asked to."""

    def __init__(self, *parts: str) -> None:
        self.parts = parts
        self.stopped = False

    def warm_up(self) -> None:
        return None

    def generate(self, question, candidates, history=(), *, on_text=None, stop=None):
        for part in self.parts:
            if stop is not None and stop.is_set():
                self.stopped = True
                break
            if on_text is not None:
                on_text(part)
        return GeneratedReply(self.parts[-1], ReplySource.GENERATED, candidates[0].id)


def _service(retriever: FaqRetriever, generator: Scripted) -> GenerationService:
    live = LiveModels(retriever, generator, version=1, kb=retriever.knowledge_base)
    return GenerationService(live, timeout_s=10, abuse=AbuseDetector())


async def test_an_abusive_generated_reply_becomes_the_entrys_answer(
    retriever: FaqRetriever, caplog: pytest.LogCaptureFixture
) -> None:
    generator = Scripted(
        "Your parcel",
        "Your parcel arrives in 3 days, you",
        "Your parcel arrives in 3 days, you stupid bitch.",
        "Your parcel arrives in 3 days, you stupid bitch. Anything else?",
    )
    generation = _service(retriever, generator)
    candidates = retriever.search(QUESTION).candidates
    shown: list[str] = []
    with caplog.at_level(logging.WARNING):
        reply = await generation.reply(QUESTION, candidates, on_text=shown.append)
    generation.close()
    assert reply.source == ReplySource.FAQ
    assert reply.text == candidates[0].entry.answer
    assert (reply.entry_id, reply.note, reply.draft) == (candidates[0].id, "abusive", "")
    # Streaming showed the clean beginnings only, and the model was told to stop.
    assert shown == ["Your parcel", "Your parcel arrives in 3 days, you"]
    assert generator.stopped
    assert "abusive" in caplog.text and "bitch" not in caplog.text


async def test_an_abusive_reply_without_streaming_is_replaced_too(retriever: FaqRetriever) -> None:
    generation = _service(retriever, Scripted("Ship happens. 傻逼"))
    candidates = retriever.search(QUESTION).candidates
    reply = await generation.reply(QUESTION, candidates)
    generation.close()
    assert (reply.source, reply.text) == (ReplySource.FAQ, candidates[0].entry.answer)


async def test_a_clean_generated_reply_is_sent_as_written(retriever: FaqRetriever) -> None:
    text = "Your parcel from Scunthorpe arrives in 3 days; we assessed the class of shipping."
    generation = _service(retriever, Scripted("Your parcel", text))
    candidates = retriever.search(QUESTION).candidates
    shown: list[str] = []
    reply = await generation.reply(QUESTION, candidates, on_text=shown.append)
    generation.close()
    assert (reply.source, reply.text) == (ReplySource.GENERATED, text)
    assert shown == ["Your parcel", text]
