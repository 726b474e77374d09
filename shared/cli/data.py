"""`looma reconcile` and `looma outbox ...`: the operator's handles on projections."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import sqlalchemy as sa
import typer

from shared.config import LoomaSettings
from shared.database import UnifiedDataAccess
from shared.database.outbox import DEAD, outbox_events, retry_dead, wake_projector
from shared.database.schema import upgrade

T = TypeVar("T")
DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Where the fleet keeps its data [default: ./data]")]
outbox = typer.Typer(help="Inspect the outbox and retry dead-lettered events.", no_args_is_help=True)


def _settings(data_dir: Path | None) -> LoomaSettings:
    return LoomaSettings(data_dir=data_dir) if data_dir is not None else LoomaSettings()


def with_data(data_dir: Path | None, work: Callable[[UnifiedDataAccess], Awaitable[T]]) -> T:
    settings = _settings(data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.sqlalchemy_url)  # a new or older data directory is brought to the current schema first

    async def run() -> T:
        data = UnifiedDataAccess.from_settings(settings)
        try:
            return await work(data)
        finally:
            await data.close()

    return asyncio.run(run())


def reconcile(data_dir: DataDir = None,
              dry_run: Annotated[bool, typer.Option("--dry-run", help="Report drift, change nothing")] = False) -> None:
    """Compare each projection (graph, vectors, full text) with the source of truth and repair drift."""
    from shared.projector.embedding import vector_service_passages
    from shared.projector.projections import all_projections
    from shared.projector.reconcile import find_drift, repair

    settings = _settings(data_dir)
    embedder = vector_service_passages(settings, None)
    if embedder is None:
        typer.echo("vectors of talents and jobs are not checked: set LOOMA_GATEWAY_URL and "
                   "LOOMA_SERVICE_CLIENT_SECRET to reach the vector service", err=True)

    async def work(data: UnifiedDataAccess) -> tuple[list, tuple[int, list[str]]]:
        projections = all_projections(data, embedder)
        try:
            drift = await find_drift(data, projections)
            return drift, (0, []) if dry_run else await repair(data, projections, drift)
        finally:
            if embedder is not None:
                await embedder.close()

    drift, (repaired, failed) = with_data(data_dir, work)
    for item in drift:
        typer.echo(f"{item.projection:<9} {item.target:<14} {item.entity_id:<38} "
                   f"source {item.expected if item.expected is not None else 'deleted':<8} "
                   f"projection {item.found if item.found is not None else 'missing':<8} {item.action}")
    for reason in failed:
        typer.echo(f"not repaired: {reason}", err=True)
    typer.echo(f"{len(drift)} drifted, {repaired} repaired" + (" (dry run)" if dry_run else ""))
    if failed:
        raise typer.Exit(1)


@outbox.command("status")
def outbox_status(data_dir: DataDir = None) -> None:
    """Pending and dead-lettered events, the oldest pending one's age, and the dead letters' errors."""
    from shared.projector.metrics import backlog

    async def work(data: UnifiedDataAccess) -> tuple[dict, list]:
        stats = await backlog(data.relational)
        query = (sa.select(outbox_events.c.id, outbox_events.c.entity_type, outbox_events.c.entity_id,
                           outbox_events.c.version, outbox_events.c.attempts, outbox_events.c.last_error)
                 .where(outbox_events.c.status == DEAD).order_by(outbox_events.c.id).limit(50))
        async with data.relational.read() as conn:
            return stats, (await conn.execute(query)).all()

    stats, dead = with_data(data_dir, work)
    typer.echo(f"pending {stats['pending']}, dead {stats['dead']}, lag {stats['lag_seconds']:.2f}s")
    for row in dead:
        typer.echo(f"  dead #{row.id} {row.entity_type}/{row.entity_id} v{row.version} "
                   f"after {row.attempts} attempts: {row.last_error}")


@outbox.command("retry")
def outbox_retry(ids: Annotated[list[int] | None, typer.Argument(help="Event ids; all dead letters if none")] = None,
                 data_dir: DataDir = None) -> None:
    """Send dead-lettered events back to the projector."""

    async def work(data: UnifiedDataAccess) -> int:
        async with data.relational.write() as conn:
            count = await retry_dead(conn, ids or None)
        await wake_projector(data.cache)
        return count

    typer.echo(f"{with_data(data_dir, work)} event(s) back in line")
