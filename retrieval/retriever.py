"""FAQ retrieval: embed every phrasing of every entry, search with FAISS, group hits per entry.

A retriever serves one immutable snapshot (knowledge base + index) at a time. ``load`` builds the next
snapshot completely, re-embedding only phrasings it has not seen, and then swaps it in with a single
assignment, so a question is never answered from a half-built index.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np

from knowledge_base.model import FaqEntry, KnowledgeBase
from retrieval.embedder import Embedder
from retrieval.index import build_index, choose_index, load_index, save_index

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetrievedFaq:
    """One candidate entry for a query, with the best-matching phrasing and its similarity."""

    entry: FaqEntry
    score: float
    matched: str

    @property
    def id(self) -> str:
        return self.entry.id

    @property
    def text(self) -> str:
        return self.entry.answer


@dataclass(frozen=True, slots=True)
class SearchResult:
    """Candidates best first, and the confidence (0..1) that the first one answers the query."""

    query: str
    candidates: tuple[RetrievedFaq, ...]
    confidence: float
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def top(self) -> RetrievedFaq | None:
        return self.candidates[0] if self.candidates else None


@dataclass(frozen=True)
class _Snapshot:
    kb: KnowledgeBase
    index: faiss.Index
    vectors: np.ndarray
    phrasings: tuple[str, ...]
    phrasing_entry: np.ndarray  # row -> entry position in kb.entries
    entry_ids: tuple[str, ...]


class FaqRetriever:
    """Dense retrieval over all phrasings of a knowledge base."""

    def __init__(
        self,
        embedder: Embedder,
        *,
        cache_dir: Path | None = None,
        neighbours: int = 50,
    ) -> None:
        self.embedder = embedder
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.neighbours = neighbours
        self._snapshot: _Snapshot | None = None
        self._load_lock = threading.Lock()

    def warm_up(self) -> None:
        self.embedder.warm_up()

    @property
    def knowledge_base(self) -> KnowledgeBase:
        if self._snapshot is None:
            raise RuntimeError("no knowledge base loaded; call load() first")
        return self._snapshot.kb

    @property
    def ready(self) -> bool:
        return self._snapshot is not None

    def load(self, kb: KnowledgeBase) -> dict[str, float]:
        """Build (or reuse from cache) the index for ``kb`` and swap it in; returns what it cost."""
        with self._load_lock:
            started = time.perf_counter()
            previous = self._snapshot
            phrasings: list[str] = []
            owners: list[int] = []
            for position, entry in enumerate(kb.entries):
                for text in entry.phrasings:
                    phrasings.append(text)
                    owners.append(position)
            stats = {"phrasings": float(len(phrasings)), "embedded": 0.0}
            cached = self._from_cache(kb, len(phrasings))
            if cached is not None:
                index, vectors = cached
                stats["cache_hit"] = 1.0
            else:
                vectors, embedded = self._embed(phrasings, previous)
                stats["embedded"] = float(embedded)
                index = build_index(vectors) if len(vectors) else faiss.IndexFlatIP(1)
                self._to_cache(kb, index, vectors, owners)
            self._snapshot = _Snapshot(
                kb=kb,
                index=index,
                vectors=vectors,
                phrasings=tuple(phrasings),
                phrasing_entry=np.asarray(owners, dtype=np.int64),
                entry_ids=tuple(e.id for e in kb.entries),
            )
            stats["seconds"] = time.perf_counter() - started
            log.info(
                "index ready: %d entries, %d phrasings, %d embedded, %.2fs",
                len(kb),
                len(phrasings),
                int(stats["embedded"]),
                stats["seconds"],
            )
            return stats

    def _embed(self, phrasings: list[str], previous: _Snapshot | None) -> tuple[np.ndarray, int]:
        """Vectors for all phrasings, reusing those the previous snapshot already had."""
        known: dict[str, int] = {}
        if previous is not None:
            known = {text: row for row, text in enumerate(previous.phrasings)}
        missing = [text for text in dict.fromkeys(phrasings) if text not in known]
        fresh = self.embedder.encode(missing, kind="passage") if missing else None
        fresh_row = {text: row for row, text in enumerate(missing)}
        dim = fresh.shape[1] if fresh is not None else previous.vectors.shape[1]
        vectors = np.empty((len(phrasings), dim), dtype=np.float32)
        for row, text in enumerate(phrasings):
            if text in fresh_row:
                vectors[row] = fresh[fresh_row[text]]
            else:
                vectors[row] = previous.vectors[known[text]]
        return vectors, len(missing)

    def _cache_folder(self, kb: KnowledgeBase) -> Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / f"{self.embedder.name}-{kb.content_hash()}"

    def _from_cache(self, kb: KnowledgeBase, n: int) -> tuple[faiss.Index, np.ndarray] | None:
        folder = self._cache_folder(kb)
        if folder is None:
            return None
        loaded = load_index(folder)
        if loaded is None:
            return None
        index, _meta = loaded
        try:
            vectors = np.load(folder / "vectors.npy")
        except (OSError, ValueError):
            return None
        if index.ntotal != n or len(vectors) != n:
            return None
        return index, vectors

    def _to_cache(
        self, kb: KnowledgeBase, index: faiss.Index, vectors: np.ndarray, owners: list[int]
    ) -> None:
        folder = self._cache_folder(kb)
        if folder is None:
            return
        try:
            folder.mkdir(parents=True, exist_ok=True)
            np.save(folder / "vectors.npy", vectors)
            choice = choose_index(len(vectors))
            save_index(
                index,
                folder,
                {"phrasing_entry": owners, "kind": choice.kind, "nprobe": choice.nprobe},
            )
        except OSError as exc:
            log.warning("could not write the index cache to %s: %s", folder, exc)

    def search(self, text: str, k: int = 5) -> SearchResult:
        """The ``k`` best entries for one query."""
        started = time.perf_counter()
        query = self.embedder.encode([text], kind="query")
        embedded = time.perf_counter()
        result = self.search_vectors([text], query, k)[0]
        done = time.perf_counter()
        result.timings_ms.update(
            embed=(embedded - started) * 1000, search=(done - embedded) * 1000
        )
        return result

    def search_many(self, texts: list[str], k: int = 5) -> list[SearchResult]:
        """Batch search (evaluation, bulk checks)."""
        return self.search_vectors(texts, self.embedder.encode(texts, kind="query"), k)

    def search_vectors(self, texts: list[str], queries: np.ndarray, k: int) -> list[SearchResult]:
        snap = self._snapshot
        if snap is None:
            raise RuntimeError("no knowledge base loaded; call load() first")
        if snap.index.ntotal == 0:
            return [SearchResult(t, (), 0.0) for t in texts]
        n = min(self.neighbours, snap.index.ntotal)
        sims, rows = snap.index.search(np.ascontiguousarray(queries, dtype=np.float32), n)
        results = []
        for text, row_sims, row_ids in zip(texts, sims, rows, strict=True):
            best: dict[int, tuple[float, int]] = {}
            for sim, row in zip(row_sims, row_ids, strict=True):
                if row < 0:
                    continue
                position = int(snap.phrasing_entry[row])
                if position not in best:
                    best[position] = (float(sim), int(row))
            ranked = sorted(best.items(), key=lambda item: -item[1][0])[:k]
            candidates = tuple(
                RetrievedFaq(snap.kb.entries[pos], sim, snap.phrasings[row])
                for pos, (sim, row) in ranked
            )
            confidence = max(0.0, min(1.0, candidates[0].score)) if candidates else 0.0
            results.append(SearchResult(text, candidates, confidence, {}))
        return results
