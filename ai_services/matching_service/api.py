"""The matching service's HTTP surface. Handlers parse, fetch the records the caller names from the
CRM (for the caller's org), call service.py, and map its errors to problem+json."""

from __future__ import annotations

from typing import Any

from sanic import Blueprint, HTTPResponse, Request
from sanic.response import json
from sanic_ext import openapi

from ai_services.matching_service.models import ScoreRequest, ScoreResponse
from ai_services.matching_service.scoring import InvalidWeights
from ai_services.matching_service.service import InvalidRecord, score_pair, weights_for
from looma_crm.client import CrmRefused, CrmUnavailable
from shared.config import MATCHING_WEIGHTS
from shared.service import Problem, parse_body
from shared.service.auth import requires
from shared.service.auth.permissions import MATCH_RUN
from shared.service.tenancy import org_of


def invalid(loc: str, detail: str) -> Problem:
    return Problem(422, detail, slug="validation-failed", errors=[{"loc": loc, "msg": detail}])


def one_of(body: ScoreRequest, name: str) -> None:
    """Exactly one of `{name}_id` and `{name}`."""
    by_id, inline = getattr(body, f"{name}_id") is not None, getattr(body, name) is not None
    if by_id == inline:
        msg = f"{name}_id or {name} is required" if not by_id else f"send {name}_id or {name}, not both"
        raise Problem(422, msg, slug="validation-failed",
                      errors=[{"loc": f"body.{name}_id", "msg": msg}, {"loc": f"body.{name}", "msg": msg}])


async def record(request: Request, kind: str, record_id: str | None, inline: dict[str, Any] | None) -> dict[str, Any]:
    """The inline record, or the one the CRM holds under `record_id` in the caller's org (404 when none)."""
    if inline is not None:
        return inline
    assert record_id is not None
    crm = request.app.ctx.crm
    try:
        found = await getattr(crm, kind)(org_of(request), record_id)
    except CrmUnavailable as error:
        raise Problem(503, f"the CRM could not answer for {kind} {record_id!r}: {error}",
                      slug="crm-unavailable") from None
    except CrmRefused as error:
        raise Problem(502, f"the CRM refused to answer for {kind} {record_id!r}: {error}", slug="crm-failed") from None
    if found is None:
        raise Problem(404, f"no {kind} {record_id!r}", slug=f"{kind}-not-found")
    return found  # type: ignore[no-any-return]


def matching_blueprint() -> Blueprint:
    bp = Blueprint("matching", url_prefix="/api/v1/matching")

    @bp.post("/score")
    @requires(MATCH_RUN)
    @openapi.body({"application/json": ScoreRequest})
    @openapi.response(200, {"application/json": ScoreResponse})
    @openapi.summary("Score one talent against one job, by id or inline, with the dimensions explained")
    async def score_one(request: Request) -> HTTPResponse:
        body = parse_body(request, ScoreRequest)
        one_of(body, "talent")
        one_of(body, "job")
        talent = await record(request, "talent", body.talent_id, body.talent)
        job = await record(request, "job", body.job_id, body.job)
        config = request.app.ctx.config
        talent_vector, job_vector = await request.app.ctx.embeddings.pair(org_of(request), body.talent_id, body.job_id)
        try:
            resolved = weights_for(config.get(MATCHING_WEIGHTS), config.source(MATCHING_WEIGHTS), body.profile, job,
                                   body.weights)
            match = score_pair(talent, job, resolved.weights, body.explain, talent_vector, job_vector)
        except (InvalidWeights, InvalidRecord) as error:
            raise invalid(f"body.{error.field}", error.message) from None
        return json({**match, "weights": resolved.weights.as_dict(), "weights_from": resolved.layers})

    return bp
