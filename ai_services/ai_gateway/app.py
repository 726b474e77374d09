"""The AI gateway (8206) as a BaseAIService: registry, service listing and prefix proxy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import aiohttp
from sanic import Blueprint, Sanic
from sanic.config import Config

from ai_services.ai_gateway.api import proxy_blueprint, registry_blueprint
from ai_services.ai_gateway.proxy import upstream_session
from ai_services.ai_gateway.registry import Registry
from shared.fleet import GATEWAY, UPSTREAMS
from shared.service import BaseAIService, ServiceContext


@dataclass
class GatewayContext(ServiceContext):
    registry: Registry = field(init=False)
    upstream: aiohttp.ClientSession | None = None  # opened in before_server_start

    def __post_init__(self) -> None:
        self.registry = Registry(
            static_routes={prefix: spec.name for spec in UPSTREAMS for prefix in spec.prefixes},
            default_ttl=self.settings.heartbeat_ttl,
        )
        for seed in self.settings.gateway_static_instances:
            self.registry.seed(seed.service, str(seed.url), seed.prefixes)


GatewayApp = Sanic[Config, GatewayContext]


class GatewayService(BaseAIService):
    spec = GATEWAY
    registers_with_gateway = False
    context_type = GatewayContext

    def blueprints(self) -> Sequence[Blueprint]:
        return (registry_blueprint(), proxy_blueprint())

    def create_app(self) -> GatewayApp:
        app: GatewayApp = super().create_app()  # type: ignore[assignment]
        timeout = self.settings.gateway_upstream_timeout

        @app.before_server_start
        async def open_upstream(app: GatewayApp) -> None:
            app.ctx.upstream = upstream_session(timeout)

        @app.after_server_stop
        async def close_upstream(app: GatewayApp) -> None:
            if app.ctx.upstream is not None:
                await app.ctx.upstream.close()

        return app
