"""The Looma CRM core (8888): talents, jobs, companies, projects, the pipeline, relationships."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sanic import Blueprint

from looma_crm.api import blueprints
from looma_crm.semantic import VectorSearch
from shared.catalog import INDEXES
from shared.fleet import CRM
from shared.service import BaseAIService, LoomaApp, ServiceContext


@dataclass
class CrmContext(ServiceContext):
    vector_search: VectorSearch | None = None  # semantic and hybrid talent search


class CrmService(BaseAIService):
    spec = CRM
    context_type = CrmContext

    def blueprints(self) -> Sequence[Blueprint]:
        return blueprints()

    def create_app(self) -> LoomaApp:
        app = super().create_app()

        @app.before_server_start
        async def ensure_indexes(app: LoomaApp) -> None:
            for spec in INDEXES:
                await app.ctx.store.fulltext.ensure_index(spec)
            app.ctx.vector_search = VectorSearch(app.ctx.settings.gateway_url)

        @app.after_server_stop
        async def close_vector_search(app: LoomaApp) -> None:
            if app.ctx.vector_search is not None:
                await app.ctx.vector_search.close()

        return app
