"""What `looma up` does to a data directory before any service starts."""

from __future__ import annotations

import fcntl
import json
import socket
from contextlib import contextmanager
from collections.abc import Iterator
from pathlib import Path

from shared.config import LoomaSettings
from shared.database.schema import upgrade
from shared.fleet import GATEWAY, ServiceSpec


class FleetError(RuntimeError):
    """A reason `looma up` cannot start, worded for the person at the terminal."""


@contextmanager
def exclusive_data_dir(data_dir: Path) -> Iterator[None]:
    """Hold a lock on the data directory, so that two `looma up` never share one."""
    run = data_dir / "run"
    run.mkdir(parents=True, exist_ok=True)
    with open(run / "looma-up.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FleetError(f"another `looma up` is already running on {data_dir}") from None
        yield


def check_ports_free(host: str, ports: dict[str, int]) -> None:
    busy = []
    for name, port in ports.items():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError:
                busy.append(f"{name} ({host}:{port})")
    if busy:
        raise FleetError(f"ports already in use: {', '.join(busy)}. Stop what holds them, "
                         "or shift the fleet with LOOMA_PORT_OFFSET.")


def prepare(settings: LoomaSettings) -> None:
    """Migrate the relational store to head. Later bootstrap steps (keys, first admin) join here."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.sqlalchemy_url)


def child_environment(base: dict[str, str], settings: LoomaSettings, upstreams: list[ServiceSpec]) -> dict[str, str]:
    """The environment every service process gets: same data directory, the gateway and its seeds."""
    gateway_url = settings.instance_url(GATEWAY.port)
    seeds = [{"service": s.name, "url": settings.instance_url(s.port), "prefixes": list(s.prefixes)} for s in upstreams]
    env = dict(base)
    env.update({
        "LOOMA_DATA_DIR": str(settings.data_dir.resolve()),
        "LOOMA_GATEWAY_URL": gateway_url,
        "LOOMA_GATEWAY_STATIC_INSTANCES": json.dumps(seeds),
        "PYTHONUNBUFFERED": "1",
    })
    return env
