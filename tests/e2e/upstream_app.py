"""A stand-in CRM instance for the gateway's fault tests, run as a real process.

    python -m tests.e2e.upstream_app --port 9001 --name a

`/health` and `/ready` always answer 200, so the gateway's active checks keep the instance in
rotation whatever it does to API calls; that way a test sees how the gateway reacts to what the
instance answers, not to it disappearing from the registry. Under `/api/v1/talents` it answers
`{"instance": name}` with a Content-Length, or, at `/api/v1/talents/stream`, two server-sent events
300 ms apart.

`POST /control` with `{"mode": ..., "delay_ms": ...}` changes how API calls are answered from then on:
- ok: normally, after `delay_ms`;
- fail500: a 500;
- hang: never (the connection stays open, silent);
- malformed: bytes that are not an HTTP response, then the connection is closed.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass
from typing import Literal, cast, get_args

from aiohttp import web

Mode = Literal["ok", "fail500", "hang", "malformed"]
MODES: tuple[str, ...] = get_args(Mode)
NOT_HTTP = b"\x00\x17 this is not an HTTP response \xff\r\n\r\n"
SECOND_EVENT_AFTER = 0.3  # seconds between the two events of the stream


@dataclass
class Behaviour:
    name: str
    mode: Mode = "ok"
    delay_ms: int = 0


BEHAVIOUR = web.AppKey("behaviour", Behaviour)


def behaviour_of(request: web.Request) -> Behaviour:
    return request.app[BEHAVIOUR]


async def misbehave(request: web.Request) -> None:
    """Act out the current mode before an API answer; returns only when the answer should be given."""
    behaviour = behaviour_of(request)
    if behaviour.delay_ms:
        await asyncio.sleep(behaviour.delay_ms / 1000)
    if behaviour.mode == "fail500":
        raise web.HTTPInternalServerError(text='{"error": "failing on purpose"}', content_type="application/json")
    if behaviour.mode == "hang":
        await asyncio.Event().wait()
    if behaviour.mode == "malformed":
        transport = request.transport
        assert transport is not None
        transport.write(NOT_HTTP)
        transport.close()
        raise asyncio.CancelledError  # nothing more may be written on this connection


async def talents(request: web.Request) -> web.StreamResponse:
    await misbehave(request)
    return web.json_response({"instance": behaviour_of(request).name})


async def talent_stream(request: web.Request) -> web.StreamResponse:
    await misbehave(request)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    await response.write(b"data: 1\n\n")
    await asyncio.sleep(SECOND_EVENT_AFTER)
    await response.write(b"data: 2\n\n")
    await response.write_eof()
    return response


async def alive(request: web.Request) -> web.StreamResponse:
    return web.json_response({"status": "ok", "instance": behaviour_of(request).name})


async def control(request: web.Request) -> web.StreamResponse:
    body = await request.json()
    behaviour = behaviour_of(request)
    mode = body.get("mode", behaviour.mode)
    if mode not in MODES:
        raise web.HTTPUnprocessableEntity(text=f"mode must be one of {', '.join(MODES)}")
    behaviour.mode = cast(Mode, mode)
    behaviour.delay_ms = int(body.get("delay_ms", behaviour.delay_ms))
    return web.json_response({"name": behaviour.name, "mode": behaviour.mode, "delay_ms": behaviour.delay_ms})


def create_app(name: str) -> web.Application:
    app = web.Application()
    app[BEHAVIOUR] = Behaviour(name)
    app.router.add_get("/health", alive)
    app.router.add_get("/ready", alive)
    app.router.add_post("/control", control)
    app.router.add_get("/api/v1/talents/stream", talent_stream)
    app.router.add_route("*", "/api/v1/talents", talents)
    app.router.add_route("*", "/api/v1/talents/{rest:.*}", talents)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--name", required=True)
    args = parser.parse_args()
    web.run_app(create_app(args.name), host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
