"""The Resume service as a BaseAIService. Its domain routes arrive with the issue that builds them."""

from __future__ import annotations

from shared.fleet import RESUME
from shared.service import BaseAIService


class ResumeService(BaseAIService):
    spec = RESUME
