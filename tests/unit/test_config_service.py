"""The config service's API: effective values by scope, versioned writes, history, diffs, rollback, watches.

`ConfigHarness` (also used by test_config_client.py) runs the app's server listeners once, as a
server process does, then sends plain ASGI requests. Each test gets a store of its own, copied
from one migrated at module start, because service-wide values are shared by every org and a test
that sets one would otherwise change what the next one reads.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import socket
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, get_args

import httpx
import jsonpatch
import pytest
import pytest_asyncio
from jsonschema import Draft202012Validator
from sanic import Sanic

from ai_services.config_service.schemas import REGISTRY
from shared.config import LoomaSettings
from shared.config.client import MATCHING_DIMENSIONS, GatewayLimits
from shared.database.schema import upgrade
from shared.service.auth.permissions import CONFIG_READ, CONFIG_WRITE
from shared.service.problems import PROBLEM_JSON
from tests.harness import ServiceHarness
from tests.tokens import TestIssuer

Sanic.test_mode = True

WEIGHTS = "/api/v1/config/matching/weights"
LIMITS = "/api/v1/config/gateway/limits"
STACK_TRACE_MARKERS = ("Traceback", 'File "', "sqlalchemy", "sqlite3.", "site-packages")


# --- the harness --------------------------------------------------------------------------------


def config_settings(data_dir: Path, **overrides: Any) -> LoomaSettings:
    values: dict[str, Any] = {"_env_file": None, "data_dir": data_dir, "env": "test", "database_url": None,
                              "redis_url": None, "gateway_url": None, "log_level": "WARNING"}
    values.update(overrides)
    return LoomaSettings(**values)


class ConfigHarness(ServiceHarness):
    """One config app with its listeners run once, as a server process runs them, and callers in two orgs."""

    host = "config.test"

    def __init__(self, settings: LoomaSettings, issuer: TestIssuer | None = None) -> None:
        from ai_services.config_service.app import ConfigService

        super().__init__(ConfigService(settings).create_app())
        self.settings = settings
        self.issuer = issuer or TestIssuer()
        self.issuer.install(self.app)
        suffix = uuid.uuid4().hex[:8]
        self.orgs = {"a": f"org-a-{suffix}", "b": f"org-b-{suffix}"}

    def token(self, role: str = "recruiter", org: str = "a", subject: str | None = None) -> str:
        return self.issuer.token(role=role, org=self.orgs[org], subject=subject or f"user-{role}-{org}")

    def service_token(self, *permissions: str) -> str:
        return self.issuer.service_token(list(permissions or (CONFIG_READ,)))

    async def request(self, method: str, path: str, *, role: str | None = "recruiter", org: str = "a",
                      token: str | None = None, json: Any = None, content: bytes | str | None = None,
                      headers: dict[str, str] | None = None, params: dict[str, Any] | None = None) -> httpx.Response:
        bearer = token or (self.token(role, org) if role is not None else None)
        return await self.send(method, path, token=bearer, json=json, content=content, headers=headers,
                               params=params, timeout=90)  # long polls wait up to 55 s

    async def put(self, path: str, value: Any, reason: str = "tuning", **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("role", "admin")
        return await self.request("PUT", path, json={"value": value, "reason": reason}, **kwargs)

    async def put_ok(self, path: str, value: Any, reason: str = "tuning", **kwargs: Any) -> dict[str, Any]:
        response = await self.put(path, value, reason, **kwargs)
        assert response.status_code == 200, response.text
        return dict(response.json())


class ServedConfig:
    """A config app served by Sanic's own HTTP server on a free 127.0.0.1 port, in the test's event loop:
    what ASGI cannot show (events flushed one by one over a socket, the aiohttp transport)."""

    def __init__(self, settings: LoomaSettings, issuer: TestIssuer) -> None:
        from ai_services.config_service.app import ConfigService

        self.app = ConfigService(settings).create_app()
        issuer.install(self.app)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: Any = None

    async def start(self) -> None:
        self._server = await self.app.create_server(host="127.0.0.1", port=self.port, access_log=False,
                                                    return_asyncio_server=True)
        await self._server.startup()
        await self._server.before_start()
        await self._server.after_start()
        await self._server.start_serving()

    async def stop(self) -> None:
        await self._server.before_stop()
        self._server.close()
        await self._server.wait_closed()
        await self._server.after_stop()


@pytest.fixture(scope="module")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory migrated once; each test copies its database."""
    directory = tmp_path_factory.mktemp("config-template")
    upgrade(config_settings(directory).sqlalchemy_url)
    return directory


