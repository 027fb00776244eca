"""The live holder: a swapped-in generator serves the next reply; one being written keeps its own."""

from __future__ import annotations

import asyncio
import threading

from bot.services.generation import GenerationService
from bot.services.live import LiveModels
from models.generator import GeneratedReply
from retrieval import FaqRetriever


class Named:
    """A generator that replies with its name, after ``gate`` opens."""

    def __init__(self, name: str, gate: threading.Event | None = None) -> None:
        self.name, self.gate = name, gate

    def warm_up(self) -> None:
        return None

    def generate(self, question, candidates, history=(), *, on_text=None, stop=None):
        if self.gate is not None:
            self.gate.wait(10)
        return GeneratedReply(f"from {self.name}", "generated", candidates[0].id)


async def test_a_reply_being_written_finishes_on_the_generator_it_started_with(
    retriever: FaqRetriever,
) -> None:
    gate = threading.Event()
    old, fresh = Named("old", gate), Named("fresh")
    live = LiveModels(retriever, old, version=1, kb=retriever.knowledge_base)
    generation = GenerationService(live, timeout_s=10)
    candidates = retriever.search("when will my parcel arrive").candidates
    writing = asyncio.create_task(generation.reply("when will it arrive?", candidates))
    await asyncio.sleep(0.1)  # the old generator is writing
    live.swap_generator(fresh)
    gate.set()
    assert (await writing).text == "from old"
    assert (await generation.reply("and now?", candidates)).text == "from fresh"
    generation.close()


def test_searches_and_quality_vectors_follow_a_swapped_retriever(
    retriever: FaqRetriever, embedder
) -> None:
    live = LiveModels(retriever, Named("any"), version=1, kb=retriever.knowledge_base)
    fresh = FaqRetriever(embedder, out_of_scope=["who won the match"])
    fresh.load(retriever.knowledge_base)
    live.swap_retriever(fresh)
    assert live.retriever is fresh
    assert live.out_of_scope() == ("who won the match",)
    assert live.phrasing_vectors(["return policy"]).shape == (1, embedder.dim)
