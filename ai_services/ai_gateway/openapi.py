"""The whole API in one OpenAPI 3 document: the gateway's own routes plus every upstream service's.

GET /openapi.json on the gateway answers it, and /docs (sanic-ext's Swagger UI) displays it. Each
service's own /openapi.json is fetched from one of its instances and cut down to the paths under
the service's prefixes; its components are merged in, renamed `<service>.<Name>` where another
service already uses the name for something different. A service that cannot be fetched is named
under `x-looma-unavailable` instead of failing the document.

The document is kept for FRESH_FOR seconds, or DEGRADED_FRESH_FOR when a service was missing, so
that reloading the docs does not call every service each time and a service that comes back
shows up soon.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from sanic import HTTPResponse, Request, Sanic
from sanic.response import json
from sanic_ext.extensions.openapi.builders import SpecificationBuilder

from shared.fleet import UPSTREAMS, ServiceSpec
from shared.service.auth import public

SPEC_PATH = "/openapi.json"
UNAVAILABLE = "x-looma-unavailable"
FETCH_TIMEOUT = 2.0  # seconds per service; a hanging service delays the document by this much at most
FRESH_FOR = 30.0
DEGRADED_FRESH_FOR = 3.0
CACHE_ATTRIBUTE = "openapi_cache"  # on app.ctx

COMPONENTS_REF = "#/components/"
OPERATION_KEYS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})

Document = dict[str, Any]
log = logging.getLogger("looma.gateway.openapi")


@dataclass
class SpecCache:
    """The last aggregated document and when it goes stale; one rebuild at a time."""

    fresh_for: float = FRESH_FOR
    degraded_fresh_for: float = DEGRADED_FRESH_FOR
    clock: Callable[[], float] = time.monotonic
    document: Document | None = None
    stale_at: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def fresh(self) -> Document | None:
        if self.document is not None and self.clock() < self.stale_at:
            return self.document
        return None

    def keep(self, document: Document) -> None:
        self.document = document
        self.stale_at = self.clock() + (self.degraded_fresh_for if document[UNAVAILABLE] else self.fresh_for)


def spec_cache(app: Sanic) -> SpecCache:
    cache = getattr(app.ctx, CACHE_ATTRIBUTE, None)
    if cache is None:
        cache = SpecCache()
        setattr(app.ctx, CACHE_ATTRIBUTE, cache)
    return cache


async def aggregated_spec(app: Sanic, request_id: str | None = None) -> Document:
    """The API of the gateway and of every upstream service, as one OpenAPI 3 document."""
    cache = spec_cache(app)
    if (document := cache.fresh()) is not None:
        return document
    async with cache.lock:
        if (document := cache.fresh()) is None:  # unless another request built it while this one waited
            document = await _build(app, request_id)
            cache.keep(document)
        return document


def openapi_handler() -> Callable[[Request], Awaitable[HTTPResponse]]:
    """The gateway's GET /openapi.json (BaseAIService.openapi_handler)."""

    @public
    async def aggregated_openapi_json(request: Request) -> HTTPResponse:
        return json(await aggregated_spec(request.app, str(request.id)))

    return aggregated_openapi_json


def install_docs(app: Sanic) -> None:
    """Make the gateway's /docs show the aggregated /openapi.json.

    sanic-ext's Swagger UI page loads its spec from /docs/openapi.json (the gateway's own routes
    only), but first fetches /docs/swagger-config, which it serves from SWAGGER_UI_CONFIGURATION
    at request time; Swagger UI lets that document override the page's own `url`.
    """
    config = app.config
    if not (config.OAS and config.OAS_UI_SWAGGER and config.OAS_UI_DEFAULT == "swagger"):
        raise RuntimeError("the gateway's /docs needs sanic-ext's Swagger UI: OAS, OAS_UI_SWAGGER and "
                           "OAS_UI_DEFAULT='swagger' must be set before app.extend()")
    config.SWAGGER_UI_CONFIGURATION = {
        **config.SWAGGER_UI_CONFIGURATION,
        "url": SPEC_PATH,
        "docExpansion": "list",  # the whole API expanded is too long to find anything in
        "filter": True,
    }


