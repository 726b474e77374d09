"""The vector service's client, for the services that call it: search, through the gateway.

The CRM's talent search (`mode=semantic|hybrid`) uses it with the caller's own credentials, so
the vector service applies the caller's org and permissions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

SEARCH_PATH = "/api/v1/vectors/search"
TIMEOUT = 10.0


@dataclass(frozen=True)
class Hit:
    id: str
    score: float
    matched: tuple[str, ...]  # "vector", "text" or both
    metadata: Mapping[str, Any] | None


@dataclass(frozen=True)
class Refused(Exception):
    """The service answered, but not with hits: its status and detail."""

    status: int
    detail: str | None


class VectorUnreachable(RuntimeError):
    pass


class VectorClient:
    def __init__(self, base_url: str, timeout: float = TIMEOUT) -> None:
        self._url = base_url.rstrip("/") + SEARCH_PATH
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def search(self, headers: Mapping[str, str], collection: str, text: str, *, mode: str = "semantic",
                     top_k: int = 10, filters: Mapping[str, Any] | None = None) -> list[Hit]:
        """Hits best first; `headers` carry the caller's identity (Authorization, X-Looma-Org)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout))
        body = {"collection": collection, "text": text, "top_k": top_k, "mode": mode, "filters": dict(filters or {})}
        try:
            async with self._session.post(self._url, json=body, headers=dict(headers)) as response:
                status, answer = response.status, await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as error:
            raise VectorUnreachable(str(error) or type(error).__name__) from None
        if status != 200 or not isinstance(answer, dict):
            raise Refused(status, answer.get("detail") if isinstance(answer, dict) else None)
        return [Hit(str(item["id"]), float(item["score"]), tuple(item.get("matched", ())), item.get("metadata"))
                for item in answer["items"]]

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
