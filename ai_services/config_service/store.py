"""Reading and writing config values: effective values, versioned writes, history, diffs, change batches.

A value lives in a scope: GLOBAL (service-wide) or one org. What a caller gets is the effective
value: their org's override if there is one, else the service-wide value, else the registered
default. Every write adds a version, numbered per key and scope, and takes the next `seq`, which
numbers changes across everything (tables.py explains why writes queue on it).

ETags are `seq`s: the effective value comes from one of three places, each with its own version
numbers, but a `seq` names exactly one write (0: the default).
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import jsonpatch
import sqlalchemy as sa
from jsonpointer import JsonPointer
from sqlalchemy.ext.asyncio import AsyncConnection

from ai_services.config_service.schemas import RegisteredKey
from ai_services.config_service.tables import GLOBAL, SEQUENCE_ROW, sequence, values, versions
from shared.database.relational import RelationalStore
from shared.service.auth.principal import Principal
from shared.service.problems import Problem
from shared.utils.time import rfc3339

log = logging.getLogger("looma.config")

Scope = Literal["org", "global", "default"]


@dataclass(frozen=True)
class Entry:
    """A key's value in one scope: what it is, which version, and which change set it."""

    key: str
    value: Any
    scope: Scope
    org_id: str | None
    version: int
    seq: int
    updated_at: float | None = None
    updated_by: str | None = None

    @property
    def etag(self) -> str:
        return f'"{self.seq}"'

    def view(self) -> dict[str, Any]:
        body = {"key": self.key, "value": self.value, "scope": self.scope, "version": self.version,
                "seq": self.seq, "updated_at": rfc3339(self.updated_at), "updated_by": self.updated_by}
        if self.org_id is not None:
            body["org_id"] = self.org_id
        return body


@dataclass(frozen=True)
class Batch:
    """What a watcher has not seen yet: the effective values changed after its cursor, and the new cursor."""

    cursor: int
    items: list[Entry]

    def view(self) -> dict[str, Any]:
        return {"cursor": str(self.cursor), "items": [item.view() for item in self.items]}


def _entry(row: Any) -> Entry:
    org = row["org_id"] or None
    return Entry(row["key"], row["value"], "org" if org else "global", org, row["version"], row["seq"],
                 row["updated_at"], row["updated_by"])


def default_entry(key: RegisteredKey) -> Entry:
    return Entry(key.name, key.default(), "default", None, 0, 0)


# --- reading ---------------------------------------------------------------------------------------


async def effective_values(conn: AsyncConnection, keys: Sequence[RegisteredKey], org_id: str | None) -> list[Entry]:
    """Each key's value as `org_id` sees it (None: the service-wide value), in the order of `keys`."""
    scopes = [GLOBAL] if org_id is None else [GLOBAL, org_id]
    rows = (await conn.execute(sa.select(values).where(values.c.key.in_([k.name for k in keys]),
                                                       values.c.org_id.in_(scopes)))).mappings().all()
    found = {(row["key"], row["org_id"]): row for row in rows}
    answer = []
    for key in keys:
        row = found.get((key.name, org_id)) if org_id is not None else None
        row = row or found.get((key.name, GLOBAL))
        answer.append(_entry(row) if row is not None else default_entry(key))
    return answer


async def effective(conn: AsyncConnection, key: RegisteredKey, org_id: str | None) -> Entry:
    return (await effective_values(conn, [key], org_id))[0]


async def changes(conn: AsyncConnection, keys: Sequence[RegisteredKey], org_id: str | None,
                  since: int | None) -> Batch:
    """The effective values of `keys` set by a change after `since` (all of them when None).

    A `since` beyond the newest change means the store was replaced under the watcher: it gets
    every value again, so that it never keeps one the store no longer has.
    """
    newest = (await conn.execute(sa.select(sequence.c.seq).where(sequence.c.id == SEQUENCE_ROW))).scalar_one()
    entries = await effective_values(conn, keys, org_id)
    cursor = max([newest, *(entry.seq for entry in entries)])
    if since is None or since > cursor:
        return Batch(cursor, entries)
    return Batch(cursor, [entry for entry in entries if entry.seq > since])


async def history(conn: AsyncConnection, key: RegisteredKey, org_ids: Iterable[str], limit: int,
                  before: int | None) -> dict[str, Any]:
    """The versions of `key` in the scopes `org_ids` (GLOBAL for service-wide), newest first."""
    where = sa.and_(versions.c.key == key.name, versions.c.org_id.in_(list(org_ids)))
    statement = sa.select(versions).where(where).order_by(versions.c.seq.desc()).limit(limit + 1)
    if before is not None:
        statement = statement.where(versions.c.seq < before)
    rows = (await conn.execute(statement)).mappings().all()
    total = (await conn.execute(sa.select(sa.func.count()).select_from(versions).where(where))).scalar_one()
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [version_view(row) for row in rows], "total": total,
            "next_cursor": str(rows[-1]["seq"]) if more else None}


def version_view(row: Any) -> dict[str, Any]:
    org = row["org_id"] or None
    body = {"key": row["key"], "scope": "org" if org else "global", "version": row["version"], "seq": row["seq"],
            "value": row["value"], "action": row["action"], "rolled_back_to": row["rolled_back_to"],
            "author": row["author"], "author_kind": row["author_kind"], "reason": row["reason"],
            "created_at": rfc3339(row["created_at"])}
    if org is not None:
        body["org_id"] = org
    return body


