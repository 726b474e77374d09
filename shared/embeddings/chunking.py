"""Long text (a résumé, a job description) cut into chunks that each fit the embedding model.

    from shared.embeddings.chunking import Section, chunk_text

    chunks = chunk_text(resume, sections=[Section("experience", 120, 2400), Section("education", 2400, 2900)])
    vectors = await provider.embed([chunk.text for chunk in chunks], kind="passage")
    # chunk.start and chunk.end locate each vector's text in `resume`: resume[chunk.start:chunk.end] == chunk.text

Sizes are counted in estimated model tokens (`estimate_tokens`), not characters, because one
Chinese character costs the model about as much as four Latin letters. Chunks are cut at the best
break the budget allows: a paragraph, then a sentence end or line, then a space or comma, then
between two CJK characters, and inside a run of letters only when a run alone exceeds the budget.
Plain standard library, no model and no I/O: the same text always gives the same chunks.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_OVERLAP_TOKENS",
    "MIN_MAX_TOKENS",
    "Chunk",
    "Section",
    "chunk_text",
    "estimate_tokens",
]

DEFAULT_MAX_TOKENS = 200
"""multilingual-e5 reads at most 512 tokens, and `passage: ` plus the two special tokens take about
five of them. The estimate is deliberately rough: the model's tokenizer counts about 0.8 of it on
Chinese résumé text and about 1.0 on English prose, but up to 1.9 on contact lines and dates, whose
digits and punctuation split finely. 200 estimated tokens leave room for a real count of 2.5 times
the estimate. Chunks of this size also stay about one job or one degree long, which keeps a match
pointing at the part of a résumé that made it."""

DEFAULT_OVERLAP_TOKENS = 30
"""About one sentence (15% of a chunk), repeated from the end of one chunk at the start of the
next, so that the text on either side of a cut (a title and the sentence after it) is read together
in at least one chunk."""

MIN_MAX_TOKENS = 16
"""Below this a chunk no longer holds a sentence, and the overlap rule has nothing to choose from."""

_CHARS_PER_TOKEN = 4

# Han (with radicals, strokes and compatibility ideographs), kana, hangul, bopomofo, CJK symbols and
# punctuation, and full-width forms: one estimated token per character. U+3000, the ideographic
# space, is whitespace and stays out.
_CJK = (
    "\u1100-\u11ff\u2e80-\u2fdf\u3001-\u303f\u3040-\u30ff\u3100-\u312f\u3130-\u318f\u3190-\u31ff"
    "\u3200-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff"
    "\ufe10-\ufe1f\ufe30-\ufe6f\uff01-\uffef\U00020000-\U0003134f"
)
_RUN = re.compile(rf"(?P<cjk>[{_CJK}]+)|[^\s{_CJK}]+")
_CJK_BREAK = re.compile("[。！？；｡．…，、：]")
_LINE_BREAK = re.compile(r"\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")
_SURROGATE = re.compile("[\ud800-\udfff]")

_SENTENCE_ENDS = "。！？；｡．…"
_LATIN_SENTENCE_ENDS = ".!?"
_COMMAS = "，、：,"
_CLOSERS = "\"')]}”’」』）》】"
_BULLETS = "•●○◦▪■□◆◇►▸▶‣∙"

# Break levels, best last. A chunk ends before an atom; the level of that atom says how good a place
# that is to cut.
_IN_RUN = 0  # inside a run of letters or digits: the last resort
_IN_CJK = 1  # between two CJK characters, or where a CJK run meets a Latin one
_WORD = 2  # at a space or a comma
_SENTENCE = 3  # after a sentence end, at a line break or before a bullet
_PARAGRAPH = 4  # at a blank line


@dataclass(frozen=True, slots=True)
class Chunk:
    """One piece of the text to embed: `text` is exactly `source[start:end]`."""

    index: int
    start: int
    end: int
    text: str
    section: str | None


class Section(NamedTuple):
    """A named span of the text, such as a résumé's "experience"; chunks never cross its ends."""

    name: str
    start: int
    end: int


