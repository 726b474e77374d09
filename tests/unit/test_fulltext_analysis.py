"""The analysis both full-text stores share: what `analyse` makes of text, and highlights built on it."""

from __future__ import annotations

import html
import re

import pytest

from shared.database.fulltext import MAX_TERM_CHARS, analyse, token_spans
from shared.database.fulltext_relational import FRAGMENT_CHARS, highlight


@pytest.mark.parametrize(("text", "terms"), [
    # Runs of CJK characters become overlapping bigrams, as Elasticsearch's cjk analyzer makes them.
    ("资深后端工程师", ["资深", "深后", "后端", "端工", "工程", "程师"]),
    ("后端", ["后端"]),
    # A lone character between non-CJK text stays a unigram.
    ("后", ["后"]),
    ("张 三", ["张", "三"]),
    ("5年以上Java开发经验", ["5", "年以", "以上", "java", "开发", "发经", "经验"]),
    # Mixed text: CJK runs and words split where the script changes.
    ("熟悉Python与Go", ["熟悉", "python", "与", "go"]),
    ("Python 后端", ["python", "后端"]),
    ("熟悉Java+Spring+MySQL", ["熟悉", "java", "spring", "mysql"]),
    # Punctuation, ASCII or CJK, only separates.
    ("后端、前端。测试！", ["后端", "前端", "测试"]),
    ("Java/Go, SQL; (Linux)", ["java", "go", "sql", "linux"]),
    ("R&D -- e-mail...", ["r", "d", "e", "mail"]),
    ("%_*'\"", []),
    ("，。！？、", []),
    ("", []),
    # NFKC: full-width letters and digits become ASCII, then lower case.
    ("ＰＹＴＨＯＮ３", ["python3"]),
    ("Ｃ＋＋ ＆ Ｃ＃", ["c++", "c#"]),
    ("ｶﾀｶﾅ", ["カタ", "タカ", "カナ"]),
    ("ﬁle", ["file"]),
    # Programming languages and frameworks keep their marks.
    ("C++ C# F# Node.js Vue.js .NET", ["c++", "c#", "f#", "node.js", "vue.js", "net"]),
    ("精通C++/C#，熟悉Node.js和Vue.js", ["精通", "c++", "c#", "熟悉", "node.js", "和", "vue.js"]),
    ("C++11 and Python3.11", ["c++", "11", "and", "python3.11"]),
    ("I know Node.js.", ["i", "know", "node.js"]),
    # Japanese kana, Korean hangul and supplementary-plane ideographs are CJK too.
    ("ひらがな", ["ひら", "らが", "がな"]),
    ("한국어", ["한국", "국어"]),
    ("𠮷野家", ["𠮷野", "野家"]),
    # Lucene lowers İ to i; Python would make it i plus a combining dot and split the word.
    ("İstanbul", ["istanbul"]),
])
def test_analyse(text: str, terms: list[str]) -> None:
    assert analyse(text) == terms


def test_a_word_longer_than_the_term_limit_is_cut_into_pieces() -> None:
    terms = analyse("a" * (2 * MAX_TERM_CHARS + 10) + " ok")

    assert [len(term) for term in terms] == [MAX_TERM_CHARS, MAX_TERM_CHARS, 10, 2]


@pytest.mark.parametrize("text", [
    "资深后端工程师，熟悉Python与Go",
    "ＰＹＴＨＯＮ工程师 and Node.js",
    "C++ C# 𠮷野家 İstanbul ﬁle",
    "a" * 600,
])
def test_token_spans_are_the_terms_with_their_place_in_the_original_text(text: str) -> None:
    spans = token_spans(text)

    assert [term for term, _, _ in spans] == analyse(text)
    for term, start, end in spans:
        assert analyse(text[start:end]) == [term]


def test_highlight_wraps_matches_in_em_and_merges_overlapping_bigrams() -> None:
    text = "资深后端工程师，熟悉Python"

    assert highlight(text, {"后端"}) == ["资深<em>后端</em>工程师，熟悉Python"]
    assert highlight(text, set(analyse("后端工程"))) == ["资深<em>后端工程</em>师，熟悉Python"]
    assert highlight(text, {"后端", "python"}) == ["资深<em>后端</em>工程师，熟悉<em>Python</em>"]
    assert highlight(text, {"java"}) == []


def test_highlight_escapes_html_as_elasticsearch_does() -> None:
    [fragment] = highlight("<script>alert('x')</script> Python & \"Go\"", {"python"})

    assert fragment == ("&lt;script&gt;alert(&#x27;x&#x27;)&lt;&#x2F;script&gt; <em>Python</em> "
                        "&amp; &quot;Go&quot;")


def test_highlight_of_a_long_text_gives_short_fragments_in_text_order() -> None:
    filler = "负责日常运营工作并与同事保持沟通。" * 20
    text = filler + "熟悉Python。" + filler + "精通Python与Go。" + filler

    fragments = highlight(text, {"python"})

    assert len(fragments) == 2
    for fragment in fragments:
        plain = html.unescape(re.sub(r"</?em>", "", fragment))
        assert plain in text
        assert len(plain) <= FRAGMENT_CHARS
        assert fragment.count("<em>Python</em>") == 1
    assert "与Go" in fragments[1]


def test_highlight_does_not_cut_an_english_word_at_a_fragment_edge() -> None:
    text = " ".join(["lorem"] * 40 + ["python"] + ["ipsum"] * 40)

    [fragment] = highlight(text, {"python"})

    words = fragment.split()
    assert "<em>python</em>" in words
    assert set(words) <= {"lorem", "ipsum", "<em>python</em>"}
