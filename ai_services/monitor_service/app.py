"""The monitor service (8212): fleet health, alert rules, silences and webhook notifications."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass

from sanic import Blueprint, Sanic
from sanic.config import Config

from ai_services.monitor_service.api import monitor_blueprint
from ai_services.monitor_service.service import Monitor
from ai_services.monitor_service.settings import MonitorSettings
from shared.config import LoomaSettings
from shared.fleet import MONITOR
from shared.service import BaseAIService, ServiceContext

TASK = "monitor-evaluation"


@dataclass
class MonitorContext(ServiceContext):
    monitor: Monitor | None = None  # built in before_server_start, once the stores are open


MonitorApp = Sanic[Config, MonitorContext]


class MonitorService(BaseAIService):
    spec = MONITOR
    context_type = MonitorContext

    def __init__(self, settings: LoomaSettings | None = None, monitor: MonitorSettings | None = None) -> None:
        super().__init__(settings)
        self.monitor_settings = monitor or MonitorSettings()

    def blueprints(self) -> Sequence[Blueprint]:
        return (monitor_blueprint(),)

    def create_app(self) -> MonitorApp:
        app: MonitorApp = super().create_app()  # type: ignore[assignment]
        config = self.monitor_settings

        @app.before_server_start
        async def build_monitor(app: MonitorApp) -> None:
            app.ctx.monitor = Monitor(app.ctx.settings, config, app.ctx.service_token, lambda: app.ctx.store)

        @app.after_server_start
        async def start_evaluating(app: MonitorApp) -> None:
            if config.interval > 0:
                app.add_task(_evaluate_continuously, name=TASK)

        @app.before_server_stop
        async def stop_evaluating(app: MonitorApp) -> None:
            task = app.get_task(TASK, raise_exception=False)
            if task is not None:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
            if app.ctx.monitor is not None:
                await app.ctx.monitor.close()

        return app


async def _evaluate_continuously(app: MonitorApp) -> None:
    assert app.ctx.monitor is not None
    await app.ctx.monitor.run()
