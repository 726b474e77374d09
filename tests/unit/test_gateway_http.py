"""The gateway over HTTP: its registry API, the service listing, and the proxy in front of a real upstream.

The gateway runs in sanic-testing's ASGI client, which fires the server listeners around every
request, so the aiohttp upstream session is opened and closed as in a real server. The upstream is
a real aiohttp.web server on a free 127.0.0.1 port in the test's own event loop.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
import pytest
from aiohttp import web
from sanic_testing.testing import SanicASGITestClient
from sanic_testing.testing import TestingResponse as SanicResponse  # aliased: pytest would collect "Test*"

from ai_services.ai_gateway.app import GatewayService
from ai_services.ai_gateway.registry import Registry
from shared.config import LoomaSettings
from shared.fleet import instance_id
from shared.service import LoomaApp
from tests.tokens import AuthorizedClient, TestIssuer

UPSTREAM_TIMEOUT = 0.5
REGISTER = "/api/v1/registry/instances"
JSON = {"content-type": "application/json"}


# --- the gateway ----------------------------------------------------------------------------------


@pytest.fixture
def settings(tmp_path: Path) -> LoomaSettings:
    # Explicit Nones so a developer's LOOMA_* environment cannot point the test at real servers.
    return LoomaSettings(_env_file=None, data_dir=tmp_path, env="test",  # type: ignore[call-arg]
                         database_url=None, redis_url=None, gateway_url=None,
                         gateway_upstream_timeout=UPSTREAM_TIMEOUT)


ISSUER = TestIssuer()
OPERATOR = ISSUER.service_token(["registry:write", "monitor:read"])


@pytest.fixture
def app(settings: LoomaSettings) -> LoomaApp:
    app = GatewayService(settings).create_app()
    ISSUER.install(app)
    return app


@pytest.fixture
def client(app: LoomaApp) -> AuthorizedClient:
    """The gateway, called with a token that may register instances and read the service list."""
    return AuthorizedClient(app.asgi_client, OPERATOR)


def registry_of(app: LoomaApp) -> Registry:
    return app.ctx.registry


def assert_problem(response: SanicResponse, status: int, slug: str | None = None) -> dict[str, Any]:
    assert response.status == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json
    assert body["status"] == status
    assert body["type"].startswith("urn:looma:problem:")
    if slug is not None:
        assert body["type"] == f"urn:looma:problem:{slug}"
    assert body["title"] and body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def registration(service: str = "crm", url: str = "http://127.0.0.1:8888", **fields: Any) -> dict[str, Any]:
    return {"service": service, "instance_id": instance_id(service, url), "url": url, **fields}


async def register(client: SanicASGITestClient, body: dict[str, Any]) -> SanicResponse:
    _, response = await client.post(REGISTER, json=body)
    return response


def closed_port() -> int:
    """A port nothing listens on: bound once to get a free one, then released."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- a real upstream ------------------------------------------------------------------------------


@dataclass
class Upstream:
    url: str
    received: list[web.Request] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    """Echoes what it received; `X-Echo-Status` picks its status; `/slow` and `/slow-body` hang until teardown."""
    state = Upstream(url="")

    async def echo(request: web.Request) -> web.StreamResponse:
        if request.path.startswith("/api/"):  # not the gateway's own active checks of /ready
            state.received.append(request)
        body = await request.read()
        if request.path.endswith("/slow"):
            await state.release.wait()
        if request.path.endswith("/slow-body"):  # the status line and part of the body, then nothing
            stream = web.StreamResponse(headers={"Content-Type": "text/plain", "Content-Length": "100"})
            await stream.prepare(request)
            await stream.write(b"partial ")
            await state.release.wait()
            return stream
        if request.path.endswith("/gzip"):
            return web.Response(body=gzip.compress("压缩的内容 compressed".encode()),
                                headers={"Content-Encoding": "gzip", "Content-Type": "text/plain; charset=utf-8"})
        payload = {
            "method": request.method,
            "path": request.raw_path.split("?", 1)[0],
            "query": request.rel_url.raw_query_string,
            "body_b64": base64.b64encode(body).decode(),
            "x_request_id": request.headers.get("X-Request-ID"),
            "x_forwarded_for": request.headers.get("X-Forwarded-For"),
            "headers": {k.lower(): v for k, v in request.headers.items()},
        }
        response = web.json_response(payload, status=int(request.headers.get("X-Echo-Status", "200")),
                                     headers={"X-Upstream": "crm-echo",
                                              "X-Request-ID": request.headers.get("X-Request-ID", "")})
        if "X-Echo-Hop" in request.headers:
            response.headers.update({"Connection": "X-Upstream-Hop", "X-Upstream-Hop": "1", "Keep-Alive": "timeout=5"})
        response.set_cookie("session", "abc123", httponly=True)
        response.set_cookie("theme", "dark")
        return response

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    state.url = f"http://{host}:{port}"
    try:
        yield state
    finally:
        state.release.set()
        await runner.cleanup()


