"""Starting `looma up` as a real process for end-to-end tests, on ports of its own."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from shared.fleet import PROCESSES, UPSTREAMS

ADMIN_EMAIL = "admin@looma.test"
ADMIN_PASSWORD = "e2e admin password"
HEARTBEAT_INTERVAL = 0.5
HEARTBEAT_TTL = 2.0


def free_port_offset() -> int:
    """An offset under which every port `looma up` uses is free on 127.0.0.1."""
    for _ in range(50):
        offset = random.randrange(20000, 40000, 10)
        if all(_port_free(spec.port + offset) for spec in PROCESSES):
            return offset
    raise RuntimeError("no free port range for the fleet")


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class Fleet:
    data_dir: Path
    offset: int
    process: subprocess.Popen[bytes]
    output: Path

    def url(self, name: str) -> str:
        spec = next(s for s in PROCESSES if s.name == name)
        return f"http://127.0.0.1:{spec.port + self.offset}"

    @property
    def gateway(self) -> str:
        return self.url("gateway")

    def state(self) -> dict[str, Any]:
        return json.loads((self.data_dir / "run" / "fleet.json").read_text())

    def service_token(self) -> str:
        """A token for the fleet's own service client, whose secret `looma up` keeps in the data directory."""
        secret = (self.data_dir / "secrets" / "service-client").read_text().strip()
        response = httpx.post(f"{self.gateway}/api/v1/auth/token", timeout=5, json={
            "grant_type": "client_credentials", "client_id": "looma-fleet", "client_secret": secret})
        response.raise_for_status()
        return str(response.json()["access_token"])

    def login(self, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> dict[str, Any]:
        response = httpx.post(f"{self.gateway}/api/v1/auth/login", json={"email": email, "password": password},
                              timeout=5)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def services(self) -> dict[str, dict[str, Any]]:
        headers = {"Authorization": f"Bearer {self.service_token()}"}
        body = httpx.get(f"{self.gateway}/api/v1/services", timeout=5, headers=headers).json()
        return {item["service"]: item for item in body["items"]}

    def wait_until(self, predicate: Any, timeout: float, what: str) -> float:
        """Poll `predicate` until true; return the seconds it took."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            try:
                if predicate():
                    return time.monotonic() - started
            except (httpx.HTTPError, OSError, ValueError, KeyError):
                pass
            time.sleep(0.1)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}; looma up said:\n{self.log()}")

    def all_healthy(self) -> bool:
        services = self.services()
        return all(services.get(s.name, {}).get("status") == "healthy" for s in UPSTREAMS)

    def log(self) -> str:
        return self.output.read_text(errors="replace")

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)


def start_fleet(data_dir: Path, offset: int, output: Path, extra_env: dict[str, str] | None = None) -> Fleet:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOMA_")}
    env.update({
        "LOOMA_PORT_OFFSET": str(offset),
        "LOOMA_HEARTBEAT_INTERVAL": str(HEARTBEAT_INTERVAL),
        "LOOMA_HEARTBEAT_TTL": str(HEARTBEAT_TTL),
        "LOOMA_GATEWAY_CHECK_INTERVAL": "0.5",
        "LOOMA_GRACEFUL_SHUTDOWN_TIMEOUT": "5",
        "LOOMA_BOOTSTRAP_ADMIN_EMAIL": ADMIN_EMAIL,
        "LOOMA_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        **(extra_env or {}),
    })
    with open(output, "ab") as sink:
        process = subprocess.Popen([sys.executable, "-m", "shared.cli.main", "up", "--data-dir", str(data_dir)],
                                   env=env, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    fleet = Fleet(data_dir, offset, process, output)
    try:
        fleet.wait_until(lambda: "ready in" in fleet.log() or process.poll() is not None, 90, "looma up to be ready")
    except AssertionError:
        fleet.stop()  # a fleet that never became ready must not outlive the test
        raise
    if process.poll() is not None:
        raise AssertionError(f"looma up exited with {process.returncode}:\n{fleet.log()}")
    return fleet
