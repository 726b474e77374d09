"""The Looma CRM core (8888): talents, jobs, companies, projects, the pipeline, relationships."""

from __future__ import annotations

from collections.abc import Sequence

from sanic import Blueprint

from looma_crm.api import blueprints
from looma_crm.projections import INDEXES
from shared.fleet import CRM
from shared.service import BaseAIService, LoomaApp


class CrmService(BaseAIService):
    spec = CRM

    def blueprints(self) -> Sequence[Blueprint]:
        return blueprints()

    def create_app(self) -> LoomaApp:
        app = super().create_app()

        @app.before_server_start
        async def ensure_indexes(app: LoomaApp) -> None:
            for spec in INDEXES:
                await app.ctx.store.fulltext.ensure_index(spec)

        return app
