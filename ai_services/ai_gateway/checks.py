"""Active health checks: the gateway reads every instance's /ready every few seconds.

Heartbeats say what an instance thinks of itself; a check says whether the gateway can reach
it. An instance that refuses connections is out of rotation until a check reaches it again.
For a seeded instance, which may never send heartbeats, a check stands in for one: it is healthy
while /ready answers 200. A check that times out changes nothing: a busy instance is not a dead one.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp

from ai_services.ai_gateway.registry import Instance, Registry

log = logging.getLogger("looma.gateway.checks")


async def _ready_status(session: aiohttp.ClientSession, instance: Instance, timeout: float) -> int:
    async with session.get(instance.url + "/ready", timeout=aiohttp.ClientTimeout(total=timeout)) as response:
        return response.status


async def check(session: aiohttp.ClientSession, registry: Registry, instance: Instance, timeout: float) -> None:
    try:
        try:
            status = await _ready_status(session, instance, timeout)
        except aiohttp.ClientError:  # maybe a pooled connection the instance had closed: once more
            status = await _ready_status(session, instance, timeout)
    except (TimeoutError, asyncio.TimeoutError):
        return
    except aiohttp.ClientError:
        if not instance.check_failed:
            log.warning("instance unreachable by active check", extra={"instance": instance.instance_id})
        instance.check_failed = True
        return
    if instance.check_failed:
        log.info("instance reachable again", extra={"instance": instance.instance_id})
    instance.check_failed = False
    if instance.static:
        instance.last_heartbeat, instance.ready = registry.clock(), status == 200


async def check_all(session: aiohttp.ClientSession, registry: Registry, timeout: float) -> None:
    await asyncio.gather(*(check(session, registry, i, timeout) for i in registry.instances()))


async def run_checks(session: aiohttp.ClientSession, registry: Registry, interval: float) -> None:
    while True:
        await check_all(session, registry, min(2.0, interval))
        await asyncio.sleep(interval)