def fresh_settings(template: Path, directory: Path) -> LoomaSettings:
    shutil.copy(template / "looma.db", directory / "looma.db")
    return config_settings(directory)


@pytest_asyncio.fixture
async def harness(migrated_template: Path, tmp_path: Path) -> AsyncIterator[ConfigHarness]:
    started = ConfigHarness(fresh_settings(migrated_template, tmp_path))
    await started.start()
    try:
        yield started
    finally:
        await started.stop()


def assert_problem(response: httpx.Response, status: int, slug: str | None = None,
                   loc: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text[:2000]
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == status
    if slug is not None:
        assert body["type"] == f"urn:looma:problem:{slug}", body
    if loc is not None:
        assert loc in [e["loc"] for e in body.get("errors", [])], body
    assert not any(marker in response.text for marker in STACK_TRACE_MARKERS), response.text[:2000]
    return dict(body)


# --- the registry -----------------------------------------------------------------------------------


def test_every_registered_schema_is_valid_and_its_default_meets_it() -> None:
    assert set(REGISTRY) == {"matching/weights", "gateway/limits"}
    for key in REGISTRY.values():
        Draft202012Validator.check_schema(key.schema)
        assert key.errors(key.default()) == [], key.name


def test_matching_weights_default_lists_all_seven_dimensions() -> None:
    weights = REGISTRY["matching/weights"]

    assert sorted(weights.default()) == sorted(MATCHING_DIMENSIONS) == sorted(
        ["skills", "semantic", "experience", "education", "location", "salary", "recency"])
    assert weights.errors({"skills": 1}) == []  # a dimension left out weighs 0
    assert weights.errors({"skills": -0.1})[0]["loc"] == "body.value.skills"
    assert weights.errors({"charisma": 1})[0]["loc"] == "body.value"
    assert weights.errors({"skills": True}) != []  # JSON booleans are not numbers


def test_gateway_limits_mirror_the_gateway_settings() -> None:
    limits = REGISTRY["gateway/limits"]
    balancing = LoomaSettings.model_fields["gateway_balancing"].annotation

    assert limits.schema["properties"]["balancing"]["enum"] == list(get_args(balancing))
    settings = config_settings(Path("unused"))
    applied = GatewayLimits(rate_per_org=60, rate_per_user=30, rate_per_route={"/api/v1/chat": 10},
                            burst_seconds=2.5, balancing="weighted").applied_to(settings)
    assert (applied.gateway_rate_per_org, applied.gateway_rate_per_user, applied.gateway_rate_per_route,
            applied.gateway_rate_burst_seconds, applied.gateway_balancing) == (60, 30, {"/api/v1/chat": 10}, 2.5,
                                                                              "weighted")
    assert GatewayLimits().applied_to(settings) == settings  # the default changes nothing
    for bad in ({"rate_per_org": 0}, {"rate_per_user": 1.5}, {"rate_per_route": {"/api": 0}},
                {"rate_per_route": {"api": 5}}, {"burst_seconds": 0}, {"balancing": "random"}, {"retries": 2}):
        assert limits.errors(bad) != [], bad


# --- reading and writing -----------------------------------------------------------------------------


async def test_a_key_never_set_answers_its_default(harness: ConfigHarness) -> None:
    response = await harness.request("GET", WEIGHTS)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["value"] == REGISTRY["matching/weights"].default()
    assert (body["scope"], body["version"], body["seq"]) == ("default", 0, 0)
    assert response.headers["etag"] == '"0"'


async def test_an_org_admin_writes_the_orgs_override_and_its_recruiters_read_it(harness: ConfigHarness) -> None:
    written = await harness.put_ok(WEIGHTS, {"skills": 2, "semantic": 1}, reason="skills first")

    response = await harness.request("GET", WEIGHTS, role="recruiter")

    assert (written["scope"], written["version"], written["org_id"]) == ("org", 1, harness.orgs["a"])
    body = response.json()
    assert body["value"] == {"skills": 2, "semantic": 1}
    assert (body["scope"], body["version"], body["updated_by"]) == ("org", 1, "user-admin-a")
    assert response.headers["etag"] == f'"{written["seq"]}"'


async def test_another_orgs_admin_never_sees_the_override(harness: ConfigHarness) -> None:
    await harness.put_ok(WEIGHTS, {"skills": 9}, reason="org a only")

    read = await harness.request("GET", WEIGHTS, role="admin", org="b")
    history = await harness.request("GET", f"{WEIGHTS}/history", role="admin", org="b")
    diff = await harness.request("GET", f"{WEIGHTS}/diff", role="admin", org="b", params={"from": 1, "to": 1})
    rollback = await harness.request("POST", f"{WEIGHTS}/rollback", role="admin", org="b",
                                     json={"version": 1, "reason": "take theirs"})

    assert read.json()["scope"] == "default"
    assert read.json()["value"] != {"skills": 9}
    assert history.json() == {"items": [], "total": 0, "next_cursor": None}
    assert_problem(diff, 404, "config-version-not-found", "query.from")
    assert_problem(rollback, 404, "config-version-not-found", "body.version")


async def test_a_superadmin_sets_the_service_wide_value_under_every_orgs_override(harness: ConfigHarness) -> None:
    await harness.put_ok(WEIGHTS, {"skills": 5}, reason="org a keeps its own")

    written = await harness.put_ok(WEIGHTS, {"semantic": 3}, reason="fleet default", role="superadmin",
                                   params={"scope": "global"})

    org_b = (await harness.request("GET", WEIGHTS, org="b")).json()
    org_a = (await harness.request("GET", WEIGHTS, org="a")).json()
    global_for_a = (await harness.request("GET", WEIGHTS, org="a", params={"scope": "global"})).json()
    assert (written["scope"], written["version"]) == ("global", 1)
    assert "org_id" not in written
    assert (org_b["scope"], org_b["value"]) == ("global", {"semantic": 3})
    assert (org_a["scope"], org_a["value"]) == ("org", {"skills": 5})
    assert (global_for_a["scope"], global_for_a["value"]) == ("global", {"semantic": 3})


async def test_an_org_admin_may_not_write_the_service_wide_value(harness: ConfigHarness) -> None:
    response = await harness.put(WEIGHTS, {"skills": 1}, role="admin", params={"scope": "global"})

    assert_problem(response, 403, "global-scope-forbidden")
    assert (await harness.request("GET", WEIGHTS, org="b")).json()["scope"] == "default"


async def test_permissions_viewer_reads_nothing_recruiter_writes_nothing(harness: ConfigHarness) -> None:
    assert_problem(await harness.request("GET", WEIGHTS, role="viewer"), 403, "permission-denied")
    assert_problem(await harness.request("GET", "/api/v1/config", role="viewer"), 403, "permission-denied")
    assert_problem(await harness.put(WEIGHTS, {"skills": 1}, role="recruiter"), 403, "permission-denied")
    assert_problem(await harness.request("GET", WEIGHTS, role=None), 401, "missing-token")
    assert (await harness.request("GET", WEIGHTS, role="recruiter")).status_code == 200


async def test_a_service_token_reads_service_wide_values_or_an_orgs_by_header(harness: ConfigHarness) -> None:
    await harness.put_ok(WEIGHTS, {"skills": 4}, reason="org a")
    await harness.put_ok(WEIGHTS, {"recency": 1}, reason="fleet", role="superadmin", params={"scope": "global"})
    service = harness.service_token()

    plain = (await harness.request("GET", WEIGHTS, token=service)).json()
    for_org = (await harness.request("GET", WEIGHTS, token=service, headers={"X-Looma-Org": harness.orgs["a"]})).json()
    write = await harness.put(WEIGHTS, {"skills": 1}, token=service)

    assert (plain["scope"], plain["value"]) == ("global", {"recency": 1})
    assert (for_org["scope"], for_org["value"]) == ("org", {"skills": 4})
    assert_problem(write, 403, "permission-denied")


async def test_a_writer_with_no_org_must_name_the_global_scope(harness: ConfigHarness) -> None:
    writer = harness.service_token(CONFIG_READ, CONFIG_WRITE)  # no org in the token, none in X-Looma-Org

    response = await harness.put(WEIGHTS, {"skills": 1}, token=writer)

    assert_problem(response, 422, "validation-failed", "query.scope")


async def test_if_match_refuses_a_stale_etag(harness: ConfigHarness) -> None:
    first = await harness.request("GET", WEIGHTS, role="admin")
    etag = first.headers["etag"]
    await harness.put_ok(WEIGHTS, {"skills": 1}, reason="first", headers={"If-Match": etag})

    stale = await harness.put(WEIGHTS, {"skills": 2}, reason="second", headers={"If-Match": etag})
    foreign = await harness.put(WEIGHTS, {"skills": 2}, reason="second", headers={"If-Match": '"abc"'})
    current = (await harness.request("GET", WEIGHTS)).headers["etag"]
    fresh = await harness.put(WEIGHTS, {"skills": 3}, reason="third", headers={"If-Match": current})

    body = assert_problem(stale, 412, "version-mismatch")
    assert body["current_etag"] == current
    assert_problem(foreign, 412, "version-mismatch")
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["version"] == 2


async def test_an_org_write_based_on_a_service_wide_value_that_moved_is_refused(harness: ConfigHarness) -> None:
    seen = (await harness.request("GET", WEIGHTS, role="admin")).headers["etag"]
    await harness.put_ok(WEIGHTS, {"semantic": 1}, role="superadmin", org="b", params={"scope": "global"})

    response = await harness.put(WEIGHTS, {"skills": 1}, headers={"If-Match": seen})

    assert_problem(response, 412, "version-mismatch")


# --- bad input ---------------------------------------------------------------------------------------


async def test_a_value_failing_its_schema_answers_422_with_path_and_message(harness: ConfigHarness) -> None:
    negative = await harness.put(WEIGHTS, {"skills": -1, "semantic": 1})
    unknown = await harness.put(WEIGHTS, {"skills": 1, "charisma": 2})
    limits = await harness.put(LIMITS, {"rate_per_route": {"/api/v1/chat": 0}, "balancing": "random"})
    infinite = await harness.request("PUT", WEIGHTS, role="admin",
                                     content='{"value": {"skills": Infinity}, "reason": "x"}')

    body = assert_problem(negative, 422, "schema-violation", "body.value.skills")
    assert "minimum of 0" in body["errors"][0]["msg"]
    body = assert_problem(unknown, 422, "schema-violation", "body.value")
    assert "charisma" in body["errors"][0]["msg"]
    body = assert_problem(limits, 422, "schema-violation")
    assert {e["loc"] for e in body["errors"]} == {"body.value.rate_per_route./api/v1/chat", "body.value.balancing"}
    assert_problem(infinite, 422, "schema-violation", "body.value.skills")
    assert (await harness.request("GET", WEIGHTS)).json()["scope"] == "default"  # nothing was written


async def test_an_unknown_key_answers_404(harness: ConfigHarness) -> None:
    for method, path in (("GET", "/api/v1/config/matching/nothing"), ("GET", "/api/v1/config/nope/weights/history"),
                         ("PUT", "/api/v1/config/matching/nothing")):
        response = await harness.request(method, path, role="admin", json={"value": {}, "reason": "x"})
        assert_problem(response, 404, "config-key-not-found")
    watch = await harness.request("GET", "/api/v1/config/watch", params={"keys": "matching/weights,nope/nope"})
    assert_problem(watch, 404, "config-key-not-found")


@pytest.mark.parametrize(("content", "status", "slug", "loc"), [
    ('{"value": {"skills": 1}, "reason": ', 400, "malformed-json", None),
    ('{"value": {"skills": 1}}', 422, "validation-failed", "body.reason"),
    ('{"value": {"skills": 1}, "reason": "   "}', 422, "validation-failed", "body.reason"),
    ('{"value": {"skills": 1}, "reason": 7}', 422, "validation-failed", "body.reason"),
    (json.dumps({"value": {"skills": 1}, "reason": "x" * 501}), 422, "validation-failed", "body.reason"),
    ('{"reason": "no value"}', 422, "validation-failed", "body.value"),
    ('{"value": {"skills": 1}, "reason": "x", "scope": "global"}', 422, "validation-failed", "body.scope"),
    ('[1, 2]', 422, "validation-failed", None),
])
async def test_bad_bodies_are_refused_naming_the_field(harness: ConfigHarness, content: str, status: int, slug: str,
                                                       loc: str | None) -> None:
    response = await harness.request("PUT", WEIGHTS, role="admin", content=content)

    assert_problem(response, status, slug, loc)


async def test_bad_query_parameters_are_refused_naming_them(harness: ConfigHarness) -> None:
    cases = [
        ("GET", WEIGHTS, {"scope": "everywhere"}, "query.scope"),
        ("GET", f"{WEIGHTS}/history", {"limit": "0"}, "query.limit"),
        ("GET", f"{WEIGHTS}/history", {"cursor": "abc"}, "query.cursor"),
        ("GET", f"{WEIGHTS}/diff", {"from": "1"}, "query.to"),
        ("GET", f"{WEIGHTS}/diff", {"from": "x", "to": "1"}, "query.from"),
        ("GET", "/api/v1/config/watch", {"since": "yesterday"}, "query.since"),
        ("GET", "/api/v1/config/watch", {"timeout": "56"}, "query.timeout"),
        ("GET", "/api/v1/config/watch", {"timeout": "nan"}, "query.timeout"),
    ]
    for method, path, params, loc in cases:
        assert_problem(await harness.request(method, path, params=params), 400, None, loc)


async def test_a_rollback_body_needs_a_whole_version_and_a_reason(harness: ConfigHarness) -> None:
    for body, loc in (({"version": "1", "reason": "x"}, "body.version"),
                      ({"version": 0, "reason": "x"}, "body.version"), ({"version": 1}, "body.reason")):
        response = await harness.request("POST", f"{WEIGHTS}/rollback", role="admin", json=body)
        assert_problem(response, 422, "validation-failed", loc)


# --- history, diff, rollback -------------------------------------------------------------------------


async def test_history_lists_every_version_with_author_and_reason_page_by_page(harness: ConfigHarness) -> None:
    for skills in range(1, 6):
        await harness.put_ok(WEIGHTS, {"skills": skills}, reason=f"step {skills}")
    await harness.put_ok(WEIGHTS, {"semantic": 1}, reason="fleet", role="superadmin", org="b",
                         params={"scope": "global"})

    pages, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await harness.request("GET", f"{WEIGHTS}/history", params=params)).json()
        pages.append(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    only_org = (await harness.request("GET", f"{WEIGHTS}/history", params={"scope": "org"})).json()

    items = [item for page in pages for item in page["items"]]
    assert [len(page["items"]) for page in pages] == [2, 2, 2]
    assert all(page["total"] == 6 for page in pages)
    assert [(item["scope"], item["version"]) for item in items] == [
        ("global", 1), ("org", 5), ("org", 4), ("org", 3), ("org", 2), ("org", 1)]
    assert [item["seq"] for item in items] == sorted((item["seq"] for item in items), reverse=True)
    assert items[1]["author"] == "user-admin-a" and items[1]["reason"] == "step 5"
    assert items[1]["value"] == {"skills": 5} and items[1]["action"] == "set"
    assert items[0]["author"] == "user-superadmin-b"
    assert only_org["total"] == 5


async def test_diff_is_an_rfc6902_patch_that_turns_one_version_into_the_other(harness: ConfigHarness) -> None:
    await harness.put_ok(WEIGHTS, {"skills": 1, "semantic": 0.5, "salary": 0.2}, reason="one")
    await harness.put_ok(WEIGHTS, {"skills": 2, "semantic": 0.5, "recency": 0.2}, reason="two")

    response = await harness.request("GET", f"{WEIGHTS}/diff", params={"from": 1, "to": 2})

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["from"]["version"], body["to"]["version"], body["scope"]) == (1, 2, "org")
    operations = {(op["op"], op["path"]) for op in body["patch"]}
    assert ("replace", "/skills") in operations
    assert {op["op"] for op in body["patch"]} <= {"add", "remove", "replace"}  # a moved value reads as both
    assert ("remove", "/salary") in operations and ("add", "/recency") in operations
    assert jsonpatch.apply_patch(body["from"]["value"], body["patch"]) == body["to"]["value"]
    same = (await harness.request("GET", f"{WEIGHTS}/diff", params={"from": 2, "to": 2})).json()
    assert same["patch"] == []


