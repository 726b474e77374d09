"""`looma users`, `looma auth rotate-keys` and `looma seed --demo`: account work from a terminal.

They act on the data directory (or the configured database) directly, so that an operator can
recover access while the fleet is down. Revocations and key rotations are published on the cache
as the auth service publishes them, so a running fleet applies them at once.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import sqlalchemy as sa
import typer
from pydantic import ValidationError

from ai_services.auth_service import users as accounts
from ai_services.auth_service.app import AuthContext
from ai_services.auth_service.bootstrap import ensure_signing_key
from ai_services.auth_service.keys import rotate_signing_key
from ai_services.auth_service.models import UserCreate, UserUpdate
from ai_services.auth_service.tables import orgs, users
from shared.config import LoomaSettings
from shared.database import UnifiedDataAccess
from shared.database.schema import upgrade
from shared.fleet import AUTH, CRM
from shared.monitoring.metrics import ServiceMetrics
from shared.service.auth.denylist import Denylist
from shared.service.auth.permissions import ROLES, SUPERADMIN, permissions_for
from shared.service.auth.principal import Principal
from shared.service.auth.verifier import TokenVerifier
from shared.service.problems import Problem

T = TypeVar("T")
DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Where the fleet keeps its data [default: ./data]")]
users_app = typer.Typer(help="Manage users: list, create, change roles, disable, reset passwords.",
                        no_args_is_help=True)
auth_app = typer.Typer(help="Signing keys and tokens.", no_args_is_help=True)
OPERATOR = Principal(subject="looma-cli", kind="service", org_id=None, role=SUPERADMIN,
                     permissions=permissions_for(SUPERADMIN), token_id="cli", issued_at=0.0, expires_at=0.0)
DEMO_USERS = (  # (role, email, password): published in the README, for a laptop only
    ("admin", "admin@demo.looma.test", "demo-admin-password"),
    ("recruiter", "recruiter@demo.looma.test", "demo-recruiter-password"),
    ("hiring_manager", "manager@demo.looma.test", "demo-manager-password"),
    ("viewer", "viewer@demo.looma.test", "demo-viewer-password"),
)


def _run(data_dir: Path | None, work: Callable[[AuthContext], Awaitable[T]]) -> T:
    settings = LoomaSettings(data_dir=data_dir) if data_dir is not None else LoomaSettings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.sqlalchemy_url)

    async def run() -> T:
        ctx = AuthContext(settings=settings, spec=AUTH, metrics=ServiceMetrics(AUTH.name))
        ctx.data = UnifiedDataAccess.from_settings(settings)
        ctx.verifier = TokenVerifier(issuer=settings.auth_issuer, audience=settings.auth_audience, jwks=None,
                                     denylist=Denylist(lambda: ctx.store.cache))
        try:
            await ensure_signing_key(ctx.store, settings.auth_algorithm)
            await ctx.keys.load(ctx.store)
            return await work(ctx)
        except Problem as problem:
            typer.echo(f"refused: {problem.detail}", err=True)
            raise typer.Exit(1) from None
        finally:
            await ctx.store.close()

    return asyncio.run(run())


async def _user_id(ctx: AuthContext, email: str) -> str:
    async with ctx.store.relational.read() as conn:
        row = (await conn.execute(sa.select(users.c.id).where(users.c.email == email.strip().lower(),
                                                              users.c.deleted_at.is_(None)))).first()
    if row is None:
        raise Problem(404, f"no user with the email address {email}")
    return str(row[0])


def _password(prompt: str, from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt(prompt, hide_input=True, confirmation_prompt=True))


PasswordStdin = Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input")]


@users_app.command("list")
def list_users(data_dir: DataDir = None) -> None:
    """Every user of every org."""
    async def work(ctx: AuthContext) -> list[dict[str, Any]]:
        page = await accounts.list_users(ctx, OPERATOR, 200, None, None)
        return list(page["items"])

    typer.echo(f"{'email':<36} {'role':<15} {'status':<9} org")
    for user in _run(data_dir, work):
        typer.echo(f"{user['email']:<36} {user['role']:<15} {user['status']:<9} {user['org_id']}")


@users_app.command("create")
def create_user(email: str, role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}")],
                name: Annotated[str, typer.Option(help="Display name")] = "",
                org: Annotated[str | None, typer.Option(help="Org id [default: the first org]")] = None,
                password_stdin: PasswordStdin = False, data_dir: DataDir = None) -> None:
    """Create a user with a password (asked for twice, unless --password-stdin)."""
    password = _password("Password", password_stdin)

    async def work(ctx: AuthContext) -> dict[str, Any]:
        org_id = org
        if org_id is None:
            async with ctx.store.relational.read() as conn:
                first = (await conn.execute(sa.select(orgs.c.id).order_by(orgs.c.created_at).limit(1))).first()
            org_id = first[0] if first else (await accounts.create_org(ctx, None, "Looma", None))["id"]
        try:
            body = UserCreate(email=email, name=name or email.split("@")[0], role=role, password=password,
                              org_id=org_id)
        except ValidationError as error:
            raise _invalid(error) from None
        return await accounts.create_user(ctx, Principal(**_operator_in(org_id)), body, None)

    user = _run(data_dir, work)
    typer.echo(f"created {user['email']} ({user['role']}) in org {user['org_id']}: {user['id']}")


def _invalid(error: ValidationError) -> Problem:
    return Problem(422, "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()))


def _operator_in(org_id: str) -> dict[str, Any]:
    return {"subject": OPERATOR.subject, "kind": "service", "org_id": org_id, "role": SUPERADMIN,
            "permissions": OPERATOR.permissions, "token_id": "cli", "issued_at": 0.0, "expires_at": 0.0}


def _update(email: str, data_dir: Path | None, **change: Any) -> dict[str, Any]:
    async def work(ctx: AuthContext) -> dict[str, Any]:
        try:
            body = UserUpdate(**change)
        except ValidationError as error:
            raise _invalid(error) from None
        return await accounts.update_user(ctx, OPERATOR, await _user_id(ctx, email), body, None, None)

    return _run(data_dir, work)


@users_app.command("set-role")
def set_role(email: str, role: str, data_dir: DataDir = None) -> None:
    """Give a user another role; their live tokens stop working at once."""
    user = _update(email, data_dir, role=role)
    typer.echo(f"{user['email']} is now {user['role']}")


@users_app.command("disable")
def disable(email: str, data_dir: DataDir = None) -> None:
    """Stop a user from signing in; their live tokens stop working at once."""
    user = _update(email, data_dir, status="disabled")
    typer.echo(f"{user['email']} is disabled")


@users_app.command("enable")
def enable(email: str, data_dir: DataDir = None) -> None:
    """Let a disabled user sign in again."""
    user = _update(email, data_dir, status="active")
    typer.echo(f"{user['email']} is active")


@users_app.command("reset-password")
def reset_password(email: str, password_stdin: PasswordStdin = False, data_dir: DataDir = None) -> None:
    """Set a user's password; every session of theirs is signed out."""
    password = _password("New password", password_stdin)

    async def work(ctx: AuthContext) -> None:
        await accounts.reset_password(ctx, OPERATOR, await _user_id(ctx, email), password, None)

    _run(data_dir, work)
    typer.echo(f"the password of {email} is set; their sessions are signed out")


