"""Benchmark config propagation: from a PUT to every watching service having applied the new value.

    .venv/bin/python scripts/bench_config.py [--watchers 5] [--instances 2] [--puts 30] [--gap 0.2]
                                             [--database-url postgresql://postgres@127.0.0.1:5432/postgres]
                                             [--redis-url redis://127.0.0.1:6379/14]

Starts the auth service and `--instances` config-service processes on ports of their own, on one
fresh data directory (SQLite and the embedded cache by default; a fresh PostgreSQL database and
Redis when given). In this process, `--watchers` ConfigClients, as services run them (HttpTransport
to a config instance, round robin; a service token from the client-credentials grant), each
register a callback on matching/weights. Then, signed in as the superadmin, it sets the
service-wide matching/weights `--puts` times, `--gap` seconds apart, all on the first instance,
and times each PUT from the moment it is sent until the last watcher's callback has the value.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from shared.config import LoomaSettings  # noqa: E402
from shared.config.client import MATCHING_WEIGHTS, ConfigClient, HttpTransport, MatchingWeights  # noqa: E402
from shared.database.schema import upgrade  # noqa: E402
from shared.fleet import AUTH, CONFIG  # noqa: E402
from shared.service.auth.service_token import ServiceToken  # noqa: E402
from tests.e2e.fleet import free_port_offset  # noqa: E402

ADMIN = {"email": "admin@bench.looma.test", "password": "bench admin password 2026"}
READY_WITHIN = 60.0


def admin_sql(admin_url: str, statement: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(admin_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run())


def fresh_database(admin_url: str) -> tuple[str, str]:
    """A new, empty database beside `admin_url`'s: its URL and its name."""
    name = f"looma_bench_config_{uuid.uuid4().hex[:8]}"
    admin_sql(admin_url, f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + f"/{name}", name


def start(module: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as sink:
        return subprocess.Popen([sys.executable, "-m", module], env=env, stdout=sink, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_WITHIN
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url} exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} not ready after {READY_WITHIN:.0f}s:\n{log.read_text(errors='replace')}")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def measure(auth_url: str, config_urls: list[str], secret: str, data_dir: Path, watchers: int, puts: int,
                  gap: float) -> tuple[list[float], list[float]]:
    seen: list[dict[int, float]] = [{} for _ in range(watchers)]
    clients = []
    for index in range(watchers):
        token = ServiceToken(auth_url, "looma-fleet", secret)
        client = ConfigClient(HttpTransport(config_urls[index % len(config_urls)]), data_dir / f"watcher-{index}",
                              token=token)

        def applied(value: MatchingWeights, mine: dict[int, float] = seen[index]) -> None:
            mine[round(value.skills)] = time.perf_counter()

        client.on_change(MATCHING_WEIGHTS, applied)
        await client.start()
        clients.append(client)
    async with httpx.AsyncClient(timeout=10) as http:
        login = await http.post(f"{auth_url}/api/v1/auth/login", json=ADMIN)
        login.raise_for_status()
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        await asyncio.sleep(1.0)  # every watcher is in its long poll
        totals, after_answer = [], []
        for n in range(1, puts + 1):
            sent = time.perf_counter()
            response = await http.put(f"{config_urls[0]}/api/v1/config/matching/weights", headers=headers,
                                      params={"scope": "global"},
                                      json={"value": {"skills": 1000 + n, "semantic": 1}, "reason": f"bench {n}"})
            answered = time.perf_counter()
            response.raise_for_status()
            while not all(1000 + n in mine for mine in seen):
                if time.perf_counter() - sent > 10:
                    raise SystemExit(f"PUT {n} not applied by every watcher within 10 s")
                await asyncio.sleep(0.001)
            last = max(mine[1000 + n] for mine in seen)
            totals.append((last - sent) * 1000)
            after_answer.append((last - answered) * 1000)
            await asyncio.sleep(gap)
    for client in clients:
        await client.stop()
    return totals, after_answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watchers", type=int, default=5)
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument("--puts", type=int, default=30)
    parser.add_argument("--gap", type=float, default=0.2)
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        secret = secrets.token_urlsafe(24)
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOOMA_")} | {
            "LOOMA_DATA_DIR": str(data_dir), "LOOMA_LOG_LEVEL": "WARNING", "LOOMA_SERVICE_CLIENT_SECRET": secret,
            "LOOMA_BOOTSTRAP_ADMIN_EMAIL": ADMIN["email"], "LOOMA_BOOTSTRAP_ADMIN_PASSWORD": ADMIN["password"],
        }
        database = None
        if args.database_url:
            env["LOOMA_DATABASE_URL"], database = fresh_database(args.database_url)
        if args.redis_url:
            env["LOOMA_REDIS_URL"] = args.redis_url
        settings = LoomaSettings(_env_file=None, data_dir=data_dir, database_url=env.get("LOOMA_DATABASE_URL"))
        upgrade(settings.sqlalchemy_url)
        offset = free_port_offset()
        auth_url = f"http://127.0.0.1:{AUTH.port + offset}"
        processes, logs = [], []
        try:
            log = Path(tmp) / "auth.log"
            processes.append(start("ai_services.auth_service", env | {"LOOMA_PORT_OFFSET": str(offset)}, log))
            wait_ready(auth_url, processes[-1], log)
            config_urls = []
            for index in range(args.instances):
                own = offset if index == 0 else free_port_offset()
                url = f"http://127.0.0.1:{CONFIG.port + own}"
                log = Path(tmp) / f"config-{index}.log"
                processes.append(start("ai_services.config_service",
                                       env | {"LOOMA_PORT_OFFSET": str(own), "LOOMA_AUTH_URL": auth_url}, log))
                logs.append(log)
                wait_ready(url, processes[-1], log)
                config_urls.append(url)
            totals, after_answer = asyncio.run(measure(auth_url, config_urls, secret, data_dir, args.watchers,
                                                       args.puts, args.gap))
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(30)
            if database is not None:
                admin_sql(args.database_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    stores = f"{'PostgreSQL' if args.database_url else 'SQLite'}, {'Redis' if args.redis_url else 'embedded cache'}"
    print(f"config propagation: {args.puts} PUTs, {args.watchers} watchers on {args.instances} config instance(s), "
          f"{stores}")
    for label, figures in (("PUT sent -> every watcher applied", totals),
                           ("PUT answered -> every watcher applied", after_answer)):
        print(f"  {label:<38} p50 {statistics.median(figures):6.1f} ms   p95 {percentile(figures, 0.95):6.1f} ms   "
              f"max {max(figures):6.1f} ms")


if __name__ == "__main__":
    main()
