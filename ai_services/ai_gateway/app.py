"""The AI gateway (8206) as a BaseAIService: registry, service listing and prefix proxy."""

from __future__ import annotations

from collections.abc import Sequence

from sanic import Blueprint

from ai_services.ai_gateway.api import proxy_blueprint, registry_blueprint
from ai_services.ai_gateway.proxy import upstream_session
from ai_services.ai_gateway.registry import Registry
from shared.fleet import GATEWAY, UPSTREAMS
from shared.service import BaseAIService, LoomaApp


class GatewayService(BaseAIService):
    spec = GATEWAY
    registers_with_gateway = False

    def blueprints(self) -> Sequence[Blueprint]:
        return (registry_blueprint(), proxy_blueprint())

    def create_app(self) -> LoomaApp:
        app = super().create_app()
        settings = self.settings
        registry = Registry(
            static_routes={prefix: spec.name for spec in UPSTREAMS for prefix in spec.prefixes},
            default_ttl=settings.heartbeat_ttl,
        )
        for seed in settings.gateway_static_instances:
            registry.seed(seed.service, str(seed.url), seed.prefixes)
        app.ctx.extra["registry"] = registry

        @app.before_server_start
        async def open_upstream(app: LoomaApp) -> None:
            app.ctx.extra["upstream"] = upstream_session(settings.gateway_upstream_timeout)

        @app.after_server_stop
        async def close_upstream(app: LoomaApp) -> None:
            await app.ctx.extra["upstream"].close()

        return app
