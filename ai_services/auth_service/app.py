"""The auth service (8211): accounts, tokens, keys. It verifies its own tokens from memory."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from sanic import Blueprint, Sanic
from sanic.config import Config

from ai_services.auth_service.api import account_blueprint, admin_blueprint, jwks_blueprint, users_blueprint
from ai_services.auth_service.bootstrap import bootstrap
from ai_services.auth_service.keys import KEYS_CHANNEL, KeyRing
from shared.fleet import AUTH
from shared.service import BaseAIService, ServiceContext
from shared.service.auth.verifier import JwksSource
from shared.service.context import LoomaApp
from shared.service.health import ReadinessCheck

log = logging.getLogger("looma.auth")


@dataclass
class AuthContext(ServiceContext):
    keys: KeyRing = field(default_factory=KeyRing)


AuthApp = Sanic[Config, AuthContext]


class AuthService(BaseAIService):
    spec = AUTH
    context_type = AuthContext

    def blueprints(self) -> Sequence[Blueprint]:
        return (account_blueprint(), users_blueprint(), admin_blueprint(), jwks_blueprint())

    def jwks_source(self, app: LoomaApp) -> JwksSource:
        ctx: AuthContext = app.ctx  # type: ignore[assignment]

        async def own_keys() -> dict[str, Any]:
            if ctx.keys.stale():
                await ctx.keys.load(ctx.store)
            return ctx.keys.jwks

        return own_keys

    def readiness_checks(self, app: LoomaApp) -> dict[str, ReadinessCheck]:
        ctx: AuthContext = app.ctx  # type: ignore[assignment]

        async def signing_key() -> dict[str, Any]:
            if ctx.keys.signer is None:
                raise RuntimeError("no signing key loaded yet")
            return {"kid": ctx.keys.signer.kid, "algorithm": ctx.keys.signer.algorithm}

        return {"signing_key": signing_key}

    def create_app(self) -> AuthApp:
        app: AuthApp = super().create_app()  # type: ignore[assignment]

        @app.before_server_start
        async def prepare_accounts(app: AuthApp) -> None:
            await bootstrap(app.ctx.store, app.ctx.settings)
            await app.ctx.keys.load(app.ctx.store)

        @app.after_server_start
        async def follow_rotations(app: AuthApp) -> None:
            app.add_task(_follow_key_rotations, name="auth-key-rotations")

        @app.before_server_stop
        async def stop_following(app: AuthApp) -> None:
            task = app.get_task("auth-key-rotations", raise_exception=False)
            if task is not None:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task

        return app


async def _follow_key_rotations(app: AuthApp) -> None:
    """Reload the key ring as soon as any process rotates the keys."""
    while True:
        try:
            subscription = await app.ctx.store.cache.subscribe(KEYS_CHANNEL)
            try:
                async for _ in subscription:
                    await app.ctx.keys.load(app.ctx.store)
                    app.ctx.verifier.forget_keys()
            finally:
                await subscription.close()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.warning("lost the key-rotation channel; retrying", extra={"error": str(error) or type(error).__name__})
            await asyncio.sleep(1.0)
