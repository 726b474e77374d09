"""The full-text store on Elasticsearch, with the async client and the built-in `cjk` analyzer.

One Elasticsearch index per Looma index, named with a prefix ("looma-talents"), one shard so
that BM25 statistics are exact. A document is stored as

    {"id": ..., "org_id": ..., "version": ..., "text": {field: text}, "filters": {field: keyword(s)}}

with every text field analysed by the `cjk` analyzer (standard tokenizer, width folding, lower
case, CJK bigrams) configured without stop words, so that it indexes what `analyse` does; filter
values are `keyword` fields holding the same strings the relational store keeps. The index's
declared fields live in the mapping's `_meta`, so every process sees the same spec.

A search is a `most_fields` multi_match over the text fields (BM25 summed over fields, as the
relational store does) with the org and the filters as bool filters, sorted by score then id, and
highlighted by the unified highlighter with the `html` encoder. Writes use refresh=wait_for, so a
search after a write sees it. Checks run before any request, so a bad batch sends nothing; the
bulk request itself is not atomic, and an item Elasticsearch rejects raises BulkIndexError.

Differences from the relational store, where Elasticsearch's standard tokenizer is not `analyse`:
it drops "+" and "#" (a query "C++" searches "c"), keeps "x86_64" and "O'Reilly" whole, and
counts corpus statistics over the whole index, not per org, including deleted documents until
their segments merge. Scores are therefore close to, not equal to, the relational store's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from shared.database.fulltext import (
    Document,
    Filters,
    FullTextInputError,
    IndexSpec,
    TextHit,
    check_document,
    check_limit,
    check_spec,
    document_filter_values,
    query_filter_values,
    query_terms,
)

if TYPE_CHECKING:
    from elasticsearch import AsyncElasticsearch

ANALYZER = "looma_cjk"
SETTINGS: dict[str, Any] = {
    "number_of_shards": 1,
    "analysis": {"analyzer": {ANALYZER: {"type": "cjk", "stopwords": "_none_"}}},
}
HIGHLIGHT: dict[str, Any] = {
    "type": "unified",
    "pre_tags": ["<em>"],
    "post_tags": ["</em>"],
    "encoder": "html",
    "fragment_size": 100,
    "number_of_fragments": 5,
}
REQUEST_TIMEOUT = 10.0


class ElasticFullText:
    backend = "elasticsearch"

    def __init__(self, url: str, prefix: str = "looma-") -> None:
        self.url = url
        self.prefix = prefix
        self._client: AsyncElasticsearch | None = None
        self._specs: dict[str, IndexSpec] = {}

    @property
    def client(self) -> AsyncElasticsearch:
        """The client, made on first use: building the store opens no connection."""
        if self._client is None:
            from elasticsearch import AsyncElasticsearch

            self._client = AsyncElasticsearch(self.url, request_timeout=REQUEST_TIMEOUT, retry_on_timeout=True,
                                              max_retries=3)
        return self._client

    def es_index(self, index: str) -> str:
        return self.prefix + index

    async def ensure_index(self, spec: IndexSpec) -> None:
        """Create the index, or add newly declared fields to its mapping (a mapping never loses fields)."""
        from elasticsearch import BadRequestError

        check_spec(spec)
        properties = _properties(spec)
        meta = {"fields": list(spec.fields), "filterable": list(spec.filterable)}
        try:
            await self.client.indices.create(index=self.es_index(spec.name), settings=SETTINGS,
                                             mappings={"dynamic": "strict", "_meta": meta, "properties": properties})
        except BadRequestError as error:
            if error.error != "resource_already_exists_exception":
                raise
            await self.client.indices.put_mapping(index=self.es_index(spec.name), meta=meta, properties=properties)
        self._specs[spec.name] = spec

    async def index(self, index: str, documents: Sequence[Document]) -> None:
        """Insert or replace documents by id; all are checked before any is sent."""
        from elasticsearch.helpers import async_bulk

        for document in documents:
            check_document(document)
        latest = {document.id: document for document in documents}
        if not latest:
            return
        spec = await self._spec(index, lambda spec: [check_document(d, spec) for d in latest.values()])
        await self._refuse_other_orgs_ids(spec.name, latest)
        actions = [{"_op_type": "index", "_index": self.es_index(spec.name), "_id": document.id,
                    "_source": _source(document)} for document in latest.values()]
        await async_bulk(self.client, actions, refresh="wait_for")

    async def delete(self, index: str, org_id: str, ids: Sequence[str]) -> int:
        if not ids:
            return 0
        spec = await self._spec(index)
        response = await self.client.delete_by_query(
            index=self.es_index(spec.name), refresh=True, conflicts="proceed",
            query={"bool": {"filter": [{"term": {"org_id": org_id}}, {"ids": {"values": list(dict.fromkeys(ids))}}]}})
        return int(response["deleted"])

    async def search(self, index: str, org_id: str, query: str, filters: Filters | None = None,
                     limit: int = 10, with_highlights: bool = True) -> list[TextHit]:
        query_terms(query)  # the same refusals as the relational store, before any request
        check_limit(limit)
        wanted: dict[str, list[str]] = {}
        spec = await self._spec(index, lambda spec: wanted.update(query_filter_values(spec, filters)))
        conditions: list[dict[str, Any]] = [{"term": {"org_id": org_id}}]
        conditions += [{"terms": {f"filters.{field}": values}} for field, values in sorted(wanted.items())]
        highlight = {"highlight": {**HIGHLIGHT, "fields": {f"text.{field}": {} for field in spec.fields}}} \
            if with_highlights else {}
        response = await self.client.search(
            index=self.es_index(spec.name),
            query={"bool": {
                "must": [{"multi_match": {"query": query, "type": "most_fields",
                                          "fields": [f"text.{field}" for field in spec.fields]}}],
                "filter": conditions,
            }},
            **highlight,
            sort=[{"_score": {"order": "desc"}}, {"id": {"order": "asc"}}],
            track_scores=True,
            track_total_hits=False,
            source=False,
            size=limit,
        )
        return [TextHit(hit["_id"], float(hit["_score"]),
                        {name.removeprefix("text."): fragments for name, fragments in hit.get("highlight", {}).items()})
                for hit in response["hits"]["hits"]]

    async def versions(self, index: str, org_id: str | None = None) -> dict[str, int]:
        from elasticsearch.helpers import async_scan

        spec = await self._spec(index)
        query = {"term": {"org_id": org_id}} if org_id is not None else {"match_all": {}}
        found: dict[str, int] = {}
        async for hit in async_scan(self.client, index=self.es_index(spec.name),
                                    query={"query": query, "_source": ["version"]}):
            found[hit["_id"]] = int(hit["_source"]["version"])
        return found

    async def ping(self) -> None:
        await self.client.info()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def _refuse_other_orgs_ids(self, index: str, documents: dict[str, Document]) -> None:
        """Refuse ids another org holds, as the relational store does (checked, not locked: ids are UUIDs)."""
        response = await self.client.mget(index=self.es_index(index), ids=list(documents), source=["org_id"])
        for found in response["docs"]:
            if found.get("found") and found["_source"]["org_id"] != documents[found["_id"]].org_id:
                raise FullTextInputError(f"document {found['_id']!r}: the id belongs to another org in index {index!r}")

    async def _spec(self, index: str, check: Any = None) -> IndexSpec:
        """The index's spec, from this process's memory or from the mapping's _meta.

        A `check` the remembered spec fails is retried once against the mapping, which another
        process may have extended since (a new field or filter).
        """
        remembered = self._specs.get(index)
        if remembered is not None:
            try:
                if check is not None:
                    check(remembered)
                return remembered
            except FullTextInputError:
                pass
        spec = await self._load_spec(index)
        if check is not None:
            check(spec)
        return spec

    async def _load_spec(self, index: str) -> IndexSpec:
        from elasticsearch import NotFoundError

        try:
            response = await self.client.indices.get_mapping(index=self.es_index(index))
        except NotFoundError:
            raise FullTextInputError(f"unknown full-text index {index!r}: call ensure_index first") from None
        meta = next(iter(response.body.values()))["mappings"].get("_meta", {})
        spec = IndexSpec(index, tuple(meta.get("fields", ())), tuple(meta.get("filterable", ())))
        self._specs[index] = spec
        return spec


def _properties(spec: IndexSpec) -> dict[str, Any]:
    return {
        "id": {"type": "keyword"},
        "org_id": {"type": "keyword"},
        "version": {"type": "long"},
        "text": {"properties": {field: {"type": "text", "analyzer": ANALYZER} for field in spec.fields}},
        "filters": {"properties": {field: {"type": "keyword"} for field in spec.filterable}},
    }


def _source(document: Document) -> dict[str, Any]:
    filters = {field: document_filter_values(field, value) for field, value in document.filters.items()}
    return {
        "id": document.id,
        "org_id": document.org_id,
        "version": document.version,
        "text": {field: text for field, text in document.fields.items() if text},
        "filters": {field: values for field, values in filters.items() if values},
    }
