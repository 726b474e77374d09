"""The monitor service through its API, against a fake fleet on loopback.

The fleet is real HTTP: a fake gateway (aiohttp.web) that hands out a service token and lists its
registry, and fake instances that answer /ready, /health and /metrics from a real
prometheus_client registry (ServiceMetrics, as every service has). Webhook targets are one
aiohttp.web receiver that records what each path received, plus a closed port and a path that
never answers. The monitor app runs its listeners once (as CrmHarness in test_crm_entities.py
does) and is driven by plain ASGI requests and by calling its cycle directly, on a clock the test
moves: `for` durations and retry delays pass without waiting.
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiohttp import web
from sanic import Sanic

from ai_services.monitor_service.app import MonitorService
from ai_services.monitor_service.service import Monitor
from ai_services.monitor_service.settings import MonitorSettings
from ai_services.monitor_service.tables import metadata as monitor_metadata
from shared.config import LoomaSettings
from shared.database.outbox import outbox_events
from shared.database.schema import upgrade
from shared.fleet import instance_id
from shared.monitoring.metrics import ServiceMetrics
from shared.service.problems import PROBLEM_JSON
from tests.harness import ServiceHarness
from tests.clock import FakeClock
from tests.tokens import TestIssuer

Sanic.test_mode = True
pytestmark = pytest.mark.asyncio(loop_scope="module")

FLEET_TOKEN = "fleet-token-" + uuid.uuid4().hex[:8]
FLEET_SECRET = "monitor-test-secret-0123456789"
STACK_TRACE_MARKERS = ("Traceback", 'File "', "sqlalchemy", "sqlite3.", "site-packages")


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


# --- the fake fleet ---------------------------------------------------------------------------------


@dataclass
class FakeInstance:
    """One service instance: /ready as `ready` says, /health with `uptime`, /metrics from `metrics`."""

    service: str
    url: str = ""
    ready: bool = True
    uptime: float | None = 321.5
    metrics: ServiceMetrics = field(init=False)
    runner: web.AppRunner | None = None

    def __post_init__(self) -> None:
        self.metrics = ServiceMetrics(self.service)

    @property
    def instance_id(self) -> str:
        return instance_id(self.service, self.url)

    def answer(self, count: int, seconds: float, status: int = 200) -> None:
        for _ in range(count):
            self.metrics.observe("GET", "/api/v1/things", status, seconds)

    def application(self) -> web.Application:
        async def ready(request: web.Request) -> web.Response:
            checks = {"database": {"ok": True, "backend": "sqlite"}, "model": {"ok": self.ready}}
            return web.json_response({"status": "ready" if self.ready else "not_ready", "service": self.service,
                                      "checks": checks}, status=200 if self.ready else 503)

        async def health(request: web.Request) -> web.Response:
            body: dict[str, Any] = {"status": "ok", "service": self.service}
            if self.uptime is not None:
                body["uptime_s"] = self.uptime
            return web.json_response(body)

        async def metrics(request: web.Request) -> web.Response:
            payload, content_type = self.metrics.exposition()
            return web.Response(body=payload, headers={"Content-Type": content_type})

        app = web.Application()
        app.router.add_get("/ready", ready)
        app.router.add_get("/health", health)
        app.router.add_get("/metrics", metrics)
        return app


class FakeGateway(FakeInstance):
    """The gateway: a token for the fleet's client credentials, its registry, and its own probes."""

    def __init__(self) -> None:
        super().__init__("gateway")
        self.listing: list[dict[str, Any]] = []  # {"service", "instance_id", "url", **InstanceView fields}
        self.listing_status = 200
        self.authorizations: list[str | None] = []
        self.token_requests: list[dict[str, Any]] = []

    def application(self) -> web.Application:
        app = super().application()

        async def token(request: web.Request) -> web.Response:
            self.token_requests.append(await request.json())
            return web.json_response({"access_token": FLEET_TOKEN, "token_type": "Bearer", "expires_in": 900})

        async def services(request: web.Request) -> web.Response:
            self.authorizations.append(request.headers.get("Authorization"))
            if request.headers.get("Authorization") != f"Bearer {FLEET_TOKEN}":
                return web.json_response({"status": 401}, status=401)
            if self.listing_status != 200:
                return web.json_response({"status": self.listing_status}, status=self.listing_status)
            grouped: dict[str, list[dict[str, Any]]] = {}
            for entry in self.listing:
                view = {"status": "healthy", "static": False, "weight": 1, "in_flight": 0, "breaker": "closed",
                        "ejected": False, "check_failed": False, "latency_ewma_ms": 3.5, "last_heartbeat_age_s": 1.0}
                view.update({k: v for k, v in entry.items() if k != "service"})
                grouped.setdefault(entry["service"], []).append(view)
            items = [{"service": name, "status": "healthy", "strategy": "p2c", "prefixes": [f"/api/v1/{name}"],
                      "instances": views} for name, views in grouped.items()]
            return web.json_response({"items": items, "total": len(items)})

        app.router.add_post("/api/v1/auth/token", token)
        app.router.add_get("/api/v1/services", services)
        return app

    def register(self, instance: FakeInstance, **view: Any) -> None:
        self.listing.append({"service": instance.service, "instance_id": instance.instance_id, "url": instance.url,
                             **view})


@dataclass
class Delivery:
    path: str
    body: Any


class Receiver:
    """Webhook targets: records each POST by path. /hang never answers, /bad answers 400."""

    def __init__(self) -> None:
        self.url = ""
        self.received: list[Delivery] = []
        self.release = asyncio.Event()
        self.arrived = asyncio.Event()

    def at(self, path: str) -> list[Any]:
        return [d.body for d in self.received if d.path == path]

    def application(self) -> web.Application:
        async def receive(request: web.Request) -> web.Response:
            self.received.append(Delivery(request.path, await request.json()))
            self.arrived.set()
            if request.path == "/hang":
                await self.release.wait()
            if request.path == "/bad":
                return web.json_response({"error": "unknown channel"}, status=400)
            if request.path in ("/wecom", "/dingtalk"):
                return web.json_response({"errcode": 0, "errmsg": "ok"})
            if request.path == "/wecom-refuses":
                return web.json_response({"errcode": 93000, "errmsg": "invalid webhook url"})
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_post("/{tail:.*}", receive)
        return app


