"""Alembic environment: runs migrations over the async engine of either backend."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from shared.database.relational import open_relational


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=None, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    store = open_relational(context.config.get_main_option("sqlalchemy.url"))
    try:
        async with store.write() as conn:
            await conn.run_sync(_run)
    finally:
        await store.close()


if context.is_offline_mode():
    raise SystemExit("offline SQL generation is not supported; run `looma migrate`")
asyncio.run(_run_async())
