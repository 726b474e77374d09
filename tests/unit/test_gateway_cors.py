"""CORS at the gateway: preflights answered at the edge, headers on every answer to an allowed origin.

The gateway runs in sanic-testing's ASGI client with a real aiohttp upstream on loopback standing
in for the CRM, registered through the registry API.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sanic import Sanic
from sanic_testing.testing import SanicASGITestClient
from sanic_testing.testing import TestingResponse as SanicResponse  # aliased: pytest would collect "Test*"

from ai_services.ai_gateway.app import GatewayService
from ai_services.ai_gateway.cors import ALLOW_METHODS, EXPOSE_HEADERS, install_cors
from shared.config import LoomaSettings
from shared.fleet import instance_id
from shared.service import LoomaApp
from tests.tokens import AuthorizedClient, TestIssuer, bearer

FRONTEND = "https://app.looma.example"
DEV_FRONTEND = "http://localhost:5173"
STRANGER = "https://elsewhere.example"
ISSUER = TestIssuer()
OPERATOR = ISSUER.service_token(["registry:write"])
RECRUITER = bearer(ISSUER.token(role="recruiter"))


class CorsGateway(GatewayService):
    """The gateway with CORS for the origins in its settings, wired as the fleet's gateway wires it."""

    def create_app(self) -> LoomaApp:  # type: ignore[override]
        app = super().create_app()
        install_cors(app, self.settings.gateway_cors_origins)
        return app


def gateway(tmp_path: Path, **settings: Any) -> LoomaApp:
    # Explicit Nones so a developer's LOOMA_* environment cannot point the test at real servers.
    app = CorsGateway(LoomaSettings(_env_file=None, data_dir=tmp_path, env="test",  # type: ignore[call-arg]
                                    database_url=None, redis_url=None, gateway_url=None, **settings)).create_app()
    ISSUER.install(app)
    return app


@pytest.fixture
def app(tmp_path: Path) -> LoomaApp:
    return gateway(tmp_path, gateway_cors_origins=[FRONTEND, DEV_FRONTEND])


@pytest.fixture
def client(app: LoomaApp) -> SanicASGITestClient:
    return app.asgi_client


