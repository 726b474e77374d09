"""Per-request bookkeeping: request id, response time, a JSON log line and Prometheus metrics."""

from __future__ import annotations

import logging
import re
import time

from sanic import HTTPResponse, Request

from shared.monitoring.logging import request_id_var
from shared.service.context import LoomaApp

access_log = logging.getLogger("looma.access")


# What an incoming id may look like to be kept: short, printable, no spaces. Anything else
# (a 10 kB header, control characters) is replaced, so ids stay safe to log and echo.
_ACCEPTABLE_ID = re.compile(r"[!-~]{1,128}")


class LoomaRequest(Request):
    """A request whose id is the caller's X-Request-ID verbatim, or a fresh UUID.

    Sanic recasts an incoming id to a UUID or an int, so "ABC..." came back lowercased and "007"
    as "7": the id a client or another service quoted no longer matched our logs and responses.
    """

    @property
    def id(self) -> str:  # type: ignore[override]
        if not self._id:
            incoming = self.headers.get(self.app.config.REQUEST_ID_HEADER, "")
            self._id = incoming if _ACCEPTABLE_ID.fullmatch(incoming) else str(self.generate_id())
        return str(self._id)


def install_observability(app: LoomaApp) -> None:
    metrics = app.ctx.metrics
    in_flight = metrics.in_flight.labels(app.ctx.spec.name)

    @app.on_request(priority=100)
    async def start(request: Request) -> None:
        request.ctx.started = time.perf_counter()
        request_id_var.set(str(request.id))
        in_flight.inc()

    @app.on_response(priority=100)
    async def finish(request: Request, response: HTTPResponse) -> None:
        started = getattr(request.ctx, "started", None)
        if started is None:
            return
        request.ctx.started = None
        in_flight.dec()
        elapsed = time.perf_counter() - started
        route = f"/{request.route.path}" if request.route else "<unmatched>"
        response.headers["X-Request-ID"] = str(request.id)
        response.headers["X-Response-Time"] = f"{elapsed * 1000:.2f}ms"
        metrics.observe(request.method, route, response.status, elapsed)
        if route not in _QUIET_ROUTES or response.status >= 400:
            access_log.info(
                "request",
                extra={
                    "request_id": str(request.id),
                    "method": request.method,
                    "route": route,
                    "path": request.path,
                    "status": response.status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )


# Probes and scrapes arrive every few seconds; logging each would drown the useful lines.
_QUIET_ROUTES = frozenset({"/health", "/ready", "/metrics"})