@pytest.fixture
async def crm(client: SanicASGITestClient, upstream: Upstream) -> Upstream:
    """The echo upstream registered with the gateway as the one instance of `crm`."""
    response = await register(client, registration("crm", upstream.url))
    assert response.status == 201, response.text
    return upstream


def echoed(response: SanicResponse) -> dict[str, Any]:
    assert response.headers.get("x-upstream") == "crm-echo", response.text
    return response.json


async def test_the_server_listeners_open_and_close_the_upstream_session(client: SanicASGITestClient,
                                                                        app: LoomaApp) -> None:
    assert app.ctx.upstream is None  # nothing is opened when the app is built
    _, response = await client.get("/api/v1/services")
    assert response.status == 200
    session = app.ctx.upstream
    assert isinstance(session, aiohttp.ClientSession)
    assert session.closed  # after_server_stop ran too


# --- the registry API -----------------------------------------------------------------------------


async def test_register_then_re_register(client: SanicASGITestClient, app: LoomaApp) -> None:
    body = registration(prefixes=["/api/v1/interviews"], ttl=5, ready=True)
    response = await register(client, body)
    assert response.status == 201
    assert response.json == {"instance_id": body["instance_id"], "service": "crm", "url": "http://127.0.0.1:8888"}
    response = await register(client, body)
    assert response.status == 200
    assert registry_of(app).resolve("/api/v1/interviews/1") == "crm"


async def test_heartbeat_answers_204_and_404_for_an_unknown_instance(client: SanicASGITestClient) -> None:
    body = registration()
    await register(client, body)
    _, response = await client.put(f"{REGISTER}/{body['instance_id']}/heartbeat", json={"ready": False})
    assert response.status == 204
    assert response.content == b""
    _, response = await client.put(f"{REGISTER}/{body['instance_id']}/heartbeat")  # no body: ready
    assert response.status == 204
    _, response = await client.put(f"{REGISTER}/crm@10.0.0.1:1/heartbeat", json={"ready": True})
    problem = assert_problem(response, 404, "unknown-instance")
    assert "register" in problem["detail"]


async def test_a_not_ready_heartbeat_shows_in_the_listing(client: SanicASGITestClient) -> None:
    body = registration()
    await register(client, body)
    await client.put(f"{REGISTER}/{body['instance_id']}/heartbeat", json={"ready": False})
    _, response = await client.get("/api/v1/services")
    (crm,) = [s for s in response.json["items"] if s["service"] == "crm"]
    assert [i["status"] for i in crm["instances"]] == ["not_ready"]
    assert crm["status"] == "unhealthy"


async def test_deregister_answers_204_then_404(client: SanicASGITestClient, app: LoomaApp) -> None:
    body = registration()
    await register(client, body)
    _, response = await client.delete(f"{REGISTER}/{body['instance_id']}")
    assert response.status == 204
    assert registry_of(app).pick("crm") is None
    _, response = await client.delete(f"{REGISTER}/{body['instance_id']}")
    assert_problem(response, 404, "unknown-instance")


# Each case is one request to the same app: building an app costs far more than a request does.
BAD_REGISTRATIONS: list[tuple[dict[str, Any], str]] = [
    ({"url": "not a url"}, "body.url"),
    ({"url": "ftp://127.0.0.1:21"}, "body.url"),
    ({"prefixes": ["/talents"]}, "body.prefixes"),
    ({"prefixes": ["/api/v1/talents/"]}, "body.prefixes"),
    ({"service": "Looma CRM"}, "body.service"),
    ({"service": "CRM"}, "body.service"),
    ({"service": "my crm"}, "body.service"),
    ({"ttl": -1}, "body.ttl"),
    ({"ttl": 0}, "body.ttl"),
    ({"instance_id": "crm/1"}, "body.instance_id"),
]


