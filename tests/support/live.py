"""Small stand-ins around ``LiveModels`` for watcher tests: what was served and swapped in, and a
model factory whose retrievers and generators the test builds."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bot.services.live import LiveModels
from knowledge_base import KnowledgeBase
from knowledge_base.loaders import OutOfScopeFile
from models.generator import VerbatimGenerator


class RecordingLive(LiveModels):
    """``LiveModels`` that remembers the versions served and the models swapped in."""

    def __init__(self, retriever: Any, generator: Any = None, **kwargs: Any) -> None:
        super().__init__(retriever, generator or VerbatimGenerator(), **kwargs)
        self.served: list[int] = []
        self.retrievers: list[Any] = []
        self.generators: list[Any] = []

    def serve(self, version: int, kb: KnowledgeBase) -> dict[str, float]:
        stats = super().serve(version, kb)
        self.served.append(version)
        return stats

    def swap_retriever(self, fresh: Any) -> None:
        super().swap_retriever(fresh)
        self.retrievers.append(fresh)

    def swap_generator(self, fresh: Any) -> None:
        super().swap_generator(fresh)
        self.generators.append(fresh)


class FakeModels:
    """A ``ModelFactory`` whose retriever and generator for a model path the test supplies."""

    def __init__(
        self,
        retriever: Callable[[str], Any] | None = None,
        generator: Callable[[str], Any] | None = None,
        out_of_scope: OutOfScopeFile | None = None,
    ) -> None:
        self._retriever, self._generator = retriever, generator
        self.out_of_scope = out_of_scope
        self.not_here: set[str] = set()  # published paths this "host" cannot see

    def locate(self, model: Any) -> str | None:
        return None if model.path in self.not_here else model.path

    def retriever(self, model_path: str, out_of_scope: Sequence[str]) -> Any:
        if self._retriever is None:
            raise AssertionError("no retriever model expected")
        return self._retriever(model_path)

    def generator(self, model_path: str, embedder: Any) -> Any:
        if self._generator is None:
            raise AssertionError("no generator model expected")
        return self._generator(model_path)
