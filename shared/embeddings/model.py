"""The two interfaces of the package: a model that turns one batch of texts into vectors, and the
provider that services call, which adds loading, batching, caching and a bound on pending work.

Models are small adapters (offline.py, sentence_transformer.py, openai_compatible.py); everything
they share lives once in `Embedder` (embedder.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol, get_args, runtime_checkable

import numpy as np
import numpy.typing as npt

Kind = Literal["query", "passage"]
KINDS: tuple[str, ...] = get_args(Kind)
Vectors = npt.NDArray[np.float32]


@runtime_checkable
class EmbeddingModel(Protocol):
    """One model. `encode` gets at most one batch and may return unnormalised vectors.

    `dim` may be None until `load` has run (a remote model learns it from its first answer).
    `concurrency` is how many batches may be in flight at once: 1 for a model computing on this
    machine's CPU, more for a remote endpoint.
    """

    model_id: str
    dim: int | None
    concurrency: int

    async def load(self) -> None: ...

    async def encode(self, texts: list[str], kind: Kind) -> Vectors: ...

    async def close(self) -> None: ...


@runtime_checkable
class EmbeddingProvider(Protocol):
    """What services use: L2-normalised float32 vectors of shape (len(texts), dim).

    Queries and passages are embedded apart because some models (E5) are trained with a prefix
    for each; a search embeds its query with kind="query" and the documents with kind="passage".
    """

    @property
    def model_id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    @property
    def ready(self) -> bool: ...

    async def load(self) -> None: ...

    async def embed(self, texts: Sequence[str], kind: Kind = "passage") -> Vectors: ...

    async def close(self) -> None: ...
