"""`looma outbox status|retry` and `looma reconcile`, as an operator runs them."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.config import LoomaSettings
from shared.database import UnifiedDataAccess
from shared.database.fulltext import IndexSpec
from shared.database.outbox import OutboxEvent, record
from shared.database.schema import upgrade
from shared.database.vectors import CollectionSpec
from shared.projector.projections import all_projections
from shared.projector.projector import Projector, ProjectorPolicy

pytestmark = pytest.mark.e2e
ORG = "org-ops"


def talent(entity_id: str, vector: list[float]) -> OutboxEvent:
    return OutboxEvent(ORG, "talent", entity_id, 1, "upsert", {
        "graph": {"label": "Talent", "properties": {"name": entity_id}},
        "fulltext": {"index": "talents", "fields": {"name": f"{entity_id} 后端"}},
        "vectors": {"collection": "profiles", "vector": vector},
    })


async def seed(settings: LoomaSettings) -> None:
    data = UnifiedDataAccess.from_settings(settings)
    try:
        await data.fulltext.ensure_index(IndexSpec("talents", ("name",)))
        await data.vectors.ensure_collection(CollectionSpec("profiles", 2))
        async with data.relational.write() as conn:
            await record(conn, talent("good", [1.0, 0.0]), talent("bad", [1.0, 0.0, 0.0]))
        await Projector(data, all_projections(data), policy=ProjectorPolicy(max_attempts=1)).run_once()
        await data.graph.delete_nodes(ORG, ["good"])  # drift: the graph lost a node
    finally:
        await data.close()


def looma(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOMA_")}
    return subprocess.run([sys.executable, "-m", "shared.cli.main", *args, "--data-dir", str(data_dir)],
                          capture_output=True, text=True, timeout=60, env=env)


def test_dead_letters_are_shown_and_retried_and_drift_is_repaired(tmp_path: Path) -> None:
    settings = LoomaSettings(data_dir=tmp_path, database_url=None, redis_url=None)
    upgrade(settings.sqlalchemy_url)
    asyncio.run(seed(settings))

    status = looma(tmp_path, "outbox", "status")
    assert status.returncode == 0, status.stderr
    assert "pending 0, dead 1" in status.stdout
    assert "talent/bad v1 after 1 attempts: vectors: VectorInputError" in status.stdout
    assert "vector has dimension 3, expected 2" in status.stdout

    retried = looma(tmp_path, "outbox", "retry")
    assert retried.returncode == 0, retried.stderr
    assert retried.stdout.strip() == "1 event(s) back in line"
    assert "pending 1, dead 0" in looma(tmp_path, "outbox", "status").stdout

    dry = looma(tmp_path, "reconcile", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "graph" in dry.stdout and "good" in dry.stdout and "replay" in dry.stdout
    assert "(dry run)" in dry.stdout

    repaired = looma(tmp_path, "reconcile")
    assert repaired.returncode == 0, repaired.stderr
    assert "1 repaired" in repaired.stdout.splitlines()[-1]
    assert looma(tmp_path, "reconcile", "--dry-run").stdout.splitlines()[-1].startswith("0 drifted")
