"""FAISS vector indexes whose type follows the collection size, saved next to their vectors."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

EXACT_LIMIT = 100_000


@dataclass(frozen=True, slots=True)
class IndexChoice:
    kind: str
    nlist: int = 0
    nprobe: int = 0


def choose_index(n_vectors: int) -> IndexChoice:
    """Exact search while it is fast enough; an inverted-file index beyond that."""
    if n_vectors <= EXACT_LIMIT:
        return IndexChoice("flat")
    nlist = int(min(16384, max(1024, 4 * np.sqrt(n_vectors))))
    return IndexChoice("ivf", nlist=nlist, nprobe=max(12, nlist // 256))


def build_index(vectors: np.ndarray, choice: IndexChoice | None = None) -> faiss.Index:
    """An inner-product index over L2-normalised vectors (inner product = cosine)."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    choice = choice or choose_index(n)
    if choice.kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif choice.kind == "ivf":
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, choice.nlist, faiss.METRIC_INNER_PRODUCT)
        # k-means on a sample with few iterations: build time stays minutes, not tens of minutes.
        index.cp.niter = 10
        sample = vectors
        if n > choice.nlist * 32:
            rng = np.random.default_rng(0)
            sample = vectors[rng.choice(n, choice.nlist * 32, replace=False)]
        index.train(sample)
        index.nprobe = choice.nprobe
    else:
        raise ValueError(f"unknown index kind {choice.kind!r}")
    index.add(vectors)
    return index


def save_index(index: faiss.Index, folder: Path, meta: dict) -> None:
    """Write the index and its metadata atomically (a reader never sees a half-written pair)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".faiss.tmp")
    os.close(fd)
    faiss.write_index(index, tmp)
    os.replace(tmp, folder / "index.faiss")
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".json.tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(meta, fh, ensure_ascii=False)
    os.replace(tmp, folder / "index.json")


def load_index(folder: Path) -> tuple[faiss.Index, dict] | None:
    """The saved index and metadata, or None when absent or unreadable."""
    try:
        meta = json.loads((folder / "index.json").read_text(encoding="utf-8"))
        index = faiss.read_index(str(folder / "index.faiss"))
    except (OSError, ValueError, RuntimeError):
        return None
    if index.ntotal != len(meta.get("phrasing_entry", [])):
        return None
    if isinstance(index, faiss.IndexIVF):
        index.nprobe = int(meta.get("nprobe", index.nprobe))
    return index, meta
