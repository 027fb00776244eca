"""The knowledge base as the rest of the product sees it: immutable entries with their phrasings."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field


def text_key(text: str) -> str:
    """What two phrasings must share to count as the same question (case and spacing ignored)."""
    return " ".join(text.lower().split())


@dataclass(frozen=True, slots=True)
class FaqEntry:
    """One FAQ entry: a canonical question, alternative phrasings and the answer."""

    id: str
    question: str
    answer: str
    alternatives: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    @property
    def phrasings(self) -> tuple[str, ...]:
        """The question followed by its alternatives, without duplicates (case-insensitive)."""
        seen: set[str] = set()
        out: list[str] = []
        for text in (self.question, *self.alternatives):
            key = text_key(text)
            if key and key not in seen:
                seen.add(key)
                out.append(text)
        return tuple(out)

    def with_alternatives(self, extra: Iterable[str]) -> FaqEntry:
        return FaqEntry(
            id=self.id,
            question=self.question,
            answer=self.answer,
            alternatives=(*self.alternatives, *extra),
            tags=self.tags,
        )

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "question": self.question,
            "answer": self.answer,
            "alternatives": list(self.alternatives),
            "tags": list(self.tags),
        }


@dataclass(frozen=True)
class KnowledgeBase:
    """An ordered, id-unique collection of FAQ entries.

    ``out_of_scope``: questions customers ask that no entry answers on purpose ("where can I eat
    near your store"); retrieval learns from them what to hand to a person instead of answering.
    """

    entries: tuple[FaqEntry, ...]
    name: str = "knowledge base"
    out_of_scope: tuple[str, ...] = ()
    _by_id: dict[str, FaqEntry] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_id: dict[str, FaqEntry] = {}
        for entry in self.entries:
            if entry.id in by_id:
                raise ValueError(f"duplicate entry id {entry.id!r}")
            by_id[entry.id] = entry
        object.__setattr__(self, "_by_id", by_id)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[FaqEntry]:
        return iter(self.entries)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self._by_id

    def get(self, entry_id: str) -> FaqEntry | None:
        return self._by_id.get(entry_id)

    def __getitem__(self, entry_id: str) -> FaqEntry:
        return self._by_id[entry_id]

    def phrasing_count(self) -> int:
        return sum(len(e.phrasings) for e in self.entries)

    def phrasing_rows(self) -> tuple[list[str], list[int]]:
        """Every phrasing, entry by entry, and the position (in ``entries``) of its entry."""
        texts: list[str] = []
        owners: list[int] = []
        for position, entry in enumerate(self.entries):
            texts.extend(entry.phrasings)
            owners.extend([position] * len(entry.phrasings))
        return texts, owners

    def content_hash(self) -> str:
        """A digest of everything retrieval depends on; it changes whenever an index must be rebuilt."""
        digest = hashlib.sha256()
        for entry in self.entries:
            digest.update(json.dumps([entry.id, entry.phrasings], ensure_ascii=False).encode())
            digest.update(b"\n")
        return digest.hexdigest()[:16]

    def with_extra_phrasings(self, extra: dict[str, list[str]]) -> KnowledgeBase:
        """A copy where each entry id in ``extra`` gains those phrasings (e.g. from training data)."""
        unknown = sorted(set(extra) - set(self._by_id))
        if unknown:
            raise ValueError(f"phrasings given for unknown entries: {', '.join(unknown[:5])}")
        entries = tuple(
            e.with_alternatives(extra[e.id]) if e.id in extra else e for e in self.entries
        )
        return self.with_entries(entries)

    def with_entries(self, entries: Iterable[FaqEntry]) -> KnowledgeBase:
        """A copy with other entries (same name and out-of-scope questions)."""
        return KnowledgeBase(
            entries=tuple(entries), name=self.name, out_of_scope=self.out_of_scope
        )

    def with_out_of_scope(self, questions: Iterable[str]) -> KnowledgeBase:
        return KnowledgeBase(entries=self.entries, name=self.name, out_of_scope=tuple(questions))
