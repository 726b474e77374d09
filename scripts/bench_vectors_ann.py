"""Exact numpy search against HNSW indexes (hnswlib and usearch) on the same vectors, in one run.

    .venv/bin/python scripts/bench_vectors_ann.py [--count 100000] [--dim 384] [--queries 1000]
        [--connectivity 16] [--ef-construction 200] [--ef 32,64,128,256] [--threads 2]

The vectors are seeded and clustered like embeddings of similar profiles: 1,000 Gaussian clusters
of uneven size around random unit centres, each point normalised (cosine similarity to its centre
about 0.7). Queries are data points moved by noise and normalised again, so each has true
neighbours at varied distances. Ground truth is the exact top 10 by inner product.

Measured, one query at a time on one thread unless said otherwise:
- numpy: `matrix @ query`, argpartition, sort of the 10; and batches of 100 queries (QPS only);
- each library: build time (with `--threads`), then for each `ef` the p50 and p99 latency, QPS and
  recall@10 against the exact top 10; hnswlib also with a filter callback that lets 20 % through;
- memory: the process's RSS growth while the index was built, and the index's size once saved;
- `AnnIndex` (shared/database/ann.py) at its defaults: build, save and load time (the cost of a
  process picking up another's save), search, and search limited to a set of 20 % of the labels.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psutil

TOP_K = 10
CLUSTERS = 1_000
SEED = 20261125


@dataclass
class Row:
    method: str
    setting: str
    p50_ms: float | None = None
    p99_ms: float | None = None
    qps: float | None = None
    recall: float | None = None
    build_s: float | None = None
    rss_mb: float | None = None
    disk_mb: float | None = None


def clustered(count: int, dim: int, queries: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED)
    centres = rng.standard_normal((CLUSTERS, dim), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    weights = rng.pareto(1.5, CLUSTERS) + 1.0  # a few large clusters, many small ones
    owner = rng.choice(CLUSTERS, size=count, p=weights / weights.sum())
    # Noise of norm about 1 around a unit centre: cosine to the centre about 0.7.
    data = centres[owner] + rng.standard_normal((count, dim), dtype=np.float32) / np.sqrt(dim, dtype=np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    picked = data[rng.choice(count, size=queries, replace=False)]
    query = picked + 0.5 * rng.standard_normal((queries, dim), dtype=np.float32) / np.sqrt(dim, dtype=np.float32)
    query /= np.linalg.norm(query, axis=1, keepdims=True)
    return data, query


def exact_top(matrix: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Rows of the exact top 10 per query, best first, computed 100 queries at a time."""
    result = np.empty((len(queries), TOP_K), dtype=np.int64)
    for start in range(0, len(queries), 100):
        scores = queries[start:start + 100] @ matrix.T
        best = np.argpartition(-scores, TOP_K - 1, axis=1)[:, :TOP_K]
        order = np.argsort(-np.take_along_axis(scores, best, axis=1), axis=1)
        result[start:start + 100] = np.take_along_axis(best, order, axis=1)
    return result


def numpy_one(matrix: np.ndarray, query: np.ndarray) -> np.ndarray:
    scores = matrix @ query
    best = np.argpartition(-scores, TOP_K - 1)[:TOP_K]
    return best[np.argsort(-scores[best])]


def timed_queries(search: Callable[[np.ndarray], np.ndarray], queries: np.ndarray) -> tuple[list[float], np.ndarray]:
    durations, found = [], np.full((len(queries), TOP_K), -1, dtype=np.int64)
    for position, query in enumerate(queries):
        started = time.perf_counter()
        labels = search(query)
        durations.append(time.perf_counter() - started)
        found[position, :len(labels)] = labels
    return durations, found


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f.tolist()) & set(t.tolist())) / TOP_K for f, t in zip(found, truth, strict=True)]))


def latency(row: Row, durations: list[float]) -> Row:
    ordered = sorted(durations)
    row.p50_ms = statistics.median(ordered) * 1000
    row.p99_ms = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))] * 1000
    row.qps = len(ordered) / sum(ordered)
    return row


def rss_mb() -> float:
    gc.collect()
    return psutil.Process().memory_info().rss / 2**20


def bench_numpy(matrix: np.ndarray, queries: np.ndarray, truth: np.ndarray) -> list[Row]:
    durations, found = timed_queries(lambda query: numpy_one(matrix, query), queries)
    single = latency(Row("numpy exact", "1 query"), durations)
    single.recall = recall(found, truth)
    started = time.perf_counter()
    exact_top(matrix, queries)
    batched = Row("numpy exact", "batches of 100", qps=len(queries) / (time.perf_counter() - started))
    return [single, batched]


