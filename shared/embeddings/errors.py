"""What can go wrong when embedding, each error naming the limit or dependency at fault."""

from __future__ import annotations


class EmbeddingError(Exception):
    """Base of the errors raised by an embedding provider."""


class EmbeddingNotLoaded(EmbeddingError):
    """`embed` was called before `await provider.load()` finished: a service answers 503."""

    def __init__(self, model_id: str) -> None:
        super().__init__(f"embedding model {model_id!r} is not loaded: await provider.load() first")
        self.model_id = model_id


class EmbeddingOverloaded(EmbeddingError):
    """More texts are waiting than the provider admits: a service answers 503 (or 429) with Retry-After."""

    def __init__(self, model_id: str, pending: int, requested: int, max_pending: int) -> None:
        super().__init__(
            f"embedding model {model_id!r} is overloaded: {pending} texts pending, {requested} more requested,"
            f" max_pending is {max_pending}"
        )
        self.model_id = model_id
        self.pending = pending
        self.requested = requested
        self.max_pending = max_pending


class EmbeddingEndpointError(EmbeddingError):
    """The remote embeddings endpoint failed or answered something that is not embeddings."""

    def __init__(self, url: str, detail: str, status: int | None = None) -> None:
        where = f"{url} answered {status}" if status is not None else url
        super().__init__(f"embeddings endpoint {where}: {detail}")
        self.url = url
        self.status = status
        self.detail = detail


class EmbeddingModelUnavailable(EmbeddingError):
    """The model's package is not installed or its files cannot be opened."""

    def __init__(self, model_id: str, detail: str) -> None:
        super().__init__(f"embedding model {model_id!r} cannot be loaded: {detail}")
        self.model_id = model_id
