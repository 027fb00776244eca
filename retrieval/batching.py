"""Micro-batching of searches: the questions that arrive together are embedded and searched
together (``common/batching.py``: no added wait; a lone question is a batch of one).

Encoding one question at a time pays the model's fixed cost (tokenizer, the runtime's dispatch,
FAISS's call) once per question; the questions that arrived while the previous batch ran pay it
once for all of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import replace

import faiss

from common.batching import Batcher
from retrieval.retriever import FaqRetriever, SearchResult

MAX_BATCH = 64  # questions searched in one go (a longer queue waits for the next batch)

_Request = tuple[tuple[str, ...], int]  # the texts, and how many candidates each wants


class SearchBatcher:
    """Searches questions for many concurrent callers in batches, one batch at a time.

    ``retriever`` is called for each batch, so a retriever swapped in by a knowledge-base reload
    serves the next batch. Batches run in ``executor``, off the event loop.
    """

    def __init__(
        self,
        retriever: Callable[[], FaqRetriever],
        executor: Executor | None = None,
        *,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._retriever = retriever
        self._executor = executor
        self.batcher: Batcher[_Request, list[SearchResult]] = Batcher(
            self._run, max_batch=max_batch, size=lambda request: len(request[0]), name="search"
        )

    async def search(self, texts: Sequence[str], k: int) -> list[SearchResult]:
        """The ``k`` best entries for each of ``texts``."""
        if not texts:
            return []
        return await self.batcher.submit((tuple(texts), k))

    async def _run(self, batch: list[_Request]) -> list[list[SearchResult]]:
        texts = [text for request_texts, _k in batch for text in request_texts]
        k = max(request_k for _texts, request_k in batch)
        loop = asyncio.get_running_loop()
        results = await loop.run_in_executor(self._executor, self._search, texts, k)
        out, start = [], 0
        for request_texts, request_k in batch:
            mine = results[start : start + len(request_texts)]
            start += len(request_texts)
            out.append([_top(result, request_k) for result in mine])
        return out

    def _search(self, texts: list[str], k: int) -> list[SearchResult]:
        # A batch of a few questions gains nothing from FAISS's OpenMP team and pays for waking
        # it; the setting is per calling thread and restored.
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            return self._retriever().search_many(texts, k)
        finally:
            faiss.omp_set_num_threads(threads)


def _top(result: SearchResult, k: int) -> SearchResult:
    if len(result.candidates) <= k:
        return result
    return replace(result, candidates=result.candidates[:k])
