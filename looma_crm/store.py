"""How every CRM entity is stored, read, changed and listed: one set of conventions for all.

- Every row belongs to an org; queries always carry the org, so another org's id is a 404.
- Deletes are soft (`deleted_at`); deleted rows are invisible to reads and lists.
- `version` starts at 1 and grows with each change; a write may name the version it read
  (If-Match), and a stale one is refused with 412.
- Lists are keyset-paginated on (sort field, id): the cursor is opaque and stays valid while
  rows are added.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.service.problems import Problem
from shared.utils.time import rfc3339
from shared.service.tenancy import not_found

MAX_LIMIT = 200
DEFAULT_LIMIT = 20


@dataclass(frozen=True)
class Kind:
    """One entity type: its table, the columns copied out of its JSON, and what lists sort on."""

    name: str  # talent, job, ...
    table: sa.Table
    columns: Callable[[Mapping[str, Any]], dict[str, Any]]
    sortable: Mapping[str, str] = field(default_factory=lambda: {"created_at": "created_at",
                                                                 "updated_at": "updated_at"})
    default_sort: str = "-created_at"

    def column(self, name: str) -> sa.Column:
        return self.table.c[name]


def new_id() -> str:
    return str(uuid.uuid4())


def view(row: Mapping[str, Any]) -> dict[str, Any]:
    """The entity as the API shows it: its JSON, with the spine fields on top."""
    return {"id": row["id"], **row["data"], "created_at": rfc3339(row["created_at"]),
            "updated_at": rfc3339(row["updated_at"]), "version": row["version"]}


def live(kind: Kind, org_id: str) -> Any:
    table = kind.table
    return sa.and_(table.c.org_id == org_id, table.c.deleted_at.is_(None))


async def fetch(conn: AsyncConnection, kind: Kind, org_id: str, entity_id: str) -> dict[str, Any]:
    row = (await conn.execute(sa.select(kind.table).where(kind.table.c.id == entity_id, live(kind, org_id)))
           ).mappings().first()
    if row is None:
        raise not_found(kind.name, entity_id)
    return dict(row)


async def fetch_many(conn: AsyncConnection, kind: Kind, org_id: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    if not ids:
        return {}
    rows = (await conn.execute(sa.select(kind.table).where(kind.table.c.id.in_(list(set(ids))), live(kind, org_id)))
            ).mappings().all()
    return {row["id"]: dict(row) for row in rows}


async def insert(conn: AsyncConnection, kind: Kind, org_id: str, data: dict[str, Any], actor: str | None,
                 entity_id: str | None = None, **extra: Any) -> dict[str, Any]:
    now = time.time()
    row = {"id": entity_id or new_id(), "org_id": org_id, "version": 1, "revision": 1, "created_at": now,
           "updated_at": now, "deleted_at": None, "created_by": actor, "data": data, **kind.columns(data), **extra}
    await conn.execute(kind.table.insert().values(**row))
    return row


async def replace(conn: AsyncConnection, kind: Kind, current: Mapping[str, Any], data: dict[str, Any],
                  if_match: int | None, **extra: Any) -> dict[str, Any]:
    """Store `data` as the entity's new JSON, one version on; 412 if someone changed it since `if_match`."""
    check_version(kind, current, if_match)
    changes = {"data": data, "version": current["version"] + 1, "revision": current["revision"] + 1,
               "updated_at": time.time(), **kind.columns(data), **extra}
    result = await conn.execute(kind.table.update().where(kind.table.c.id == current["id"],
                                                          kind.table.c.version == current["version"])
                                .values(**changes))
    if result.rowcount != 1:
        raise stale(kind, None)
    return {**current, **changes}


async def mark_deleted(conn: AsyncConnection, kind: Kind, current: Mapping[str, Any], if_match: int | None,
                       **extra: Any) -> dict[str, Any]:
    check_version(kind, current, if_match)
    changes = {"deleted_at": time.time(), "version": current["version"] + 1, "revision": current["revision"] + 1,
               "updated_at": time.time(), **extra}
    await conn.execute(kind.table.update().where(kind.table.c.id == current["id"]).values(**changes))
    return {**current, **changes}


