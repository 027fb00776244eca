"""The generation seam: turn retrieved FAQ entries into the reply a customer reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from retrieval.retriever import RetrievedFaq


@dataclass(frozen=True, slots=True)
class GeneratedReply:
    text: str
    source: str  # "faq" (verbatim answer) or "generated"
    entry_id: str | None


class Generator(Protocol):
    """Composes a reply to ``question`` from ``candidates`` (best first) and earlier turns."""

    name: str

    def warm_up(self) -> None: ...

    def generate(
        self, question: str, candidates: Sequence[RetrievedFaq], history: Sequence[str] = ()
    ) -> GeneratedReply: ...


class VerbatimGenerator:
    """Replies with the best entry's answer as written by the operators."""

    name = "verbatim"

    def warm_up(self) -> None:
        return None

    def generate(
        self, question: str, candidates: Sequence[RetrievedFaq], history: Sequence[str] = ()
    ) -> GeneratedReply:
        if not candidates:
            raise ValueError("no candidate entries to answer from")
        top = candidates[0]
        return GeneratedReply(text=top.entry.answer, source="faq", entry_id=top.entry.id)
