"""The Config service as a BaseAIService. Its domain routes arrive with the issue that builds them."""

from __future__ import annotations

from shared.fleet import CONFIG
from shared.service import BaseAIService


class ConfigService(BaseAIService):
    spec = CONFIG
