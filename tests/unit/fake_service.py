"""A test-only service: BaseAIService with a few routes that exercise what the base provides.

`python -m tests.unit.fake_service` serves it as a real process, reading LOOMA_* settings
from the environment like any fleet service; its port is PROBE.port + LOOMA_PORT_OFFSET.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field
from sanic import Blueprint, HTTPResponse, Request
from sanic.response import json

from shared.fleet import ServiceSpec
from shared.service import BaseAIService, LoomaApp, parse_body
from shared.service.auth import public
from shared.service.health import ReadinessCheck

# Low enough that any free port is within the port_offset range LoomaSettings allows.
PROBE = ServiceSpec("probe", "Probe service", 20000, "tests.unit.fake_service", ("/api/v1/probes",))


class SalaryRange(BaseModel):
    min: int
    max: int


class ProbeIn(BaseModel):
    name: str = Field(min_length=1)
    tags: list[str] = Field(default_factory=list)
    salary: SalaryRange


class ProbeService(BaseAIService):
    spec = PROBE
    registers_with_gateway = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.model_loaded = True  # tests flip it to make the extra readiness check fail
        self.model_hangs = False  # ... or never answer

    def blueprints(self) -> Sequence[Blueprint]:
        bp = Blueprint("probes", url_prefix="/api/v1")

        @bp.post("/probes")
        @public
        async def create_probe(request: Request) -> HTTPResponse:
            probe = parse_body(request, ProbeIn)
            return json(probe.model_dump(), status=201)

        @bp.get("/probes/<probe_id:str>")
        @public
        async def get_probe(request: Request, probe_id: str) -> HTTPResponse:
            return json({"id": probe_id})

        @bp.get("/boom")
        @public
        async def boom(request: Request) -> HTTPResponse:
            raise RuntimeError("secret internal detail")

        @bp.get("/slow")
        @public
        async def slow(request: Request) -> HTTPResponse:
            seconds = float(request.args.get("seconds", "1"))
            await asyncio.sleep(seconds)
            return json({"slept": seconds})

        return (bp,)

    def readiness_checks(self, app: LoomaApp) -> dict[str, ReadinessCheck]:
        async def model() -> dict[str, Any]:
            if self.model_hangs:
                await asyncio.sleep(3600)
            if not self.model_loaded:
                raise RuntimeError("probe model not loaded")
            return {"name": "probe-model"}

        return {"model": model}


if __name__ == "__main__":
    ProbeService().run()
