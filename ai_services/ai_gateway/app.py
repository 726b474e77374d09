"""The AI gateway (8206) as a BaseAIService: registry, service listing and prefix proxy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from sanic import Blueprint, Sanic
from sanic.config import Config

from ai_services.ai_gateway.api import proxy_blueprint, registry_blueprint
from ai_services.ai_gateway.proxy import upstream_session
from ai_services.ai_gateway.registry import Registry
from shared.fleet import AUTH, GATEWAY, UPSTREAMS
from shared.service import BaseAIService, ServiceContext
from shared.service.auth.jwks import JWKS_PATH
from shared.service.auth.verifier import JwksSource
from shared.service.context import LoomaApp
from shared.service.forwarding import forwarding_secret


@dataclass
class GatewayContext(ServiceContext):
    registry: Registry = field(init=False)
    upstream: aiohttp.ClientSession | None = None  # opened in before_server_start
    forwarding_secret: str | None = field(init=False)

    def __post_init__(self) -> None:
        self.forwarding_secret = forwarding_secret(self.settings)
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
        timeout = self.settings.gateway_upstream_timeout

        @app.before_server_start
        async def open_upstream(app: GatewayApp) -> None:
            app.ctx.upstream = upstream_session(timeout)

        @app.after_server_stop
        async def close_upstream(app: GatewayApp) -> None:
            if app.ctx.upstream is not None:
                await app.ctx.upstream.close()

        return app
