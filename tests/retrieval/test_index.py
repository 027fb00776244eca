"""Index type by size, and the inverted-file index's recall against exact search."""

from __future__ import annotations

import faiss
import numpy as np

from retrieval.index import (
    EXACT_LIMIT,
    IndexChoice,
    build_index,
    choose_index,
    load_index,
    save_index,
)


def test_exact_search_for_small_collections_ivf_for_large() -> None:
    assert choose_index(10_000).kind == "flat"
    assert choose_index(EXACT_LIMIT).kind == "flat"
    large = choose_index(1_000_000)
    assert large.kind == "ivf" and large.nlist == 4000 and large.nprobe >= 12


def test_ivf_recall_against_exact(tmp_path) -> None:
    rng = np.random.default_rng(1)
    centres = rng.standard_normal((200, 64)).astype(np.float32)
    vectors = centres[rng.integers(0, 200, 40_000)] + 0.5 * rng.standard_normal(
        (40_000, 64)
    ).astype(np.float32)
    faiss.normalize_L2(vectors)
    queries = vectors[:200] + 0.05 * rng.standard_normal((200, 64)).astype(np.float32)
    faiss.normalize_L2(queries)
    ivf = build_index(vectors, IndexChoice("ivf", nlist=128, nprobe=12))
    exact = build_index(vectors, IndexChoice("flat"))
    _, truth = exact.search(queries, 10)
    _, found = ivf.search(queries, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth, strict=True)])
    assert recall >= 0.95
    save_index(ivf, tmp_path, {"phrasing_entry": [0] * len(vectors), "nprobe": 12})
    loaded, _meta = load_index(tmp_path)
    assert loaded.ntotal == len(vectors) and loaded.nprobe == 12
    assert load_index(tmp_path / "missing") is None
