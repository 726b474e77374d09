"""Embedding settings, read from `LOOMA_EMBEDDING_*` environment variables, and the factory that
turns them into a provider. Nothing is opened here: the caller awaits `provider.load()`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.database.cache import Cache
from shared.embeddings.cache import VectorCache
from shared.embeddings.embedder import Embedder
from shared.embeddings.model import EmbeddingModel
from shared.embeddings.offline import OFFLINE_MODELS, open_offline_model


class EmbeddingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOOMA_EMBEDDING_", env_file=".env", extra="ignore")

    provider: Literal["offline", "sentence-transformers", "openai"] = "offline"
    # offline: multilingual-e5-small (default) or use-multilingual-v3;
    # sentence-transformers: a hub name or a local directory (required).
    model: str | None = None
    openai_base_url: str | None = None  # e.g. http://127.0.0.1:8000 ; /v1/embeddings is appended
    openai_api_key: SecretStr | None = None
    openai_model: str | None = None
    openai_timeout: float = Field(default=30.0, gt=0)
    openai_concurrency: int = Field(default=4, ge=1, le=64)  # batches in flight to the endpoint
    batch_size: int = Field(default=32, ge=1, le=2048)  # texts per model call
    cache_size: int = Field(default=10_000, ge=0)  # vectors kept in process; 0 turns the LRU off
    cache_ttl: float = Field(default=86_400.0, gt=0)  # seconds a vector stays in the fleet cache store
    max_pending: int = Field(default=1024, ge=1)  # uncached texts waiting; beyond: EmbeddingOverloaded

    @field_validator("model", "openai_base_url", "openai_api_key", "openai_model", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if value == "" else value  # env.example lists them blank

    @model_validator(mode="after")
    def _provider_complete(self) -> EmbeddingSettings:
        if self.provider == "offline" and self.model is not None and self.model not in OFFLINE_MODELS:
            raise ValueError(
                f"LOOMA_EMBEDDING_MODEL {self.model!r} is not an offline model: one of {sorted(OFFLINE_MODELS)}")
        if self.provider == "sentence-transformers" and not self.model:
            raise ValueError("LOOMA_EMBEDDING_MODEL (a model name or path) is required for sentence-transformers")
        if self.provider == "openai" and not (self.openai_base_url and self.openai_model):
            raise ValueError(
                "LOOMA_EMBEDDING_OPENAI_BASE_URL and LOOMA_EMBEDDING_OPENAI_MODEL are required for provider openai")
        return self


def open_model(settings: EmbeddingSettings) -> EmbeddingModel:
    if settings.provider == "sentence-transformers":
        from shared.embeddings.sentence_transformer import SentenceTransformerModel

        return SentenceTransformerModel(settings.model or "")
    if settings.provider == "openai":
        from shared.embeddings.openai_compatible import OpenAICompatibleModel

        return OpenAICompatibleModel(
            settings.openai_base_url or "",
            settings.openai_model or "",
            api_key=settings.openai_api_key,
            timeout=settings.openai_timeout,
            concurrency=settings.openai_concurrency,
        )
    return open_offline_model(settings.model)


def open_provider(settings: EmbeddingSettings, store: Cache | None = None) -> Embedder:
    """The configured provider, not yet loaded. `store`, when given, is the fleet cache shared by instances."""
    return Embedder(
        open_model(settings),
        batch_size=settings.batch_size,
        max_pending=settings.max_pending,
        cache=VectorCache(settings.cache_size, store, settings.cache_ttl),
    )
