"""The talent's and the job's embeddings, for the semantic dimension: the vectors the projector
stored for them, in the collections of the model the vector service runs.

The model id is asked of the vector service (through the gateway) and kept for MODEL_TTL seconds.
A pair scored inline, a record not embedded yet, or the vector service unreachable gives no
vector, and the semantic dimension is reported unknown: it is left out, never scored 0.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from shared.catalog import JOBS, TALENTS, VectorCollection
from shared.projector.embedding import EmbeddingUnavailable

if TYPE_CHECKING:
    import numpy as np

    from shared.database.vectors import VectorStore

MODEL_TTL = 60.0

ModelSource = Callable[[], Awaitable[str]]  # the model id, or EmbeddingUnavailable


class StoredEmbeddings:
    def __init__(self, vectors: VectorStore, model: ModelSource | None) -> None:
        self.vectors = vectors
        self._model = model
        self._known: tuple[str, float] | None = None

    async def pair(self, org_id: str, talent_id: str | None,
                   job_id: str | None) -> tuple[np.ndarray | None, np.ndarray | None]:
        if talent_id is None or job_id is None:
            return None, None
        model = await self._model_id()
        if model is None:
            return None, None
        return (await self._vector(TALENTS, model, org_id, talent_id),
                await self._vector(JOBS, model, org_id, job_id))

    async def _model_id(self) -> str | None:
        if self._known is not None and time.monotonic() - self._known[1] < MODEL_TTL:
            return self._known[0]
        if self._model is None:
            return None
        try:
            model = await self._model()
        except EmbeddingUnavailable:
            return None
        self._known = (model, time.monotonic())
        return model

    async def _vector(self, collection: VectorCollection, model: str, org_id: str, record_id: str) -> np.ndarray | None:
        from shared.database.vectors import VectorInputError

        try:
            found = await self.vectors.get(collection.stored_as(model), org_id, [record_id])
        except VectorInputError:  # the model's collection does not exist yet
            return None
        return found[0].vector if found else None  # type: ignore[return-value]