def estimate_tokens(text: str) -> int:
    """The model tokens `text` is taken to cost: one per CJK character, and one per four characters
    (at least one) of every other run of non-space characters. Whitespace costs nothing."""
    tokens = 0
    for run in _RUN.finditer(text):
        length = run.end() - run.start()
        tokens += length if run.lastgroup == "cjk" else -(-length // _CHARS_PER_TOKEN)
    return tokens


def chunk_text(
    text: str,
    *,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    overlap_tokens: int = DEFAULT_OVERLAP_TOKENS,
    sections: Sequence[Section] | None = None,
) -> list[Chunk]:
    """`text` cut into chunks of at most `max_tokens` estimated tokens, in text order.

    Each chunk after the first in a section starts up to `overlap_tokens` before the previous one
    ended, at the best break there. Chunks never cross the end of a section and carry its name;
    text outside every section forms chunks whose section is None. Whitespace is trimmed from both
    ends of every chunk (by moving `start` and `end`), so whitespace alone gives no chunk.

    `sections` must be sorted, must not overlap and must lie within the text; a ValueError names
    the offending section or argument.
    """
    _check_budget(max_tokens, overlap_tokens)
    regions = _regions(text, _checked_sections(text, sections or ()))
    has_surrogates = _SURROGATE.search(text) is not None
    chunks: list[Chunk] = []
    for name, start, end in regions:
        atoms = _Atoms.of(text, start, end, has_surrogates)
        for first, last in _spans(atoms.levels, max_tokens, overlap_tokens):
            begin, finish = atoms.starts[first], atoms.ends[last - 1]
            chunks.append(Chunk(len(chunks), begin, finish, text[begin:finish], name))
    return chunks


def _check_budget(max_tokens: int, overlap_tokens: int) -> None:
    if max_tokens < MIN_MAX_TOKENS:
        raise ValueError(f"max_tokens must be at least {MIN_MAX_TOKENS}, got {max_tokens}")
    if overlap_tokens < 0:
        raise ValueError(f"overlap_tokens must not be negative, got {overlap_tokens}")
    if 2 * overlap_tokens >= max_tokens:
        raise ValueError(
            f"overlap_tokens must be less than half of max_tokens ({max_tokens}), got {overlap_tokens}"
        )


def _checked_sections(text: str, sections: Sequence[Section]) -> list[Section]:
    checked: list[Section] = []
    previous_end = 0
    for i, (name, start, end) in enumerate(sections):
        where = f"sections[{i}] ({name!r}, {start}, {end})"
        if not isinstance(name, str) or not name:
            raise ValueError(f"{where}: the name must be a non-empty string")
        if not 0 <= start <= end <= len(text):
            raise ValueError(f"{where}: must satisfy 0 <= start <= end <= len(text) = {len(text)}")
        if start < previous_end:
            raise ValueError(
                f"{where}: starts before the previous section ends at {previous_end};"
                " sections must be sorted and must not overlap"
            )
        checked.append(Section(name, start, end))
        previous_end = end
    return checked


def _regions(text: str, sections: list[Section]) -> list[tuple[str | None, int, int]]:
    """The sections and, as None, the stretches of text between and around them, in order."""
    regions: list[tuple[str | None, int, int]] = []
    position = 0
    for name, start, end in sections:
        if position < start:
            regions.append((None, position, start))
        regions.append((name, start, end))
        position = end
    if position < len(text):
        regions.append((None, position, len(text)))
    return regions


class _Atoms:
    """A region as atoms of exactly one estimated token each: a CJK character, or up to four
    characters of another run. `levels[i]` is how good a break lies just before atom i."""

    __slots__ = ("ends", "levels", "starts")

    def __init__(self) -> None:
        self.starts = array("q")
        self.ends = array("q")
        self.levels = bytearray()

    @classmethod
    def of(cls, text: str, start: int, end: int, has_surrogates: bool) -> _Atoms:
        atoms = cls()
        previous_end, previous_cjk = -1, False
        for run in _RUN.finditer(text, start, end):
            run_start, run_end = run.span()
            cjk = run.lastgroup == "cjk"
            if previous_end < 0:  # the region's first atom: nothing before it to break from, never read
                atoms.levels.append(_PARAGRAPH)
            else:
                atoms.levels.append(_level_before(text, previous_end, run_start, previous_cjk, cjk))
            if cjk:
                atoms._add_cjk(text, run_start, run_end)
            else:
                atoms._add_run(text, run_start, run_end, has_surrogates)
            previous_end, previous_cjk = run_end, cjk
        return atoms

    def _add_cjk(self, text: str, start: int, end: int) -> None:
        self.starts.extend(range(start, end))
        self.ends.extend(range(start + 1, end + 1))
        levels = bytearray([_IN_CJK]) * (end - start - 1)
        for mark in _CJK_BREAK.finditer(text, start, end - 1):
            levels[mark.start() - start] = _SENTENCE if mark.group() in _SENTENCE_ENDS else _WORD
        self.levels += levels

    def _add_run(self, text: str, start: int, end: int, has_surrogates: bool) -> None:
        if has_surrogates:
            cuts = _cuts_keeping_pairs(text, start, end)
        else:
            cuts = list(range(start + _CHARS_PER_TOKEN, end, _CHARS_PER_TOKEN))
        self.starts.append(start)
        self.starts.extend(cuts)
        self.ends.extend(cuts)
        self.ends.append(end)
        self.levels += bytearray(len(cuts))  # _IN_RUN


def _cuts_keeping_pairs(text: str, start: int, end: int) -> list[int]:
    """Every fourth position of a run, one earlier where it would part a UTF-16 surrogate pair."""
    cuts = []
    position = start + _CHARS_PER_TOKEN
    while position < end:
        if "\udc00" <= text[position] <= "\udfff" and "\ud800" <= text[position - 1] <= "\udbff":
            position -= 1
        cuts.append(position)
        position += _CHARS_PER_TOKEN
    return cuts


def _level_before(text: str, previous_end: int, start: int, previous_cjk: bool, cjk: bool) -> int:
    """How good a break lies between a run ending at `previous_end` and the next starting at `start`."""
    gap = text[previous_end:start]  # whitespace only, or empty where a CJK run meets another
    if gap and gap != " ":
        line_breaks = len(_LINE_BREAK.findall(gap))
        if line_breaks >= 2 or "\u2029" in gap:
            return _PARAGRAPH
        if line_breaks:
            return _SENTENCE
    last = text[previous_end - 1]
    if last in _CLOSERS and previous_end >= 2:
        last = text[previous_end - 2]
    if last in _SENTENCE_ENDS or (gap and last in _LATIN_SENTENCE_ENDS) or (gap and text[start] in _BULLETS):
        return _SENTENCE
    if gap or last in _COMMAS:
        return _WORD
    return _IN_CJK if previous_cjk or cjk else _IN_RUN


def _spans(levels: bytearray, max_tokens: int, overlap_tokens: int) -> list[tuple[int, int]]:
    """Chunks as [first, last) atom ranges: each ends at the best break within the budget, and the
    next starts at the best break within the overlap before that end."""
    spans: list[tuple[int, int]] = []
    count = len(levels)
    first = cut = 0
    while first < count:
        if first + max_tokens >= count:
            spans.append((first, count))
            break
        cut = _cut(levels, first, cut, first + max_tokens, max_tokens // 2)
        spans.append((first, cut))
        first = _overlap_start(levels, first, cut, overlap_tokens)
    return spans


def _cut(levels: bytearray, first: int, previous_cut: int, limit: int, min_fill: int) -> int:
    """Where to end a chunk starting at atom `first`: the latest of the best breaks after `min_fill`
    atoms (so chunks stay reasonably full), or, if that would mean cutting inside a run, the best
    anywhere after the previous chunk's end (so every chunk adds text)."""
    cut = _best_break(levels, first + min_fill, limit, latest=True)
    if levels[cut] == _IN_RUN:
        cut = _best_break(levels, max(first, previous_cut) + 1, limit, latest=True)
    return cut


def _overlap_start(levels: bytearray, first: int, cut: int, overlap_tokens: int) -> int:
    """Where the chunk after [first, cut) starts: the earliest of the best breaks in the last
    `overlap_tokens` atoms, preferring ones that repeat at least half of them. Always after `first`,
    so every chunk adds text."""
    low = max(first + 1, cut - overlap_tokens)
    if overlap_tokens == 0 or low >= cut:
        return cut
    start = _best_break(levels, low, max(low, cut - (overlap_tokens + 1) // 2), latest=False)
    if levels[start] == _IN_RUN:
        start = _best_break(levels, low, cut - 1, latest=False)
    return start


def _best_break(levels: bytearray, low: int, high: int, *, latest: bool) -> int:
    """The position in [low, high] of the highest level there, the latest or earliest one of it."""
    find = levels.rfind if latest else levels.find
    for level in range(_PARAGRAPH, _IN_RUN - 1, -1):
        position = find(level, low, high + 1)
        if position >= 0:
            return position
    raise AssertionError(f"no break in [{low}, {high}]")