# --- the harness ------------------------------------------------------------------------------------


class MonitorHarness(ServiceHarness):
    """One monitor app with its listeners run once, and ASGI requests with test tokens."""

    host = "monitor.test"

    def __init__(self, settings: LoomaSettings, config: MonitorSettings) -> None:
        super().__init__(QuietMonitorService(settings, config).create_app())
        self.issuer = TestIssuer()
        self.issuer.install(self.app)

    @property
    def monitor(self) -> Monitor:
        return self.app.ctx.monitor

    async def request(self, method: str, path: str, *, role: str | None = "superadmin",
                      token: str | None = None, **kwargs: Any) -> httpx.Response:
        if token is None and role is not None:
            token = self.issuer.token(role=role, org="org-ops", subject=f"user-{role}")
        return await self.send(method, path, token=token, client_ip="10.9.8.7", **kwargs)


class QuietMonitorService(MonitorService):
    """The monitor without self-registration: the fake gateway has a registry to show, not to keep."""

    registers_with_gateway = False


def monitor_settings(**overrides: Any) -> MonitorSettings:
    values: dict[str, Any] = {"_env_file": None, "interval": 0, "window": 60, "scrape_timeout": 2.0,
                              "notify_timeout": 0.5, "notify_attempts": 3, "notify_backoff": 10.0,
                              "notify_backoff_max": 100.0}
    values.update(overrides)
    return MonitorSettings(**values)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("monitor")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gateway() -> AsyncIterator[FakeGateway]:
    fake = FakeGateway()
    fake.runner, fake.url = await serve(fake.application())
    yield fake
    await fake.runner.cleanup()


@pytest.fixture(scope="module")
def settings(data_dir: Path, gateway: FakeGateway) -> LoomaSettings:
    values: dict[str, Any] = {"_env_file": None, "data_dir": data_dir, "env": "test", "database_url": None,
                              "redis_url": None, "gateway_url": gateway.url, "auth_url": None,
                              "service_client_secret": FLEET_SECRET, "public_url": "https://looma.example.com",
                              "log_level": "WARNING"}
    settings = LoomaSettings(**values)
    upgrade(settings.sqlalchemy_url)
    return settings


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def harness(settings: LoomaSettings) -> AsyncIterator[MonitorHarness]:
    running = MonitorHarness(settings, monitor_settings())
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    fake = Receiver()
    runner, fake.url = await serve(fake.application())
    yield fake
    fake.release.set()
    await runner.cleanup()


