"""Checking that the ids an entity points at are live entities of the caller's org.

An id of another org, like an id that does not exist, answers 404 naming the field.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from looma_crm.store import Kind, live
from shared.service.problems import Problem


async def require(conn: AsyncConnection, kind: Kind, org_id: str, ids: list[str], loc: str) -> None:
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return
    found = set((await conn.execute(sa.select(kind.table.c.id).where(kind.table.c.id.in_(wanted),
                                                                     live(kind, org_id)))).scalars())
    missing = [i for i in wanted if i not in found]
    if missing:
        raise Problem(404, f"no {kind.name} {missing[0]!r} ({loc})", slug=f"{kind.name}-not-found",
                      errors=[{"loc": loc, "msg": f"no such {kind.name}"}])


def body_loc(*parts: Any) -> str:
    return ".".join(["body", *(str(p) for p in parts)])
