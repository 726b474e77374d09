"""The AI gateway (8206) as a BaseAIService: registry, balancing, breakers, retries, limits, batch, proxy."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from sanic import Blueprint, Sanic
from sanic.config import Config

from ai_services.ai_gateway.api import proxy_blueprint, registry_blueprint
from ai_services.ai_gateway.breaker import BreakerPolicy, BreakerState
from ai_services.ai_gateway.checks import run_checks
from ai_services.ai_gateway.cors import install_cors
from ai_services.ai_gateway.limits import Limiter, MemoryThrottle, ThrottleStore
from ai_services.ai_gateway.metrics import GatewayMetrics
from ai_services.ai_gateway.openapi import SpecCache, install_docs
from ai_services.ai_gateway.openapi import openapi_handler as aggregated_openapi_handler
from ai_services.ai_gateway.pipeline import Pipeline
from ai_services.ai_gateway.proxy import Upstreams, upstream_session
from ai_services.ai_gateway.registry import Instance, OutlierPolicy, Registry
from ai_services.ai_gateway.retries import RetryBudget
from ai_services.ai_gateway.roster import Roster
from shared.config import GATEWAY_LIMITS, ConfigClient, GatewayLimits
from shared.fleet import AUTH, GATEWAY, UPSTREAMS
from shared.service import BaseAIService, ServiceContext
from shared.service.auth.jwks import JWKS_PATH
from shared.service.auth.verifier import JwksSource
from shared.service.context import LoomaApp
from shared.service.forwarding import forwarding_secret

log = logging.getLogger("looma.gateway")


@dataclass
class GatewayContext(ServiceContext):
    registry: Registry = field(init=False)
    gateway_metrics: GatewayMetrics = field(init=False)
    upstream: aiohttp.ClientSession | None = None  # opened in before_server_start
    pipeline: Pipeline | None = None  # built in before_server_start, once the stores are open
    roster: Roster | None = None
    background: list[asyncio.Task[None]] = field(default_factory=list)
    memory_throttle: MemoryThrottle = field(default_factory=MemoryThrottle)  # the buckets without Redis
    retry_budget: RetryBudget = field(init=False)
    openapi_cache: SpecCache = field(default_factory=SpecCache)
    config: ConfigClient | None = None  # gateway/limits from the config service, applied while running
    forwarding_secret: str | None = field(init=False)

    def __post_init__(self) -> None:
        settings = self.settings
        self.forwarding_secret = forwarding_secret(settings)
        self.gateway_metrics = GatewayMetrics(self.metrics.registry)
        self.retry_budget = RetryBudget(settings.gateway_retry_budget, settings.gateway_retry_floor)
        self.registry = Registry(
            static_routes={prefix: spec.name for spec in UPSTREAMS for prefix in spec.prefixes},
            default_ttl=settings.heartbeat_ttl,
            default_strategy=settings.gateway_balancing,
            strategies=settings.gateway_balancing_per_service,
            breaker_policy=BreakerPolicy(settings.gateway_breaker_failures, settings.gateway_breaker_open_seconds,
                                         settings.gateway_breaker_probes),
            outlier_policy=OutlierPolicy(settings.gateway_outlier_failures, settings.gateway_outlier_ejection_seconds,
                                         settings.gateway_outlier_max_ejection_seconds),
            on_breaker_transition=self._breaker_moved,
            on_ejection=self._ejected,
        )
        for seed in settings.gateway_static_instances:
            self.registry.seed(seed.service, str(seed.url), seed.prefixes, seed.weight)

    def _breaker_moved(self, instance: Instance, old: BreakerState, new: BreakerState) -> None:
        self.gateway_metrics.breaker_transitions.labels(instance.service, instance.instance_id, new).inc()
        log.warning("circuit breaker %s -> %s", old, new,
                    extra={"upstream": instance.service, "instance": instance.instance_id, "from": old, "to": new})

    def _ejected(self, instance: Instance) -> None:
        self.gateway_metrics.ejections.labels(instance.service, instance.instance_id).inc()
        log.warning("instance ejected after consecutive failures",
                    extra={"upstream": instance.service, "instance": instance.instance_id,
                           "until": instance.ejected_until, "ejections": instance.ejections})


GatewayApp = Sanic[Config, GatewayContext]


class GatewayService(BaseAIService):
    spec = GATEWAY
    registers_with_gateway = False
    context_type = GatewayContext

    def blueprints(self) -> Sequence[Blueprint]:
        return (registry_blueprint(), proxy_blueprint())

    def openapi_handler(self) -> Any:
        """GET /openapi.json: the whole API, every service's routes merged (openapi.py)."""
        return aggregated_openapi_handler()

    def jwks_source(self, app: LoomaApp) -> JwksSource:
        """The auth service's keys, fetched from an instance the registry picks (or LOOMA_AUTH_URL)."""
        ctx: GatewayContext = app.ctx  # type: ignore[assignment]
        configured = self.settings.auth_url

        async def fetch() -> dict[str, Any]:
            base = configured
            if base is None:
                instance = ctx.registry.pick(AUTH.name)
                if instance is None:
                    raise RuntimeError("no healthy auth instance to fetch the JWKS from")
                base = instance.url
            assert ctx.upstream is not None
            async with ctx.upstream.get(base.rstrip("/") + JWKS_PATH) as response:
                if response.status != 200:
                    raise RuntimeError(f"the auth service answered {response.status} for its JWKS")
                document = await response.json(content_type=None)
            if not isinstance(document, dict):
                raise RuntimeError("the auth service did not answer a JWKS document")
            return document

        return fetch

    def create_app(self) -> GatewayApp:
        app: GatewayApp = super().create_app()  # type: ignore[assignment]
        settings = self.settings
        install_docs(app)
        install_cors(app, settings.gateway_cors_origins)

        @app.before_server_start
        async def open_upstream(app: GatewayApp) -> None:
            ctx = app.ctx
            ctx.upstream = upstream_session()
            throttles: ThrottleStore = ctx.data.cache if ctx.data.cache.backend == "redis" else ctx.memory_throttle
            upstreams = Upstreams(ctx.registry, ctx.upstream, ctx.gateway_metrics, ctx.retry_budget, settings)
            ctx.pipeline = Pipeline(ctx.registry, upstreams, Limiter(throttles, settings.gateway_rate_burst_seconds),
                                    ctx.gateway_metrics, settings)
            ctx.roster = Roster(ctx.data.cache, ctx.registry)
            ctx.config = self._config_client(app)
            ctx.config.on_change(GATEWAY_LIMITS, lambda limits: self._apply_limits(app, limits))
            self._apply_limits(app, ctx.config.get(GATEWAY_LIMITS))  # the last known good, until the service answers

        @app.after_server_start
        async def start_background(app: GatewayApp) -> None:
            assert app.ctx.roster is not None and app.ctx.upstream is not None and app.ctx.config is not None
            await app.ctx.config.start(wait=0.5)  # the config service may start after the gateway
            app.ctx.background = [
                asyncio.create_task(app.ctx.roster.run(settings.gateway_registry_sync_interval)),
                asyncio.create_task(run_checks(app.ctx.upstream, app.ctx.registry, settings.gateway_check_interval)),
            ]

        @app.before_server_stop
        async def stop_background(app: GatewayApp) -> None:
            for task in app.ctx.background:
                task.cancel()
            await asyncio.gather(*app.ctx.background, return_exceptions=True)
            app.ctx.background = []
            if app.ctx.config is not None:
                await app.ctx.config.stop()

        @app.after_server_stop
        async def close_upstream(app: GatewayApp) -> None:
            if app.ctx.upstream is not None:
                await app.ctx.upstream.close()

        return app

    def _config_client(self, app: GatewayApp) -> ConfigClient:
        """Watches gateway/limits through this gateway itself, with the fleet's service token;
        offline (last known good values, else the LOOMA_GATEWAY_* settings) without one."""
        settings = self.settings
        if app.ctx.service_token is None:
            return ConfigClient(None, settings.data_dir / "config-cache", keys=(GATEWAY_LIMITS,))
        own = settings.model_copy(update={"gateway_url": settings.gateway_url or settings.instance_url(GATEWAY.port)})
        return ConfigClient.from_settings(own, token=app.ctx.service_token, keys=(GATEWAY_LIMITS,))

    def _apply_limits(self, app: GatewayApp, limits: GatewayLimits) -> None:
        effective = limits.applied_to(self.settings)
        pipeline = app.ctx.pipeline
        assert pipeline is not None
        pipeline.settings = effective
        pipeline.limiter.burst_seconds = effective.gateway_rate_burst_seconds
        app.ctx.registry.default_strategy = effective.gateway_balancing
        log.info("gateway limits applied", extra={"rate_per_user": effective.gateway_rate_per_user,
                                                   "rate_per_org": effective.gateway_rate_per_org,
                                                   "balancing": effective.gateway_balancing})
