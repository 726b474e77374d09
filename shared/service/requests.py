"""Reading request bodies: content type, UTF-8, JSON and the pydantic model, each a clear 4xx."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sanic import Request

from shared.service.problems import Problem, validation_problem

M = TypeVar("M", bound=BaseModel)


def json_body(request: Request) -> Any:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise Problem(415, f"expected Content-Type application/json, got {content_type or 'none'}",
                      slug="unsupported-media-type")
    if not request.body:
        raise Problem(400, "the request body is empty; expected a JSON document", slug="empty-body")
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Problem(400, f"the request body is not valid UTF-8 (byte {error.start})", slug="invalid-encoding") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise Problem(400, f"malformed JSON: {error.msg} at line {error.lineno} column {error.colno}",
                      slug="malformed-json") from None


def parse_body(request: Request, model: type[M]) -> M:
    """The request's JSON body as `model`; 415, 400 or 422 (with field paths) otherwise."""
    data = json_body(request)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise validation_problem(error) from None


def if_match(request: Request) -> int | None:
    """The version an If-Match header names (ETags are `"<version>"`); None when absent or `*`."""
    raw = request.headers.get("if-match")
    if raw is None or raw.strip() == "*":
        return None
    tag = raw.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise Problem(412, "If-Match must be an ETag this API handed out", slug="version-mismatch")
    return int(tag)
