"""The vector service's HTTP surface. Handlers parse, check the input against the collection and
the loaded model, call the stores, and answer; the org always comes from the caller."""

from __future__ import annotations

import json as jsonlib
from collections.abc import Sequence
from typing import Any

import numpy as np
from sanic import Blueprint, HTTPResponse, Request
from sanic.response import empty, json
from sanic_ext import openapi

from ai_services.vector_service import search
from ai_services.vector_service.models import (
    MAX_METADATA_BYTES,
    MAX_TOP_K,
    EmbedRequest,
    EmbedResponse,
    SearchRequest,
    SearchResponse,
    StoredVector,
    TextOrVector,
    VectorWrite,
)
from shared.catalog import MODEL_FIELD, VECTOR_COLLECTIONS, VectorCollection
from shared.database.fulltext import MAX_QUERY_CHARS, FullTextInputError
from shared.database.vector_rules import MAX_ID_LENGTH
from shared.database.vectors import VectorIdTaken, VectorInputError, VectorRecord, normalised
from shared.embeddings import EmbeddingEndpointError, EmbeddingNotLoaded, EmbeddingOverloaded, EmbeddingProvider
from shared.service import Problem, parse_body
from shared.service.auth import requires
from shared.service.auth.permissions import VECTOR_SEARCH, VECTOR_WRITE
from shared.service.tenancy import org_of

RETRY_LOADING = "5"  # seconds: a model loads in well under that
RETRY_OVERLOADED = "1"


# --- input checks, each naming the field ------------------------------------------------------------


def invalid(loc: str, detail: str, status: int = 422) -> Problem:
    return Problem(status, detail, slug="validation-failed", errors=[{"loc": loc, "msg": detail}])


def collection_named(name: str) -> VectorCollection:
    collection = VECTOR_COLLECTIONS.get(name)
    if collection is None:
        raise Problem(404, f"no collection {name!r}: the collections are {', '.join(VECTOR_COLLECTIONS)}",
                      slug="collection-not-found")
    return collection


def record_id(value: str) -> str:
    if not value or len(value) > MAX_ID_LENGTH or "\x00" in value:
        raise invalid("path.id", f"id must be 1 to {MAX_ID_LENGTH} characters")
    return value


def one_of_text_or_vector(body: TextOrVector) -> None:
    if body.text is None and body.vector is None:
        raise Problem(422, "send text or vector", slug="validation-failed",
                      errors=[{"loc": "body.text", "msg": "text or vector is required"},
                              {"loc": "body.vector", "msg": "text or vector is required"}])
    if body.text is not None and body.vector is not None:
        raise Problem(422, "send text or vector, not both", slug="validation-failed",
                      errors=[{"loc": "body.text", "msg": "not together with vector"},
                              {"loc": "body.vector", "msg": "not together with text"}])


def checked_vector(values: Sequence[float], dim: int) -> np.ndarray:
    if len(values) != dim:
        raise invalid("body.vector", f"vector has {len(values)} dimensions, the model's vectors have {dim}")
    try:
        return normalised(values, dim)
    except VectorInputError as error:
        raise invalid("body.vector", str(error)) from None


def checked_filters(filters: dict[str, Any], collection: VectorCollection) -> None:
    for field in filters:
        if field not in collection.filterable and field != MODEL_FIELD:
            allowed = ", ".join(collection.filterable)
            raise invalid(f"body.filters.{field}",
                          f"{collection.name} cannot be filtered on {field!r}; the filterable fields are {allowed}")


def checked_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    if MODEL_FIELD in metadata:
        raise invalid(f"body.metadata.{MODEL_FIELD}", f"{MODEL_FIELD} is set by the service: the model that "
                                                      "made the vector")
    try:
        size = len(jsonlib.dumps(metadata, ensure_ascii=False, allow_nan=False).encode())
    except ValueError:
        raise invalid("body.metadata", "metadata may not hold NaN or infinity") from None
    if size > MAX_METADATA_BYTES:
        raise invalid("body.metadata", f"metadata is {size} bytes as JSON, at most {MAX_METADATA_BYTES} allowed")
    return metadata


