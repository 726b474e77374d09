"""What a running service keeps on `app.ctx`, typed so handlers know what is there."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sanic import Sanic
from sanic.config import Config

from shared.config import LoomaSettings
from shared.database import UnifiedDataAccess
from shared.fleet import ServiceSpec
from shared.monitoring.metrics import ServiceMetrics

if TYPE_CHECKING:
    from shared.service.auth.service_token import ServiceToken
    from shared.service.auth.verifier import TokenVerifier
    from shared.service.health import ReadinessCheck
    from shared.service.registration import GatewayRegistration


@dataclass
class ServiceContext:
    """What every service keeps; a service with more subclasses it and names it in `context_type`."""

    settings: LoomaSettings
    spec: ServiceSpec
    metrics: ServiceMetrics
    started_at: float = field(default_factory=time.time)
    data: UnifiedDataAccess | None = None
    registration: GatewayRegistration | None = None
    verifier: TokenVerifier | None = None
    service_token: ServiceToken | None = None
    extra_checks: Callable[[], dict[str, ReadinessCheck]] = dict

    @property
    def store(self) -> UnifiedDataAccess:
        if self.data is None:
            raise RuntimeError("data access is opened in before_server_start; the server has not started")
        return self.data


LoomaApp = Sanic[Config, ServiceContext]
