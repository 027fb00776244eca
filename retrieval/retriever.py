"""FAQ retrieval: embed every phrasing of every entry, search with FAISS, group hits per entry.

A retriever serves one immutable snapshot (knowledge base + index) at a time. ``load`` builds the next
snapshot completely, re-embedding only phrasings it has not seen, and then swaps it in with a single
assignment, so a question is never answered from a half-built index.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import faiss
import numpy as np

from common.language import is_chinese
from knowledge_base.model import FaqEntry, KnowledgeBase
from retrieval.embedder import Embedder
from retrieval.index import build_index, choose_index, load_index, save_index
from retrieval.scoring import (
    CalibrationSamples,
    Calibrator,
    LexicalIndex,
    ScoringConfig,
    entry_scores,
    features,
    held_out_split,
)
from retrieval.threshold import HeldOutConfidence

log = logging.getLogger(__name__)

# A reload that adds or removes at most this many phrasings (or this share) keeps the calibration.
SMALL_CHANGE_PHRASINGS = 5
SMALL_CHANGE_SHARE = 0.01

# The calibration each embedder gets on the bundled knowledge base, per (scoring, language): fitted
# once per process, since every retriever that cannot calibrate itself borrows the same one.
_REFERENCES: weakref.WeakKeyDictionary[Embedder, dict[tuple[ScoringConfig, str], Calibrator]] = (
    weakref.WeakKeyDictionary()
)
_references_lock = threading.Lock()


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
    sizes: np.ndarray  # phrasings per entry
    lexical: LexicalIndex | None
    calibrator: Calibrator
    # Known out-of-scope questions and their (query) vectors; empty when none were given.
    oos_texts: tuple[str, ...] = ()
    oos_vectors: np.ndarray | None = None
    # What the calibrator was fitted on (None: not fitted here: borrowed, or not calibrated).
    calibration: CalibrationSamples | None = None


class FaqRetriever:
    """Dense retrieval over all phrasings of a knowledge base."""

    def __init__(
        self,
        embedder: Embedder,
        *,
        cache_dir: Path | None = None,
        scoring: ScoringConfig | None = None,
        out_of_scope: Sequence[str] = (),
    ) -> None:
        self.embedder = embedder
        self.out_of_scope = tuple(out_of_scope)
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.scoring = scoring or ScoringConfig()
        self._snapshot: _Snapshot | None = None
        self._load_lock = threading.Lock()
        # False for the retriever that fits the reference calibration itself (nothing to borrow).
        self._borrows = True
        # Reference calibrations, for an embedder that cannot be a key of ``_REFERENCES``.
        self._own_references: dict[tuple[ScoringConfig, str], Calibrator] = {}
        # Entry centroids of one snapshot (``nearest_entries``), computed on first use.
        self._centroids: tuple[_Snapshot, np.ndarray] | None = None
        # ``nearest_entries`` answers of one snapshot: an answered entry asks for the same list
        # again and again ("People also ask" after every answer), without a thread each time.
        self._nearest: tuple[_Snapshot, dict[tuple[str, int], list[str]]] | None = None

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

    def load(
        self, kb: KnowledgeBase, out_of_scope: Sequence[str] | None = None
    ) -> dict[str, float]:
        """Build (or reuse from cache) the index for ``kb`` and swap it in; returns what it cost.

        ``out_of_scope`` (default: the retriever's own, e.g. from a settings file) are questions
        known not to be answered by any entry, on top of the knowledge base's own
        ``kb.out_of_scope``; they teach the confidence what an unanswerable question looks like.
        """
        if out_of_scope is None:
            out_of_scope = self.out_of_scope
        out_of_scope = (*kb.out_of_scope, *out_of_scope)
        with self._load_lock:
            started = time.perf_counter()
            previous = self._snapshot
            phrasings, owners = kb.phrasing_rows()
            stats = {"phrasings": float(len(phrasings)), "embedded": 0.0}
            oos_texts = tuple(dict.fromkeys(t for t in out_of_scope if t.strip()))
            if (
                previous is not None
                and previous.phrasings == tuple(phrasings)
                and previous.entry_ids == tuple(e.id for e in kb.entries)
                and previous.oos_texts == oos_texts
            ):
                # Only answers or tags changed: same index, same confidence; swap the entries.
                self._snapshot = replace(previous, kb=kb)
                stats["reused_index"] = 1.0
                stats["seconds"] = time.perf_counter() - started
                return stats
            cached = self._from_cache(kb, len(phrasings))
            if cached is not None:
                index, vectors = cached
                stats["cache_hit"] = 1.0
            else:
                vectors, embedded = self._embed(phrasings, previous)
                stats["embedded"] = float(embedded)
                index = build_index(vectors) if len(vectors) else faiss.IndexFlatIP(1)
                self._to_cache(kb, index, vectors, owners)
            owners_a = np.asarray(owners, dtype=np.int64)
            sizes = np.bincount(owners_a, minlength=len(kb)) if len(owners_a) else np.zeros(0)
            lexical = None
            if self.scoring.lexical_weight > 0 and phrasings:
                lexical = LexicalIndex(phrasings, owners_a, len(kb))
            snapshot = _Snapshot(
                kb=kb,
                index=index,
                vectors=vectors,
                phrasings=tuple(phrasings),
                phrasing_entry=owners_a,
                entry_ids=tuple(e.id for e in kb.entries),
                sizes=sizes,
                lexical=lexical,
                calibrator=Calibrator(),
                oos_texts=oos_texts,
                oos_vectors=self._oos_vectors(oos_texts, previous),
            )
            if self.scoring.calibrate and phrasings:
                if self._small_change(previous, phrasings, oos_texts):
                    # A handful of phrasings changed: the confidence model still fits; keep it
                    # instead of re-fitting on every operator edit (hot reload stays fast).
                    snapshot = replace(
                        snapshot,
                        calibrator=previous.calibrator,
                        calibration=previous.calibration,
                    )
                    stats["calibration_reused"] = 1.0
                else:
                    calibrated = time.perf_counter()
                    snapshot = replace(snapshot, calibration=self._calibrate(snapshot))
                    stats["calibration_seconds"] = time.perf_counter() - calibrated
            self._snapshot = snapshot
            stats["seconds"] = time.perf_counter() - started
            log.info(
                "index ready: %d entries, %d phrasings, %d embedded, %.2fs",
                len(kb),
                len(phrasings),
                int(stats["embedded"]),
                stats["seconds"],
            )
            return stats

    def _oos_vectors(
        self, texts: tuple[str, ...], previous: _Snapshot | None
    ) -> np.ndarray | None:
        if not texts:
            return None
        if previous is not None and previous.oos_texts == texts:
            return previous.oos_vectors
        return self.embedder.encode(list(texts), kind="query")

    @staticmethod
    def _small_change(
        previous: _Snapshot | None, phrasings: list[str], oos_texts: tuple[str, ...]
    ) -> bool:
        if previous is None or previous.calibration is None or previous.oos_texts != oos_texts:
            # Nothing fitted here to keep: a borrowed calibration is re-decided on every reload,
            # so a knowledge base that grows enough phrasings gets its own.
            return False
        before, after = set(previous.phrasings), set(phrasings)
        changed = len(before ^ after)
        return changed <= max(SMALL_CHANGE_PHRASINGS, SMALL_CHANGE_SHARE * len(after))

    def _calibrate(self, snap: _Snapshot) -> CalibrationSamples | None:
        """Fit the confidence on held-out phrasings searched against the rest of the knowledge base
        (and on the known out-of-scope questions); returns what it was fitted on."""
        mask = held_out_split(snap.phrasing_entry, snap.sizes, 0.2)
        held = np.flatnonzero(mask)
        if len(held) > self.scoring.max_calibration_queries:
            rng = np.random.default_rng(1)
            held = np.sort(rng.choice(held, self.scoring.max_calibration_queries, replace=False))
        if len(held) == 0:
            return self._borrow(snap, "no entry has phrasings to spare")
        if len(held) + len(snap.oos_texts) < Calibrator.MIN_SAMPLES:
            return self._borrow(
                snap,
                f"{len(held)} held-out phrasings and {len(snap.oos_texts)} out-of-scope questions"
                " are too few to fit on",
            )
        keep = np.flatnonzero(~mask)
        rest = _Snapshot(
            kb=snap.kb,
            index=build_index(snap.vectors[keep]),
            vectors=snap.vectors[keep],
            phrasings=tuple(snap.phrasings[i] for i in keep),
            phrasing_entry=snap.phrasing_entry[keep],
            entry_ids=snap.entry_ids,
            sizes=np.bincount(snap.phrasing_entry[keep], minlength=len(snap.kb)),
            lexical=(
                LexicalIndex(
                    [snap.phrasings[i] for i in keep], snap.phrasing_entry[keep], len(snap.kb)
                )
                if snap.lexical is not None
                else None
            ),
            calibrator=Calibrator(),
            oos_texts=snap.oos_texts,
            oos_vectors=snap.oos_vectors,
        )
        texts = [snap.phrasings[i] for i in held]
        x, y = [], []
        ranking = self._rank(rest, texts, snap.vectors[held], 2)
        for row, (ranked, feat) in zip(held, ranking, strict=True):
            x.append(feat)
            y.append(1 if ranked and ranked[0][0] == snap.phrasing_entry[row] else 0)
        oos_x = self._oos_features(snap)
        samples = CalibrationSamples(
            x=np.asarray(x + oos_x, dtype=np.float64),
            y=np.asarray(y + [0] * len(oos_x), dtype=np.int64),
            oos=np.asarray([False] * len(x) + [True] * len(oos_x)),
        )
        if not Calibrator.can_fit(samples.y):
            return self._borrow(
                snap,
                f"{len(held)} held-out phrasings and {len(oos_x)} out-of-scope questions are"
                f" all of one kind ({int(samples.y.sum())} found their entry)",
            )
        snap.calibrator.fit(samples.x, samples.y)
        log.info(
            "confidence calibrated on %d held-out phrasings and %d out-of-scope questions",
            len(held),
            len(snap.oos_texts),
        )
        return samples

    def _borrow(self, snap: _Snapshot, why: str) -> None:
        """Serve ``snap`` with the reference calibration, since it cannot calibrate itself: raw
        similarities are no confidence (e5's lie between 0.9 and 1 for related and unrelated
        questions alike). None: nothing was fitted here (``_Snapshot.calibration``)."""
        if not self._borrows:
            log.info("confidence not calibrated (%s): raw scores as confidence", why)
            return None
        language = self._language(snap.kb)
        snap.calibrator.adopt(self._reference_calibration(language))
        log.info("confidence borrowed from the bundled %s knowledge base (%s)", language, why)
        return None

    def _oos_features(self, snap: _Snapshot) -> list[list[float]]:
        """The features of each known out-of-scope question as if it were a new question: its
        closeness to the known ones is to the others, not to itself."""
        if not snap.oos_texts:
            return []
        oos = snap.oos_vectors
        others = oos @ oos.T
        np.fill_diagonal(others, -1.0)
        nearest = others.max(axis=1) if len(oos) > 1 else np.zeros(len(oos))
        return [
            feat for _, feat in self._rank(snap, list(snap.oos_texts), oos, 2, oos_top=nearest)
        ]

    def held_out_confidence(self, folds: int = 5, seed: int = 0) -> HeldOutConfidence:
        """The confidence each calibration question gets from a calibrator fitted without it.

        The served calibrator was fitted on the held-out phrasings and the known out-of-scope
        questions; scoring those same questions with it would grade a threshold on what taught
        it. So the calibration rows are split in ``folds`` (stratified: right, wrong,
        out-of-scope), and each fold is scored by a calibrator fitted on the other folds (the
        borrowed one, as the served model would, where the other folds are too few to fit on).
        With a borrowed calibration (too few phrasings to spare) the out-of-scope questions never
        taught it and are scored by it directly; there are then no in-scope rows.
        """
        snap = self._snapshot
        if snap is None:
            raise RuntimeError("no knowledge base loaded; call load() first")
        samples = snap.calibration
        if samples is None:
            oos_x = np.asarray(self._oos_features(snap), dtype=np.float64)
            return HeldOutConfidence(
                in_scope_confidence=np.zeros(0),
                in_scope_correct=np.zeros(0, dtype=bool),
                oos_confidence=snap.calibrator.confidences(oos_x) if len(oos_x) else np.zeros(0),
                borrowed=snap.calibrator.fitted,
            )
        rng = np.random.default_rng(seed)
        strata = np.where(samples.oos, 2, samples.y)
        fold = np.empty(len(strata), dtype=np.int64)
        for value in np.unique(strata):
            rows = rng.permutation(np.flatnonzero(strata == value))
            fold[rows] = np.arange(len(rows)) % folds
        confidence = np.empty(len(strata))
        for f in range(folds):
            test = fold == f
            if test.any():
                fitted = Calibrator().fit(samples.x[~test], samples.y[~test])
                if not fitted.fitted and self._borrows:
                    fitted = self._reference_calibration(self._language(snap.kb))
                confidence[test] = fitted.confidences(samples.x[test])
        return HeldOutConfidence(
            in_scope_confidence=confidence[~samples.oos],
            in_scope_correct=samples.y[~samples.oos] == 1,
            oos_confidence=confidence[samples.oos],
        )

    @staticmethod
    def _language(kb: KnowledgeBase) -> str:
        """The language most of ``kb`` is written in: "zh" or "en"."""
        sample = kb.phrasing_rows()[0][:2000]
        return "zh" if sum(map(is_chinese, sample)) * 2 > len(sample) else "en"

    def _reference_calibration(self, language: str) -> Calibrator:
        """The confidence model this embedder (and scoring) gets on the bundled demo knowledge
        base in ``language``: fitted once per process, embedder, scoring and language."""
        from knowledge_base import bundled_path, load_knowledge_base

        key = (self.scoring, language)
        with _references_lock:
            try:
                known = _REFERENCES.setdefault(self.embedder, {})
            except TypeError:  # not weakly referable
                known = self._own_references
            if key not in known:
                reference = FaqRetriever(
                    self.embedder, cache_dir=self.cache_dir, scoring=self.scoring
                )
                reference._borrows = False
                reference.load(load_knowledge_base(bundled_path(language)))
                known[key] = reference._snapshot.calibrator
                log.info("confidence calibrated on the bundled %s knowledge base", language)
            return known[key]

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

    def phrasing_vectors(self, texts: list[str]) -> np.ndarray:
        """Passage vectors for ``texts``, reusing the served index's vectors (quality checks)."""
        return self._embed(texts, self._snapshot)[0]

    def served_vectors(self) -> tuple[np.ndarray, tuple[str, ...], np.ndarray | None]:
        """The served phrasing vectors, the entry id of each row, and the known out-of-scope
        questions' vectors (None when there are none): what a learned phrasing is compared with
        (``knowledge_base.learning.neighbours``)."""
        snap = self._snapshot
        if snap is None:
            raise RuntimeError("no knowledge base loaded; call load() first")
        owners = tuple(snap.entry_ids[int(i)] for i in snap.phrasing_entry)
        return snap.vectors, owners, snap.oos_vectors

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
        # One query gains nothing from FAISS's OpenMP team and pays for waking it (several times
        # the search itself on 2 cores); the setting is per calling thread and restored.
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            result = self.search_vectors([text], query, k)[0]
        finally:
            faiss.omp_set_num_threads(threads)
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
        results = []
        for text, (ranked, feats) in zip(texts, self._rank(snap, texts, queries, k), strict=True):
            candidates = tuple(
                RetrievedFaq(snap.kb.entries[pos], score, snap.phrasings[row])
                for pos, score, row in ranked
            )
            confidence = snap.calibrator.confidence(feats) if candidates else 0.0
            results.append(SearchResult(text, candidates, confidence, {}))
        return results

    def nearest_entries(self, entry_id: str, k: int = 5) -> list[str]:
        """The ids of the ``k`` entries most similar to ``entry_id`` (the cosine of the mean of
        each entry's phrasing vectors), best first; empty when the entry is not served. Nothing
        is embedded: the served index's vectors are reused."""
        snap = self._snapshot
        if snap is None or entry_id not in snap.entry_ids or k <= 0:
            return []
        known = self.nearest_known(entry_id, k)
        if known is not None:
            return known
        centroids = self._entry_centroids(snap)
        pos = snap.entry_ids.index(entry_id)
        sims = centroids @ centroids[pos]
        sims[pos] = -np.inf
        order = np.argsort(-sims, kind="stable")[: min(k, len(sims) - 1)]
        found = [snap.entry_ids[i] for i in order]
        cached = self._nearest
        if cached is None or cached[0] is not snap:
            cached = self._nearest = (snap, {})
        cached[1][(entry_id, k)] = found
        return list(found)

    def nearest_known(self, entry_id: str, k: int = 5) -> list[str] | None:
        """``nearest_entries(entry_id, k)`` if the served index already answered it (cheap
        enough for the event loop); None when it must be computed."""
        snap, cached = self._snapshot, self._nearest
        if snap is None or cached is None or cached[0] is not snap:
            return None
        found = cached[1].get((entry_id, k))
        return None if found is None else list(found)

    def _entry_centroids(self, snap: _Snapshot) -> np.ndarray:
        cached = self._centroids
        if cached is not None and cached[0] is snap:
            return cached[1]
        dim = snap.vectors.shape[1] if len(snap.vectors) else 1
        sums = np.zeros((len(snap.entry_ids), dim), dtype=np.float32)
        if len(snap.vectors):
            np.add.at(sums, snap.phrasing_entry, snap.vectors)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        centroids = sums / np.where(norms > 0, norms, 1.0)
        self._centroids = (snap, centroids)
        return centroids

    def _rank(
        self,
        snap: _Snapshot,
        texts: Sequence[str],
        queries: np.ndarray,
        k: int,
        oos_top: np.ndarray | None = None,
    ) -> list[tuple[list[tuple[int, float, int]], list[float]]]:
        """Per query: the ``k`` best (entry position, score, best phrasing row) and the features.

        ``oos_top`` overrides each query's similarity to the nearest known out-of-scope question.
        """
        if snap.index.ntotal == 0:
            return [([], features(0.0, 0.0, 0.0, False)) for _ in texts]
        cfg = self.scoring
        n = min(cfg.neighbours, snap.index.ntotal)
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        sims, rows = snap.index.search(queries, n)
        if oos_top is None:
            oos_top = (
                (queries @ snap.oos_vectors.T).max(axis=1)
                if snap.oos_vectors is not None
                else np.zeros(len(queries), dtype=np.float32)
            )
        out = []
        for text, row_sims, row_ids, nearest_oos in zip(texts, sims, rows, oos_top, strict=True):
            dense = entry_scores(row_sims, row_ids, snap.phrasing_entry, cfg.top_m, snap.sizes)
            lexical = snap.lexical.scores(text) if snap.lexical is not None else None
            scored = []
            for pos, (score, row) in dense.items():
                if lexical is not None:
                    score += cfg.lexical_weight * float(lexical[pos])
                scored.append((pos, score, row))
            scored.sort(key=lambda item: -item[1])
            top = scored[0][1] if scored else 0.0
            second = scored[1][1] if len(scored) > 1 else 0.0
            lexical_top, agree = 0.0, False
            if lexical is not None and scored:
                lexical_top = float(lexical[scored[0][0]])
                agree = bool(lexical.max() > 0 and int(lexical.argmax()) == scored[0][0])
            out.append((scored[:k], features(top, second, lexical_top, agree, float(nearest_oos))))
        return out