# --- building -------------------------------------------------------------------------------------


async def _build(app: Sanic, request_id: str | None) -> Document:
    document = SpecificationBuilder().build(app).serialize()
    document["info"] = {**document.get("info", {}), "title": "Looma API",
                        "description": "Every Looma service's API, through the AI gateway."}
    document["paths"] = {path: item for path, item in document.get("paths", {}).items() if item}
    document.setdefault("components", {})
    document.setdefault("tags", [])
    document[UNAVAILABLE] = []
    fetched = await asyncio.gather(*(_fetch(app, spec, request_id) for spec in UPSTREAMS))
    operation_ids = {op["operationId"] for _, op in _operations(document["paths"]) if "operationId" in op}
    for spec, result in zip(UPSTREAMS, fetched, strict=True):
        if isinstance(result, str):
            document[UNAVAILABLE].append({"service": spec.name, "reason": result})
            continue
        try:
            _merge(document, spec, result, operation_ids)
        except (TypeError, AttributeError, KeyError, ValueError) as error:  # a document of an unexpected shape
            log.warning("an upstream OpenAPI document could not be merged",
                        extra={"upstream": spec.name, "error": repr(error)})
            document[UNAVAILABLE].append({"service": spec.name,
                                          "reason": f"its {SPEC_PATH} could not be merged ({type(error).__name__})"})
    if not document["components"]:
        del document["components"]
    return document


async def _fetch(app: Sanic, spec: ServiceSpec, request_id: str | None) -> Document | str:
    """The service's own document, or why it could not be had (no addresses: the document is public)."""
    instance = app.ctx.registry.pick(spec.name)
    if instance is None:
        return "no healthy instance"
    session: aiohttp.ClientSession | None = app.ctx.upstream
    if session is None:
        raise RuntimeError("the upstream session is opened in before_server_start; the server has not started")
    headers = {"X-Request-ID": request_id} if request_id else {}
    try:
        async with session.get(instance.url.rstrip("/") + SPEC_PATH, headers=headers, allow_redirects=False,
                               timeout=aiohttp.ClientTimeout(total=FETCH_TIMEOUT)) as response:
            if response.status != 200:
                return f"its {SPEC_PATH} answered HTTP {response.status}"
            document = await response.json(content_type=None)
    except TimeoutError:  # before ClientError: aiohttp's own timeouts are both
        return f"no answer within {FETCH_TIMEOUT:g} s"
    except aiohttp.ClientError as error:
        return f"unreachable ({type(error).__name__})"
    except ValueError:
        return f"its {SPEC_PATH} is not valid JSON"
    if not (isinstance(document, dict) and str(document.get("openapi", "")).startswith("3.")
            and isinstance(document.get("paths"), dict)):
        return f"its {SPEC_PATH} is not an OpenAPI 3 document"
    return document


def _merge(into: Document, spec: ServiceSpec, document: Document, operation_ids: set[str]) -> None:
    """Add the service's paths under its prefixes, and the components they use, to `into`."""
    paths = {path: item for path, item in document["paths"].items()
             if isinstance(item, dict) and any(path == p or path.startswith(p + "/") for p in spec.prefixes)}
    theirs = {section: entries for section, entries in (document.get("components") or {}).items()
              if isinstance(entries, dict)}
    used = _reachable(paths, theirs)
    # Security schemes are named by security requirements, not by $ref: keep them all.
    used |= {("securitySchemes", name) for name in theirs.get("securitySchemes", {})}
    renames = _renames(into["components"], theirs, used, spec.name)
    components = [(section, renames.get((section, name), name), _rewrite(theirs[section][name], renames))
                  for section, name in sorted(used)]

    security = document.get("security")
    kept: dict[str, Any] = {}
    new_ids: set[str] = set()
    tags_used: set[str] = set()
    for path, item in paths.items():
        kept[path] = item = _rewrite(item, renames)
        for _, operation in _operations({path: item}):
            if not operation.get("tags"):
                operation["tags"] = [spec.name]
            tags_used.update(operation["tags"])
            if security is not None and "security" not in operation:
                operation["security"] = _rewrite(security, {})  # the document-wide requirement, where it applied
            if (operation_id := operation.get("operationId")) is not None:
                if operation_id in operation_ids or operation_id in new_ids:
                    operation["operationId"] = operation_id = f"{spec.name}.{operation_id}"
                new_ids.add(operation_id)
    known = {tag["name"] for tag in into["tags"]}
    declared = {tag.get("name"): tag for tag in document.get("tags") or [] if isinstance(tag, dict)}
    tags = [declared.get(name) or ({"name": name, "description": spec.title} if name == spec.name else {"name": name})
            for name in sorted(tags_used - known)]

    # Nothing above changed `into`: a document that fails to merge leaves no half of itself behind.
    for section, name, value in components:
        into["components"].setdefault(section, {}).setdefault(name, value)
    into["paths"].update(kept)
    into["tags"].extend(tags)
    operation_ids |= new_ids