@dataclass
class Fleet:
    """One test's world: a fresh monitor (empty tables, no history), its clock and its instances."""

    harness: MonitorHarness
    gateway: FakeGateway
    receiver: Receiver
    clock: FakeClock
    runners: list[web.AppRunner] = field(default_factory=list)

    @property
    def monitor(self) -> Monitor:
        return self.harness.monitor

    async def instance(self, service: str, **view: Any) -> FakeInstance:
        fake = FakeInstance(service)
        fake.runner, fake.url = await serve(fake.application())
        self.runners.append(fake.runner)
        self.gateway.register(fake, **view)
        return fake

    def unreachable(self, service: str, **view: Any) -> str:
        url = f"http://127.0.0.1:{closed_port()}"
        self.gateway.listing.append({"service": service, "instance_id": instance_id(service, url), "url": url,
                                     "status": "unhealthy", **view})
        return instance_id(service, url)

    async def cycle(self, advance: float = 0.0) -> Any:
        self.clock.advance(advance)
        return await self.monitor.cycle()

    async def deliver(self) -> None:
        await self.monitor.courier.dispatch()
        await self.monitor.courier.drain()

    async def rule(self, expression: str, name: str | None = None, **fields: Any) -> dict[str, Any]:
        body = {"name": name or f"rule-{uuid.uuid4().hex[:6]}", "expression": expression, **fields}
        response = await self.harness.request("POST", "/api/v1/monitor/rules", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    async def webhook(self, name: str, path: str, format: str = "generic") -> dict[str, Any]:
        url = path if path.startswith("http") else f"{self.receiver.url}{path}"
        response = await self.harness.request("POST", "/api/v1/monitor/webhooks",
                                              json={"name": name, "url": url, "format": format})
        assert response.status_code == 201, response.text
        return response.json()

    async def alerts(self, **params: Any) -> dict[str, Any]:
        response = await self.harness.request("GET", "/api/v1/monitor/alerts", params=params, role="admin")
        assert response.status_code == 200, response.text
        return response.json()

    async def notifications(self, **params: Any) -> list[dict[str, Any]]:
        response = await self.harness.request("GET", "/api/v1/monitor/notifications", params=params, role="admin")
        assert response.status_code == 200, response.text
        return response.json()["items"]


@pytest_asyncio.fixture(loop_scope="module")
async def fleet(harness: MonitorHarness, gateway: FakeGateway, receiver: Receiver,
                settings: LoomaSettings) -> AsyncIterator[Fleet]:
    async with harness.app.ctx.store.relational.write() as conn:
        for table in reversed(monitor_metadata.sorted_tables):
            await conn.execute(table.delete())
        await conn.execute(outbox_events.delete())
    old = harness.app.ctx.monitor
    await old.close()
    harness.app.ctx.monitor = Monitor(settings, old.config, harness.app.ctx.service_token,
                                      lambda: harness.app.ctx.store)
    clock = FakeClock(time.time())
    harness.app.ctx.monitor.clock = clock
    gateway.listing.clear()
    gateway.listing_status = 200
    gateway.metrics = ServiceMetrics("gateway")
    receiver.received.clear()
    world = Fleet(harness, gateway, receiver, clock)
    try:
        yield world
    finally:
        await harness.app.ctx.monitor.close()  # gives the evaluation lease back for the next test
        for runner in world.runners:
            await runner.cleanup()


def assert_problem(response: httpx.Response, status: int, slug: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == status
    if slug is not None:
        assert body["type"] == f"urn:looma:problem:{slug}", body
    assert not any(marker in response.text for marker in STACK_TRACE_MARKERS), response.text
    return body


# --- the fleet view ---------------------------------------------------------------------------------


async def test_the_fleet_view_shows_every_service_and_instance(fleet: Fleet) -> None:
    crm_a = await fleet.instance("crm", breaker="closed")
    crm_b = await fleet.instance("crm", breaker="open", status="unhealthy")
    crm_b.ready = False
    crm_b.uptime = None  # an older build without uptime on /health
    auth_down = fleet.unreachable("auth")
    crm_a.answer(500, 0.002)  # before the window: must not count

    first = await fleet.harness.request("GET", "/api/v1/monitor/fleet", role="admin")
    crm_a.answer(75, 0.03)
    crm_a.answer(5, 0.03, status=404)
    crm_a.answer(15, 0.3)
    crm_a.answer(5, 0.3, status=503)
    fleet.clock.advance(30)
    response = await fleet.harness.request("GET", "/api/v1/monitor/fleet", role="admin")

    assert first.status_code == 200, first.text
    assert response.status_code == 200, response.text
    view = response.json()
    services = {s["service"]: s for s in view["services"]}
    assert sorted(services) == ["auth", "crm", "gateway"]
    assert view["total"] == 3
    assert view["status"] == "degraded"
    assert view["gateway"] == {"url": fleet.gateway.url, "reachable": True, "error": None}

    crm = services["crm"]
    assert (crm["status"], crm["instances_up"], crm["instances_total"]) == ("degraded", 1, 2)
    assert crm["requests"] == 100
    assert crm["error_rate"] == pytest.approx(0.05)
    assert crm["latency_p50_seconds"] == pytest.approx(0.025 + 0.025 * 50 / 80, abs=1e-4)
    assert crm["latency_p95_seconds"] == pytest.approx(0.25 + 0.25 * 15 / 20, abs=1e-4)
    assert crm["uptime_seconds"] == 321.5
    instances = {i["instance_id"]: i for i in crm["instances"]}
    up, not_ready = instances[crm_a.instance_id], instances[crm_b.instance_id]
    assert (up["status"], up["uptime_seconds"], up["uptime_source"]) == ("up", 321.5, "health")
    assert up["error_rate"] == pytest.approx(0.05)
    assert up["registry"]["breaker"] == "closed"
    assert not_ready["status"] == "not_ready"
    assert not_ready["checks"]["model"] == {"ok": False}
    assert (not_ready["uptime_seconds"], not_ready["uptime_source"]) == (30.0, "first_seen")
    assert not_ready["registry"]["breaker"] == "open"
    assert not_ready["requests"] == 0 and not_ready["error_rate"] is None

    auth = services["auth"]
    assert (auth["status"], auth["instances_up"]) == ("down", 0)
    down = auth["instances"][0]
    assert down["instance_id"] == auth_down
    assert down["status"] == "down" and "ClientConnectorError" in down["error"]
    assert down["uptime_seconds"] is None

    gateway = services["gateway"]["instances"][0]
    assert (gateway["url"], gateway["status"], gateway["registry"]) == (fleet.gateway.url, "up", None)

    assert view["outbox"] == {"pending": 0, "dead": 0, "lag_seconds": 0.0}
    assert 0 < view["disk"]["free_ratio"] <= 1
    assert view["disk"]["total_bytes"] > 0
    assert view["window_seconds"] == 60
    # The registry was read with the fleet's service token, from the gateway's client-credentials grant.
    assert fleet.gateway.authorizations[-1] == f"Bearer {FLEET_TOKEN}"
    assert fleet.gateway.token_requests[-1]["client_secret"] == FLEET_SECRET


async def test_the_fleet_view_says_when_the_gateway_cannot_be_read(fleet: Fleet) -> None:
    await fleet.instance("crm")
    fleet.gateway.listing_status = 500

    response = await fleet.harness.request("GET", "/api/v1/monitor/fleet", role="admin")

    assert response.status_code == 200, response.text
    view = response.json()
    assert view["gateway"]["reachable"] is False
    assert "answered 500" in view["gateway"]["error"]
    assert view["status"] == "degraded"
    assert [s["service"] for s in view["services"]] == ["gateway"]  # only what can be known without the registry


# --- alerts -----------------------------------------------------------------------------------------


async def test_an_alert_goes_pending_then_firing_then_resolved_and_both_are_announced(fleet: Fleet) -> None:
    crm = await fleet.instance("crm")
    crm.ready = False
    await fleet.webhook("ops", "/generic")
    rule = await fleet.rule('instance_down{service="crm"} > 0 for 1m', name="CrmDown", severity="critical",
                            description="Restart it.")

    await fleet.cycle()
    pending = await fleet.alerts(state="pending")
    await fleet.cycle(advance=30)
    still_pending = await fleet.alerts(state="pending")
    await fleet.cycle(advance=31)
    firing = await fleet.alerts(state="firing")
    await fleet.deliver()
    crm.ready = True
    await fleet.cycle(advance=15)
    resolved = await fleet.alerts(state="resolved")
    await fleet.deliver()

    assert pending["total"] == 1 and still_pending["total"] == 1
    alert = pending["items"][0]
    assert (alert["rule_name"], alert["rule_id"], alert["severity"]) == ("CrmDown", rule["id"], "critical")
    assert alert["labels"] == {"service": "crm", "instance": crm.instance_id}
    assert alert["fired_at"] is None
    assert firing["total"] == 1 and firing["items"][0]["id"] == alert["id"]
    assert firing["items"][0]["fired_at"] is not None
    assert firing["next_cursor"] is None
    assert resolved["total"] == 1 and resolved["items"][0]["id"] == alert["id"]
    assert resolved["items"][0]["resolved_at"] is not None
    assert (await fleet.alerts(state="firing"))["total"] == 0

    announced = fleet.receiver.at("/generic")
    assert [body["status"] for body in announced] == ["firing", "resolved"]
    first, last = announced
    assert first["version"] == "4" and first["receiver"] == "ops"
    sent = first["alerts"][0]
    assert sent["labels"] == {"alertname": "CrmDown", "severity": "critical", "service": "crm",
                              "instance": crm.instance_id}
    assert sent["annotations"]["description"] == "Restart it."
    assert sent["annotations"]["summary"].startswith('instance_down{instance="')
    assert sent["endsAt"] == "0001-01-01T00:00:00Z"
    assert sent["generatorURL"] == f"https://looma.example.com/api/v1/monitor/alerts/{alert['id']}"
    assert last["alerts"][0]["endsAt"] == resolved["items"][0]["resolved_at"]
    assert last["alerts"][0]["startsAt"] == sent["startsAt"] == firing["items"][0]["fired_at"]
    records = await fleet.notifications(alert_id=alert["id"])
    assert sorted((n["event"], n["status"], n["attempts"]) for n in records) == [
        ("firing", "sent", 1), ("resolved", "sent", 1)]
    assert all(n["deliveries"][0]["status_code"] == 200 for n in records)


async def test_a_condition_that_clears_while_pending_leaves_nothing_behind(fleet: Fleet) -> None:
    crm = await fleet.instance("crm")
    crm.ready = False
    await fleet.webhook("ops", "/generic")
    await fleet.rule("instance_down > 0 for 5m")

    await fleet.cycle()
    crm.ready = True
    await fleet.cycle(advance=20)
    await fleet.deliver()

    assert (await fleet.alerts())["total"] == 0
    assert fleet.receiver.at("/generic") == []


async def test_alerts_are_deduplicated_by_rule_and_labels(fleet: Fleet) -> None:
    first, second = await fleet.instance("crm"), await fleet.instance("crm")
    first.ready = second.ready = False
    await fleet.webhook("ops", "/generic")
    await fleet.rule('instance_down{service="crm"} > 0', name="CrmDown")

    for _ in range(4):
        await fleet.cycle(advance=15)
    await fleet.deliver()
    firing = await fleet.alerts(state="firing")
    first.ready = second.ready = True
    await fleet.cycle(advance=15)
    first.ready = False
    await fleet.cycle(advance=15)
    await fleet.deliver()
    again = await fleet.alerts(state="firing")

    assert firing["total"] == 2  # one per instance, however many evaluations saw them
    assert {a["labels"]["instance"] for a in firing["items"]} == {first.instance_id, second.instance_id}
    assert len(fleet.receiver.at("/generic")) == 2 + 2 + 1  # two fired, two resolved, one fired again
    assert again["total"] == 1
    assert again["items"][0]["id"] not in {a["id"] for a in firing["items"]}  # a new episode, a new alert
    page = await fleet.alerts(limit=2)
    rest = await fleet.alerts(limit=2, cursor=page["next_cursor"])
    assert page["total"] == 3 and len(page["items"]) == 2 and page["next_cursor"]
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert {a["id"] for a in page["items"] + rest["items"]} == {*(a["id"] for a in firing["items"]),
                                                               again["items"][0]["id"]}


async def test_a_registry_that_cannot_be_read_neither_resolves_nor_fires_instance_alerts(fleet: Fleet) -> None:
    crm = await fleet.instance("crm")
    crm.ready = False
    await fleet.webhook("ops", "/generic")
    await fleet.rule("instance_down > 0", name="Down")

    await fleet.cycle()
    fleet.gateway.listing_status = 503
    await fleet.cycle(advance=15)
    during = await fleet.alerts(state="firing")
    fleet.gateway.listing_status = 200
    crm.ready = True
    await fleet.cycle(advance=15)
    await fleet.deliver()

    assert [a["labels"]["instance"] for a in during["items"]] == [crm.instance_id]
    assert [b["status"] for b in fleet.receiver.at("/generic")] == ["firing", "resolved"]


async def test_each_kind_of_reading_reaches_its_rule(fleet: Fleet) -> None:
    crm = await fleet.instance("crm")
    chat = await fleet.instance("chat", breaker="open")
    async with fleet.harness.app.ctx.store.relational.write() as conn:
        await conn.execute(outbox_events.insert().values(
            created_at=time.time() - 120, org_id="org-x", entity_type="talent", entity_id="t1", version=1,
            operation="upsert", payload={}, status="pending", attempts=0, next_attempt_at=time.time()))
    await fleet.rule('error_rate{service="crm"} > 0.04', name="Errors")
    await fleet.rule('latency_p95{service="crm"} > 0.4', name="Slow")
    await fleet.rule('latency_p50{service="crm"} > 0.4', name="SlowMedian")
    await fleet.rule("breaker_open > 0", name="Breaker")
    await fleet.rule("outbox_lag_seconds > 60", name="Lag")
    await fleet.rule("disk_free_ratio <= 1", name="Disk")
    await fleet.rule("disk_free_ratio < 0", name="NoDisk")
    await fleet.rule("instance_down > 0", name="Down")

    await fleet.cycle()
    crm.answer(80, 0.03)
    crm.answer(15, 0.3)
    crm.answer(5, 0.3, status=500)
    await fleet.cycle(advance=20)

    listed = (await fleet.alerts(state="firing"))["items"]
    firing = {(a["rule_name"], a["labels"].get("instance", "")): a for a in listed}
    assert set(firing) == {("Errors", ""), ("Slow", ""), ("Breaker", chat.instance_id), ("Lag", ""), ("Disk", "")}
    assert firing[("Errors", "")]["value"] == pytest.approx(0.05)
    assert firing[("Errors", "")]["labels"] == {"service": "crm"}
    assert firing[("Slow", "")]["value"] == pytest.approx(0.25 + 0.25 * 15 / 20)
    assert firing[("Lag", "")]["value"] == pytest.approx(120, abs=10)
    assert firing[("Breaker", chat.instance_id)]["labels"] == {"service": "chat", "instance": chat.instance_id}


async def test_a_silence_keeps_an_alert_listed_but_quiet_until_it_ends(fleet: Fleet) -> None:
    crm = await fleet.instance("crm")
    crm.ready = False
    await fleet.webhook("ops", "/generic")
    await fleet.rule("instance_down > 0", name="Down")
    ends = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(fleet.clock.now + 3600))
    created = await fleet.harness.request("POST", "/api/v1/monitor/silences", json={
        "rule": "Down", "labels": {"service": "crm"}, "ends_at": ends, "comment": "deploying crm"})
    assert created.status_code == 201, created.text
    silence = created.json()

    await fleet.cycle()
    await fleet.deliver()
    quiet = (await fleet.alerts(state="firing"))["items"]
    expired = await fleet.harness.request("DELETE", f"/api/v1/monitor/silences/{silence['id']}")
    await fleet.cycle(advance=15)
    await fleet.deliver()
    loud = (await fleet.alerts(state="firing"))["items"]

    assert (silence["state"], silence["author"], silence["created_by"]) == ("active", "user-superadmin",
                                                                           "user-superadmin")
    assert len(quiet) == 1
    assert quiet[0]["silenced"] is True and quiet[0]["silenced_by"] == [silence["id"]]
    assert quiet[0]["notified"] is False
    assert expired.status_code == 204
    assert loud[0]["id"] == quiet[0]["id"] and loud[0]["silenced"] is False
    assert [body["status"] for body in fleet.receiver.at("/generic")] == ["firing"]  # announced once it ended
    listed = await fleet.harness.request("GET", "/api/v1/monitor/silences", params={"expired": "true"}, role="admin")
    assert [s["state"] for s in listed.json()["items"]] == ["expired"]


async def test_a_silence_matching_other_labels_does_not_quiet_an_alert(fleet: Fleet) -> None:
    crm = await fleet.instance("crm")
    crm.ready = False
    await fleet.webhook("ops", "/generic")
    await fleet.rule("instance_down > 0", name="Down")
    ends = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(fleet.clock.now + 3600))
    created = await fleet.harness.request("POST", "/api/v1/monitor/silences", json={
        "labels": {"service": "chat"}, "ends_at": ends, "comment": "chat maintenance", "author": "ops-lead"})

    await fleet.cycle()
    await fleet.deliver()

    assert created.status_code == 201 and created.json()["author"] == "ops-lead"
    assert (await fleet.alerts(state="firing"))["items"][0]["silenced"] is False
    assert len(fleet.receiver.at("/generic")) == 1


