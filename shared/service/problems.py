"""One error format for the whole fleet: RFC 9457 application/problem+json.

Every failure, whether raised by Sanic, by validation or by a bug, leaves through
ProblemErrorHandler. Clients never see a stack trace; a 500 carries the request id to quote.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from pydantic import ValidationError
from sanic import HTTPResponse, Request
from sanic.exceptions import RequestCancelled, SanicException
from sanic.handlers import ErrorHandler
from sanic.response import json as json_response

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("looma")


class Problem(SanicException):
    """A failure to report to the client, with a stable machine-readable `slug`."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail, status_code=status, headers=headers)
        self.slug = slug or _slug(status)
        self.title = title or HTTPStatus(status).phrase
        self.detail = detail
        self.extra = extra


def validation_problem(error: ValidationError, prefix: str = "body") -> Problem:
    errors = [{"loc": ".".join([prefix, *(str(p) for p in e["loc"])]), "msg": e["msg"]} for e in error.errors()]
    fields = ", ".join(e["loc"] for e in errors[:5])
    return Problem(422, f"invalid fields: {fields}", slug="validation-failed", errors=errors)


def problem_response(request: Request | None, status: int, title: str, detail: str, slug: str,
                     headers: dict[str, str] | None = None, **extra: Any) -> HTTPResponse:
    body: dict[str, Any] = {
        "type": f"urn:looma:problem:{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.path if request is not None else None,
        "request_id": str(request.id) if request is not None else None,
    }
    body.update(extra)
    return json_response(body, status=status, headers=headers, content_type=PROBLEM_JSON)


class ProblemErrorHandler(ErrorHandler):
    def default(self, request: Request, exception: Exception) -> HTTPResponse:
        if isinstance(exception, ValidationError):
            exception = validation_problem(exception)
        if isinstance(exception, Problem):
            return problem_response(request, exception.status_code, exception.title, exception.detail,
                                    exception.slug, exception.headers, **exception.extra)
        if isinstance(exception, SanicException) and exception.status_code < 500:
            status = exception.status_code
            detail = str(exception) or HTTPStatus(status).phrase
            return problem_response(request, status, HTTPStatus(status).phrase, _plain(detail), _slug(status),
                                    getattr(exception, "headers", None))
        if isinstance(exception, RequestCancelled):  # the client went away; nobody reads this answer
            log.info("client closed the request", extra={"request_id": str(request.id), "path": request.path})
            return problem_response(request, 499, "Client Closed Request", "the client went away", "client-closed")
        log.error("unhandled error", exc_info=exception, extra={"request_id": str(request.id), "path": request.path})
        return problem_response(request, 500, "Internal Server Error",
                                "The service failed to answer; quote the request id when reporting it.",
                                "internal-error")

    @staticmethod
    def log(request: Request, exception: Exception) -> None:
        """Logging happens in `default`, once, with the request id."""


def _slug(status: int) -> str:
    return HTTPStatus(status).phrase.lower().replace(" ", "-").replace("'", "")


def _plain(message: str) -> str:
    """Sanic's messages sometimes quote paths with repr-style escapes; keep them readable."""
    return message.strip()
