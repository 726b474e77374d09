"""Each protocol's contract runs once per implementation: the embedded default and the server one.

Server URLs are resolved lazily in a plain fixture, so the embedded runs need no server, and
before any event loop is running (the server fixtures call asyncio.run themselves).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from shared.database.cache import Cache
from shared.database.cache_embedded import EmbeddedCache
from shared.database.cache_redis import RedisCache
from shared.database.relational import RelationalStore, open_relational


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.server)])
def relational_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/looma.db"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
async def relational(relational_url: str) -> AsyncIterator[RelationalStore]:
    store = open_relational(relational_url)
    yield store
    await store.close()


@pytest.fixture(params=["embedded", pytest.param("redis", marks=pytest.mark.server)])
def cache_opener(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Cache]:
    """Opens a client of one cache; every client from the same opener sees the same data."""
    if request.param == "embedded":
        return lambda: EmbeddedCache(tmp_path / "cache.db")
    url: str = request.getfixturevalue("redis_server_url")
    namespace: str = request.getfixturevalue("redis_namespace")
    request.getfixturevalue("redis_cleanup")
    return lambda: RedisCache(url, namespace=namespace)


@pytest.fixture
async def cache(cache_opener: Callable[[], Cache]) -> AsyncIterator[Cache]:
    opened = cache_opener()
    yield opened
    await opened.close()
