"""BaseAIService: what every Looma service is before it has a domain.

A subclass names its `spec` and adds blueprints and readiness checks; everything else
(errors, request ids, logs, metrics, health, OpenAPI, data access, gateway registration) is
composed here from the modules beside this one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import suppress
from typing import Any, ClassVar

from sanic import Blueprint, Sanic
from sanic.response import json
from sanic_ext.extensions.openapi.builders import SpecificationBuilder

from shared.config import LoomaSettings
from shared.database import UnifiedDataAccess
from shared.fleet import ServiceSpec
from shared.monitoring.logging import log_config
from shared.monitoring.metrics import ServiceMetrics
from shared.service.auth.access import enforce_declared_access, public
from shared.service.auth.denylist import Denylist
from shared.service.auth.jwks import http_jwks
from shared.service.auth.service_token import ServiceToken
from shared.service.auth.verifier import JwksSource, TokenVerifier
from shared.service.context import LoomaApp, ServiceContext
from shared.service.forwarding import forwarding_secret
from shared.service.health import ReadinessCheck, health_blueprint, only_slow, readiness
from shared.service.observability import LoomaRequest, install_observability
from shared.service.problems import ProblemErrorHandler
from shared.service.registration import GatewayRegistration


class BaseAIService:
    spec: ClassVar[ServiceSpec]
    registers_with_gateway: ClassVar[bool] = True
    context_type: ClassVar[type[ServiceContext]] = ServiceContext

    def __init__(self, settings: LoomaSettings | None = None) -> None:
        self.settings = settings or LoomaSettings()

    def blueprints(self) -> Sequence[Blueprint]:
        """The service's domain routes."""
        return ()

    def readiness_checks(self, app: LoomaApp) -> dict[str, ReadinessCheck]:
        """Checks beyond the stores' that must pass before /ready answers 200 (a model loaded...)."""
        return {}

    def jwks_source(self, app: LoomaApp) -> JwksSource | None:
        """Where this service's verifier fetches public keys: the auth service, or the gateway before it."""
        base = self.settings.auth_base_url
        return http_jwks(base) if base else None

    def openapi_handler(self) -> Any:
        """The handler of GET /openapi.json: this service's own specification (the gateway aggregates)."""
        return _openapi_json

    def create_app(self) -> LoomaApp:
        settings, spec = self.settings, self.spec
        ctx = self.context_type(settings=settings, spec=spec, metrics=ServiceMetrics(spec.name))
        app: LoomaApp = Sanic(f"looma-{spec.name}", ctx=ctx, error_handler=ProblemErrorHandler(),
                              request_class=LoomaRequest, log_config=log_config(spec.name, settings.log_level))
        app.config.update(
            REQUEST_MAX_SIZE=settings.max_body_bytes,
            REQUEST_TIMEOUT=settings.request_timeout,
            RESPONSE_TIMEOUT=settings.request_timeout,
            GRACEFUL_SHUTDOWN_TIMEOUT=settings.graceful_shutdown_timeout,
            FALLBACK_ERROR_FORMAT="json",
            OAS_UI_DEFAULT="swagger",
            API_TITLE=f"Looma {spec.title}",
            API_VERSION="0.1.0",
            CORS=False,
            # Behind the gateway, the client's address is the one the gateway vouches for (forwarding.py).
            PROXIES_COUNT=0,
            FORWARDED_SECRET=forwarding_secret(settings) if self.registers_with_gateway else None,
        )
        app.extend()
        install_observability(app)
        app.ctx.verifier = TokenVerifier(issuer=settings.auth_issuer, audience=settings.auth_audience,
                                         jwks=self.jwks_source(app), denylist=Denylist(lambda: app.ctx.store.cache),
                                         leeway=settings.token_leeway)
        app.on_request(enforce_declared_access, priority=50)
        secret, auth_base = settings.service_client_secret, settings.auth_base_url
        if secret is not None and auth_base:
            app.ctx.service_token = ServiceToken(auth_base, settings.service_client_id, secret.get_secret_value())
        app.ctx.extra_checks = lambda: self.readiness_checks(app)
        app.blueprint(health_blueprint(app.ctx.extra_checks))
        app.add_route(self.openapi_handler(), "/openapi.json", name="openapi_json")
        for blueprint in self.blueprints():
            app.blueprint(blueprint)
        app.before_server_start(_open_data, priority=1000)
        app.after_server_stop(_close_data, priority=0)
        if settings.gateway_url and self.registers_with_gateway:
            app.after_server_start(_start_registration)
            app.before_server_stop(_stop_registration, priority=1000)
        return app

    def run(self) -> None:
        """Serve on the fleet port in this process, with no worker manager."""
        self.create_app().run(host=self.settings.host, port=self.settings.port_for(self.spec.port),
                              single_process=True, access_log=False, motd=False)


@public
async def _openapi_json(request):  # type: ignore[no-untyped-def]
    return json(SpecificationBuilder().build(request.app).serialize())


async def _open_data(app: LoomaApp) -> None:
    app.ctx.data = UnifiedDataAccess.from_settings(app.ctx.settings)
    if app.ctx.verifier is not None:
        app.ctx.verifier.denylist.start()


async def _close_data(app: LoomaApp) -> None:
    if app.ctx.verifier is not None:
        await app.ctx.verifier.denylist.stop()
    if app.ctx.data is not None:
        await app.ctx.data.close()


async def _start_registration(app: LoomaApp) -> None:
    settings, spec = app.ctx.settings, app.ctx.spec
    assert settings.gateway_url is not None
    app.ctx.registration = GatewayRegistration(
        gateway_url=settings.gateway_url,
        service=spec.name,
        url=settings.instance_url(spec.port),
        prefixes=spec.prefixes,
        interval=settings.heartbeat_interval,
        ttl=settings.heartbeat_ttl,
        is_ready=lambda: _is_ready(app),
        token=app.ctx.service_token,
    )
    app.add_task(app.ctx.registration.run(), name="gateway-registration")


async def _is_ready(app: LoomaApp) -> bool:
    """What heartbeats report. Checks that only time out mean a saturated event loop, not a broken
    dependency: the last report stands, so a busy instance is not taken out of rotation for being busy."""
    ready, checks = await readiness(app.ctx.store, app.ctx.extra_checks())
    registration = app.ctx.registration
    if not ready and only_slow(checks) and registration is not None:
        return registration.last_ready
    return ready


async def _stop_registration(app: LoomaApp) -> None:
    if app.ctx.registration is None:
        return
    task = app.get_task("gateway-registration", raise_exception=False)
    if task is not None:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
    await app.ctx.registration.deregister()