async def test_a_bad_registration_answers_422_naming_the_field(client: SanicASGITestClient, app: LoomaApp,
                                                               subtests: pytest.Subtests) -> None:
    for change, loc in BAD_REGISTRATIONS:
        with subtests.test(msg=str(change)):
            response = await register(client, {**registration(), **change})
            problem = assert_problem(response, 422, "validation-failed")
            assert loc in [error["loc"] for error in problem["errors"]]
            assert loc in problem["detail"]
    assert registry_of(app).pick("crm") is None


async def test_a_registration_missing_fields_names_each(client: SanicASGITestClient) -> None:
    response = await register(client, {"service": "crm"})
    problem = assert_problem(response, 422, "validation-failed")
    assert {"body.instance_id", "body.url"} <= {error["loc"] for error in problem["errors"]}


async def test_a_registration_that_is_not_json_answers_415(client: SanicASGITestClient) -> None:
    _, response = await client.post(REGISTER, content=json.dumps(registration()),
                                    headers={"content-type": "text/plain"})
    assert_problem(response, 415, "unsupported-media-type")


async def test_malformed_json_answers_400(client: SanicASGITestClient) -> None:
    _, response = await client.post(REGISTER, content=b'{"service": "crm",', headers=JSON)
    assert_problem(response, 400, "malformed-json")
    _, response = await client.put(f"{REGISTER}/crm@x:1/heartbeat", content=b"{nope", headers=JSON)
    assert_problem(response, 400, "malformed-json")


# --- the service listing --------------------------------------------------------------------------


async def test_services_lists_every_upstream_with_its_instances(client: SanicASGITestClient) -> None:
    await register(client, registration("crm", "http://127.0.0.1:8888"))
    _, response = await client.get("/api/v1/services")
    assert response.status == 200
    body = response.json
    assert body["total"] == len(body["items"])
    services = {item["service"]: item for item in body["items"]}
    assert {"auth", "chat", "config", "crm", "matching", "monitor", "resume", "vector"} <= services.keys()
    crm = services["crm"]
    assert crm["status"] == "healthy"
    assert "/api/v1/talents" in crm["prefixes"]
    (instance,) = crm["instances"]
    assert instance["instance_id"] == "crm@127.0.0.1:8888"
    assert instance["url"] == "http://127.0.0.1:8888"
    assert instance["status"] == "healthy"
    assert instance["static"] is False
    assert (instance["breaker"], instance["ejected"], instance["in_flight"]) == ("closed", False, 0)
    assert services["resume"] == {"service": "resume", "status": "unhealthy", "strategy": "p2c",
                                  "prefixes": ["/api/v1/resumes"], "instances": []}


async def test_static_instances_from_settings_are_listed_as_unknown(tmp_path: Path) -> None:
    settings = LoomaSettings(_env_file=None, data_dir=tmp_path, env="test",  # type: ignore[call-arg]
                             database_url=None, redis_url=None, gateway_url=None,
                             gateway_static_instances=[{"service": "resume", "url": "http://127.0.0.1:8207"}])
    app = GatewayService(settings).create_app()
    ISSUER.install(app)
    _, response = await AuthorizedClient(app.asgi_client, OPERATOR).get("/api/v1/services")
    (resume,) = [s for s in response.json["items"] if s["service"] == "resume"]
    assert [(i["instance_id"], i["status"], i["static"]) for i in resume["instances"]] == [
        ("resume@127.0.0.1:8207", "unknown", True)]


# --- routing before anything else -----------------------------------------------------------------


async def test_an_unknown_route_answers_404_before_any_credentials_are_looked_at(
        client: SanicASGITestClient, subtests: pytest.Subtests) -> None:
    for method in ("GET", "POST", "DELETE"):
        with subtests.test(msg=method):
            _, response = await client.request(method, "/api/v1/nope")
            body = assert_problem(response, 404, "unknown-route")
            assert body["instance"] == "/api/v1/nope"
    for authorization in ("Bearer not.a.jwt", "garbage", "Basic %%%", "Bearer " + "x" * 4000):
        with subtests.test(msg=authorization[:20]):
            _, response = await client.get("/api/v1/talentsX/1", headers={"authorization": authorization})
            assert_problem(response, 404, "unknown-route")


