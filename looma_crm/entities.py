"""One set of CRUD routes for every CRM entity, with the hooks where entities differ.

    GET /{plural}            list: limit, cursor, sort, and the entity's own filters
    POST /{plural}           create: 201, `id` on top, ETag; Idempotency-Key honoured for a day
    GET /{plural}/{id}       read, with ETag
    PATCH /{plural}/{id}     merge fields, then validate the whole entity; If-Match optional
    PUT /{plural}/{id}       replace; If-Match optional
    DELETE /{plural}/{id}    soft delete; If-Match optional
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ValidationError
from sanic import Blueprint, HTTPResponse, Request
from sanic.response import empty
from sanic.response import json as json_response
from sanic_ext import openapi
from sqlalchemy.ext.asyncio import AsyncConnection

from looma_crm import store
from looma_crm.store import Kind
from shared.database.outbox import wake_projector
from shared.service import Problem, json_body
from shared.service.requests import if_match
from shared.service.auth import caller, requires
from shared.service.problems import validation_problem
from shared.service.tenancy import org_of

IDEMPOTENCY_TTL = 86_400.0
Hook = Callable[[AsyncConnection, str, dict[str, Any]], Awaitable[None]]


async def _no_hook(conn: AsyncConnection, org_id: str, row: dict[str, Any]) -> None:
    return None


@dataclass(frozen=True)
class Entity:
    kind: Kind
    plural: str
    model: type[BaseModel]
    read: str  # permission
    write: str
    prepare: Callable[[Any], dict[str, Any]] = field(default=lambda body: body.model_dump(mode="json"))
    check_references: Hook = _no_hook  # (conn, org, data): 404 for ids outside the org
    after_write: Hook = _no_hook  # (conn, org, row): projections, keys, events; same transaction
    list_filters: Callable[[Mapping[str, Any]], list[Any]] = field(default=lambda args: [])
    projected: bool = False  # writes record outbox events: wake the projector after commit
    fixed: Mapping[str, str] = field(default_factory=dict)  # field -> why a change to it is refused
    # GET /{plural}?q=...: a search instead of a plain list (request, org, limit, cursor)
    search: Callable[[Request, str, int, str | None], Awaitable[dict[str, Any]]] | None = None
    kept: tuple[str, ...] = ()  # fields the service keeps (not the client's): PATCH and PUT carry them over
    # the stored fields a PATCH starts from (data, model): by default those the model takes
    editable: Callable[[Mapping[str, Any], type[BaseModel]], dict[str, Any]] | None = None
    # (conn, org, before, row) after a PATCH or PUT, in its transaction; by default after_write(conn, org, row)
    after_change: Callable[[AsyncConnection, str, dict[str, Any], dict[str, Any]], Awaitable[None]] | None = None


def validated(entity: Entity, data: Any) -> dict[str, Any]:
    try:
        return entity.prepare(entity.model.model_validate(data))
    except ValidationError as error:
        raise validation_problem(error) from None


def with_etag(row: Mapping[str, Any], status: int = 200, extra: dict[str, Any] | None = None) -> HTTPResponse:
    body = store.view(row)
    if extra:
        body.update(extra)
    return json_response(body, status=status, headers={"ETag": f'"{row["version"]}"'})


def _editable(row: Mapping[str, Any], entity: Entity) -> dict[str, Any]:
    """The stored JSON reduced to the fields a client may send (derived ones are recomputed)."""
    if entity.editable is not None:
        return entity.editable(row["data"], entity.model)
    return {k: v for k, v in row["data"].items() if k in entity.model.model_fields}


async def create(request: Request, entity: Entity, body: Any) -> HTTPResponse:
    org = org_of(request)
    data = validated(entity, body)
    key = request.headers.get("idempotency-key")
    cache = request.app.ctx.store.cache
    slot = f"crm:idempotency:{org}:{entity.kind.name}:{key}" if key else None
    entity_id = store.new_id()
    if slot is not None:
        if len(key) > 200:
            raise Problem(400, "Idempotency-Key has at most 200 characters", slug="invalid-header")
        if not await cache.add(slot, entity_id.encode(), ttl=IDEMPOTENCY_TTL):
            earlier = (await cache.get(slot) or b"").decode()
            async with request.app.ctx.store.relational.read() as conn:
                try:
                    row = await store.fetch(conn, entity.kind, org, earlier)
                except Problem:
                    table = entity.kind.table
                    if (await conn.execute(sa.select(table.c.id).where(table.c.id == earlier))).first() is None:
                        # The first request has not committed yet (or failed and is releasing the key).
                        raise Problem(409, "a request with this Idempotency-Key is still being processed; "
                                           "retry it shortly", slug="idempotency-in-progress",
                                      headers={"Retry-After": "1"}) from None
                    raise
            return with_etag(row, 201)
    try:
        async with request.app.ctx.store.relational.write() as conn:
            await entity.check_references(conn, org, data)
            row = await store.insert(conn, entity.kind, org, data, caller(request).subject, entity_id=entity_id)
            await entity.after_write(conn, org, row)
    except BaseException:
        if slot is not None:
            await cache.delete(slot)
        raise
    if entity.projected:
        await wake_projector(request.app.ctx.store.cache)
    return with_etag(row, 201)


async def change(request: Request, entity: Entity, entity_id: str, merge: bool) -> HTTPResponse:
    org, body = org_of(request), json_body(request)
    if not isinstance(body, dict):
        raise Problem(422, "the body must be a JSON object", slug="validation-failed",
                      errors=[{"loc": "body", "msg": "expected an object"}])
    async with request.app.ctx.store.relational.write() as conn:
        current = await store.fetch(conn, entity.kind, org, entity_id)
        data = validated(entity, {**_editable(current, entity), **body} if merge else body)
        data.update({name: current["data"][name] for name in entity.kept if name in current["data"]})
        for name, reason in entity.fixed.items():
            if data.get(name) != current["data"].get(name):
                raise Problem(409, reason, slug="field-fixed", errors=[{"loc": f"body.{name}", "msg": reason}])
        await entity.check_references(conn, org, data)
        row = await store.replace(conn, entity.kind, current, data, if_match(request))
        if entity.after_change is not None:
            await entity.after_change(conn, org, current, row)
        else:
            await entity.after_write(conn, org, row)
    if entity.projected:
        await wake_projector(request.app.ctx.store.cache)
    return with_etag(row)


async def remove(request: Request, entity: Entity, entity_id: str) -> HTTPResponse:
    org = org_of(request)
    async with request.app.ctx.store.relational.write() as conn:
        current = await store.fetch(conn, entity.kind, org, entity_id)
        row = await store.mark_deleted(conn, entity.kind, current, if_match(request))
        await entity.after_write(conn, org, row)
    if entity.projected:
        await wake_projector(request.app.ctx.store.cache)
    return empty()


def crud_blueprint(entity: Entity, name: str | None = None) -> Blueprint:
    bp = Blueprint(name or f"crm_{entity.plural}", url_prefix=f"/api/v1/{entity.plural}")
    kind, model = entity.kind.name, entity.model

    @bp.get("/")
    @requires(entity.read)
    @openapi.summary(f"List {entity.plural}: limit, cursor, sort=field or -field, filters"
                     + (", q= to search (mode=keyword|semantic|hybrid)" if entity.search else ""))
    async def list_all(request: Request) -> HTTPResponse:
        page = store.parse_page(args_dict(request), entity.kind)
        if entity.search is not None and request.args.get("q"):
            return json_response(await entity.search(request, org_of(request), page.limit, page.cursor))
        async with request.app.ctx.store.relational.read() as conn:
            result = await store.page(conn, entity.kind, org_of(request), page, entity.list_filters(args_dict(request)))
        return json_response(result)

    @bp.post("/")
    @requires(entity.write)
    @openapi.body({"application/json": model})
    @openapi.summary(f"Create a {kind} (Idempotency-Key honoured)")
    async def create_one(request: Request) -> HTTPResponse:
        return await create(request, entity, json_body(request))

    @bp.get("/<entity_id:str>")
    @requires(entity.read)
    @openapi.summary(f"Read a {kind}, with its ETag")
    async def read_one(request: Request, entity_id: str) -> HTTPResponse:
        async with request.app.ctx.store.relational.read() as conn:
            return with_etag(await store.fetch(conn, entity.kind, org_of(request), entity_id))

    @bp.patch("/<entity_id:str>")
    @requires(entity.write)
    @openapi.summary(f"Change some fields of a {kind} (If-Match optional; stale answers 412)")
    async def patch_one(request: Request, entity_id: str) -> HTTPResponse:
        return await change(request, entity, entity_id, merge=True)

    @bp.put("/<entity_id:str>")
    @requires(entity.write)
    @openapi.body({"application/json": model})
    @openapi.summary(f"Replace a {kind} (If-Match optional; stale answers 412)")
    async def replace_one(request: Request, entity_id: str) -> HTTPResponse:
        return await change(request, entity, entity_id, merge=False)

    @bp.delete("/<entity_id:str>")
    @requires(entity.write)
    @openapi.summary(f"Delete a {kind} (If-Match optional)")
    async def delete_one(request: Request, entity_id: str) -> HTTPResponse:
        return await remove(request, entity, entity_id)

    return bp


def args_dict(request: Request) -> dict[str, Any]:
    return {k: v[0] for k, v in request.args.items()}

