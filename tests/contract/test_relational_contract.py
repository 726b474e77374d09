"""The RelationalStore contract, run against SQLite (embedded) and PostgreSQL alike.

Only the two-process test is SQLite's own: PostgreSQL serves many processes by design, while the
embedded store must prove it by sharing one file.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, Text, func, inspect, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from shared.database.relational import RelationalStore, SQLiteStore, open_relational
from shared.database.schema import head_revision, schema_status, upgrade_async
from tests.contract.processes import python_process

metadata = MetaData()
talents = Table(
    "contract_talents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(200), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("profile", JSON),
)
counters = Table(
    "contract_counters",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("value", Integer, nullable=False),
)

CONCURRENT_WRITERS = 20
INCREMENTS_PER_PROCESS = 50


class DeliberateFailure(Exception):
    pass


@pytest.fixture
async def store(relational: RelationalStore) -> RelationalStore:
    async with relational.write() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(counters.insert().values(id=1, value=0))
    return relational


async def talent_emails(store: RelationalStore) -> list[str]:
    async with store.read() as conn:
        rows = await conn.execute(select(talents.c.email).order_by(talents.c.email))
    return list(rows.scalars())


async def counter_value(store: RelationalStore) -> int:
    async with store.read() as conn:
        return (await conn.execute(select(counters.c.value).where(counters.c.id == 1))).scalar_one()


async def increment_counter(store: RelationalStore) -> None:
    async with store.write() as conn:
        query = select(counters.c.value).where(counters.c.id == 1).with_for_update()
        value = (await conn.execute(query)).scalar_one()
        await asyncio.sleep(0.001)
        await conn.execute(update(counters).where(counters.c.id == 1).values(value=value + 1))


def test_open_relational_chooses_the_backend_from_the_url(relational: RelationalStore, relational_url: str) -> None:
    assert isinstance(relational, RelationalStore)
    assert relational.backend == make_url(relational_url).get_backend_name()


def test_open_relational_rejects_an_unsupported_scheme() -> None:
    with pytest.raises(ValueError, match="mysql"):
        open_relational("mysql+aiomysql://looma@127.0.0.1/looma")


async def test_ping_reaches_the_database(relational: RelationalStore) -> None:
    await relational.ping()


async def test_analyze_gives_the_planner_statistics_of_the_rows_present(store: RelationalStore) -> None:
    async with store.write() as conn:
        await conn.execute(talents.insert(), [{"email": f"t{n}@example.com", "name": f"T {n}"} for n in range(50)])
    await store.analyze()
    async with store.read() as conn:
        if store.backend == "postgresql":
            rows = (await conn.execute(text("SELECT reltuples FROM pg_class WHERE relname = :name"),
                                       {"name": talents.name})).scalar_one()
        else:
            stat = (await conn.execute(text("SELECT stat FROM sqlite_stat1 WHERE tbl = :name"),
                                       {"name": talents.name})).scalars().first()
            rows = int(stat.split()[0])
    assert rows == 50


async def test_migrations_bring_a_fresh_database_to_head(relational: RelationalStore, relational_url: str) -> None:
    before = await schema_status(relational.engine)
    assert before.current is None
    assert not before.up_to_date

    await upgrade_async(relational_url)

    after = await schema_status(relational.engine)
    assert after.head is not None
    assert after.current == after.head == head_revision()
    assert after.up_to_date


async def test_write_commits_when_the_block_exits_normally(store: RelationalStore) -> None:
    async with store.write() as conn:
        await conn.execute(talents.insert(), [{"email": "a@x.test", "name": "A"}, {"email": "b@x.test", "name": "B"}])

    assert await talent_emails(store) == ["a@x.test", "b@x.test"]


async def test_write_rolls_back_everything_on_an_exception(store: RelationalStore) -> None:
    with pytest.raises(DeliberateFailure):
        async with store.write() as conn:
            await conn.execute(talents.insert().values(email="a@x.test", name="A"))
            await conn.execute(update(counters).values(value=41))
            raise DeliberateFailure

    assert await talent_emails(store) == []
    assert await counter_value(store) == 0


async def test_chinese_emoji_and_json_round_trip(store: RelationalStore) -> None:
    name = "张伟 — 后端工程师 🚀👩🏽‍💻"
    profile = {"技能": ["Python", "分布式系统"], "城市": "深圳", "mood": "😀", "years": 7, "remote": True, "notes": None}
    async with store.write() as conn:
        await conn.execute(talents.insert().values(email="zhang@x.test", name=name, profile=profile))

    async with store.read() as conn:
        row = (await conn.execute(select(talents.c.name, talents.c.profile))).one()
    assert row.name == name
    assert row.profile == profile


async def test_unique_violation_raises_integrity_error_and_keeps_earlier_rows(store: RelationalStore) -> None:
    async with store.write() as conn:
        await conn.execute(talents.insert().values(email="a@x.test", name="A"))

    with pytest.raises(IntegrityError):
        async with store.write() as conn:
            await conn.execute(talents.insert().values(email="b@x.test", name="B"))
            await conn.execute(talents.insert().values(email="a@x.test", name="A again"))

    assert await talent_emails(store) == ["a@x.test"]


async def test_parameters_are_bound_not_spliced_into_sql(store: RelationalStore) -> None:
    hostile = "x'); DROP TABLE contract_talents; --"
    async with store.write() as conn:
        await conn.execute(talents.insert().values(email="a@x.test", name=hostile))

    async with store.read() as conn:
        stored = (await conn.execute(select(talents.c.name).where(talents.c.name == hostile))).scalars().all()
        always_true = await conn.execute(select(func.count()).where(talents.c.name == "' OR '1'='1"))
        survived = await conn.run_sync(lambda sync: inspect(sync).has_table(talents.name))
    assert stored == [hostile]
    assert always_true.scalar_one() == 0
    assert survived


async def test_concurrent_read_modify_write_transactions_lose_no_update(store: RelationalStore) -> None:
    await asyncio.gather(*(increment_counter(store) for _ in range(CONCURRENT_WRITERS)))

    assert await counter_value(store) == CONCURRENT_WRITERS


INCREMENT_IN_A_CHILD = """
    import asyncio, sys
    from sqlalchemy import text
    from shared.database.relational import open_relational

    async def main(url: str, times: int) -> None:
        store = open_relational(url)
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        for _ in range(times):
            async with store.write() as conn:
                value = (await conn.execute(text("SELECT value FROM contract_counters WHERE id = 1"))).scalar_one()
                await conn.execute(text("UPDATE contract_counters SET value = :v WHERE id = 1"), {"v": value + 1})
        await store.close()

    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


async def test_two_processes_share_one_sqlite_file_without_lost_updates(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/looma.db"
    store = SQLiteStore(url)
    try:
        async with store.write() as conn:
            await conn.run_sync(metadata.create_all)
            await conn.execute(counters.insert().values(id=1, value=0))

        async with (
            python_process(INCREMENT_IN_A_CHILD, url, str(INCREMENTS_PER_PROCESS)) as first,
            python_process(INCREMENT_IN_A_CHILD, url, str(INCREMENTS_PER_PROCESS)) as second,
        ):
            assert [await first.read_line(), await second.read_line()] == ["ready", "ready"]
            await asyncio.gather(first.send_line("go"), second.send_line("go"))
            (_, first_errors), (_, second_errors) = await asyncio.gather(first.finish(), second.finish())

        assert "database is locked" not in first_errors + second_errors
        assert await counter_value(store) == 2 * INCREMENTS_PER_PROCESS
    finally:
        await store.close()