def _operations(paths: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for item in paths.values():
        for method, operation in item.items():
            if method in OPERATION_KEYS and isinstance(operation, dict):
                yield method, operation


# --- components and their references --------------------------------------------------------------

Key = tuple[str, str]  # (section, name): ("schemas", "Talent")


def _component(ref: str) -> tuple[Key, str] | None:
    """("schemas", "Talent") and the rest of the pointer, for "#/components/schemas/Talent[/...]"."""
    if not ref.startswith(COMPONENTS_REF):
        return None
    section, _, rest = ref[len(COMPONENTS_REF):].partition("/")
    name, slash, deeper = rest.partition("/")
    return ((section, name), slash + deeper) if name else None


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            elif key == "mapping" and isinstance(value, dict):  # discriminator mappings name schemas too
                yield from (v for v in value.values() if isinstance(v, str))
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _reachable(paths: dict[str, Any], components: dict[str, dict[str, Any]]) -> set[Key]:
    """The components `paths` refer to, directly or through other components."""
    seen: set[Key] = set()
    pending = list(_refs(paths))
    while pending:
        found = _component(pending.pop())
        if found is None or found[0] in seen:
            continue
        section, name = key = found[0]
        if name in components.get(section, {}):
            seen.add(key)
            pending.extend(_refs(components[section][name]))
    return seen


def _renames(ours: dict[str, dict[str, Any]], theirs: dict[str, dict[str, Any]], used: set[Key],
             service: str) -> dict[Key, str]:
    """New names for their components that differ from ours under the same name.

    Equal means equal once their references are renamed: a schema identical in text but pointing
    at a renamed one is itself different. So renaming runs until nothing more changes.
    """
    renames: dict[Key, str] = {}
    changed = True
    while changed:
        changed = False
        for key in sorted(used - renames.keys()):
            section, name = key
            present = ours.get(section, {}).get(name)
            if present is not None and present != _rewrite(theirs[section][name], renames):
                taken = ours.get(section, {}).keys() | theirs[section].keys() | {
                    new for (s, _), new in renames.items() if s == section}
                renames[key] = _free_name(f"{service}.{name}", taken)
                changed = True
    return renames


def _free_name(wanted: str, taken: set[str]) -> str:
    name, n = wanted, 2
    while name in taken:
        name, n = f"{wanted}.{n}", n + 1
    return name


def _rewrite(node: Any, renames: dict[Key, str]) -> Any:
    """A copy of `node` with its references to renamed components pointing at the new names."""
    if isinstance(node, dict):
        rewritten: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                rewritten[key] = _renamed(value, renames)
            elif key == "mapping" and isinstance(value, dict):
                rewritten[key] = {k: _renamed(v, renames) if isinstance(v, str) else v for k, v in value.items()}
            else:
                rewritten[key] = _rewrite(value, renames)
        return rewritten
    if isinstance(node, list):
        return [_rewrite(value, renames) for value in node]
    return node


def _renamed(ref: str, renames: dict[Key, str]) -> str:
    found = _component(ref)
    if found is None or found[0] not in renames:
        return ref
    (section, _), rest = found
    return f"{COMPONENTS_REF}{section}/{renames[found[0]]}{rest}"
