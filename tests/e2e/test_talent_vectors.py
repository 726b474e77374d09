"""Talents are embedded through the outbox: the projector calls the vector service.

One fleet under `looma up`; 1,000 demo talents are seeded while it runs. Midway through their
embedding, the projector and the vector service are killed with SIGKILL; the supervisor restarts
both, and in the end every live talent has exactly one vector, at its current revision, made by
the service's model from the talent's own text. Semantic and hybrid talent search then answer
through the CRM.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from typing import Any

import httpx
import numpy as np
import pytest
import sqlalchemy as sa

from looma_crm.projections import talent_passage
from looma_crm.tables import talents
from shared.catalog import MODEL_FIELD, TALENTS
from shared.config import LoomaSettings
from shared.database import UnifiedDataAccess
from shared.database.outbox import DEAD, PENDING, outbox_events
from shared.database.vectors_relational import vector_items
from tests.e2e.fleet import Fleet, free_port_offset, start_fleet

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

SEEDED = 1000
RECRUITER = {"email": "recruiter@demo.looma.test", "password": "demo-recruiter-password"}


def seed_talents(fleet: Fleet) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOMA_")}
    result = subprocess.run([sys.executable, "-m", "shared.cli.main", "seed", "--demo", "--talents", str(SEEDED),
                             "--data-dir", str(fleet.data_dir)], env=env, capture_output=True, text=True, timeout=600,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def query(fleet: Fleet, work: Any) -> Any:
    async def run() -> Any:
        data = UnifiedDataAccess.from_settings(LoomaSettings(data_dir=fleet.data_dir, database_url=None,
                                                             redis_url=None))
        try:
            async with data.relational.read() as conn:
                return await work(conn)
        finally:
            await data.close()

    return asyncio.run(run())


def vector_count(fleet: Fleet, stored: str) -> int:
    async def work(conn: Any) -> int:
        return (await conn.execute(sa.select(sa.func.count()).select_from(vector_items)
                                   .where(vector_items.c.collection == stored))).scalar_one()

    return int(query(fleet, work))


def outbox_backlog(fleet: Fleet) -> dict[str, int]:
    async def work(conn: Any) -> dict[str, int]:
        rows = await conn.execute(sa.select(outbox_events.c.status, sa.func.count()).group_by(outbox_events.c.status))
        return {status: count for status, count in rows}

    return dict(query(fleet, work))


def embed(fleet: Fleet, texts: list[str]) -> tuple[np.ndarray, str]:
    response = httpx.post(f"{fleet.gateway}/api/v1/vectors/embed", timeout=30,
                          headers={"Authorization": f"Bearer {fleet.service_token()}"},
                          json={"texts": texts, "kind": "passage"})
    assert response.status_code == 200, response.text
    return np.asarray(response.json()["vectors"], dtype=np.float32), response.json()["model"]


def kill(fleet: Fleet, name: str) -> int:
    pid = fleet.state()["services"][name]["pid"]
    os.kill(pid, signal.SIGKILL)
    return int(pid)


@pytest.fixture(scope="module")
def seeded_fleet(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("vector-fleet")
    fleet = start_fleet(root / "data", free_port_offset(), root / "looma-up.log")
    try:
        fleet.wait_until(fleet.all_healthy, 60, "every service to be healthy")
        yield fleet
    finally:
        fleet.stop()


def test_kill_9_mid_embedding_then_every_talent_is_embedded_once(seeded_fleet: Fleet) -> None:
    fleet = seeded_fleet
    _, model = embed(fleet, ["后端工程师"])
    stored = TALENTS.stored_as(model)
    seed_talents(fleet)

    fleet.wait_until(lambda: vector_count(fleet, stored) >= 100, 300, "the first 100 talents to be embedded")
    killed = {name: kill(fleet, name) for name in ("projector", "vector")}
    at_kill = vector_count(fleet, stored)
    assert at_kill < SEEDED, "every talent was embedded before the kill; the test proves nothing"

    fleet.wait_until(lambda: all(fleet.state()["services"][n]["pid"] not in (None, pid) for n, pid in killed.items()),
                     30, "the supervisor to restart the projector and the vector service")
    fleet.wait_until(lambda: outbox_backlog(fleet).get(PENDING, 0) == 0, 600, "the outbox to drain")
    assert outbox_backlog(fleet).get(DEAD, 0) == 0

    async def live_talents(conn: Any) -> dict[str, tuple[int, dict[str, Any]]]:
        rows = await conn.execute(sa.select(talents.c.id, talents.c.revision, talents.c.data)
                                  .where(talents.c.deleted_at.is_(None)))
        return {row.id: (row.revision, row.data) for row in rows}

    async def vectors(conn: Any) -> dict[str, tuple[int, bytes, dict[str, Any]]]:
        rows = await conn.execute(sa.select(vector_items.c.id, vector_items.c.version, vector_items.c.vector,
                                            vector_items.c.metadata).where(vector_items.c.collection == stored))
        return {row.id: (row.version, row.vector, row.metadata) for row in rows}

    source = query(fleet, live_talents)
    held = query(fleet, vectors)
    assert len(source) == SEEDED
    assert {talent_id: version for talent_id, (version, _, _) in held.items()} == \
        {talent_id: revision for talent_id, (revision, _) in source.items()}
    assert {metadata[MODEL_FIELD] for _, _, metadata in held.values()} == {model}

    sample = sorted(source)[::50]
    fresh, _ = embed(fleet, [talent_passage(source[talent_id][1]) for talent_id in sample])
    for talent_id, expected in zip(sample, fresh, strict=True):
        vector = np.frombuffer(held[talent_id][1], dtype="<f4")
        assert float(vector @ expected) > 0.999, f"{talent_id}'s vector is not its own text's"


def test_semantic_and_hybrid_talent_search_through_the_crm(seeded_fleet: Fleet) -> None:
    fleet = seeded_fleet
    login = httpx.post(f"{fleet.gateway}/api/v1/auth/login", json=RECRUITER, timeout=10)
    if login.status_code != 200:  # this test alone: seed and wait for the projector
        seed_talents(fleet)
        fleet.wait_until(lambda: outbox_backlog(fleet).get(PENDING, 0) == 0, 600, "the outbox to drain")
        login = httpx.post(f"{fleet.gateway}/api/v1/auth/login", json=RECRUITER, timeout=10)
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}

    def search(**params: str) -> httpx.Response:
        return httpx.get(f"{fleet.gateway}/api/v1/talents", params={"limit": "10", **params}, headers=headers,
                         timeout=30)

    semantic = search(q="擅长分布式系统的后端工程师", mode="semantic")
    assert semantic.status_code == 200, semantic.text
    page = semantic.json()
    assert len(page["items"]) == 10 and page["total"] >= 10
    assert all(item["matched"] == ["vector"] for item in page["items"])
    scores = [item["score"] for item in page["items"]]
    assert scores == sorted(scores, reverse=True)

    hybrid = search(q="Java 后端", mode="hybrid", city="上海")
    assert hybrid.status_code == 200, hybrid.text
    items = hybrid.json()["items"]
    assert items and all(item["city"] == "上海" for item in items)
    assert any("text" in item["matched"] for item in items)

    wrong = search(q="后端", mode="telepathy")
    assert wrong.status_code == 400
    assert wrong.json()["errors"][0]["loc"] == "query.mode"