async def test_a_known_route_without_an_instance_answers_503_with_retry_after(client: SanicASGITestClient) -> None:
    _, response = await client.get("/api/v1/talents/1")
    body = assert_problem(response, 503, "service-unavailable")
    assert body["service"] == "crm"
    assert int(response.headers["retry-after"]) > 0
    _, response = await client.get("/api/v1/services/crm/ready")
    assert_problem(response, 503, "service-unavailable")


# --- the proxy ------------------------------------------------------------------------------------


async def test_method_path_query_and_body_arrive_intact(client: SanicASGITestClient, crm: Upstream) -> None:
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        body = f"{method} body".encode() if method != "GET" else b""
        _, response = await client.request(method, "/api/v1/talents/42/notes?sort=-created&tag=a&tag=b&q=x+y",
                                           content=body, headers={"content-type": "application/octet-stream"})
        assert response.status == 200, response.text
        seen = echoed(response)
        assert seen["method"] == method
        assert seen["path"] == "/api/v1/talents/42/notes"
        assert seen["query"] == "sort=-created&tag=a&tag=b&q=x+y"
        assert base64.b64decode(seen["body_b64"]) == body
    assert [r.method for r in crm.received] == ["GET", "POST", "PUT", "PATCH", "DELETE"]


async def test_percent_encoded_paths_and_queries_arrive_exactly_as_sent(client: SanicASGITestClient,
                                                                        crm: Upstream) -> None:
    query = "name=%E5%BC%A0%E4%B8%89&next=%2Fjobs%3Fa%3D1%26b%3D2&plus=1%2B1&space=a+b&pct=100%25"
    _, response = await client.get(f"/api/v1/talents/%E5%BC%A0%E4%B8%89/a%2Fb?{query}")
    seen = echoed(response)
    assert seen["path"] == "/api/v1/talents/%E5%BC%A0%E4%B8%89/a%2Fb"
    assert seen["query"] == query
    assert dict(parse_qsl(seen["query"])) == {"name": "张三", "next": "/jobs?a=1&b=2", "plus": "1+1",
                                               "space": "a b", "pct": "100%"}


async def test_a_chinese_post_body_arrives_byte_exact(client: SanicASGITestClient, crm: Upstream) -> None:
    document = {"name": "张三", "summary": "资深后端工程师，熟悉 Python、Sanic 与分布式系统。🚀", "city": "北京"}
    raw = json.dumps(document, ensure_ascii=False).encode("utf-8")
    _, response = await client.post("/api/v1/talents", content=raw,
                                    headers={"content-type": "application/json; charset=utf-8"})
    seen = echoed(response)
    assert base64.b64decode(seen["body_b64"]) == raw
    assert seen["headers"]["content-type"] == "application/json; charset=utf-8"
    assert seen["headers"]["content-length"] == str(len(raw))
    # GB18030 bytes, not valid UTF-8, pass through untouched: the gateway does not decode bodies it proxies.
    legacy = "简历：王五".encode("gb18030")
    _, response = await client.post("/api/v1/talents", content=legacy,
                                    headers={"content-type": "text/plain; charset=gb18030"})
    assert base64.b64decode(echoed(response)["body_b64"]) == legacy


async def test_the_callers_request_id_goes_upstream_and_comes_back(client: SanicASGITestClient, crm: Upstream) -> None:
    _, response = await client.get("/api/v1/jobs/7", headers={"X-Request-ID": "Caller-ID-007"})
    seen = echoed(response)
    assert seen["x_request_id"] == "Caller-ID-007"
    assert response.headers.get_list("x-request-id") == ["Caller-ID-007"]
    # Without one, the gateway's own id is sent upstream and returned to the caller.
    _, response = await client.get("/api/v1/jobs/7")
    generated = response.headers["x-request-id"]
    assert generated
    assert echoed(response)["x_request_id"] == generated


async def test_x_forwarded_headers_extend_the_callers_chain(client: SanicASGITestClient, crm: Upstream) -> None:
    request, response = await client.get("/api/v1/jobs", headers={"X-Forwarded-For": "203.0.113.7"})
    assert request is not None
    seen = echoed(response)
    assert seen["x_forwarded_for"] == f"203.0.113.7, {request.ip}"
    assert seen["headers"]["x-forwarded-proto"] == "http"
    assert seen["headers"]["x-forwarded-host"] == request.host
    _, response = await client.get("/api/v1/jobs")
    assert echoed(response)["x_forwarded_for"] == request.ip