async def test_a_silenced_alert_that_resolves_sends_nothing(fleet: Fleet) -> None:
    crm = await fleet.instance("crm")
    crm.ready = False
    await fleet.webhook("ops", "/generic")
    await fleet.rule("instance_down > 0", name="Down")
    ends = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(fleet.clock.now + 3600))
    await fleet.harness.request("POST", "/api/v1/monitor/silences", json={
        "rule": "Down", "ends_at": ends, "comment": "known"})

    await fleet.cycle()
    crm.ready = True
    await fleet.cycle(advance=15)
    await fleet.deliver()

    assert (await fleet.alerts(state="resolved"))["total"] == 1
    assert fleet.receiver.at("/generic") == []


# --- notifications ----------------------------------------------------------------------------------


async def test_each_webhook_format_reaches_its_receiver(fleet: Fleet) -> None:
    crm = await fleet.instance("crm")
    crm.ready = False
    for format in ("generic", "wecom", "dingtalk", "slack"):
        await fleet.webhook(f"to-{format}", f"/{format}", format)
    await fleet.rule('instance_down{service="crm"} > 0', name="CrmDown", severity="critical",
                     targets=["to-generic", "to-wecom", "to-dingtalk", "to-slack"])

    await fleet.cycle()
    await fleet.deliver()

    generic, = fleet.receiver.at("/generic")
    assert generic["status"] == "firing" and generic["alerts"][0]["labels"]["alertname"] == "CrmDown"
    wecom, = fleet.receiver.at("/wecom")
    assert wecom["msgtype"] == "markdown" and set(wecom["markdown"]) == {"content"}
    assert "FIRING" in wecom["markdown"]["content"] and "CrmDown" in wecom["markdown"]["content"]
    assert crm.instance_id in wecom["markdown"]["content"]
    dingtalk, = fleet.receiver.at("/dingtalk")
    assert dingtalk["msgtype"] == "markdown"
    assert dingtalk["markdown"]["title"] == "[FIRING] CrmDown"
    assert dingtalk["markdown"]["text"].startswith("### [FIRING] CrmDown")
    assert "- **severity**: critical" in dingtalk["markdown"]["text"]
    slack, = fleet.receiver.at("/slack")
    assert slack["text"].startswith("[FIRING] CrmDown (critical): ")
    assert "&gt;" in slack["text"] and ">" not in slack["text"]  # mrkdwn escapes its control characters
    assert slack["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": "[FIRING] CrmDown"}}
    assert {"type": "mrkdwn", "text": "*service*\ncrm"} in slack["blocks"][2]["fields"]
    assert {n["status"] for n in await fleet.notifications()} == {"sent"}


