"""Benchmark the CRM core on the demo org, through the gateway: list, search, read, and lag.

    .venv/bin/python scripts/bench_crm.py [--database-url postgresql://postgres@127.0.0.1:5432/postgres]
                                          [--redis-url redis://127.0.0.1:6379/14] [--duration 15]
                                          [--connections 64] [--probes 50]

Seeds a fresh data directory with `looma seed --demo` (2,000 talents), starts `looma up` on its
own ports (on PostgreSQL, in a fresh database, when --database-url is given; with Redis as the
cache when --redis-url is given), waits until the projector has delivered the seed, signs in as
the demo recruiter, then:
- runs wrk (64 connections) on GET /api/v1/talents?limit=20, GET /api/v1/talents?q=后端 and
  GET /api/v1/talents/{id}, each through the gateway;
- measures write-to-searchable lag: creates talents whose title holds a fresh word and polls the
  search (every 5 ms) until each is found; the lag runs from the create's answer to the first
  search that finds it.
Needs wrk (`apt-get install wrk`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.e2e.fleet import free_port_offset, start_fleet  # noqa: E402

RECRUITER = {"email": "recruiter@demo.looma.test", "password": "demo-recruiter-password"}


def wrk(url: str, token: str, duration: int, connections: int) -> dict[str, str]:
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency",
                          "-H", f"Authorization: Bearer {token}", url],
                         capture_output=True, text=True, check=True).stdout
    figures = {"rps": re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)}  # type: ignore[union-attr]
    for pct in ("50", "75", "90", "99"):
        figures[f"p{pct}"] = re.search(rf"\s{pct}(?:\.000)?%\s+(\S+)", out).group(1)  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    figures["non2xx"] = errors.group(1) if errors else "0"
    return figures


def fresh_database(admin_url: str) -> str:
    import asyncpg

    name = f"looma_bench_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        conn = await asyncpg.connect(admin_url)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()

    asyncio.run(create())
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def analyze(url: str) -> None:
    """ANALYZE after the bulk load, as autovacuum would within a minute where it is on (the
    PostgreSQL of some development machines runs with autovacuum off)."""
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(url)
        await conn.execute("ANALYZE")
        await conn.close()

    asyncio.run(run())


def pending_events(env: dict[str, str], data_dir: Path) -> int:
    out = subprocess.run([sys.executable, "-m", "shared.cli.main", "outbox", "status", "--data-dir", str(data_dir)],
                         capture_output=True, text=True, env=env).stdout
    match = re.search(r"pending\D+(\d+)", out)
    return int(match.group(1)) if match else -1


async def lag(gateway: str, token: str, probes: int) -> list[float]:
    headers = {"Authorization": f"Bearer {token}"}
    lags = []
    async with httpx.AsyncClient(base_url=gateway, headers=headers, timeout=10) as http:
        for n in range(probes):
            word = f"lagprobe{uuid.uuid4().hex[:10]}"
            response = await http.post("/api/v1/talents", json={"name": f"测试 {n}", "current_title": f"{word} 工程师"})
            response.raise_for_status()
            written = time.perf_counter()
            while True:
                found = await http.get("/api/v1/talents", params={"q": word})
                if found.json()["total"] > 0:
                    lags.append((time.perf_counter() - written) * 1000)
                    break
                if time.perf_counter() - written > 10:
                    raise RuntimeError(f"{word} not searchable after 10 s")
                await asyncio.sleep(0.005)
            await asyncio.sleep(0.05)
    return lags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url")
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--probes", type=int, default=50)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        # The fleet's default heartbeats (start_fleet's are shortened for tests).
        extra = {"LOOMA_LOG_LEVEL": "WARNING", "LOOMA_HEARTBEAT_INTERVAL": "3", "LOOMA_HEARTBEAT_TTL": "10"}
        if args.database_url:
            extra["LOOMA_DATABASE_URL"] = fresh_database(args.database_url)
        if args.redis_url:
            extra["LOOMA_REDIS_URL"] = args.redis_url
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOOMA_")} | extra
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "shared.cli.main", "seed", "--demo", "--data-dir", str(data_dir)],
                       env=env, check=True, capture_output=True)
        print(f"seeded the demo org in {time.perf_counter() - started:.1f}s "
              f"({'PostgreSQL' if args.database_url else 'SQLite'}, {'Redis' if args.redis_url else 'embedded cache'})")
        fleet = start_fleet(data_dir, free_port_offset(), Path(tmp) / "up.log", extra_env=extra)
        try:
            started = time.perf_counter()
            while pending_events(env, data_dir) != 0:
                time.sleep(1)
            print(f"projector caught up {time.perf_counter() - started:.1f}s after ready")
            if args.database_url:
                analyze(extra["LOOMA_DATABASE_URL"])
            token = httpx.post(f"{fleet.gateway}/api/v1/auth/login", json=RECRUITER).json()["access_token"]
            first = httpx.get(f"{fleet.gateway}/api/v1/talents?limit=1",
                              headers={"Authorization": f"Bearer {token}"}).json()["items"][0]["id"]
            targets = {
                "list (limit 20)": f"{fleet.gateway}/api/v1/talents?limit=20",
                "search q=后端": f"{fleet.gateway}/api/v1/talents?q=%E5%90%8E%E7%AB%AF",
                "read one": f"{fleet.gateway}/api/v1/talents/{first}",
            }
            wrk(targets["read one"], token, 2, args.connections)  # warm-up
            for label, url in targets.items():
                f = wrk(url, token, args.duration, args.connections)
                print(f"{label:<16} {float(f['rps']):>8,.0f} req/s   p50 {f['p50']:>8}   p90 {f['p90']:>8}   "
                      f"p99 {f['p99']:>8}   non-2xx {f['non2xx']}")
            lags = sorted(asyncio.run(lag(fleet.gateway, token, args.probes)))
            p95 = lags[min(len(lags) - 1, int(0.95 * len(lags)))]
            print(f"write-to-searchable lag over {len(lags)} talents: p50 {statistics.median(lags):.0f} ms, "
                  f"p95 {p95:.0f} ms, max {lags[-1]:.0f} ms")
        finally:
            fleet.stop()


if __name__ == "__main__":
    main()
