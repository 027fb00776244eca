"""Questions routed by language: English ones to the English model's index, Chinese ones to the
multilingual model's (``RETRIEVAL__EMBEDDER=auto``).

all-MiniLM-L6-v2 is the better and faster model for English (and the one retraining fine-tunes), but
it cannot read Chinese; multilingual-e5-small can, across languages: a Chinese question finds the
entry of an English knowledge base. So English questions stay on MiniLM and Chinese ones go to an e5
index over *all* entries. Each index has its own confidence calibration (the two models' similarity
scales differ), so ``RETRIEVAL__THRESHOLD`` means the same for both.

The e5 index is built only when it is needed: when the knowledge base is loaded, if it holds
Chinese phrasings; otherwise on the first Chinese question (that question waits for the build, a
few seconds for a knowledge base of a hundred entries), and from then on at every reload. A
knowledge base written mostly in Chinese sends every question to e5, English ones included.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from common.language import has_chinese, is_chinese
from knowledge_base.model import KnowledgeBase
from retrieval.embedder import Embedder, Runtime
from retrieval.retriever import FaqRetriever, SearchResult
from retrieval.scoring import ScoringConfig
from retrieval.threshold import HeldOutConfidence

log = logging.getLogger(__name__)


class LanguageRoutedRetriever:
    """Two retrievers over one knowledge base; each question is searched by the one for its language.

    ``english`` also serves what needs one embedder for the whole knowledge base (the reply guard,
    quality checks), so it is the one a fine-tuned model replaces.
    """

    def __init__(self, english: FaqRetriever, multilingual: FaqRetriever) -> None:
        self.english = english
        self.multilingual = multilingual
        self._kb_chinese = False
        self._pending: tuple[KnowledgeBase, tuple[str, ...] | None] | None = None
        self._lock = threading.Lock()

    # The FaqRetriever surface the bot uses.

    @property
    def embedder(self) -> Embedder:
        return self.english.embedder

    @property
    def out_of_scope(self) -> tuple[str, ...]:
        return self.english.out_of_scope

    @out_of_scope.setter
    def out_of_scope(self, questions: Sequence[str]) -> None:
        self.english.out_of_scope = tuple(questions)
        self.multilingual.out_of_scope = tuple(questions)

    @property
    def knowledge_base(self) -> KnowledgeBase:
        return self.english.knowledge_base

    @property
    def ready(self) -> bool:
        return self.english.ready

    @property
    def multilingual_ready(self) -> bool:
        """Whether the multilingual index is built (it is only when the KB or a question needed it)."""
        return self.multilingual.ready and self._pending is None

    def warm_up(self) -> None:
        self.english.warm_up()

    def load(
        self, kb: KnowledgeBase, out_of_scope: Sequence[str] | None = None
    ) -> dict[str, float]:
        stats = self.english.load(kb, out_of_scope)
        phrasings, _ = kb.phrasing_rows()
        chinese = sum(is_chinese(p) for p in phrasings)
        oos = None if out_of_scope is None else tuple(out_of_scope)
        with self._lock:
            self._kb_chinese = chinese * 2 > len(phrasings)
            if chinese or self.multilingual.ready:
                self._pending = None
                self.multilingual.warm_up()
                second = self.multilingual.load(kb, oos)
                stats["multilingual_seconds"] = second.get("seconds", 0.0)
            else:
                # Built on the first Chinese question, if one ever comes.
                self._pending = (kb, oos)
        return stats

    def held_out_confidence(self, folds: int = 5, seed: int = 0) -> HeldOutConfidence:
        """``FaqRetriever.held_out_confidence`` of the index that serves the knowledge base's
        own language (the threshold is one number for both; each index is calibrated alike)."""
        if self._kb_chinese:
            self._ensure_multilingual()
            return self.multilingual.held_out_confidence(folds, seed)
        return self.english.held_out_confidence(folds, seed)

    def phrasing_vectors(self, texts: list[str]) -> np.ndarray:
        if self._kb_chinese:
            self._ensure_multilingual()
            return self.multilingual.phrasing_vectors(texts)
        return self.english.phrasing_vectors(texts)

    def served_vectors(self) -> tuple[np.ndarray, tuple[str, ...], np.ndarray | None]:
        """``FaqRetriever.served_vectors`` of the index that serves the knowledge base's own
        language: the one ``phrasing_vectors`` embeds with, so a learned phrasing is compared
        with vectors of the same model."""
        if self._kb_chinese:
            self._ensure_multilingual()
            return self.multilingual.served_vectors()
        return self.english.served_vectors()

    def nearest_entries(self, entry_id: str, k: int = 5) -> list[str]:
        """The entries most similar to ``entry_id``, by the model that reads the knowledge
        base's language (``FaqRetriever.nearest_entries``)."""
        if self._kb_chinese:
            self._ensure_multilingual()
            return self.multilingual.nearest_entries(entry_id, k)
        return self.english.nearest_entries(entry_id, k)

    def nearest_known(self, entry_id: str, k: int = 5) -> list[str] | None:
        """``nearest_entries`` if already computed on the index it would use; None otherwise
        (also while the multilingual index waits to be built)."""
        if self._kb_chinese:
            if self._pending is not None:
                return None
            return self.multilingual.nearest_known(entry_id, k)
        return self.english.nearest_known(entry_id, k)

    def routes_to_multilingual(self, text: str) -> bool:
        """Whether ``text`` is searched on the multilingual index."""
        return self._kb_chinese or (has_chinese(text) and is_chinese(text))

    def search(self, text: str, k: int = 5) -> SearchResult:
        if self.routes_to_multilingual(text):
            self._ensure_multilingual()
            return self.multilingual.search(text, k)
        return self.english.search(text, k)

    def search_many(self, texts: list[str], k: int = 5) -> list[SearchResult]:
        routes = [self.routes_to_multilingual(t) for t in texts]
        if not any(routes):
            return self.english.search_many(texts, k)
        self._ensure_multilingual()
        if all(routes):
            return self.multilingual.search_many(texts, k)
        out: list[SearchResult | None] = [None] * len(texts)
        for retriever, wanted in ((self.english, False), (self.multilingual, True)):
            rows = [i for i, route in enumerate(routes) if route is wanted]
            found = retriever.search_many([texts[i] for i in rows], k)
            for i, result in zip(rows, found, strict=True):
                out[i] = result
        return out  # type: ignore[return-value]

    def _ensure_multilingual(self) -> None:
        if self._pending is None:
            return
        with self._lock:
            if self._pending is None:
                return
            kb, oos = self._pending
            log.info("first Chinese question: building the multilingual index")
            self.multilingual.warm_up()
            self.multilingual.load(kb, oos)
            self._pending = None


def make_retriever(
    kind: str,
    model_path: str | Path | None = None,
    *,
    runtime: Runtime = "auto",
    cache_dir: str | Path | None = None,
    threads: int | None = None,
    out_of_scope: Sequence[str] = (),
    scoring: ScoringConfig | None = None,
) -> FaqRetriever | LanguageRoutedRetriever:
    """The retriever ``RETRIEVAL__EMBEDDER`` names: ``auto`` (routed by language), ``minilm``, ``e5``.

    ``model_path`` (a fine-tuned MiniLM) applies to the English side.
    """
    from retrieval.embedder import make_embedder

    def one(name: str) -> FaqRetriever:
        embedder = make_embedder(
            name, model_path, runtime=runtime, cache_dir=cache_dir, threads=threads
        )
        return FaqRetriever(
            embedder, cache_dir=cache_dir, scoring=scoring, out_of_scope=out_of_scope
        )

    if kind == "auto":
        return LanguageRoutedRetriever(one("minilm"), one("e5"))
    return one(kind)
