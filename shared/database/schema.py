"""Schema migrations: Alembic, run programmatically against either relational backend."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

SCRIPT_LOCATION = "shared.database:migrations"


def alembic_config(sqlalchemy_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("sqlalchemy.url", sqlalchemy_url.replace("%", "%%"))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


@dataclass(frozen=True)
class SchemaStatus:
    current: str | None
    head: str | None

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


async def schema_status(engine: AsyncEngine) -> SchemaStatus:
    async with engine.connect() as conn:
        current = await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
    return SchemaStatus(current=current, head=head_revision())


def upgrade(sqlalchemy_url: str, revision: str = "head") -> None:
    """Migrate to `revision`. Blocking: call it from a thread or before the event loop runs."""
    command.upgrade(alembic_config(sqlalchemy_url), revision)


async def upgrade_async(sqlalchemy_url: str, revision: str = "head") -> None:
    await asyncio.to_thread(upgrade, sqlalchemy_url, revision)
