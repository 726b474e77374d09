"""The gateway as a real process in front of misbehaving upstream processes, and under abuse.

Each test starts its own gateway(s) and `tests.e2e.upstream_app` instances, all seeded as
instances of the CRM service, drives traffic through the gateway while an instance dies, fails,
slows down, hangs or talks nonsense, and checks what clients get and what `/metrics` counted.
Bounds come from the settings each test gives the gateway (breaker failures, rate, burst,
timeouts), with room for a machine busy running other suites beside this one.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import httpx
import pytest
import redis
from multidict import CIMultiDict
from prometheus_client.parser import text_string_to_metric_families

from shared.fleet import CRM, GATEWAY, instance_id
from tests.conftest import TEST_REDIS_URL, require_server
from tests.e2e.fleet import free_port_offset
from tests.e2e.upstream_app import SECOND_EVENT_AFTER

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
TALENTS = "/api/v1/talents"
PROBLEM_JSON = "application/problem+json"
START_TIMEOUT = 30.0  # seconds for a child process to answer /health
CHECK_INTERVAL = 0.3  # the gateway's active checks, so that seeded instances turn healthy at once
RATE_LIMIT_DB = 13  # the Redis database of the shared-limit test


# --- processes ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Child:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    output: Path

    def log(self) -> str:
        return self.output.read_text(errors="replace") if self.output.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no goodbye, no closed sockets beyond what the kernel does."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)


@dataclass
class Upstream(Child):
    @property
    def instance_id(self) -> str:
        return instance_id(CRM.name, self.url)

    async def behave(self, mode: str = "ok", delay_ms: int = 0) -> None:
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.post(f"{self.url}/control", json={"mode": mode, "delay_ms": delay_ms})
        assert response.status_code == 200, response.text


@dataclass
class Gateway(Child):
    async def metrics(self) -> str:
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.get(f"{self.url}/metrics")
        assert response.status_code == 200, response.text
        return response.text


@dataclass
class Launcher:
    """Starts the test's children and, whatever happens, kills every one of them at teardown.

    `upstream` and `gateway` only spawn (a gateway takes seconds to import and open its stores);
    `await ready()` then waits until every child spawned so far answers /health.
    """

    root: Path
    children: list[Child] = field(default_factory=list)
    offsets: set[int] = field(default_factory=set)

    def upstream(self, name: str) -> Upstream:
        port = free_port()
        output = self.root / f"{name}.log"
        upstream = Upstream(name, f"http://127.0.0.1:{port}", self._spawn(
            output, ["-m", "tests.e2e.upstream_app", "--port", str(port), "--name", name]), output)
        self.children.append(upstream)
        return upstream

    def gateway(self, upstreams: list[Upstream], *, public_routes: list[str] | None = None,
                **settings: object) -> Gateway:
        """A gateway seeded with `upstreams` as CRM instances; `settings` are LoomaSettings fields.

        `public_routes` defaults to every API route, so that proxied traffic needs no token.
        """
        offset = free_port_offset()
        while offset in self.offsets:  # its ports look free until the gateway spawned under it binds them
            offset = free_port_offset()
        self.offsets.add(offset)
        name = f"gateway-{offset}"
        env = {
            "LOOMA_ENV": "test",
            "LOOMA_DATA_DIR": str(self.root / name),
            "LOOMA_PORT_OFFSET": str(offset),
            "LOOMA_LOG_LEVEL": "WARNING",
            "LOOMA_GRACEFUL_SHUTDOWN_TIMEOUT": "1",
            "LOOMA_GATEWAY_CHECK_INTERVAL": str(CHECK_INTERVAL),
            "LOOMA_GATEWAY_STATIC_INSTANCES": json.dumps([{"service": CRM.name, "url": u.url} for u in upstreams]),
            "LOOMA_GATEWAY_PUBLIC_ROUTES": json.dumps(["/api/v1/*"] if public_routes is None else public_routes),
            **{f"LOOMA_{key.upper()}": str(value) for key, value in settings.items()},
        }
        output = self.root / f"{name}.log"
        gateway = Gateway(name, f"http://127.0.0.1:{GATEWAY.port + offset}",
                          self._spawn(output, ["-m", "ai_services.ai_gateway"], env), output)
        self.children.append(gateway)
        return gateway

    def _spawn(self, output: Path, args: list[str], looma_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        # None of the caller's LOOMA_* settings: a developer's environment must not point a child at real servers.
        env = {key: value for key, value in os.environ.items() if not key.startswith("LOOMA_")}
        env.update(looma_env or {})
        with open(output, "ab") as sink:
            return subprocess.Popen([sys.executable, *args], cwd=REPO_ROOT, env=env, stdout=sink,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    async def ready(self) -> None:
        async with httpx.AsyncClient(timeout=1) as client:
            for child in self.children:
                await self._await_health(client, child)

    async def _await_health(self, client: httpx.AsyncClient, child: Child) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if child.process.poll() is not None:
                raise AssertionError(f"{child.name} exited with {child.process.returncode}:\n{child.log()}")
            try:
                if (await client.get(f"{child.url}/health")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.05)
        raise AssertionError(f"{child.name} did not answer /health within {START_TIMEOUT}s:\n{child.log()}")

    def stop_all(self) -> None:
        for child in self.children:
            child.kill()


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Launcher]:
    launcher = Launcher(tmp_path)
    try:
        yield launcher
    finally:
        launcher.stop_all()


# --- traffic --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    sent: float  # time.monotonic() when the request went out
    done: float
    status: int  # 0 when the client got no HTTP answer at all
    instance: str | None  # which upstream answered a 200
    error: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)  # kept for answers other than 200
    body: bytes = b""  # kept for answers other than 200


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10),
                                     connector=aiohttp.TCPConnector(limit=0)) as client:
        yield client


async def ask(session: aiohttp.ClientSession, url: str) -> Answer:
    sent = time.monotonic()
    try:
        async with session.get(url) as response:
            body = await response.read()
            status = response.status
    except (aiohttp.ClientError, asyncio.TimeoutError) as error:
        return Answer(sent, time.monotonic(), 0, None, f"{type(error).__name__}: {error}")
    done = time.monotonic()
    if status == 200:
        return Answer(sent, done, status, json.loads(body)["instance"])
    return Answer(sent, done, status, None, headers=CIMultiDict(response.headers), body=body)


async def hammer(session: aiohttp.ClientSession, url: str, seconds: float, workers: int) -> list[Answer]:
    """`workers` clients each sending one request after another for `seconds`."""
    until = time.monotonic() + seconds
    answers: list[Answer] = []

    async def worker() -> None:
        while time.monotonic() < until:
            answers.append(await ask(session, url))

    await asyncio.gather(*(worker() for _ in range(workers)))
    return answers


async def until_answered_by(session: aiohttp.ClientSession, gateway: Gateway, names: set[str],
                            timeout: float, workers: int = 4) -> list[Answer]:
    """Traffic until every instance in `names` has answered at least once."""
    answers: list[Answer] = []
    until = time.monotonic() + timeout

    async def worker() -> None:
        while time.monotonic() < until and not names <= {a.instance for a in answers}:
            answers.append(await ask(session, gateway.url + TALENTS))

    await asyncio.gather(*(worker() for _ in range(workers)))
    assert names <= {a.instance for a in answers}, (
        f"not answered by {names - {a.instance for a in answers}} within {timeout}s; "
        f"statuses {statuses(answers)}\n{gateway.log()}")
    return answers


def statuses(answers: list[Answer]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for answer in answers:
        counts[answer.status] = counts.get(answer.status, 0) + 1
    return counts


def metric(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()))


def assert_problem(status: int, headers: Mapping[str, str], body: bytes, expected: int,
                   slug: str | None = None) -> dict[str, Any]:
    assert status == expected, body
    assert headers["content-type"] == PROBLEM_JSON
    problem = json.loads(body)
    assert problem["status"] == expected
    assert problem["type"].startswith("urn:looma:problem:")
    if slug is not None:
        assert problem["type"] == f"urn:looma:problem:{slug}", problem
    return dict(problem)


# --- an instance dies -----------------------------------------------------------------------------


async def test_killed_instance_costs_clients_nothing(launch: Launcher, session: aiohttp.ClientSession) -> None:
    """kill -9 of one instance under load: in-flight and new tries fail to connect and are retried on the other."""
    a, b = launch.upstream("a"), launch.upstream("b")
    gateway = launch.gateway([a, b])
    await launch.ready()
    await until_answered_by(session, gateway, {"a", "b"}, timeout=10)

    load = asyncio.create_task(hammer(session, gateway.url + TALENTS, seconds=3.0, workers=16))
    await asyncio.sleep(1.0)
    killed_at = time.monotonic()
    a.kill()
    answers = await load

    failures = [x for x in answers if x.status != 200]
    assert not failures, f"{len(failures)} of {len(answers)} failed, e.g. {failures[:5]}\n{gateway.log()}"
    assert any(x.instance == "a" for x in answers if x.done < killed_at), "a never served before the kill"
    after = [x for x in answers if x.sent > killed_at]
    assert after and all(x.instance == "b" for x in after)
    # What hid the kill from clients: tries at the dead instance retried elsewhere.
    assert metric(await gateway.metrics(), "looma_gateway_retries_total", upstream="crm", reason="connect") >= 1


# --- an instance fails ----------------------------------------------------------------------------

BREAKER_FAILURES = 3
BREAKER_OPEN_SECONDS = 1.0
BREAKER_PROBES = 2
EJECTION_SECONDS = 1.0
MAX_EJECTION_SECONDS = 2.0


async def test_failing_instance_is_cut_off_and_let_back(launch: Launcher, session: aiohttp.ClientSession) -> None:
    a, b = launch.upstream("a"), launch.upstream("b")
    gateway = launch.gateway(
        [a, b], gateway_breaker_failures=BREAKER_FAILURES, gateway_breaker_open_seconds=BREAKER_OPEN_SECONDS,
        gateway_breaker_probes=BREAKER_PROBES, gateway_outlier_failures=BREAKER_FAILURES,
        gateway_outlier_ejection_seconds=EJECTION_SECONDS, gateway_outlier_max_ejection_seconds=MAX_EJECTION_SECONDS)
    await launch.ready()
    await until_answered_by(session, gateway, {"a", "b"}, timeout=10)
    workers, failing_for = 8, 2.0

    await a.behave("fail500")
    failing = await hammer(session, gateway.url + TALENTS, seconds=failing_for, workers=workers)

    text = await gateway.metrics()
    assert metric(text, "looma_gateway_breaker_transitions_total", instance=a.instance_id, state="open") >= 1, text
    assert metric(text, "looma_gateway_ejections_total", instance=a.instance_id) >= 1, text
    assert metric(text, "looma_gateway_breaker_transitions_total", instance=b.instance_id) == 0, text
    # A 500 is an answer, not retried: clients see the ones a's breaker let through. That is the
    # failures that open it, what was already in flight then (at most one per worker), and the
    # probes of each half-open period, which find a still failing and open the breaker again.
    # Everything else is answered by b.
    counts = statuses(failing)
    visible = BREAKER_FAILURES + workers + BREAKER_PROBES * math.ceil(failing_for / BREAKER_OPEN_SECONDS)
    assert set(counts) <= {200, 500}, counts
    assert counts.get(500, 0) <= visible, counts
    assert {x.instance for x in failing if x.status == 200} == {"b"}

    await a.behave("ok")
    # Back once its ejection (at most MAX_EJECTION_SECONDS) and open period are over and the probes pass.
    back_within = MAX_EJECTION_SECONDS + BREAKER_OPEN_SECONDS + 3.0
    recovering = await until_answered_by(session, gateway, {"a"}, timeout=back_within, workers=workers)
    assert statuses(recovering) == {200: len(recovering)}
    recovered = await hammer(session, gateway.url + TALENTS, seconds=0.5, workers=workers)
    assert statuses(recovered) == {200: len(recovered)}
    assert {x.instance for x in recovered} == {"a", "b"}
    text = await gateway.metrics()
    assert metric(text, "looma_gateway_breaker_transitions_total", instance=a.instance_id, state="closed") >= 1, text


# --- an instance slows down -----------------------------------------------------------------------


async def test_slow_instance_gets_little_traffic(launch: Launcher, session: aiohttp.ClientSession) -> None:
    """P2C on latency: an instance 200 ms slower than its peer soon gets only a small share."""
    a, b = launch.upstream("a"), launch.upstream("b")
    gateway = launch.gateway([a, b])
    await launch.ready()
    await until_answered_by(session, gateway, {"a", "b"}, timeout=10)

    await a.behave("ok", delay_ms=200)
    started = time.monotonic()
    answers = await hammer(session, gateway.url + TALENTS, seconds=3.0, workers=8)

    assert statuses(answers) == {200: len(answers)}
    later = [x for x in answers if x.sent > started + 1.5]
    share = sum(x.instance == "a" for x in later) / len(later)
    assert share < 0.25, f"a answered {share:.0%} of {len(later)} requests in the second half"
    assert any(x.instance == "b" for x in later)


# --- a rate limit shared by two gateways ----------------------------------------------------------

RATE_PER_MINUTE = 600
BURST_SECONDS = 1.0


@pytest.fixture
def caller_address() -> str:
    """A loopback address of this test's own: an anonymous caller's bucket is keyed by its address,
    so another run of this test against the same Redis draws from another bucket."""
    return f"127.{RATE_LIMIT_DB}.{random.randrange(256)}.{random.randrange(1, 255)}"


@pytest.fixture
def rate_limit_redis(caller_address: str) -> Iterator[str]:
    """The Redis URL the gateways share; the caller's buckets in it are gone at the test's start and end."""
    url = urlunsplit(urlsplit(TEST_REDIS_URL)._replace(path=f"/{RATE_LIMIT_DB}"))
    client = redis.Redis.from_url(url, socket_connect_timeout=3)

    def forget_buckets() -> None:
        # Only this caller's keys: a concurrent run may be using the same database.
        keys = list(client.scan_iter(match=f"*ratelimit:*ip:{caller_address}"))
        if keys:
            client.delete(*keys)

    try:
        forget_buckets()
    except redis.RedisError as error:
        client.close()
        require_server(f"Redis not reachable at {url}: {error}")
    try:
        yield url
    finally:
        forget_buckets()
        client.close()


async def test_rate_limit_holds_across_two_gateways(launch: Launcher, rate_limit_redis: str,
                                                    caller_address: str) -> None:
    upstream = launch.upstream("a")
    settings = {"redis_url": rate_limit_redis, "gateway_rate_per_user": RATE_PER_MINUTE,
                "gateway_rate_burst_seconds": BURST_SECONDS}
    gateways = [launch.gateway([upstream], **settings), launch.gateway([upstream], **settings)]
    await launch.ready()

    connector = aiohttp.TCPConnector(limit=0, local_addr=(caller_address, 0))
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10), connector=connector) as session:
        started = time.monotonic()
        per_gateway = await asyncio.gather(*(hammer(session, g.url + TALENTS, seconds=3.0, workers=6)
                                             for g in gateways))
        elapsed = time.monotonic() - started
    answers = [answer for answers in per_gateway for answer in answers]

    counts = statuses(answers)
    assert set(counts) == {200, 429}, counts
    for answers_of_one in per_gateway:  # each gateway admits and refuses: neither has the bucket to itself
        assert set(statuses(answers_of_one)) == {200, 429}, statuses(answers_of_one)
    # GCRA admits a full burst at once, then one request per emission interval: whichever gateway
    # is asked, the caller's bucket is one key in the shared Redis, so both together admit that much.
    rate = RATE_PER_MINUTE / 60
    bound = rate * BURST_SECONDS + rate * elapsed
    assert counts[200] <= 1.01 * bound + 1, f"{counts[200]} admitted in {elapsed:.2f}s, bound {bound:.1f}"
    assert counts[200] >= 0.8 * bound, f"{counts[200]} admitted in {elapsed:.2f}s, bound {bound:.1f}"

    refused = 0.0
    for gateway in gateways:
        refused += metric(await gateway.metrics(), "looma_gateway_rate_limited_total", scope="user")
    assert refused == counts[429]
    for answer in answers:
        if answer.status == 429:
            assert_problem(answer.status, answer.headers, answer.body, 429, "rate-limited")
            assert int(answer.headers["Retry-After"]) >= 1
            assert int(answer.headers["RateLimit-Remaining"]) == 0
            assert answer.headers["RateLimit-Policy"] == f"{RATE_PER_MINUTE};w=60"


# --- an upstream that hangs or talks nonsense -----------------------------------------------------

TRY_TIMEOUT = 0.5
UPSTREAM_TIMEOUT = 1.0


async def test_hanging_and_malformed_upstreams_answer_problems(launch: Launcher,
                                                               session: aiohttp.ClientSession) -> None:
    upstream = launch.upstream("a")
    gateway = launch.gateway([upstream], gateway_try_timeout=TRY_TIMEOUT, gateway_upstream_timeout=UPSTREAM_TIMEOUT)
    await launch.ready()
    await until_answered_by(session, gateway, {"a"}, timeout=10)

    await upstream.behave("hang")
    started = time.monotonic()
    async with session.get(gateway.url + TALENTS) as response:
        body = await response.read()
    took = time.monotonic() - started
    assert_problem(response.status, response.headers, body, 504, "upstream-timeout")
    assert TRY_TIMEOUT <= took < UPSTREAM_TIMEOUT + 0.5, took  # one try; no retry, as no other instance exists

    # Garbage instead of a status line is not a timeout: the answer comes at once, not after the try timeout.
    await upstream.behave("malformed")
    started = time.monotonic()
    async with session.get(gateway.url + TALENTS) as response:
        body = await response.read()
    took = time.monotonic() - started
    assert_problem(response.status, response.headers, body, 502, "upstream-malformed")
    assert took < TRY_TIMEOUT, took


# --- bad client input -----------------------------------------------------------------------------

MAX_BODY_BYTES = 1024


async def test_bad_client_input_is_refused_at_the_edge(launch: Launcher, session: aiohttp.ClientSession) -> None:
    upstream = launch.upstream("a")
    gateway = launch.gateway([upstream], public_routes=[], max_body_bytes=MAX_BODY_BYTES)
    await launch.ready()

    for method, path in (("POST", "/api/v1/batch"), ("GET", TALENTS)):
        async with session.request(method, gateway.url + path, json={"requests": []},
                                   headers={"Authorization": "Bearer not-a-jwt"}) as response:
            body = await response.read()
            problem = assert_problem(response.status, response.headers, body, 401)
            assert "not-a-jwt" not in body.decode(), problem
            assert response.headers["WWW-Authenticate"].startswith("Bearer")

    # Refused on its size before anything reads it: no token is looked at, no upstream is called.
    async with session.post(gateway.url + TALENTS, data=b"{" + b" " * (2 * MAX_BODY_BYTES) + b"}",
                            headers={"Content-Type": "application/json"}) as response:
        body = await response.read()
        assert_problem(response.status, response.headers, body, 413)

    async with session.get(gateway.url + "/api/v1/nope") as response:
        body = await response.read()
        assert_problem(response.status, response.headers, body, 404, "unknown-route")


# --- streaming ------------------------------------------------------------------------------------


async def test_events_stream_through_unbuffered(launch: Launcher, session: aiohttp.ClientSession) -> None:
    upstream = launch.upstream("a")
    gateway = launch.gateway([upstream])
    await launch.ready()
    await until_answered_by(session, gateway, {"a"}, timeout=10)

    started = time.monotonic()
    arrivals: list[tuple[float, bytes]] = []
    async with session.get(gateway.url + TALENTS + "/stream") as response:
        assert response.status == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for chunk in response.content.iter_any():
            arrivals.append((time.monotonic() - started, chunk))
    ended = time.monotonic() - started

    assert b"".join(chunk for _, chunk in arrivals) == b"data: 1\n\ndata: 2\n\n"
    first = next(at for at, chunk in arrivals if b"data: 1" in chunk)
    second = next(at for at, chunk in arrivals if b"data: 2" in chunk)
    # A buffering gateway would hand both events over together, once the upstream is done; this one
    # passes the first on before the upstream writes the second. (Time to the first byte is well
    # under 150 ms on an idle machine; the bounds leave room for a loaded one.)
    assert first < SECOND_EVENT_AFTER, arrivals
    assert second - first >= SECOND_EVENT_AFTER / 2, arrivals
    assert ended >= SECOND_EVENT_AFTER, arrivals
