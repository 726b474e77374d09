"""Self-registration with the gateway's registry, heartbeats, and deregistration on shutdown.

The gateway being down never stops a service: registration is retried on every heartbeat.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp

from shared.fleet import instance_id
from shared.service.auth.service_token import ServiceToken, ServiceTokenError

log = logging.getLogger("looma.registration")

RETRY_START = 0.1


@dataclass
class GatewayRegistration:
    gateway_url: str
    service: str
    url: str
    prefixes: tuple[str, ...]
    interval: float
    ttl: float
    is_ready: Callable[[], Awaitable[bool]]
    token: ServiceToken | None = None  # the gateway's registry needs a service token

    def __post_init__(self) -> None:
        self.instance_id = instance_id(self.service, self.url)
        self.registered = False
        self.last_ready = False
        self._session: aiohttp.ClientSession | None = None
        self._base = self.gateway_url.rstrip("/") + "/api/v1/registry/instances"

    async def run(self) -> None:
        """Register, then heartbeat every `interval` seconds until cancelled.

        Until the gateway has us registered and ready, beats come sooner (from RETRY_START,
        doubling up to `interval`), so a fleet starting all at once is routable within moments.
        """
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=max(1.0, self.interval)))
        retry = RETRY_START
        try:
            while True:
                await self._beat()
                if self.registered and self.last_ready:
                    retry = RETRY_START
                    await asyncio.sleep(self.interval)
                else:
                    await asyncio.sleep(min(retry, self.interval))
                    retry *= 2
        finally:
            await self._session.close()

    async def _headers(self) -> dict[str, str]:
        if self.token is None:
            return {}
        return {"Authorization": f"Bearer {await self.token.get()}"}

    async def _beat(self) -> None:
        assert self._session is not None
        ready = self.last_ready = await self.is_ready()
        try:
            headers = await self._headers()
            if self.registered:
                heartbeat = f"{self._base}/{self.instance_id}/heartbeat"
                async with self._session.put(heartbeat, json={"ready": ready}, headers=headers) as response:
                    if response.status == 204:
                        return
                    if response.status == 401 and self.token is not None:
                        self.token.invalidate()
                    self.registered = False  # the gateway restarted or expired us: register again
            payload = {
                "service": self.service,
                "instance_id": self.instance_id,
                "url": self.url,
                "prefixes": list(self.prefixes),
                "ttl": self.ttl,
                "ready": ready,
            }
            async with self._session.post(self._base, json=payload, headers=headers) as response:
                if response.status in (200, 201):
                    if not self.registered:
                        log.info("registered with the gateway", extra={"gateway": self.gateway_url})
                    self.registered = True
                else:
                    if response.status == 401 and self.token is not None:
                        self.token.invalidate()
                    log.warning("gateway refused registration", extra={"status": response.status})
        except ServiceTokenError as error:
            log.warning("no service token to register with; will retry", extra={"error": str(error)})
            self.registered = False
        except (aiohttp.ClientError, TimeoutError) as error:
            if self.registered:
                log.warning("gateway unreachable; will retry", extra={"error": str(error) or type(error).__name__})
            self.registered = False

    async def deregister(self) -> None:
        timeout = aiohttp.ClientTimeout(total=2.0)
        try:
            headers = await self._headers()
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.delete(f"{self._base}/{self.instance_id}", headers=headers):
                    pass
        except (aiohttp.ClientError, TimeoutError, ServiceTokenError):
            pass  # the heartbeat TTL expires us anyway
        self.registered = False
