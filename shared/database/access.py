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
from shared.database.fulltext import FullTextStore, open_fulltext
from shared.database.graph import GraphStore, open_graph
from shared.database.relational import RelationalStore, open_relational
from shared.database.vectors import VectorStore, open_vectors
from shared.database.schema import schema_status

CHECK_TIMEOUT = 3.0


@dataclass
class UnifiedDataAccess:
    relational: RelationalStore
    cache: Cache
    graph: GraphStore
    vectors: VectorStore
    fulltext: FullTextStore

    @classmethod
    def from_settings(cls, settings: LoomaSettings) -> UnifiedDataAccess:
        """Build the stores; no connection is made until first use."""
        relational = open_relational(settings.sqlalchemy_url)
        return cls(
            relational=relational,
            cache=open_cache(settings.redis_url, str(settings.cache_path)),
            graph=open_graph(settings.neo4j_url, relational),
            vectors=open_vectors(settings.weaviate_url, relational, settings.data_dir / "vector-index"),
            fulltext=open_fulltext(settings.elasticsearch_url, relational),
        )

    async def close(self) -> None:
        # The projection stores may share the relational engine, so it closes last.
        await asyncio.gather(self.cache.close(), self.graph.close(), self.vectors.close(), self.fulltext.close(),
                             return_exceptions=True)
        await self.relational.close()

    async def health(self) -> dict[str, dict[str, Any]]:
        """Each store's reachability, with its backend and how long the check took."""
        checks = {
            "database": self._check_database(),
            "cache": _timed(self.cache.backend, _pinged(self.cache)),
            "graph": _timed(self.graph.backend, _pinged(self.graph)),
            "vectors": _timed(self.vectors.backend, _pinged(self.vectors)),
            "fulltext": _timed(self.fulltext.backend, _pinged(self.fulltext)),
        }
        results = await asyncio.gather(*checks.values())
        return dict(zip(checks, results, strict=True))

    async def _check_database(self) -> dict[str, Any]:
        async def check() -> dict[str, Any]:
            status = await schema_status(self.relational.engine)
            if not status.up_to_date:
                raise RuntimeError(f"schema at {status.current or 'nothing'}, expected {status.head}; run `looma migrate`")
            return {"revision": status.current}

        return await _timed(self.relational.backend, check)



def _pinged(store: Any) -> Any:
    async def check() -> dict[str, Any]:
        await store.ping()
        return {}

    return check


async def _timed(backend: str, check: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        detail = await asyncio.wait_for(check(), CHECK_TIMEOUT)
        ok, error = True, None
    except TimeoutError:
        detail, ok, error = {"timed_out": True}, False, f"no answer within {CHECK_TIMEOUT:g}s"
    except Exception as exc:  # every failure becomes detail on /ready, never a crash
        detail, ok, error = {}, False, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    result: dict[str, Any] = {"ok": ok, "backend": backend, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
    result.update(detail)
    if error:
        result["error"] = error
    return result