async def test_a_target_that_is_down_or_hangs_blocks_neither_evaluation_nor_other_targets(fleet: Fleet) -> None:
    crm = await fleet.instance("crm")
    crm.ready = False
    await fleet.webhook("dead", f"http://127.0.0.1:{closed_port()}/hook")
    await fleet.webhook("hangs", "/hang")
    await fleet.webhook("live", "/generic")
    await fleet.rule("instance_down > 0", name="Down")
    fleet.receiver.release.clear()
    fleet.receiver.arrived.clear()

    await fleet.cycle()
    await fleet.monitor.courier.dispatch()
    await asyncio.wait_for(fleet.receiver.arrived.wait(), 5)
    evaluated = await asyncio.wait_for(fleet.cycle(advance=15), 5)  # while /hang is still being waited on
    await fleet.monitor.courier.drain()
    first = {n["webhook_name"]: n for n in await fleet.notifications()}
    fleet.clock.advance(10)  # the first retry is due after notify_backoff
    await fleet.deliver()
    fleet.clock.advance(20)  # the second after twice that: the third attempt is the last
    await fleet.deliver()
    last = {n["webhook_name"]: n for n in await fleet.notifications()}

    assert evaluated is not None and evaluated.fired == []  # the evaluation ran; the alert was firing already
    assert len(fleet.receiver.at("/generic")) == 1
    assert first["live"]["status"] == "sent"
    assert (first["dead"]["status"], first["dead"]["attempts"]) == ("pending", 1)
    assert "ClientConnectorError" in first["dead"]["last_error"]
    assert first["dead"]["deliveries"][0]["status_code"] is None
    assert (first["hangs"]["status"], first["hangs"]["last_error"]) == ("pending", "no answer within 0.5s")
    assert (last["dead"]["status"], last["dead"]["attempts"]) == ("failed", 3)
    assert [d["attempt"] for d in last["dead"]["deliveries"]] == [1, 2, 3]
    assert last["hangs"]["status"] == "failed"
    assert last["live"]["attempts"] == 1  # delivered once, never again
    fleet.receiver.release.set()


