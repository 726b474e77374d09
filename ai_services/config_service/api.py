"""The config service's HTTP surface. Handlers parse, call the store, announce writes, and answer.

Scopes: a reader sees their org's effective values; a service token, which has no org, sees the
service-wide values, or an org's when it names one in X-Looma-Org. `?scope=global` reads or
writes the service-wide value (writing it is for the platform: superadmins), `?scope=org` the
org's own. A write without `scope` changes the writer's org.
"""

from __future__ import annotations

import asyncio
import math
import re

from sanic import Blueprint, HTTPResponse, Request
from sanic.response import empty, json
from sanic_ext import openapi

from ai_services.config_service import store
from ai_services.config_service.models import (
    EffectiveValue, KeyPage, Rollback, ValueWrite, VersionDiff, VersionPage, WatchBatch,
)
from ai_services.config_service.schemas import REGISTRY, RegisteredKey, registered
from ai_services.config_service.store import Batch, Entry
from ai_services.config_service.tables import GLOBAL
from ai_services.config_service.watch import KEEPALIVE, Interest, Reader, sse_events
from shared.service import Problem, parse_body
from shared.service.auth import caller, requires
from shared.service.auth.permissions import CONFIG_READ, CONFIG_WRITE
from shared.service.requests import if_match
from shared.service.tenancy import ORG_HEADER

WATCH_TIMEOUT, WATCH_TIMEOUT_MAX = 25.0, 55.0
DEFAULT_LIMIT, MAX_LIMIT = 20, 200
EVENT_STREAM = "text/event-stream"


# --- reading the query --------------------------------------------------------------------------------


def _invalid(name: str, detail: str, slug: str = "invalid-parameter") -> Problem:
    return Problem(400, detail, slug=slug, errors=[{"loc": f"query.{name}", "msg": detail}])


def _scope_arg(request: Request) -> str | None:
    scope = request.args.get("scope")
    if scope not in (None, "org", "global"):
        raise _invalid("scope", "scope must be 'org' or 'global'")
    return scope


def _own_org(request: Request) -> str | None:
    """The caller's org: their token's, or for a service token the one X-Looma-Org names."""
    org = caller(request).org_id
    if org is None:
        org = request.headers.get(ORG_HEADER, "").strip() or None
    if org is not None and (len(org) > 64 or "\x00" in org):
        raise Problem(400, f"{ORG_HEADER} must be an org id", slug="invalid-header")
    return org


def _needs_org(request: Request) -> str:
    org = _own_org(request)
    if org is None:
        raise Problem(422, "this caller belongs to no org: send scope=global for the service-wide value",
                      slug="validation-failed", errors=[{"loc": "query.scope", "msg": "scope=global, or an org"}])
    return org


def _reading_as(request: Request) -> str | None:
    """Whose effective values a read answers: an org, or None for the service-wide ones."""
    scope = _scope_arg(request)
    if scope == "global":
        return None
    if scope == "org":
        return _needs_org(request)
    return _own_org(request)


def _writing_to(request: Request) -> str:
    """The scope a write changes: GLOBAL, or an org id."""
    if _scope_arg(request) == "global":
        if not caller(request).platform:
            raise Problem(403, "only a superadmin may change the service-wide value; leave out scope to change "
                               "your org's", slug="global-scope-forbidden")
        return GLOBAL
    return _needs_org(request)


def _history_scopes(request: Request) -> list[str]:
    scope = _scope_arg(request)
    if scope == "global":
        return [GLOBAL]
    if scope == "org":
        return [_needs_org(request)]
    org = _own_org(request)
    return [GLOBAL] if org is None else [GLOBAL, org]


