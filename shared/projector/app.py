"""The projector as a process: the delivery loop, plus /health, /ready and /metrics.

Under `looma up` it runs beside the services; /ready fails while the loop has not completed a
cycle within `STALE_AFTER` seconds, so an operator sees a stuck projector.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from sanic import Sanic
from sanic.config import Config

from shared.fleet import PROJECTOR
from shared.projector.embedding import VectorServicePassages, vector_service_passages
from shared.projector.metrics import ProjectorMetrics, backlog
from shared.projector.projections import all_projections
from shared.projector.projector import Projector
from shared.service import BaseAIService, ServiceContext
from shared.service.health import ReadinessCheck

log = logging.getLogger("looma.projector")

STALE_AFTER = 30.0
STOP_TIMEOUT = 30.0


@dataclass
class ProjectorContext(ServiceContext):
    projector: Projector | None = None
    embedder: VectorServicePassages | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    # Our own task, not Sanic's add_task: Sanic cancels its tasks at shutdown, and a batch
    # cut off mid-way would be redone; this one is asked to stop and allowed to finish.
    loop_task: asyncio.Task[None] | None = None


ProjectorApp = Sanic[Config, ProjectorContext]


class ProjectorService(BaseAIService):
    spec = PROJECTOR
    registers_with_gateway = False
    context_type = ProjectorContext

    def create_app(self) -> ProjectorApp:
        app: ProjectorApp = super().create_app()  # type: ignore[assignment]

        @app.after_server_start
        async def start_projector(app: ProjectorApp) -> None:
            metrics = ProjectorMetrics(app.ctx.metrics.registry)
            app.ctx.embedder = vector_service_passages(app.ctx.settings, app.ctx.service_token)
            if app.ctx.embedder is None:
                log.warning("talents and jobs are not embedded: the projector has no gateway URL or service "
                            "credentials to reach the vector service; run `looma reconcile` once it has")
            app.ctx.projector = Projector(app.ctx.store, all_projections(app.ctx.store, app.ctx.embedder), metrics)
            app.ctx.loop_task = asyncio.get_running_loop().create_task(app.ctx.projector.run(app.ctx.stop))

        @app.before_server_stop
        async def stop_projector(app: ProjectorApp) -> None:
            app.ctx.stop.set()
            if app.ctx.loop_task is not None:
                await asyncio.wait_for(app.ctx.loop_task, timeout=STOP_TIMEOUT)
            if app.ctx.embedder is not None:
                await app.ctx.embedder.close()

        return app

    def readiness_checks(self, app: ProjectorApp) -> dict[str, ReadinessCheck]:  # type: ignore[override]
        async def projector() -> dict[str, Any]:
            last = app.ctx.projector.last_cycle if app.ctx.projector else None
            if last is None or time.time() - last > STALE_AFTER:
                raise RuntimeError("the delivery loop has not completed a cycle recently")
            return await backlog(app.ctx.store.relational)

        return {"projector": projector}