async def test_an_answer_retrying_cannot_change_gives_up_at_once(fleet: Fleet) -> None:
    crm = await fleet.instance("crm")
    crm.ready = False
    await fleet.webhook("wrong-channel", "/bad")
    await fleet.webhook("wrong-key", "/wecom-refuses", "wecom")
    await fleet.rule("instance_down > 0", name="Down")

    await fleet.cycle()
    await fleet.deliver()

    records = {n["webhook_name"]: n for n in await fleet.notifications()}
    assert (records["wrong-channel"]["status"], records["wrong-channel"]["attempts"]) == ("failed", 1)
    assert records["wrong-channel"]["last_error"].startswith("answered 400")
    # WeCom answers 200 with an errcode: a refusal all the same, and one worth retrying.
    assert (records["wrong-key"]["status"], records["wrong-key"]["last_error"]) == (
        "pending", "errcode 93000: invalid webhook url")


async def test_the_background_loop_evaluates_and_delivers(settings: LoomaSettings, gateway: FakeGateway,
                                                          receiver: Receiver) -> None:
    fake = FakeInstance("crm")
    fake.ready = False
    runner, fake.url = await serve(fake.application())
    gateway.listing[:] = [{"service": "crm", "instance_id": fake.instance_id, "url": fake.url}]
    receiver.received.clear()
    looping = MonitorHarness(settings, monitor_settings(interval=0.2))
    await looping.start()
    task = looping.app.get_task("monitor-evaluation", raise_exception=False)
    try:
        async with looping.app.ctx.store.relational.write() as conn:
            for table in reversed(monitor_metadata.sorted_tables):
                await conn.execute(table.delete())
        await looping.request("POST", "/api/v1/monitor/webhooks",
                              json={"name": "ops", "url": f"{receiver.url}/loop", "format": "generic"})
        rule = await looping.request("POST", "/api/v1/monitor/rules",
                                     json={"name": "LoopDown", "expression": "instance_down > 0"})
        assert rule.status_code == 201, rule.text
        for _ in range(200):
            if receiver.at("/loop"):
                break
            await asyncio.sleep(0.05)
    finally:
        await looping.stop()
        await runner.cleanup()
        gateway.listing.clear()

    assert [body["alerts"][0]["labels"]["alertname"] for body in receiver.at("/loop")] == ["LoopDown"]
    assert task is not None and task.done()  # the loop stops with the app


@pytest.fixture
def postgres_settings(postgres_url: str, tmp_path: Path, gateway: FakeGateway) -> LoomaSettings:
    """A fresh PostgreSQL database, migrated; the cache (and so the lease) stays in this test's directory."""
    settings = LoomaSettings(_env_file=None, data_dir=tmp_path, env="test",  # type: ignore[call-arg]
                             database_url=postgres_url, redis_url=None, gateway_url=gateway.url,
                             service_client_secret=FLEET_SECRET, log_level="WARNING")
    upgrade(settings.sqlalchemy_url)
    return settings


