"""Forwarding one request to one upstream instance over a shared aiohttp session.

aiohttp, not httpx, carries the proxy path: measured on this hardware it is an order of
magnitude faster as a high-rate client (see docs/benchmarks.md and DESIGN.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from sanic import HTTPResponse, Request
from sanic.compat import Header
from yarl import URL

from ai_services.ai_gateway.registry import Instance
from shared.service import Problem

# Headers that describe one connection, not the message (RFC 9110 section 7.6.1), plus the ones
# the proxy recomputes itself.
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te",
    "trailer", "trailers", "transfer-encoding", "upgrade", "host", "content-length",
})


def upstream_session(timeout: float) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=256, keepalive_timeout=60, ttl_dns_cache=300)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=timeout, sock_connect=min(timeout, 3.0)),
        auto_decompress=False,
        skip_auto_headers=("User-Agent", "Accept-Encoding"),
    )


def _end_to_end(headers: Header | CIMultiDictProxy[str]) -> Iterator[tuple[str, str]]:
    """The headers meant for the far end: neither hop-by-hop ones nor those the Connection header names."""
    named = {token.strip().lower() for value in headers.getall("connection", []) for token in value.split(",")}
    for name, value in headers.items():
        if name.lower() not in HOP_BY_HOP and name.lower() not in named:
            yield name, value


def _outgoing_headers(request: Request) -> CIMultiDict[str]:
    # A multidict, not a dict: a header sent twice (X-Forwarded-For, Cookie...) must arrive twice.
    headers = CIMultiDict(_end_to_end(request.headers))
    headers.popall("Forwarded", None)  # only the gateway's own element may reach a service
    secret = request.app.ctx.forwarding_secret
    if secret is not None:
        client = f"[{request.ip}]" if ":" in request.ip else request.ip
        headers["Forwarded"] = f'for="{client}";proto={request.scheme};secret="{secret}"'
    headers["X-Request-ID"] = str(request.id)
    forwarded_for = ", ".join(request.headers.getall("x-forwarded-for", []))
    client = request.ip or ""
    headers["X-Forwarded-For"] = f"{forwarded_for}, {client}" if forwarded_for else client
    headers["X-Forwarded-Proto"] = request.scheme
    headers["X-Forwarded-Host"] = request.host
    return headers


async def forward(session: aiohttp.ClientSession, instance: Instance, request: Request,
                  path: str | None = None) -> HTTPResponse:
    """Send `request` to `instance` (at `path` instead of the request's own, when given)."""
    url = instance.url + (path or request.path) + (f"?{request.query_string}" if request.query_string else "")
    instance.in_flight += 1
    try:
        # encoded=True: the path and query travel exactly as the client wrote them.
        async with session.request(request.method, URL(url, encoded=True), headers=_outgoing_headers(request),
                                   data=request.body or None, allow_redirects=False) as upstream:
            body = await upstream.read()
            headers = Header()
            for name, value in _end_to_end(upstream.headers):
                headers.add(name, value)
            return HTTPResponse(body, status=upstream.status, headers=headers,
                                content_type=upstream.headers.get("content-type"))
    except aiohttp.ClientConnectionError as error:
        raise Problem(502, f"{instance.service} instance {instance.instance_id} is unreachable: "
                           f"{type(error).__name__}", slug="upstream-unreachable", service=instance.service) from None
    except (TimeoutError, asyncio.TimeoutError):
        raise Problem(504, f"{instance.service} did not answer in time", slug="upstream-timeout",
                      service=instance.service) from None
    finally:
        instance.in_flight -= 1
