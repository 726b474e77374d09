"""The Auth service as a BaseAIService. Its domain routes arrive with the issue that builds them."""

from __future__ import annotations

from shared.fleet import AUTH
from shared.service import BaseAIService


class AuthService(BaseAIService):
    spec = AUTH