async def test_rollback_makes_a_new_version_equal_to_an_old_one(harness: ConfigHarness) -> None:
    await harness.put_ok(WEIGHTS, {"skills": 1}, reason="good")
    await harness.put_ok(WEIGHTS, {"skills": 100}, reason="oops")

    response = await harness.request("POST", f"{WEIGHTS}/rollback", role="admin",
                                     json={"version": 1, "reason": "undo oops"})
    missing = await harness.request("POST", f"{WEIGHTS}/rollback", role="admin",
                                    json={"version": 9, "reason": "no such"})

    assert response.status_code == 200, response.text
    assert (response.json()["version"], response.json()["value"]) == (3, {"skills": 1})
    newest = (await harness.request("GET", f"{WEIGHTS}/history", params={"limit": 1})).json()["items"][0]
    assert (newest["action"], newest["rolled_back_to"], newest["reason"]) == ("rollback", 1, "undo oops")
    assert (await harness.request("GET", WEIGHTS)).json()["value"] == {"skills": 1}
    assert_problem(missing, 404, "config-version-not-found", "body.version")


async def test_the_listing_shows_every_key_with_schema_default_and_effective_value(harness: ConfigHarness) -> None:
    await harness.put_ok(LIMITS, {"rate_per_org": 600}, reason="busy org")

    response = await harness.request("GET", "/api/v1/config")
    only_matching = (await harness.request("GET", "/api/v1/config", params={"namespace": "matching"})).json()

    body = response.json()
    by_key = {item["key"]: item for item in body["items"]}
    assert set(by_key) == set(REGISTRY) and body["total"] == 2 and body["next_cursor"] is None
    assert by_key["gateway/limits"]["effective"]["value"] == {"rate_per_org": 600}
    assert by_key["matching/weights"]["effective"]["scope"] == "default"
    assert by_key["matching/weights"]["schema"]["additionalProperties"] is False
    assert [item["key"] for item in only_matching["items"]] == ["matching/weights"]


