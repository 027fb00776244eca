"""Questions asked at the same time are searched in one batch, each with its own answer."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from retrieval import FaqRetriever
from retrieval.batching import SearchBatcher

QUESTIONS = [
    "when will my parcel arrive",
    "I want to send it back",
    "forgot my password",
    "do you take paypal",
    "how many days is shipping",
]


async def test_concurrent_questions_share_batches_and_get_their_own_results(
    retriever: FaqRetriever,
) -> None:
    with ThreadPoolExecutor(1) as pool:
        batcher = SearchBatcher(lambda: retriever, pool)
        results = await asyncio.gather(*(batcher.search([q], 2) for q in QUESTIONS))
    alone = [retriever.search(q, 2) for q in QUESTIONS]
    assert [r[0].top.id for r in results] == [a.top.id for a in alone]
    assert [r[0].top.id for r in results] == [
        "delivery-time",
        "return-item",
        "reset-password",
        "payment-methods",
        "delivery-time",
    ]
    for (batched,), single in zip(results, alone, strict=True):
        assert batched.query == single.query
        assert len(batched.candidates) == 2
        assert abs(batched.confidence - single.confidence) < 1e-4
    # Asked in the same moment, the five were embedded and searched in one batch.
    assert (batcher.batcher.batches, batcher.batcher.calls) == (1, 5)


async def test_each_caller_gets_as_many_candidates_as_it_asked_for(
    retriever: FaqRetriever,
) -> None:
    batcher = SearchBatcher(lambda: retriever)
    one, three = await asyncio.gather(
        batcher.search(["return policy"], 1),
        batcher.search(["return policy", "payment options"], 3),
    )
    assert len(one) == 1 and len(one[0].candidates) == 1
    assert [len(r.candidates) for r in three] == [3, 3]
    assert three[1].top.id == "payment-methods"
