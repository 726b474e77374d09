"""`Embedder`: the provider services call, around one `EmbeddingModel`.

It adds what every model needs: loading apart from construction (so a service listens first and
its /ready waits on `ready`), the cache, batching by `batch_size`, and a bound on the texts waiting
to be computed. A request whose uncached texts would take the pending count past `max_pending` is
refused at once with `EmbeddingOverloaded` rather than queued, so a burst cannot exhaust memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import numpy as np

from shared.embeddings.cache import VectorCache, vector_key
from shared.embeddings.errors import EmbeddingError, EmbeddingNotLoaded, EmbeddingOverloaded
from shared.embeddings.model import KINDS, EmbeddingModel, Kind, Vectors


def normalise(vectors: Vectors) -> Vectors:
    """Rows scaled to unit L2 length, as float32; an all-zero row stays zero."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms).astype(np.float32)


class Embedder:
    def __init__(
        self,
        model: EmbeddingModel,
        *,
        batch_size: int = 32,
        max_pending: int = 1024,
        cache: VectorCache | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"embedding batch_size must be at least 1, got {batch_size}")
        if max_pending < 1:
            raise ValueError(f"embedding max_pending must be at least 1, got {max_pending}")
        self.model = model
        self.batch_size = batch_size
        self.max_pending = max_pending
        self.cache = cache if cache is not None else VectorCache(0)
        self._pending = 0
        self._ready = False
        self._load_lock = asyncio.Lock()
        self._slots = asyncio.Semaphore(max(1, model.concurrency))

    @property
    def model_id(self) -> str:
        return self.model.model_id

    @property
    def dim(self) -> int:
        if self.model.dim is None:
            raise EmbeddingNotLoaded(self.model_id)
        return self.model.dim

    @property
    def ready(self) -> bool:
        return self._ready

    @property
    def pending(self) -> int:
        """Texts admitted and not yet computed."""
        return self._pending

    async def load(self) -> None:
        """Open the model (in a worker thread for local models); safe to call more than once."""
        async with self._load_lock:
            if not self._ready:
                await self.model.load()
                self._ready = True

    async def close(self) -> None:
        self._ready = False
        await self.model.close()

    async def embed(self, texts: Sequence[str], kind: Kind = "passage") -> Vectors:
        if isinstance(texts, str):
            raise TypeError("embed takes a sequence of texts, not one str: wrap it in a list")
        if kind not in KINDS:
            raise ValueError(f"embedding kind must be one of {KINDS}, got {kind!r}")
        if not self._ready:
            raise EmbeddingNotLoaded(self.model_id)
        texts = list(texts)
        dim = self.dim
        keys = [vector_key(self.model_id, kind, text) for text in texts]
        vectors = await self.cache.get_many(keys, dim)
        todo = {key: text for key, text in zip(keys, texts, strict=True) if key not in vectors}
        if todo:
            computed = await self._compute(list(todo.values()), kind)
            fresh = list(zip(todo, computed, strict=True))
            await self.cache.set_many(fresh)
            vectors.update(fresh)
        out = np.empty((len(texts), dim), dtype=np.float32)
        for row, key in enumerate(keys):
            out[row] = vectors[key]
        return out

    async def _compute(self, texts: list[str], kind: Kind) -> Vectors:
        # Checked and counted with no await in between, so concurrent requests cannot both pass.
        if self._pending + len(texts) > self.max_pending:
            raise EmbeddingOverloaded(self.model_id, self._pending, len(texts), self.max_pending)
        self._pending += len(texts)
        try:
            batches = [texts[start:start + self.batch_size] for start in range(0, len(texts), self.batch_size)]
            return np.concatenate(await asyncio.gather(*(self._batch(batch, kind) for batch in batches)))
        finally:
            self._pending -= len(texts)

    async def _batch(self, texts: list[str], kind: Kind) -> Vectors:
        async with self._slots:
            vectors = await self.model.encode(texts, kind)
        if vectors.ndim != 2 or vectors.shape != (len(texts), self.dim):
            raise EmbeddingError(
                f"embedding model {self.model_id!r} returned shape {vectors.shape} for {len(texts)} texts,"
                f" expected ({len(texts)}, {self.dim})"
            )
        return normalise(vectors)
