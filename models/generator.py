"""The generation seam: turn retrieved FAQ entries into the reply a customer reads."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from common.language import has_chinese
from models.prompting import HistoryTurn
from retrieval.retriever import RetrievedFaq

__all__ = [
    "GeneratedReply",
    "Generator",
    "HistoryTurn",
    "ReplySource",
    "VerbatimGenerator",
    "generates_in",
    "verbatim_reply",
]
TextCallback = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class GeneratedReply:
    text: str
    source: ReplySource
    entry_id: str | None
    note: str = ""  # why a generated reply fell back to the FAQ text
    draft: str = ""  # the generated text the guard refused, if any


class ReplySource(StrEnum):
    """Where a reply's text comes from."""

    FAQ = "faq"  # the entry's answer as the operators wrote it
    GENERATED = "generated"  # composed by the model and checked against the entries
    HANDOFF = "handoff"  # the model found no answer in the entries: a person should take it


class Generator(Protocol):
    """Composes a reply to ``question`` from ``candidates`` (best first) and earlier turns.

    ``on_text`` receives the reply so far while it is being written (from the generating thread);
    setting ``stop`` asks the generator to give up early.
    """

    name: str

    def warm_up(self) -> None: ...

    def generate(
        self,
        question: str,
        candidates: Sequence[RetrievedFaq],
        history: Sequence[HistoryTurn] = (),
        *,
        on_text: TextCallback | None = None,
        stop: threading.Event | None = None,
    ) -> GeneratedReply: ...


class VerbatimGenerator:
    """Replies with the best entry's answer as written by the operators."""

    name = "verbatim"

    def warm_up(self) -> None:
        return None

    def generate(
        self,
        question: str,
        candidates: Sequence[RetrievedFaq],
        history: Sequence[HistoryTurn] = (),
        **_streaming: object,
    ) -> GeneratedReply:
        """The reply is ready at once, so ``on_text`` and ``stop`` have nothing to do."""
        return verbatim_reply(candidates)


def generates_in(question: str, candidates: Sequence[RetrievedFaq]) -> bool:
    """Whether the reply model may write this reply: it writes English only (its base model is
    English), so a question or a source entry with Chinese in it gets the entry's answer verbatim.
    """
    texts = [question, *(c.entry.answer for c in candidates[:2])]
    return not any(has_chinese(t) for t in texts)


def verbatim_reply(
    candidates: Sequence[RetrievedFaq], note: str = "", draft: str = ""
) -> GeneratedReply:
    """The best entry's answer as written; ``note`` and ``draft`` say what it replaces."""
    if not candidates:
        raise ValueError("no candidate entries to answer from")
    top = candidates[0]
    return GeneratedReply(top.entry.answer, ReplySource.FAQ, top.entry.id, note=note, draft=draft)