async def test_hop_by_hop_headers_are_not_forwarded(client: SanicASGITestClient, crm: Upstream) -> None:
    _, response = await client.get("/api/v1/companies/1", headers={
        "Connection": "keep-alive, X-Hop-Secret",
        "Keep-Alive": "timeout=5",
        "X-Hop-Secret": "only for the next hop",
        "Proxy-Authorization": "Basic Zm9vOmJhcg==",
        "TE": "trailers",
        "Upgrade": "websocket",
        "Authorization": f"Bearer {OPERATOR}",
        "X-Custom": "kept",
    })
    headers = echoed(response)["headers"]
    for name in ("keep-alive", "x-hop-secret", "proxy-authorization", "te", "upgrade"):
        assert name not in headers, f"{name} was forwarded"
    # aiohttp speaks for its own connection; the caller's Connection value must not reach the upstream.
    assert "x-hop-secret" not in headers.get("connection", "").lower()
    assert headers["authorization"] == f"Bearer {OPERATOR}"
    assert headers["x-custom"] == "kept"
    assert headers["host"] == crm.url.removeprefix("http://")


async def test_hop_by_hop_headers_of_the_upstream_do_not_come_back(client: SanicASGITestClient,
                                                                   crm: Upstream) -> None:
    _, response = await client.get("/api/v1/companies/1", headers={"X-Echo-Hop": "1"})
    assert echoed(response)["method"] == "GET"
    for name in ("connection", "keep-alive", "x-upstream-hop"):
        assert name not in response.headers, f"{name} came back"


async def test_repeated_request_headers_all_arrive(client: SanicASGITestClient, crm: Upstream) -> None:
    _, response = await client.get("/api/v1/jobs", headers=[
        ("X-Tag", "first"), ("X-Tag", "second"), ("X-Forwarded-For", "203.0.113.7"), ("X-Forwarded-For", "10.0.0.2"),
    ])
    assert response.status == 200
    (received,) = crm.received
    assert received.headers.getall("X-Tag") == ["first", "second"]
    assert ", ".join(received.headers.getall("X-Forwarded-For")).startswith("203.0.113.7, 10.0.0.2, ")


async def test_the_upstreams_status_and_headers_come_back(client: SanicASGITestClient, crm: Upstream) -> None:
    for status in (201, 404, 500):
        _, response = await client.post("/api/v1/applications", json={"job": 1},
                                        headers={"X-Echo-Status": str(status)})
        assert response.status == status
        assert response.headers["content-type"].startswith("application/json")
        assert echoed(response)["method"] == "POST"  # the upstream's own body, not a problem document
        cookies = response.headers.get_list("set-cookie")
        assert len(cookies) == 2
        assert any(c.startswith("session=abc123") and "HttpOnly" in c for c in cookies)
        assert any(c.startswith("theme=dark") for c in cookies)
        if "content-length" in response.headers:  # Sanic's ASGI path sends none; HTTP/1 computes its own
            assert int(response.headers["content-length"]) == len(response.content)


async def test_an_encoded_upstream_body_passes_through_undecoded(client: SanicASGITestClient, crm: Upstream) -> None:
    _, response = await client.get("/api/v1/companies/gzip")
    assert response.status == 200
    assert response.headers["content-encoding"] == "gzip"
    assert response.text == "压缩的内容 compressed"  # httpx decodes; the gateway must not have


async def test_ready_is_fetched_from_the_instance_through_the_gateway(client: SanicASGITestClient,
                                                                      crm: Upstream) -> None:
    _, response = await client.get("/api/v1/services/crm/ready")
    assert response.status == 200
    seen = echoed(response)
    assert (seen["method"], seen["path"]) == ("GET", "/ready")
    _, response = await client.get("/api/v1/services/crm/health")
    assert echoed(response)["path"] == "/health"


async def test_an_unreachable_upstream_answers_502(client: SanicASGITestClient, app: LoomaApp) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    assert (await register(client, registration("crm", url))).status == 201
    _, response = await client.get("/api/v1/talents/1")
    body = assert_problem(response, 502, "upstream-unreachable")
    assert body["service"] == "crm"
    assert registry_of(app).get(instance_id("crm", url)).in_flight == 0  # type: ignore[union-attr]


async def test_a_slow_upstream_answers_504(client: SanicASGITestClient, crm: Upstream, app: LoomaApp) -> None:
    # The upstream holds /slow until the test ends, so only the gateway's own timeout can answer.
    _, response = await client.get("/api/v1/talents/slow")
    body = assert_problem(response, 504, "upstream-timeout")
    assert body["service"] == "crm"
    assert [r.path for r in crm.received] == ["/api/v1/talents/slow"]
    assert registry_of(app).pick("crm").in_flight == 0  # type: ignore[union-attr]


