"""The Monitor service as a BaseAIService. Its domain routes arrive with the issue that builds them."""

from __future__ import annotations

from shared.fleet import MONITOR
from shared.service import BaseAIService


class MonitorService(BaseAIService):
    spec = MONITOR
