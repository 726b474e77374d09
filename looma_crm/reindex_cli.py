"""The `looma reindex` command: the progress bar and summary around looma_crm/reindex.py."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from looma_crm.reindex import BATCH, SOURCES, reindex
from shared.cli.data import DataDir, with_data
from shared.database import UnifiedDataAccess


class Bar:
    """One bar per collection and pass, on stderr; quiet when stderr is not a terminal."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: int | None = None

    def start(self, collection: str, total: int) -> None:
        if self.task is not None:
            self.progress.stop_task(self.task)  # type: ignore[arg-type]
        self.task = self.progress.add_task(collection, total=total)  # type: ignore[assignment]

    def advance(self, count: int) -> None:
        assert self.task is not None
        self.progress.advance(self.task, count)  # type: ignore[arg-type]


def reindex_command(
        collection: Annotated[list[str] | None, typer.Option(
            "--collection", help=f"Only these ({', '.join(SOURCES)}); all of them by default")] = None,
        batch: Annotated[int, typer.Option("--batch", min=1, max=256, help="Texts embedded together")] = BATCH,
        data_dir: DataDir = None) -> None:
    """Embed talents and jobs with the configured model (LOOMA_EMBEDDING_*) into its own collections.

    Only what that model's collections lack or hold at an older revision is embedded; search keeps
    answering from the collections of the model the vector service runs. See docs/vectors.md.
    """
    from shared.embeddings import EmbeddingSettings, open_provider
    from shared.projector.embedding import LocalPassages

    names = collection or list(SOURCES)
    unknown = [name for name in names if name not in SOURCES]
    if unknown:
        raise typer.BadParameter(f"{', '.join(unknown)}: the collections are {', '.join(SOURCES)}",
                                 param_hint="--collection")
    provider = open_provider(EmbeddingSettings())

    async def work(data: UnifiedDataAccess) -> object:
        await provider.load()
        try:
            columns = (TextColumn("{task.description:<8}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                       TextColumn("left"), TimeRemainingColumn())
            with Progress(*columns, transient=False) as progress:
                return await reindex(data, LocalPassages(provider), provider.dim, names, Bar(progress), batch)
        finally:
            await provider.close()

    typer.echo(f"model {provider.model_id}")
    outcome = with_data(data_dir, work)
    for name in names:
        typer.echo(f"{name:<8} embedded {outcome.embedded[name]:>7}  deleted {outcome.deleted[name]:>6}"  # type: ignore[attr-defined]
                   f"  behind {outcome.behind[name]:>5}")  # type: ignore[attr-defined]
    if any(outcome.behind.values()):  # type: ignore[attr-defined]
        typer.echo("some entities changed faster than they could be embedded; run `looma reindex` again", err=True)
        raise typer.Exit(1)
