"""The gateway's aggregated OpenAPI document and its docs UI, against real upstreams on loopback.

Each fake service is an aiohttp.web server on a free 127.0.0.1 port serving an /openapi.json of
its own, registered with the gateway through its registry API as the fleet's services do.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sanic import HTTPResponse
from sanic_testing.testing import SanicASGITestClient

from ai_services.ai_gateway import openapi
from ai_services.ai_gateway.app import GatewayService
from ai_services.ai_gateway.openapi import SpecCache, aggregated_spec, install_docs, openapi_handler
from shared.config import LoomaSettings
from shared.fleet import UPSTREAMS, instance_id
from shared.service import LoomaApp
from tests.clock import FakeClock
from tests.tokens import AuthorizedClient, TestIssuer

ISSUER = TestIssuer()
OPERATOR = ISSUER.service_token(["registry:write"])


class DocumentedGateway(GatewayService):
    """The gateway with the aggregated document and docs UI, wired as the fleet's gateway wires them."""

    def openapi_handler(self) -> Callable[..., Awaitable[HTTPResponse]]:
        return openapi_handler()

    def create_app(self) -> LoomaApp:  # type: ignore[override]
        app = super().create_app()
        install_docs(app)
        return app


@pytest.fixture
def settings(tmp_path: Path) -> LoomaSettings:
    # Explicit Nones so a developer's LOOMA_* environment cannot point the test at real servers.
    return LoomaSettings(_env_file=None, data_dir=tmp_path, env="test",  # type: ignore[call-arg]
                         database_url=None, redis_url=None, gateway_url=None)


@pytest.fixture
def app(settings: LoomaSettings) -> LoomaApp:
    app = DocumentedGateway(settings).create_app()
    ISSUER.install(app)
    return app


@pytest.fixture
def client(app: LoomaApp) -> SanicASGITestClient:
    return app.asgi_client


@pytest.fixture
def clock(app: LoomaApp) -> FakeClock:
    """The document cache's clock, moved by the test."""
    clock = FakeClock()
    app.ctx.openapi_cache = SpecCache(clock=clock)  # type: ignore[attr-defined]
    return clock


# --- fake services ----------------------------------------------------------------------------------


@dataclass
class SpecServer:
    url: str
    answer: Any  # a dict is served as JSON, bytes as they are
    status: int = 200
    hang: bool = False
    hits: int = 0
    release: asyncio.Event = field(default_factory=asyncio.Event)