async def version(conn: AsyncConnection, key: RegisteredKey, scope_org: str, number: int, loc: str) -> Any:
    """One version of `key` in a scope (GLOBAL or an org), or 404 naming `loc`."""
    row = (await conn.execute(sa.select(versions).where(versions.c.key == key.name, versions.c.org_id == scope_org,
                                                        versions.c.version == number))).mappings().first()
    if row is None:
        where = "service-wide" if scope_org == GLOBAL else "org"
        raise Problem(404, f"{key.name} has no version {number} in the {where} scope", slug="config-version-not-found",
                      errors=[{"loc": loc, "msg": "no such version"}])
    return row


def patch_between(old: Any, new: Any) -> list[dict[str, Any]]:
    """An RFC 6902 patch from `old` to `new` made only of add, remove and replace.

    jsonpatch finds the changes; a `move` it finds is spelled as the remove and add it stands for,
    which reads better in a review of configuration, and still applies to `old` to give `new`.
    """
    document = copy.deepcopy(old)
    spelled: list[dict[str, Any]] = []
    for operation in jsonpatch.make_patch(old, new).patch:
        if operation["op"] == "move":
            moved = copy.deepcopy(JsonPointer(operation["from"]).resolve(document))
            steps = [{"op": "remove", "path": operation["from"]},
                     {"op": "add", "path": operation["path"], "value": moved}]
        elif operation["op"] == "copy":
            steps = [{"op": "add", "path": operation["path"],
                      "value": copy.deepcopy(JsonPointer(operation["from"]).resolve(document))}]
        else:
            steps = [operation]
        for step in steps:
            document = jsonpatch.apply_patch(document, [step])
        spelled.extend(steps)
    return spelled


# --- writing ---------------------------------------------------------------------------------------


async def write(relational: RelationalStore, key: RegisteredKey, scope_org: str, value: Any, reason: str,
                author: Principal, expected: int | None) -> Entry:
    """Set `key` in a scope (GLOBAL or an org) as a new version. `expected` is the If-Match `seq`."""
    key.check(value)
    async with relational.write() as conn:
        seq = await _next_seq(conn)
        await _require_unchanged(conn, key, scope_org, expected)
        entry = await _record(conn, key, scope_org, value, seq, reason, author)
    _log_change(entry, author, "set")
    return entry


async def rollback(relational: RelationalStore, key: RegisteredKey, scope_org: str, number: int, reason: str,
                   author: Principal, expected: int | None) -> Entry:
    """A new version of `key` in a scope holding the value its version `number` had."""
    async with relational.write() as conn:
        seq = await _next_seq(conn)
        old = await version(conn, key, scope_org, number, "body.version")
        key.check(old["value"], loc="body.version")  # the schema may have narrowed since
        await _require_unchanged(conn, key, scope_org, expected)
        entry = await _record(conn, key, scope_org, old["value"], seq, reason, author, rolled_back_to=number)
    _log_change(entry, author, "rollback")
    return entry


async def _next_seq(conn: AsyncConnection) -> int:
    """Take the next change number; the row lock holds other writers until this transaction ends."""
    statement = (sa.update(sequence).where(sequence.c.id == SEQUENCE_ROW).values(seq=sequence.c.seq + 1)
                 .returning(sequence.c.seq))
    return int((await conn.execute(statement)).scalar_one())


async def _require_unchanged(conn: AsyncConnection, key: RegisteredKey, scope_org: str, expected: int | None) -> None:
    """412 unless what the writer saw (`expected`, an ETag) is still what its scope reads."""
    if expected is None:
        return
    current = await effective(conn, key, None if scope_org == GLOBAL else scope_org)
    if current.seq != expected:
        raise Problem(412, f"{key.name} changed since ETag \"{expected}\"; it is now {current.etag}",
                      slug="version-mismatch", current_etag=current.etag)


async def _record(conn: AsyncConnection, key: RegisteredKey, scope_org: str, value: Any, seq: int, reason: str,
                  author: Principal, rolled_back_to: int | None = None) -> Entry:
    where = sa.and_(values.c.key == key.name, values.c.org_id == scope_org)
    current = (await conn.execute(sa.select(values.c.version).where(where))).scalar_one_or_none()
    number = (current or 0) + 1
    now = time.time()
    row = {"value": value, "version": number, "seq": seq, "updated_at": now, "updated_by": author.subject}
    if current is None:
        await conn.execute(values.insert().values(key=key.name, org_id=scope_org, **row))
    else:
        await conn.execute(values.update().where(where).values(**row))
    await conn.execute(versions.insert().values(
        seq=seq, key=key.name, org_id=scope_org, version=number, value=value,
        action="rollback" if rolled_back_to is not None else "set", rolled_back_to=rolled_back_to,
        author=author.subject, author_kind=author.kind, reason=reason, created_at=now))
    return Entry(key.name, value, "global" if scope_org == GLOBAL else "org", scope_org or None, number, seq, now,
                 author.subject)


def _log_change(entry: Entry, author: Principal, action: str) -> None:
    # Never the value nor the reason: a key may one day hold something that must not reach logs.
    log.info("config changed", extra={"subject": author.subject, "key": entry.key, "scope": entry.scope,
                                      "org_id": entry.org_id, "version": entry.version, "seq": entry.seq,
                                      "action": action})