@pytest.mark.server
async def test_alerts_and_notifications_on_postgresql(postgres_settings: LoomaSettings, gateway: FakeGateway,
                                                      receiver: Receiver) -> None:
    """The same queries on the server database."""
    settings = postgres_settings
    fake = FakeInstance("crm")
    fake.ready = False
    runner, fake.url = await serve(fake.application())
    gateway.listing[:] = [{"service": "crm", "instance_id": fake.instance_id, "url": fake.url}]
    receiver.received.clear()
    server = MonitorHarness(settings, monitor_settings())
    await server.start()
    clock = server.monitor.clock = FakeClock(time.time())
    try:
        defaults = (await server.request("GET", "/api/v1/monitor/rules")).json()
        for rule in defaults["items"]:
            await server.request("DELETE", f"/api/v1/monitor/rules/{rule['id']}")
        await server.request("POST", "/api/v1/monitor/webhooks",
                             json={"name": "ops", "url": f"{receiver.url}/pg", "format": "generic"})
        await server.request("POST", "/api/v1/monitor/rules",
                             json={"name": "Down", "expression": "instance_down > 0 for 30s"})
        await server.monitor.cycle()
        clock.advance(31)
        await server.monitor.cycle()
        firing = (await server.request("GET", "/api/v1/monitor/alerts", params={"state": "firing"})).json()
        fake.ready = True
        clock.advance(15)
        await server.monitor.cycle()
        await server.monitor.courier.dispatch()
        await server.monitor.courier.drain()
        page = (await server.request("GET", "/api/v1/monitor/alerts", params={"limit": 1})).json()
        sent = (await server.request("GET", "/api/v1/monitor/notifications", params={"status": "sent"})).json()
    finally:
        await server.stop()
        await runner.cleanup()
        gateway.listing.clear()

    assert defaults["total"] == 6
    assert firing["total"] == 1 and firing["items"][0]["labels"]["instance"] == fake.instance_id
    assert page["total"] == 1 and page["items"][0]["state"] == "resolved"
    assert sorted(n["event"] for n in sent["items"]) == ["firing", "resolved"]
    assert [b["status"] for b in receiver.at("/pg")] == ["firing", "resolved"]


# --- rules, silences and webhooks through the API -------------------------------------------------


async def test_a_rule_that_does_not_parse_answers_422_naming_where(fleet: Fleet) -> None:
    before = await fleet.harness.request("GET", "/api/v1/monitor/rules")

    response = await fleet.harness.request("POST", "/api/v1/monitor/rules", json={
        "name": "Broken", "expression": 'error_rate{service="crm" > 0.05 for 2m'})

    body = assert_problem(response, 422, "invalid-expression")
    error, = body["errors"]
    assert error["loc"] == "body.expression"
    assert (error["position"], error["column"], error["expected"], error["found"]) == (25, 26, "',' or '}'", "'>'")
    assert "at column 26" in body["detail"]
    after = await fleet.harness.request("GET", "/api/v1/monitor/rules")
    assert after.json()["total"] == before.json()["total"] == 0


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"expression": "breaker_open > 0"}, "body.name"),
        ({"name": "X", "expression": "breaker_open > 0", "severity": "page"}, "body.severity"),
        ({"name": "X", "expression": "breaker_open > 0", "color": "red"}, "body.color"),
        ({"name": "X", "expression": "breaker_open > 0", "targets": ["nobody"]}, "body.targets.0"),
    ],
    ids=["no-name", "unknown-severity", "unknown-field", "unknown-target"],
)
async def test_a_rule_with_bad_fields_answers_422_naming_the_field(fleet: Fleet, body: dict[str, Any],
                                                                   loc: str) -> None:
    response = await fleet.harness.request("POST", "/api/v1/monitor/rules", json=body)

    problem = assert_problem(response, 422)
    assert loc in [e["loc"] for e in problem["errors"]]


async def test_rules_are_created_listed_read_and_deleted(fleet: Fleet) -> None:
    crm = await fleet.instance("crm")
    crm.ready = False
    await fleet.webhook("ops", "/generic")
    key = {"Idempotency-Key": uuid.uuid4().hex}
    body = {"name": "Down", "expression": "instance_down > 0 for 30s", "severity": "critical", "targets": ["ops"]}

    created = await fleet.harness.request("POST", "/api/v1/monitor/rules", json=body, headers=key)
    repeated = await fleet.harness.request("POST", "/api/v1/monitor/rules", json=body, headers=key)
    taken = await fleet.harness.request("POST", "/api/v1/monitor/rules", json=body)
    listed = await fleet.harness.request("GET", "/api/v1/monitor/rules", role="admin")
    rule = created.json()
    read = await fleet.harness.request("GET", f"/api/v1/monitor/rules/{rule['id']}", role="admin")
    await fleet.cycle()
    await fleet.cycle(advance=31)
    await fleet.deliver()
    deleted = await fleet.harness.request("DELETE", f"/api/v1/monitor/rules/{rule['id']}")
    gone = await fleet.harness.request("GET", f"/api/v1/monitor/rules/{rule['id']}")
    again = await fleet.harness.request("DELETE", f"/api/v1/monitor/rules/{rule['id']}")
    await fleet.cycle(advance=15)
    await fleet.deliver()

    assert created.status_code == 201, created.text
    assert rule["metric"] == "instance_down" and rule["for_seconds"] == 30
    assert (rule["targets"], rule["created_by"]) == (["ops"], "user-superadmin")
    assert repeated.status_code == 200 and repeated.json()["id"] == rule["id"]
    assert_problem(taken, 409, "name-taken")
    assert listed.json()["total"] == 1 and listed.json()["items"][0]["id"] == rule["id"]
    assert read.json() == rule
    assert deleted.status_code == 204
    assert_problem(gone, 404)
    assert_problem(again, 404)
    resolved = (await fleet.alerts(state="resolved"))["items"]
    assert len(resolved) == 1 and resolved[0]["rule_id"] == rule["id"]  # resolved with its rule...
    assert [b["status"] for b in fleet.receiver.at("/generic")] == ["firing"]  # ... without a notification


