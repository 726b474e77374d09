"""UnifiedDataAccess: the one object through which a process reaches every store.

Opened from settings in a service's `before_server_start`, closed in `after_server_stop`.
Graph, vectors and full text join the relational store and the cache here as they arrive.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from shared.config import LoomaSettings
from shared.database.cache import Cache, open_cache
from shared.database.relational import RelationalStore, open_relational
from shared.database.schema import schema_status

CHECK_TIMEOUT = 3.0


@dataclass
class UnifiedDataAccess:
    relational: RelationalStore
    cache: Cache

    @classmethod
    def from_settings(cls, settings: LoomaSettings) -> UnifiedDataAccess:
        """Build the stores; no connection is made until first use."""
        return cls(
            relational=open_relational(settings.sqlalchemy_url),
            cache=open_cache(settings.redis_url, str(settings.cache_path)),
        )

    async def close(self) -> None:
        await asyncio.gather(self.relational.close(), self.cache.close(), return_exceptions=True)

    async def health(self) -> dict[str, dict[str, Any]]:
        """Each store's reachability, with its backend and how long the check took."""
        names = ("database", "cache")
        results = await asyncio.gather(self._check_database(), self._check_cache())
        return dict(zip(names, results, strict=True))

    async def _check_database(self) -> dict[str, Any]:
        async def check() -> dict[str, Any]:
            status = await schema_status(self.relational.engine)
            if not status.up_to_date:
                raise RuntimeError(f"schema at {status.current or 'nothing'}, expected {status.head}; run `looma migrate`")
            return {"revision": status.current}

        return await _timed(self.relational.backend, check)

    async def _check_cache(self) -> dict[str, Any]:
        async def check() -> dict[str, Any]:
            await self.cache.ping()
            return {}

        return await _timed(self.cache.backend, check)


async def _timed(backend: str, check: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        detail = await asyncio.wait_for(check(), CHECK_TIMEOUT)
        ok, error = True, None
    except Exception as exc:  # every failure becomes detail on /ready, never a crash
        detail, ok, error = {}, False, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    result: dict[str, Any] = {"ok": ok, "backend": backend, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
    result.update(detail)
    if error:
        result["error"] = error
    return result