async def test_a_write_is_logged_without_its_value(harness: ConfigHarness) -> None:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("looma.config")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        await harness.put_ok(WEIGHTS, {"skills": 0.123456}, reason="secret-ish reason")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)

    [record] = [r for r in records if r.getMessage() == "config changed"]
    assert (record.subject, record.key, record.scope, record.version) == (  # type: ignore[attr-defined]
        "user-admin-a", "matching/weights", "org", 1)
    assert "0.123456" not in str(record.__dict__) and "secret-ish" not in str(record.__dict__)


# --- watching ----------------------------------------------------------------------------------------


async def test_a_watch_without_a_cursor_answers_every_value_at_once(harness: ConfigHarness) -> None:
    response = await harness.request("GET", "/api/v1/config/watch", params={"timeout": 20})

    assert response.status_code == 200
    body = response.json()
    assert sorted(item["key"] for item in body["items"]) == sorted(REGISTRY)
    assert body["cursor"] == "0"


async def test_a_long_poll_wakes_well_under_a_second_after_a_write(harness: ConfigHarness) -> None:
    cursor = (await harness.request("GET", "/api/v1/config/watch")).json()["cursor"]
    watching = asyncio.create_task(harness.request("GET", "/api/v1/config/watch", params={
        "keys": "matching/weights", "since": cursor, "timeout": 20}))
    await asyncio.sleep(0.3)
    assert not watching.done()

    written = await harness.put_ok(WEIGHTS, {"skills": 7}, reason="wake up")
    started = time.monotonic()
    response = await asyncio.wait_for(watching, 10)
    waited = time.monotonic() - started

    assert response.status_code == 200, response.text
    body = response.json()
    assert [(item["key"], item["value"]) for item in body["items"]] == [("matching/weights", {"skills": 7})]
    assert body["cursor"] == str(written["seq"])
    assert waited < 1.0, waited


