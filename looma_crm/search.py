"""Talent search: full text (CJK-aware), or by meaning (looma_crm/semantic.py), combined with the list filters.

The full-text store ranks a window of up to SEARCH_WINDOW hits without highlights; the relational
store keeps the ids that pass every filter (skills and tags all-of, years ranges...), in rank
order; only the page shown is then read in full and highlighted, from the same text the index
holds (projections.talent_fields) with the same highlighter, whatever the full-text backend.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from looma_crm import store
from looma_crm.places import canonical_city
from looma_crm.projections import talent_fields
from looma_crm.semantic import VectorSearch, search_mode
from looma_crm.tables import talents
from looma_crm.talents import TALENT, filters
from shared.database import UnifiedDataAccess
from shared.database.fulltext import FullTextInputError, query_terms
from shared.database.fulltext_relational import highlight
from shared.service.problems import Problem

SEARCH_WINDOW = 1000


async def search_talents(data: UnifiedDataAccess, org_id: str, query: str, args: Mapping[str, Any],
                         limit: int, cursor: str | None, vector_search: VectorSearch | None = None,
                         identity: Mapping[str, str] | None = None) -> dict[str, Any]:
    """`mode=keyword` (default) ranks with the full-text store; `semantic` and `hybrid` ask the vector
    service (`vector_search`, with the caller's `identity` headers), and items then say what matched."""
    mode = search_mode(args)
    narrowing: dict[str, Any] = {}
    if city := args.get("city"):
        narrowing["city"] = canonical_city(city)
    if status := args.get("status"):
        narrowing["job_status"] = status
    matched: dict[str, tuple[str, ...]] = {}
    try:
        terms = set(query_terms(query))
        if mode == "keyword":
            hits = await data.fulltext.search("talents", org_id, query, narrowing, limit=SEARCH_WINDOW,
                                              with_highlights=False)
            scores = {hit.id: hit.score for hit in hits}
    except FullTextInputError as error:
        raise Problem(400, str(error), slug="invalid-query", errors=[{"loc": "query.q", "msg": str(error)}]) from None
    if mode != "keyword":
        assert vector_search is not None
        ranked = await vector_search.rank(identity or {}, query, mode, narrowing)
        scores = {hit.id: hit.score for hit in ranked}
        matched = {hit.id: hit.matched for hit in ranked}
    if not scores:
        return {"items": [], "total": 0, "next_cursor": None}
    offset = _offset(cursor)
    async with data.relational.read() as conn:
        passing = set((await conn.execute(sa.select(talents.c.id).where(
            store.live(TALENT, org_id), talents.c.id.in_(list(scores)), *filters(args)))).scalars())
        ordered = [i for i in scores if i in passing]
        page_ids = ordered[offset: offset + limit]
        rows = await store.fetch_many(conn, TALENT, org_id, page_ids)
    items = []
    for talent_id in page_ids:
        row = rows[talent_id]
        marked = {field: fragments for field, text in talent_fields(row["data"]).items()
                  if (fragments := highlight(text, terms))}
        item = {**store.view(row), "score": round(scores[talent_id], 4), "highlights": marked}
        if mode != "keyword":
            item["matched"] = list(matched[talent_id])
        items.append(item)
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
