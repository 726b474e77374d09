"""The CRM's client, for the services that call it, through the gateway: `resolve`, `talent`, `job`.

The resume service uses it for every ingested resume. It acts with the fleet's service token
for the resume's org (X-Looma-Org), so that a batch or a resumed ingest needs no user's token. Every call carries an Idempotency-Key derived from the
resume id: a retry after a crash answers the talent the first call made, and never makes a second.
A field the CRM refuses (a malformed link, a date range in the wrong order) is dropped and the call
made again, so that a resume with one bad value still becomes a talent.

The matching service reads talents and jobs with `talent` and `job`, with the same token and org
header: a record the CRM does not find for that org (another org's included) reads as None.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

from shared.service.auth.service_token import ServiceToken, ServiceTokenError

RESOLVE_PATH = "/api/v1/talents/resolve"
TALENTS_PATH = "/api/v1/talents/"
JOBS_PATH = "/api/v1/jobs/"
ATTEMPTS = 4  # the first call, then up to three with refused fields dropped
TIMEOUT = 15.0


class CrmUnavailable(RuntimeError):
    """The CRM cannot be reached, or is busy: the same call may succeed later."""


class CrmRefused(RuntimeError):
    """The CRM refused the talent for good (a 4xx that dropping fields did not cure)."""


@dataclass(frozen=True)
class Resolved:
    talent_id: str
    created: bool
    matched_by: str | None
    dropped: list[str]  # fields the CRM refused and that were left out


def without(body: dict[str, Any], loc: str) -> bool:
    """Drop the field or list item `loc` (body.links.0, body.experience.2.end) names; whether one was."""
    path = [int(p) if p.isdigit() else p for p in loc.split(".")[1:]]
    if not path or path[0] == "name":
        return False
    if len(path) >= 2 and isinstance(path[1], int):  # a bad item of a list: that item goes
        items = body.get(str(path[0]))
        if isinstance(items, list) and path[1] < len(items):
            del items[path[1]]
            return True
        return False
    return body.pop(str(path[0]), None) is not None


class CrmClient:
    def __init__(self, gateway_url: str | None, token: ServiceToken | None, timeout: float = TIMEOUT) -> None:
        self._base = gateway_url.rstrip("/") if gateway_url else None
        self._token = token
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def resolve(self, org_id: str, body: dict[str, Any], key: str) -> Resolved:
        self._reachable("the resume service")
        body, dropped = dict(body), []
        for _ in range(ATTEMPTS):
            status, answer = await self._post(org_id, body, key)
            if status in (200, 201):
                return Resolved(answer["talent_id"], answer["created"], answer["matched_by"], dropped)
            if status == 422 and isinstance(answer, dict):
                locs = sorted({e.get("loc", "") for e in answer.get("errors", [])}, reverse=True)
                removed = [loc for loc in locs if without(body, loc)]  # items from the end, so indexes hold
                if removed:
                    dropped += removed
                    key = f"{key}:{len(dropped)}"  # another body: another idempotency slot
                    continue
            raise _failure(status, answer, transient=(401, 403, 408, 409, 429))
        raise CrmRefused(f"the CRM kept refusing the talent's fields: {', '.join(dropped)}")

    async def talent(self, org_id: str, talent_id: str) -> dict[str, Any] | None:
        """The org's talent as the CRM answers it, or None when the CRM finds none."""
        return await self._record(org_id, TALENTS_PATH, talent_id)

    async def job(self, org_id: str, job_id: str) -> dict[str, Any] | None:
        """The org's job as the CRM answers it, or None when the CRM finds none."""
        return await self._record(org_id, JOBS_PATH, job_id)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _reachable(self, who: str) -> None:
        if self._base is None or self._token is None:
            raise CrmUnavailable(f"{who} has no gateway URL or service credentials to reach the CRM")

    async def _record(self, org_id: str, path: str, record_id: str) -> dict[str, Any] | None:
        self._reachable("this service")
        assert self._base is not None
        status, answer = await self._send("GET", org_id, self._base + path + quote(record_id, safe=""))
        if status == 200 and isinstance(answer, dict):
            return answer
        if status == 404:
            return None
        raise _failure(status, answer, transient=(401, 403, 408, 429))

    async def _post(self, org_id: str, body: dict[str, Any], key: str) -> tuple[int, Any]:
        assert self._base is not None
        status, answer = await self._send("POST", org_id, self._base + RESOLVE_PATH, body=body,
                                          headers={"Idempotency-Key": key})
        if status == 409 and isinstance(answer, dict) and answer.get("type", "").endswith("idempotency-in-progress"):
            raise CrmUnavailable("the CRM is still processing this resume's talent; retry shortly")
        return status, answer

    async def _send(self, method: str, org_id: str, url: str, *, body: dict[str, Any] | None = None,
                    headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """One call with the service token for `org_id`; a 401 fetches a fresh token and tries once more."""
        assert self._token is not None
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout))
        for attempt in range(2):
            try:
                sent = {"Authorization": f"Bearer {await self._token.get()}", "X-Looma-Org": org_id, **(headers or {})}
                async with self._session.request(method, url, json=body, headers=sent) as response:
                    status, answer = response.status, await response.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError, OSError, ValueError, ServiceTokenError) as error:
                raise CrmUnavailable(f"the CRM could not be reached: {str(error) or type(error).__name__}") from None
            if status == 401 and attempt == 0:
                self._token.invalidate()
                continue
            return status, answer
        return status, answer


def _failure(status: int, answer: Any, transient: tuple[int, ...]) -> Exception:
    """CrmRefused for a 4xx that is the request's fault, CrmUnavailable for what may pass."""
    detail = answer.get("detail") if isinstance(answer, dict) else None
    if 400 <= status < 500 and status not in transient:
        return CrmRefused(f"the CRM answered {status}: {detail}")
    return CrmUnavailable(f"the CRM answered {status}: {detail}")
