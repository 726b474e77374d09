"""The `looma` command line."""

from __future__ import annotations

import importlib
import json
import logging
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Annotated, Any

import typer

from shared.cli.bootstrap import FleetError, fleet_credentials
from shared.cli.data import outbox, reconcile
from shared.config import LoomaSettings
from shared.fleet import AUTH, CRM, GATEWAY, PROCESSES, RESUME

app = typer.Typer(help="Looma: a recruiting CRM with AI, run as a fleet of services.", no_args_is_help=True,
                  add_completion=False)

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Where the fleet keeps its data [default: ./data]")]


def _settings(data_dir: Path | None) -> LoomaSettings:
    return LoomaSettings(data_dir=data_dir) if data_dir is not None else LoomaSettings()


@app.command()
def up(data_dir: DataDir = None) -> None:
    """Run the whole fleet on this machine, on embedded stores, until Ctrl-C."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s looma up: %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        from shared.cli.up import run_fleet

        raise typer.Exit(run_fleet(_settings(data_dir)))
    except FleetError as error:
        typer.echo(f"looma up: {error}", err=True)
        raise typer.Exit(1) from None


@app.command()
def migrate(data_dir: DataDir = None) -> None:
    """Bring the relational schema to the newest revision."""
    from shared.database.schema import head_revision, upgrade

    settings = _settings(data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.sqlalchemy_url)
    typer.echo(f"schema at {head_revision()} ({settings.sqlalchemy_url.split('://')[0]})")


@app.command()
def status(data_dir: DataDir = None) -> None:
    """Show each service's readiness and what the gateway sees. Exits 1 unless all are healthy."""
    settings = _settings(data_dir)
    all_ready = True
    typer.echo(f"{'service':<10} {'url':<28} ready")
    for spec in PROCESSES:
        url = settings.instance_url(spec.port)
        code, body = _get(f"{url}/ready")
        ready = code == 200
        all_ready &= ready
        failing = [k for k, v in body.get("checks", {}).items() if not v.get("ok")] if body else []
        reason = "yes" if ready else ("down" if code == 0 else f"no ({', '.join(failing) or code})")
        typer.echo(f"{spec.name:<10} {url:<28} {reason}")
    code, body = _get(f"{settings.instance_url(GATEWAY.port)}/api/v1/services", _operator_token(settings))
    if code == 200:
        typer.echo("\ngateway registry:")
        for item in body["items"]:
            all_ready &= item["status"] == "healthy"
            typer.echo(f"  {item['service']:<10} {item['status']:<10} {len(item['instances'])} instance(s)")
    raise typer.Exit(0 if all_ready else 1)


app.command()(reconcile)
app.add_typer(outbox, name="outbox")


def _add_service_commands() -> None:
    """Account commands live with the auth service; found by module name in the fleet table, like its process."""
    accounts = importlib.import_module(f"{AUTH.module}.cli")
    app.add_typer(accounts.users_app, name="users")
    app.add_typer(accounts.auth_app, name="auth")
    app.command("seed")(accounts.seed)
    app.command("reindex")(importlib.import_module(f"{CRM.module}.reindex_cli").reindex_command)  # CRM data
    app.command("ingest")(importlib.import_module(f"{RESUME.module}.cli").ingest_command)


_add_service_commands()


def _operator_token(settings: LoomaSettings) -> str | None:
    """A service token from the fleet's credentials, to read the gateway's registry; None if there are none."""
    credentials = fleet_credentials(settings)
    if credentials is None:
        return None
    body = json.dumps({"grant_type": "client_credentials", "client_id": credentials[0],
                       "client_secret": credentials[1]}).encode()
    request = urllib.request.Request(f"{settings.instance_url(GATEWAY.port)}/api/v1/auth/token", data=body,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=3) as response:
            return str(json.loads(response.read())["access_token"])
    except (OSError, ValueError, KeyError):
        return None


def _get(url: str, token: str | None = None) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=3) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.loads(error.read())
        except ValueError:
            return error.code, {}
    except (OSError, ValueError):
        return 0, {}


def main() -> None:
    app(prog_name="looma")


if __name__ == "__main__":
    sys.exit(main())
