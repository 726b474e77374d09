"""Time the parts of a CRM talent list and search in-process, on an already seeded database.

    .venv/bin/python scripts/bench_crm_parts.py --database-url postgresql://postgres@127.0.0.1:5432/looma_bench_xxxx
                                                [--query 后端] [--repeat 50] [--analyze]

No HTTP, no gateway: the cost the CRM itself pays per request, split into the full-text window,
the whole search (window, filter pass, page read, highlights) and one list page. Point it at the
database `scripts/bench_crm.py` leaves behind (it prints nothing about it; list them with
`psql -l | grep looma_bench`), or at any database holding `looma seed --demo`. With --analyze it
first refreshes the planner's statistics, to compare before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from looma_crm import store  # noqa: E402
from looma_crm.search import SEARCH_WINDOW, search_talents  # noqa: E402
from looma_crm.tables import talents  # noqa: E402
from looma_crm.talents import TALENT  # noqa: E402
from shared.config import LoomaSettings  # noqa: E402
from shared.database import UnifiedDataAccess  # noqa: E402


async def timed(label: str, repeat: int, call: Callable[[], Awaitable[Any]]) -> None:
    for _ in range(3):
        await call()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    print(f"{label:<34} p50 {statistics.median(times):7.2f} ms   p95 {times[int(len(times) * 0.95) - 1]:7.2f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--query", default="后端")
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--analyze", action="store_true")
    args = parser.parse_args()
    data = UnifiedDataAccess.from_settings(LoomaSettings(database_url=args.database_url))
    relational = data.relational
    try:
        if args.analyze:
            await relational.analyze()
        async with relational.read() as conn:
            org_id = (await conn.execute(sa.select(talents.c.org_id).group_by(talents.c.org_id)
                                         .order_by(sa.func.count().desc()).limit(1))).scalar_one()
        page = store.parse_page({}, TALENT)

        async def window() -> Any:
            return await data.fulltext.search("talents", org_id, args.query, {}, limit=SEARCH_WINDOW,
                                              with_highlights=False)

        async def search() -> Any:
            return await search_talents(data, org_id, args.query, {}, 20, None)

        async def listing() -> Any:
            async with relational.read() as conn:
                return await store.page(conn, TALENT, org_id, page)

        print(f"{relational.backend}, org {org_id}, q={args.query!r}: {(await search())['total']} hits")
        await timed("full-text window (ids and scores)", args.repeat, window)
        await timed("search: window, filters, page", args.repeat, search)
        await timed("list page of 20", args.repeat, listing)
    finally:
        await data.close()


if __name__ == "__main__":
    asyncio.run(main())
