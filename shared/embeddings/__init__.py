"""Embeddings: texts to L2-normalised float32 vectors, behind one provider protocol.

    from shared.embeddings import EmbeddingSettings, open_provider

    provider = open_provider(EmbeddingSettings())   # nothing loaded yet
    await provider.load()                           # in a worker thread; /ready waits on provider.ready
    queries = await provider.embed(["机器学习工程师"], kind="query")     # (1, provider.dim)
    passages = await provider.embed(["Machine learning engineer ..."], kind="passage")
    scores = passages @ queries[0]

Providers: an offline multilingual model shipped in a PyPI package (the default), any
sentence-transformers model, and an OpenAI-compatible endpoint; see docs/embeddings.md.
"""

from shared.embeddings.cache import VectorCache
from shared.embeddings.embedder import Embedder, normalise
from shared.embeddings.errors import (
    EmbeddingEndpointError,
    EmbeddingError,
    EmbeddingModelUnavailable,
    EmbeddingNotLoaded,
    EmbeddingOverloaded,
)
from shared.embeddings.model import KINDS, EmbeddingModel, EmbeddingProvider, Kind, Vectors
from shared.embeddings.settings import EmbeddingSettings, open_model, open_provider

__all__ = [
    "KINDS",
    "Embedder",
    "EmbeddingEndpointError",
    "EmbeddingError",
    "EmbeddingModel",
    "EmbeddingModelUnavailable",
    "EmbeddingNotLoaded",
    "EmbeddingOverloaded",
    "EmbeddingProvider",
    "EmbeddingSettings",
    "Kind",
    "VectorCache",
    "Vectors",
    "normalise",
    "open_model",
    "open_provider",
]
