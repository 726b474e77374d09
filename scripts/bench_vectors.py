"""Benchmark the embedded vector search beside plain numpy, in one run.

    .venv/bin/python scripts/bench_vectors.py [--count 100000] [--dim 384] [--queries 300]

`--count` random unit vectors, all in one org, are loaded into a fresh SQLite database in a
temporary directory through `RelationalVectors.upsert` (batches of 2,000), then searched for the
top 10 one query at a time. Beside it, the same search in plain numpy on a matrix already in
memory (`matrix @ query`, `argpartition`, sort): the floor the store's per-search overhead
(revision check, org matrix lookup, thread hop, hits) sits on. Also timed: the first search
(loading the org's matrix), a search right after another client's upsert or delete (catching up
with it), and a filtered search.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from shared.database.relational import open_relational  # noqa: E402
from shared.database.schema import upgrade_async  # noqa: E402
from shared.database.vectors import CollectionSpec, VectorRecord  # noqa: E402
from shared.database.vectors_relational import RelationalVectors  # noqa: E402

ORG = "org-bench"
TOP_K = 10
BATCH = 2_000


def numpy_top(matrix: np.ndarray, query: np.ndarray) -> list[int]:
    scores = matrix @ query
    best = np.argpartition(-scores, TOP_K - 1)[:TOP_K]
    return best[np.argsort(-scores[best])].tolist()


async def timed(call: Awaitable[object]) -> float:
    started = time.perf_counter()
    await call
    return time.perf_counter() - started


def summary(name: str, durations: list[float]) -> str:
    ordered = sorted(durations)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return (f"{name:<32} p50 {statistics.median(ordered) * 1000:7.2f} ms   p99 {p99 * 1000:7.2f} ms   "
            f"QPS {len(ordered) / sum(ordered):8.1f}")


async def main(count: int, dim: int, queries: int) -> None:
    rng = np.random.default_rng(42)
    matrix = rng.standard_normal((count, dim), dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    probes = rng.standard_normal((queries, dim), dtype=np.float32)
    probes /= np.linalg.norm(probes, axis=1, keepdims=True)
    in_buckets = {"bucket": [1, 2]}

    with tempfile.TemporaryDirectory(prefix="looma-bench-vectors-") as folder:
        url = f"sqlite+aiosqlite:///{folder}/looma.db"
        await upgrade_async(url)
        relational, writer_relational = open_relational(url), open_relational(url)
        store, writer = RelationalVectors(relational), RelationalVectors(writer_relational)
        await store.ensure_collection(CollectionSpec("talents", dim, ("bucket",)))

        started = time.perf_counter()
        for start in range(0, count, BATCH):
            await store.upsert("talents", [VectorRecord(f"t{i:07d}", ORG, matrix[i], {"bucket": i % 10}, 1)
                                           for i in range(start, min(start + BATCH, count))])
        load_seconds = time.perf_counter() - started

        started = time.perf_counter()
        first = await store.search("talents", ORG, probes[0], top_k=TOP_K)
        cold_seconds = time.perf_counter() - started
        assert [hit.id for hit in first] == [f"t{i:07d}" for i in numpy_top(matrix, probes[0])]
        first_filtered = await timed(store.search("talents", ORG, probes[0], top_k=TOP_K, filters=in_buckets))

        # Alternating, query by query, so that a busy machine slows all three alike.
        store_times: list[float] = []
        numpy_times: list[float] = []
        filtered_times: list[float] = []
        for query in probes:
            store_times.append(await timed(store.search("talents", ORG, query, top_k=TOP_K)))
            started = time.perf_counter()
            numpy_top(matrix, query)
            numpy_times.append(time.perf_counter() - started)
            filtered_times.append(await timed(store.search("talents", ORG, query, top_k=TOP_K, filters=in_buckets)))

        # Another client writes; the next search of the warm one catches up with it.
        after_upsert: list[float] = []
        after_delete: list[float] = []
        for i in range(20):
            await writer.upsert("talents", [VectorRecord(f"new{i}", ORG, probes[i], {"bucket": 0}, 1)])
            after_upsert.append(await timed(store.search("talents", ORG, probes[i], top_k=TOP_K)))
            assert await writer.delete("talents", ORG, [f"t{i:07d}"]) == 1
            after_delete.append(await timed(store.search("talents", ORG, probes[i], top_k=TOP_K)))

        await relational.close()
        await writer_relational.close()

    print(f"vectors: {count:,} x {dim} float32, one org; top {TOP_K}; {queries} sequential queries")
    rate = count / load_seconds
    print(f"load through upsert ({BATCH:,} a batch)       {load_seconds:7.1f} s   ({rate:,.0f} records/s)")
    print(f"first search (loads the org's matrix)     {cold_seconds * 1000:7.0f} ms")
    print(f"first filtered search (indexes 'bucket')  {first_filtered * 1000:7.0f} ms")
    print(summary("RelationalVectors.search", store_times))
    print(summary("plain numpy (matrix @ q, top 10)", numpy_times))
    print(summary("search, bucket in [1, 2] (20%)", filtered_times))
    print(summary("search after another's upsert", after_upsert))
    print(summary("search after another's delete", after_delete))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=300)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.count, arguments.dim, arguments.queries))
