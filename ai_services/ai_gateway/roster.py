"""The registry's shared copy in the cache, so that several gateways route to the same instances.

With LOOMA_REDIS_URL the cache is Redis and any number of gateways share the roster; without it,
gateways on one machine share it through the embedded cache's file. Each instance is one key,
`gateway:instance:{id}`, rewritten by every heartbeat (no lock) and expiring when the instance
has been silent for long; the key `gateway:instances` lists the ids, changed under a lock on
register and deregister. Every gateway reads the roster every `sync_interval` seconds and merges
it into its own registry, keeping what it measured itself (latency, breakers, in-flight).

The cache being down never stops routing: the local registry keeps working and the roster
catches up once the cache is back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass

from ai_services.ai_gateway.registry import FORGET_AFTER_TTLS, Instance, Registry
from shared.database.cache import Cache

log = logging.getLogger("looma.gateway.roster")

INDEX_KEY = "gateway:instances"
INSTANCE_KEY = "gateway:instance:"


@dataclass
class Roster:
    cache: Cache
    registry: Registry

    async def registered(self, instance: Instance) -> None:
        await self._guarded(self._write(instance, index=True))

    async def beat(self, instance: Instance) -> None:
        await self._guarded(self._write(instance, index=False))

    async def deregistered(self, instance_id: str) -> None:
        async def remove() -> None:
            await self.cache.delete(INSTANCE_KEY + instance_id)
            async with self.cache.lock(INDEX_KEY, ttl=5.0, wait=5.0):
                ids = await self._ids()
                if instance_id in ids:
                    ids.remove(instance_id)
                    await self.cache.set(INDEX_KEY, json.dumps(ids).encode())

        await self._guarded(remove())

    async def sync(self) -> None:
        """Merge the shared roster into the local registry."""
        await self._guarded(self._sync())

    async def run(self, interval: float) -> None:
        while True:
            await self.sync()
            await asyncio.sleep(interval)

    async def _sync(self) -> None:
        started = self.registry.clock()
        ids = await self._ids()
        missing = []
        present = set()
        for instance_id in ids:
            raw = await self.cache.get(INSTANCE_KEY + instance_id)
            if raw is None:
                missing.append(instance_id)
                continue
            entry = json.loads(raw)
            present.add(instance_id)
            instance, _ = self.registry.register(entry["service"], instance_id, entry["url"], entry["prefixes"],
                                                 entry["ttl"], entry["ready"], entry.get("weight", 1),
                                                 heartbeat_at=entry["heartbeat_at"])
            instance.shared_at = started
        for instance in self.registry.instances():
            seen = instance.shared_at
            gone = not instance.static and instance.instance_id not in present and seen is not None and seen < started
            if gone:  # the roster held it and no longer does: deregistered or expired at another gateway
                self.registry.deregister(instance.instance_id)
        if missing:
            async with self.cache.lock(INDEX_KEY, ttl=5.0, wait=5.0):
                current = await self._ids()
                await self.cache.set(INDEX_KEY, json.dumps([i for i in current if i not in missing]).encode())

    async def _write(self, instance: Instance, index: bool) -> None:
        entry = {"service": instance.service, "url": instance.url, "prefixes": list(instance.prefixes),
                 "ttl": instance.ttl, "ready": instance.ready, "weight": instance.weight,
                 "heartbeat_at": instance.last_heartbeat or time.time()}
        await self.cache.set(INSTANCE_KEY + instance.instance_id, json.dumps(entry).encode(),
                             ttl=FORGET_AFTER_TTLS * instance.ttl)
        if index:
            async with self.cache.lock(INDEX_KEY, ttl=5.0, wait=5.0):
                ids = await self._ids()
                if instance.instance_id not in ids:
                    await self.cache.set(INDEX_KEY, json.dumps([*ids, instance.instance_id]).encode())
        instance.shared_at = self.registry.clock()

    async def _ids(self) -> list[str]:
        raw = await self.cache.get(INDEX_KEY)
        return list(json.loads(raw)) if raw else []

    async def _guarded(self, work: object) -> None:
        try:
            await work  # type: ignore[misc]
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - the cache being down must not stop routing
            log.warning("the shared registry could not be reached; routing on the local copy",
                        extra={"error": str(error) or type(error).__name__})
