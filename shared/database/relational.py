"""The relational capability: the source of truth, on SQLite (embedded) or PostgreSQL.

Both backends run the same SQLAlchemy Core queries. What differs is how a connection is set up
and how a write transaction begins, and that is all this module decides.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

SQLITE_BUSY_TIMEOUT_MS = 15_000


@runtime_checkable
class RelationalStore(Protocol):
    backend: str
    engine: AsyncEngine

    def read(self) -> Any:
        """An async context manager yielding a connection for reads."""

    def write(self) -> Any:
        """An async context manager yielding a connection inside one write transaction.

        The transaction commits when the block exits normally and rolls back on any exception.
        """

    async def ping(self) -> None: ...

    async def analyze(self) -> None:
        """Refresh the planner's statistics, as after a bulk load (ANALYZE on both databases)."""

    async def close(self) -> None: ...


class _SqlAlchemyStore:
    backend = "unknown"

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._writer = engine

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        async with self._writer.begin() as conn:
            yield conn

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def analyze(self) -> None:
        async with self._writer.begin() as conn:
            await conn.execute(text("ANALYZE"))

    async def close(self) -> None:
        await self.engine.dispose()


class SQLiteStore(_SqlAlchemyStore):
    """SQLite in WAL mode, safe for several processes on one data directory.

    Writes begin with BEGIN IMMEDIATE so that two writers queue on busy_timeout instead of
    failing later with "database is locked" when a read lock would have to be upgraded.
    """

    backend = "sqlite"

    def __init__(self, url: str) -> None:
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        sync_engine = engine.sync_engine

        @event.listens_for(sync_engine, "connect")
        def _configure(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # SQLAlchemy issues BEGIN itself, below
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.close()

        @event.listens_for(sync_engine, "begin")
        def _begin(conn: Any) -> None:
            immediate = conn.get_execution_options().get("looma_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        super().__init__(engine)
        self._writer = engine.execution_options(looma_write=True)


class PostgresStore(_SqlAlchemyStore):
    backend = "postgresql"

    def __init__(self, url: str, pool_size: int = 10) -> None:
        engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
        super().__init__(engine)


def open_relational(url: str) -> RelationalStore:
    """Choose the implementation from the URL's scheme."""
    drivername = make_url(url).drivername
    if drivername.startswith("sqlite"):
        return SQLiteStore(url)
    if drivername.startswith("postgresql"):
        return PostgresStore(url)
    raise ValueError(f"unsupported database URL scheme {drivername!r}: use sqlite+aiosqlite:// or postgresql://")
