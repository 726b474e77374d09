"""Vectors already computed, keyed by a hash of (model id, kind, text).

An in-process LRU in front of, optionally, the fleet's cache store (`shared.database.cache.Cache`),
so that instances share the work and a restart does not recompute. The key holds a hash, never the
text; entries in the store expire after `ttl` seconds, which bounds how long a vector derived from
personal data outlives its source there.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Iterable

import numpy as np

from shared.database.cache import Cache
from shared.embeddings.model import Kind, Vectors

log = logging.getLogger(__name__)

STORE_PREFIX = "embedding:v1:"


def vector_key(model_id: str, kind: Kind, text: str) -> str:
    digest = hashlib.sha256(f"{model_id}\x00{kind}\x00{text}".encode()).hexdigest()
    return digest


class VectorCache:
    """`size` vectors in memory (0 turns the LRU off), plus the store when one is given.

    A failing store is logged and treated as a miss: a cache outage slows embedding, never fails it.
    """

    def __init__(self, size: int, store: Cache | None = None, ttl: float | None = 86_400.0) -> None:
        if size < 0:
            raise ValueError(f"embedding cache size must be 0 or more, got {size}")
        self.size = size
        self.store = store
        self.ttl = ttl
        self._lru: OrderedDict[str, Vectors] = OrderedDict()

    def __len__(self) -> int:
        return len(self._lru)

    async def get_many(self, keys: Iterable[str], dim: int) -> dict[str, Vectors]:
        found: dict[str, Vectors] = {}
        missing: list[str] = []
        for key in dict.fromkeys(keys):
            vector = self._lru.get(key)
            if vector is None:
                missing.append(key)
            else:
                self._lru.move_to_end(key)
                found[key] = vector
        if self.store is not None and missing:
            values = await asyncio.gather(*(self._store_get(key) for key in missing))
            for key, value in zip(missing, values, strict=True):
                if value is not None and len(value) == dim * 4:
                    vector = np.frombuffer(value, dtype=np.float32)
                    self._remember(key, vector)
                    found[key] = vector
        return found

    async def set_many(self, items: Iterable[tuple[str, Vectors]]) -> None:
        items = list(items)
        for key, vector in items:
            self._remember(key, vector)
        if self.store is not None and items:
            await asyncio.gather(*(self._store_set(key, vector) for key, vector in items))

    def _remember(self, key: str, vector: Vectors) -> None:
        if self.size == 0:
            return
        vector = vector.copy()
        vector.flags.writeable = False  # handed out to many callers: nobody may change it in place
        self._lru[key] = vector
        self._lru.move_to_end(key)
        while len(self._lru) > self.size:
            self._lru.popitem(last=False)

    async def _store_get(self, key: str) -> bytes | None:
        assert self.store is not None
        try:
            return await self.store.get(STORE_PREFIX + key)
        except Exception as error:  # noqa: BLE001 - any store failure is a miss
            log.warning("embedding cache store get failed: %s", error)
            return None

    async def _store_set(self, key: str, vector: Vectors) -> None:
        assert self.store is not None
        try:
            await self.store.set(STORE_PREFIX + key, np.ascontiguousarray(vector, dtype=np.float32).tobytes(), self.ttl)
        except Exception as error:  # noqa: BLE001 - a vector not stored is only recomputed later
            log.warning("embedding cache store set failed: %s", error)
