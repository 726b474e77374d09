"""The Looma CRM core as a BaseAIService. Its domain routes arrive with the issue that builds them."""

from __future__ import annotations

from shared.fleet import CRM
from shared.service import BaseAIService


class CrmService(BaseAIService):
    spec = CRM