async def test_a_quiet_long_poll_ends_with_204(harness: ConfigHarness) -> None:
    cursor = (await harness.request("GET", "/api/v1/config/watch")).json()["cursor"]

    response = await harness.request("GET", "/api/v1/config/watch", params={"since": cursor, "timeout": 0.3})

    assert response.status_code == 204
    assert response.content == b""


async def test_a_watcher_hears_nothing_of_another_orgs_override(harness: ConfigHarness) -> None:
    cursor = (await harness.request("GET", "/api/v1/config/watch", org="b")).json()["cursor"]
    watching = asyncio.create_task(harness.request("GET", "/api/v1/config/watch", org="b",
                                                   params={"since": cursor, "timeout": 1}))
    await asyncio.sleep(0.2)
    await harness.put_ok(WEIGHTS, {"skills": 3}, reason="org a only")

    response = await watching

    assert response.status_code == 204


async def test_a_watcher_under_an_override_hears_nothing_of_the_service_wide_value(harness: ConfigHarness) -> None:
    await harness.put_ok(WEIGHTS, {"skills": 3}, reason="org a's own")
    cursor = (await harness.request("GET", "/api/v1/config/watch")).json()["cursor"]
    watching = asyncio.create_task(harness.request("GET", "/api/v1/config/watch", params={
        "keys": "matching/weights", "since": cursor, "timeout": 1}))
    await asyncio.sleep(0.2)
    await harness.put_ok(WEIGHTS, {"semantic": 1}, reason="fleet", role="superadmin", params={"scope": "global"})

    assert (await watching).status_code == 204


