"""The steps every proxied request takes, alone or inside a batch: route, auth, limits, send.

The route resolves first: an unknown one is a 404 whoever asks. Then the token is verified at
the edge (public routes, declared in settings, need none), then the rate limits, then the
upstream call with its retries. Each step fails with a problem naming what went wrong.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sanic import HTTPResponse, Request

from ai_services.ai_gateway.limits import Limit, Limiter, Verdict
from ai_services.ai_gateway.metrics import GatewayMetrics
from ai_services.ai_gateway.proxy import Outgoing, Upstreams
from ai_services.ai_gateway.registry import Registry
from shared.config import LoomaSettings
from shared.service import Problem
from shared.service.auth import authenticate
from shared.service.auth.principal import Principal


@dataclass
class Pipeline:
    registry: Registry
    upstreams: Upstreams
    limiter: Limiter
    metrics: GatewayMetrics
    settings: LoomaSettings

    def route(self, path: str) -> tuple[str, str]:
        match = self.registry.resolve_prefix(path)
        if match is None:
            raise Problem(404, f"no service serves {path}", slug="unknown-route")
        return match

    def is_public(self, path: str) -> bool:
        for route in self.settings.gateway_public_routes:
            if path == route or (route.endswith("/*") and path.startswith(route[:-1])):
                return True
        return False

    async def caller(self, request: Request, path: str) -> Principal | None:
        """The verified caller; None on a public route called without a token."""
        if self.is_public(path) and "authorization" not in request.headers:
            return None
        return await authenticate(request)

    async def admit(self, principal: Principal | None, client_ip: str, prefix: str) -> Verdict:
        verdict = await self.limiter.check(self.limits(principal, client_ip, prefix))
        if not verdict.allowed:
            assert verdict.limit is not None
            self.metrics.rate_limited.labels(verdict.limit.scope).inc()
            raise Problem(429, f"the rate limit of {verdict.limit.per_minute} requests a minute per "
                               f"{verdict.limit.scope} is reached", slug="rate-limited",
                          headers=verdict.headers(self.limiter.burst_seconds), scope=verdict.limit.scope)
        return verdict

    def limits(self, principal: Principal | None, client_ip: str, prefix: str) -> list[Limit]:
        settings = self.settings
        who = principal.subject if principal is not None else f"ip:{client_ip}"
        limits = []
        if (per_route := settings.gateway_rate_per_route.get(prefix)) is not None:
            limits.append(Limit("route", f"{prefix}|{who}", per_route))
        limits.append(Limit("user", who, settings.gateway_rate_per_user))
        if principal is not None and principal.org_id:
            limits.append(Limit("org", principal.org_id, settings.gateway_rate_per_org))
        return limits

    def count_refusal(self, route: str, upstream: str, problem: Problem) -> None:
        """A request the gateway answered itself before any upstream: unknown route, bad token."""
        self.metrics.requests.labels(route, upstream, str(problem.status_code)).inc()

    async def run(self, request: Request, call: Outgoing, principal: Principal | None, prefix: str, service: str,
                  deadline: float, stream: bool) -> HTTPResponse | None:
        """Limits, then the upstream; the answer carries the RateLimit headers of its tightest limit."""
        started = time.monotonic()
        status = 500
        try:
            verdict = await self.admit(principal, request.ip, prefix)
            response = await self.upstreams.send(service, call, deadline, request if stream else None)
            if response is None:
                status = request.ctx.streamed_status
                return None
            status = response.status
            for name, value in verdict.headers(self.limiter.burst_seconds).items():
                response.headers[name] = value
            return response
        except Problem as problem:
            status = problem.status_code
            raise
        finally:
            self.metrics.requests.labels(prefix, service, str(status)).inc()
            self.metrics.latency.labels(prefix, service).observe(time.monotonic() - started)
