"""The resume service (8207): parse resume files, and ingest them into the CRM (docs/resumes.md).

Once the server listens, a background sweep finishes what a crash or a CRM outage left half
done: resumes stored but not yet linked to their talent, and batches with files still spooled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sanic import Blueprint, Sanic
from sanic.config import Config

from ai_services.resume_service import batches
from ai_services.resume_service.api import resume_blueprint
from looma_crm.client import CrmClient
from ai_services.resume_service.ingest import finish_pending
from shared.fleet import RESUME
from shared.service import BaseAIService, ServiceContext

log = logging.getLogger("looma.resume")
SWEEP_INTERVAL = 30.0


@dataclass
class ResumeContext(ServiceContext):
    crm: CrmClient | None = None


ResumeApp = Sanic[Config, ResumeContext]


class ResumeService(BaseAIService):
    spec = RESUME
    context_type = ResumeContext

    def blueprints(self) -> Sequence[Blueprint]:
        return (resume_blueprint(),)

    def create_app(self):  # type: ignore[no-untyped-def]
        app: ResumeApp = super().create_app()  # type: ignore[assignment]

        @app.before_server_start
        async def open_crm(app: ResumeApp) -> None:
            app.ctx.crm = CrmClient(app.ctx.settings.gateway_url, app.ctx.service_token)

        @app.after_server_start
        async def start_sweep(app: ResumeApp) -> None:
            app.add_task(sweep(app), name="resume-sweep")

        @app.after_server_stop
        async def close_crm(app: ResumeApp) -> None:
            if app.ctx.crm is not None:
                await app.ctx.crm.close()

        return app


async def sweep(app: ResumeApp) -> None:
    """Finish stored resumes and unfinished batches now, then every SWEEP_INTERVAL seconds."""
    ctx = app.ctx
    assert ctx.crm is not None
    while True:
        try:
            for batch_id in await batches.unfinished(ctx.store):
                await batches.run(ctx.store, ctx.crm, ctx.settings.data_dir, batch_id)
            await finish_pending(ctx.store, ctx.crm)
        except Exception:  # noqa: BLE001 - the sweep must outlive a bad moment of a store
            log.exception("resume sweep failed; trying again later")
        await asyncio.sleep(SWEEP_INTERVAL)
