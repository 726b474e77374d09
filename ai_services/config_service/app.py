"""The config service (8213): versioned configuration per key and scope, and watches that apply it live."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sanic import Blueprint, Sanic
from sanic.config import Config

from ai_services.config_service.api import config_blueprint
from ai_services.config_service.watch import ChangeFeed
from shared.fleet import CONFIG
from shared.service import BaseAIService, ServiceContext
from shared.service.context import LoomaApp


@dataclass
class ConfigContext(ServiceContext):
    feed: ChangeFeed = field(default_factory=ChangeFeed)


ConfigApp = Sanic[Config, ConfigContext]


class ConfigService(BaseAIService):
    spec = CONFIG
    context_type = ConfigContext

    def blueprints(self) -> Sequence[Blueprint]:
        return (config_blueprint(),)

    def create_app(self) -> LoomaApp:
        app: ConfigApp = super().create_app()  # type: ignore[assignment]

        @app.after_server_start
        async def follow_changes(app: ConfigApp) -> None:
            app.ctx.feed.start(app.ctx.store.cache)

        @app.before_server_stop
        async def release_watchers(app: ConfigApp) -> None:
            await app.ctx.feed.stop()  # long polls answer now, so the graceful drain does not wait on them

        return app  # type: ignore[return-value]