Serve = Callable[..., Awaitable[SpecServer]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Starts a fake service answering `answer` at /openapi.json (and 200 at /ready, for the gateway's checks)."""
    runners: list[web.AppRunner] = []
    servers: list[SpecServer] = []

    async def start(answer: Any, status: int = 200, hang: bool = False) -> SpecServer:
        server = SpecServer("", answer, status, hang)

        async def spec(request: web.Request) -> web.Response:
            server.hits += 1
            if server.hang:
                await server.release.wait()
            if isinstance(server.answer, bytes):
                return web.Response(body=server.answer, status=server.status, content_type="application/json")
            return web.json_response(server.answer, status=server.status)

        async def ready(request: web.Request) -> web.Response:
            return web.json_response({"ready": True})

        application = web.Application()
        application.router.add_get("/openapi.json", spec)
        application.router.add_get("/ready", ready)
        runner = web.AppRunner(application, access_log=None, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        server.url = f"http://{host}:{port}"
        runners.append(runner)
        servers.append(server)
        return server

    try:
        yield start
    finally:
        for server in servers:
            server.release.set()
        for runner in runners:
            await runner.cleanup()


async def register(client: SanicASGITestClient, service: str, url: str) -> None:
    body = {"service": service, "instance_id": instance_id(service, url), "url": url}
    _, response = await AuthorizedClient(client, OPERATOR).post("/api/v1/registry/instances", json=body)
    assert response.status == 201, response.text


async def closing_server() -> tuple[str, asyncio.AbstractServer]:
    """A service that answers /ready and drops the connection on anything else."""
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = await reader.readline()
        if b" /ready " in line:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return f"http://127.0.0.1:{port}", server


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ok(schema_ref: str) -> dict[str, Any]:
    return {"description": "OK", "content": {"application/json": {"schema": {"$ref": schema_ref}}}}


ERROR_REF, ENVELOPE_REF, PAGE_REF = ("#/components/schemas/Error", "#/components/schemas/Envelope",
                                     "#/components/schemas/Page")
PAGE = {"type": "object", "properties": {"next_cursor": {"type": "string", "nullable": True}}}
BEARER = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}

RESUME = {
    "openapi": "3.0.3",
    "info": {"title": "Looma Resume service", "version": "0.1.0"},
    "paths": {
        "/health": {"get": {"summary": "the resume service is alive",
                            "responses": {"200": ok("#/components/schemas/Alive")}}},
        "/metrics": {"get": {"summary": "resume metrics", "responses": {"200": {"description": "OK"}}}},
        "/docs/openapi.json": {"get": {"responses": {"200": {"description": "OK"}}}},
        "/api/v1/resumes": {"post": {"operationId": "post~api.parse", "summary": "Parse a resume",
                                     "responses": {"200": ok(ENVELOPE_REF), "422": ok(ERROR_REF)}}},
        "/api/v1/resumes/{id}": {
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": {"operationId": "get~api.read", "tags": ["resumes"], "responses": {"200": ok(PAGE_REF)}},
        },
        "/api/v1/resumes-archive": {"get": {"responses": {"200": {"description": "not under /api/v1/resumes/"}}}},
        "/api/v1/talents": {"get": {"responses": {"200": {"description": "the CRM's prefix, not resume's"}}}},
    },
    "components": {
        "schemas": {
            "Error": {"type": "object", "properties": {"detail": {"type": "string"}}},
            "Envelope": {"type": "object", "properties": {"error": {"$ref": ERROR_REF}}},
            "Page": PAGE,
            "Alive": {"type": "object", "properties": {"status": {"type": "string"}}},
        },
        "securitySchemes": {"bearer": BEARER},
    },
    "security": [{"bearer": []}],
    "tags": [{"name": "resumes", "description": "Resumes parsed into talents"}],
}

MATCHING = {
    "openapi": "3.0.3",
    "info": {"title": "Looma Matching service", "version": "0.1.0"},
    "paths": {
        "/ready": {"get": {"summary": "matching is ready", "responses": {"200": {"description": "OK"}}}},
        "/api/v1/matching/jobs/{id}": {"get": {
            "operationId": "get~api.read",  # the same id as one of resume's
            "responses": {"200": ok(ENVELOPE_REF), "404": ok(ERROR_REF), "206": ok(PAGE_REF)},
        }},
    },
    "components": {
        "schemas": {
            # Another shape under the same name as resume's Error.
            "Error": {"type": "object", "properties": {"message": {"type": "string"}, "code": {"type": "integer"}}},
            # The same text as resume's Envelope, but its Error is matching's: a different schema.
            "Envelope": {"type": "object", "properties": {"error": {"$ref": ERROR_REF}}},
            "Page": PAGE,  # identical: shared
        },
        "securitySchemes": {"bearer": BEARER},
    },
}


def refs_in(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in refs_in(v)]
    if isinstance(node, list):
        return [r for v in node for r in refs_in(v)]
    return []


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        assert part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def unavailable(document: dict[str, Any]) -> dict[str, str]:
    return {entry["service"]: entry["reason"] for entry in document["x-looma-unavailable"]}


# --- the document -----------------------------------------------------------------------------------


async def test_the_document_holds_the_gateways_routes_and_each_services_own_paths(
        client: SanicASGITestClient, serve: Serve) -> None:
    await register(client, "resume", (await serve(RESUME)).url)
    await register(client, "matching", (await serve(MATCHING)).url)

    _, response = await client.get("/openapi.json")  # no token: the API's description is public

    assert response.status == 200, response.text
    document = response.json
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "Looma API"
    paths = document["paths"]
    assert {"/api/v1/registry/instances", "/api/v1/services"} <= paths.keys()  # the gateway's own
    assert {"/api/v1/resumes", "/api/v1/resumes/{id}", "/api/v1/matching/jobs/{id}"} <= paths.keys()
    for foreign in ("/api/v1/resumes-archive", "/api/v1/talents", "/docs/openapi.json"):
        assert foreign not in paths
    # /health, /ready and /metrics are the gateway's, not the services'.
    assert paths["/health"]["get"].get("summary") != "the resume service is alive"
    assert paths["/ready"]["get"].get("summary") != "matching is ready"
    assert paths["/metrics"]["get"].get("summary") != "resume metrics"

    assert paths["/api/v1/resumes"]["post"]["tags"] == ["resume"]  # untagged: the service's name
    assert paths["/api/v1/resumes/{id}"]["get"]["tags"] == ["resumes"]  # its own tag kept
    assert paths["/api/v1/resumes/{id}"]["parameters"][0]["name"] == "id"
    tags = {tag["name"]: tag for tag in document["tags"]}
    assert tags["resume"]["description"] == "Resume service"
    assert tags["resumes"]["description"] == "Resumes parsed into talents"
    assert tags["matching"]["description"] == "Matching service"
    # resume's document-wide security requirement stays with resume's operations only.
    assert paths["/api/v1/resumes"]["post"]["security"] == [{"bearer": []}]
    assert "security" not in paths["/api/v1/matching/jobs/{id}"]["get"]
    assert unavailable(document).keys() == {spec.name for spec in UPSTREAMS} - {"resume", "matching"}


async def test_a_schema_name_two_services_use_differently_is_renamed_for_the_second(
        client: SanicASGITestClient, serve: Serve) -> None:
    await register(client, "resume", (await serve(RESUME)).url)
    await register(client, "matching", (await serve(MATCHING)).url)

    _, response = await client.get("/openapi.json")

    document = response.json
    schemas = document["components"]["schemas"]
    assert schemas["Error"] == RESUME["components"]["schemas"]["Error"]
    assert schemas["matching.Error"] == MATCHING["components"]["schemas"]["Error"]
    assert schemas["Envelope"] == RESUME["components"]["schemas"]["Envelope"]
    # Same text, but it pointed at matching's Error: renamed too, and pointing at the renamed Error.
    assert schemas["matching.Envelope"]["properties"]["error"] == {"$ref": "#/components/schemas/matching.Error"}
    assert schemas["Page"] == PAGE
    assert "matching.Page" not in schemas  # identical schemas merge
    assert "Alive" not in schemas  # only resume's /health used it, and that path is not kept
    assert document["components"]["securitySchemes"] == {"bearer": BEARER}

    matching = document["paths"]["/api/v1/matching/jobs/{id}"]["get"]["responses"]
    assert refs_in(matching) == ["#/components/schemas/matching.Envelope", "#/components/schemas/matching.Error",
                                 PAGE_REF]
    resume = document["paths"]["/api/v1/resumes"]["post"]["responses"]
    assert refs_in(resume) == [ENVELOPE_REF, ERROR_REF]
    for ref in refs_in(document):
        resolve(document, ref)

    operation_ids = [op["operationId"] for item in document["paths"].values() for op in item.values()
                     if isinstance(op, dict) and "operationId" in op]
    assert len(operation_ids) == len(set(operation_ids))
    assert document["paths"]["/api/v1/resumes/{id}"]["get"]["operationId"] == "get~api.read"
    assert document["paths"]["/api/v1/matching/jobs/{id}"]["get"]["operationId"] == "matching.get~api.read"


async def test_services_that_cannot_be_fetched_are_listed_and_the_rest_still_answers(
        client: SanicASGITestClient, serve: Serve, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(openapi, "FETCH_TIMEOUT", 0.3)
    await register(client, "resume", (await serve(RESUME)).url)
    await register(client, "chat", f"http://127.0.0.1:{closed_port()}")  # down
    dropping, dropping_server = await closing_server()
    await register(client, "matching", dropping)
    await register(client, "vector", (await serve(b'{"openapi": "3.0.3", "paths": ')).url)
    await register(client, "config", (await serve({"detail": "boom"}, status=500)).url)
    await register(client, "monitor", (await serve({"swagger": "2.0", "paths": {}})).url)
    hanging = await serve(RESUME, hang=True)
    await register(client, "auth", hanging.url)

    try:
        _, response = await client.get("/openapi.json")
    finally:
        dropping_server.close()

    assert response.status == 200, response.text
    document = response.json
    assert "/api/v1/resumes" in document["paths"]
    reasons = unavailable(document)
    assert reasons.keys() == {spec.name for spec in UPSTREAMS} - {"resume"}
    # The gateway's own active check may have found chat's port closed before the document was built.
    assert reasons["chat"].startswith(("unreachable", "no healthy instance"))
    assert reasons["matching"] == "unreachable (ServerDisconnectedError)"
    assert reasons["vector"] == "its /openapi.json is not valid JSON"
    assert reasons["config"] == "its /openapi.json answered HTTP 500"
    assert reasons["monitor"] == "its /openapi.json is not an OpenAPI 3 document"
    assert reasons["auth"] == "no answer within 0.3 s"
    assert reasons["crm"] == "no healthy instance"
    assert hanging.hits == 1
    assert "127.0.0.1" not in json.dumps(document["x-looma-unavailable"])  # a public document names no address


async def test_a_document_of_an_unexpected_shape_is_listed_and_leaves_nothing_behind(
        client: SanicASGITestClient, serve: Serve) -> None:
    odd = {
        "openapi": "3.0.3",
        "info": {"title": "odd", "version": "1"},
        "paths": {"/api/v1/matching/jobs": {"get": {
            "tags": [{"name": "not a string"}],
            "responses": {"200": ok("#/components/schemas/Match")},
        }}},
        "components": {"schemas": {"Match": {"type": "object"}}},
    }
    await register(client, "resume", (await serve(RESUME)).url)
    await register(client, "matching", (await serve(odd)).url)

    _, response = await client.get("/openapi.json")

    assert response.status == 200, response.text
    document = response.json
    assert unavailable(document)["matching"] == "its /openapi.json could not be merged (TypeError)"
    assert not any(path.startswith("/api/v1/matching") for path in document["paths"])
    assert "Match" not in document["components"]["schemas"]
    assert "/api/v1/resumes" in document["paths"]


# --- the cache ----------------------------------------------------------------------------------


def fleet_document() -> dict[str, Any]:
    """One path under every service's first prefix: each service keeps only its own."""
    return {"openapi": "3.0.3", "info": {"title": "fleet", "version": "1"},
            "paths": {spec.prefixes[0]: {"get": {"responses": {"200": {"description": "OK"}}}} for spec in UPSTREAMS}}


async def test_a_complete_document_is_kept_for_thirty_seconds(client: SanicASGITestClient, serve: Serve,
                                                              clock: FakeClock) -> None:
    fleet = await serve(fleet_document())
    for spec in UPSTREAMS:
        await register(client, spec.name, fleet.url)

    _, first = await client.get("/openapi.json")
    assert first.json["x-looma-unavailable"] == []
    assert {spec.prefixes[0] for spec in UPSTREAMS} <= first.json["paths"].keys()
    assert fleet.hits == len(UPSTREAMS)

    clock.now += 29
    _, second = await client.get("/openapi.json")
    assert second.json == first.json
    assert fleet.hits == len(UPSTREAMS)  # answered from the cache

    clock.now += 2
    await client.get("/openapi.json")
    assert fleet.hits == 2 * len(UPSTREAMS)


async def test_a_document_missing_services_is_rebuilt_within_seconds(client: SanicASGITestClient, serve: Serve,
                                                                     clock: FakeClock) -> None:
    resume = await serve(RESUME)
    await register(client, "resume", resume.url)
    _, response = await client.get("/openapi.json")
    assert "matching" in unavailable(response.json)
    assert resume.hits == 1

    await register(client, "matching", (await serve(MATCHING)).url)  # it comes up
    clock.now += 2
    _, response = await client.get("/openapi.json")
    assert "matching" in unavailable(response.json)  # still the kept document
    assert resume.hits == 1

    clock.now += 2
    _, response = await client.get("/openapi.json")
    assert resume.hits == 2
    assert "matching" not in unavailable(response.json)
    assert "/api/v1/matching/jobs/{id}" in response.json["paths"]


async def test_concurrent_requests_build_the_document_once(app: LoomaApp, client: SanicASGITestClient,
                                                           serve: Serve) -> None:
    resume = await serve(RESUME)
    await register(client, "resume", resume.url)
    async with aiohttp.ClientSession() as session:
        app.ctx.upstream = session  # type: ignore[attr-defined]  # what before_server_start opens
        documents = await asyncio.gather(*(aggregated_spec(app) for _ in range(5)))
    assert resume.hits == 1
    assert all(document is documents[0] for document in documents)


# --- the docs UI --------------------------------------------------------------------------------


async def test_the_docs_page_loads_the_aggregated_document(client: SanicASGITestClient) -> None:
    _, page = await client.get("/docs")
    assert page.status == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '"/docs/swagger-config"' in page.text  # Swagger UI reads this before choosing its spec

    _, config = await client.get("/docs/swagger-config")
    assert config.status == 200
    assert config.json["url"] == "/openapi.json"


def test_install_docs_needs_the_swagger_ui(settings: LoomaSettings) -> None:
    app = GatewayService(settings).create_app()
    app.config.OAS_UI_DEFAULT = "redoc"
    with pytest.raises(RuntimeError, match="OAS_UI_DEFAULT"):
        install_docs(app)
