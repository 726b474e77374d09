"""Tenant isolation: every store query runs inside the caller's org.

    org = org_of(request)
    row = await first_in_org(conn, select(talents).where(talents.c.id == talent_id), talents, org, "talent")

Another org's id is indistinguishable from an id that does not exist: both answer 404, so a
caller never learns that a record exists outside their org.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sanic import Request
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.service.auth.access import caller
from shared.service.problems import Problem

ORG_HEADER = "X-Looma-Org"  # a service token acting for one org names it here


def org_of(request: Request) -> str:
    """The org every query of this request is scoped to."""
    principal = caller(request)
    if principal.org_id is not None:
        return principal.org_id
    org = request.headers.get(ORG_HEADER, "").strip()
    if not org:
        raise Problem(400, f"a service token must name the org it acts for in {ORG_HEADER}", slug="org-required")
    return org


def in_org(statement: Any, table: sa.Table, org_id: str) -> Any:
    """`statement` restricted to rows of `table` that belong to `org_id`."""
    return statement.where(table.c.org_id == org_id)


def not_found(kind: str, entity_id: str) -> Problem:
    return Problem(404, f"no {kind} {entity_id!r}", slug=f"{kind.replace('_', '-')}-not-found")


async def first_in_org(conn: AsyncConnection, statement: Any, table: sa.Table, org_id: str, kind: str,
                       entity_id: str) -> sa.Row[Any]:
    """The one row `statement` finds in `org_id`, or 404 naming `kind` and the id asked for."""
    row = (await conn.execute(in_org(statement, table, org_id))).first()
    if row is None:
        raise not_found(kind, entity_id)
    return row
