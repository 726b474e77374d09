"""The Matching service as a BaseAIService. Its domain routes arrive with the issue that builds them."""

from __future__ import annotations

from shared.fleet import MATCHING
from shared.service import BaseAIService


class MatchingService(BaseAIService):
    spec = MATCHING