def top_k_arg(request: Request) -> int:
    raw = request.args.get("top_k", "10")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_TOP_K:
        raise invalid("query.top_k", f"top_k must be an integer from 1 to {MAX_TOP_K}")
    return int(raw)


# --- the model -------------------------------------------------------------------------------------


def loaded_provider(request: Request) -> EmbeddingProvider:
    """The provider, once the model has loaded and the collections exist; 503 before."""
    ctx = request.app.ctx
    if ctx.load_error is not None:
        raise Problem(503, f"the embedding model failed to load: {ctx.load_error}", slug="model-unavailable")
    if not ctx.model_ready or ctx.provider is None:
        raise Problem(503, "the embedding model is still loading; retry shortly", slug="model-loading",
                      headers={"Retry-After": RETRY_LOADING})
    return ctx.provider  # type: ignore[no-any-return]


async def embedded(provider: EmbeddingProvider, texts: list[str], kind: str) -> np.ndarray:
    try:
        return await provider.embed(texts, kind=kind)  # type: ignore[arg-type]
    except EmbeddingOverloaded as error:
        raise Problem(503, str(error), slug="embedding-overloaded", headers={"Retry-After": RETRY_OVERLOADED},
                      ) from None
    except EmbeddingNotLoaded as error:
        raise Problem(503, str(error), slug="model-loading", headers={"Retry-After": RETRY_LOADING}) from None
    except EmbeddingEndpointError as error:
        raise Problem(502, str(error), slug="embedding-endpoint-failed") from None


async def query_vector(provider: EmbeddingProvider, body: TextOrVector, kind: str) -> np.ndarray:
    one_of_text_or_vector(body)
    if body.vector is not None:
        return checked_vector(body.vector, provider.dim)
    assert body.text is not None
    return (await embedded(provider, [body.text], kind))[0]


def search_options(body: SearchRequest, collection: VectorCollection) -> tuple[str | None, float]:
    """The fusion and alpha a search uses, or 422 naming the field that does not fit the mode."""
    if body.mode == "semantic":
        for name in ("fusion", "alpha"):
            if getattr(body, name) is not None:
                raise invalid(f"body.{name}", f"{name} applies to mode 'hybrid' only")
        return None, 0.0
    if collection.text_index is None:
        raise invalid("body.mode", f"{collection.name} has no full-text index: search it with mode 'semantic'")
    if body.text is None:
        raise invalid("body.text", "hybrid search needs text: it is also the keyword query")
    if len(body.text) > MAX_QUERY_CHARS:
        raise invalid("body.text", f"a hybrid query has at most {MAX_QUERY_CHARS} characters, not {len(body.text)}")
    fusion = body.fusion or ("weighted" if body.alpha is not None else "rrf")
    if fusion == "rrf" and body.alpha is not None:
        raise invalid("body.alpha", "alpha applies to fusion 'weighted' only")
    return fusion, body.alpha if body.alpha is not None else 0.5


# --- routes ----------------------------------------------------------------------------------------


