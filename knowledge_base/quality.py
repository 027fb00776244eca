"""Quality checks of a knowledge base: near-duplicate questions and phrasings in the wrong entry.

Both checks work on normalised phrasing embeddings and name both entries involved, so an operator
can merge the duplicates or move the phrasing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from knowledge_base.model import KnowledgeBase

Vectors = Callable[[list[str]], np.ndarray]
DUPLICATE_THRESHOLD = 0.9
_BLOCK = 2048


@dataclass(frozen=True, slots=True)
class QualityIssue:
    """``near_duplicate``: ``text`` (of ``entry_id``) and ``other_text`` (of ``other_id``) say the same.
    ``closer_to_other``: ``text`` of ``entry_id`` is closer to ``other_id`` than to its own entry."""

    kind: str
    entry_id: str
    other_id: str
    text: str
    other_text: str
    score: float

    def describe(self) -> str:
        if self.kind == "near_duplicate":
            return (
                f"near-duplicate: {self.entry_id} “{self.text}” ≈ {self.other_id} "
                f"“{self.other_text}” (similarity {self.score:.2f})"
            )
        return (
            f"misplaced phrasing: {self.entry_id} “{self.text}” is closer to {self.other_id} "
            f"than to its own entry (margin {self.score:.2f})"
        )


def _normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.maximum(norms, 1e-12)


def check_quality(
    kb: KnowledgeBase,
    vectors: Vectors,
    *,
    duplicate_threshold: float = DUPLICATE_THRESHOLD,
    only_ids: Iterable[str] | None = None,
) -> list[QualityIssue]:
    """Every issue in ``kb`` (when ``only_ids`` is given: those involving one of these entries)."""
    texts, owners = kb.phrasing_rows()
    if len(kb) < 2 or not texts:
        return []
    v = _normalise(vectors(texts))
    owner = np.asarray(owners)
    focus = None if only_ids is None else {kb.entries.index(kb[i]) for i in only_ids if i in kb}
    issues = _near_duplicates(kb, texts, v, owner, duplicate_threshold, focus)
    issues += _misplaced(kb, texts, v, owner, focus)
    return issues


def _near_duplicates(kb, texts, v, owner, threshold, focus) -> list[QualityIssue]:
    best: dict[tuple[int, int], QualityIssue] = {}
    for start in range(0, len(texts), _BLOCK):
        sims = v[start : start + _BLOCK] @ v.T
        rows, cols = np.nonzero(sims >= threshold)
        for r, c in zip(rows, cols, strict=True):
            i, j = start + int(r), int(c)
            a, b = int(owner[i]), int(owner[j])
            if a >= b or (focus is not None and a not in focus and b not in focus):
                continue
            score = float(sims[r, c])
            if (a, b) not in best or best[(a, b)].score < score:
                best[(a, b)] = QualityIssue(
                    "near_duplicate", kb.entries[a].id, kb.entries[b].id, texts[i], texts[j], score
                )
    return sorted(best.values(), key=lambda x: -x.score)


def _misplaced(kb, texts, v, owner, focus) -> list[QualityIssue]:
    n_entries = len(kb)
    sums = np.zeros((n_entries, v.shape[1]), dtype=np.float32)
    np.add.at(sums, owner, v)
    counts = np.bincount(owner, minlength=n_entries)
    centroids = _normalise(sums)
    issues = []
    for start in range(0, len(texts), _BLOCK):
        block = v[start : start + _BLOCK]
        sims = block @ centroids.T
        for r in range(len(block)):
            i = start + r
            own = int(owner[i])
            if counts[own] < 2:
                continue  # a lone question has no other phrasings to compare with
            rest = sums[own] - block[r]
            own_sim = float(block[r] @ (rest / max(np.linalg.norm(rest), 1e-12)))
            sims[r, own] = -np.inf
            other = int(np.argmax(sims[r]))
            margin = float(sims[r, other]) - own_sim
            if margin <= 0:
                continue
            if focus is not None and own not in focus and other not in focus:
                continue
            issues.append(
                QualityIssue(
                    "closer_to_other",
                    kb.entries[own].id,
                    kb.entries[other].id,
                    texts[i],
                    kb.entries[other].question,
                    margin,
                )
            )
    return sorted(issues, key=lambda x: -x.score)
