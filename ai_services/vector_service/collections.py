"""The collections the vector service keeps, and which of them a full-text index shadows.

`talents` and `jobs` filter on the same fields as the CRM's full-text indexes of the same name,
so one `filters` object narrows both halves of a hybrid search. `resume_chunks` has no full-text
index: it is searched by meaning only.
"""

from __future__ import annotations

from dataclasses import dataclass

from looma_crm.projections import JOB_INDEX, TALENT_INDEX
from shared.database.fulltext import IndexSpec
from shared.database.vectors import CollectionSpec

MODEL_FIELD = "embedding_model"  # metadata key holding the id of the model that made the vector


@dataclass(frozen=True)
class Collection:
    name: str
    filterable: tuple[str, ...]
    text_index: IndexSpec | None = None  # the full-text index hybrid search fuses with

    def spec(self, dim: int) -> CollectionSpec:
        return CollectionSpec(self.name, dim, (*self.filterable, MODEL_FIELD))


COLLECTIONS: dict[str, Collection] = {
    "talents": Collection("talents", TALENT_INDEX.filterable, TALENT_INDEX),
    "jobs": Collection("jobs", JOB_INDEX.filterable, JOB_INDEX),
    "resume_chunks": Collection("resume_chunks", ("talent_id", "resume_id", "section", "language")),
}
