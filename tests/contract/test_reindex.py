"""`looma reindex`: every live talent and job embedded once per model, incrementally."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from looma_crm.cli import seed_demo
from looma_crm.reindex import reindex
from looma_crm.tables import jobs, talents
from shared.catalog import JOBS, MODEL_FIELD, TALENTS
from shared.config import LoomaSettings
from shared.database import UnifiedDataAccess
from shared.database.schema import upgrade_async
from shared.embeddings import Embedder
from shared.projector.embedding import LocalPassages
from tests.contract.test_vector_projection import DIM, HashedModel

ORG = "org-reindex"


class OtherModel(HashedModel):
    model_id = "test/other-8"


class Recorded:
    def __init__(self) -> None:
        self.started: list[tuple[str, int]] = []
        self.advanced = 0

    def start(self, collection: str, total: int) -> None:
        self.started.append((collection, total))

    def advance(self, count: int) -> None:
        self.advanced += count


@pytest.fixture
async def data(relational_url: str, tmp_path: Path) -> AsyncIterator[UnifiedDataAccess]:
    await upgrade_async(relational_url)
    opened = UnifiedDataAccess.from_settings(LoomaSettings(data_dir=tmp_path, database_url=relational_url,
                                                           redis_url=None))
    await seed_demo(opened, ORG, "user-1", size=20)
    yield opened
    await opened.close()


async def passages(model: HashedModel) -> LocalPassages:
    embedder = Embedder(model, batch_size=16)  # type: ignore[arg-type]
    await embedder.load()
    return LocalPassages(embedder)


async def revisions(data: UnifiedDataAccess, table: sa.Table) -> dict[str, int]:
    async with data.relational.read() as conn:
        rows = await conn.execute(sa.select(table.c.id, table.c.revision).where(table.c.deleted_at.is_(None)))
        return {row.id: row.revision for row in rows}


async def test_every_live_talent_and_job_is_embedded_then_only_what_changed(data: UnifiedDataAccess) -> None:
    embedder, progress = await passages(HashedModel()), Recorded()
    outcome = await reindex(data, embedder, DIM, ["talents", "jobs"], progress, batch=7)

    stored_talents, stored_jobs = TALENTS.stored_as(HashedModel.model_id), JOBS.stored_as(HashedModel.model_id)
    live_talents, live_jobs = await revisions(data, talents), await revisions(data, jobs)
    assert len(live_talents) == 20 and live_jobs
    assert await data.vectors.versions(stored_talents) == live_talents
    assert await data.vectors.versions(stored_jobs) == live_jobs
    assert outcome.embedded == {"talents": 20, "jobs": len(live_jobs)}
    assert outcome.behind == {"talents": 0, "jobs": 0}
    assert progress.started == [("talents", 20), ("jobs", len(live_jobs))]
    assert progress.advanced == 20 + len(live_jobs)
    some = next(iter(live_talents))
    hit = (await data.vectors.search(stored_talents, ORG, [1.0] * DIM, top_k=20))[0]
    assert hit.metadata[MODEL_FIELD] == HashedModel.model_id

    edited, removed = sorted(live_talents)[:2]
    async with data.relational.write() as conn:
        await conn.execute(talents.update().where(talents.c.id == edited).values(revision=talents.c.revision + 1))
        await conn.execute(talents.update().where(talents.c.id == removed).values(deleted_at=time.time()))
    again = await reindex(data, embedder, DIM, ["talents"], Recorded())
    assert again.embedded == {"talents": 1} and again.deleted == {"talents": 1}
    assert await data.vectors.versions(stored_talents) == await revisions(data, talents)
    assert some in live_talents


async def test_a_new_model_fills_its_own_collection_and_leaves_the_old_one(data: UnifiedDataAccess) -> None:
    await reindex(data, await passages(HashedModel()), DIM, ["talents"], Recorded())
    old = await data.vectors.versions(TALENTS.stored_as(HashedModel.model_id))

    await reindex(data, await passages(OtherModel()), DIM, ["talents"], Recorded())

    assert await data.vectors.versions(TALENTS.stored_as(OtherModel.model_id)) == old
    assert await data.vectors.versions(TALENTS.stored_as(HashedModel.model_id)) == old
    assert TALENTS.stored_as(OtherModel.model_id) != TALENTS.stored_as(HashedModel.model_id)


def test_the_command_embeds_with_the_offline_model_and_reports(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOMA_")}
    data_dir = str(tmp_path / "data")
    seeded = subprocess.run([sys.executable, "-m", "shared.cli.main", "seed", "--demo", "--talents", "12",
                             "--data-dir", data_dir], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert seeded.returncode == 0, seeded.stderr
    command = [sys.executable, "-m", "shared.cli.main", "reindex", "--collection", "talents", "--data-dir", data_dir]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "talents  embedded      12  deleted      0  behind     0" in first.stdout
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert "talents  embedded       0" in second.stdout

    wrong = subprocess.run([*command[:4], "--collection", "resumes"], env=env, capture_output=True, text=True,
                           timeout=60, check=False)
    assert wrong.returncode == 2 and "the collections are talents, jobs" in wrong.stderr
