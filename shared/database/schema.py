"""Schema migrations: Alembic, run programmatically against either relational backend.

Services only ask whether the schema is current, on every /ready. That question is answered
without importing Alembic, which would add about 0.4 s of start-up to each of the nine processes.
"""

from __future__ import annotations

import ast
import asyncio
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

SCRIPT_LOCATION = "shared.database:migrations"
VERSIONS = Path(__file__).parent / "migrations" / "versions"


def alembic_config(sqlalchemy_url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("sqlalchemy.url", sqlalchemy_url.replace("%", "%%"))
    return config


def head_revision() -> str | None:
    """The newest revision, as Alembic computes it."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


@cache
def declared_head() -> str | None:
    """The newest revision, read from the revision files' `revision` and `down_revision` alone.

    A test checks that it always equals `head_revision()`.
    """
    revisions: dict[str, tuple[str, ...]] = {}
    for path in VERSIONS.glob("*.py"):
        values = {}
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                if node.targets[0].id in ("revision", "down_revision"):
                    values[node.targets[0].id] = ast.literal_eval(node.value)
        if "revision" in values:
            down = values.get("down_revision")
            revisions[values["revision"]] = tuple(down) if isinstance(down, (tuple, list)) else (down,) if down else ()
    replaced = {parent for parents in revisions.values() for parent in parents}
    heads = sorted(set(revisions) - replaced)
    if len(heads) > 1:
        raise RuntimeError(f"migrations have several heads: {', '.join(heads)}; merge them")
    return heads[0] if heads else None


@dataclass(frozen=True)
class SchemaStatus:
    current: str | None
    head: str | None

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


async def schema_status(engine: AsyncEngine) -> SchemaStatus:
    async with engine.connect() as conn:
        try:
            current = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one_or_none()
        except DBAPIError:
            current = None  # no alembic_version table: never migrated
    return SchemaStatus(current=current, head=declared_head())


def upgrade(sqlalchemy_url: str, revision: str = "head") -> None:
    """Migrate to `revision`. Blocking: call it from a thread or before the event loop runs."""
    from alembic import command

    command.upgrade(alembic_config(sqlalchemy_url), revision)


async def upgrade_async(sqlalchemy_url: str, revision: str = "head") -> None:
    await asyncio.to_thread(upgrade, sqlalchemy_url, revision)
