"""What `looma up` does to a data directory before any service starts."""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import socket
from contextlib import contextmanager
from collections.abc import Iterator
from pathlib import Path

from pydantic import SecretStr

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


def prepare(settings: LoomaSettings) -> LoomaSettings:
    """Migrate the relational store to head and settle the fleet's service credentials.

    The auth service creates the signing keys, the fleet's service client and the first admin
    when it starts, before it reports ready; `looma up` waits for that.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.sqlalchemy_url)
    if settings.service_client_secret is None:
        settings = settings.model_copy(update={"service_client_secret": SecretStr(local_service_secret(settings))})
    return settings


def local_service_secret(settings: LoomaSettings) -> str:
    """This data directory's fleet client secret, generated on first use and kept readable by its owner only."""
    path = settings.data_dir / "secrets" / "service-client"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    secret = secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secret + "\n")
    return secret


def fleet_credentials(settings: LoomaSettings) -> tuple[str, str] | None:
    """The fleet client's id and secret: from settings, or from the data directory `looma up` uses."""
    if settings.service_client_secret is not None:
        return settings.service_client_id, settings.service_client_secret.get_secret_value()
    path = settings.data_dir / "secrets" / "service-client"
    if path.exists():
        return settings.service_client_id, path.read_text().strip()
    return None


def child_environment(base: dict[str, str], settings: LoomaSettings, upstreams: list[ServiceSpec]) -> dict[str, str]:
    """The environment every service process gets: same data directory, the gateway and its seeds."""
    gateway_url = settings.instance_url(GATEWAY.port)
    seeds = [{"service": s.name, "url": settings.instance_url(s.port), "prefixes": list(s.prefixes)} for s in upstreams]
    env = dict(base)
    secret = settings.service_client_secret
    env.update({
        "LOOMA_SERVICE_CLIENT_ID": settings.service_client_id,
        "LOOMA_SERVICE_CLIENT_SECRET": secret.get_secret_value() if secret is not None else "",
        "LOOMA_DATA_DIR": str(settings.data_dir.resolve()),
        "LOOMA_GATEWAY_URL": gateway_url,
        "LOOMA_GATEWAY_STATIC_INSTANCES": json.dumps(seeds),
        "PYTHONUNBUFFERED": "1",
    })
    return env
