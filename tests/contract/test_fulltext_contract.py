"""The FullTextStore contract, run against every implementation.

Always the relational store on SQLite and on PostgreSQL; Elasticsearch too when
LOOMA_TEST_ELASTICSEARCH_URL names a live server (it cannot run on the development machine, so
it is not collected otherwise). Two branches are visible on purpose: exact corpus statistics
after replacements and deletes are the relational store's promise only (Elasticsearch counts
deleted documents until segments merge), and the two-process tests are the embedded SQLite
store's own.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from shared.database.fulltext import (
    MAX_DOCUMENT_CHARS,
    MAX_QUERY_CHARS,
    Document,
    FullTextInputError,
    FullTextStore,
    IndexSpec,
    TextHit,
)
from shared.database.fulltext_elastic import ElasticFullText
from shared.database.fulltext_relational import RelationalFullText
from shared.database.relational import open_relational
from shared.database.schema import upgrade_async
from tests.conftest import require_server
from tests.contract.processes import python_process

ELASTICSEARCH_URL = os.environ.get("LOOMA_TEST_ELASTICSEARCH_URL")
RELATIONAL = ["relational-sqlite", pytest.param("relational-postgresql", marks=pytest.mark.server)]
BACKENDS = RELATIONAL + ([pytest.param("elasticsearch", marks=pytest.mark.server)] if ELASTICSEARCH_URL else [])

ORG, OTHER_ORG = "org-1", "org-2"
SPEC = IndexSpec("talents", ("title", "summary"), ("city", "stage", "years", "tags"))
HOSTILE = ["' OR 1=1 --", "'; DROP TABLE fulltext_postings; --", "\"; DELETE FROM talents; --"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """(implementation, URL), resolved before any event loop runs: the server fixtures run their own."""
    if request.param == "relational-sqlite":
        return request.param, f"sqlite+aiosqlite:///{tmp_path}/looma.db"
    if request.param == "relational-postgresql":
        return request.param, request.getfixturevalue("postgres_url")
    assert ELASTICSEARCH_URL is not None
    asyncio.run(_probe_elasticsearch(ELASTICSEARCH_URL))
    return request.param, ELASTICSEARCH_URL


async def _probe_elasticsearch(url: str) -> None:
    store = ElasticFullText(url)
    try:
        await store.ping()
    except Exception as error:
        require_server(f"Elasticsearch not reachable at {url}: {error}")
    finally:
        await store.close()


@pytest.fixture
async def fulltext(backend: tuple[str, str]) -> AsyncIterator[FullTextStore]:
    """A store with the `talents` index and nothing in it."""
    name, url = backend
    if name == "elasticsearch":
        store = ElasticFullText(url, prefix=f"looma-test-{uuid.uuid4().hex[:12]}-")
        try:
            await store.ensure_index(SPEC)
            yield store
        finally:
            indices = await store.client.indices.get(index=f"{store.prefix}*", allow_no_indices=True)
            if indices.body:
                await store.client.indices.delete(index=",".join(indices.body))
            await store.close()
        return
    await upgrade_async(url)
    relational = open_relational(url)
    store = RelationalFullText(relational)
    try:
        await store.ensure_index(SPEC)
        yield store
    finally:
        await store.close()
        await relational.close()


def doc(doc_id: str, title: str = "", summary: str = "", org: str = ORG, version: int = 1,
        **filters: Any) -> Document:
    return Document(doc_id, org, {"title": title, "summary": summary}, filters, version)


async def found(store: FullTextStore, query: str, org: str = ORG, limit: int = 10, **filters: Any) -> list[str]:
    return [hit.id for hit in await store.search(SPEC.name, org, query, filters or None, limit)]


def plain(fragment: str) -> str:
    return html.unescape(re.sub(r"</?em>", "", fragment))


async def test_every_implementation_is_a_fulltext_store(fulltext: FullTextStore) -> None:
    assert isinstance(fulltext, FullTextStore)
    await fulltext.ping()


async def test_a_two_character_chinese_word_finds_the_longer_words_that_hold_it(fulltext: FullTextStore) -> None:
    await fulltext.index(SPEC.name, [doc("t1", "资深后端工程师"), doc("t2", "前端工程师"), doc("t3", "产品经理")])

    assert await found(fulltext, "后端") == ["t1"]
    assert sorted(await found(fulltext, "工程师")) == ["t1", "t2"]
    assert await found(fulltext, "资深后端工程师") == ["t1", "t2"]
    assert await found(fulltext, "销售") == []


async def test_mixed_chinese_and_english_queries(fulltext: FullTextStore) -> None:
    await fulltext.index(SPEC.name, [
        doc("both", "后端工程师", "熟悉Python与Go，有分布式系统经验"),
        doc("python-only", "数据分析师", "熟悉Python与SQL"),
        doc("chinese-only", "后端工程师", "熟悉Java"),
        doc("neither", "产品经理", "擅长需求分析"),
    ])

    hits = await found(fulltext, "Python 后端")
    assert hits[0] == "both"
    assert sorted(hits) == ["both", "chinese-only", "python-only"]
    assert (await found(fulltext, "熟悉Python与Go"))[0] == "both"
    assert await found(fulltext, "Go") == ["both"]


async def test_english_words_match_whatever_their_case_or_width(fulltext: FullTextStore) -> None:
    await fulltext.index(SPEC.name, [doc("t1", "Senior Python Developer"), doc("t2", "Java Developer")])

    for query in ("python", "PYTHON", "Python", "Ｐｙｔｈｏｎ"):
        assert await found(fulltext, query) == ["t1"], query
    assert sorted(await found(fulltext, "developer")) == ["t1", "t2"]


async def test_more_occurrences_of_a_term_rank_higher(fulltext: FullTextStore) -> None:
    await fulltext.index(SPEC.name, [doc("once", "Python Go Java Rust"), doc("thrice", "Python Python Python Go")])

    assert await found(fulltext, "python") == ["thrice", "once"]


async def test_a_rarer_term_weighs_more_than_a_common_one(fulltext: FullTextStore) -> None:
    common = [doc(f"common-{i}", "python java") for i in range(5)]
    await fulltext.index(SPEC.name, [*common, doc("rare", "rust java")])

    hits = await fulltext.search(SPEC.name, ORG, "python rust")
    assert hits[0].id == "rare"
    assert hits[0].score > hits[1].score
    assert sorted(hit.id for hit in hits[1:]) == [f"common-{i}" for i in range(5)]


async def test_a_short_document_beats_a_long_one_with_the_same_matches(fulltext: FullTextStore) -> None:
    long_title = "后端工程师 负责 大规模 分布式 系统 的 设计 开发 与 运维 以及 团队 管理 和 招聘"
    await fulltext.index(SPEC.name, [doc("long", long_title), doc("short", "后端工程师")])

    hits = await fulltext.search(SPEC.name, ORG, "后端")
    assert [hit.id for hit in hits] == ["short", "long"]
    assert hits[0].score > hits[1].score > 0


async def test_every_field_counts_towards_the_score(fulltext: FullTextStore) -> None:
    await fulltext.index(SPEC.name, [doc("title-only", "后端工程师", "熟悉Java"),
                                     doc("both-fields", "后端工程师", "三年后端开发经验")])

    assert await found(fulltext, "后端") == ["both-fields", "title-only"]


async def test_ties_are_broken_by_id_and_limit_cuts_the_list(fulltext: FullTextStore) -> None:
    await fulltext.index(SPEC.name, [doc(name, "后端工程师") for name in ("c", "a", "d", "b")])

    assert await found(fulltext, "后端", limit=2) == ["a", "b"]
    assert await found(fulltext, "后端", limit=10) == ["a", "b", "c", "d"]


async def test_filters_by_equality_and_by_membership(fulltext: FullTextStore) -> None:
    await fulltext.index(SPEC.name, [
        doc("bj", "后端工程师", city="北京", stage="offer", years=5, tags=["python", "go"]),
        doc("sh", "后端工程师", city="上海", stage="offer", years=3, tags=["java"]),
        doc("sz", "后端工程师", city="深圳", stage="screening", years=5),
    ])

    assert await found(fulltext, "后端", city="北京") == ["bj"]
    assert sorted(await found(fulltext, "后端", city=["北京", "上海"])) == ["bj", "sh"]
    assert sorted(await found(fulltext, "后端", stage="offer")) == ["bj", "sh"]
    assert await found(fulltext, "后端", stage="offer", city=["上海", "深圳"]) == ["sh"]
    assert sorted(await found(fulltext, "后端", years=5)) == ["bj", "sz"]
    assert await found(fulltext, "后端", tags="go") == ["bj"]
    assert sorted(await found(fulltext, "后端", tags=["go", "java"])) == ["bj", "sh"]
    assert await found(fulltext, "后端", city=[]) == []
    assert await found(fulltext, "后端", city="广州") == []


async def test_a_filter_on_an_undeclared_field_is_refused_by_name(fulltext: FullTextStore) -> None:
    await fulltext.index(SPEC.name, [doc("t1", "后端工程师", city="北京")])

    with pytest.raises(FullTextInputError, match="salary"):
        await fulltext.search(SPEC.name, ORG, "后端", {"salary": 30000})
    with pytest.raises(FullTextInputError, match="title"):
        await fulltext.search(SPEC.name, ORG, "后端", {"title": "后端工程师"})


async def test_highlights_wrap_the_matches_in_em(fulltext: FullTextStore) -> None:
    await fulltext.index(SPEC.name, [doc("t1", "资深后端工程师", "熟悉Python与Go")])

    [hit] = await fulltext.search(SPEC.name, ORG, "后端 python")
    assert hit.highlights == {"title": ["资深<em>后端</em>工程师"], "summary": ["熟悉<em>Python</em>与Go"]}

    [hit] = await fulltext.search(SPEC.name, ORG, "后端工程")
    assert hit.highlights == {"title": ["资深<em>后端工程</em>师"]}


async def test_without_highlights_the_ranking_is_the_same_and_highlights_are_empty(fulltext: FullTextStore) -> None:
    await fulltext.index(SPEC.name, [doc("t1", "资深后端工程师", "后端后端"), doc("t2", "后端实习生", "熟悉Go")])

    full = await fulltext.search(SPEC.name, ORG, "后端")
    bare = await fulltext.search(SPEC.name, ORG, "后端", with_highlights=False)
    assert [(h.id, round(h.score, 6)) for h in bare] == [(h.id, round(h.score, 6)) for h in full]
    assert all(h.highlights for h in full) and not any(h.highlights for h in bare)


async def test_highlights_of_a_long_field_are_fragments_around_the_match(fulltext: FullTextStore) -> None:
    filler = "负责日常运营工作并与同事保持沟通。" * 30
    summary = filler + "曾担任资深后端工程师。" + filler
    await fulltext.index(SPEC.name, [doc("t1", "产品经理", summary)])

    [hit] = await fulltext.search(SPEC.name, ORG, "后端")
    [fragment] = hit.highlights["summary"]
    assert "<em>后端</em>" in fragment
    assert plain(fragment) in summary
    assert len(plain(fragment)) <= 200 < len(summary)


async def test_highlights_are_escaped_html(fulltext: FullTextStore) -> None:
    await fulltext.index(SPEC.name, [doc("t1", "<b>Python</b> & Go")])

    [hit] = await fulltext.search(SPEC.name, ORG, "python")
    [fragment] = hit.highlights["title"]
    assert "<b>" not in fragment
    assert html.unescape(fragment) == "<b><em>Python</em></b> & Go"


async def test_an_upsert_replaces_the_old_content(fulltext: FullTextStore) -> None:
    await fulltext.index(SPEC.name, [doc("t1", "Java 工程师", city="北京", version=1)])
    await fulltext.index(SPEC.name, [doc("t1", "Python 工程师", city="上海", version=2)])

    assert await found(fulltext, "java") == []
    assert await found(fulltext, "python") == ["t1"]
    assert await found(fulltext, "工程师") == ["t1"]
    assert await found(fulltext, "工程师", city="北京") == []
    assert await found(fulltext, "工程师", city="上海") == ["t1"]
    assert await fulltext.versions(SPEC.name) == {"t1": 2}


async def test_the_last_of_two_documents_with_one_id_in_a_batch_wins(fulltext: FullTextStore) -> None:
    await fulltext.index(SPEC.name, [doc("t1", "Java", version=1), doc("t1", "Python", version=2)])

    assert await found(fulltext, "java") == []
    assert await found(fulltext, "python") == ["t1"]
    assert await fulltext.versions(SPEC.name) == {"t1": 2}


async def test_delete_removes_documents_of_the_org_only(fulltext: FullTextStore) -> None:
    await fulltext.index(SPEC.name, [doc("t1", "后端工程师"), doc("t2", "后端开发"), doc("t3", "后端架构师")])

    assert await fulltext.delete(SPEC.name, OTHER_ORG, ["t1"]) == 0
    assert await fulltext.delete(SPEC.name, ORG, ["t1", "t2", "missing"]) == 2
    assert await fulltext.delete(SPEC.name, ORG, []) == 0

    assert await found(fulltext, "后端") == ["t3"]
    assert await fulltext.versions(SPEC.name) == {"t3": 1}


async def test_orgs_never_see_each_others_documents(fulltext: FullTextStore) -> None:
    await fulltext.index(SPEC.name, [doc("mine", "后端工程师", city="北京"),
                                     doc("theirs", "后端工程师", city="北京", org=OTHER_ORG)])

    assert await found(fulltext, "后端") == ["mine"]
    assert await found(fulltext, "后端", org=OTHER_ORG) == ["theirs"]
    assert await found(fulltext, "后端", city="北京") == ["mine"]
    assert await found(fulltext, "后端", org="org-3") == []
    assert await fulltext.versions(SPEC.name, ORG) == {"mine": 1}
    assert await fulltext.versions(SPEC.name, OTHER_ORG) == {"theirs": 1}


async def test_an_id_another_org_holds_is_refused_and_its_document_kept(fulltext: FullTextStore) -> None:
    await fulltext.index(SPEC.name, [doc("t1", "后端工程师", org=OTHER_ORG)])

    with pytest.raises(FullTextInputError, match="another org"):
        await fulltext.index(SPEC.name, [doc("t2", "前端"), doc("t1", "产品经理", org=ORG)])

    assert await fulltext.versions(SPEC.name) == {"t1": 1}
    assert await found(fulltext, "后端", org=OTHER_ORG) == ["t1"]
    assert await found(fulltext, "产品") == []


async def test_sql_in_a_query_is_only_words(fulltext: FullTextStore) -> None:
    await fulltext.index(SPEC.name, [doc("plain", "后端工程师", "熟悉Python")]
                         + [doc(f"h{i}", hostile) for i, hostile in enumerate(HOSTILE)])

    for i, hostile in enumerate(HOSTILE):
        assert await found(fulltext, hostile) == [f"h{i}"], hostile
    assert await found(fulltext, "后端") == ["plain"]
    assert await fulltext.versions(SPEC.name) == {"plain": 1, "h0": 1, "h1": 1, "h2": 1}


async def test_a_wildcard_or_quote_alone_is_no_query(fulltext: FullTextStore) -> None:
    await fulltext.index(SPEC.name, [doc("t1", "后端工程师 100% _underscored_")])

    for wildcard in ("%", "_", "%%", "*", "'", "--"):
        with pytest.raises(FullTextInputError, match="no words"):
            await fulltext.search(SPEC.name, ORG, wildcard)


async def test_sql_and_markup_in_content_are_stored_and_found_as_text(fulltext: FullTextStore) -> None:
    documents = [doc(f"h{i}", text, f"{text} %_ 后端") for i, text in enumerate(HOSTILE)]
    await fulltext.index(SPEC.name, documents)

    assert sorted(await found(fulltext, "drop table")) == ["h1"]
    assert sorted(await found(fulltext, "后端")) == ["h0", "h1", "h2"]
    [hit] = await fulltext.search(SPEC.name, ORG, "DELETE")
    assert [plain(fragment) for fragment in hit.highlights["title"]] == [HOSTILE[2]]
    assert await fulltext.delete(SPEC.name, ORG, ["h0"]) == 1
    assert sorted(await found(fulltext, "后端")) == ["h1", "h2"]


async def test_emoji_nul_and_control_characters_are_stored_as_text(fulltext: FullTextStore) -> None:
    title = "后端工程师 🚀👩🏽‍💻 \x00 tab\there \u200b零宽"
    await fulltext.index(SPEC.name, [doc("t1", title, "熟悉 Python\r\n")])

    [hit] = await fulltext.search(SPEC.name, ORG, "后端 python")
    assert [plain(fragment) for fragment in hit.highlights["title"]] == [title]
    assert await found(fulltext, "tab") == ["t1"]


async def test_an_oversized_document_anywhere_in_a_batch_writes_nothing(fulltext: FullTextStore) -> None:
    await fulltext.index(SPEC.name, [doc("kept", "Java 工程师", version=1)])
    batch = [doc("new", "后端工程师"), doc("kept", "Python 工程师", version=2),
             doc("huge", "后端", "字" * (MAX_DOCUMENT_CHARS - 1))]

    with pytest.raises(FullTextInputError, match="MAX_DOCUMENT_CHARS"):
        await fulltext.index(SPEC.name, batch)

    assert await fulltext.versions(SPEC.name) == {"kept": 1}
    assert await found(fulltext, "后端") == []
    assert await found(fulltext, "java") == ["kept"]


async def test_a_document_at_the_size_limit_is_accepted(fulltext: FullTextStore) -> None:
    await fulltext.index(SPEC.name, [doc("big", "后端", "x " * ((MAX_DOCUMENT_CHARS - 2) // 2))])

    assert await found(fulltext, "后端") == ["big"]


async def test_an_undeclared_text_field_or_filter_writes_nothing(fulltext: FullTextStore) -> None:
    with pytest.raises(FullTextInputError, match="resume"):
        await fulltext.index(SPEC.name, [doc("ok", "后端"), Document("bad", ORG, {"resume": "后端工程师"})])
    with pytest.raises(FullTextInputError, match="salary"):
        await fulltext.index(SPEC.name, [doc("ok", "后端"), doc("bad", "后端", salary=30000)])
    with pytest.raises(FullTextInputError, match="nested"):
        await fulltext.index(SPEC.name, [doc("ok", "后端"), doc("bad", "后端", city={"nested": True})])

    assert await fulltext.versions(SPEC.name) == {}


async def test_an_oversized_or_empty_query_is_refused(fulltext: FullTextStore) -> None:
    await fulltext.index(SPEC.name, [doc("t1", "后端工程师")])

    with pytest.raises(FullTextInputError, match="MAX_QUERY_CHARS"):
        await fulltext.search(SPEC.name, ORG, "后端 " * (MAX_QUERY_CHARS // 3 + 1))
    for empty in ("", "   ", "，。！？", "...---"):
        with pytest.raises(FullTextInputError, match="no words"):
            await fulltext.search(SPEC.name, ORG, empty)
    assert await found(fulltext, "后端" + " " * (MAX_QUERY_CHARS - 2)) == ["t1"]


async def test_a_long_query_of_many_distinct_terms_is_searched(fulltext: FullTextStore) -> None:
    text = "".join(chr(0x4E00 + i) for i in range(MAX_QUERY_CHARS // 2))  # 499 distinct bigrams
    await fulltext.index(SPEC.name, [doc("all", "后端", text), doc("part", "前端", text[:40]), doc("none", "前端")])

    assert await found(fulltext, text) == ["all", "part"]


async def test_a_limit_out_of_range_is_refused(fulltext: FullTextStore) -> None:
    for limit in (0, -1, 1_000_000):
        with pytest.raises(FullTextInputError, match="limit"):
            await fulltext.search(SPEC.name, ORG, "后端", limit=limit)


async def test_an_unknown_index_is_refused_by_name(fulltext: FullTextStore) -> None:
    with pytest.raises(FullTextInputError, match="jobs"):
        await fulltext.search("jobs", ORG, "后端")
    with pytest.raises(FullTextInputError, match="jobs"):
        await fulltext.index("jobs", [doc("t1", "后端")])
    with pytest.raises(FullTextInputError, match="jobs"):
        await fulltext.versions("jobs")


async def test_a_bad_index_spec_is_refused(fulltext: FullTextStore) -> None:
    with pytest.raises(FullTextInputError, match="Jobs!"):
        await fulltext.ensure_index(IndexSpec("Jobs!", ("title",)))
    with pytest.raises(FullTextInputError, match="no text fields"):
        await fulltext.ensure_index(IndexSpec("jobs", ()))
    with pytest.raises(FullTextInputError, match="a.b"):
        await fulltext.ensure_index(IndexSpec("jobs", ("a.b",)))


async def test_ensure_index_again_keeps_the_documents_and_adds_new_fields(fulltext: FullTextStore) -> None:
    await fulltext.index(SPEC.name, [doc("t1", "后端工程师", city="北京")])
    await fulltext.ensure_index(SPEC)
    wider = IndexSpec(SPEC.name, (*SPEC.fields, "skills"), (*SPEC.filterable, "source"))
    await fulltext.ensure_index(wider)

    await fulltext.index(SPEC.name, [Document("t2", ORG, {"skills": "Python 后端"}, {"source": "referral"})])

    assert sorted(await found(fulltext, "后端")) == ["t1", "t2"]
    assert await found(fulltext, "后端", source="referral") == ["t2"]


async def test_versions_lists_every_document_or_one_orgs(fulltext: FullTextStore) -> None:
    await fulltext.index(SPEC.name, [doc("a", "后端", version=3), doc("b", "前端", version=1),
                                     doc("c", "测试", org=OTHER_ORG, version=7)])

    assert await fulltext.versions(SPEC.name) == {"a": 3, "b": 1, "c": 7}
    assert await fulltext.versions(SPEC.name, ORG) == {"a": 3, "b": 1}
    assert await fulltext.versions(SPEC.name, "org-3") == {}


async def test_a_hit_is_a_text_hit_with_a_positive_float_score(fulltext: FullTextStore) -> None:
    await fulltext.index(SPEC.name, [doc("t1", "后端工程师")])

    [hit] = await fulltext.search(SPEC.name, ORG, "后端")
    assert isinstance(hit, TextHit)
    assert isinstance(hit.score, float) and hit.score > 0


# The relational store's own promise: its corpus statistics are exact after any sequence of writes.

@pytest.mark.parametrize("backend", RELATIONAL, indirect=True)
async def test_scores_after_replacements_and_deletes_equal_a_fresh_index(fulltext: FullTextStore) -> None:
    final = [doc("a", "后端工程师", "熟悉Python与Go"), doc("b", "Python 后端", "分布式系统"),
             doc("c", "后端", "后端 后端 Java"), doc("d", "前端工程师", "React")]
    await fulltext.index(SPEC.name, [doc("a", "产品经理", "需求分析 后端"), doc("b", "后端 后端 后端"),
                                     doc("gone", "后端工程师 后端", "Python Python"), doc("d", "前端")])
    await fulltext.index(SPEC.name, [*final[:2], doc("c", "后端")])
    await fulltext.delete(SPEC.name, ORG, ["gone"])
    await fulltext.index(SPEC.name, final[2:])
    fresh = IndexSpec("fresh", SPEC.fields, SPEC.filterable)
    await fulltext.ensure_index(fresh)
    await fulltext.index(fresh.name, final)

    for query in ("后端", "python", "后端 python 分布式", "前端 react"):
        written = await fulltext.search(SPEC.name, ORG, query)
        rebuilt = await fulltext.search(fresh.name, ORG, query)
        assert [(hit.id, pytest.approx(hit.score, rel=1e-9)) for hit in written] == \
               [(hit.id, hit.score) for hit in rebuilt], query


# The embedded store shares one SQLite file between processes.

INDEX_IN_A_CHILD = """
    import asyncio, json, sys
    from shared.database.fulltext import Document
    from shared.database.fulltext_relational import RelationalFullText
    from shared.database.relational import open_relational

    async def main(url: str) -> None:
        relational = open_relational(url)
        store = RelationalFullText(relational)
        print("ready", flush=True)
        for line in iter(sys.stdin.readline, ""):
            batch = [Document(d["id"], d["org"], d["fields"], {}, d["version"]) for d in json.loads(line)]
            await store.index("talents", batch)
            print("indexed", flush=True)
        await relational.close()

    asyncio.run(main(sys.argv[1]))
