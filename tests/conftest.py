"""Test-wide fixtures: where the real servers are, and the rule that CI never skips them.

Server-backed tests read LOOMA_TEST_DATABASE_URL / LOOMA_TEST_REDIS_URL, defaulting to the
PostgreSQL and Redis of a development machine. Where a server cannot be reached the test skips
with the reason, except in CI (CI=true), where it fails instead.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from sanic import Sanic

Sanic.test_mode = True  # tests build many apps with the same service name

IN_CI = os.environ.get("CI", "").lower() == "true"
TEST_POSTGRES_URL = os.environ.get("LOOMA_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
TEST_REDIS_URL = os.environ.get("LOOMA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def require_server(reason: str) -> None:
    """Skip a server-backed test locally; in CI a missing server is a failure."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: server-backed tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _fresh_openapi_builder() -> None:
    """sanic-ext keeps one OpenAPI builder per process (a service process has one app); tests build many."""
    from sanic_ext.extensions.openapi.builders import SpecificationBuilder

    SpecificationBuilder.reset()


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """A reachable PostgreSQL URL with rights to create databases."""
    import asyncpg

    dsn = TEST_POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")

    async def probe() -> None:
        conn = await asyncpg.connect(dsn, timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
    except Exception as error:
        require_server(f"PostgreSQL not reachable at {TEST_POSTGRES_URL}: {error}")
    return TEST_POSTGRES_URL


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    import asyncpg

    admin_dsn = postgres_admin_url.replace("postgresql+asyncpg://", "postgresql://")
    name = f"looma_test_{uuid.uuid4().hex[:12]}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(admin_dsn, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    base = postgres_admin_url.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def redis_server_url() -> str:
    import redis

    try:
        client = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=3)
        client.ping()
        client.close()
    except Exception as error:
        require_server(f"Redis not reachable at {TEST_REDIS_URL}: {error}")
    return TEST_REDIS_URL


@pytest.fixture
def redis_namespace() -> str:
    """A key prefix of this test's own, so tests never see each other's keys on a shared Redis."""
    return f"looma-test:{uuid.uuid4().hex[:12]}:"


@pytest.fixture
async def redis_cleanup(redis_server_url: str, redis_namespace: str) -> AsyncIterator[None]:
    yield
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_server_url)
    keys = [key async for key in client.scan_iter(match=redis_namespace + "*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()
