"""POST /api/v1/batch: several API calls in one round trip, each through the whole pipeline.

Every sub-request is routed, rate-limited and sent (with retries) like a request of its own, on
behalf of the batch's caller, concurrently up to a limit. Each keeps its own status: a 404 or a
429 in one does not fail the others. The batch itself answers 200 once its envelope is valid.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Literal

from multidict import CIMultiDict
from pydantic import BaseModel, Field, field_validator, model_validator
from sanic import HTTPResponse, Request
from sanic.response import json as json_response

from ai_services.ai_gateway.pipeline import Pipeline
from ai_services.ai_gateway.proxy import outgoing, requested_deadline
from shared.service import Problem
from shared.service.auth.principal import Principal

BATCH_PATH = "/api/v1/batch"
# A sub-request speaks for the batch's caller: it may not bring its own credentials or framing.
FORBIDDEN_HEADERS = frozenset({"authorization", "cookie", "host", "content-length", "transfer-encoding",
                               "connection", "forwarded", "x-forwarded-for", "x-looma-deadline-ms"})
# What of an answer's headers a batch caller needs.
KEPT_HEADERS = ("content-type", "etag", "location", "retry-after", "ratelimit-limit", "ratelimit-remaining",
                "ratelimit-reset", "x-request-id")


class SubRequest(BaseModel):
    id: str = Field(min_length=1, max_length=64)
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
    path: str = Field(min_length=8, max_length=2048)
    headers: dict[str, str] = Field(default_factory=dict, max_length=32)
    body: Any = None

    @field_validator("path")
    @classmethod
    def _api_path(cls, path: str) -> str:
        route = path.split("?", 1)[0]
        if not route.startswith("/api/v1/") or "/../" in route or route.endswith("/..") or "#" in path:
            raise ValueError("must be an API path under /api/v1/")
        if route == BATCH_PATH or route.startswith(BATCH_PATH + "/"):
            raise ValueError("a batch cannot contain a batch")
        return path

    @field_validator("headers")
    @classmethod
    def _own_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        for name, value in headers.items():
            if name.lower() in FORBIDDEN_HEADERS:
                raise ValueError(f"header {name!r} cannot be set per sub-request")
            if any(c in name + value for c in "\r\n\0"):
                raise ValueError(f"header {name!r} holds a control character")
        return headers


class BatchRequest(BaseModel):
    requests: list[SubRequest] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> BatchRequest:
        ids = [r.id for r in self.requests]
        if len(ids) != len(set(ids)):
            raise ValueError("sub-request ids must be unique")
        return self


async def run_batch(request: Request, pipeline: Pipeline, batch: BatchRequest, principal: Principal) -> HTTPResponse:
    settings = pipeline.settings
    if len(batch.requests) > settings.gateway_batch_max_requests:
        raise Problem(413, f"a batch holds at most {settings.gateway_batch_max_requests} requests, "
                           f"this one {len(batch.requests)}", slug="batch-too-large",
                      errors=[{"loc": "body.requests", "msg": "too many"}])
    deadline = requested_deadline(request, settings.gateway_upstream_timeout)
    slots = asyncio.Semaphore(settings.gateway_batch_concurrency)

    async def one(sub: SubRequest) -> dict[str, Any]:
        async with slots:
            try:
                response = await _run_one(request, pipeline, sub, principal, deadline)
            except Problem as problem:
                return {"id": sub.id, "status": problem.status_code, "headers": {"content-type": "application/problem+json"},
                        "body": {"type": f"urn:looma:problem:{problem.slug}", "title": problem.title,
                                 "status": problem.status_code, "detail": problem.detail, **problem.extra}}
            return {"id": sub.id, "status": response.status, "headers": _kept(response), "body": _decoded(response)}

    answers = await asyncio.gather(*(one(sub) for sub in batch.requests))
    return json_response({"responses": answers})


async def _run_one(request: Request, pipeline: Pipeline, sub: SubRequest, principal: Principal,
                   deadline: float) -> HTTPResponse:
    path, _, query = sub.path.partition("?")
    prefix, service = pipeline.route(path)
    call = outgoing(request, request.app.ctx.forwarding_secret)
    headers = CIMultiDict(call.headers)
    for name in ("content-type", "idempotency-key", "if-match", "if-none-match", "accept"):
        headers.popall(name, None)  # the batch's own framing is not the sub-request's
    for name, value in sub.headers.items():
        headers[name] = value
    headers["X-Request-ID"] = f"{request.id}.{sub.id}"
    body = None
    if sub.body is not None:
        body = json.dumps(sub.body, ensure_ascii=False).encode()
        headers.setdefault("Content-Type", "application/json")
    call.method, call.path, call.query, call.headers, call.body = sub.method, path, query, headers, body
    response = await pipeline.run(request, call, principal, prefix, service, deadline, stream=False)
    assert response is not None
    return response


def _kept(response: HTTPResponse) -> dict[str, str]:
    return {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers} | (
        {"content-type": response.content_type} if response.content_type else {})


def _decoded(response: HTTPResponse) -> Any:
    body = response.body or b""
    if not body:
        return None
    if "json" in (response.content_type or ""):
        try:
            return json.loads(body)
        except ValueError:
            pass
    return body.decode("utf-8", errors="replace")
