"""The embedded full-text store: an inverted index in relational tables, ranked by BM25.

Text is analysed here, in Python, with `analyse` (CJK bigrams, lower-cased words), so SQLite and
PostgreSQL hold the same postings and run the same Core queries; neither FTS5 nor tsvector is used,
since neither can analyse Chinese. Tables (migration 0005_fulltext):

- fulltext_indexes: each index's text and filterable fields, and the next document key;
- fulltext_documents: by (index, id): a small integer key, org, version, the original text (for
  highlights), filters, each field's length, and the terms and keywords it was indexed under;
- fulltext_postings: (index, org, term, field, doc_key) with the term frequency and field length;
- fulltext_filters: (index, org, field, doc_key, keyword value), probed per matching document;
- fulltext_stats: per (index, org, field), the document count and total length BM25 needs.

Postings name a document by its integer key, not its id (a UUID), which halves their size, and are
removed by their full primary key from the terms the document row recorded, so they need no
second index. A write runs in one transaction that first locks the index row (SQLite: BEGIN
IMMEDIATE already serialises writers), so keys and the counters in fulltext_stats stay exact
when several processes write at once.

A search reads the document frequency of each query term, then scores the matching documents in
one SQL query: the sum over query terms and fields of idf * tf / (tf + k1 * (1 - b + b * length /
avgdl)), with Lucene's idf = ln(1 + (N - df + 0.5) / (df + 0.5)), N and avgdl taken over the org's
documents that have the field, as Elasticsearch's `most_fields` multi_match sums BM25 over fields.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.database.fulltext import (
    Document,
    Filters,
    FullTextInputError,
    IndexSpec,
    TextHit,
    analyse,
    check_document,
    check_limit,
    check_spec,
    document_filter_values,
    fold,
    query_filter_values,
    query_terms,
    token_spans,
)
from shared.database.relational import RelationalStore

K1 = 1.2
B = 0.75
FRAGMENT_CHARS = 100  # as Elasticsearch's default fragment_size
MAX_FRAGMENTS = 5  # per field, as Elasticsearch's default number_of_fragments
ID_CHUNK = 500  # ids per IN (...): well under SQLite's and asyncpg's parameter limits
COMPOUND_LIMIT = 400  # selects per UNION ALL; SQLite refuses more than 500
ROW_CHUNK = 10_000  # rows per executemany, so one huge batch does not build one huge parameter list

metadata = sa.MetaData()
fulltext_indexes = sa.Table(
    "fulltext_indexes",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("fields", sa.JSON, nullable=False),
    sa.Column("filterable", sa.JSON, nullable=False),
    sa.Column("next_doc_key", sa.BigInteger, nullable=False),
)
fulltext_documents = sa.Table(
    "fulltext_documents",
    metadata,
    sa.Column("index_name", sa.String(64), primary_key=True),
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("doc_key", sa.BigInteger, nullable=False),
    sa.Column("org_id", sa.String(64), nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("fields", sa.JSON, nullable=False),
    sa.Column("filters", sa.JSON, nullable=False),
    sa.Column("lengths", sa.JSON, nullable=False),
    sa.Column("terms", sa.JSON, nullable=False),
    sa.Column("keywords", sa.JSON, nullable=False),
)
fulltext_postings = sa.Table(
    "fulltext_postings",
    metadata,
    sa.Column("index_name", sa.String(64), primary_key=True),
    sa.Column("org_id", sa.String(64), primary_key=True),
    sa.Column("term", sa.String(255), primary_key=True),
    sa.Column("field", sa.String(64), primary_key=True),
    sa.Column("doc_key", sa.BigInteger, primary_key=True),
    sa.Column("tf", sa.Integer, nullable=False),
    sa.Column("length", sa.Integer, nullable=False),
)
fulltext_filters = sa.Table(
    "fulltext_filters",
    metadata,
    sa.Column("index_name", sa.String(64), primary_key=True),
    sa.Column("org_id", sa.String(64), primary_key=True),
    sa.Column("field", sa.String(64), primary_key=True),
    sa.Column("doc_key", sa.BigInteger, primary_key=True),
    sa.Column("value", sa.String(256), primary_key=True),
)
fulltext_stats = sa.Table(
    "fulltext_stats",
    metadata,
    sa.Column("index_name", sa.String(64), primary_key=True),
    sa.Column("org_id", sa.String(64), primary_key=True),
    sa.Column("field", sa.String(64), primary_key=True),
    sa.Column("doc_count", sa.BigInteger, nullable=False),
    sa.Column("total_length", sa.BigInteger, nullable=False),
)


@dataclass(frozen=True)
class AnalysedDocument:
    document: Document
    postings: list[tuple[str, str, int]]  # (term, field, tf)
    lengths: dict[str, int]  # field to its number of terms
    keywords: dict[str, list[str]]  # filter field to the keyword values it holds

    @property
    def terms(self) -> dict[str, list[str]]:
        by_field: dict[str, list[str]] = defaultdict(list)
        for term, field, _ in self.postings:
            by_field[field].append(term)
        return dict(by_field)


class RelationalFullText:
    backend = "relational"

    def __init__(self, relational: RelationalStore) -> None:
        self.relational = relational

    async def ensure_index(self, spec: IndexSpec) -> None:
        """Create the index, or replace its declared fields (documents keep what they hold)."""
        check_spec(spec)
        row = {"fields": list(spec.fields), "filterable": list(spec.filterable)}
        async with self.relational.write() as conn:
            current = await _index_row(conn, spec.name, lock=True)
            if current is None:
                await conn.execute(fulltext_indexes.insert().values(name=spec.name, next_doc_key=1, **row))
            elif current[0] != spec:
                await conn.execute(fulltext_indexes.update().where(fulltext_indexes.c.name == spec.name).values(**row))

    async def index(self, index: str, documents: Sequence[Document]) -> None:
        """Insert or replace documents by id, all or none; a later duplicate id in the batch wins."""
        for document in documents:
            check_document(document)
        latest = {document.id: document for document in documents}
        analysed = [_analysed(document) for document in latest.values()]
        if not analysed:
            return
        async with self.relational.write() as conn:
            spec, first_key = await _known_index(conn, index, lock=True)
            for document in latest.values():
                check_document(document, spec)
            deltas = _Deltas()
            await _remove(conn, index, list(latest), deltas, owners={d.id: d.org_id for d in latest.values()})
            keyed = list(zip(range(first_key, first_key + len(analysed)), analysed, strict=True))
            await conn.execute(fulltext_documents.insert(), [
                {"index_name": index, "id": a.document.id, "doc_key": key, "org_id": a.document.org_id,
                 "version": a.document.version, "fields": dict(a.document.fields), "filters": dict(a.document.filters),
                 "lengths": a.lengths, "terms": a.terms, "keywords": a.keywords} for key, a in keyed])
            await _insert(conn, fulltext_postings, sorted(
                (index, a.document.org_id, term, field, key, tf, a.lengths[field])
                for key, a in keyed for term, field, tf in a.postings))
            await _insert(conn, fulltext_filters, sorted(
                (index, a.document.org_id, field, key, value)
                for key, a in keyed for field, values in a.keywords.items() for value in values))
            await conn.execute(fulltext_indexes.update().where(fulltext_indexes.c.name == index).values(
                next_doc_key=first_key + len(keyed)))
            for a in analysed:
                deltas.add(a.document.org_id, a.lengths, +1)
            await deltas.apply(conn, index)

    async def delete(self, index: str, org_id: str, ids: Sequence[str]) -> int:
        if not ids:
            return 0
        async with self.relational.write() as conn:
            await _known_index(conn, index, lock=True)
            deltas = _Deltas()
            removed = await _remove(conn, index, list(dict.fromkeys(ids)), deltas, org_id=org_id)
            await deltas.apply(conn, index)
        return removed

    async def search(self, index: str, org_id: str, query: str, filters: Filters | None = None,
                     limit: int = 10, with_highlights: bool = True) -> list[TextHit]:
        term_counts = Counter(query_terms(query))
        check_limit(limit)
        async with self.relational.read() as conn:
            spec, _ = await _known_index(conn, index)
            wanted = query_filter_values(spec, filters)
            weights = await _term_weights(conn, index, org_id, spec.fields, term_counts)
            if not weights:
                return []
            ranked = await _ranked(conn, index, org_id, weights, wanted, limit, with_highlights)
        terms = set(term_counts)
        return [TextHit(doc_id, float(score), _highlights(spec, fields, terms) if with_highlights else {})
                for doc_id, score, fields in ranked]

    async def versions(self, index: str, org_id: str | None = None) -> dict[str, int]:
        query = sa.select(fulltext_documents.c.id, fulltext_documents.c.version).where(
            fulltext_documents.c.index_name == index)
        if org_id is not None:
            query = query.where(fulltext_documents.c.org_id == org_id)
        async with self.relational.read() as conn:
            await _known_index(conn, index)
            return {row.id: row.version for row in await conn.execute(query)}

    async def ping(self) -> None:
        async with self.relational.read() as conn:
            await conn.execute(sa.select(sa.func.count()).select_from(fulltext_indexes))

    async def close(self) -> None:
        """Nothing of its own to close: the relational store is closed by its owner."""


async def _remove(conn: AsyncConnection, index: str, ids: list[str], deltas: _Deltas,
                  org_id: str | None = None, owners: dict[str, str] | None = None) -> int:
    """Delete the documents with these ids (in `org_id` only, when given) with their postings and keywords.

    With `owners` (id to the org about to write it), an id another org holds is refused, before
    anything is deleted, so that one tenant can never replace another's document.
    """
    docs = fulltext_documents.c
    keys: list[int] = []
    postings: list[tuple[str, str, str, str, int]] = []
    keywords: list[tuple[str, str, str, int, str]] = []
    for chunk in _chunks(ids):
        query = sa.select(docs.id, docs.doc_key, docs.org_id, docs.lengths, docs.terms, docs.keywords).where(
            docs.index_name == index, docs.id.in_(chunk))
        if org_id is not None:
            query = query.where(docs.org_id == org_id)
        for row in await conn.execute(query):
            if owners is not None and owners[row.id] != row.org_id:
                raise FullTextInputError(f"document {row.id!r}: the id belongs to another org in index {index!r}")
            keys.append(row.doc_key)
            deltas.add(row.org_id, row.lengths, -1)
            postings.extend((index, row.org_id, term, field, row.doc_key)
                            for field, terms in row.terms.items() for term in terms)
            keywords.extend((index, row.org_id, field, row.doc_key, value)
                            for field, values in row.keywords.items() for value in values)
    if not keys:
        return 0
    p, f, key = fulltext_postings.c, fulltext_filters.c, sa.bindparam
    await _execute_many(conn, fulltext_postings.delete().where(
        p.index_name == key("i"), p.org_id == key("o"), p.term == key("t"), p.field == key("f"),
        p.doc_key == key("k")), "iotfk", sorted(postings))
    await _execute_many(conn, fulltext_filters.delete().where(
        f.index_name == key("i"), f.org_id == key("o"), f.field == key("f"), f.doc_key == key("k"),
        f.value == key("v")), "iofkv", sorted(keywords))
    for start in range(0, len(keys), ID_CHUNK):
        await conn.execute(fulltext_documents.delete().where(
            docs.index_name == index, docs.doc_key.in_(keys[start:start + ID_CHUNK])))
    return len(keys)


class _Deltas:
    """Changes to fulltext_stats, summed over a batch and applied once per (org, field)."""

    def __init__(self) -> None:
        self.changes: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])

    def add(self, org_id: str, lengths: dict[str, int], sign: int) -> None:
        for field, length in lengths.items():
            if length:
                change = self.changes[(org_id, field)]
                change[0] += sign
                change[1] += sign * length

    async def apply(self, conn: AsyncConnection, index: str) -> None:
        stats = fulltext_stats.c
        for (org_id, field), (count, length) in sorted(self.changes.items()):
            if not count and not length:
                continue
            key = (stats.index_name == index, stats.org_id == org_id, stats.field == field)
            updated = await conn.execute(fulltext_stats.update().where(*key).values(
                doc_count=stats.doc_count + count, total_length=stats.total_length + length))
            if updated.rowcount == 0:  # the index row lock keeps another writer from inserting it meanwhile
                await conn.execute(fulltext_stats.insert().values(
                    index_name=index, org_id=org_id, field=field, doc_count=count, total_length=length))


def _analysed(document: Document) -> AnalysedDocument:
    postings: list[tuple[str, str, int]] = []
    lengths: dict[str, int] = {}
    for field, text in document.fields.items():
        terms = analyse(text or "")
        lengths[field] = len(terms)
        postings.extend((term, field, tf) for term, tf in Counter(terms).items())
    keywords = {field: sorted(set(document_filter_values(field, value))) for field, value in document.filters.items()}
    return AnalysedDocument(document, postings, lengths, {field: kept for field, kept in keywords.items() if kept})


async def _index_row(conn: AsyncConnection, name: str, lock: bool = False) -> tuple[IndexSpec, int] | None:
    """The index's spec and next document key; `lock` makes other writers of the index wait."""
    query = sa.select(fulltext_indexes).where(fulltext_indexes.c.name == name)
    if lock:
        query = query.with_for_update()  # PostgreSQL row lock; SQLite ignores it (BEGIN IMMEDIATE serialises)
    row = (await conn.execute(query)).one_or_none()
    return None if row is None else (IndexSpec(row.name, tuple(row.fields), tuple(row.filterable)), row.next_doc_key)


