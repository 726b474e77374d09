"""The fleet as real processes under `looma up`, exercised through the gateway."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys

import httpx
import psutil
import pytest

from shared.fleet import PROJECTOR, UPSTREAMS
from tests.e2e.fleet import HEARTBEAT_TTL, Fleet, free_port_offset, start_fleet

pytestmark = pytest.mark.e2e


def test_gateway_lists_every_upstream_healthy(fleet: Fleet) -> None:
    services = fleet.services()
    for spec in UPSTREAMS:
        assert services[spec.name]["status"] == "healthy", services[spec.name]
        assert [i["url"] for i in services[spec.name]["instances"]] == [fleet.url(spec.name)]
        assert set(spec.prefixes) <= set(services[spec.name]["prefixes"])


@pytest.mark.parametrize("name", [spec.name for spec in UPSTREAMS])
def test_each_upstream_answers_through_the_gateway(fleet: Fleet, name: str) -> None:
    response = httpx.get(f"{fleet.gateway}/api/v1/services/{name}/ready", headers={"X-Request-ID": f"e2e-{name}"})
    assert response.status_code == 200, response.text
    assert response.json()["service"] == name
    assert response.json()["checks"]["database"]["ok"] is True
    assert response.headers["x-request-id"] == f"e2e-{name}"


def test_domain_prefix_reaches_its_service(fleet: Fleet) -> None:
    """The CRM answers its own routes through the gateway: 401 without a token, its list with one."""
    response = httpx.get(f"{fleet.gateway}/api/v1/talents", headers={"X-Request-ID": "e2e-talents"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["request_id"] == "e2e-talents"
    assert problem["type"] == "urn:looma:problem:missing-token"  # the CRM's answer, not the gateway's unknown-route
    token = fleet.login()["access_token"]
    response = httpx.get(f"{fleet.gateway}/api/v1/talents", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json() == {"items": [], "total": 0, "next_cursor": None}


def test_unknown_route_is_404_without_token(fleet: Fleet) -> None:
    response = httpx.get(f"{fleet.gateway}/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["type"] == "urn:looma:problem:unknown-route"


def test_killed_service_is_reported_then_restarted(fleet: Fleet) -> None:
    victim = "matching"
    old_pid = fleet.state()["services"][victim]["pid"]
    os.kill(old_pid, signal.SIGKILL)

    took = fleet.wait_until(lambda: fleet.services()[victim]["status"] == "unhealthy", HEARTBEAT_TTL + 3,
                            "the gateway to report the killed service unhealthy")
    assert took <= HEARTBEAT_TTL + 1.5

    fleet.wait_until(lambda: fleet.services()[victim]["status"] == "healthy", 30, "the service to come back")
    new_pid = fleet.state()["services"][victim]["pid"]
    assert new_pid != old_pid
    assert f"{victim} exited with code -9; restarting" in fleet.log()
    assert httpx.get(f"{fleet.gateway}/api/v1/services/{victim}/ready").status_code == 200


def test_second_looma_up_on_same_data_dir_is_refused(fleet: Fleet) -> None:
    result = subprocess.run([sys.executable, "-m", "shared.cli.main", "up", "--data-dir", str(fleet.data_dir)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "already running" in result.stderr


def test_busy_ports_are_named(fleet: Fleet, tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {**os.environ, "LOOMA_PORT_OFFSET": str(fleet.offset)}
    result = subprocess.run([sys.executable, "-m", "shared.cli.main", "up", "--data-dir", str(tmp_path / "other")],
                            capture_output=True, text=True, timeout=30, env=env)
    assert result.returncode == 1
    assert f"gateway (127.0.0.1:{8206 + fleet.offset})" in result.stderr


def test_status_command_reports_the_fleet(fleet: Fleet) -> None:
    env = {**os.environ, "LOOMA_PORT_OFFSET": str(fleet.offset)}
    fleet.wait_until(fleet.all_healthy, 30, "all services healthy")
    result = subprocess.run([sys.executable, "-m", "shared.cli.main", "status"], capture_output=True, text=True,
                            timeout=30, env=env)
    assert result.returncode == 0, result.stdout
    for spec in (*UPSTREAMS, PROJECTOR):
        assert f"{spec.name:<10} {fleet.url(spec.name):<28} yes" in result.stdout


def test_sigterm_stops_everything_and_data_survives_a_restart(tmp_path) -> None:  # type: ignore[no-untyped-def]
    data_dir, output = tmp_path / "data", tmp_path / "up.log"
    first = start_fleet(data_dir, free_port_offset(), output)
    pids = [entry["pid"] for entry in first.state()["services"].values()]
    assert first.stop() == 0
    assert not [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
    assert "fleet stopped" in first.log()

    with sqlite3.connect(data_dir / "looma.db") as db:
        db.execute("CREATE TABLE e2e_marker (note TEXT)")
        db.execute("INSERT INTO e2e_marker VALUES ('still here')")

    second = start_fleet(data_dir, free_port_offset(), output)
    try:
        second.wait_until(second.all_healthy, 30, "all services healthy after restart")
        with sqlite3.connect(data_dir / "looma.db") as db:
            assert db.execute("SELECT note FROM e2e_marker").fetchall() == [("still here",)]
    finally:
        assert second.stop() == 0
