"""The models this process serves, held in one place.

The answering and generation services, the knowledge service's quality checks, the retrainer and
the watcher read the retriever and the generator from here at the moment they use them; a swap is
one assignment, so no copy has to be kept in sync. Work already under way keeps what it started
with: a reply being generated finishes on the generator it was handed (``GenerationService`` binds
it when the reply starts), and a search finishes on the index snapshot it started with.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot import metrics

if TYPE_CHECKING:
    import numpy as np

    from knowledge_base.model import KnowledgeBase
    from models.generator import Generator
    from retrieval.retriever import FaqRetriever


class LiveModels:
    """The served retriever and generator, and the knowledge-base version the retriever holds."""

    def __init__(
        self,
        retriever: FaqRetriever,
        generator: Generator,
        *,
        version: int = 0,
        kb: KnowledgeBase | None = None,
    ) -> None:
        self.retriever = retriever
        self.generator = generator
        self.version = version  # 0: no stored version served yet
        self.kb = kb

    def out_of_scope(self) -> tuple[str, ...]:
        """The operator's out-of-scope questions served now (on top of the KB's own)."""
        return tuple(self.retriever.out_of_scope)

    def phrasing_vectors(self, texts: list[str]) -> np.ndarray:
        """Passage vectors from the served retriever's model (quality checks, gap clusters)."""
        return self.retriever.phrasing_vectors(texts)

    def serve(self, version: int, kb: KnowledgeBase) -> dict[str, float]:
        """Load ``kb`` into the served retriever; blocking (embeds), so call it off the loop.

        Questions keep being answered from the previous version until the new index is complete.
        """
        stats = self.retriever.load(kb)
        self.version, self.kb = version, kb
        metrics.KB_VERSION.set(version)
        return stats or {}

    def serve_out_of_scope(self, questions: Sequence[str]) -> None:
        """Refit the served retriever on a new out-of-scope list; blocking, call it off the loop."""
        self.retriever.load(self.retriever.knowledge_base, questions)
        self.retriever.out_of_scope = tuple(questions)  # later loads keep them

    def swap_retriever(self, fresh: FaqRetriever) -> None:
        """Later searches use ``fresh`` (already warmed up and loaded with the served version)."""
        self.retriever = fresh

    def swap_generator(self, fresh: Generator) -> None:
        """Later replies use ``fresh``; a reply already being generated finishes on the old one."""
        self.generator = fresh