async def test_a_write_on_one_instance_wakes_a_watcher_on_another(harness: ConfigHarness) -> None:
    other = ConfigHarness(harness.settings, issuer=harness.issuer)
    other.orgs = harness.orgs
    await other.start()
    try:
        cursor = (await other.request("GET", "/api/v1/config/watch")).json()["cursor"]
        watching = asyncio.create_task(other.request("GET", "/api/v1/config/watch", params={
            "since": cursor, "timeout": 20}))
        await asyncio.sleep(0.3)
        await harness.put_ok(LIMITS, {"balancing": "round_robin"}, reason="spread load")
        started = time.monotonic()
        response = await asyncio.wait_for(watching, 10)
        waited = time.monotonic() - started
    finally:
        await other.stop()

    assert response.status_code == 200, response.text
    assert [item["value"] for item in response.json()["items"]] == [{"balancing": "round_robin"}]
    assert waited < 1.0, waited


async def test_stopping_the_service_answers_waiting_long_polls_at_once(harness: ConfigHarness) -> None:
    cursor = (await harness.request("GET", "/api/v1/config/watch")).json()["cursor"]
    watching = asyncio.create_task(harness.request("GET", "/api/v1/config/watch", params={
        "since": cursor, "timeout": 50}))
    await asyncio.sleep(0.3)

    harness.app.ctx.feed.close()
    response = await asyncio.wait_for(watching, 5)

    # 503 on a closing connection: the watcher backs off and watches again elsewhere, instead of
    # polling this instance again at once and holding its graceful drain open.
    assert response.status_code == 503
    assert response.json()["type"] == "urn:looma:problem:service-stopping"
    assert response.headers["retry-after"] == "1"
    again = await asyncio.wait_for(harness.request("GET", "/api/v1/config/watch", params={"since": cursor}), 5)
    assert again.status_code == 503  # a poll that arrives while stopping does not wait either


