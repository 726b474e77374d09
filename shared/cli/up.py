"""`looma up`: migrate, start the nine services and the projector, wait until all are ready, supervise."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time

import aiohttp

from shared.cli.bootstrap import check_ports_free, child_environment, exclusive_data_dir, prepare
from shared.cli.supervisor import FleetSupervisor
from shared.config import LoomaSettings
from shared.database.schema import declared_head
from shared.fleet import GATEWAY, PROCESSES, UPSTREAMS
from shared.service.auth.service_token import ServiceToken, ServiceTokenError

log = logging.getLogger("looma.up")

READY_TIMEOUT = 60.0
POLL_INTERVAL = 0.1


def run_fleet(settings: LoomaSettings) -> int:
    with exclusive_data_dir(settings.data_dir):
        check_ports_free(settings.host, {s.name: settings.port_for(s.port) for s in PROCESSES})
        started = time.monotonic()
        settings = prepare(settings)
        log.info(f"data directory {settings.data_dir.resolve()}: schema at {declared_head()}; starting services")
        return asyncio.run(_serve(settings, started))


async def _serve(settings: LoomaSettings, started: float) -> int:
    urls = {s.name: settings.instance_url(s.port) for s in PROCESSES}
    supervisor = FleetSupervisor(
        list(PROCESSES), urls, child_environment(dict(os.environ), settings, list(UPSTREAMS)),
        log_dir=settings.data_dir / "logs", state_file=settings.data_dir / "run" / "fleet.json",
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
        # All at once: upstreams register as soon as the gateway listens (registration retries
        # quickly until it succeeds), and nine interpreters starting side by side keep both cores busy.
        await asyncio.gather(*(supervisor.start(s.name) for s in PROCESSES))
        waiting = asyncio.gather(*(_wait_for(http, f"{urls[s.name]}/ready", stop) for s in PROCESSES),
                                 _wait_for_gateway(http, urls[GATEWAY.name], _fleet_token(settings), stop))
        try:
            await asyncio.wait_for(waiting, READY_TIMEOUT)
        except TimeoutError:
            log.error(f"not all services were ready after {READY_TIMEOUT:.0f}s; "
                      f"see {settings.data_dir / 'logs'} and `looma status`")
        else:
            if not stop.is_set():
                _announce(urls, time.monotonic() - started)
        await stop.wait()
    log.info("stopping the fleet")
    await supervisor.stop(settings.graceful_shutdown_timeout + 2)
    log.info("fleet stopped")
    return 0


async def _wait_for(http: aiohttp.ClientSession, url: str, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            async with http.get(url) as response:
                if response.status == 200:
                    return
        except (aiohttp.ClientError, TimeoutError):
            pass
        await asyncio.sleep(POLL_INTERVAL)


async def _wait_for_gateway(http: aiohttp.ClientSession, gateway_url: str, token: ServiceToken,
                            stop: asyncio.Event) -> None:
    """Until the gateway lists a healthy instance of every upstream: then the first request works."""
    expected = {s.name for s in UPSTREAMS}
    while not stop.is_set():
        try:
            headers = {"Authorization": f"Bearer {await token.get()}"}
            async with http.get(f"{gateway_url}/api/v1/services", headers=headers) as response:
                if response.status == 200:
                    items = (await response.json())["items"]
                    if expected <= {item["service"] for item in items if item["status"] == "healthy"}:
                        return
        except (aiohttp.ClientError, TimeoutError, KeyError, ValueError, ServiceTokenError):
            pass
        await asyncio.sleep(POLL_INTERVAL)


def _fleet_token(settings: LoomaSettings) -> ServiceToken:
    assert settings.service_client_secret is not None
    return ServiceToken(settings.instance_url(GATEWAY.port), settings.service_client_id,
                        settings.service_client_secret.get_secret_value())


def _announce(urls: dict[str, str], elapsed: float) -> None:
    lines = [f"  {spec.title:<18} {urls[spec.name]}" for spec in PROCESSES]
    log.info("Looma is ready in %.1fs:\n%s\n  API (through the gateway): %s/api/v1/\n  Stop with Ctrl-C.",
             elapsed, "\n".join(lines), urls[GATEWAY.name])
