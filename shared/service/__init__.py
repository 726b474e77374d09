"""The service base every Looma service inherits, and the pieces it is composed of."""

from shared.service.base import BaseAIService
from shared.service.context import LoomaApp, ServiceContext
from shared.service.problems import Problem
from shared.service.requests import json_body, parse_body

__all__ = ["BaseAIService", "LoomaApp", "Problem", "ServiceContext", "json_body", "parse_body"]
