"""The Vector service as a BaseAIService. Its domain routes arrive with the issue that builds them."""

from __future__ import annotations

from shared.fleet import VECTOR
from shared.service import BaseAIService


class VectorService(BaseAIService):
    spec = VECTOR