async def test_an_upstream_stalling_mid_body_answers_504_not_a_truncated_200(client: SanicASGITestClient,
                                                                             crm: Upstream) -> None:
    _, response = await client.get("/api/v1/talents/slow-body")
    assert_problem(response, 504, "upstream-timeout")


# --- identity at the edge ---------------------------------------------------------------------------


async def test_the_registry_needs_a_token_that_may_register(app: LoomaApp) -> None:
    anonymous = app.asgi_client
    _, response = await anonymous.post(REGISTER, json=registration())
    assert_problem(response, 401, "missing-token")
    recruiter = AuthorizedClient(anonymous, ISSUER.token(role="recruiter"))
    _, response = await recruiter.post(REGISTER, json=registration())
    body = assert_problem(response, 403, "permission-denied")
    assert body["permission"] == "registry:write"
    for method, path in (("PUT", f"{REGISTER}/crm@x/heartbeat"), ("DELETE", f"{REGISTER}/crm@x")):
        _, response = await anonymous.request(method, path)
        assert_problem(response, 401, "missing-token")
    assert registry_of(app).pick("crm") is None  # nothing was registered


async def test_the_service_list_needs_monitor_read(app: LoomaApp) -> None:
    _, response = await app.asgi_client.get("/api/v1/services")
    assert_problem(response, 401, "missing-token")
    _, response = await AuthorizedClient(app.asgi_client, ISSUER.token(role="viewer")).get("/api/v1/services")
    assert_problem(response, 403, "permission-denied")
    _, response = await AuthorizedClient(app.asgi_client, ISSUER.token(role="admin")).get("/api/v1/services")
    assert response.status == 200


async def test_a_bad_token_is_turned_away_before_the_upstream_sees_it(app: LoomaApp, crm: Upstream) -> None:
    forged = TestIssuer().token()  # right kid, wrong key
    expired = ISSUER.token(ttl=-3600)
    for token, reason in ((forged, "signature does not verify"), (expired, "expired"), ("not.a.jwt", "malformed")):
        _, response = await app.asgi_client.get("/api/v1/talents/1", headers={"Authorization": f"Bearer {token}"})
        body = assert_problem(response, 401, "invalid-token")
        assert reason in body["detail"]
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert crm.received == []


async def test_a_request_without_a_token_stops_at_the_edge_and_one_with_a_good_token_goes_through(
        app: LoomaApp, crm: Upstream) -> None:
    _, response = await app.asgi_client.post("/api/v1/talents/1", json={"x": 1})
    assert_problem(response, 401, "missing-token")
    assert crm.received == []
    token = ISSUER.token(role="recruiter")
    _, response = await app.asgi_client.get("/api/v1/talents/1", headers={"Authorization": f"Bearer {token}"})
    assert echoed(response)["headers"]["authorization"] == f"Bearer {token}"
    assert len(crm.received) == 1


async def test_public_routes_from_settings_need_no_token(app: LoomaApp, client: SanicASGITestClient,
                                                         upstream: Upstream) -> None:
    assert (await register(client, registration("auth", upstream.url))).status == 201
    _, response = await app.asgi_client.post("/api/v1/auth/login", json={"email": "a@b.test"})
    assert echoed(response)["path"] == "/api/v1/auth/login"
    _, response = await app.asgi_client.get("/api/v1/auth/me")
    assert_problem(response, 401, "missing-token")
    assert [r.path for r in upstream.received] == ["/api/v1/auth/login"]


# --- retries, deadlines, limits, batch -------------------------------------------------------------


async def second_instance_of(client: SanicASGITestClient, upstream: Upstream) -> None:
    """The same echo server registered again under another id: two instances that answer alike."""
    body = {**registration("crm", upstream.url), "instance_id": "crm@second"}
    assert (await register(client, body)).status == 201


async def test_a_get_answered_503_is_retried_once_at_the_other_instance(client: SanicASGITestClient,
                                                                       crm: Upstream) -> None:
    await second_instance_of(client, crm)
    _, response = await client.get("/api/v1/talents/1", headers={"X-Echo-Status": "503"})
    assert response.status == 503  # both answered 503: the last answer comes back
    assert len(crm.received) == 2