@pytest.fixture
async def crm_received(client: SanicASGITestClient) -> AsyncIterator[list[str]]:
    """A CRM instance that answers every API call with an ETag and Vary; yields the "METHOD path"s it received."""
    received: list[str] = []

    async def answer(request: web.Request) -> web.Response:
        if request.path.startswith("/api/"):  # not the gateway's own active checks of /ready
            received.append(f"{request.method} {request.path}")
        return web.json_response({"id": "t-1"}, headers={"ETag": '"3"', "Vary": "Accept-Encoding"})

    application = web.Application()
    application.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(application, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    url = f"http://{host}:{port}"
    _, response = await AuthorizedClient(client, OPERATOR).post(
        "/api/v1/registry/instances", json={"service": "crm", "instance_id": instance_id("crm", url), "url": url})
    assert response.status == 201, response.text
    try:
        yield received
    finally:
        await runner.cleanup()


def preflight(origin: str = FRONTEND, method: str = "PATCH", headers: str = "") -> dict[str, str]:
    asked = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        asked["Access-Control-Request-Headers"] = headers
    return asked


def vary(response: SanicResponse) -> list[str]:
    return [v.strip() for value in response.headers.get_list("vary") for v in value.split(",")]


def cors_headers(response: SanicResponse) -> dict[str, str]:
    return {k.lower(): v for k, v in response.headers.items() if k.lower().startswith("access-control-")}


def assert_cors_answer(response: SanicResponse) -> None:
    """What every answer to the allowed frontend carries, whatever its status."""
    assert response.headers["access-control-allow-origin"] == FRONTEND
    exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
    assert exposed == {h.lower() for h in EXPOSE_HEADERS}
    assert "Origin" in vary(response)
    assert "access-control-allow-credentials" not in response.headers


# --- preflights -------------------------------------------------------------------------------------


async def test_a_preflight_from_the_frontend_is_answered_by_the_gateway(client: SanicASGITestClient,
                                                                        crm_received: list[str]) -> None:
    _, response = await client.options("/api/v1/talents/t-1", headers=preflight(
        headers="Authorization, Content-Type, If-Match, X-Not-Allowed"))

    assert response.status == 204, response.text
    assert response.content == b""
    assert response.headers["access-control-allow-origin"] == FRONTEND  # the origin itself, never "*"
    methods = {m.strip() for m in response.headers["access-control-allow-methods"].split(",")}
    assert methods == set(ALLOW_METHODS)
    allowed = {h.strip() for h in response.headers["access-control-allow-headers"].split(",")}
    assert allowed == {"authorization", "content-type", "if-match"}
    assert response.headers["access-control-max-age"] == "600"
    assert "Origin" in vary(response)
    assert response.headers["x-request-id"]
    _, response = await client.options("/api/v1/talents/t-1", headers=preflight(origin=DEV_FRONTEND))
    assert response.status == 204
    assert response.headers["access-control-allow-origin"] == DEV_FRONTEND
    assert "access-control-allow-headers" not in response.headers  # none asked for
    assert crm_received == []  # answered at the edge, not proxied


async def test_every_path_answers_a_preflight_so_the_real_request_can_read_its_answer(
        client: SanicASGITestClient, subtests: pytest.Subtests) -> None:
    # The gateway's own routes, a route no service owns (its 404 comes on the real request), no route at all.
    for path in ("/api/v1/services", "/api/v1/registry/instances", "/api/v1/no-such-service/1", "/nowhere"):
        with subtests.test(msg=path):
            _, response = await client.options(path, headers=preflight(method="POST"))
            assert response.status == 204, response.text
            assert response.headers["access-control-allow-origin"] == FRONTEND


async def test_a_preflight_from_another_origin_answers_403_naming_it(client: SanicASGITestClient,
                                                                      crm_received: list[str]) -> None:
    _, response = await client.options("/api/v1/talents/t-1", headers=preflight(origin=STRANGER))

    assert response.status == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json
    assert body["type"] == "urn:looma:problem:origin-not-allowed"
    assert body["origin"] == STRANGER
    assert STRANGER in body["detail"]
    assert cors_headers(response) == {}
    assert crm_received == []


async def test_an_options_request_that_is_not_a_preflight_goes_upstream(client: SanicASGITestClient,
                                                                        crm_received: list[str]) -> None:
    _, response = await client.options("/api/v1/talents/t-1", headers={"Origin": FRONTEND, **RECRUITER})
    assert response.status == 200, response.text
    assert crm_received == ["OPTIONS /api/v1/talents/t-1"]


# --- actual requests ------------------------------------------------------------------------------


async def test_a_proxied_answer_to_the_frontend_carries_the_cors_headers(client: SanicASGITestClient,
                                                                         crm_received: list[str]) -> None:
    _, response = await client.get("/api/v1/talents/t-1", headers={"Origin": FRONTEND, **RECRUITER})

    assert response.status == 200, response.text
    assert response.json == {"id": "t-1"}
    assert_cors_answer(response)
    assert response.headers["etag"] == '"3"'
    assert vary(response) == ["Accept-Encoding", "Origin"]  # the upstream's Vary kept
    assert crm_received == ["GET /api/v1/talents/t-1"]


async def test_problem_answers_carry_the_cors_headers_too(client: SanicASGITestClient, crm_received: list[str],
                                                          subtests: pytest.Subtests) -> None:
    origin = {"Origin": FRONTEND}
    cases = [
        ("no service owns the route", "/api/v1/no-such-service/1", {**origin, **RECRUITER}, 404),
        ("no token at the edge", "/api/v1/talents/t-1", origin, 401),
        ("a bad token", "/api/v1/talents/t-1", {**origin, "Authorization": "Bearer not.a.jwt"}, 401),
        ("the gateway's own route without a token", "/api/v1/services", origin, 401),
        ("no instance of the service", "/api/v1/resumes/r-1", {**origin, **RECRUITER}, 503),
    ]
    for name, path, headers, status in cases:
        with subtests.test(msg=name):
            _, response = await client.get(path, headers=headers)
            assert response.status == status, response.text
            assert response.headers["content-type"] == "application/problem+json"
            assert_cors_answer(response)
    assert crm_received == []


async def test_a_rate_limited_answer_lets_the_frontend_read_retry_after(tmp_path: Path) -> None:
    app = gateway(tmp_path, gateway_cors_origins=[FRONTEND], gateway_rate_per_user=1)
    headers = {"Origin": FRONTEND, **RECRUITER}
    # No instance is needed: the limit is checked before the upstream is chosen.
    _, first = await app.asgi_client.get("/api/v1/talents/t-1", headers=headers)
    assert first.status == 503, first.text
    _, response = await app.asgi_client.get("/api/v1/talents/t-1", headers=headers)

    assert response.status == 429, response.text
    assert_cors_answer(response)
    assert int(response.headers["retry-after"]) > 0
    assert "retry-after" in response.headers["access-control-expose-headers"].lower()


async def test_another_origin_is_answered_without_cors_headers(client: SanicASGITestClient,
                                                               crm_received: list[str]) -> None:
    _, response = await client.get("/api/v1/talents/t-1", headers={"Origin": STRANGER, **RECRUITER})
    assert response.status == 200  # the browser, not the gateway, keeps the answer from the page
    assert cors_headers(response) == {}
    assert "Origin" in vary(response)


# --- configuration --------------------------------------------------------------------------------


async def test_without_origins_there_is_no_cors_at_all(tmp_path: Path) -> None:
    app = gateway(tmp_path)  # LOOMA_GATEWAY_CORS_ORIGINS left empty
    assert app.ctx.settings.gateway_cors_origins == []
    _, response = await app.asgi_client.get("/api/v1/services", headers={"Origin": FRONTEND})
    assert response.status == 401
    assert cors_headers(response) == {}
    assert "Origin" not in vary(response)
    # A preflight is an ordinary OPTIONS request: the proxy takes it, and the edge wants a token.
    _, response = await app.asgi_client.options("/api/v1/talents/t-1", headers=preflight())
    assert response.status == 401
    assert cors_headers(response) == {}


@pytest.mark.parametrize("origin", ["*", "https://app.looma.example/", "app.looma.example",
                                    "https://app.looma.example/path", "null"])
def test_an_origin_must_be_scheme_host_and_port(origin: str) -> None:
    with pytest.raises(ValueError, match="scheme://host"):
        install_cors(Sanic("cors-origins"), [FRONTEND, origin])
