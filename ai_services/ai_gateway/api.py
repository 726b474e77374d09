"""The gateway's HTTP surface: its registry API, the service listing and the proxy catch-all."""

from __future__ import annotations

from sanic import Blueprint, HTTPResponse, Request
from sanic.response import empty, json
from sanic_ext import openapi

from ai_services.ai_gateway.batch import BATCH_PATH, BatchRequest, run_batch
from ai_services.ai_gateway.models import Heartbeat, InstanceRegistration, ServiceList
from ai_services.ai_gateway.pipeline import Pipeline
from ai_services.ai_gateway.proxy import outgoing, requested_deadline
from ai_services.ai_gateway.registry import Registry
from ai_services.ai_gateway.roster import Roster
from shared.service import Problem, parse_body
from shared.service.auth import authenticated, caller, public, requires
from shared.service.auth.jwks import JWKS_PATH
from shared.service.auth.permissions import MONITOR_READ, REGISTRY_WRITE

PROXY_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def _registry(request: Request) -> Registry:
    return request.app.ctx.registry


def registry_blueprint() -> Blueprint:
    bp = Blueprint("registry", url_prefix="/api/v1")

    @bp.post("/registry/instances")
    @requires(REGISTRY_WRITE)
    @openapi.body({"application/json": InstanceRegistration})
    @openapi.summary("Register (or refresh) an upstream instance")
    async def register(request: Request) -> HTTPResponse:
        body = parse_body(request, InstanceRegistration)
        instance, created = _registry(request).register(
            body.service, body.instance_id, str(body.url), body.prefixes, body.ttl, body.ready, body.weight
        )
        await _roster(request).registered(instance)
        return json({"instance_id": instance.instance_id, "service": instance.service, "url": instance.url},
                    status=201 if created else 200)

    @bp.put("/registry/instances/<instance_id:str>/heartbeat")
    @requires(REGISTRY_WRITE)
    @openapi.summary("Heartbeat of a registered instance; 404 means register again")
    async def heartbeat(request: Request, instance_id: str) -> HTTPResponse:
        body = parse_body(request, Heartbeat) if request.body else Heartbeat()
        registry = _registry(request)
        if registry.get(instance_id) is None:
            await _roster(request).sync()  # it may have registered at another gateway
        if not registry.heartbeat(instance_id, body.ready):
            raise Problem(404, f"no registered instance {instance_id!r}; register first", slug="unknown-instance")
        instance = registry.get(instance_id)
        assert instance is not None
        await _roster(request).beat(instance)
        return empty()

    @bp.delete("/registry/instances/<instance_id:str>")
    @requires(REGISTRY_WRITE)
    @openapi.summary("Deregister an instance (it is shutting down)")
    async def deregister(request: Request, instance_id: str) -> HTTPResponse:
        if not _registry(request).deregister(instance_id):
            raise Problem(404, f"no registered instance {instance_id!r}", slug="unknown-instance")
        await _roster(request).deregistered(instance_id)
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
        return await _direct(request, service, f"/{probe}")

    return bp


def _roster(request: Request) -> Roster:
    return request.app.ctx.roster


def _pipeline(request: Request) -> Pipeline:
    return request.app.ctx.pipeline


def proxy_blueprint() -> Blueprint:
    bp = Blueprint("proxy")

    @bp.post(BATCH_PATH)
    @authenticated
    @openapi.body({"application/json": BatchRequest})
    @openapi.summary("Several API calls in one: each routed, limited and answered on its own")
    async def batch(request: Request) -> HTTPResponse:
        if len(request.body or b"") > request.app.ctx.settings.gateway_batch_max_bytes:
            raise Problem(413, f"a batch body holds at most {request.app.ctx.settings.gateway_batch_max_bytes} bytes",
                          slug="batch-too-large")
        return await run_batch(request, _pipeline(request), parse_body(request, BatchRequest), caller(request))

    @bp.route("/api/v1/<path:path>", methods=PROXY_METHODS, stream=False)
    @public  # the pipeline verifies the token itself, after routing, as declared in settings
    @openapi.exclude()
    async def proxy(request: Request, path: str) -> HTTPResponse | None:
        pipeline = _pipeline(request)
        try:
            prefix, service = pipeline.route(request.path)  # an unknown route is a 404 whoever asks
        except Problem as problem:
            pipeline.count_refusal("<unknown>", "<none>", problem)
            raise
        try:
            principal = await pipeline.caller(request, request.path)
        except Problem as problem:
            pipeline.count_refusal(prefix, service, problem)
            raise
        deadline = requested_deadline(request, request.app.ctx.settings.gateway_upstream_timeout)
        return await pipeline.run(request, outgoing(request, request.app.ctx.forwarding_secret), principal,
                                  prefix, service, deadline, stream=True)

    @bp.get(JWKS_PATH)
    @public
    @openapi.summary("The auth service's JWKS, through the gateway")
    async def jwks(request: Request) -> HTTPResponse | None:
        return await _direct(request, "auth", request.path)

    return bp


async def _direct(request: Request, service: str, path: str) -> HTTPResponse:
    """One call to `service` outside the API's routes and limits (probes, keys)."""
    call = outgoing(request, request.app.ctx.forwarding_secret)
    call.path = path
    deadline = requested_deadline(request, request.app.ctx.settings.gateway_try_timeout)
    response = await _pipeline(request).upstreams.send(service, call, deadline)
    assert response is not None
    return response