def parse_events(text: str) -> list[dict[str, str]]:
    events = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line and not line.startswith(":"):
                name, _, value = line.partition(": ")
                fields[name] = value
        if "data" in fields:
            events.append(fields)
    return events


@pytest.mark.parametrize("how", ["stream-path", "accept-header"])
async def test_the_event_stream_sends_an_event_per_change(harness: ConfigHarness, how: str) -> None:
    cursor = (await harness.request("GET", "/api/v1/config/watch")).json()["cursor"]
    path = "/api/v1/config/watch/stream" if how == "stream-path" else "/api/v1/config/watch"
    streaming = asyncio.create_task(harness.request("GET", path, params={"since": cursor, "timeout": 2},
                                                    headers={"Accept": "text/event-stream"}))
    await asyncio.sleep(0.3)
    first = await harness.put_ok(WEIGHTS, {"skills": 1}, reason="one")
    await asyncio.sleep(0.1)
    second = await harness.put_ok(LIMITS, {"burst_seconds": 2}, reason="two")

    response = await asyncio.wait_for(streaming, 10)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_events(response.text)
    assert [(e["event"], json.loads(e["data"])["key"]) for e in events] == [
        ("change", "matching/weights"), ("change", "gateway/limits")]
    assert [e["id"] for e in events] == [str(first["seq"]), str(second["seq"])]
    assert json.loads(events[1]["data"])["value"] == {"burst_seconds": 2}