async def _known_index(conn: AsyncConnection, name: str, lock: bool = False) -> tuple[IndexSpec, int]:
    found = await _index_row(conn, name, lock)
    if found is None:
        raise FullTextInputError(f"unknown full-text index {name!r}: call ensure_index first")
    return found


@dataclass(frozen=True)
class _Weight:
    term: str
    field: str
    idf: float  # times the term's count in the query
    k: float  # k1 * (1 - b)
    per_length: float  # k1 * b / avgdl


async def _term_weights(conn: AsyncConnection, index: str, org_id: str, fields: Sequence[str],
                        term_counts: Counter[str]) -> list[_Weight]:
    """The BM25 constants of each (term, field) the org's documents hold."""
    stats = fulltext_stats.c
    totals = {row.field: (row.doc_count, row.total_length) for row in await conn.execute(
        sa.select(stats.field, stats.doc_count, stats.total_length).where(
            stats.index_name == index, stats.org_id == org_id, stats.field.in_(fields)))}
    postings = fulltext_postings.c
    frequencies = await conn.execute(_union_all([
        sa.select(postings.term, postings.field, sa.func.count().label("df"))
        .where(postings.index_name == index, postings.org_id == org_id, postings.term == term,
               postings.field.in_(fields))
        .group_by(postings.term, postings.field) for term in sorted(term_counts)]))
    weights = []
    for term, field, df in frequencies:
        count, total_length = totals.get(field, (0, 0))
        if count <= 0 or total_length <= 0:
            continue  # counters not yet visible to this snapshot: nothing to rank against
        idf = math.log(1 + (count - df + 0.5) / (df + 0.5))
        weights.append(_Weight(term, field, term_counts[term] * idf, K1 * (1 - B), K1 * B * count / total_length))
    return weights