async def bump_revision(conn: AsyncConnection, kind: Kind, org_id: str, entity_id: str) -> dict[str, Any] | None:
    """Move a live entity's projection revision on (something its projection shows changed elsewhere)."""
    table = kind.table
    await conn.execute(table.update().where(table.c.id == entity_id, live(kind, org_id))
                       .values(revision=table.c.revision + 1))
    row = (await conn.execute(sa.select(table).where(table.c.id == entity_id, live(kind, org_id)))).mappings().first()
    return dict(row) if row else None


def check_version(kind: Kind, current: Mapping[str, Any], if_match: int | None) -> None:
    if if_match is not None and if_match != current["version"]:
        raise stale(kind, current["version"])


def stale(kind: Kind, version: int | None) -> Problem:
    now = f" (it is at version {version})" if version is not None else ""
    return Problem(412, f"the {kind.name} has changed since you read it{now}; read it again",
                   slug="version-mismatch")


# --- lists --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PageRequest:
    limit: int
    cursor: str | None
    sort: str  # a key of Kind.sortable, with "-" for descending


def parse_page(args: Mapping[str, Any], kind: Kind) -> PageRequest:
    raw = args.get("limit")
    limit = DEFAULT_LIMIT
    if raw is not None:
        if not str(raw).isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
            raise Problem(400, f"limit must be a whole number from 1 to {MAX_LIMIT}", slug="invalid-parameter",
                          errors=[{"loc": "query.limit", "msg": f"1..{MAX_LIMIT}"}])
        limit = int(raw)
    sort = args.get("sort") or kind.default_sort
    if sort.lstrip("-") not in kind.sortable:
        raise Problem(400, f"cannot sort {kind.name}s by {sort.lstrip('-')!r}; sortable: "
                           f"{', '.join(sorted(kind.sortable))}", slug="invalid-parameter",
                      errors=[{"loc": "query.sort", "msg": "not sortable"}])
    return PageRequest(limit, args.get("cursor") or None, sort)


async def page(conn: AsyncConnection, kind: Kind, org_id: str, request: PageRequest,
               where: Sequence[Any] = ()) -> dict[str, Any]:
    """`{items, total, next_cursor}` of live rows matching `where`, in the requested order."""
    table = kind.table
    condition = sa.and_(live(kind, org_id), *where)
    descending = request.sort.startswith("-")
    column = table.c[kind.sortable[request.sort.lstrip("-")]]
    statement = sa.select(table).where(condition)
    if request.cursor is not None:
        value, last_id = _decode_cursor(request.cursor, request.sort)
        if value is None:  # nulls come last either way: only later nulls remain
            after = sa.and_(column.is_(None), table.c.id > last_id)
        else:
            beyond = column < value if descending else column > value
            after = sa.or_(beyond, sa.and_(column == value, table.c.id > last_id), column.is_(None))
        statement = statement.where(after)
    order = column.desc() if descending else column.asc()
    if column.nullable:  # NOT NULL columns keep a plain ORDER BY, which their index can serve
        order = order.nulls_last()
    statement = statement.order_by(order, table.c.id).limit(request.limit + 1)
    rows = (await conn.execute(statement)).mappings().all()
    total = (await conn.execute(sa.select(sa.func.count()).select_from(table).where(condition))).scalar_one()
    more = len(rows) > request.limit
    rows = rows[: request.limit]
    next_cursor = None
    if more:
        last = rows[-1]
        next_cursor = _encode_cursor(request.sort, last[column.name], last["id"])
    return {"items": [view(r) for r in rows], "total": total, "next_cursor": next_cursor}


def _encode_cursor(sort: str, value: Any, last_id: str) -> str:
    raw = json.dumps([sort, value, last_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str) -> tuple[Any, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_sort, value, last_id = json.loads(raw)
    except (ValueError, TypeError):
        raise Problem(400, "the cursor is not one this API handed out", slug="invalid-cursor",
                      errors=[{"loc": "query.cursor", "msg": "unknown cursor"}]) from None
    if cursor_sort != sort or not isinstance(last_id, str):
        raise Problem(400, "the cursor belongs to a list with another sort order", slug="invalid-cursor",
                      errors=[{"loc": "query.cursor", "msg": "sort changed"}])
    return value, last_id