@auth_app.command("rotate-keys")
def rotate_keys(data_dir: DataDir = None) -> None:
    """Sign new tokens with a new key; tokens signed by the old one work until they expire."""
    async def work(ctx: AuthContext) -> str:
        overlap = ctx.settings.access_token_ttl + ctx.settings.token_leeway
        return await rotate_signing_key(ctx.store, ctx.settings.auth_algorithm, overlap)

    kid = _run(data_dir, work)
    typer.echo(f"new signing key {kid}; the previous key verifies for its tokens' remaining lifetime")


def seed(demo: Annotated[bool, typer.Option("--demo", help="Create demo users with published passwords and "
                                                          "a demo recruiting dataset")] = False,
         talents: Annotated[int | None, typer.Option(
             "--talents", min=10, max=100_000,
             help="How many demo talents (the full demo if not given); applications, notes and "
                  "relationships scale with it")] = None,
         data_dir: DataDir = None) -> None:
    """Create demo data for a laptop. Refused when LOOMA_ENV=production."""
    if not demo:
        typer.echo("nothing to seed; pass --demo for the demo org and users", err=True)
        raise typer.Exit(2)

    async def work(ctx: AuthContext) -> tuple[list[str], str, dict[str, int]]:
        if ctx.settings.env == "production":
            raise Problem(409, "demo users have published passwords; they are never created in production")
        created = []
        emails = [email for _, email, _ in DEMO_USERS]
        async with ctx.store.relational.read() as conn:
            existing = {r.email: r for r in (await conn.execute(sa.select(users.c.email, users.c.id, users.c.org_id)
                                                                .where(users.c.email.in_(emails)))).all()}
        org_id = next((r.org_id for r in existing.values()), None)  # users missing from the demo org join it
        if org_id is None:
            org_id = (await accounts.create_org(ctx, None, "Demo recruiting team", None))["id"]
        ids = {email: r.id for email, r in existing.items()}
        for role, email, password in DEMO_USERS:
            if email in existing:
                continue
            body = UserCreate(email=email, name=f"Demo {role.replace('_', ' ')}", role=role, password=password,
                              org_id=org_id)
            ids[email] = (await accounts.create_user(ctx, Principal(**_operator_in(org_id)), body, None))["id"]
            created.append(f"  {email:<30} {password:<24} {role}")
        # The CRM's data is seeded by module name, as the CLI finds this module: auth never imports the CRM.
        crm = importlib.import_module(f"{CRM.module}.cli")
        recruiter = next(ids[email] for role, email, _ in DEMO_USERS if role == "recruiter")
        counts = await crm.seed_demo(ctx.store, org_id, recruiter, talents)
        return created, org_id, counts

    created, org_id, counts = _run(data_dir, work)
    typer.echo("DEMO ONLY, for local use: these passwords are published in the README.")
    typer.echo("\n".join(created) if created else "the demo users exist already")
    if counts:
        typer.echo(f"demo recruiting data in org {org_id}:")
        typer.echo("\n".join(f"  {name:<14} {count:>6}" for name, count in counts.items()))
    else:
        typer.echo("the demo recruiting data exists already")
