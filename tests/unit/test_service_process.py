"""The probe service as a real process: what only Sanic's own HTTP server and signal handling show.

The body size limit is enforced by Sanic's HTTP/1 protocol (not on the ASGI path), and graceful
shutdown and log output need a process that receives SIGTERM and writes to stderr.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from shared.config import LoomaSettings
from shared.database.schema import upgrade
from tests.unit.fake_service import PROBE

REPO_ROOT = Path(__file__).resolve().parents[2]
MAX_BODY_BYTES = 1024
STARTUP_TIMEOUT = 20.0
VALID_PROBE = {"name": "Ada", "tags": [], "salary": {"min": 1, "max": 2}}

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM semantics are POSIX")


@dataclass
class ProbeProcess:
    process: subprocess.Popen[bytes]
    base_url: str
    stdout: Path
    stderr: Path

    def stop(self, timeout: float = 10.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def log_lines(self) -> list[str]:
        text = self.stdout.read_text() + self.stderr.read_text()
        return [line for line in text.splitlines() if line.strip()]


def free_port_within_offset_range() -> int:
    """A free port that PROBE.port + LOOMA_PORT_OFFSET can reach within the offsets settings allow."""
    low, high = PROBE.port - 8000, PROBE.port + 50000
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if low <= port <= high:
            return port
    raise RuntimeError(f"no free port between {low} and {high}")


def wait_until_healthy(probe: ProbeProcess) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if probe.process.poll() is not None:
            pytest.fail(f"the probe service exited with {probe.process.returncode}:\n{probe.stderr.read_text()}")
        try:
            if httpx.get(f"{probe.base_url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"the probe service did not answer /health within {STARTUP_TIMEOUT}s:\n{probe.stderr.read_text()}")


@contextmanager
def running_probe(workdir: Path) -> Iterator[ProbeProcess]:
    """The probe service in its own process on a migrated data directory under `workdir`."""
    data_dir = workdir / "data"
    settings = LoomaSettings(_env_file=None, data_dir=data_dir, database_url=None)  # type: ignore[call-arg]
    upgrade(settings.sqlalchemy_url)
    port = free_port_within_offset_range()
    env = {name: value for name, value in os.environ.items() if not name.startswith("LOOMA_")}
    env.update(
        LOOMA_ENV="test",
        LOOMA_DATA_DIR=str(data_dir),
        LOOMA_HOST="127.0.0.1",
        LOOMA_PORT_OFFSET=str(port - PROBE.port),
        LOOMA_MAX_BODY_BYTES=str(MAX_BODY_BYTES),
        # Blank means unset, and beats any .env file in the working directory.
        LOOMA_DATABASE_URL="",
        LOOMA_REDIS_URL="",
        LOOMA_GATEWAY_URL="",
    )
    stdout, stderr = workdir / "stdout.log", workdir / "stderr.log"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen([sys.executable, "-m", "tests.unit.fake_service"],
                                   cwd=REPO_ROOT, env=env, stdout=out, stderr=err)
    probe = ProbeProcess(process, f"http://127.0.0.1:{port}", stdout, stderr)
    try:
        wait_until_healthy(probe)
        yield probe
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def shared_probe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProbeProcess]:
    """One process for the tests that leave it as they found it."""
    with running_probe(tmp_path_factory.mktemp("probe")) as probe:
        yield probe


@pytest.fixture
def probe(tmp_path: Path) -> Iterator[ProbeProcess]:
    """A process of this test's own, for tests that stop it."""
    with running_probe(tmp_path) as probe:
        yield probe


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert {"type", "title", "status", "detail", "instance", "request_id"} <= body.keys()
    assert body["status"] == status
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def in_flight(base_url: str) -> float:
    """Requests being answered right now, not counting the /metrics scrape asking."""
    text = httpx.get(f"{base_url}/metrics", timeout=2.0).text
    for family in text_string_to_metric_families(text):
        if family.name == "looma_http_requests_in_flight":
            return sum(sample.value for sample in family.samples) - 1
    return 0.0


