"""The full-text capability: keyword search with BM25 ranking, filters and highlights.

Chinese has no spaces, so text is analysed as Elasticsearch's `cjk` analyzer does: runs of CJK
characters become overlapping bigrams (a lone character stays a unigram), other text is split
into lower-cased words. A 2-character query such as 后端 therefore finds 资深后端工程师.
`analyse` is that analysis; the relational implementation and the tests share it.

Implementations: `RelationalFullText` (the relational DB, analysed in application code, the
embedded default) and `ElasticFullText` (the async Elasticsearch client, `cjk` analyzer), both
passing tests/contract/test_fulltext_contract.py.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

MAX_DOCUMENT_CHARS = 200_000
MAX_QUERY_CHARS = 1_000

Filters = Mapping[str, Any]

_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_WORD = rf"[^\W_{_CJK}]+"
_TOKEN = re.compile(rf"[{_CJK}]+|{_WORD}(?:\.{_WORD})*[+#]*", re.UNICODE)
_IS_CJK = re.compile(rf"[{_CJK}]")


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
                     limit: int = 10) -> list[TextHit]:
        """The org's documents matching `query`, best BM25 score first, with highlights."""

    async def versions(self, index: str, org_id: str | None = None) -> dict[str, int]:
        """Document id to version (in one org, or all when None): for reconcile."""

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


def analyse(text: str) -> list[str]:
    """Terms of `text`: CJK bigrams (or a lone unigram), lower-cased NFKC words otherwise."""
    terms: list[str] = []
    for token in _TOKEN.findall(unicodedata.normalize("NFKC", text).lower()):
        if _IS_CJK.match(token):
            terms.extend([token] if len(token) == 1 else [token[i:i + 2] for i in range(len(token) - 1)])
        else:
            terms.append(token)
    return terms


def open_fulltext(elasticsearch_url: str | None, relational: Any) -> FullTextStore:
    """Elasticsearch when a URL is configured, otherwise the relational store."""
    if elasticsearch_url:
        from shared.database.fulltext_elastic import ElasticFullText

        return ElasticFullText(elasticsearch_url)
    from shared.database.fulltext_relational import RelationalFullText

    return RelationalFullText(relational)
