"""The full-text capability: keyword search with BM25 ranking, filters and highlights.

Chinese has no spaces, so text is analysed as Elasticsearch's `cjk` analyzer does: runs of CJK
characters become overlapping bigrams (a lone character stays a unigram), other text is split
into lower-cased words. A 2-character query such as 后端 therefore finds 资深后端工程师.
`analyse` is that analysis; the relational implementation and the tests share it.

The checks every implementation applies before writing or searching (`check_spec`,
`check_document`, `query_terms`, `query_filter_values`, `check_limit`) live here too, so that all
of them refuse the same input with the same message.

Implementations: `RelationalFullText` (the relational DB, analysed in application code, the
embedded default) and `ElasticFullText` (the async Elasticsearch client, `cjk` analyzer), both
passing tests/contract/test_fulltext_contract.py.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol, runtime_checkable

from shared.utils.text import utf8_encodable

MAX_DOCUMENT_CHARS = 200_000  # all text fields of one document together
MAX_QUERY_CHARS = 1_000
MAX_TERM_CHARS = 255  # longer words are cut into pieces of this length, as Elasticsearch's standard tokenizer does
MAX_SEARCH_LIMIT = 1_000
MAX_ID_CHARS = 128
MAX_ORG_ID_CHARS = 64
MAX_FILTER_VALUE_CHARS = 256

# A filter value is matched by equality, or by membership when it is a list.
Filters = Mapping[str, Any]

# Hiragana, katakana, CJK ideographs (with extensions A to H and the compatibility blocks) and hangul.
_CJK = (r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
        r"\U00020000-\U0002fa1f\U00030000-\U000323af")
_WORD = rf"[^\W_{_CJK}]+"
# A word may hold dots (Node.js, 3.5) and end in ++ or # (C++, C#); "Java+Spring" is two words.
_TOKEN = re.compile(rf"[{_CJK}]+|{_WORD}(?:\.{_WORD})*(?:\+\+|#)?", re.UNICODE)
_IS_CJK = re.compile(rf"[{_CJK}]")
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


class FullTextInputError(ValueError):
    """A document, query or filter the store refuses, with the reason."""


@dataclass(frozen=True)
class IndexSpec:
    name: str
    fields: tuple[str, ...]  # searchable text fields
    filterable: tuple[str, ...] = ()


@dataclass(frozen=True)
class Document:
    id: str
    org_id: str
    fields: Mapping[str, str]
    filters: Mapping[str, Any] = field(default_factory=dict)
    version: int = 0


@dataclass(frozen=True)
class TextHit:
    id: str
    score: float
    highlights: Mapping[str, list[str]]  # field to fragments, matches wrapped in <em>...</em>


@runtime_checkable
class FullTextStore(Protocol):
    backend: str

    async def ensure_index(self, spec: IndexSpec) -> None: ...

    async def index(self, index: str, documents: Sequence[Document]) -> None:
        """Insert or replace documents by id, all or none."""

    async def delete(self, index: str, org_id: str, ids: Sequence[str]) -> int: ...

    async def search(self, index: str, org_id: str, query: str, filters: Filters | None = None,
                     limit: int = 10, with_highlights: bool = True) -> list[TextHit]:
        """The org's documents matching `query`, best BM25 score first, with highlights.

        `with_highlights=False` leaves every hit's highlights empty: for callers that rank a wide
        window and highlight only the page they show, which is most of the cost saved.
        """

    async def versions(self, index: str, org_id: str | None = None) -> dict[str, int]:
        """Document id to version (in one org, or all when None): for reconcile."""

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


def analyse(text: str) -> list[str]:
    """Terms of `text`: CJK bigrams (or a lone unigram), lower-cased NFKC words otherwise."""
    # U+0130 (İ) is the one character whose lower case is two characters; Lucene lowers it to "i".
    normalised = unicodedata.normalize("NFKC", text).replace("\u0130", "i").lower()
    terms: list[str] = []
    for token in _TOKEN.findall(normalised):
        if _IS_CJK.match(token):
            terms.extend([token] if len(token) == 1 else [token[i:i + 2] for i in range(len(token) - 1)])
        elif len(token) <= MAX_TERM_CHARS:
            terms.append(token)
        else:
            terms.extend(token[i:i + MAX_TERM_CHARS] for i in range(0, len(token), MAX_TERM_CHARS))
    return terms


def is_cjk_term(term: str) -> bool:
    return bool(_IS_CJK.match(term))


def token_spans(text: str) -> list[tuple[str, int, int]]:
    """`analyse(text)` with each term's [start, end) in `text` itself: for highlighting.

    Characters are normalised one at a time so that offsets map back to the original text; the
    terms equal `analyse`'s except around combining characters, where NFKC composes across two.
    """
    normalised: list[str] = []
    origin: list[int] = []
    for position, char in enumerate(text):
        for piece in _normalise_char(char):
            normalised.append(piece)
            origin.append(position)
    origin.append(len(text))
    spans: list[tuple[str, int, int]] = []
    for match in _TOKEN.finditer("".join(normalised)):
        token, start = match.group(), match.start()
        if _IS_CJK.match(token):
            width = 1 if len(token) == 1 else 2
            for i in range(max(1, len(token) - 1)):
                spans.append((token[i:i + width], origin[start + i], origin[start + i + width - 1] + 1))
        else:
            for i in range(0, len(token), MAX_TERM_CHARS):
                end = start + min(len(token), i + MAX_TERM_CHARS)
                spans.append((token[i:i + MAX_TERM_CHARS], origin[start + i], origin[end - 1] + 1))
    return spans


def fold(text: str) -> str:
    """`text` normalised one character at a time, as token_spans sees it."""
    return "".join(map(_normalise_char, text))


@lru_cache(maxsize=16_384)
def _normalise_char(char: str) -> str:
    return unicodedata.normalize("NFKC", char).replace("\u0130", "i").lower()


# Checks shared by every implementation, so that all of them refuse the same input the same way.

def check_spec(spec: IndexSpec) -> None:
    if not _NAME.fullmatch(spec.name):
        raise FullTextInputError(f"index name {spec.name!r} must match {_NAME.pattern}")
    if not spec.fields:
        raise FullTextInputError(f"index {spec.name!r} declares no text fields")
    for kind, names in (("text field", spec.fields), ("filterable field", spec.filterable)):
        for name in names:
            if not isinstance(name, str) or not _FIELD.fullmatch(name):
                raise FullTextInputError(f"{kind} {name!r} of index {spec.name!r} must match {_FIELD.pattern}")
        if len(set(names)) != len(names):
            raise FullTextInputError(f"index {spec.name!r} declares a {kind} twice: {list(names)}")


def check_document(document: Document, spec: IndexSpec | None = None) -> None:
    """Refuse a document by what is wrong with it; with `spec`, also fields the index does not declare."""
    where = f"document {document.id!r}"
    if not isinstance(document.id, str) or not 0 < len(document.id) <= MAX_ID_CHARS:
        raise FullTextInputError(f"{where}: id must be a string of 1 to {MAX_ID_CHARS} characters")
    if not isinstance(document.org_id, str) or not 0 < len(document.org_id) <= MAX_ORG_ID_CHARS:
        raise FullTextInputError(f"{where}: org_id must be a string of 1 to {MAX_ORG_ID_CHARS} characters")
    if not _storable(document.id) or not _storable(document.org_id):
        raise FullTextInputError(f"{where}: id and org_id may not hold NUL or unpaired surrogate characters")
    if not isinstance(document.version, int) or isinstance(document.version, bool) or \
            not 0 <= document.version < 2**63:
        raise FullTextInputError(f"{where}: version must be an integer from 0 to 2**63 - 1")
    if not isinstance(document.fields, Mapping) or not isinstance(document.filters, Mapping):
        raise FullTextInputError(f"{where}: fields and filters must be mappings of name to value")
    total = 0
    for name, value in document.fields.items():
        if value is not None and not isinstance(value, str):
            raise FullTextInputError(f"{where}: field {name!r} must be text, not {type(value).__name__}")
        if value and not utf8_encodable(value):
            raise FullTextInputError(f"{where}: field {name!r} holds an unpaired surrogate, which is not text")
        total += len(value or "")
    if total > MAX_DOCUMENT_CHARS:
        raise FullTextInputError(f"{where}: {total} characters of text, more than MAX_DOCUMENT_CHARS "
                                 f"({MAX_DOCUMENT_CHARS})")
    for name, value in document.filters.items():
        document_filter_values(name, value, where)
    if spec is not None:
        for name in document.fields:
            if name not in spec.fields:
                raise FullTextInputError(f"{where}: field {name!r} is not a text field of index {spec.name!r} "
                                         f"(declared: {', '.join(spec.fields)})")
        for name in document.filters:
            if name not in spec.filterable:
                raise FullTextInputError(f"{where}: filter {name!r} is not filterable in index {spec.name!r} "
                                         f"(filterable: {', '.join(spec.filterable) or 'none'})")


def document_filter_values(name: str, value: Any, where: str = "document") -> list[str]:
    """The keyword values a document holds for filter `name`: a list holds each of its items."""
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) else [value]
    return [filter_value(name, item, where) for item in items if item is not None]


def query_filter_values(spec: IndexSpec, filters: Filters | None) -> dict[str, list[str]]:
    """Each filter as the keyword values it accepts: one for equality, several for membership."""
    wanted: dict[str, list[str]] = {}
    for name, value in (filters or {}).items():
        if name not in spec.filterable:
            raise FullTextInputError(f"filter {name!r} is not filterable in index {spec.name!r} "
                                     f"(filterable: {', '.join(spec.filterable) or 'none'})")
        if value is None:
            raise FullTextInputError(f"filter {name!r}: a value or a list of values is required")
        items = value if isinstance(value, (list, tuple, set, frozenset)) else [value]
        wanted[name] = sorted({filter_value(name, item, "query") for item in items})
    return wanted


def filter_value(name: str, value: Any, where: str) -> str:
    """A filter value as the keyword both implementations store: text, numbers and booleans."""
    if isinstance(value, bool):
        keyword = "true" if value else "false"
    elif isinstance(value, int):
        keyword = str(value)
    elif isinstance(value, float) and math.isfinite(value):
        keyword = str(int(value)) if value.is_integer() else repr(value)
    elif isinstance(value, str):
        keyword = value
    else:
        raise FullTextInputError(f"{where}: filter {name!r} value {value!r} must be text, a number or a boolean")
    if len(keyword) > MAX_FILTER_VALUE_CHARS:
        raise FullTextInputError(f"{where}: filter {name!r} value is longer than {MAX_FILTER_VALUE_CHARS} characters")
    if not _storable(keyword):
        raise FullTextInputError(f"{where}: filter {name!r} value may not hold NUL or unpaired surrogate characters")
    return keyword


def query_terms(query: str) -> list[str]:
    """The analysed query, or FullTextInputError when it is too long or has nothing to search for."""
    if not isinstance(query, str):
        raise FullTextInputError(f"query must be text, not {type(query).__name__}")
    if len(query) > MAX_QUERY_CHARS:
        raise FullTextInputError(f"query has {len(query)} characters, more than MAX_QUERY_CHARS ({MAX_QUERY_CHARS})")
    terms = analyse(query)
    if not terms:
        raise FullTextInputError(f"query {query!r} has no words to search for")
    return terms


def check_limit(limit: int) -> None:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_SEARCH_LIMIT:
        raise FullTextInputError(f"limit must be an integer from 1 to {MAX_SEARCH_LIMIT}, not {limit!r}")


def _storable(key: str) -> bool:
    """A key both PostgreSQL (no NUL in text) and Elasticsearch (UTF-8 only) can hold."""
    return "\x00" not in key and utf8_encodable(key)


def open_fulltext(elasticsearch_url: str | None, relational: Any) -> FullTextStore:
    """Elasticsearch when a URL is configured, otherwise the relational store."""
    if elasticsearch_url:
        from shared.database.fulltext_elastic import ElasticFullText

        return ElasticFullText(elasticsearch_url)
    from shared.database.fulltext_relational import RelationalFullText

    return RelationalFullText(relational)