def _whole(request: Request, name: str, *, low: int, high: int, default: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None and default is not None:
        return default
    if raw is None or not re.fullmatch(r"[0-9]{1,18}", raw) or not low <= int(raw) <= high:
        raise _invalid(name, f"{name} must be a whole number from {low} to {high}")
    return int(raw)


def _cursor(raw: str | None, name: str) -> int | None:
    if raw is None or raw == "":
        return None
    if not re.fullmatch(r"[0-9]{1,18}", raw.strip()):
        raise _invalid(name, f"{name} must be a cursor this API handed out", slug="invalid-cursor")
    return int(raw.strip())


def _seconds(request: Request, default: float | None, most: float) -> float | None:
    raw = request.args.get("timeout")
    if raw is None:
        return default
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds <= most:  # also refuses NaN
        raise _invalid("timeout", f"timeout must be a number of seconds from 0 to {most:g}")
    return seconds


def _stopping(request: Request) -> Problem:
    """A watch while the service stops: 503 on a connection that closes, so that a watcher backs off
    and retries elsewhere instead of polling again at once and holding the graceful drain open."""
    stream = getattr(request, "stream", None)
    if stream is not None and hasattr(stream, "keep_alive"):
        stream.keep_alive = False
    return Problem(503, "the config service is stopping; watch again", slug="service-stopping",
                   headers={"Retry-After": "1"})


def _watched(request: Request) -> list[RegisteredKey]:
    raw = request.args.get("keys")
    if not raw:
        return list(REGISTRY.values())
    names = list(dict.fromkeys(name.strip() for name in raw.split(",") if name.strip()))
    return [registered(name) for name in names]


def _with_etag(entry: Entry) -> HTTPResponse:
    return json(entry.view(), headers={"ETag": entry.etag})


# --- the routes ------------------------------------------------------------------------------------


def config_blueprint() -> Blueprint:
    bp = Blueprint("config", url_prefix="/api/v1/config")

    @bp.get("/")
    @requires(CONFIG_READ)
    @openapi.response(200, {"application/json": KeyPage})
    @openapi.summary("Every registered key with its schema, default and effective value (?namespace=)")
    async def list_keys(request: Request) -> HTTPResponse:
        namespace = request.args.get("namespace")
        keys = [key for key in REGISTRY.values() if namespace in (None, key.namespace)]
        async with request.app.ctx.store.relational.read() as conn:
            entries = await store.effective_values(conn, keys, _reading_as(request))
        items = [{**key.view(), "effective": entry.view()} for key, entry in zip(keys, entries, strict=True)]
        return json({"items": items, "total": len(items), "next_cursor": None})

    @bp.get("/watch")
    @requires(CONFIG_READ)
    @openapi.response(200, {"application/json": WatchBatch})
    @openapi.summary("Long poll: changes after ?since= to ?keys= (all when absent), waiting up to ?timeout= "
                     "seconds (25, at most 55) before 204; Accept: text/event-stream streams them instead")
    async def watch(request: Request) -> HTTPResponse | None:
        if EVENT_STREAM in request.headers.get("accept", ""):
            return await _stream(request)
        keys, org = _watched(request), _reading_as(request)
        since = _cursor(request.args.get("since"), "since")
        most = min(WATCH_TIMEOUT_MAX, max(0.0, request.app.ctx.settings.request_timeout - 5.0))
        timeout = _seconds(request, min(WATCH_TIMEOUT, most), most)
        assert timeout is not None
        batch = await request.app.ctx.feed.next_batch(_reader(request, keys, org), _interest(keys, org), since,
                                                      timeout)
        if not batch.items and request.app.ctx.feed.closed:
            raise _stopping(request)
        if not batch.items:
            return empty()
        return json(batch.view())

    @bp.get("/watch/stream")
    @requires(CONFIG_READ)
    @openapi.summary("Server-sent events: one `change` event per changed value (ids are cursors; "
                     "Last-Event-ID resumes); ?timeout= ends the stream after that many seconds")
    async def watch_stream(request: Request) -> None:
        await _stream(request)

    @bp.get("/<namespace:str>/<name:str>")
    @requires(CONFIG_READ)
    @openapi.response(200, {"application/json": EffectiveValue})
    @openapi.summary("The effective value: the org's override, else the service-wide value, else the default")
    async def read_value(request: Request, namespace: str, name: str) -> HTTPResponse:
        key = registered(f"{namespace}/{name}")
        async with request.app.ctx.store.relational.read() as conn:
            return _with_etag(await store.effective(conn, key, _reading_as(request)))

    @bp.put("/<namespace:str>/<name:str>")
    @requires(CONFIG_WRITE)
    @openapi.body({"application/json": ValueWrite})
    @openapi.response(200, {"application/json": EffectiveValue})
    @openapi.summary("Set the org's value, or with ?scope=global the service-wide one (If-Match optional)")
    async def write_value(request: Request, namespace: str, name: str) -> HTTPResponse:
        key = registered(f"{namespace}/{name}")
        body = parse_body(request, ValueWrite)
        ctx = request.app.ctx
        entry = await store.write(ctx.store.relational, key, _writing_to(request), body.value, body.reason,
                                  caller(request), if_match(request))
        await ctx.feed.announce(ctx.store.cache, entry)
        return _with_etag(entry)

    @bp.get("/<namespace:str>/<name:str>/history")
    @requires(CONFIG_READ)
    @openapi.response(200, {"application/json": VersionPage})
    @openapi.summary("Versions, newest first: the org's and the service-wide ones (?scope= for one), "
                     "?limit=, ?cursor=")
    async def value_history(request: Request, namespace: str, name: str) -> HTTPResponse:
        key = registered(f"{namespace}/{name}")
        scopes = _history_scopes(request)
        limit = _whole(request, "limit", low=1, high=MAX_LIMIT, default=DEFAULT_LIMIT)
        before = _cursor(request.args.get("cursor"), "cursor")
        async with request.app.ctx.store.relational.read() as conn:
            return json(await store.history(conn, key, scopes, limit, before))

    @bp.get("/<namespace:str>/<name:str>/diff")
    @requires(CONFIG_READ)
    @openapi.response(200, {"application/json": VersionDiff})
    @openapi.summary("What changed between two versions of one scope (?from=&to=, ?scope=): an RFC 6902 patch")
    async def value_diff(request: Request, namespace: str, name: str) -> HTTPResponse:
        key = registered(f"{namespace}/{name}")
        scope_org = _reading_as(request) or GLOBAL
        first = _whole(request, "from", low=1, high=2**31 - 1)
        second = _whole(request, "to", low=1, high=2**31 - 1)
        async with request.app.ctx.store.relational.read() as conn:
            old = await store.version(conn, key, scope_org, first, "query.from")
            new = await store.version(conn, key, scope_org, second, "query.to")
        body = {"key": key.name, "scope": "org" if scope_org else "global", "from": store.version_view(old),
                "to": store.version_view(new), "patch": store.patch_between(old["value"], new["value"])}
        if scope_org:
            body["org_id"] = scope_org
        return json(body)

    @bp.post("/<namespace:str>/<name:str>/rollback")
    @requires(CONFIG_WRITE)
    @openapi.body({"application/json": Rollback})
    @openapi.response(200, {"application/json": EffectiveValue})
    @openapi.summary("A new version equal to an earlier one of the same scope (?scope=global: superadmin)")
    async def roll_back(request: Request, namespace: str, name: str) -> HTTPResponse:
        key = registered(f"{namespace}/{name}")
        body = parse_body(request, Rollback)
        ctx = request.app.ctx
        entry = await store.rollback(ctx.store.relational, key, _writing_to(request), body.version, body.reason,
                                     caller(request), if_match(request))
        await ctx.feed.announce(ctx.store.cache, entry)
        return _with_etag(entry)

    return bp


def _interest(keys: list[RegisteredKey], org: str | None) -> Interest:
    return Interest(frozenset(key.name for key in keys), org)


def _reader(request: Request, keys: list[RegisteredKey], org: str | None) -> Reader:
    relational = request.app.ctx.store.relational

    async def read(since: int | None) -> Batch:
        async with relational.read() as conn:
            return await store.changes(conn, keys, org, since)

    return read


async def _stream(request: Request) -> None:
    """Server-sent events until the client leaves, the service stops, or ?timeout= seconds pass."""
    keys, org = _watched(request), _reading_as(request)
    since = _cursor(request.args.get("since") or request.headers.get("last-event-id"), "since")
    lasts = _seconds(request, None, 86_400.0)
    feed, read, interest = request.app.ctx.feed, _reader(request, keys, org), _interest(keys, org)
    response = await request.respond(content_type=EVENT_STREAM,
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    await response.send("retry: 1000\n\n")
    loop = asyncio.get_running_loop()
    ends = math.inf if lasts is None else loop.time() + lasts
    while not feed.closed:
        wait = min(KEEPALIVE, ends - loop.time())
        if wait <= 0:
            break
        batch = await feed.next_batch(read, interest, since, wait)
        since = batch.cursor
        await response.send(sse_events(batch) if batch.items else ": keepalive\n\n")
    await response.eof()
