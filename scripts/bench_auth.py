"""Benchmark what identity costs: token verification per request, and a login.

    .venv/bin/python scripts/bench_auth.py [--tokens 2000] [--hits 20000] [--logins 30] [--redis-url URL]

Verification: a TokenVerifier as every service builds it, with the JWKS already fetched, and the
denylist on the embedded cache (or Redis with --redis-url). "cold" verifies a token this process
has not seen (header, EdDSA signature, claims, and the denylist's cache reads); "LRU" verifies one
it has (a dictionary lookup and the in-memory denylist). Login: POST /api/v1/auth/login against
an auth service process, with the Argon2id parameters of ai_services/auth_service/passwords.py;
Argon2id verification alone is timed too. The login figures come from a real auth
process on port 8211 + 31000.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import aiohttp  # noqa: E402

from shared.fleet import AUTH  # noqa: E402
from ai_services.auth_service.passwords import HASHER, hash_password, verify_password  # noqa: E402
from shared.config import LoomaSettings  # noqa: E402
from shared.database.cache import open_cache  # noqa: E402
from shared.database.schema import upgrade_async  # noqa: E402
from shared.service.auth.denylist import Denylist  # noqa: E402
from shared.service.auth.verifier import TokenVerifier  # noqa: E402
from tests.tokens import AUDIENCE, ISSUER, TestIssuer  # noqa: E402


PORT_OFFSET = 31000


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return f"p50 {p(0.50):8.1f}  p95 {p(0.95):8.1f}  p99 {p(0.99):8.1f}  mean {statistics.fmean(ordered):8.1f}"


async def bench_verification(tokens: int, hits: int, redis_url: str | None, directory: Path) -> None:
    cache = open_cache(redis_url, str(directory / "cache.db"))
    issuer = TestIssuer()

    async def jwks() -> dict:
        return issuer.jwks()

    verifier = TokenVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks, denylist=Denylist(lambda: cache))
    minted = [issuer.token(role="recruiter") for _ in range(tokens)]
    await verifier.verify(issuer.token())  # fetch the JWKS once
    cold = []
    for token in minted:
        started = time.perf_counter()
        await verifier.verify(token)
        cold.append((time.perf_counter() - started) * 1e6)
    warm = []
    hot = minted[: min(len(minted), 500)]
    for i in range(hits):
        started = time.perf_counter()
        await verifier.verify(hot[i % len(hot)])
        warm.append((time.perf_counter() - started) * 1e6)
    backend = "Redis" if redis_url else "embedded cache"
    print(f"verification, denylist on {backend} (µs per token)")
    print(f"  cold ({tokens} tokens)   {percentiles(cold)}")
    print(f"  LRU  ({hits} checks)  {percentiles(warm)}")
    await cache.close()


async def bench_login(logins: int, directory: Path) -> None:
    password = "benchmark password 1"
    started = time.perf_counter()
    stored = hash_password(password)
    hashing = (time.perf_counter() - started) * 1e3
    verifying = []
    for _ in range(logins):
        started = time.perf_counter()
        assert verify_password(stored, password)
        verifying.append((time.perf_counter() - started) * 1e3)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOMA_")}
    env.update(LOOMA_DATA_DIR=str(directory / "login"), LOOMA_PORT_OFFSET=str(PORT_OFFSET), LOOMA_ENV="test",
               LOOMA_BOOTSTRAP_ADMIN_EMAIL="bench@looma.test", LOOMA_BOOTSTRAP_ADMIN_PASSWORD=password,
               LOOMA_LOGIN_ATTEMPTS_PER_IP="100000", LOOMA_LOG_LEVEL="WARNING")
    (directory / "login").mkdir()
    await upgrade_async(LoomaSettings(_env_file=None, data_dir=directory / "login").sqlalchemy_url)  # type: ignore[call-arg]
    server = subprocess.Popen([sys.executable, "-m", "ai_services.auth_service"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{AUTH.port + PORT_OFFSET}"
    timings = []
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                try:
                    async with http.get(f"{url}/ready") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
            for _ in range(logins):
                started = time.perf_counter()
                async with http.post(f"{url}/api/v1/auth/login",
                                     json={"email": "bench@looma.test", "password": password}) as response:
                    await response.read()
                timings.append((time.perf_counter() - started) * 1e3)
                assert response.status == 200, response.status
    finally:
        server.terminate()
        server.wait(10)
    print(f"Argon2id t={HASHER.time_cost} m={HASHER.memory_cost // 1024} MiB p={HASHER.parallelism} (ms)")
    print(f"  hash once {hashing:.1f}")
    print(f"  verify    {percentiles(verifying)}")
    print("  POST /api/v1/auth/login to an auth process (SQLite, embedded cache), one at a time")
    print(f"            {percentiles(timings)}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--hits", type=int, default=20000)
    parser.add_argument("--logins", type=int, default=30)
    parser.add_argument("--redis-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        await bench_verification(args.tokens, args.hits, args.redis_url, Path(directory))
        await bench_login(args.logins, Path(directory))


if __name__ == "__main__":
    asyncio.run(main())
