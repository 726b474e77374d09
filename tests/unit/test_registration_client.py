"""GatewayRegistration, a service's side of the registry, against a real (fake) gateway over HTTP.

The fake gateway is a small aiohttp.web server on a free 127.0.0.1 port that records what it is sent
and answers as the real registry API does: 201/200 to a registration, 204 or 404 to a heartbeat.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from shared.fleet import CRM, instance_id
from shared.service.auth.service_token import ServiceToken
from shared.service.registration import GatewayRegistration

SERVICE_URL = "http://127.0.0.1:8888"


@dataclass
class Call:
    method: str
    path: str
    body: Any


@dataclass
class FakeGateway:
    port: int
    calls: list[Call] = field(default_factory=list)
    known: set[str] = field(default_factory=set)
    register_status: int | None = None  # None: 201 when new, 200 when known, as the real registry
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def of(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/v1/registry/instances", self._register)
        app.router.add_put("/api/v1/registry/instances/{id}/heartbeat", self._heartbeat)
        app.router.add_delete("/api/v1/registry/instances/{id}", self._deregister)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _body(self, request: web.Request) -> Any:
        return await request.json() if request.can_read_body else None

    async def _register(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        self.calls.append(Call("POST", request.path, body))
        if self.register_status is not None:
            return web.json_response({"detail": "refused"}, status=self.register_status)
        created = body["instance_id"] not in self.known
        self.known.add(body["instance_id"])
        return web.json_response({"instance_id": body["instance_id"]}, status=201 if created else 200)

    async def _heartbeat(self, request: web.Request) -> web.Response:
        self.calls.append(Call("PUT", request.path, await self._body(request)))
        return web.Response(status=204 if request.match_info["id"] in self.known else 404)

    async def _deregister(self, request: web.Request) -> web.Response:
        self.calls.append(Call("DELETE", request.path, None))
        found = request.match_info["id"] in self.known
        self.known.discard(request.match_info["id"])
        return web.Response(status=204 if found else 404)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def gateway() -> AsyncIterator[FakeGateway]:
    fake = FakeGateway(free_port())
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
async def down_gateway() -> AsyncIterator[FakeGateway]:
    """A gateway whose port nobody listens on until the test calls start()."""
    fake = FakeGateway(free_port())
    try:
        yield fake
    finally:
        await fake.stop()


@dataclass
class Readiness:
    ready: bool = True

    async def __call__(self) -> bool:
        return self.ready


def make_registration(gateway: FakeGateway, readiness: Readiness, interval: float = 0.05) -> GatewayRegistration:
    return GatewayRegistration(gateway_url=gateway.url + "/", service="crm", url=SERVICE_URL, prefixes=CRM.prefixes,
                               interval=interval, ttl=7.5, is_ready=readiness)


@pytest.fixture
def readiness() -> Readiness:
    return Readiness()


@pytest.fixture
async def beating(gateway: FakeGateway, readiness: Readiness) -> AsyncIterator[GatewayRegistration]:
    registration = make_registration(gateway, readiness)
    registration._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2.0))
    try:
        yield registration
    finally:
        await registration._session.close()


REGISTER_PATH = "/api/v1/registry/instances"


async def test_the_first_beat_registers_with_everything_the_gateway_needs(
        beating: GatewayRegistration, gateway: FakeGateway) -> None:
    assert beating.registered is False
    await beating._beat()
    assert beating.registered is True
    (call,) = gateway.calls
    assert (call.method, call.path) == ("POST", REGISTER_PATH)
    assert call.body == {
        "service": "crm",
        "instance_id": instance_id("crm", SERVICE_URL),
        "url": SERVICE_URL,
        "prefixes": list(CRM.prefixes),
        "ttl": 7.5,
        "ready": True,
    }
    assert beating.instance_id == "crm@127.0.0.1:8888"


async def test_a_not_ready_service_registers_as_not_ready(beating: GatewayRegistration, gateway: FakeGateway,
                                                          readiness: Readiness) -> None:
    readiness.ready = False
    await beating._beat()
    assert beating.registered is True
    assert gateway.calls[0].body["ready"] is False


async def test_later_beats_are_heartbeats_carrying_readiness(beating: GatewayRegistration, gateway: FakeGateway,
                                                             readiness: Readiness) -> None:
    await beating._beat()
    await beating._beat()
    readiness.ready = False
    await beating._beat()
    heartbeat_path = f"{REGISTER_PATH}/{beating.instance_id}/heartbeat"
    assert [(c.method, c.path, c.body) for c in gateway.calls[1:]] == [
        ("PUT", heartbeat_path, {"ready": True}),
        ("PUT", heartbeat_path, {"ready": False}),
    ]
    assert beating.registered is True


async def test_a_404_heartbeat_registers_again_at_once(beating: GatewayRegistration, gateway: FakeGateway) -> None:
    await beating._beat()
    gateway.known.clear()  # the gateway restarted, or expired this instance
    await beating._beat()
    assert [c.method for c in gateway.calls] == ["POST", "PUT", "POST"]
    assert beating.registered is True
    await beating._beat()
    assert [c.method for c in gateway.calls] == ["POST", "PUT", "POST", "PUT"]


async def test_a_refused_registration_leaves_it_unregistered_and_is_retried(
        beating: GatewayRegistration, gateway: FakeGateway) -> None:
    gateway.register_status = 422
    await beating._beat()
    assert beating.registered is False
    gateway.register_status = None
    await beating._beat()
    assert beating.registered is True
    assert [c.method for c in gateway.calls] == ["POST", "POST"]


async def test_an_unreachable_gateway_does_not_raise_and_registration_follows_once_it_is_up(
        down_gateway: FakeGateway, readiness: Readiness) -> None:
    registration = make_registration(down_gateway, readiness)
    registration._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2.0))
    try:
        await registration._beat()
        assert registration.registered is False
        await registration._beat()
        assert registration.registered is False
        await down_gateway.start()
        await registration._beat()
        assert registration.registered is True
        assert [c.method for c in down_gateway.calls] == ["POST"]
        # The gateway going away again drops the registration, and coming back restores it with a POST.
        await down_gateway.stop()
        await registration._beat()
        assert registration.registered is False
        down_gateway.known.clear()
        await down_gateway.start()
        await registration._beat()
        assert registration.registered is True
        assert [c.method for c in down_gateway.calls] == ["POST", "POST"]
    finally:
        await registration._session.close()


async def test_deregister_sends_delete(beating: GatewayRegistration, gateway: FakeGateway) -> None:
    await beating._beat()
    await beating.deregister()
    assert beating.registered is False
    assert (gateway.calls[-1].method, gateway.calls[-1].path) == ("DELETE", f"{REGISTER_PATH}/{beating.instance_id}")
    assert gateway.known == set()


async def test_deregister_never_raises_when_the_gateway_is_down(down_gateway: FakeGateway,
                                                                readiness: Readiness) -> None:
    registration = make_registration(down_gateway, readiness)
    registration.registered = True
    await registration.deregister()
    assert registration.registered is False


async def test_run_heartbeats_repeatedly_until_cancelled(gateway: FakeGateway, readiness: Readiness) -> None:
    registration = make_registration(gateway, readiness, interval=0.02)
    task = asyncio.create_task(registration.run())
    async with asyncio.timeout(5):
        while len(gateway.of("PUT")) < 3:
            await asyncio.sleep(0.01)
    assert registration.registered is True
    assert gateway.calls[0].method == "POST"
    assert {c.path for c in gateway.of("PUT")} == {f"{REGISTER_PATH}/{registration.instance_id}/heartbeat"}
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert registration._session is not None and registration._session.closed
    seen = len(gateway.calls)
    await asyncio.sleep(0.1)
    assert len(gateway.calls) == seen  # nothing beats after cancellation


async def test_run_keeps_going_while_the_gateway_is_down(down_gateway: FakeGateway, readiness: Readiness) -> None:
    registration = make_registration(down_gateway, readiness, interval=0.02)
    task = asyncio.create_task(registration.run())
    try:
        await asyncio.sleep(0.1)
        assert not task.done()
        assert registration.registered is False
        await down_gateway.start()
        async with asyncio.timeout(5):
            while not (registration.registered and down_gateway.of("PUT")):
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_beats_come_sooner_than_the_interval_until_registered_and_ready(
    down_gateway: FakeGateway, readiness: Readiness
) -> None:
    readiness.ready = False
    registration = make_registration(down_gateway, readiness, interval=30.0)
    task = asyncio.create_task(registration.run())
    try:
        await asyncio.sleep(0.2)
        await down_gateway.start()
        async with asyncio.timeout(5):  # far less than the 30 s interval
            while not registration.registered:
                await asyncio.sleep(0.01)
        readiness.ready = True
        async with asyncio.timeout(5):
            while not any(call.body == {"ready": True} for call in down_gateway.of("PUT")):
                await asyncio.sleep(0.01)
        beats = len(down_gateway.calls)
        await asyncio.sleep(0.5)
        assert len(down_gateway.calls) == beats  # registered and ready: now only every 30 s
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


# --- service tokens ---------------------------------------------------------------------------------


async def test_registration_carries_a_service_token_and_fetches_a_new_one_when_refused() -> None:
    """The registry answers 401 to a token it no longer accepts; the next beat brings a fresh one."""
    issued: list[str] = []
    accepted: set[str] = set()
    seen: list[str | None] = []

    async def token(request: web.Request) -> web.Response:
        body = await request.json()
        assert body == {"grant_type": "client_credentials", "client_id": "looma-fleet", "client_secret": "s3cret-value"}
        issued.append(f"token-{len(issued) + 1}")
        accepted.add(issued[-1])
        return web.json_response({"access_token": issued[-1], "token_type": "Bearer", "expires_in": 900})

    async def register(request: web.Request) -> web.Response:
        header = request.headers.get("Authorization")
        seen.append(header)
        if header is None or header.removeprefix("Bearer ") not in accepted:
            return web.json_response({"detail": "bad token"}, status=401)
        return web.json_response({}, status=201)

    app = web.Application()
    app.router.add_post("/api/v1/auth/token", token)
    app.router.add_post(REGISTER_PATH, register)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}"
    registration = GatewayRegistration(gateway_url=url, service="crm", url=SERVICE_URL, prefixes=CRM.prefixes,
                                       interval=0.05, ttl=7.5, is_ready=Readiness(),
                                       token=ServiceToken(url, "looma-fleet", "s3cret-value"))
    registration._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2.0))
    try:
        await registration._beat()
        assert registration.registered and seen == ["Bearer token-1"]
        accepted.clear()  # the gateway stops accepting it (keys rotated, client secret changed...)
        registration.registered = False
        await registration._beat()
        assert not registration.registered and seen[-1] == "Bearer token-1"
        await registration._beat()
        assert registration.registered and seen[-1] == "Bearer token-2"
    finally:
        await registration._session.close()
        await runner.cleanup()
