"""The gateway's HTTP surface: its registry API, the service listing and the proxy catch-all."""

from __future__ import annotations

import aiohttp
from sanic import Blueprint, HTTPResponse, Request
from sanic.response import empty, json
from sanic_ext import openapi

from ai_services.ai_gateway.models import Heartbeat, InstanceRegistration, ServiceList
from ai_services.ai_gateway.proxy import forward
from ai_services.ai_gateway.registry import Instance, Registry
from shared.service import Problem, parse_body
from shared.service.auth import authenticate, public, requires
from shared.service.auth.jwks import JWKS_PATH
from shared.service.auth.permissions import MONITOR_READ, REGISTRY_WRITE

PROXY_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def _registry(request: Request) -> Registry:
    return request.app.ctx.registry


def _upstream(request: Request) -> aiohttp.ClientSession:
    return request.app.ctx.upstream


def registry_blueprint() -> Blueprint:
    bp = Blueprint("registry", url_prefix="/api/v1")

    @bp.post("/registry/instances")
    @requires(REGISTRY_WRITE)
    @openapi.body({"application/json": InstanceRegistration})
    @openapi.summary("Register (or refresh) an upstream instance")
    async def register(request: Request) -> HTTPResponse:
        body = parse_body(request, InstanceRegistration)
        instance, created = _registry(request).register(
            body.service, body.instance_id, str(body.url), body.prefixes, body.ttl, body.ready
        )
        return json({"instance_id": instance.instance_id, "service": instance.service, "url": instance.url},
                    status=201 if created else 200)

    @bp.put("/registry/instances/<instance_id:str>/heartbeat")
    @requires(REGISTRY_WRITE)
    @openapi.summary("Heartbeat of a registered instance; 404 means register again")
    async def heartbeat(request: Request, instance_id: str) -> HTTPResponse:
        body = parse_body(request, Heartbeat) if request.body else Heartbeat()
        if not _registry(request).heartbeat(instance_id, body.ready):
            raise Problem(404, f"no registered instance {instance_id!r}; register first", slug="unknown-instance")
        return empty()

    @bp.delete("/registry/instances/<instance_id:str>")
    @requires(REGISTRY_WRITE)
    @openapi.summary("Deregister an instance (it is shutting down)")
    async def deregister(request: Request, instance_id: str) -> HTTPResponse:
        if not _registry(request).deregister(instance_id):
            raise Problem(404, f"no registered instance {instance_id!r}", slug="unknown-instance")
        return empty()

    @bp.get("/services")
    @requires(MONITOR_READ)
    @openapi.summary("Every upstream service, its route prefixes and its instances' health")
    @openapi.response(200, {"application/json": ServiceList})
    async def services(request: Request) -> HTTPResponse:
        views = _registry(request).services()
        return json(ServiceList(items=views, total=len(views)).model_dump(mode="json"))

    @bp.get("/services/<service:str>/<probe:health|ready>")
    @public
    @openapi.summary("An instance's own /health or /ready, fetched through the gateway")
    async def service_probe(request: Request, service: str, probe: str) -> HTTPResponse:
        return await forward(_upstream(request), _instance_of(request, service), request, f"/{probe}")

    return bp


def _instance_of(request: Request, service: str) -> Instance:
    instance = _registry(request).pick(service)
    if instance is None:
        raise Problem(503, f"no healthy instance of {service}", slug="service-unavailable",
                      headers={"Retry-After": "2"}, service=service)
    return instance


def proxy_blueprint() -> Blueprint:
    bp = Blueprint("proxy")

    @bp.route("/api/v1/<path:path>", methods=PROXY_METHODS)
    @public  # the upstream enforces its route's permission; the gateway turns bad tokens away early
    @openapi.exclude()
    async def proxy(request: Request, path: str) -> HTTPResponse:
        # The route resolves before anything else: an unknown one is a 404 whoever asks.
        service = _registry(request).resolve(request.path)
        if service is None:
            raise Problem(404, f"no service serves {request.path}", slug="unknown-route")
        if "authorization" in request.headers:
            await authenticate(request)
        return await forward(_upstream(request), _instance_of(request, service), request)

    @bp.get(JWKS_PATH)
    @public
    @openapi.summary("The auth service's JWKS, through the gateway")
    async def jwks(request: Request) -> HTTPResponse:
        return await forward(_upstream(request), _instance_of(request, "auth"), request)

    return bp