async def test_the_event_stream_resumes_after_last_event_id(harness: ConfigHarness) -> None:
    written = await harness.put_ok(WEIGHTS, {"skills": 1}, reason="one")
    await harness.put_ok(LIMITS, {"burst_seconds": 3}, reason="two")

    response = await harness.request("GET", "/api/v1/config/watch/stream", params={"timeout": 0.3},
                                     headers={"Last-Event-ID": str(written["seq"])})

    events = parse_events(response.text)
    assert [json.loads(e["data"])["key"] for e in events] == ["gateway/limits"]


async def test_events_reach_a_client_one_by_one_over_http(harness: ConfigHarness) -> None:
    served = ServedConfig(harness.settings, harness.issuer)
    await served.start()
    received: list[dict[str, Any]] = []
    try:
        headers = {"Authorization": f"Bearer {harness.token('recruiter')}"}
        async with httpx.AsyncClient(base_url=served.url, headers=headers, timeout=10) as client:
            params = {"keys": "matching/weights"}
            async with client.stream("GET", "/api/v1/config/watch/stream", params=params) as stream:
                lines = stream.aiter_lines()
                async for line in lines:  # no cursor: the current value first
                    if line.startswith("data: "):
                        received.append(json.loads(line[6:]))
                        break
                await harness.put_ok(WEIGHTS, {"education": 2}, reason="degrees matter")
                started = time.monotonic()
                async for line in lines:
                    if line.startswith("data: "):
                        received.append(json.loads(line[6:]))
                        break
                waited = time.monotonic() - started
    finally:
        await served.stop()

    assert [(item["scope"], item["value"]) for item in received] == [
        ("default", REGISTRY["matching/weights"].default()), ("org", {"education": 2})]
    assert waited < 1.0, waited


# --- on the servers ----------------------------------------------------------------------------------


@pytest.mark.server
async def test_on_postgresql_and_redis_concurrent_writes_queue_and_wake_other_instances(
        postgres_url: str, redis_server_url: str, tmp_path: Path) -> None:
    settings = config_settings(tmp_path, database_url=postgres_url, redis_url=redis_server_url)
    await asyncio.to_thread(upgrade, settings.sqlalchemy_url)
    first = ConfigHarness(settings)
    second = ConfigHarness(settings, issuer=first.issuer)
    second.orgs = first.orgs
    await first.start()
    await second.start()
    try:
        writes = await asyncio.gather(*(
            (first if i % 2 else second).put(WEIGHTS, {"skills": i}, reason=f"racer {i}") for i in range(1, 11)))
        assert [w.status_code for w in writes] == [200] * 10
        assert sorted(w.json()["version"] for w in writes) == list(range(1, 11))
        seqs = sorted(w.json()["seq"] for w in writes)
        assert seqs == list(range(seqs[0], seqs[0] + 10))  # one change number each, none skipped

        cursor = (await second.request("GET", "/api/v1/config/watch")).json()["cursor"]
        assert cursor == str(seqs[-1])
        watching = asyncio.create_task(second.request("GET", "/api/v1/config/watch", params={
            "since": cursor, "timeout": 20}))
        await asyncio.sleep(0.3)
        await first.put_ok(WEIGHTS, {"skills": 99}, reason="last", role="superadmin", params={"scope": "global"})
        await first.put_ok(WEIGHTS, {"skills": 1}, reason="again")
        started = time.monotonic()
        response = await asyncio.wait_for(watching, 10)
        waited = time.monotonic() - started
        rolled = await second.request("POST", f"{WEIGHTS}/rollback", role="admin",
                                      json={"version": 3, "reason": "back to three"})
        diff = (await second.request("GET", f"{WEIGHTS}/diff", params={"from": 3, "to": 11})).json()
    finally:
        await second.stop()
        await first.stop()

    assert response.status_code == 200, response.text
    assert response.json()["items"][0]["scope"] == "org"
    assert waited < 1.0, waited
    assert rolled.status_code == 200, rolled.text
    assert rolled.json()["version"] == 12
    assert jsonpatch.apply_patch(diff["from"]["value"], diff["patch"]) == diff["to"]["value"]
