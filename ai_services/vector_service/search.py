"""Searching a collection: by meaning alone, or fused with the full-text index (hybrid).

Every function takes the caller's org and passes it to the stores, which filter on it before
anything else: nothing here can widen a search beyond one org.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ai_services.vector_service.fusion import Fused, Ranked, ranked, reciprocal_rank, weighted
from shared.catalog import MODEL_FIELD, VectorCollection
from shared.database import UnifiedDataAccess
from shared.database.fulltext import analyse
from shared.database.vectors import VectorHit

HYBRID_WINDOW = 50  # candidates taken from each list at least; more when top_k asks for more
HYBRID_WINDOW_MAX = 300


def window(top_k: int) -> int:
    return min(max(top_k * 3, HYBRID_WINDOW), HYBRID_WINDOW_MAX)


def hit_body(hit: Fused, vector_meta: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    metadata = vector_meta.get(hit.id)
    body: dict[str, Any] = {
        "id": hit.id, "score": hit.score, "matched": [name for name in ("vector", "text") if name in hit.parts],
        "metadata": None if metadata is None else {k: v for k, v in metadata.items() if k != MODEL_FIELD},
        "model": None if metadata is None else metadata.get(MODEL_FIELD),
    }
    if "vector" in hit.parts:
        part = hit.parts["vector"]
        body["vector"] = {"rank": part.rank, "score": part.score}
    if "text" in hit.parts:
        part = hit.parts["text"]
        body["text"] = {"rank": part.rank, "score": part.score, "highlights": dict(part.detail)}
    return body


async def semantic(data: UnifiedDataAccess, stored: str, org_id: str, query: np.ndarray, top_k: int,
                   filters: Mapping[str, Any], min_score: float | None,
                   exclude: str | None = None) -> list[dict[str, Any]]:
    """`stored`: the physical collection of the model that made `query` (VectorCollection.stored_as)."""
    wanted = top_k + (1 if exclude is not None else 0)
    hits = [hit for hit in await data.vectors.search(stored, org_id, query, wanted, dict(filters), min_score)
            if hit.id != exclude][:top_k]
    meta = {hit.id: hit.metadata for hit in hits}
    fused = [Fused(part.id, part.score, {"vector": part}) for part in _vector_ranks(hits)]
    return [hit_body(hit, meta) for hit in fused]


async def hybrid(data: UnifiedDataAccess, collection: VectorCollection, model_id: str, org_id: str, text: str,
                 query: np.ndarray, top_k: int, filters: Mapping[str, Any], min_score: float | None, fusion: str,
                 alpha: float) -> list[dict[str, Any]]:
    assert collection.text_index is not None
    size = window(top_k)
    vector_hits = await data.vectors.search(collection.stored_as(model_id), org_id, query, size, dict(filters))
    text_hits = []
    if analyse(text):  # a query of punctuation only has no keywords: the vector list stands alone
        text_hits = await data.fulltext.search(collection.text_index.name, org_id, text, dict(filters), size)
    vector_list = _vector_ranks(vector_hits)
    text_list = ranked([(hit.id, hit.score) for hit in text_hits], [hit.highlights for hit in text_hits])
    if fusion == "weighted":
        fused = weighted(vector_list, text_list, alpha)
    else:
        fused = reciprocal_rank({"vector": vector_list, "text": text_list})
    if min_score is not None:
        fused = [hit for hit in fused if hit.score >= min_score]
    meta = {hit.id: hit.metadata for hit in vector_hits}
    return [hit_body(hit, meta) for hit in fused[:top_k]]


def _vector_ranks(hits: list[VectorHit]) -> list[Ranked]:
    return ranked([(hit.id, hit.score) for hit in hits])


async def stored_vector(data: UnifiedDataAccess, collection: str, org_id: str, record_id: str) -> np.ndarray | None:
    """The vector stored under `record_id` in the org, or None (also when another org holds the id)."""
    found = await data.vectors.get(collection, org_id, [record_id])
    return np.asarray(found[0].vector, dtype=np.float32) if found else None
