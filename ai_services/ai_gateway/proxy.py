"""Sending one request upstream: choose an instance, try, maybe retry elsewhere, answer or stream.

aiohttp, not httpx, carries the proxy path: measured on this hardware it is an order of
magnitude faster as a high-rate client (see docs/benchmarks.md and DESIGN.md).

Each try has its own timeout to the response headers; the request as a whole has a deadline,
and what remains of it travels downstream in X-Looma-Deadline-Ms so that a service can give up
on work nobody will wait for. Answers with a Content-Length are read whole (and refused past
the size limit); SSE and chunked answers stream through as they come.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from sanic import HTTPResponse, Request
from sanic.compat import Header
from yarl import URL

from ai_services.ai_gateway.metrics import GatewayMetrics
from ai_services.ai_gateway.registry import Instance, Registry
from ai_services.ai_gateway.retries import RETRYABLE_STATUSES, RetryBudget, may_retry
from shared.config import LoomaSettings
from shared.service import Problem

DEADLINE_HEADER = "X-Looma-Deadline-Ms"
CONNECT_TIMEOUT = 3.0
STREAM_CHUNK = 64 * 1024

# Headers that describe one connection, not the message (RFC 9110 section 7.6.1), plus the ones
# the proxy recomputes itself.
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te",
    "trailer", "trailers", "transfer-encoding", "upgrade", "host", "content-length",
})


def upstream_session() -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=256, keepalive_timeout=60, ttl_dns_cache=300)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT),
        auto_decompress=False,
        skip_auto_headers=("User-Agent", "Accept-Encoding"),
    )


def end_to_end(headers: Header | CIMultiDictProxy[str] | CIMultiDict[str]) -> Iterator[tuple[str, str]]:
    """The headers meant for the far end: neither hop-by-hop ones nor those the Connection header names."""
    named = {token.strip().lower() for value in headers.getall("connection", []) for token in value.split(",")}
    for name, value in headers.items():
        if name.lower() not in HOP_BY_HOP and name.lower() not in named:
            yield name, value


@dataclass
class Outgoing:
    """A request as it will be sent upstream (to any instance)."""

    method: str
    path: str
    query: str
    headers: CIMultiDict[str]
    body: bytes | None


def outgoing(request: Request, secret: str | None) -> Outgoing:
    # A multidict, not a dict: a header sent twice (X-Forwarded-For, Cookie...) must arrive twice.
    headers = CIMultiDict(end_to_end(request.headers))
    headers.popall("Forwarded", None)  # only the gateway's own element may reach a service
    headers.popall(DEADLINE_HEADER, None)  # the gateway computes what remains
    if secret is not None:
        client = f"[{request.ip}]" if ":" in request.ip else request.ip
        headers["Forwarded"] = f'for="{client}";proto={request.scheme};secret="{secret}"'
    headers["X-Request-ID"] = str(request.id)
    forwarded_for = ", ".join(request.headers.getall("x-forwarded-for", []))
    client = request.ip or ""
    headers["X-Forwarded-For"] = f"{forwarded_for}, {client}" if forwarded_for else client
    headers["X-Forwarded-Proto"] = request.scheme
    headers["X-Forwarded-Host"] = request.host
    return Outgoing(request.method, request.path, request.query_string, headers, request.body or None)


def requested_deadline(request: Request, total: float) -> float:
    """The monotonic time by which the answer is due: the total timeout, or sooner if the caller says so."""
    asked = request.headers.get(DEADLINE_HEADER, "")
    seconds = total
    if asked.isdigit():
        seconds = min(total, int(asked) / 1000)
    return time.monotonic() + seconds


@dataclass
class Upstreams:
    """Everything a try needs: the registry to choose from, the pooled session, the budget, the metrics."""

    registry: Registry
    session: aiohttp.ClientSession
    metrics: GatewayMetrics
    budget: RetryBudget
    settings: LoomaSettings

    async def send(self, service: str, call: Outgoing, deadline: float,
                   stream_to: Request | None = None) -> HTTPResponse | None:
        """The upstream's answer; None when it was streamed to `stream_to` already."""
        retryable = may_retry(call.method, call.headers)
        self.budget.deposit()
        tried: list[str] = []
        last: _Retryable | None = None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Problem(504, f"{service} did not answer within the request's deadline", slug="upstream-timeout",
                              service=service)
            instance = self.registry.pick(service, exclude=tried)
            if instance is None and last is not None:  # nobody else to try: the last failure stands
                if last.answer is not None:
                    return last.answer
                raise last.problem from None  # type: ignore[misc]
            if instance is None:
                raise self._nobody(service)
            tried.append(instance.instance_id)
            try:
                return await self._try(instance, call, deadline, stream_to)
            except _Retryable as failure:
                last = failure
                more = retryable and len(tried) <= self.settings.gateway_retries
                if more and self.budget.withdraw():
                    self.metrics.retries.labels(service, failure.reason).inc()
                    continue
                if more:
                    self.metrics.retries_denied.labels(service).inc()
                if failure.answer is not None:
                    return failure.answer
                raise failure.problem from None

    def _nobody(self, service: str) -> Problem:
        if self.registry.has_instances(service):
            return Problem(503, f"every instance of {service} has its circuit open", slug="circuit-open",
                           headers={"Retry-After": str(int(self.settings.gateway_breaker_open_seconds))},
                           service=service)
        return Problem(503, f"no healthy instance of {service}", slug="service-unavailable",
                       headers={"Retry-After": "2"}, service=service)

    async def _try(self, instance: Instance, call: Outgoing, deadline: float,
                   stream_to: Request | None) -> HTTPResponse | None:
        ticket = instance.breaker.acquire()
        if ticket is None:  # taken by a concurrent probe between pick and here
            raise _Retryable("breaker", Problem(503, f"{instance.service} instance is not taking requests",
                                                slug="circuit-open", service=instance.service))
        service = instance.service
        remaining = deadline - time.monotonic()
        headers = CIMultiDict(call.headers)
        headers[DEADLINE_HEADER] = str(max(1, int(remaining * 1000)))
        url = URL(instance.url + call.path + (f"?{call.query}" if call.query else ""), encoded=True)
        started = time.monotonic()
        instance.in_flight += 1
        self.metrics.in_flight.labels(service).inc()
        upstream: aiohttp.ClientResponse | None = None
        try:
            try:
                # encoded=True: the path and query travel exactly as the client wrote them.
                upstream = await asyncio.wait_for(
                    self.session.request(call.method, url, headers=headers, data=call.body, allow_redirects=False),
                    timeout=min(self.settings.gateway_try_timeout, remaining))
            except (TimeoutError, asyncio.TimeoutError):
                self._outcome(instance, ticket, failure=True, outlier=False, started=None)
                raise _Retryable("timeout", Problem(504, f"{service} did not answer in time", slug="upstream-timeout",
                                                    service=service)) from None
            except aiohttp.ClientConnectionError as error:
                self._outcome(instance, ticket, failure=True, outlier=True, started=None)
                raise _Retryable("connect", Problem(
                    502, f"{service} instance {instance.instance_id} is unreachable: {type(error).__name__}",
                    slug="upstream-unreachable", service=service)) from None
            except aiohttp.ClientError as error:
                self._outcome(instance, ticket, failure=True, outlier=True, started=None)
                raise Problem(502, f"{service} answered something that is not HTTP: {type(error).__name__}",
                              slug="upstream-malformed", service=service) from None
            failed = upstream.status >= 500
            self._outcome(instance, ticket, failure=failed, outlier=failed, started=started)
            if upstream.status in RETRYABLE_STATUSES:
                answer = await self._buffered(upstream, instance, deadline)
                raise _Retryable("unavailable", None, answer)
            if stream_to is not None and _streams(upstream):
                await self._stream(upstream, instance, stream_to)
                return None
            return await self._buffered(upstream, instance, deadline)
        finally:
            instance.in_flight -= 1
            self.metrics.in_flight.labels(service).dec()
            if upstream is not None:
                upstream.release()

    def _outcome(self, instance: Instance, ticket: str, *, failure: bool, outlier: bool,
                 started: float | None) -> None:
        seconds = None if started is None else time.monotonic() - started
        if seconds is not None:
            self.metrics.upstream_latency.labels(instance.service).observe(seconds)
        instance.breaker.record(ticket, not failure)  # type: ignore[arg-type]
        self.registry.record(instance, failure=failure, outlier=outlier, seconds=seconds)

    async def _buffered(self, upstream: aiohttp.ClientResponse, instance: Instance, deadline: float) -> HTTPResponse:
        limit = self.settings.gateway_max_response_bytes
        if upstream.content_length is not None and upstream.content_length > limit:
            raise _too_large(instance, limit)
        try:
            body = await asyncio.wait_for(_read_at_most(upstream, limit), timeout=max(0.001, deadline - time.monotonic()))
        except (TimeoutError, asyncio.TimeoutError):
            raise Problem(504, f"{instance.service} did not finish its answer in time", slug="upstream-timeout",
                          service=instance.service) from None
        except aiohttp.ClientError as error:
            raise Problem(502, f"{instance.service} broke off its answer: {type(error).__name__}",
                          slug="upstream-malformed", service=instance.service) from None
        if body is None:
            raise _too_large(instance, limit)
        return HTTPResponse(body, status=upstream.status, headers=_answer_headers(upstream),
                            content_type=upstream.headers.get("content-type"))

    async def _stream(self, upstream: aiohttp.ClientResponse, instance: Instance, request: Request) -> None:
        request.ctx.streamed_status = upstream.status
        response = await request.respond(status=upstream.status, headers=_answer_headers(upstream),
                                         content_type=upstream.headers.get("content-type"))
        idle = self.settings.gateway_upstream_timeout
        try:
            while True:
                chunk = await asyncio.wait_for(upstream.content.readany(), timeout=idle)
                if not chunk:
                    break
                await response.send(chunk)
        except (TimeoutError, asyncio.TimeoutError, aiohttp.ClientError):
            pass  # the status is sent already: ending the stream early is all that is left to do
        await response.eof()


class _Retryable(Exception):
    """A try that failed in a way another instance might not: with the problem, or the answer, to give if not retried."""

    def __init__(self, reason: str, problem: Problem | None, answer: HTTPResponse | None = None) -> None:
        super().__init__(reason)
        self.reason, self.problem, self.answer = reason, problem, answer


def _streams(upstream: aiohttp.ClientResponse) -> bool:
    content_type = upstream.headers.get("content-type", "")
    return content_type.startswith("text/event-stream") or upstream.content_length is None and upstream.status != 204


async def _read_at_most(upstream: aiohttp.ClientResponse, limit: int) -> bytes | None:
    chunks, size = [], 0
    async for chunk in upstream.content.iter_chunked(STREAM_CHUNK):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _answer_headers(upstream: aiohttp.ClientResponse) -> Header:
    headers = Header()
    for name, value in end_to_end(upstream.headers):
        if name.lower() != "content-type":
            headers.add(name, value)
    return headers


def _too_large(instance: Instance, limit: int) -> Problem:
    return Problem(502, f"{instance.service} answered more than the gateway passes on ({limit} bytes)",
                   slug="upstream-response-too-large", service=instance.service)