async def _ranked(conn: AsyncConnection, index: str, org_id: str, weights: list[_Weight],
                  wanted: dict[str, list[str]], limit: int,
                  with_fields: bool) -> list[tuple[str, float, dict[str, str]]]:
    """The best `limit` documents as (id, score, text fields), ties broken by id.

    The text fields are read only when asked for (to highlight): a window of hundreds of hits
    would otherwise decode every document's text for nothing.

    Each (term, field) reads its own key range of the postings, so the plan is the same on both
    databases whatever their statistics say (PostgreSQL without fresh ANALYZE would otherwise
    scan all of an org's postings); the per-posting scores are summed per document.
    """
    postings = fulltext_postings.c
    tf = sa.cast(postings.tf, sa.Float)
    parts = _union_all([
        sa.select(postings.doc_key, (_float(w.idf) * tf / (tf + _float(w.k) + _float(w.per_length) * postings.length))
                  .label("score"))
        .where(postings.index_name == index, postings.org_id == org_id, postings.term == w.term,
               postings.field == w.field) for w in weights]).subquery("parts")
    scored = sa.select(parts.c.doc_key, sa.func.sum(parts.c.score).label("score"))
    for field, values in sorted(wanted.items()):
        kept = fulltext_filters.c
        allowed = sa.select(kept.doc_key).where(kept.index_name == index, kept.org_id == org_id,
                                                kept.field == field, kept.value.in_(values))
        # Inside CASE, IN (subquery) is one set built once and probed per matching posting, on both
        # databases. As a plain condition, SQLite would seek every posting of every allowed key, and
        # PostgreSQL would make it a join, which with stale statistics rescans the set per posting.
        scored = scored.where(sa.case((parts.c.doc_key.in_(allowed), 1), else_=0) == 1)
    scored = scored.group_by(parts.c.doc_key).cte("scored")
    # Only documents scoring at least the limit-th best need their id, to break ties by it.
    cutoff = sa.select(scored.c.score).order_by(scored.c.score.desc()).limit(1).offset(limit - 1).scalar_subquery()
    docs = fulltext_documents.c
    text = docs.fields if with_fields else sa.null().label("fields")
    query = (sa.select(docs.id, scored.c.score, text)
             .select_from(scored.join(fulltext_documents, sa.and_(docs.index_name == index,
                                                                  docs.doc_key == scored.c.doc_key)))
             .where(scored.c.score >= sa.func.coalesce(cutoff, -1.0))
             .order_by(scored.c.score.desc(), docs.id).limit(limit))
    return [(row.id, row.score, row.fields or {}) for row in await conn.execute(query)]


