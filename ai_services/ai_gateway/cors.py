"""CORS for the browser frontends named in LOOMA_GATEWAY_CORS_ORIGINS.

The gateway answers preflights itself: the proxy route also takes OPTIONS and would otherwise send
them upstream. Every answer to an allowed origin carries the CORS headers, problem responses
included, so that a frontend can read a 401, a 404 or a 429 and its Retry-After.

Origins are matched exactly and echoed, never `*`: callers send Authorization. The API
authenticates with bearer tokens, not cookies, so Access-Control-Allow-Credentials is not sent.
"""

from __future__ import annotations

import re

from sanic import HTTPResponse, Request, Sanic
from sanic.response import empty

from shared.service import Problem

ALLOW_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
# Headers a frontend may send beyond the CORS-safelisted ones (lower case, as browsers list them).
ALLOW_HEADERS = frozenset({
    "accept", "accept-language", "content-language", "authorization", "content-type", "if-match",
    "if-none-match", "idempotency-key", "x-request-id", "x-looma-org", "x-looma-deadline-ms",
})
# Response headers a frontend may read beyond the safelisted ones.
EXPOSE_HEADERS = ("ETag", "Location", "Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset",
                  "X-Request-ID", "X-Response-Time")
MAX_AGE = 600  # seconds a browser may reuse a preflight's answer

_ORIGIN = re.compile(r"https?://[^/\s?#]+")


def install_cors(app: Sanic, origins: list[str]) -> None:
    """Allow the browser `origins` ("https://app.example.com") to call the API; none: no CORS at all."""
    if not origins:
        return
    allowed = frozenset(_checked(origin) for origin in origins)

    async def answer_preflight(request: Request) -> HTTPResponse | None:
        if not _is_preflight(request):
            return None
        origin = request.headers["origin"]
        if origin not in allowed:
            raise Problem(403, f"the origin {origin} may not call this API from a browser", slug="origin-not-allowed",
                          origin=origin)
        requested = {h.strip().lower() for h in request.headers.get("access-control-request-headers", "").split(",")}
        headers = {
            "Access-Control-Allow-Methods": ", ".join(ALLOW_METHODS),
            "Access-Control-Max-Age": str(MAX_AGE),
        }
        if granted := sorted(requested & ALLOW_HEADERS):
            headers["Access-Control-Allow-Headers"] = ", ".join(granted)
        return empty(status=204, headers=headers)

    async def add_cors_headers(request: Request, response: HTTPResponse) -> None:
        _vary_on_origin(response)  # with or without a match: a cache must not hand one origin's answer to another
        origin = request.headers.get("origin")
        if origin not in allowed:
            return
        response.headers["Access-Control-Allow-Origin"] = origin
        if not _is_preflight(request):
            response.headers["Access-Control-Expose-Headers"] = ", ".join(EXPOSE_HEADERS)

    # After the request id is set (100), before access checks (50): a preflight carries no token.
    app.on_request(answer_preflight, priority=90)
    app.on_response(add_cors_headers, priority=90)


def _checked(origin: str) -> str:
    if not _ORIGIN.fullmatch(origin):
        raise ValueError(f"CORS origin {origin!r} must be scheme://host[:port], with no path and no wildcard")
    return origin.lower()


def _is_preflight(request: Request) -> bool:
    return (request.method == "OPTIONS" and "origin" in request.headers
            and "access-control-request-method" in request.headers)


def _vary_on_origin(response: HTTPResponse) -> None:
    """Add Origin to Vary, keeping what is there (a proxied answer's Vary: Accept-Encoding)."""
    present = [v.strip() for value in response.headers.getall("vary", []) for v in value.split(",") if v.strip()]
    if any(v == "*" or v.lower() == "origin" for v in present):
        return
    response.headers["Vary"] = ", ".join([*present, "Origin"])
