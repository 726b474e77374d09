"""Recruiting figures: the pipeline funnel, time in each stage, conversion by source, open jobs.

All are computed from the applications and their stage history, for one job or the whole org.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from looma_crm import store
from looma_crm.domain import JOB
from looma_crm.pipeline import APPLICATION, OPEN_STAGES, STAGES
from looma_crm.tables import applications, jobs, stage_history, talents

FUNNEL = ("sourced", "screening", "interview", "offer", "hired")


async def pipeline(conn: AsyncConnection, org_id: str, job_id: str | None) -> dict[str, Any]:
    # As on the board: the applications of deleted talents count nowhere.
    where = [store.live(APPLICATION, org_id),
             sa.exists().where(talents.c.id == applications.c.talent_id, talents.c.deleted_at.is_(None))]
    if job_id is not None:
        await store.fetch(conn, JOB, org_id, job_id)
        where.append(applications.c.job_id == job_id)
    apps = (await conn.execute(sa.select(applications.c.id, applications.c.stage, applications.c.source)
                               .where(*where))).all()
    ids = [a.id for a in apps]
    moves: dict[str, list[tuple[float, str]]] = defaultdict(list)
    if ids:
        for chunk_start in range(0, len(ids), 500):
            chunk = ids[chunk_start:chunk_start + 500]
            for row in (await conn.execute(sa.select(stage_history.c.application_id, stage_history.c.at,
                                                     stage_history.c.to_stage)
                                           .where(stage_history.c.application_id.in_(chunk))
                                           .order_by(stage_history.c.at, stage_history.c.id))).all():
                moves[row.application_id].append((row.at, row.to_stage))
    current = {s: 0 for s in STAGES}
    reached = {s: 0 for s in FUNNEL}
    durations: dict[str, list[float]] = defaultdict(list)
    by_source: dict[str, dict[str, int]] = defaultdict(lambda: {"applications": 0, "hired": 0})
    now = time.time()
    for app in apps:
        current[app.stage] += 1
        history = moves.get(app.id, [])
        seen = {stage for _, stage in history}
        deepest = max((FUNNEL.index(s) for s in seen if s in FUNNEL), default=0)
        for index in range(deepest + 1):  # reaching interview means having passed the stages before it
            reached[FUNNEL[index]] += 1
        for (at, stage), following in zip(history, [*history[1:], (now, None)]):
            if stage in OPEN_STAGES:
                durations[stage].append((following[0] - at) / 3600)
        source = by_source[app.source or "unknown"]
        source["applications"] += 1
        source["hired"] += app.stage == "hired"
    total = len(apps)
    funnel = [{"stage": s, "reached": reached[s], "conversion_from_start": _ratio(reached[s], total),
               "conversion_from_previous": _ratio(reached[s], reached[FUNNEL[i - 1]] if i else total)}
              for i, s in enumerate(FUNNEL)]
    time_in_stage = [{"stage": s, "samples": len(durations[s]),
                      "mean_hours": round(statistics.fmean(durations[s]), 2) if durations[s] else None,
                      "median_hours": round(statistics.median(durations[s]), 2) if durations[s] else None}
                     for s in OPEN_STAGES]
    sources = [{"source": name, **counts, "hire_rate": _ratio(counts["hired"], counts["applications"])}
               for name, counts in sorted(by_source.items())]
    return {"job_id": job_id, "applications": total, "current": current, "funnel": funnel,
            "time_in_stage": time_in_stage, "by_source": sources}


async def open_jobs(conn: AsyncConnection, org_id: str) -> dict[str, Any]:
    rows = (await conn.execute(sa.select(jobs.c.status, sa.func.count()).where(store.live(JOB, org_id))
                               .group_by(jobs.c.status))).all()
    counts = {status: count for status, count in rows}
    return {"open": counts.get("open", 0), "paused": counts.get("paused", 0), "closed": counts.get("closed", 0)}


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
