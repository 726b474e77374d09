"""Request and response bodies of the vector API, with the limits each field is held to."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, StringConstraints

MAX_TEXTS = 256  # texts per embed request
MAX_TEXT_CHARS = 8_000  # characters per text
MAX_TOP_K = 100
MAX_FILTERS = 16  # fields per filter object
MAX_FILTER_VALUES = 100  # values a field may be one of
MAX_METADATA_BYTES = 16_384  # one record's metadata, as JSON

Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS)]
Number = Annotated[float, Field(allow_inf_nan=False)]
Scalar = StrictStr | StrictBool | StrictInt | Annotated[StrictFloat, Field(allow_inf_nan=False)]
FilterValue = Scalar | Annotated[list[Scalar], Field(min_length=1, max_length=MAX_FILTER_VALUES)]
Filters = Annotated[dict[str, FilterValue], Field(max_length=MAX_FILTERS)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextOrVector(Strict):
    """Exactly one of `text` (embedded by the service) and `vector` (already embedded)."""

    text: Text | None = None
    vector: Annotated[list[Number], Field(min_length=1, max_length=65_535)] | None = None


class EmbedRequest(Strict):
    """POST /api/v1/vectors/embed."""

    texts: Annotated[list[Text], Field(min_length=1, max_length=MAX_TEXTS)]
    kind: Literal["query", "passage"] = "query"


class EmbedResponse(BaseModel):
    vectors: list[list[float]]
    model: str
    dim: int


class VectorWrite(TextOrVector):
    """PUT /api/v1/vectors/{collection}/{id}: text is embedded as a passage."""

    metadata: dict[str, Any] = Field(default_factory=dict)


class StoredVector(BaseModel):
    collection: str
    id: str
    model: str
    dim: int
    metadata: dict[str, Any]


class SearchRequest(TextOrVector):
    """POST /api/v1/vectors/search. In hybrid mode `text` is required: it is also the keyword query."""

    collection: StrictStr
    top_k: Annotated[StrictInt, Field(ge=1, le=MAX_TOP_K)] = 10
    filters: Filters = Field(default_factory=dict)
    min_score: Number | None = None
    mode: Literal["semantic", "hybrid"] = "semantic"
    fusion: Literal["rrf", "weighted"] | None = None  # hybrid only: rrf unless alpha is given
    alpha: Annotated[Number, Field(ge=0, le=1)] | None = None  # weighted fusion: the vector part's weight


class Part(BaseModel):
    rank: int
    score: float
    highlights: dict[str, list[str]] | None = None


class SearchHit(BaseModel):
    id: str
    score: float
    matched: list[Literal["vector", "text"]]
    metadata: dict[str, Any] | None
    model: str | None
    vector: Part | None = None
    text: Part | None = None


class SearchResponse(BaseModel):
    items: list[SearchHit]
    collection: str
    mode: str
    fusion: str | None
    model: str


MAX_RESUME_CHARS = 200_000  # a resume's text; far beyond any real one, well within the body limit
SectionName = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class SectionSpan(Strict):
    name: SectionName
    start: Annotated[StrictInt, Field(ge=0)]
    end: Annotated[StrictInt, Field(ge=0)]


class ResumeChunksWrite(Strict):
    """PUT /api/v1/vectors/resumes/{resume_id}/chunks: the resume's whole text, chunked and embedded."""

    talent_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    text: Annotated[str, StringConstraints(min_length=1, max_length=MAX_RESUME_CHARS)]
    language: Annotated[str, StringConstraints(min_length=2, max_length=16)] | None = None
    sections: Annotated[list[SectionSpan], Field(max_length=64)] = Field(default_factory=list)


class ChunkOut(BaseModel):
    id: str
    index: int
    start: int
    end: int
    section: str | None


class ResumeChunksWritten(BaseModel):
    resume_id: str
    talent_id: str
    model: str
    chunks: list[ChunkOut]
