"""Talent search: full text (CJK-aware) combined with the list filters.

The full-text store ranks and highlights (up to SEARCH_WINDOW hits); the relational store then
keeps the hits that pass every filter (skills and tags all-of, years ranges...), in rank order.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from looma_crm import store
from looma_crm.places import canonical_city
from looma_crm.tables import talents
from looma_crm.talents import TALENT, filters
from shared.database import UnifiedDataAccess
from shared.database.fulltext import FullTextInputError
from shared.service.problems import Problem

SEARCH_WINDOW = 1000


async def search_talents(data: UnifiedDataAccess, org_id: str, query: str, args: Mapping[str, Any],
                         limit: int, cursor: str | None) -> dict[str, Any]:
    narrowing: dict[str, Any] = {}
    if city := args.get("city"):
        narrowing["city"] = canonical_city(city)
    if status := args.get("status"):
        narrowing["job_status"] = status
    try:
        hits = await data.fulltext.search("talents", org_id, query, narrowing, limit=SEARCH_WINDOW)
    except FullTextInputError as error:
        raise Problem(400, str(error), slug="invalid-query", errors=[{"loc": "query.q", "msg": str(error)}]) from None
    if not hits:
        return {"items": [], "total": 0, "next_cursor": None}
    ranked = {hit.id: hit for hit in hits}
    async with data.relational.read() as conn:
        rows = (await conn.execute(sa.select(talents).where(
            store.live(TALENT, org_id), talents.c.id.in_(list(ranked)), *filters(args)))).mappings().all()
    found = {row["id"]: row for row in rows}
    ordered = [found[i] for i in ranked if i in found]
    offset = _offset(cursor)
    window = ordered[offset: offset + limit]
    items = [{**store.view(row), "score": round(ranked[row["id"]].score, 4),
              "highlights": dict(ranked[row["id"]].highlights)} for row in window]
    more = offset + limit < len(ordered)
    return {"items": items, "total": len(ordered),
            "next_cursor": base64.urlsafe_b64encode(f"search:{offset + limit}".encode()).decode() if more else None}


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        kind, value = base64.urlsafe_b64decode(cursor).decode().split(":", 1)
        if kind == "search" and value.isdigit():
            return int(value)
    except (ValueError, UnicodeDecodeError):
        pass
    raise Problem(400, "the cursor is not one this search handed out", slug="invalid-cursor",
                  errors=[{"loc": "query.cursor", "msg": "unknown cursor"}])
