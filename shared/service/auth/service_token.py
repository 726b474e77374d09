"""Service tokens: a service calls another with a token from the client-credentials grant."""

from __future__ import annotations

import asyncio
import time

import aiohttp

TOKEN_PATH = "/api/v1/auth/token"
RENEW_BEFORE = 60.0  # seconds before expiry at which a new token is fetched


class ServiceTokenError(RuntimeError):
    pass


class ServiceToken:
    """A cached access token for this service, renewed shortly before it expires."""

    def __init__(self, auth_url: str, client_id: str, client_secret: str, timeout: float = 3.0) -> None:
        self._url = auth_url.rstrip("/") + TOKEN_PATH
        self._client_id, self._client_secret = client_id, client_secret
        self._timeout = timeout
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        if self._token is not None and time.monotonic() < self._renew_at:
            return self._token
        async with self._lock:
            if self._token is None or time.monotonic() >= self._renew_at:
                await self._fetch()
        assert self._token is not None
        return self._token

    def invalidate(self) -> None:
        self._token = None

    async def _fetch(self) -> None:
        body = {"grant_type": "client_credentials", "client_id": self._client_id, "client_secret": self._client_secret}
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout)) as session:
            async with session.post(self._url, json=body) as response:
                payload = await response.json(content_type=None)
                if response.status != 200:
                    detail = payload.get("detail") if isinstance(payload, dict) else None
                    raise ServiceTokenError(f"{self._url} refused the service credentials: {response.status} {detail}")
        self._token = str(payload["access_token"])
        lifetime = float(payload.get("expires_in", 300))
        self._renew_at = time.monotonic() + max(1.0, lifetime - min(RENEW_BEFORE, lifetime / 2))