async def test_silences_refuse_what_makes_no_sense(fleet: Fleet) -> None:
    past = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(fleet.clock.now - 60))
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(fleet.clock.now + 60))

    everything = await fleet.harness.request("POST", "/api/v1/monitor/silences",
                                             json={"ends_at": later, "comment": "all of it"})
    over = await fleet.harness.request("POST", "/api/v1/monitor/silences",
                                       json={"rule": "Down", "ends_at": past, "comment": "late"})
    backwards = await fleet.harness.request("POST", "/api/v1/monitor/silences", json={
        "rule": "Down", "starts_at": later, "ends_at": past, "comment": "reversed"})
    naive = await fleet.harness.request("POST", "/api/v1/monitor/silences",
                                        json={"rule": "Down", "ends_at": "2030-01-01T00:00:00", "comment": "tz"})
    label = await fleet.harness.request("POST", "/api/v1/monitor/silences", json={
        "labels": {"path": "/"}, "ends_at": later, "comment": "no such label"})
    missing = await fleet.harness.request("DELETE", "/api/v1/monitor/silences/nope")

    assert "a silence must not match every alert" in assert_problem(everything, 422)["detail"] + str(
        everything.json()["errors"])
    assert [e["loc"] for e in assert_problem(over, 422)["errors"]] == ["body.ends_at"]
    assert assert_problem(backwards, 422)["errors"]
    assert "body.ends_at" in [e["loc"] for e in assert_problem(naive, 422)["errors"]]
    assert any(e["loc"].startswith("body.labels") for e in assert_problem(label, 422)["errors"])
    assert_problem(missing, 404)


async def test_webhooks_are_listed_without_their_secrets(fleet: Fleet) -> None:
    key = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
    created = await fleet.harness.request("POST", "/api/v1/monitor/webhooks", json={
        "name": "wecom-oncall", "url": f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={key}",
        "format": "wecom"})
    bad_url = await fleet.harness.request("POST", "/api/v1/monitor/webhooks",
                                          json={"name": "x", "url": "ftp://example.com/hook"})
    bad_format = await fleet.harness.request("POST", "/api/v1/monitor/webhooks",
                                             json={"name": "x", "url": "https://example.com", "format": "teams"})
    listed = await fleet.harness.request("GET", "/api/v1/monitor/webhooks", role="admin")
    deleted = await fleet.harness.request("DELETE", f"/api/v1/monitor/webhooks/{created.json()['id']}")
    after = await fleet.harness.request("GET", "/api/v1/monitor/webhooks", role="admin")

    assert created.status_code == 201, created.text
    assert created.json()["url"] == "https://qyapi.weixin.qq.com/…"
    assert key not in listed.text
    assert listed.json()["items"][0]["format"] == "wecom"
    assert [e["loc"] for e in assert_problem(bad_url, 422)["errors"]] == ["body.url"]
    assert [e["loc"] for e in assert_problem(bad_format, 422)["errors"]] == ["body.format"]
    assert deleted.status_code == 204
    assert after.json() == {"items": [], "total": 0, "next_cursor": None}


# --- who may do what --------------------------------------------------------------------------------

READS = ["/api/v1/monitor/fleet", "/api/v1/monitor/alerts", "/api/v1/monitor/rules", "/api/v1/monitor/silences",
         "/api/v1/monitor/webhooks", "/api/v1/monitor/notifications"]
WRITES = [("POST", "/api/v1/monitor/rules", {"name": "R", "expression": "breaker_open > 0"}),
          ("DELETE", "/api/v1/monitor/rules/some-id", None),
          ("POST", "/api/v1/monitor/silences", {"rule": "R", "ends_at": "2099-01-01T00:00:00Z", "comment": "c"}),
          ("DELETE", "/api/v1/monitor/silences/some-id", None),
          ("POST", "/api/v1/monitor/webhooks", {"name": "w", "url": "https://example.com/h"}),
          ("DELETE", "/api/v1/monitor/webhooks/some-id", None)]


@pytest.mark.parametrize("path", READS)
async def test_reads_need_monitor_read(fleet: Fleet, path: str) -> None:
    anonymous = await fleet.harness.request("GET", path, role=None)
    recruiter = await fleet.harness.request("GET", path, role="recruiter")
    admin = await fleet.harness.request("GET", path, role="admin")
    service = await fleet.harness.request("GET", path, token=fleet.harness.issuer.service_token(["monitor:read"]))

    assert_problem(anonymous, 401, "missing-token")
    assert assert_problem(recruiter, 403, "permission-denied")["permission"] == "monitor:read"
    assert admin.status_code == 200, admin.text
    assert service.status_code == 200, service.text


@pytest.mark.parametrize(("method", "path", "body"), WRITES, ids=[f"{m} {p.split('/')[4]}" for m, p, _ in WRITES])
async def test_writes_are_for_the_platform_only(fleet: Fleet, method: str, path: str, body: Any) -> None:
    org_admin = await fleet.harness.request(method, path, role="admin", json=body)
    reader = await fleet.harness.request(method, path, json=body,
                                         token=fleet.harness.issuer.service_token(["monitor:read"]))
    superadmin = await fleet.harness.request(method, path, role="superadmin", json=body)

    assert assert_problem(org_admin, 403, "permission-denied")["permission"] == "monitor:write"
    assert_problem(reader, 403, "permission-denied")
    assert superadmin.status_code in (201, 404), superadmin.text  # created, or no such id


async def test_monitor_write_is_a_platform_permission() -> None:
    from shared.service.auth.permissions import MONITOR_WRITE, PLATFORM_ONLY, ROLES

    assert MONITOR_WRITE == "monitor:write"
    assert MONITOR_WRITE in PLATFORM_ONLY and MONITOR_WRITE in ROLES["superadmin"]
    assert not any(MONITOR_WRITE in ROLES[role] for role in ("viewer", "hiring_manager", "recruiter", "admin"))



async def test_the_specification_lists_the_monitor_routes(settings: LoomaSettings) -> None:
    fresh = MonitorHarness(settings, monitor_settings())  # sanic-ext builds the specification as an app starts
    await fresh.start()
    try:
        response = await fresh.request("GET", "/openapi.json", role=None)
    finally:
        await fresh.stop()

    assert response.status_code == 200, response.text
    paths = response.json()["paths"]
    assert {"/api/v1/monitor/fleet", "/api/v1/monitor/alerts", "/api/v1/monitor/rules", "/api/v1/monitor/silences",
            "/api/v1/monitor/webhooks", "/api/v1/monitor/notifications"} <= set(paths)
    assert "requestBody" in paths["/api/v1/monitor/rules"]["post"]
