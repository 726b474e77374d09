"""The server vector store: Weaviate, through weaviate-client v4's async client.

URL: `http[s]://host[:port][?grpc_port=50051&grpc_host=...&grpc_secure=true&api_key=...]`. The
client speaks REST for the schema and gRPC for data and queries, so both ports must be reachable.

Each Looma collection is one Weaviate collection, `Looma_<name>`, with no vectorizer (the vector
service embeds) and a cosine HNSW index; score = 1 - cosine distance. Every object holds:
- `looma_id`, `org_id` (exact-match text) and `looma_version`;
- `filter_terms`: `field=<term>` for each top-level metadata value (see vector_rules.term),
  so `{field: value}` and `{field: [values]}` are one `contains_any`; terms are kept for every field,
  so a collection can make more fields filterable without re-indexing;
- `metadata_json`: the metadata as JSON, returned verbatim, not indexed.
The object UUID is uuid5 of the Looma id, so writing an id again replaces its object.
The collection's dimension and filterable fields live in its description.

Checks are the ones both stores share (`vector_rules`), applied before anything is sent. Weaviate
has no multi-object transactions: a batch refused by the checks writes nothing, but one that the
server fails halfway may leave part written; upserts are idempotent, so the projector's retry
converges. Verified against the client library only: no Weaviate server runs on the development
machines (see docs/storage-vectors.md for running the contract suite against one).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from shared.database.vector_rules import (
    COLLECTION_NAME,
    FIELD_NAME,
    MAX_ID_LENGTH,
    MAX_ORG_ID_LENGTH,
    MAX_TOP_K,
    checked_filters,
    checked_key,
    checked_records,
    checked_search,
    checked_spec,
    record_terms,
)
from shared.database.vectors import (
    CollectionSpec,
    Filters,
    VectorHit,
    VectorIdTaken,
    VectorInputError,
    VectorRecord,
    normalised,
)

if TYPE_CHECKING:
    import numpy as np
    from weaviate import WeaviateAsyncClient
    from weaviate.collections import CollectionAsync

__all__ = ["WeaviateEndpoint", "WeaviateVectors", "class_name", "filter_terms", "object_uuid", "parse_url"]

CLASS_PREFIX = "Looma_"
ID_NAMESPACE = uuid.UUID("8c1d4e5a-3f2b-5a7e-9b61-4c0f2d8e7a13")  # fixed: every process derives the same UUIDs
DESCRIPTION_MARK = "looma-vectors "
BATCH = 1_000  # objects per insert_many / ids per filter, well under QUERY_MAXIMUM_RESULTS
RETURNED = ["looma_id", "metadata_json"]


@dataclass(frozen=True)
class WeaviateEndpoint:
    http_host: str
    http_port: int
    http_secure: bool
    grpc_host: str
    grpc_port: int
    grpc_secure: bool
    api_key: str | None


def parse_url(url: str) -> WeaviateEndpoint:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"Weaviate URL must be http(s)://host[:port][?grpc_port=...], got {url!r}")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    secure = parts.scheme == "https"
    grpc_secure = query.get("grpc_secure", str(secure)).lower() in ("1", "true", "yes")
    return WeaviateEndpoint(
        http_host=parts.hostname,
        http_port=parts.port or (443 if secure else 8080),
        http_secure=secure,
        grpc_host=query.get("grpc_host", parts.hostname),
        grpc_port=int(query.get("grpc_port", "50051")),
        grpc_secure=grpc_secure,
        api_key=query.get("api_key") or None,
    )


def class_name(collection: str) -> str:
    if not isinstance(collection, str) or not COLLECTION_NAME.fullmatch(collection):
        raise VectorInputError(f"unknown collection {collection!r}")
    return CLASS_PREFIX + collection


def object_uuid(record_id: str) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, record_id))


def filter_terms(metadata: dict[str, Any]) -> list[str]:
    return sorted(f"{field}={one}" for field, value in metadata.items() if FIELD_NAME.fullmatch(field)
                  for one in record_terms(value))


class WeaviateVectors:
    """VectorStore on a Weaviate server; connects on first use."""

    backend = "weaviate"

    def __init__(self, url: str) -> None:
        self.endpoint = parse_url(url)
        self._client: WeaviateAsyncClient | None = None
        self._connecting = asyncio.Lock()
        self._specs: dict[str, CollectionSpec] = {}

    async def ensure_collection(self, spec: CollectionSpec) -> None:
        from weaviate.exceptions import WeaviateBaseError

        spec = checked_spec(spec)
        client = await self._connected()
        name = class_name(spec.name)
        for attempt in range(2):
            if await client.collections.exists(name):
                held = await self._spec(spec.name, refresh=True)
                if held.dim != spec.dim:
                    raise VectorInputError(f"collection {spec.name!r} exists with dimension {held.dim}, not {spec.dim}")
                if held.filterable != spec.filterable:
                    await client.collections.get(name).config.update(description=_description(spec))
                self._specs[spec.name] = spec
                return
            try:
                await client.collections.create(name, description=_description(spec), properties=_properties(),
                                                vector_config=_vector_config())
                self._specs[spec.name] = spec
                return
            except WeaviateBaseError:
                if attempt:  # created by another process between exists() and create(): look again once
                    raise

    async def upsert(self, collection: str, records: Sequence[VectorRecord]) -> None:
        from weaviate.classes.data import DataObject

        spec = await self._spec(collection)
        checked = checked_records(records, spec.dim)
        if not checked:
            return
        handle = await self._collection(collection)
        await self._refuse_other_orgs(handle, collection, {record.id: record.org_id for record in checked})
        objects = [DataObject(uuid=object_uuid(record.id), vector=record.vector.tolist(), properties={
            "looma_id": record.id, "org_id": record.org_id, "looma_version": record.version,
            "filter_terms": filter_terms(record.metadata),
            "metadata_json": json.dumps(record.metadata, ensure_ascii=False)}) for record in checked]
        for start in range(0, len(objects), BATCH):
            result = await handle.data.insert_many(objects[start:start + BATCH])  # a batch replaces by UUID
            if result.has_errors:
                first = next(iter(result.errors.values()))
                raise RuntimeError(f"Weaviate refused {len(result.errors)} objects of {collection!r}: {first.message}")

    async def delete(self, collection: str, org_id: str, ids: Sequence[str]) -> int:
        from weaviate.classes.query import Filter

        checked_key(org_id, "org_id", MAX_ORG_ID_LENGTH)
        unique = list(dict.fromkeys(checked_key(record_id, "id", MAX_ID_LENGTH) for record_id in ids))
        if not unique:
            return 0
        try:
            handle = await self._collection(collection)
        except VectorInputError:
            return 0  # nothing is held in a collection that does not exist
        deleted = 0
        for start in range(0, len(unique), BATCH):
            where = (Filter.by_property("org_id").equal(org_id)
                     & Filter.by_property("looma_id").contains_any(unique[start:start + BATCH]))
            deleted += (await handle.data.delete_many(where=where)).successful
        return deleted

    async def get(self, collection: str, org_id: str, ids: Sequence[str]) -> list[VectorRecord]:
        from weaviate.classes.query import Filter

        checked_key(org_id, "org_id", MAX_ORG_ID_LENGTH)
        unique = list(dict.fromkeys(checked_key(record_id, "id", MAX_ID_LENGTH) for record_id in ids))
        if not unique:
            return []
        try:
            handle = await self._collection(collection)
        except VectorInputError:
            return []  # nothing is held in a collection that does not exist
        found: dict[str, VectorRecord] = {}
        for start in range(0, len(unique), BATCH):
            chunk = unique[start:start + BATCH]
            where = (Filter.by_id().contains_any([object_uuid(record_id) for record_id in chunk])
                     & Filter.by_property("org_id").equal(org_id))
            response = await handle.query.fetch_objects(filters=where, limit=len(chunk), include_vector=True,
                                                        return_properties=["looma_id", "metadata_json", "looma_version"])
            for obj in response.objects:
                properties: dict[str, Any] = dict(obj.properties)
                record_id = properties["looma_id"]
                found[record_id] = VectorRecord(record_id, org_id, _stored_vector(obj.vector),
                                                json.loads(properties["metadata_json"]), int(properties["looma_version"]))
        return [found[record_id] for record_id in unique if record_id in found]

    async def search(self, collection: str, org_id: str, vector: Sequence[float] | np.ndarray, top_k: int = 10,
                     filters: Filters | None = None, min_score: float | None = None) -> list[VectorHit]:
        from weaviate.classes.query import Filter, MetadataQuery

        checked_search(top_k, min_score)
        checked_key(org_id, "org_id", MAX_ORG_ID_LENGTH)
        spec = await self._spec(collection)
        query = normalised(vector, spec.dim).tolist()
        try:
            wanted = checked_filters(filters, spec.filterable)
        except VectorInputError:  # another process may have made the field filterable since
            spec = await self._spec(collection, refresh=True)
            wanted = checked_filters(filters, spec.filterable)
        if any(not terms for terms in wanted.values()):
            return []  # membership in an empty list matches nothing
        where = Filter.by_property("org_id").equal(org_id)
        for field, terms in wanted.items():
            where = where & Filter.by_property("filter_terms").contains_any(sorted(f"{field}={one}" for one in terms))
        # A little slack on the server's distance cut; the exact one is applied below.
        distance = None if min_score is None or min_score <= -1 else 1.0 - min_score + 1e-5
        handle = await self._collection(collection)
        limit = top_k
        while True:
            response = await handle.query.near_vector(query, limit=limit, distance=distance, filters=where,
                                                      return_metadata=MetadataQuery(distance=True),
                                                      return_properties=RETURNED)
            hits = [VectorHit(obj.properties["looma_id"], min(1.0, max(-1.0, 1.0 - obj.metadata.distance)),
                              json.loads(obj.properties["metadata_json"])) for obj in response.objects]
            # Ties are broken by id, so when the last hit fetched ties with the k-th, fetch more.
            if len(hits) < limit or limit >= MAX_TOP_K or hits[-1].score < hits[top_k - 1].score:
                break
            limit = min(2 * limit, MAX_TOP_K)
        if min_score is not None:
            hits = [hit for hit in hits if hit.score >= min_score]
        return sorted(hits, key=lambda hit: (-hit.score, hit.id))[:top_k]

    async def versions(self, collection: str, org_id: str | None = None) -> dict[str, int]:
        try:
            handle = await self._collection(collection)
        except VectorInputError:
            return {}
        found: dict[str, int] = {}
        # The cursor iterator takes no filter, so the org is picked out here.
        async for obj in handle.iterator(return_properties=["looma_id", "org_id", "looma_version"]):
            if org_id is None or obj.properties["org_id"] == org_id:
                found[obj.properties["looma_id"]] = int(obj.properties["looma_version"])
        return found

    async def ping(self) -> None:
        client = await self._connected()
        if not await client.is_ready():
            raise RuntimeError(f"Weaviate at {self.endpoint.http_host}:{self.endpoint.http_port} is not ready")

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()

    async def _connected(self) -> WeaviateAsyncClient:
        if self._client is None:
            async with self._connecting:
                if self._client is None:
                    import weaviate
                    from weaviate.classes.init import Auth

                    point = self.endpoint
                    client = weaviate.use_async_with_custom(
                        http_host=point.http_host, http_port=point.http_port, http_secure=point.http_secure,
                        grpc_host=point.grpc_host, grpc_port=point.grpc_port, grpc_secure=point.grpc_secure,
                        auth_credentials=Auth.api_key(point.api_key) if point.api_key else None)
                    await client.connect()
                    self._client = client
        return self._client

    async def _collection(self, collection: str) -> CollectionAsync:
        await self._spec(collection)
        return (await self._connected()).collections.get(class_name(collection))

    async def _spec(self, collection: str, refresh: bool = False) -> CollectionSpec:
        """The collection's dimension and filterable fields, read from its description and cached."""
        if not refresh and collection in self._specs:
            return self._specs[collection]
        name = class_name(collection)
        client = await self._connected()
        if not await client.collections.exists(name):
            raise VectorInputError(f"unknown collection {collection!r}: call ensure_collection first")
        description = (await client.collections.get(name).config.get()).description or ""
        if not description.startswith(DESCRIPTION_MARK):
            raise RuntimeError(f"Weaviate collection {name} was not created by Looma (description {description!r})")
        held = json.loads(description[len(DESCRIPTION_MARK):])
        spec = CollectionSpec(collection, int(held["dim"]), tuple(held["filterable"]))
        self._specs[collection] = spec
        return spec

    async def _refuse_other_orgs(self, handle: CollectionAsync, collection: str, org_of: dict[str, str]) -> None:
        """An id held by another org is refused, as in the relational store (no cross-tenant overwrite)."""
        from weaviate.classes.query import Filter

        ids = list(org_of)
        taken: list[str] = []
        for start in range(0, len(ids), BATCH):
            chunk = ids[start:start + BATCH]
            response = await handle.query.fetch_objects(
                filters=Filter.by_id().contains_any([object_uuid(record_id) for record_id in chunk]),
                limit=len(chunk), return_properties=["looma_id", "org_id"])
            taken += [obj.properties["looma_id"] for obj in response.objects
                      if obj.properties["org_id"] != org_of.get(obj.properties["looma_id"])]
        if taken:
            raise VectorIdTaken(collection, taken)


