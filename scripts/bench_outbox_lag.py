"""Benchmark outbox lag: writes at a steady rate, the projector in its own process.

    .venv/bin/python scripts/bench_outbox_lag.py [--rate 200] [--seconds 20] [--database-url URL]

Each write is one transaction holding one outbox event for all three projections (graph node,
full-text document, 384-dimension vector), followed by the wake-up message, as a service writes.
Lag is `delivered_at - created_at` of each event, read back from the outbox afterwards.
SQLite and the embedded cache in a temporary directory by default; pass --database-url (an empty
PostgreSQL database) and --redis-url for the servers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from shared.config import LoomaSettings  # noqa: E402
from shared.database import UnifiedDataAccess  # noqa: E402
from shared.database.fulltext import IndexSpec  # noqa: E402
from shared.database.outbox import DONE, OutboxEvent, outbox_events, record, wake_projector  # noqa: E402
from shared.database.schema import upgrade  # noqa: E402
from shared.database.vectors import CollectionSpec  # noqa: E402
from tests.e2e.fleet import free_port_offset  # noqa: E402


def talent_event(i: int, vector: list[float]) -> OutboxEvent:
    return OutboxEvent("org-bench", "talent", f"t{i}", 1, "upsert", {
        "graph": {"label": "Talent", "properties": {"name": f"候选人{i}"}},
        "fulltext": {"index": "talents", "fields": {"name": f"候选人{i}", "summary": "资深后端工程师 Python Go"}},
        "vectors": {"collection": "talents", "vector": vector, "metadata": {}},
    })


async def run(settings: LoomaSettings, rate: int, seconds: int) -> list[float]:
    data = UnifiedDataAccess.from_settings(settings)
    await data.fulltext.ensure_index(IndexSpec("talents", ("name", "summary")))
    await data.vectors.ensure_collection(CollectionSpec("talents", 384))
    vectors = np.random.default_rng(7).standard_normal((rate * seconds, 384)).astype(np.float32)
    started = time.perf_counter()
    for i in range(rate * seconds):
        async with data.relational.write() as conn:
            await record(conn, talent_event(i, vectors[i].tolist()))
        await wake_projector(data.cache)
        delay = started + (i + 1) / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
    achieved = rate * seconds / (time.perf_counter() - started)
    deadline = time.monotonic() + 120
    query = sa.select(outbox_events.c.created_at, outbox_events.c.delivered_at).where(outbox_events.c.status == DONE)
    while time.monotonic() < deadline:
        async with data.relational.read() as conn:
            rows = (await conn.execute(query)).all()
        if len(rows) == rate * seconds:
            break
        await asyncio.sleep(0.2)
    await data.close()
    print(f"wrote {rate * seconds} events at {achieved:.0f}/s; delivered {len(rows)}")
    return [delivered - created for created, delivered in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = LoomaSettings(data_dir=Path(tmp), database_url=args.database_url, redis_url=args.redis_url)
        upgrade(settings.sqlalchemy_url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOOMA_")}
        env.update({"LOOMA_DATA_DIR": tmp, "LOOMA_PORT_OFFSET": str(free_port_offset()),
                    "LOOMA_DATABASE_URL": args.database_url or "", "LOOMA_REDIS_URL": args.redis_url or ""})
        projector = subprocess.Popen([sys.executable, "-m", "shared.projector"], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(3)  # let it start and subscribe
            lags = sorted(asyncio.run(run(settings, args.rate, args.seconds)))
        finally:
            projector.send_signal(signal.SIGTERM)
            projector.wait(30)
    p50 = statistics.median(lags) * 1000
    p95 = lags[int(len(lags) * 0.95) - 1] * 1000
    print(f"outbox lag: p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {lags[-1] * 1000:.1f} ms "
          f"({settings.sqlalchemy_url.split(':')[0]}, cache {'redis' if args.redis_url else 'embedded'})")


if __name__ == "__main__":
    main()
