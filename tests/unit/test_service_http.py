"""What BaseAIService gives every service over HTTP, driven through sanic-testing's ASGI client.

The body size limit (413) is enforced by Sanic's HTTP/1 protocol, which the ASGI client does
not go through; test_service_process.py checks it against a real process.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sanic_testing.testing import SanicASGITestClient
from sanic_testing.testing import TestingResponse as SanicResponse  # aliased: pytest would collect "Test*"

from shared.config import LoomaSettings
from shared.database.schema import upgrade
from shared.service import LoomaApp
from tests.unit.fake_service import ProbeService

PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance", "request_id"}
VALID_PROBE = {"name": "Ada", "tags": ["python", "sanic"], "salary": {"min": 50_000, "max": 70_000}}
JSON = {"content-type": "application/json"}


@pytest.fixture
def settings(tmp_path: Path) -> LoomaSettings:
    # Explicit Nones so a developer's LOOMA_* environment cannot point the test at real servers.
    return LoomaSettings(_env_file=None, data_dir=tmp_path, env="test",  # type: ignore[call-arg]
                         database_url=None, redis_url=None, gateway_url=None)


@pytest.fixture
def migrated(settings: LoomaSettings) -> None:
    upgrade(settings.sqlalchemy_url)


@pytest.fixture
def service(settings: LoomaSettings) -> ProbeService:
    return ProbeService(settings)


@pytest.fixture
def app(service: ProbeService) -> LoomaApp:
    return service.create_app()


@pytest.fixture
def client(app: LoomaApp) -> SanicASGITestClient:
    return app.asgi_client


def assert_problem(response: SanicResponse, status: int, path: str) -> dict[str, Any]:
    """The response is RFC 9457 problem+json for `status`, carrying the request id it was sent with."""
    assert response.status == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json
    assert PROBLEM_FIELDS <= body.keys()
    assert body["status"] == status
    assert body["type"].startswith("urn:looma:problem:")
    assert body["title"] and body["detail"]
    assert body["instance"] == path
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def post_probe(client: SanicASGITestClient, content: bytes, content_type: str = "application/json"
                     ) -> SanicResponse:
    _, response = await client.post("/api/v1/probes", content=content, headers={"content-type": content_type})
    return response


# --- health and readiness -------------------------------------------------------------------------


async def test_health_answers_200_with_the_service_name(client: SanicASGITestClient) -> None:
    _, response = await client.get("/health")

    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json["service"] == "probe"
    assert response.json["status"] == "ok"


async def test_ready_answers_200_with_per_dependency_detail_once_migrated(
    client: SanicASGITestClient, migrated: None
) -> None:
    _, response = await client.get("/ready")

    assert response.status == 200, response.text
    body = response.json
    assert body["status"] == "ready"
    assert body["service"] == "probe"
    for dependency in ("database", "cache"):
        check = body["checks"][dependency]
        assert check["ok"] is True
        assert isinstance(check["backend"], str) and check["backend"]
        assert isinstance(check["latency_ms"], int | float) and check["latency_ms"] >= 0
    assert body["checks"]["database"]["backend"] == "sqlite"
    assert body["checks"]["model"]["ok"] is True


async def test_ready_answers_503_naming_the_database_before_migration(client: SanicASGITestClient) -> None:
    _, response = await client.get("/ready")

    assert response.status == 503
    body = response.json
    assert body["status"] == "not_ready"
    database = body["checks"]["database"]
    assert database["ok"] is False
    assert "migrate" in database["error"]
    assert body["checks"]["cache"]["ok"] is True


async def test_ready_answers_503_when_a_service_readiness_check_fails(
    client: SanicASGITestClient, service: ProbeService, migrated: None
) -> None:
    service.model_loaded = False

    _, response = await client.get("/ready")

    assert response.status == 503
    body = response.json
    assert body["status"] == "not_ready"
    assert body["checks"]["model"]["ok"] is False
    assert "probe model not loaded" in body["checks"]["model"]["error"]
    assert body["checks"]["database"]["ok"] is True


async def test_ready_answers_503_when_a_service_readiness_check_hangs(
    client: SanicASGITestClient, service: ProbeService, migrated: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("shared.service.health.CHECK_TIMEOUT", 0.2)
    service.model_hangs = True

    _, response = await client.get("/ready")

    assert response.status == 503
    assert response.json["checks"]["model"] == {"ok": False, "timed_out": True, "error": "no answer within 0.2s"}


# --- request bodies ---------------------------------------------------------------------------------


async def test_a_valid_body_is_parsed_into_the_model(client: SanicASGITestClient) -> None:
    _, response = await client.post("/api/v1/probes", json=VALID_PROBE)

    assert response.status == 201, response.text
    assert response.json == VALID_PROBE


async def test_a_json_content_type_with_a_charset_is_accepted(client: SanicASGITestClient) -> None:
    response = await post_probe(client, b'{"name": "Ada", "salary": {"min": 1, "max": 2}}',
                                "application/json; charset=utf-8")

    assert response.status == 201, response.text


async def test_unknown_route_answers_404_problem(client: SanicASGITestClient) -> None:
    _, response = await client.get("/api/v1/nowhere")

    assert_problem(response, 404, "/api/v1/nowhere")


async def test_wrong_method_answers_405_problem_with_allow(client: SanicASGITestClient) -> None:
    _, response = await client.delete("/api/v1/probes")

    assert_problem(response, 405, "/api/v1/probes")
    allowed = {method.strip() for method in response.headers["allow"].split(",")}
    assert "POST" in allowed
    assert "DELETE" not in allowed


async def test_wrong_content_type_answers_415_problem(client: SanicASGITestClient) -> None:
    response = await post_probe(client, b"name=Ada", "application/x-www-form-urlencoded")

    body = assert_problem(response, 415, "/api/v1/probes")
    assert "application/x-www-form-urlencoded" in body["detail"]


async def test_missing_content_type_answers_415_problem(client: SanicASGITestClient) -> None:
    _, response = await client.post("/api/v1/probes", content=b"{}")

    assert_problem(response, 415, "/api/v1/probes")


async def test_malformed_json_answers_400_problem(client: SanicASGITestClient) -> None:
    response = await post_probe(client, b'{"name": "Ada",')

    body = assert_problem(response, 400, "/api/v1/probes")
    assert "JSON" in body["detail"]


async def test_invalid_utf8_answers_400_problem_naming_the_encoding(client: SanicASGITestClient) -> None:
    response = await post_probe(client, b'{"name": "\xff\xfe"}')

    body = assert_problem(response, 400, "/api/v1/probes")
    assert "UTF-8" in body["detail"]


async def test_empty_body_answers_400_problem(client: SanicASGITestClient) -> None:
    response = await post_probe(client, b"")

    body = assert_problem(response, 400, "/api/v1/probes")
    assert "empty" in body["detail"]


async def test_wrong_shape_answers_422_with_field_paths(client: SanicASGITestClient) -> None:
    bad = {"name": "", "tags": ["ok", 7], "salary": {"min": "lots"}}

    _, response = await client.post("/api/v1/probes", json=bad)

    body = assert_problem(response, 422, "/api/v1/probes")
    errors = {error["loc"]: error["msg"] for error in body["errors"]}
    assert set(errors) == {"body.name", "body.tags.1", "body.salary.min", "body.salary.max"}
    assert all(isinstance(msg, str) and msg for msg in errors.values())
    assert "body.salary.min" in body["detail"]


async def test_json_that_is_not_an_object_answers_422_at_the_body(client: SanicASGITestClient) -> None:
    response = await post_probe(client, b"[1, 2, 3]")

    body = assert_problem(response, 422, "/api/v1/probes")
    assert [error["loc"] for error in body["errors"]] == ["body"]


# --- unhandled errors -------------------------------------------------------------------------------


async def test_a_raising_handler_answers_500_problem_without_internals(client: SanicASGITestClient) -> None:
    _, response = await client.get("/api/v1/boom")

    body = assert_problem(response, 500, "/api/v1/boom")
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text
    assert "RuntimeError" not in response.text
    assert body["request_id"]


async def test_the_app_keeps_answering_after_a_500(client: SanicASGITestClient) -> None:
    await client.get("/api/v1/boom")

    _, response = await client.post("/api/v1/probes", json=VALID_PROBE)

    assert response.status == 201


# --- request id and timing ---------------------------------------------------------------------------


@pytest.mark.parametrize("incoming", ["req-from-the-gateway-42", "9C885A04-3656-40E9-B4F4-5B0639087F99", "007"])
async def test_an_incoming_request_id_is_echoed_verbatim_and_used_in_problems(
    client: SanicASGITestClient, incoming: str
) -> None:
    _, response = await client.get("/api/v1/nowhere", headers={"X-Request-ID": incoming})

    assert response.headers["x-request-id"] == incoming
    assert assert_problem(response, 404, "/api/v1/nowhere")["request_id"] == incoming


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Request-ID": ""}, {"X-Request-ID": "x" * 129}, {"X-Request-ID": "two words"}],
    ids=["absent", "blank", "too-long", "with-space"],
)
async def test_a_request_id_is_generated_when_none_is_given(
    client: SanicASGITestClient, headers: dict[str, str]
) -> None:
    _, first = await client.get("/health", headers=headers)
    _, second = await client.get("/health", headers=headers)

    assert first.headers["x-request-id"]
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    assert first.headers["x-request-id"] != headers.get("X-Request-ID")


async def test_every_response_carries_its_response_time(client: SanicASGITestClient) -> None:
    _, ok = await client.get("/health")
    _, failed = await client.get("/api/v1/boom")

    for response in (ok, failed):
        assert re.fullmatch(r"\d+(\.\d+)?ms", response.headers["x-response-time"])


# --- metrics ----------------------------------------------------------------------------------------


def request_counts(exposition: str) -> dict[tuple[str, str, str], float]:
    """looma_http_requests_total as {(method, route, status): count}."""
    counts: dict[tuple[str, str, str], float] = {}
    for family in text_string_to_metric_families(exposition):
        if family.name != "looma_http_requests":
            continue
        for sample in family.samples:
            if sample.name == "looma_http_requests_total":
                labels = sample.labels
                assert labels["service"] == "probe"
                counts[(labels["method"], labels["route"].lstrip("/"), labels["status"])] = sample.value
    return counts


async def test_metrics_count_requests_by_route_template(client: SanicASGITestClient) -> None:
    await client.post("/api/v1/probes", json=VALID_PROBE)
    await client.post("/api/v1/probes", json=VALID_PROBE)
    await client.get("/api/v1/probes/p-1")
    await client.get("/api/v1/probes/p-2")

    _, response = await client.get("/metrics")

    assert response.status == 200
    assert response.headers["content-type"].startswith("text/plain")
    counts = request_counts(response.text)
    assert counts[("POST", "api/v1/probes", "201")] == 2
    assert counts[("GET", "api/v1/probes/<probe_id:str>", "200")] == 2
    assert not any("p-1" in route for _, route, _ in counts)


async def test_metrics_label_unmatched_paths_without_the_raw_path(client: SanicASGITestClient) -> None:
    await client.get("/api/v1/no-such-thing-1")
    await client.get("/api/v1/no-such-thing-2")

    _, response = await client.get("/metrics")

    counts = request_counts(response.text)
    assert counts[("GET", "<unmatched>", "404")] == 2
    assert "no-such-thing" not in response.text


# --- OpenAPI ----------------------------------------------------------------------------------------


async def test_openapi_json_documents_health_and_the_service_routes(client: SanicASGITestClient) -> None:
    _, response = await client.get("/openapi.json")

    assert response.status == 200
    document = response.json
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "Looma Probe service"
    paths = document["paths"]
    assert {"/health", "/ready", "/metrics"} <= paths.keys()
    assert "post" in paths["/api/v1/probes"]
    assert "get" in paths["/api/v1/boom"]


async def test_docs_ui_answers(client: SanicASGITestClient) -> None:
    _, response = await client.get("/docs", follow_redirects=True)

    assert response.status == 200
    assert response.headers["content-type"].startswith("text/html")


def test_a_busy_instance_is_told_apart_from_a_broken_one() -> None:
    from shared.service.health import only_slow

    assert only_slow({"database": {"ok": True}, "model": {"ok": False, "timed_out": True}})
    assert not only_slow({"database": {"ok": False, "error": "refused"}, "model": {"ok": False, "timed_out": True}})
    assert not only_slow({"database": {"ok": True}})


async def test_heartbeats_keep_the_last_readiness_while_checks_only_time_out(settings: LoomaSettings,
                                                                             migrated: None) -> None:
    from shared.database import UnifiedDataAccess
    from shared.service.base import _is_ready

    service = ProbeService(settings)
    app = service.create_app()
    app.ctx.data = UnifiedDataAccess.from_settings(settings)

    class Beats:
        last_ready = True

    app.ctx.registration = Beats()  # type: ignore[assignment]
    service.model_hangs = True
    assert await _is_ready(app) is True  # the model check timed out: busy, report as before
    Beats.last_ready = False
    assert await _is_ready(app) is False
    service.model_hangs, service.model_loaded = False, False
    Beats.last_ready = True
    assert await _is_ready(app) is False  # a real failure is reported at once
    await app.ctx.data.close()