def _stored_vector(vectors: Any) -> np.ndarray:
    """The float32 vector of an object fetched with `include_vector=True`.

    The client returns a dict of named vectors; a collection made with `self_provided()` and no
    name holds one, under "default".
    """
    import numpy as np

    if isinstance(vectors, Mapping):
        values = vectors.get("default")
        if values is None and len(vectors) == 1:
            values = next(iter(vectors.values()))
    else:
        values = vectors
    if values is None:
        raise RuntimeError("Weaviate returned an object without its vector")
    return np.asarray(values, dtype=np.float32)


def _description(spec: CollectionSpec) -> str:
    return DESCRIPTION_MARK + json.dumps({"dim": spec.dim, "filterable": list(spec.filterable)})


def _properties() -> list[Any]:
    from weaviate.classes.config import DataType, Property, Tokenization

    def exact(name: str, data_type: DataType) -> Property:
        # FIELD tokenization: the whole value is one token, so equality and contains_any are exact.
        return Property(name=name, data_type=data_type, tokenization=Tokenization.FIELD, index_searchable=False)

    return [
        exact("looma_id", DataType.TEXT),
        exact("org_id", DataType.TEXT),
        Property(name="looma_version", data_type=DataType.INT),
        exact("filter_terms", DataType.TEXT_ARRAY),
        Property(name="metadata_json", data_type=DataType.TEXT, index_filterable=False, index_searchable=False),
    ]


def _vector_config() -> Any:
    from weaviate.classes.config import Configure, VectorDistances

    return Configure.Vectors.self_provided(
        vector_index_config=Configure.VectorIndex.hnsw(distance_metric=VectorDistances.COSINE))
