"""Search latency, recall and memory of the FAISS index the product picks for a large knowledge base.

Synthetic, clustered unit vectors stand in for 1,000,000 phrasings (384 dimensions, like MiniLM);
recall@10 is measured against exact search. Usage:
    python benchmarks/index_scale.py [--n 1000000] [--queries 500]
"""

from __future__ import annotations

import argparse
import resource
import time

import faiss
import numpy as np

from retrieval.index import build_index, choose_index


def clustered_vectors(n: int, dim: int, clusters: int, rng: np.random.Generator) -> np.ndarray:
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    labels = rng.integers(0, clusters, n)
    out = np.empty((n, dim), dtype=np.float32)
    step = 100_000
    for start in range(0, n, step):
        part = slice(start, min(n, start + step))
        noise = rng.standard_normal((part.stop - part.start, dim)).astype(np.float32)
        out[part] = centres[labels[part]] + 0.6 * noise
    faiss.normalize_L2(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    faiss.omp_set_num_threads(args.threads)
    rng = np.random.default_rng(7)
    vectors = clustered_vectors(args.n, args.dim, max(64, args.n // 200), rng)
    queries = vectors[rng.choice(args.n, args.queries, replace=False)].copy()
    queries += 0.05 * rng.standard_normal(queries.shape).astype(np.float32)
    faiss.normalize_L2(queries)

    choice = choose_index(args.n)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    index = build_index(vectors, choice)
    build_s = time.perf_counter() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    exact = faiss.IndexFlatIP(args.dim)
    exact.add(vectors)
    _, truth = exact.search(queries, 10)

    timings = []
    found = np.empty((args.queries, 10), dtype=np.int64)
    for i in range(args.queries):
        t0 = time.perf_counter()
        _, ids = index.search(queries[i : i + 1], 10)
        timings.append((time.perf_counter() - t0) * 1000)
        found[i] = ids[0]
    recall = np.mean([len(set(found[i]) & set(truth[i])) / 10 for i in range(args.queries)])
    index_mb = faiss.serialize_index(index).nbytes / 2**20
    print(f"phrasings            {args.n:,} x {args.dim}")
    print(f"index                {choice.kind} (nlist={choice.nlist}, nprobe={choice.nprobe})")
    print(f"build time           {build_s:.1f} s")
    print(
        f"index size           {index_mb:.0f} MiB (peak RSS grew {(rss_after - rss_before) / 1024:.0f} MiB)"
    )
    print(
        f"search p50 / p99     {np.percentile(timings, 50):.2f} / {np.percentile(timings, 99):.2f} ms"
    )
    print(f"recall@10 vs exact   {recall:.4f}")


if __name__ == "__main__":
    main()
