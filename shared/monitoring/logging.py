"""JSON logs: one object a line, each carrying the service and, inside a request, its id."""

from __future__ import annotations

import contextvars
import logging
import sys
from typing import Any

from pythonjsonlogger.json import JsonFormatter

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("looma_request_id", default=None)

_LOGGERS = ("sanic.root", "sanic.error", "sanic.server", "sanic.access", "sanic.websockets", "looma")


class _FleetFields(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


def log_config(service: str, level: str = "INFO") -> dict[str, Any]:
    """A logging.dictConfig for Sanic's `log_config=`: every logger writes JSON to stderr."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"fleet": {"()": _FleetFields, "service": service}},
        "formatters": {
            "json": {
                "()": JsonFormatter,
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(request_id)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
                "datefmt": "%Y-%m-%dT%H:%M:%S%z",
            }
        },
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "stream": sys.stderr, "formatter": "json", "filters": ["fleet"]}
        },
        "loggers": {name: {"level": level, "handlers": ["stderr"], "propagate": False} for name in _LOGGERS},
    }