def bench_hnswlib(matrix: np.ndarray, queries: np.ndarray, truth: np.ndarray, args: argparse.Namespace,
                  folder: Path) -> list[Row]:
    import hnswlib

    before = rss_mb()
    started = time.perf_counter()
    index = hnswlib.Index(space="ip", dim=matrix.shape[1])
    index.init_index(max_elements=len(matrix), M=args.connectivity, ef_construction=args.ef_construction)
    index.add_items(matrix, np.arange(len(matrix)), num_threads=args.threads)
    built = Row("hnswlib", f"M={args.connectivity} efC={args.ef_construction}", build_s=time.perf_counter() - started,
                rss_mb=rss_mb() - before)
    path = folder / "hnswlib.bin"
    index.save_index(str(path))
    built.disk_mb = path.stat().st_size / 2**20
    rows = [built]
    index.set_num_threads(1)
    for ef in args.ef:
        index.set_ef(ef)
        durations, found = timed_queries(lambda query: index.knn_query(query, k=TOP_K, num_threads=1)[0][0], queries)
        row = latency(Row("hnswlib", f"ef={ef}"), durations)
        row.recall = recall(found, truth)
        rows.append(row)
    # A metadata filter that keeps every fifth label, checked by a Python callback per candidate.
    allowed = np.zeros(len(matrix), dtype=bool)
    allowed[::5] = True
    filtered_truth = exact_top(matrix[allowed], queries)
    kept_labels = np.flatnonzero(allowed)
    ef = max(args.ef)
    index.set_ef(ef)
    durations, found = timed_queries(
        lambda query: index.knn_query(query, k=TOP_K, num_threads=1, filter=lambda label: label % 5 == 0)[0][0],
        queries)
    row = latency(Row("hnswlib", f"ef={ef}, filter 20 %"), durations)
    row.recall = recall(found, kept_labels[filtered_truth])
    rows.append(row)
    return rows


def bench_usearch(matrix: np.ndarray, queries: np.ndarray, truth: np.ndarray, args: argparse.Namespace,
                  folder: Path) -> list[Row]:
    from usearch.index import Index

    before = rss_mb()
    started = time.perf_counter()
    index = Index(ndim=matrix.shape[1], metric="ip", dtype="f32", connectivity=args.connectivity,
                  expansion_add=args.ef_construction)
    index.add(np.arange(len(matrix), dtype=np.uint64), matrix, threads=args.threads)
    built = Row("usearch", f"M={args.connectivity} efC={args.ef_construction}", build_s=time.perf_counter() - started,
                rss_mb=rss_mb() - before)
    path = folder / "usearch.bin"
    index.save(str(path))
    built.disk_mb = path.stat().st_size / 2**20
    rows = [built]
    for ef in args.ef:
        index.expansion_search = ef
        durations, found = timed_queries(lambda query: index.search(query, TOP_K, threads=1).keys, queries)
        row = latency(Row("usearch", f"ef={ef}"), durations)
        row.recall = recall(found, truth)
        rows.append(row)
    return rows


def bench_module(matrix: np.ndarray, queries: np.ndarray, truth: np.ndarray, args: argparse.Namespace,
                 folder: Path) -> list[Row]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from shared.database.ann import EF_SEARCH, AnnIndex

    before = rss_mb()
    started = time.perf_counter()
    index = AnnIndex(matrix.shape[1], folder / "module.hnsw")
    index.add(np.arange(len(matrix)), matrix, threads=args.threads)
    built = Row("AnnIndex", f"M={index.connectivity} efC={index.ef_construction}", build_s=time.perf_counter() - started, rss_mb=rss_mb() - before)
    started = time.perf_counter()
    index.save(revision=1)
    saved = Row("AnnIndex", "save", build_s=time.perf_counter() - started, disk_mb=index.path.stat().st_size / 2**20)
    reader = AnnIndex(matrix.shape[1], index.path)
    started = time.perf_counter()
    reader.load()
    loaded = Row("AnnIndex", "load in a reader", build_s=time.perf_counter() - started)
    durations, found = timed_queries(lambda query: [label for label, _ in reader.search(query, TOP_K)], queries)
    row = latency(Row("AnnIndex", f"ef={EF_SEARCH}"), durations)
    row.recall = recall(found, truth)
    org = frozenset(range(0, len(matrix), 5))
    durations, found = timed_queries(lambda query: [label for label, _ in reader.search(query, TOP_K, allowed=org)],
                                     queries)
    filtered = latency(Row("AnnIndex", f"ef={EF_SEARCH}, allowed: set of 20 %"), durations)
    filtered.recall = recall(found, np.flatnonzero(np.arange(len(matrix)) % 5 == 0)[exact_top(matrix[::5], queries)])
    return [built, saved, loaded, row, filtered]


def table(rows: list[Row]) -> str:
    def show(value: float | None, digits: int) -> str:
        return "" if value is None else f"{value:,.{digits}f}"

    lines = ["| method | setting | build / save / load s | p50 ms | p99 ms | QPS | recall@10 | RSS +MB | disk MB |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row.method} | {row.setting} | {show(row.build_s, 2)} | {show(row.p50_ms, 2)} | "
                     f"{show(row.p99_ms, 2)} | {show(row.qps, 0)} | {show(row.recall, 4)} | {show(row.rss_mb, 0)} | "
                     f"{show(row.disk_mb, 0)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--connectivity", type=int, default=16)
    parser.add_argument("--ef-construction", type=int, default=200)
    parser.add_argument("--ef", type=lambda text: [int(one) for one in text.split(",")], default=[32, 64, 128, 256])
    parser.add_argument("--threads", type=int, default=2, help="threads for building; searches use one")
    args = parser.parse_args()

    started = time.perf_counter()
    matrix, queries = clustered(args.count, args.dim, args.queries)
    truth = exact_top(matrix, queries)
    print(f"{args.count:,} x {args.dim} vectors, {args.queries:,} queries, generated and ground truth in "
          f"{time.perf_counter() - started:.1f} s; load average {psutil.getloadavg()[0]:.1f} on "
          f"{psutil.cpu_count()} cores", flush=True)
    rows = bench_numpy(matrix, queries, truth)
    with tempfile.TemporaryDirectory() as folder:
        rows += bench_hnswlib(matrix, queries, truth, args, Path(folder))
        rows += bench_usearch(matrix, queries, truth, args, Path(folder))
        rows += bench_module(matrix, queries, truth, args, Path(folder))
    print(table(rows))
    print(f"load average at the end {psutil.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
