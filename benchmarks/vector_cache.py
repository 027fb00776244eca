"""An embedder wrapper for benchmarks: every text is encoded once per run (or model version)."""

from __future__ import annotations

import numpy as np

from retrieval.embedder import Embedder


class CachedEmbedder:
    """``inner`` with a vector cache. ``kinds_alike``: the model encodes questions and passages
    the same way (MiniLM), so one vector serves both; otherwise each kind is kept apart (e5)."""

    def __init__(self, inner: Embedder, *, kinds_alike: bool = False) -> None:
        self.inner = inner
        self.kinds_alike = kinds_alike
        self._cache: dict[object, np.ndarray] = {}

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def warm_up(self) -> None:
        self.inner.warm_up()

    def _key(self, text: str, kind: str) -> object:
        return text if self.kinds_alike else (kind, text)

    def prime(self, texts: list[str], kind: str = "query") -> None:
        """Encode what is not cached yet, in one batch."""
        missing = [t for t in dict.fromkeys(texts) if self._key(t, kind) not in self._cache]
        if missing:
            vectors = self.inner.encode(missing, kind=kind)
            for text, vector in zip(missing, vectors, strict=True):
                self._cache[self._key(text, kind)] = vector

    def encode(self, texts: list[str], kind: str = "query") -> np.ndarray:
        self.prime(texts, kind)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = np.stack([self._cache[self._key(t, kind)] for t in texts])
        return np.ascontiguousarray(vectors, dtype=np.float32)
