"""The Chat service as a BaseAIService. Its domain routes arrive with the issue that builds them."""

from __future__ import annotations

from shared.fleet import CHAT
from shared.service import BaseAIService


class ChatService(BaseAIService):
    spec = CHAT
