"""/health, /ready and /metrics: what orchestrators, the gateway and Prometheus poll."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sanic import Blueprint, HTTPResponse, Request
from sanic.response import json, raw
from sanic_ext import openapi

from shared.database import UnifiedDataAccess
from shared.service.auth.access import public

ReadinessCheck = Callable[[], Awaitable[dict[str, Any]]]


def health_blueprint(extra_checks: Callable[[], dict[str, ReadinessCheck]]) -> Blueprint:
    bp = Blueprint("health")

    @bp.get("/health")
    @public
    @openapi.summary("Liveness: the process answers")
    async def health(request: Request) -> HTTPResponse:
        ctx = request.app.ctx
        return json({"status": "ok", "service": ctx.spec.name, "uptime_s": round(time.time() - ctx.started_at, 1)})

    @bp.get("/ready")
    @public
    @openapi.summary("Readiness: every dependency reachable, with per-dependency detail")
    async def ready(request: Request) -> HTTPResponse:
        is_ready, checks = await readiness(request.app.ctx.store, extra_checks())
        body = {"status": "ready" if is_ready else "not_ready", "service": request.app.ctx.spec.name, "checks": checks}
        return json(body, status=200 if is_ready else 503)

    @bp.get("/metrics")
    @public
    @openapi.summary("Prometheus metrics")
    async def metrics(request: Request) -> HTTPResponse:
        payload, content_type = request.app.ctx.metrics.exposition()
        return raw(payload, content_type=content_type)

    return bp


async def readiness(store: UnifiedDataAccess, extra: dict[str, ReadinessCheck]) -> tuple[bool, dict[str, Any]]:
    """Whether the service can serve, and each dependency's detail."""
    checks = await store.health()
    if extra:
        results = await asyncio.gather(*(_run(check) for check in extra.values()))
        checks.update(zip(extra, results, strict=True))
    return all(check["ok"] for check in checks.values()), checks


def only_slow(checks: dict[str, Any]) -> bool:
    """Every failing check merely ran out of time: the process is busy, not broken."""
    failing = [check for check in checks.values() if not check["ok"]]
    return bool(failing) and all(check.get("timed_out") for check in failing)


CHECK_TIMEOUT = 3.0


async def _run(check: ReadinessCheck) -> dict[str, Any]:
    try:
        return {"ok": True, **await asyncio.wait_for(check(), CHECK_TIMEOUT)}
    except TimeoutError:
        return {"ok": False, "timed_out": True, "error": f"no answer within {CHECK_TIMEOUT:g}s"}
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