async def test_a_post_is_retried_only_with_an_idempotency_key(client: SanicASGITestClient, crm: Upstream) -> None:
    await second_instance_of(client, crm)
    _, response = await client.post("/api/v1/talents", json={"name": "x"}, headers={"X-Echo-Status": "503"})
    assert response.status == 503
    assert len(crm.received) == 1
    _, response = await client.post("/api/v1/talents", json={"name": "x"},
                                    headers={"X-Echo-Status": "503", "Idempotency-Key": "k1"})
    assert len(crm.received) == 3
    assert [r.headers.get("Idempotency-Key") for r in crm.received[1:]] == ["k1", "k1"]


async def test_what_remains_of_the_deadline_travels_downstream(client: SanicASGITestClient, crm: Upstream) -> None:
    _, response = await client.get("/api/v1/talents/1", headers={"X-Looma-Deadline-Ms": "250"})
    remaining = int(echoed(response)["headers"]["x-looma-deadline-ms"])
    assert 0 < remaining <= 250
    _, response = await client.get("/api/v1/talents/1")
    assert 0 < int(echoed(response)["headers"]["x-looma-deadline-ms"]) <= UPSTREAM_TIMEOUT * 1000


async def test_a_503_is_retried_elsewhere_and_a_500_is_not(client: SanicASGITestClient, crm: Upstream,
                                                           app: LoomaApp) -> None:
    _, response = await client.get("/api/v1/talents/1", headers={"X-Echo-Status": "503"})
    assert response.status == 503  # the only instance: its own answer comes back
    assert len(crm.received) == 1 + 0  # nobody else to try
    _, response = await client.get("/api/v1/talents/1", headers={"X-Echo-Status": "500"})
    assert response.status == 500
    assert len(crm.received) == 2


async def test_admitted_answers_carry_ratelimit_headers_and_a_spent_limit_answers_429(tmp_path: Path,
                                                                                        upstream: Upstream) -> None:
    settings = LoomaSettings(_env_file=None, data_dir=tmp_path, env="test",  # type: ignore[call-arg]
                             database_url=None, redis_url=None, gateway_url=None,
                             gateway_rate_per_user=120, gateway_rate_burst_seconds=1.0)
    app = GatewayService(settings).create_app()
    ISSUER.install(app)
    operator = AuthorizedClient(app.asgi_client, OPERATOR)
    assert (await register(operator, registration("crm", upstream.url))).status == 201
    recruiter = AuthorizedClient(app.asgi_client, ISSUER.token(role="recruiter", subject="u-limited"))
    _, first = await recruiter.get("/api/v1/talents/1")
    assert first.status == 200 and first.headers["ratelimit-remaining"] == "1"
    _, second = await recruiter.get("/api/v1/talents/1")
    _, third = await recruiter.get("/api/v1/talents/1")
    assert second.status == 200
    body = assert_problem(third, 429, "rate-limited")
    assert body["scope"] == "user"
    assert int(third.headers["retry-after"]) >= 1
    assert third.headers["ratelimit-remaining"] == "0"
    other = AuthorizedClient(app.asgi_client, ISSUER.token(role="recruiter", subject="u-other"))
    assert (await other.get("/api/v1/talents/1"))[1].status == 200  # each user has a bucket


async def test_a_batch_runs_each_request_through_the_pipeline_with_its_own_status(client: SanicASGITestClient,
                                                                                 crm: Upstream) -> None:
    _, response = await client.post("/api/v1/batch", json={"requests": [
        {"id": "a", "method": "GET", "path": "/api/v1/talents/1?x=1"},
        {"id": "b", "method": "POST", "path": "/api/v1/jobs", "body": {"title": "后端"}, "headers": {"If-Match": '"3"'}},
        {"id": "c", "method": "GET", "path": "/api/v1/nope"},
        {"id": "d", "method": "GET", "path": "/api/v1/companies/1", "headers": {"X-Echo-Status": "404"}},
    ]})
    assert response.status == 200, response.text
    answers = {a["id"]: a for a in response.json["responses"]}
    assert [a["id"] for a in response.json["responses"]] == ["a", "b", "c", "d"]
    assert answers["a"]["status"] == 200 and answers["a"]["body"]["query"] == "x=1"
    b = answers["b"]
    assert b["status"] == 200 and b["body"]["method"] == "POST"
    assert json.loads(base64.b64decode(b["body"]["body_b64"])) == {"title": "后端"}
    assert b["body"]["headers"]["if-match"] == '"3"'
    assert b["body"]["headers"]["authorization"] == f"Bearer {OPERATOR}"  # on behalf of the batch's caller
    assert b["body"]["x_request_id"].endswith(".b")
    assert answers["c"]["status"] == 404 and answers["c"]["body"]["type"] == "urn:looma:problem:unknown-route"
    assert answers["d"]["status"] == 404
    assert sorted(r.path for r in crm.received) == ["/api/v1/companies/1", "/api/v1/jobs", "/api/v1/talents/1"]


