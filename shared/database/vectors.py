"""The vector capability: embeddings stored with metadata, searched by cosine similarity.

Vectors arrive already computed (the vector service embeds); stores keep them normalised.
A collection declares its dimension and which metadata fields may be filtered on; a filter on
any other field, a vector of the wrong dimension, or one holding NaN or inf is refused with
`VectorInputError`. The org filter is always applied. Ids are unique within a collection across
orgs: writing an id another org holds is refused with `VectorIdTaken`, which never names that org.

Implementations: `RelationalVectors` (a relational table, exact search vectorised with numpy, and
an HNSW index per large org; the embedded default) and `WeaviateVectors` (weaviate-client v4,
bring-your-own vectors), both passing tests/contract/test_vector_contract.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np

# A filter value is matched by equality, or by membership when it is a list.
Filters = Mapping[str, Any]


class VectorInputError(ValueError):
    """A vector, collection or filter the store refuses, with the reason."""


class VectorIdTaken(VectorInputError):
    """An upsert named ids that another org already holds in the collection; nothing was written.

    Its own type so that an API can answer 409 without matching on the message; the message and
    the attributes name the ids and the collection, never the org that holds them.
    """

    def __init__(self, collection: str, ids: Sequence[str]) -> None:
        self.collection = collection
        self.ids = tuple(sorted(ids))
        super().__init__(f"ids {list(self.ids)} already belong to another org in {collection!r}")


@dataclass(frozen=True)
class CollectionSpec:
    name: str
    dim: int
    filterable: tuple[str, ...] = ()


@dataclass(frozen=True)
class VectorRecord:
    id: str
    org_id: str
    vector: Sequence[float] | np.ndarray
    metadata: Mapping[str, Any] = field(default_factory=dict)
    version: int = 0


@dataclass(frozen=True)
class VectorHit:
    id: str
    score: float  # cosine similarity, 1.0 is identical
    metadata: Mapping[str, Any]


@runtime_checkable
class VectorStore(Protocol):
    backend: str

    async def ensure_collection(self, spec: CollectionSpec) -> None:
        """Create the collection, or check that an existing one has the same dimension."""

    async def upsert(self, collection: str, records: Sequence[VectorRecord]) -> None:
        """Insert or replace records by id, all or none."""

    async def delete(self, collection: str, org_id: str, ids: Sequence[str]) -> int: ...

    async def get(self, collection: str, org_id: str, ids: Sequence[str]) -> list[VectorRecord]:
        """The org's records with these ids, in the order of `ids`; unknown and other orgs' ids are absent.

        Each vector comes back as the normalised float32 numpy array the store holds.
        """

    async def search(self, collection: str, org_id: str, vector: Sequence[float] | np.ndarray, top_k: int = 10,
                     filters: Filters | None = None, min_score: float | None = None) -> list[VectorHit]:
        """The `top_k` most similar records of the org, best first, ties broken by id."""

    async def versions(self, collection: str, org_id: str | None = None) -> dict[str, int]:
        """Record id to version (in one org, or all when None): for reconcile."""

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


def normalised(vector: Sequence[float] | np.ndarray, dim: int) -> np.ndarray:
    """The vector as unit-length float32, or VectorInputError naming what is wrong with it."""
    import numpy as np  # here, not at import: most processes never search vectors

    array = np.asarray(vector, dtype=np.float32)
    if array.ndim != 1 or array.shape[0] != dim:
        raise VectorInputError(f"vector has dimension {array.shape[-1] if array.ndim else 0}, expected {dim}")
    if not np.isfinite(array).all():
        raise VectorInputError("vector contains NaN or infinity")
    norm = float(np.linalg.norm(array))
    if norm == 0.0:
        raise VectorInputError("vector is all zeros")
    return array / norm


def open_vectors(weaviate_url: str | None, relational: Any, index_dir: Path | None = None) -> VectorStore:
    """Weaviate when a URL is configured, otherwise a table in the relational store.

    `index_dir` is where the embedded store keeps the ANN indexes of large orgs, so that a restart
    loads them instead of building them again; None keeps them in memory only.
    """
    if weaviate_url:
        from shared.database.vectors_weaviate import WeaviateVectors

        return WeaviateVectors(weaviate_url)
    from shared.database.vectors_relational import RelationalVectors

    return RelationalVectors(relational, index_dir=index_dir)
