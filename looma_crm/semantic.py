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
from typing import Any

from ai_services.vector_service.client import Hit, Refused, VectorClient, VectorUnreachable
from shared.service.problems import Problem

RANKED_MAX = 100  # the vector service's top_k limit
MODES = ("keyword", "semantic", "hybrid")


def search_mode(args: Mapping[str, Any]) -> str:
    mode = args.get("mode") or "keyword"
    if mode not in MODES:
        raise Problem(400, f"mode must be one of {', '.join(MODES)}, not {mode!r}", slug="invalid-parameter",
                      errors=[{"loc": "query.mode", "msg": " | ".join(MODES)}])
    return str(mode)


class VectorSearch:
    """The talents the vector service finds for a query, or the problem to answer instead."""

    def __init__(self, gateway_url: str | None) -> None:
        self._client = VectorClient(gateway_url) if gateway_url else None

    async def rank(self, headers: Mapping[str, str], query: str, mode: str,
                   narrowing: Mapping[str, Any]) -> list[Hit]:
        if self._client is None:
            raise Problem(503, "semantic and hybrid search need the vector service, and this CRM has no gateway "
                               "URL to reach it (LOOMA_GATEWAY_URL); keyword search works without it",
                          slug="vector-search-unavailable")
        try:
            return await self._client.search(headers, "talents", query, mode=mode, top_k=RANKED_MAX,
                                             filters=narrowing)
        except VectorUnreachable as error:
            raise Problem(503, f"the vector service could not be reached: {error}", slug="vector-search-unavailable",
                          headers={"Retry-After": "5"}) from None
        except Refused as refused:
            if refused.status in (401, 403):
                raise Problem(refused.status, f"the vector service refused the caller: {refused.detail}",
                              slug="vector-search-denied") from None
            if 400 <= refused.status < 500 and refused.status != 429:
                raise Problem(400, f"the query was refused: {refused.detail}", slug="invalid-query",
                              errors=[{"loc": "query.q", "msg": str(refused.detail)}]) from None
            raise Problem(503, f"the vector service answered {refused.status}: {refused.detail}",
                          slug="vector-search-unavailable", headers={"Retry-After": "5"}) from None

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()


def forwarded_identity(headers: Mapping[str, str]) -> dict[str, str]:
    """The caller's credentials and acting org, as the vector service needs them."""
    return {name: value for name in ("Authorization", "X-Looma-Org") if (value := headers.get(name))}
