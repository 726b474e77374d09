"""`looma ingest DIR`: every resume file under DIR, through the gateway, with a progress bar.

It logs in as a user of the org the resumes belong to (`--email`, the password from
LOOMA_PASSWORD or a prompt) and posts each file to POST /api/v1/resumes, two at a time. Each
file's Idempotency-Key is its content's SHA-256, so running the command again over the same
folder ingests only what is new; an unchanged file answers as a duplicate.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer

from shared.config import LoomaSettings
from shared.fleet import GATEWAY

SUFFIXES = {".pdf", ".docx", ".txt", ".html", ".htm", ".png", ".jpg", ".jpeg", ".md"}
PARALLEL = 2
TIMEOUT = 120.0


def resume_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file() and path.suffix.lower() in SUFFIXES
                  and not any(part.startswith(".") for part in path.relative_to(folder).parts))


async def _login(session: Any, gateway: str, email: str, password: str) -> str:
    async with session.post(f"{gateway}/api/v1/auth/login", json={"email": email, "password": password}) as response:
        body = await response.json(content_type=None)
        if response.status != 200:
            raise typer.BadParameter(f"login refused: {body.get('detail') if isinstance(body, dict) else response.status}",
                                     param_hint="--email")
        return str(body["access_token"])


async def _post(session: Any, gateway: str, token: str, path: Path) -> tuple[str, str]:
    import aiohttp

    data = await asyncio.to_thread(path.read_bytes)
    form = aiohttp.FormData()
    form.add_field("file", data, filename=path.name)
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"ingest:{hashlib.sha256(data).hexdigest()}"}
    try:
        async with session.post(f"{gateway}/api/v1/resumes", data=form, headers=headers) as response:
            body = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as error:
        return "failed", f"{path.name}: {error or type(error).__name__}"
    if response.status in (200, 201):
        if body.get("duplicate") or body.get("replayed"):
            return "unchanged", ""
        return ("created" if body.get("talent_created") else "updated"), ""
    return "failed", f"{path.name}: {response.status} {body.get('detail') if isinstance(body, dict) else ''}"


def ingest_command(
        folder: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="A folder of resume files")],
        email: Annotated[str, typer.Option("--email", envvar="LOOMA_EMAIL", help="A recruiter or admin of the org")],
        gateway: Annotated[str | None, typer.Option("--gateway", help="The gateway's URL [default: this machine's]")]
        = None) -> None:
    """Ingest every resume file under FOLDER: stored, parsed, and made or merged into talents."""
    import aiohttp
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    password = os.environ.get("LOOMA_PASSWORD") or typer.prompt("password", hide_input=True)
    url = (gateway or LoomaSettings().gateway_url or LoomaSettings().instance_url(GATEWAY.port)).rstrip("/")
    paths = resume_files(folder)
    if not paths:
        typer.echo(f"no resume files ({', '.join(sorted(SUFFIXES))}) under {folder}")
        raise typer.Exit(0)
    outcomes: Counter[str] = Counter()
    failures: list[str] = []

    async def run() -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as session:
            token = await _login(session, url, email, password)
            slots = asyncio.Semaphore(PARALLEL)
            with Progress(TextColumn("ingest"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()) as bar:
                task = bar.add_task("ingest", total=len(paths))

                async def one(path: Path) -> None:
                    async with slots:
                        outcome, reason = await _post(session, url, token, path)
                    outcomes[outcome] += 1
                    if reason:
                        failures.append(reason)
                    bar.advance(task)

                await asyncio.gather(*(one(path) for path in paths))

    asyncio.run(run())
    typer.echo(", ".join(f"{name} {outcomes[name]}" for name in ("created", "updated", "unchanged", "failed")))
    for reason in failures:
        typer.echo(f"  {reason}", err=True)
    if failures:
        raise typer.Exit(1)
