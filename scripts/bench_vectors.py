"""Benchmark `RelationalVectors.search` on its exact path and its ANN path, in one run.

    .venv/bin/python scripts/bench_vectors.py [--count 100000] [--dim 384] [--queries 500]
        [--threshold 50000] [--build-threads N]

`--count` seeded, clustered unit vectors (as scripts/bench_vectors_ann.py makes them), all in one
org, are written to a fresh SQLite database in a temporary directory through `upsert` (batches
of 2,000). Two stores open that database: one whose threshold no org reaches (exact numpy search
always) and one with `--threshold` and an index directory, which builds an HNSW index in a worker
thread at its first search. Then, one query at a time, in blocks of 50 queries alternating
between the two stores, so that a busy machine slows both alike while neither measures the
other's BLAS threads still spinning after a matrix product:

- top-10 search: p50, p99, QPS, recall@10 against the exact top 10 computed in plain numpy;
- filtered search, `bucket in [1, 2]` (20 % of the rows: the index's filtered walk) and
  `bucket_100 == 7` (1 %: scored exactly over those rows on both stores);
- the ANN store's search right after another client's upsert or delete (catching up on the spot);
- the index's build time (first search until ready), and the time a third store takes to load it
  from the directory instead; the process's RSS at each stage; the load average before and after.

`--sweep 10000,25000,50000` also times exact search alone for orgs of those sizes (each holding
the first N vectors), alternating between them block by block: the figures the threshold is
chosen from.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_vectors_ann import clustered, exact_top

from shared.database.relational import open_relational
from shared.database.schema import upgrade_async
from shared.database.vectors import CollectionSpec, VectorHit, VectorRecord
from shared.database.vectors_relational import ANN_THRESHOLD, RelationalVectors

ORG = "org-bench"
COLLECTION = "talents"
TOP_K = 10
BATCH = 2_000
BLOCK = 50
NEVER = 10**12  # a threshold no org reaches: exact search always


def record_id(row: int) -> str:
    return f"t{row:07d}"


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in psutil.getloadavg())


def summary(name: str, durations: list[float], recall: float | None = None) -> str:
    ordered = sorted(durations)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    line = (f"{name:<44} p50 {statistics.median(ordered) * 1000:7.2f} ms   p99 {p99 * 1000:7.2f} ms   "
            f"QPS {len(ordered) / sum(ordered):8.1f}")
    return line if recall is None else f"{line}   recall@10 {recall:.4f}"


def recall_of(found: list[list[str]], truth: list[list[str]]) -> float:
    return float(np.mean([len(set(hits) & set(best)) / max(1, len(best)) for hits, best in zip(found, truth,
                                                                                                strict=True)]))


async def timed(call: Awaitable[list[VectorHit]]) -> tuple[float, list[str]]:
    started = time.perf_counter()
    hits = await call
    return time.perf_counter() - started, [hit.id for hit in hits]


async def alternate(stores: dict[str, RelationalVectors], probes: np.ndarray,
                    search: Callable[[RelationalVectors, np.ndarray], Awaitable[list[VectorHit]]],
                    ) -> dict[str, tuple[list[float], list[list[str]]]]:
    """Every probe searched on every store, in blocks of BLOCK taking turns: durations and ids found, per store."""
    results: dict[str, tuple[list[float], list[list[str]]]] = {name: ([], []) for name in stores}
    for start in range(0, len(probes), BLOCK):
        for name, store in stores.items():
            for probe in probes[start:start + BLOCK]:
                duration, found = await timed(search(store, probe))
                results[name][0].append(duration)
                results[name][1].append(found)
    return results


async def sweep(url: str, matrix: np.ndarray, probes: np.ndarray, sizes: list[int]) -> list[str]:
    """Exact search alone, for orgs holding the first N vectors, alternating between sizes block by block."""
    relational = open_relational(url)
    store = RelationalVectors(relational, ann_threshold=NEVER)
    stores = {}
    for size in sizes:
        org = f"org-{size}"
        for start in range(0, size, BATCH):
            await store.upsert(COLLECTION, [VectorRecord(f"{org}-{i}", org, matrix[i], {"bucket": i % 10}, 1)
                                            for i in range(start, min(start + BATCH, size))])
        await store.search(COLLECTION, org, probes[0], top_k=TOP_K)  # loads the org's matrix
        stores[size] = org
    durations: dict[int, list[float]] = {size: [] for size in sizes}
    for start in range(0, len(probes), BLOCK):
        for size, org in stores.items():
            for probe in probes[start:start + BLOCK]:
                duration, _ = await timed(store.search(COLLECTION, org, probe, top_k=TOP_K))
                durations[size].append(duration)
    await store.close()
    await relational.close()
    return [summary(f"exact search, org of {size:,}", durations[size]) for size in sizes]


def truth_within(matrix: np.ndarray, probes: np.ndarray, rows: np.ndarray) -> list[list[str]]:
    """The exact top 10 among `rows`, as record ids."""
    return [[record_id(int(rows[best])) for best in top] for top in exact_top(matrix[rows], probes)]


async def main(args: argparse.Namespace) -> None:
    print(f"load average at the start {load_average()}; {psutil.cpu_count()} cores", flush=True)
    matrix, probes = clustered(args.count, args.dim, args.queries)
    truth = [[record_id(int(row)) for row in top] for top in exact_top(matrix, probes)]
    buckets = np.arange(args.count) % 10
    wide_rows = np.flatnonzero(np.isin(buckets, [1, 2]))
    narrow_rows = np.flatnonzero(np.arange(args.count) % 100 == 7)
    baseline = rss_mb()

    with tempfile.TemporaryDirectory(prefix="looma-bench-vectors-") as folder:
        url = f"sqlite+aiosqlite:///{folder}/looma.db"
        await upgrade_async(url)
        relationals = [open_relational(url) for _ in range(4)]
        exact = RelationalVectors(relationals[0], ann_threshold=NEVER)
        ann = RelationalVectors(relationals[1], index_dir=Path(folder) / "vector-index", ann_threshold=args.threshold,
                                build_threads=args.build_threads)
        writer = RelationalVectors(relationals[2], ann_threshold=NEVER)
        await exact.ensure_collection(CollectionSpec(COLLECTION, args.dim, ("bucket", "bucket_100")))

        started = time.perf_counter()
        for start in range(0, args.count, BATCH):
            await writer.upsert(COLLECTION, [VectorRecord(record_id(i), ORG, matrix[i],
                                                          {"bucket": i % 10, "bucket_100": i % 100}, 1)
                                             for i in range(start, min(start + BATCH, args.count))])
        load_seconds = time.perf_counter() - started

        started = time.perf_counter()
        await exact.search(COLLECTION, ORG, probes[0], top_k=TOP_K)
        exact_first = time.perf_counter() - started
        exact_rss = rss_mb()

        started = time.perf_counter()
        await ann.search(COLLECTION, ORG, probes[0], top_k=TOP_K)  # loads the matrix, starts the build
        ann_first = time.perf_counter() - started
        await ann.wait_for_indexes()
        build_seconds = time.perf_counter() - started
        ann_rss = rss_mb()
        assert ann.index_counts.built == 1, ann.index_counts
        print(f"index built in {build_seconds:.1f} s; load average {load_average()}", flush=True)

        stores = {"exact": exact, "ann": ann}
        plain = await alternate(stores, probes, lambda store, probe: store.search(COLLECTION, ORG, probe,
                                                                                  top_k=TOP_K))
        wide = await alternate(stores, probes, lambda store, probe: store.search(
            COLLECTION, ORG, probe, top_k=TOP_K, filters={"bucket": [1, 2]}))
        narrow = await alternate(stores, probes, lambda store, probe: store.search(
            COLLECTION, ORG, probe, top_k=TOP_K, filters={"bucket_100": 7}))
        ann_paths = ann.index_counts.ann_searches

        after_upsert: list[float] = []
        after_delete: list[float] = []
        for i in range(20):
            await writer.upsert(COLLECTION, [VectorRecord(f"new{i}", ORG, probes[i], {"bucket": 0, "bucket_100": 0},
                                                          1)])
            duration, found = await timed(ann.search(COLLECTION, ORG, probes[i], top_k=TOP_K))
            assert found[0] == f"new{i}", found
            after_upsert.append(duration)
            assert await writer.delete(COLLECTION, ORG, [f"new{i}"]) == 1
            duration, found = await timed(ann.search(COLLECTION, ORG, probes[i], top_k=TOP_K))
            assert f"new{i}" not in found
            after_delete.append(duration)

        await ann.close()  # saves what changed since the build
        reopened = RelationalVectors(relationals[3], index_dir=Path(folder) / "vector-index",
                                     ann_threshold=args.threshold, build_threads=args.build_threads)
        started = time.perf_counter()
        await reopened.search(COLLECTION, ORG, probes[0], top_k=TOP_K)
        await reopened.wait_for_indexes()
        reload_seconds = time.perf_counter() - started
        assert (reopened.index_counts.loaded, reopened.index_counts.built) == (1, 0), reopened.index_counts
        index_mb = sum(path.stat().st_size for path in (Path(folder) / "vector-index").rglob("*")
                       if path.is_file()) / 2**20

        for store in (exact, reopened, writer):
            await store.close()
        for relational in relationals:
            await relational.close()
        swept = await sweep(url, matrix, probes, args.sweep) if args.sweep else []

    print(f"vectors: {args.count:,} x {args.dim} float32, one org, {len(probes)} sequential queries, top {TOP_K}; "
          f"threshold {args.threshold:,}, build threads {ann.build_threads}")
    print(f"load through upsert ({BATCH:,} a batch)        {load_seconds:7.1f} s")
    print(f"exact store: first search (loads matrix)   {exact_first * 1000:7.0f} ms   RSS +{exact_rss - baseline:.0f} MB")
    print(f"ANN store: first search (exact, loads)     {ann_first * 1000:7.0f} ms")
    print(f"ANN store: index build, first search on    {build_seconds:7.1f} s   RSS +{ann_rss - exact_rss:.0f} MB "
          f"(its own matrix and the index)")
    print(f"third store: index loaded, caught up       {reload_seconds:7.1f} s   files {index_mb:.0f} MB")
    print(f"process RSS at the end of the searches     {ann_rss:7.0f} MB")
    print(summary("exact: search", plain["exact"][0], recall_of(plain["exact"][1], truth)))
    print(summary("ANN: search", plain["ann"][0], recall_of(plain["ann"][1], truth)))
    wide_truth = truth_within(matrix, probes, wide_rows)
    print(summary("exact: bucket in [1, 2] (20 %)", wide["exact"][0], recall_of(wide["exact"][1], wide_truth)))
    print(summary("ANN: bucket in [1, 2] (20 %, filtered walk)", wide["ann"][0], recall_of(wide["ann"][1],
                                                                                          wide_truth)))
    narrow_truth = truth_within(matrix, probes, narrow_rows)
    print(summary("exact: bucket_100 == 7 (1 %)", narrow["exact"][0], recall_of(narrow["exact"][1],
                                                                               narrow_truth)))
    print(summary("ANN store: bucket_100 == 7 (1 %, exact)", narrow["ann"][0], recall_of(narrow["ann"][1],
                                                                                       narrow_truth)))
    print(summary("ANN: search after another's upsert", after_upsert))
    print(summary("ANN: search after another's delete", after_delete))
    print(f"ANN store searches through the index: {ann_paths} of {3 * len(probes)} timed "
          f"(the 1 % filter is scored exactly by design)")
    print(*swept, sep="\n")
    print(f"load average at the end {load_average()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--threshold", type=int, default=ANN_THRESHOLD)
    parser.add_argument("--build-threads", type=int, default=None, help="default: the store's (half the cores)")
    parser.add_argument("--sweep", type=lambda text: [int(one) for one in text.split(",")], default=[],
                        help="org sizes to time exact search at, e.g. 10000,25000,50000")
    asyncio.run(main(parser.parse_args()))