"""


@pytest.fixture
async def sqlite_fulltext(tmp_path: Path) -> AsyncIterator[tuple[str, RelationalFullText]]:
    url = f"sqlite+aiosqlite:///{tmp_path}/looma.db"
    await upgrade_async(url)
    relational = open_relational(url)
    store = RelationalFullText(relational)
    await store.ensure_index(SPEC)
    yield url, store
    await relational.close()


def batch_line(*documents: Document) -> str:
    return json.dumps([{"id": d.id, "org": d.org_id, "fields": dict(d.fields), "version": d.version}
                       for d in documents], ensure_ascii=False)


async def test_a_document_indexed_by_another_process_is_found(
        sqlite_fulltext: tuple[str, RelationalFullText]) -> None:
    url, store = sqlite_fulltext
    async with python_process(INDEX_IN_A_CHILD, url) as child:
        assert await child.read_line() == "ready"
        await child.send_line(batch_line(doc("t1", "资深后端工程师", "熟悉Python")))
        assert await child.read_line() == "indexed"

        [hit] = await store.search(SPEC.name, ORG, "后端")
        assert hit.id == "t1" and hit.highlights == {"title": ["资深<em>后端</em>工程师"]}

        await child.send_line(batch_line(doc("t1", "前端工程师", version=2)))
        assert await child.read_line() == "indexed"
        assert await store.search(SPEC.name, ORG, "后端") == []
        assert await store.versions(SPEC.name) == {"t1": 2}
        assert child.process.stdin is not None
        child.process.stdin.close()
        await child.finish()


WRITERS = {"alpha": 1, "beta": 2}
SHARED_IDS = 40
OWN_IDS = 60
BATCH = 10


def writer_documents(writer: str) -> list[Document]:
    """Both writers replace the same shared ids, interleaved with ids of their own."""
    version = WRITERS[writer]
    shared = [doc(f"shared-{i:02d}", f"{writer} 后端工程师", f"共享 {writer} {i}", version=version)
              for i in range(SHARED_IDS)]
    own = [doc(f"{writer}-{i:02d}", "后端开发", f"{writer} 独有 {i}", version=version) for i in range(OWN_IDS)]
    return shared[:20] + own[:30] + shared[20:] + own[30:]


async def test_two_processes_indexing_at_once_leave_a_consistent_index(
        sqlite_fulltext: tuple[str, RelationalFullText]) -> None:
    url, store = sqlite_fulltext
    batches = {writer: writer_documents(writer) for writer in WRITERS}
    async with (python_process(INDEX_IN_A_CHILD, url) as alpha, python_process(INDEX_IN_A_CHILD, url) as beta):
        children = {"alpha": alpha, "beta": beta}
        assert [await child.read_line() for child in children.values()] == ["ready", "ready"]

        async def write_all(writer: str) -> None:
            child, documents = children[writer], batches[writer]
            for start in range(0, len(documents), BATCH):
                await child.send_line(batch_line(*documents[start:start + BATCH]))
                assert await child.read_line() == "indexed"
            assert child.process.stdin is not None
            child.process.stdin.close()
            _, errors = await child.finish()
            assert "database is locked" not in errors

        await asyncio.gather(*(write_all(writer) for writer in WRITERS))

    versions = await store.versions(SPEC.name)
    assert len(versions) == SHARED_IDS + 2 * OWN_IDS
    winners = {writer: {i for i, v in versions.items() if i.startswith("shared-") and v == WRITERS[writer]}
               for writer in WRITERS}
    assert len(winners["alpha"]) + len(winners["beta"]) == SHARED_IDS
    for writer in WRITERS:
        hits = {hit for hit in await found(store, writer, limit=1000) if hit.startswith("shared-")}
        assert hits == winners[writer], writer
    assert len(await found(store, "后端", limit=1000)) == SHARED_IDS + 2 * OWN_IDS

    final = {d.id: d for writer in WRITERS for d in batches[writer] if versions[d.id] == d.version}
    fresh = IndexSpec("fresh", SPEC.fields, SPEC.filterable)
    await store.ensure_index(fresh)
    await store.index(fresh.name, list(final.values()))
    for query in ("后端", "alpha 共享", "beta 独有"):
        written = await store.search(SPEC.name, ORG, query, limit=50)
        rebuilt = await store.search(fresh.name, ORG, query, limit=50)
        assert [(hit.id, pytest.approx(hit.score, rel=1e-9)) for hit in written] == \
               [(hit.id, hit.score) for hit in rebuilt], query
