"""The searchable collections the fleet shares: the full-text indexes and the vector collections.

The CRM writes both through its outbox; the vector service searches them; the projector and
`looma reindex` fill the vector collections. Defining them once here keeps the filterable fields
of a full-text index and its vector twin the same, so one `filters` object narrows both halves of
a hybrid search.

A vector collection is stored once per embedding model, under a physical name that carries a hash
of the model id (`talents_3f9a2c1b7e`): vectors of two models are never compared, and while
`looma reindex` fills the collection of a new model, the running services keep searching the old
one. Every vector also records its model id in the metadata field `embedding_model`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from shared.database.fulltext import IndexSpec
from shared.database.vectors import CollectionSpec

TALENT_INDEX = IndexSpec(
    "talents",
    fields=("name", "title", "company", "summary", "skills", "experience", "education", "tags"),
    filterable=("city", "skills", "job_status", "tags", "source"),
)
JOB_INDEX = IndexSpec("jobs", fields=("title", "description", "skills", "locations"),
                      filterable=("status", "company_id", "skills"))
INDEXES = (TALENT_INDEX, JOB_INDEX)

MODEL_FIELD = "embedding_model"  # metadata key holding the id of the model that made the vector
MODEL_HASH_CHARS = 10


@dataclass(frozen=True)
class VectorCollection:
    name: str
    filterable: tuple[str, ...]
    text_index: IndexSpec | None = None  # the full-text index hybrid search fuses with

    def stored_as(self, model_id: str) -> str:
        """The physical collection holding this collection's vectors made by `model_id`."""
        digest = hashlib.sha256(model_id.encode()).hexdigest()[:MODEL_HASH_CHARS]
        return f"{self.name}_{digest}"

    def spec(self, model_id: str, dim: int) -> CollectionSpec:
        return CollectionSpec(self.stored_as(model_id), dim, (*self.filterable, MODEL_FIELD))


TALENTS = VectorCollection("talents", TALENT_INDEX.filterable, TALENT_INDEX)
JOBS = VectorCollection("jobs", JOB_INDEX.filterable, JOB_INDEX)
RESUME_CHUNKS = VectorCollection("resume_chunks", ("talent_id", "resume_id", "section", "language"))
VECTOR_COLLECTIONS: dict[str, VectorCollection] = {c.name: c for c in (TALENTS, JOBS, RESUME_CHUNKS)}

MAX_CHUNKS = 1_000  # chunks kept of one resume (about 200k characters of dense Chinese)


def chunk_id(document_id: str, index: int) -> str:
    """The vector id of a document's chunk: `{resume_id}#{index}`."""
    return f"{document_id}#{index}"


def document_of(vector_id: str) -> str:
    return vector_id.rsplit("#", 1)[0]