@pytest.mark.parametrize("body,field", [
    ({}, "requests"),
    ({"requests": []}, "requests"),
    ({"requests": [{"id": "a", "method": "GET", "path": "/elsewhere"}]}, "path"),
    ({"requests": [{"id": "a", "method": "GET", "path": "/api/v1/batch"}]}, "path"),
    ({"requests": [{"id": "a", "method": "TRACE", "path": "/api/v1/talents"}]}, "method"),
    ({"requests": [{"id": "a", "method": "GET", "path": "/api/v1/talents", "headers": {"Authorization": "x"}}]},
     "headers"),
    ({"requests": [{"id": "a", "method": "GET", "path": "/api/v1/talents"},
                   {"id": "a", "method": "GET", "path": "/api/v1/jobs"}]}, "body"),
])
async def test_an_invalid_batch_answers_422_naming_the_field(client: SanicASGITestClient, crm: Upstream,
                                                              body: dict[str, Any], field: str) -> None:
    _, response = await client.post("/api/v1/batch", json=body)
    problem = assert_problem(response, 422, "validation-failed")
    assert any(field in error["loc"] for error in problem["errors"]), problem
    assert crm.received == []


async def test_a_batch_over_the_limits_or_without_a_token_is_refused(app: LoomaApp, client: SanicASGITestClient,
                                                                     crm: Upstream) -> None:
    many = {"requests": [{"id": str(n), "method": "GET", "path": "/api/v1/talents"} for n in range(21)]}
    _, response = await client.post("/api/v1/batch", json=many)
    assert_problem(response, 413, "batch-too-large")
    _, response = await client.post("/api/v1/batch", content=b"{not json", headers=JSON)
    assert response.status == 400
    _, response = await app.asgi_client.post("/api/v1/batch", json={"requests": []})
    assert_problem(response, 401, "missing-token")
    assert crm.received == []


async def test_an_answer_larger_than_the_limit_answers_502(tmp_path: Path, upstream: Upstream) -> None:
    settings = LoomaSettings(_env_file=None, data_dir=tmp_path, env="test",  # type: ignore[call-arg]
                             database_url=None, redis_url=None, gateway_url=None, gateway_max_response_bytes=64)
    app = GatewayService(settings).create_app()
    ISSUER.install(app)
    client = AuthorizedClient(app.asgi_client, OPERATOR)
    assert (await register(client, registration("crm", upstream.url))).status == 201
    _, response = await client.get("/api/v1/talents/1")
    assert_problem(response, 502, "upstream-response-too-large")


async def test_gateway_metrics_count_requests_by_route_upstream_and_status(client: SanicASGITestClient,
                                                                          crm: Upstream) -> None:
    await client.get("/api/v1/talents/1")
    await client.get("/api/v1/talents/1", headers={"X-Echo-Status": "404"})
    _, response = await client.get("/metrics")
    text = response.text
    assert 'looma_gateway_requests_total{route="/api/v1/talents",status="200",upstream="crm"} 1.0' in text
    assert 'looma_gateway_requests_total{route="/api/v1/talents",status="404",upstream="crm"} 1.0' in text
    assert "looma_gateway_upstream_duration_seconds_count" in text


async def test_answers_the_gateway_gives_itself_are_counted_too(app: LoomaApp, client: SanicASGITestClient,
                                                                crm: Upstream) -> None:
    await app.asgi_client.get("/api/v1/no-such-route")
    await app.asgi_client.get("/api/v1/talents/1")  # no token
    _, response = await client.get("/metrics")
    text = response.text
    assert 'looma_gateway_requests_total{route="<unknown>",status="404",upstream="<none>"} 1.0' in text
    assert 'looma_gateway_requests_total{route="/api/v1/talents",status="401",upstream="crm"} 1.0' in text
