"""Killing the projector at any moment loses nothing: after a restart every projection converges."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from shared.config import LoomaSettings
from shared.database import UnifiedDataAccess
from shared.database.fulltext import IndexSpec
from shared.database.outbox import DONE, OutboxEvent, outbox_events, record
from shared.database.schema import upgrade
from shared.database.vectors import CollectionSpec
from tests.e2e.fleet import free_port_offset

pytestmark = pytest.mark.e2e

ENTITIES = 1000
UPDATED = 300  # these get a second version after the first
ORG = "org-crash"


def event(index: int, version: int) -> OutboxEvent:
    entity_id = f"talent-{index:04d}"
    name = f"候选人{index} v{version}"
    angle = index / ENTITIES
    return OutboxEvent(ORG, "talent", entity_id, version, "upsert", {
        "graph": {"label": "Talent", "properties": {"name": name}},
        "fulltext": {"index": "talents", "fields": {"name": name}, "filters": {}},
        "vectors": {"collection": "profiles", "vector": [1.0, angle, float(version), 0.5], "metadata": {}},
    })


async def seed(settings: LoomaSettings) -> None:
    data = UnifiedDataAccess.from_settings(settings)
    try:
        await data.fulltext.ensure_index(IndexSpec("talents", ("name",)))
        await data.vectors.ensure_collection(CollectionSpec("profiles", 4))
        events = [event(i, 1) for i in range(ENTITIES)] + [event(i, 2) for i in range(UPDATED)]
        for start in range(0, len(events), 100):
            async with data.relational.write() as conn:
                await record(conn, *events[start:start + 100])
    finally:
        await data.close()


async def delivered(settings: LoomaSettings) -> int:
    data = UnifiedDataAccess.from_settings(settings)
    try:
        async with data.relational.read() as conn:
            return (await conn.execute(sa.select(sa.func.count()).where(outbox_events.c.status == DONE))).scalar_one()
    finally:
        await data.close()


async def projected(settings: LoomaSettings) -> list[dict[str, int]]:
    data = UnifiedDataAccess.from_settings(settings)
    try:
        return [await data.graph.versions(None, "Talent"), await data.fulltext.versions("talents"),
                await data.vectors.versions("profiles")]
    finally:
        await data.close()


def start_projector(data_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOMA_")}
    env.update({"LOOMA_DATA_DIR": str(data_dir), "LOOMA_PORT_OFFSET": str(free_port_offset())})
    with open(log, "ab") as sink:
        return subprocess.Popen([sys.executable, "-m", "shared.projector"], env=env, stdout=sink,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def wait_for(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_kill_9_mid_delivery_then_restart_converges(tmp_path: Path) -> None:
    settings = LoomaSettings(data_dir=tmp_path / "data", database_url=None, redis_url=None)
    settings.data_dir.mkdir()
    upgrade(settings.sqlalchemy_url)
    asyncio.run(seed(settings))
    total = ENTITIES + UPDATED

    first = start_projector(settings.data_dir, tmp_path / "projector.log")
    wait_for(lambda: asyncio.run(delivered(settings)) >= 200, 60, "the projector to deliver 200 events")
    os.kill(first.pid, signal.SIGKILL)
    first.wait(10)
    at_kill = asyncio.run(delivered(settings))
    assert at_kill < total, "the projector finished before it could be killed; the test proves nothing"

    second = start_projector(settings.data_dir, tmp_path / "projector.log")
    try:
        wait_for(lambda: asyncio.run(delivered(settings)) == total, 180, "every event to be delivered")
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0

    expected = {f"talent-{i:04d}": 2 if i < UPDATED else 1 for i in range(ENTITIES)}
    graph, fulltext, vectors = asyncio.run(projected(settings))
    assert graph == expected
    assert fulltext == expected
    assert vectors == expected
