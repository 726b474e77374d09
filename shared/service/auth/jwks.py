"""Where a verifier gets the fleet's public keys: the auth service's JWKS, over HTTP."""

from __future__ import annotations

from typing import Any

import aiohttp

from shared.service.auth.verifier import JwksSource

JWKS_PATH = "/.well-known/jwks.json"


def http_jwks(base_url: str, timeout: float = 3.0) -> JwksSource:
    """Fetch `{base_url}/.well-known/jwks.json` (the auth service, or the gateway in front of it)."""
    url = base_url.rstrip("/") + JWKS_PATH

    async def fetch() -> dict[str, Any]:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
            async with session.get(url) as response:
                if response.status != 200:
                    raise RuntimeError(f"{url} answered {response.status}")
                document = await response.json(content_type=None)
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise RuntimeError(f"{url} did not answer a JWKS document")
        return document

    return fetch
