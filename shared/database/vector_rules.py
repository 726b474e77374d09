"""The rules every VectorStore applies the same way: collection names, records, filters, search arguments.

Both stores (`vectors_relational`, `vectors_weaviate`) check their input here before anything is
written or sent, so they refuse the same input with the same messages, and a collection that one
accepts works on the other.

Filters: `{field: value}` keeps records whose metadata value equals it, `{field: [values]}` those
whose value is one of them; when the stored value is a list, any of its elements counts. Values
compare as JSON, with 5 and 5.0 equal but 1 and true not. Only the collection's filterable fields
may be named.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.database.vectors import CollectionSpec, Filters, VectorInputError, VectorRecord, normalised
from shared.utils.text import utf8_encodable

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "COLLECTION_NAME",
    "FIELD_NAME",
    "MAX_DIM",
    "MAX_ID_LENGTH",
    "MAX_ORG_ID_LENGTH",
    "MAX_TOP_K",
    "CheckedRecord",
    "checked_filters",
    "checked_key",
    "checked_records",
    "checked_search",
    "checked_spec",
    "record_terms",
    "term",
]

COLLECTION_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
MAX_DIM = 65_535  # Weaviate's limit, so that a collection works on both stores
MAX_ID_LENGTH = 128
MAX_ORG_ID_LENGTH = 64
MAX_TOP_K = 10_000  # Weaviate's default QUERY_MAXIMUM_RESULTS


@dataclass(frozen=True)
class CheckedRecord:
    id: str
    org_id: str
    vector: np.ndarray  # float32, unit length
    metadata: dict[str, Any]  # as it comes back from JSON
    version: int


def checked_spec(spec: CollectionSpec) -> CollectionSpec:
    if not isinstance(spec.name, str) or not COLLECTION_NAME.fullmatch(spec.name):
        raise VectorInputError(f"collection name {spec.name!r} must match {COLLECTION_NAME.pattern}")
    if isinstance(spec.dim, bool) or not isinstance(spec.dim, int) or not 1 <= spec.dim <= MAX_DIM:
        raise VectorInputError(f"collection dimension {spec.dim!r} must be an integer from 1 to {MAX_DIM}")
    fields = tuple(spec.filterable)
    for field in fields:
        if not isinstance(field, str) or not FIELD_NAME.fullmatch(field):
            raise VectorInputError(f"filterable field {field!r} must match {FIELD_NAME.pattern}")
    if len(set(fields)) != len(fields):
        raise VectorInputError(f"filterable fields {list(fields)} name a field twice")
    return CollectionSpec(spec.name, spec.dim, fields)


def checked_key(value: Any, what: str, limit: int) -> str:
    if not isinstance(value, str) or not value:
        raise VectorInputError(f"{what} must be a non-empty string, got {value!r}")
    if len(value) > limit:
        raise VectorInputError(f"{what} is {len(value)} characters long, at most {limit} allowed")
    if "\x00" in value or not utf8_encodable(value):
        raise VectorInputError(f"{what} {value!r} holds a NUL or an unpaired surrogate")
    return value


def checked_records(records: Sequence[VectorRecord], dim: int) -> list[CheckedRecord]:
    """Every record checked before anything is written; of two with one id, the later wins."""
    by_id: dict[str, CheckedRecord] = {}
    for position, record in enumerate(records):
        try:
            checked = CheckedRecord(
                id=checked_key(record.id, "id", MAX_ID_LENGTH),
                org_id=checked_key(record.org_id, "org_id", MAX_ORG_ID_LENGTH),
                vector=normalised(record.vector, dim),
                metadata=_json_metadata(record.metadata),
                version=_checked_version(record.version),
            )
        except VectorInputError as error:
            raise VectorInputError(f"record {position} (id {record.id!r}): {error}") from None
        by_id.pop(checked.id, None)
        by_id[checked.id] = checked
    return list(by_id.values())


def checked_filters(filters: Filters | None, filterable: Sequence[str]) -> dict[str, frozenset[str]]:
    """Field to the terms that match it (see `term`); refuses fields the collection does not filter on."""
    wanted: dict[str, frozenset[str]] = {}
    for field, value in (filters or {}).items():
        if field not in filterable:
            allowed = ", ".join(repr(name) for name in filterable) or "none"
            raise VectorInputError(f"cannot filter on {field!r}: the filterable fields are {allowed}")
        values = value if isinstance(value, (list, tuple, set, frozenset)) else [value]
        try:
            wanted[field] = frozenset(term(one) for one in values)
        except VectorInputError as error:
            raise VectorInputError(f"filter on {field!r}: {error}") from None
    return wanted


def checked_search(top_k: Any, min_score: Any) -> None:
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
        raise VectorInputError(f"top_k {top_k!r} must be an integer from 1 to {MAX_TOP_K}")
    if min_score is not None and (isinstance(min_score, bool) or not isinstance(min_score, (int, float))
                                  or not math.isfinite(min_score)):
        raise VectorInputError(f"min_score {min_score!r} must be a finite number")


def term(value: Any) -> str:
    """A metadata value as the string filters compare: canonical JSON, integral floats as integers."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise VectorInputError(f"filter value {value!r} is not JSON: {error}") from None


def record_terms(value: Any) -> set[str]:
    """The terms under which a stored metadata value is found: its own, or each element's."""
    return {term(one) for one in value} if isinstance(value, list) else {term(value)}


def _json_metadata(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not all(isinstance(key, str) for key in value):
        raise VectorInputError("metadata must be a mapping with string keys")
    try:
        text = json.dumps(dict(value), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise VectorInputError(f"metadata is not JSON: {error}") from None
    if not utf8_encodable(text):
        raise VectorInputError("metadata holds an unpaired surrogate")
    return json.loads(text)


def _checked_version(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise VectorInputError(f"version {value!r} must be a non-negative 64-bit integer")
    return value