def _float(value: float) -> Any:
    return sa.literal(value, sa.Float)


def _union_all(selects: list[Any]) -> Any:
    """UNION ALL of any number of selects, nested so that no compound exceeds SQLite's limit of 500."""
    while len(selects) > 1:
        groups = [selects[start:start + COMPOUND_LIMIT] for start in range(0, len(selects), COMPOUND_LIMIT)]
        if len(groups) == 1:
            return sa.union_all(*groups[0])
        selects = [sa.select(sa.union_all(*group).subquery()) if len(group) > 1 else group[0] for group in groups]
    return selects[0]


def _highlights(spec: IndexSpec, fields: dict[str, str], terms: set[str]) -> dict[str, list[str]]:
    found = {}
    for field in spec.fields:
        fragments = highlight(fields.get(field) or "", terms)
        if fragments:
            found[field] = fragments
    return found


_HTML = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;", "/": "&#x2F;"})


def highlight(text: str, terms: set[str]) -> list[str]:
    """Fragments of `text` around the matched terms, in text order, as HTML with matches in <em>.

    The text is escaped as Elasticsearch's `html` encoder does, so a fragment is safe to render.
    Overlapping bigrams merge into one match: 后端 and 端工 in 后端工程师 give <em>后端工</em>.
    """
    folded = fold(text)
    if not any(term in folded for term in terms):
        return []  # a term token_spans finds is a substring of the text folded as it folds it
    spans = _merged((start, end) for term, start, end in token_spans(text) if term in terms)
    groups: list[list[tuple[int, int]]] = []
    for start, end in spans:
        if groups and end - groups[-1][0][0] <= FRAGMENT_CHARS:
            groups[-1].append((start, end))
        else:
            groups.append([(start, end)])
    groups = groups[:MAX_FRAGMENTS]
    fragments = []
    for number, group in enumerate(groups):
        floor = groups[number - 1][-1][1] if number else 0
        ceiling = groups[number + 1][0][0] if number + 1 < len(groups) else len(text)
        first, last = group[0][0], group[-1][1]
        room = max(0, FRAGMENT_CHARS - (last - first))
        before = min(first - floor, room // 2)
        after = min(ceiling - last, room - before)
        before = min(first - floor, room - after)
        begin = _word_boundary_after(text, first - before, first)
        finish = _word_boundary_before(text, last + after, last)
        pieces, position = [], begin
        for start, end in group:
            pieces += [text[position:start].translate(_HTML), "<em>", text[start:end].translate(_HTML), "</em>"]
            position = end
        pieces.append(text[position:finish].translate(_HTML))
        fragments.append("".join(pieces).strip())
    return fragments


def _merged(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _word_boundary_after(text: str, position: int, limit: int) -> int:
    """`position`, moved forward (not past `limit`) so that it does not cut a Latin word in two."""
    while position < limit and position > 0 and _latin(text[position - 1]) and _latin(text[position]):
        position += 1
    return position


def _word_boundary_before(text: str, position: int, limit: int) -> int:
    while position > limit and position < len(text) and _latin(text[position - 1]) and _latin(text[position]):
        position -= 1
    return position


def _latin(char: str) -> bool:
    return char.isascii() and char.isalnum()


async def _insert(conn: AsyncConnection, table: sa.Table, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert rows of plain text and integers, given as tuples in the table's column order."""
    await _execute_many(conn, table.insert(), [column.name for column in table.columns], rows)


async def _execute_many(conn: AsyncConnection, statement: Any, names: Sequence[str],
                        rows: Sequence[tuple[Any, ...]]) -> None:
    """Run `statement` once per row, a row holding the values of its bound parameters `names`.

    The statement is compiled once for the connection's dialect and, where the driver takes
    positional parameters in this order (aiosqlite, asyncpg), the tuples go to it as they are:
    SQLAlchemy's per-row parameter handling, which plain text and integers do not need, would
    cost more than the database's own work for a batch of hundreds of thousands of postings.
    """
    if not rows:
        return
    compiled = statement.compile(dialect=conn.dialect)
    direct = conn.dialect.positional and list(compiled.positiontup or ()) == list(names)
    for start in range(0, len(rows), ROW_CHUNK):
        chunk = rows[start:start + ROW_CHUNK]
        if direct:
            await conn.exec_driver_sql(compiled.string, list(chunk))
        else:
            await conn.execute(statement, [dict(zip(names, row, strict=True)) for row in chunk])


def _chunks(values: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), ID_CHUNK):
        yield values[start:start + ID_CHUNK]
