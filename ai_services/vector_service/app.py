"""The vector service (8210): embeddings, and semantic and hybrid search over the org's collections.

The service listens before its model has loaded: the model loads in a background task started
once the server is up, then the collections are ensured with the model's dimension. Until both
are done, /ready answers 503 (the `embedding_model` check) and so do the routes that need them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from sanic import Blueprint, Sanic
from sanic.config import Config

from ai_services.vector_service.api import vector_blueprint
from ai_services.vector_service.resume_chunks import resume_chunks_blueprint
from shared.catalog import VECTOR_COLLECTIONS
from shared.config import LoomaSettings
from shared.embeddings import Embedder, EmbeddingModel, EmbeddingProvider, EmbeddingSettings, VectorCache, open_provider
from shared.fleet import VECTOR
from shared.service import BaseAIService, ServiceContext
from shared.service.context import LoomaApp
from shared.service.health import ReadinessCheck

log = logging.getLogger("looma")
LOAD_TASK = "embedding-model-load"


@dataclass
class VectorContext(ServiceContext):
    provider: EmbeddingProvider | None = None
    model_ready: bool = False  # the model loaded and every collection ensured with its dimension
    load_error: str | None = None


VectorApp = Sanic[Config, VectorContext]


class VectorService(BaseAIService):
    spec = VECTOR
    context_type = VectorContext

    def __init__(self, settings: LoomaSettings | None = None, embeddings: EmbeddingSettings | None = None,
                 model: EmbeddingModel | None = None) -> None:
        """`model`, when given, replaces the one `embeddings` names (tests pass a small one)."""
        super().__init__(settings)
        self.embeddings = embeddings or EmbeddingSettings()
        self.model = model

    def blueprints(self) -> Sequence[Blueprint]:
        return (vector_blueprint(), resume_chunks_blueprint())

    def readiness_checks(self, app: LoomaApp) -> dict[str, ReadinessCheck]:
        async def embedding_model() -> dict[str, Any]:
            ctx: VectorContext = app.ctx  # type: ignore[assignment]
            if ctx.load_error is not None:
                raise RuntimeError(ctx.load_error)
            if not ctx.model_ready or ctx.provider is None:
                raise RuntimeError("the embedding model is still loading")
            return {"model": ctx.provider.model_id, "dim": ctx.provider.dim}

        return {"embedding_model": embedding_model}

    def open_provider(self, app: VectorApp) -> EmbeddingProvider:
        settings, cache = self.embeddings, app.ctx.store.cache
        if self.model is None:
            return open_provider(settings, store=cache)
        return Embedder(self.model, batch_size=settings.batch_size, max_pending=settings.max_pending,
                        cache=VectorCache(settings.cache_size, cache, settings.cache_ttl))

    def create_app(self) -> LoomaApp:
        app: VectorApp = super().create_app()  # type: ignore[assignment]

        @app.before_server_start
        async def open_embeddings(app: VectorApp) -> None:
            app.ctx.provider = self.open_provider(app)

        @app.after_server_start
        async def start_loading(app: VectorApp) -> None:
            app.add_task(load_model(app), name=LOAD_TASK)

        @app.before_server_stop
        async def stop_loading(app: VectorApp) -> None:
            task = app.get_task(LOAD_TASK, raise_exception=False)
            if task is not None and not task.done():
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
            app.ctx.model_ready = False
            if app.ctx.provider is not None:
                await app.ctx.provider.close()  # type: ignore[attr-defined]

        return app  # type: ignore[return-value]


async def load_model(app: VectorApp) -> None:
    """Load the model, then ensure every collection (and the full-text index hybrid search reads)."""
    ctx, provider = app.ctx, app.ctx.provider
    assert provider is not None
    try:
        await provider.load()
        data = ctx.store
        for collection in VECTOR_COLLECTIONS.values():
            await data.vectors.ensure_collection(collection.spec(provider.model_id, provider.dim))
            if collection.text_index is not None:
                await data.fulltext.ensure_index(collection.text_index)
    except Exception as error:  # reported by /ready and by every route that needs the model
        ctx.load_error = f"{type(error).__name__}: {error}"
        log.error("embedding model failed to load", exc_info=error)
        return
    ctx.model_ready = True
    log.info("embedding model loaded", extra={"model": provider.model_id, "dim": provider.dim})
