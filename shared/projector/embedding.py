"""How the projector turns an event's text into vectors: by calling the vector service.

The CRM's talent and job events carry the text to embed, not a vector (the CRM holds no model).
The projector sends the texts of a batch to `POST /api/v1/vectors/embed` as passages, with its
service token, through the gateway, and writes the vectors into the collection of the model the
service answered with. A failure (the service down, still loading, overloaded) raises, and the
outbox retries the events with backoff: nothing is written without its vector.

`LocalPassages` embeds in this process instead, with an EmbeddingProvider: `looma reindex` uses it
to fill a new model's collections, and tests use it with a small model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import aiohttp

from shared.service.auth.service_token import ServiceToken

if TYPE_CHECKING:
    import numpy as np

    from shared.config import LoomaSettings
    from shared.embeddings import EmbeddingProvider

EMBED_PATH = "/api/v1/vectors/embed"
TEXTS_PER_CALL = 32  # a call stays well inside the gateway's per-try timeout on a busy machine (MAX_TEXTS is 256)
TEXT_CHARS = 8_000  # the vector service's MAX_TEXT_CHARS: a longer text is cut (the model reads far less)
TIMEOUT = 60.0  # seconds for one call: 256 long passages on a busy 2-core machine take several


class EmbeddingUnavailable(RuntimeError):
    """The texts could not be embedded now; the events are retried later."""


class PassageEmbedder(Protocol):
    async def embed_passages(self, texts: Sequence[str]) -> tuple[np.ndarray, str]:
        """Unit vectors, one row per text, and the id of the model that made them."""

    async def model_id(self) -> str: ...

    async def close(self) -> None: ...


def clipped(text: str) -> str:
    text = text.strip()[:TEXT_CHARS]
    return text or "-"  # the service refuses an empty text; an entity with no text still gets a vector


class VectorServicePassages:
    """PassageEmbedder over HTTP: the vector service, directly or through the gateway."""

    def __init__(self, base_url: str, token: ServiceToken | None, timeout: float = TIMEOUT) -> None:
        self._url = base_url.rstrip("/") + EMBED_PATH
        self._token = token
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._model: str | None = None

    async def embed_passages(self, texts: Sequence[str]) -> tuple[np.ndarray, str]:
        import numpy as np

        parts, model = [], None
        for start in range(0, len(texts), TEXTS_PER_CALL):
            vectors, model = await self._call([clipped(t) for t in texts[start:start + TEXTS_PER_CALL]])
            parts.append(vectors)
        if model is None:
            return np.zeros((0, 0), dtype=np.float32), await self.model_id()
        return np.concatenate(parts), model

    async def model_id(self) -> str:
        if self._model is None:
            await self._call(["-"])
        assert self._model is not None
        return self._model

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _call(self, texts: list[str]) -> tuple[np.ndarray, str]:
        import numpy as np

        for attempt in range(2):
            status, body = await self._post(texts)
            if status == 401 and self._token is not None and attempt == 0:
                self._token.invalidate()  # expired or the keys rotated: one fresh token, once
                continue
            break
        if status != 200 or not isinstance(body, dict):
            detail = body.get("detail") if isinstance(body, dict) else None
            raise EmbeddingUnavailable(f"{self._url} answered {status}: {detail or 'no detail'}")
        vectors = np.asarray(body["vectors"], dtype=np.float32)
        if vectors.shape != (len(texts), int(body["dim"])):
            raise EmbeddingUnavailable(f"{self._url} answered {vectors.shape[0]} vectors for {len(texts)} texts")
        self._model = str(body["model"])
        return vectors, self._model

    async def _post(self, texts: list[str]) -> tuple[int, object]:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout))
        headers = {}
        try:
            if self._token is not None:
                headers["Authorization"] = f"Bearer {await self._token.get()}"
            async with self._session.post(self._url, json={"texts": texts, "kind": "passage"},
                                          headers=headers) as response:
                return response.status, await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError, RuntimeError) as error:
            raise EmbeddingUnavailable(f"{self._url}: {str(error) or type(error).__name__}") from error


class LocalPassages:
    """PassageEmbedder in this process, over a loaded EmbeddingProvider."""

    def __init__(self, provider: EmbeddingProvider) -> None:
        self.provider = provider

    async def embed_passages(self, texts: Sequence[str]) -> tuple[np.ndarray, str]:
        vectors = await self.provider.embed([clipped(t) for t in texts], kind="passage")
        return vectors, self.provider.model_id

    async def model_id(self) -> str:
        return self.provider.model_id

    async def close(self) -> None:
        return None


def vector_service_passages(settings: LoomaSettings, token: ServiceToken | None) -> VectorServicePassages | None:
    """The vector service through the gateway, when this process knows the gateway and has a service
    token; None otherwise (events of the catalog's collections then wait for `looma reconcile`)."""
    if not settings.gateway_url:
        return None
    if token is None and settings.service_client_secret is not None and settings.auth_base_url:
        token = ServiceToken(settings.auth_base_url, settings.service_client_id,
                             settings.service_client_secret.get_secret_value())
    if token is None:
        return None
    return VectorServicePassages(settings.gateway_url, token)