def vector_blueprint() -> Blueprint:
    bp = Blueprint("vectors", url_prefix="/api/v1/vectors")

    @bp.post("/embed")
    @requires(VECTOR_SEARCH)
    @openapi.body({"application/json": EmbedRequest})
    @openapi.response(200, {"application/json": EmbedResponse})
    @openapi.summary("Embed up to 256 texts (8,000 characters each) as queries or passages")
    async def embed(request: Request) -> HTTPResponse:
        body = parse_body(request, EmbedRequest)
        provider = loaded_provider(request)
        vectors = await embedded(provider, body.texts, body.kind)
        return json({"vectors": vectors.tolist(), "model": provider.model_id, "dim": provider.dim})

    @bp.post("/search")
    @requires(VECTOR_SEARCH)
    @openapi.body({"application/json": SearchRequest})
    @openapi.response(200, {"application/json": SearchResponse})
    @openapi.summary("Search a collection of the caller's org by meaning, or hybrid with the full-text index")
    async def search_collection(request: Request) -> HTTPResponse:
        body = parse_body(request, SearchRequest)
        org = org_of(request)
        collection = collection_named(body.collection)
        checked_filters(body.filters, collection)
        fusion, alpha = search_options(body, collection)
        provider = loaded_provider(request)
        query = await query_vector(provider, body, "query")
        data = request.app.ctx.store
        try:
            if body.mode == "hybrid":
                assert body.text is not None and fusion is not None
                items = await search.hybrid(data, collection, provider.model_id, org, body.text, query, body.top_k,
                                            body.filters, body.min_score, fusion, alpha)
            else:
                items = await search.semantic(data, collection.stored_as(provider.model_id), org, query, body.top_k,
                                              body.filters, body.min_score)
        except (VectorInputError, FullTextInputError) as error:
            raise invalid("body", str(error)) from None
        return json({"items": items, "collection": collection.name, "mode": body.mode, "fusion": fusion,
                     "model": provider.model_id})

    @bp.put("/<collection_name:str>/<entity_id:str>")
    @requires(VECTOR_WRITE)
    @openapi.body({"application/json": VectorWrite})
    @openapi.response(200, {"application/json": StoredVector})
    @openapi.summary("Store a vector (or text, embedded as a passage) with metadata under an id")
    async def upsert(request: Request, collection_name: str, entity_id: str) -> HTTPResponse:
        collection = collection_named(collection_name)
        entity_id = record_id(entity_id)
        body = parse_body(request, VectorWrite)
        org = org_of(request)
        metadata = checked_metadata(body.metadata)
        provider = loaded_provider(request)
        vector = await query_vector(provider, body, "passage")
        stored = {**metadata, MODEL_FIELD: provider.model_id}
        try:
            await request.app.ctx.store.vectors.upsert(collection.stored_as(provider.model_id),
                                                       [VectorRecord(entity_id, org, vector, stored)])
        except VectorIdTaken:  # said without naming the org or confirming the record
            raise Problem(409, f"id {entity_id!r} cannot be used in {collection.name}; choose another id",
                          slug="id-unavailable") from None
        except VectorInputError as error:
            raise invalid("body.metadata", str(error)) from None
        return json({"collection": collection.name, "id": entity_id, "model": provider.model_id,
                     "dim": provider.dim, "metadata": metadata})

    @bp.delete("/<collection_name:str>/<entity_id:str>")
    @requires(VECTOR_WRITE)
    @openapi.response(204, None)
    @openapi.summary("Delete the vector stored under an id")
    async def delete(request: Request, collection_name: str, entity_id: str) -> HTTPResponse:
        collection = collection_named(collection_name)
        entity_id = record_id(entity_id)
        provider = loaded_provider(request)
        deleted = await request.app.ctx.store.vectors.delete(collection.stored_as(provider.model_id), org_of(request),
                                                             [entity_id])
        if not deleted:
            raise Problem(404, f"no vector {entity_id!r} in {collection.name}", slug="vector-not-found")
        return empty()

    @bp.get("/<collection_name:str>/<entity_id:str>/similar")
    @requires(VECTOR_SEARCH)
    @openapi.response(200, {"application/json": SearchResponse})
    @openapi.summary("The nearest neighbours of a stored vector (?top_k=, 1 to 100), itself excluded")
    async def similar(request: Request, collection_name: str, entity_id: str) -> HTTPResponse:
        collection = collection_named(collection_name)
        entity_id = record_id(entity_id)
        top_k = top_k_arg(request)
        org = org_of(request)
        provider = loaded_provider(request)
        data = request.app.ctx.store
        vector = await search.stored_vector(data, collection.stored_as(provider.model_id), org, entity_id)
        if vector is None:
            raise Problem(404, f"no vector {entity_id!r} in {collection.name}", slug="vector-not-found")
        items = await search.semantic(data, collection.stored_as(provider.model_id), org, vector, top_k, {}, None,
                                      exclude=entity_id)
        return json({"items": items, "collection": collection.name, "mode": "semantic", "fusion": None,
                     "model": provider.model_id})

    return bp
