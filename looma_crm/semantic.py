"""Talent search by meaning: the vector service ranks, the CRM filters and pages.

`GET /api/v1/talents?q=...&mode=semantic|hybrid` sends the query to the vector service (through
the gateway, with the caller's own token, so the service applies the caller's org and
permissions) and gets up to RANKED_MAX talent ids in rank order, each saying which part matched
(the vector, the keywords or both). The CRM then keeps those that pass the list's filters and
pages through them like a keyword search. The vector service being down is a 503 that says so;
keyword search (`mode=keyword`, the default) does not depend on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from shared.service.problems import Problem

SEARCH_PATH = "/api/v1/vectors/search"
RANKED_MAX = 100  # the vector service's top_k limit
TIMEOUT = 10.0
MODES = ("keyword", "semantic", "hybrid")


@dataclass(frozen=True)
class Ranked:
    id: str
    score: float
    matched: tuple[str, ...]


def search_mode(args: Mapping[str, Any]) -> str:
    mode = args.get("mode") or "keyword"
    if mode not in MODES:
        raise Problem(400, f"mode must be one of {', '.join(MODES)}, not {mode!r}", slug="invalid-parameter",
                      errors=[{"loc": "query.mode", "msg": " | ".join(MODES)}])
    return str(mode)


class VectorSearch:
    """The CRM's client of the vector service's search, one HTTP session per app."""

    def __init__(self, gateway_url: str | None, timeout: float = TIMEOUT) -> None:
        self._url = gateway_url.rstrip("/") + SEARCH_PATH if gateway_url else None
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def rank(self, headers: Mapping[str, str], query: str, mode: str,
                   narrowing: Mapping[str, Any]) -> list[Ranked]:
        """The talents the vector service finds for `query`, best first; `headers` carry the caller's identity."""
        if self._url is None:
            raise Problem(503, "semantic and hybrid search need the vector service, and this CRM has no gateway "
                               "URL to reach it (LOOMA_GATEWAY_URL); keyword search works without it",
                          slug="vector-search-unavailable")
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout))
        body = {"collection": "talents", "text": query, "top_k": RANKED_MAX, "mode": mode, "filters": dict(narrowing)}
        try:
            async with self._session.post(self._url, json=body, headers=dict(headers)) as response:
                status, answer = response.status, await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as error:
            raise Problem(503, f"the vector service could not be reached: {str(error) or type(error).__name__}",
                          slug="vector-search-unavailable", headers={"Retry-After": "5"}) from None
        if status != 200 or not isinstance(answer, dict):
            detail = answer.get("detail") if isinstance(answer, dict) else None
            if 400 <= status < 500 and status not in (401, 403, 429):
                raise Problem(400, f"the query was refused: {detail}", slug="invalid-query",
                              errors=[{"loc": "query.q", "msg": str(detail)}])
            if status in (401, 403):
                raise Problem(status, f"the vector service refused the caller: {detail}", slug="vector-search-denied")
            raise Problem(503, f"the vector service answered {status}: {detail}", slug="vector-search-unavailable",
                          headers={"Retry-After": "5"})
        return [Ranked(str(item["id"]), float(item["score"]), tuple(item.get("matched", ())))
                for item in answer["items"]]

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def forwarded_identity(headers: Mapping[str, str]) -> dict[str, str]:
    """The caller's credentials and acting org, as the vector service needs them."""
    return {name: value for name in ("Authorization", "X-Looma-Org") if (value := headers.get(name))}
