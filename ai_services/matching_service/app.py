"""The Matching service (8208): scores a talent against a job (docs/matching.md).

It reads talents and jobs from the CRM through `looma_crm.client`, and follows `matching/weights`
from the config service: a change applies to the next request, without a restart. Until the
config service answers, the last known good value is used, else the registered default.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sanic import Blueprint, Sanic
from sanic.config import Config

from ai_services.matching_service.api import matching_blueprint
from ai_services.matching_service.embeddings import StoredEmbeddings
from looma_crm.client import CrmClient
from shared.config import MATCHING_WEIGHTS, ConfigClient, LoomaSettings, MatchingWeights
from shared.fleet import MATCHING
from shared.projector.embedding import VectorServicePassages, vector_service_passages
from shared.service import BaseAIService, ServiceContext
from shared.service.context import LoomaApp

log = logging.getLogger("looma.matching")
CONFIG_FIRST_WAIT = 0.5  # seconds: the config service may start after this one


@dataclass
class MatchingContext(ServiceContext):
    crm: CrmClient | None = None
    config: ConfigClient | None = None  # matching/weights, read on every request
    embeddings: StoredEmbeddings | None = None  # the semantic dimension's vectors
    passages: VectorServicePassages | None = None  # asks the vector service which model it runs


MatchingApp = Sanic[Config, MatchingContext]


class MatchingService(BaseAIService):
    spec = MATCHING
    context_type = MatchingContext

    def __init__(self, settings: LoomaSettings | None = None, config: ConfigClient | None = None) -> None:
        """`config`, when given, is the client followed instead of one built from the settings."""
        super().__init__(settings)
        self.config = config

    def blueprints(self) -> Sequence[Blueprint]:
        return (matching_blueprint(),)

    def config_client(self, app: MatchingApp) -> ConfigClient:
        """Service-wide matching/weights through the gateway with the fleet's service token;
        offline (last known good, else the default) without one."""
        if self.config is not None:
            return self.config
        settings = self.settings
        if app.ctx.service_token is None:
            return ConfigClient(None, settings.data_dir / "config-cache", keys=(MATCHING_WEIGHTS,))
        return ConfigClient.from_settings(settings, token=app.ctx.service_token, keys=(MATCHING_WEIGHTS,))

    def create_app(self) -> LoomaApp:
        app: MatchingApp = super().create_app()  # type: ignore[assignment]

        @app.before_server_start
        async def open_clients(app: MatchingApp) -> None:
            app.ctx.crm = CrmClient(app.ctx.settings.gateway_url, app.ctx.service_token)
            app.ctx.passages = vector_service_passages(app.ctx.settings, app.ctx.service_token)
            app.ctx.embeddings = StoredEmbeddings(app.ctx.store.vectors,
                                                  app.ctx.passages.model_id if app.ctx.passages else None)
            app.ctx.config = self.config_client(app)
            app.ctx.config.on_change(MATCHING_WEIGHTS, weights_changed)

        @app.after_server_start
        async def follow_config(app: MatchingApp) -> None:
            assert app.ctx.config is not None
            await app.ctx.config.start(wait=CONFIG_FIRST_WAIT)

        @app.before_server_stop
        async def stop_config(app: MatchingApp) -> None:
            if app.ctx.config is not None:
                await app.ctx.config.stop()

        @app.after_server_stop
        async def close_crm(app: MatchingApp) -> None:
            if app.ctx.crm is not None:
                await app.ctx.crm.close()
            if app.ctx.passages is not None:
                await app.ctx.passages.close()

        return app  # type: ignore[return-value]


def weights_changed(weights: MatchingWeights) -> None:
    log.info("matching weights changed; the next request uses them", extra={"weights": weights.model_dump()})