# --- body size limit --------------------------------------------------------------------------------


def test_a_body_within_the_limit_is_accepted(shared_probe: ProbeProcess) -> None:
    response = httpx.post(f"{shared_probe.base_url}/api/v1/probes", json=VALID_PROBE)

    assert response.status_code == 201, response.text


def test_a_body_over_the_limit_answers_413_problem(shared_probe: ProbeProcess) -> None:
    too_big = {**VALID_PROBE, "name": "x" * (MAX_BODY_BYTES * 2)}

    response = httpx.post(f"{shared_probe.base_url}/api/v1/probes", json=too_big)

    body = assert_problem(response, 413)
    assert body["instance"] == "/api/v1/probes"


def test_a_chunked_body_over_the_limit_answers_413_problem(shared_probe: ProbeProcess) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(4):
            yield b"x" * MAX_BODY_BYTES
        yield b'", "salary": {"min": 1, "max": 2}}'

    response = httpx.post(f"{shared_probe.base_url}/api/v1/probes", content=chunks(),
                          headers={"content-type": "application/json"})

    assert_problem(response, 413)


# --- graceful shutdown ------------------------------------------------------------------------------


def test_sigterm_lets_an_in_flight_request_finish_then_exits_cleanly(probe: ProbeProcess) -> None:
    answers: list[httpx.Response | BaseException] = []

    def slow_request() -> None:
        try:
            answers.append(httpx.get(f"{probe.base_url}/api/v1/slow", params={"seconds": "1.5"}, timeout=10.0))
        except BaseException as error:  # reported by the assertion below, not lost in the thread
            answers.append(error)

    client = threading.Thread(target=slow_request)
    client.start()
    deadline = time.monotonic() + 5.0
    while in_flight(probe.base_url) < 1:
        assert time.monotonic() < deadline, "the slow request never reached the handler"
        time.sleep(0.05)

    probe.process.send_signal(signal.SIGTERM)
    client.join(timeout=10.0)

    assert len(answers) == 1
    (answer,) = answers
    assert isinstance(answer, httpx.Response), f"the in-flight request failed: {answer!r}"
    assert answer.status_code == 200
    assert answer.json() == {"slept": 1.5}
    assert probe.process.wait(timeout=5.0) == 0


# --- logs -------------------------------------------------------------------------------------------


def test_every_log_line_is_json_with_service_and_request_id(probe: ProbeProcess) -> None:
    httpx.post(f"{probe.base_url}/api/v1/probes", json=VALID_PROBE, headers={"X-Request-ID": "log-created"})
    httpx.get(f"{probe.base_url}/api/v1/nowhere", headers={"X-Request-ID": "log-missing"})
    httpx.get(f"{probe.base_url}/api/v1/boom", headers={"X-Request-ID": "log-boom"})
    assert probe.stop() == 0

    records = []
    for line in probe.log_lines():
        record = json.loads(line)  # a line that is not JSON fails here, showing the line
        assert isinstance(record, dict), line
        assert record["service"] == "probe", line
        assert "request_id" in record, line
        records.append(record)

    access = {r["request_id"]: r for r in records if r.get("logger") == "looma.access"}
    assert access["log-created"]["status"] == 201
    assert access["log-created"]["route"].lstrip("/") == "api/v1/probes"
    assert access["log-missing"]["status"] == 404
    assert access["log-missing"]["route"] == "<unmatched>"
    assert access["log-boom"]["status"] == 500
    assert all(isinstance(r["duration_ms"], int | float) for r in access.values())
    errors = [r for r in records if r["level"] == "ERROR"]
    assert [r["request_id"] for r in errors] == ["log-boom"]
    assert "secret internal detail" in errors[0]["exc_info"]  # the operator sees what the client did not
