"""Reading order for PDF pages from word positions: columns, running headers and footers, hyphens.

A PDF stores text in whatever order its generator drew it; many draw a two-column résumé row by
row, so the file's order reads "Python | Senior Engineer at ..." across both columns. This module
only sees words with boxes (top-down coordinates in points) and decides the order from geometry:

1. Words on one row are joined into fragments; a gap wider than the row's height (about four
   word spaces) ends a fragment, so the two columns of a row become two fragments.
2. A gutter is an x range that at most a quarter of the fragments cross, with at least three
   fragments and a tenth of them on each side. Fragments that cross it (a centred name, a
   full-width section title) cut the page into bands; inside a band the left column is read
   fully, then the right one. In a one-column résumé the paragraph lines cross any candidate,
   so no gutter is found.
3. Fragments repeated at the same height near the top or bottom of most pages are running
   headers and footers: kept once (headers first, footers last), and dropped entirely when they
   differ only in their digits (page numbers). On any page, text in the outer 7 % of its height
   is read before or after the columns, not as part of one.
4. Words broken by wrapping are joined again: English hyphenated at a line end (when the next
   line goes on in lower case) and Chinese wrapped mid-phrase (a line reaching the column's
   right edge, ending and continuing with a character rather than punctuation).

Limits, on purpose: one gutter per page (three columns read as two), no rotated or vertical text,
right-to-left scripts read left to right, and a block of short right-aligned entries (dates)
with no full-width line between them and the text beside it can be taken for a column.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field

from ai_services.resume_service.documents.normalise import is_cjk

_FRAGMENT_GAP = 1.0  # × row height: wider than this is a column gap, not a word space
_SPACE_GAP = 0.1  # × row height: narrower than this joins without a space (kerning)
_CJK_SPACE_GAP = 0.5  # ... between two Chinese characters with no space character between them
_SIDE_SHARE = 0.1  # each side of a gutter holds at least this share of the fragments beside it
_SIDE_CHARS = 0.03  # ... and of the page's characters (not a column of bullets or page numbers)
_PAGE_MARGIN = 0.07  # text this close to the top or bottom edge is a header or footer
_PARAGRAPH_GAP = 0.9  # × line height: a wider gap between lines is a blank line
_CJK_PUNCTUATION = "。！？；：，、）》」』】"
_MARGIN_ZONE = 0.15  # running headers/footers live in the top and bottom 15 % of the page
_RUNNING_SHARE = 0.6  # ... and repeat on at least 60 % of the pages (and on two at least)
_HYPHEN_END = re.compile(r"[A-Za-z](-|\x02)$")
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    space_after: bool = False  # the file has a space after it (between Chinese words, only that counts)


@dataclass
class PageWords:
    width: float
    height: float
    words: list[Word] = field(default_factory=list)
    text: str | None = None  # already in reading order (OCR): used as it is


@dataclass(slots=True)
class Fragment:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float

    @property
    def height(self) -> float:
        return max(self.bottom - self.top, 1.0)

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2


def lay_out(pages: list[PageWords]) -> list[str]:
    """The text of every page in reading order; running headers come once at the start of the
    first page's text and running footers once at the end of the last page's."""
    fragments = [_fragments(page.words) for page in pages]
    headers, footers = _drop_running(pages, fragments)
    texts = [page.text if page.text is not None else _page_text(_reading_order(frags, page))
             for page, frags in zip(pages, fragments)]
    if texts:
        texts[0] = "\n".join([*headers, texts[0]])
        texts[-1] = "\n".join([texts[-1], *footers])
    return texts


def _fragments(words: list[Word]) -> list[Fragment]:
    """Rows of words (by vertical middle), each split where a gap is wider than a column gap."""
    fragments: list[Fragment] = []
    for row in _rows(words):
        row.sort(key=lambda word: word.x0)
        height = max(min(w.bottom - w.top for w in row), 1.0)
        current = [row[0]]
        for word in row[1:]:
            if word.x0 - current[-1].x1 > _FRAGMENT_GAP * height:
                fragments.append(_joined(current, height))
                current = []
            current.append(word)
        fragments.append(_joined(current, height))
    return fragments


def _rows(words: list[Word]) -> list[list[Word]]:
    rows: list[list[Word]] = []
    if not words:
        return rows
    anchor = 0.0
    for word in sorted(words, key=lambda w: (w.top + w.bottom) / 2):
        middle = (word.top + word.bottom) / 2
        if rows and abs(middle - anchor) <= 0.5 * min(word.bottom - word.top, rows[-1][0].bottom - rows[-1][0].top):
            rows[-1].append(word)
        else:
            rows.append([word])
            anchor = middle
    return rows


def _joined(words: list[Word], height: float) -> Fragment:
    parts = [words[0].text]
    for before, word in itertools.pairwise(words):
        gap = word.x0 - before.x1
        cjk = is_cjk(before.text[-1]) and is_cjk(word.text[0])  # letter-spaced Chinese reads as one word
        spaced = before.space_after or gap > (_CJK_SPACE_GAP if cjk else _SPACE_GAP) * height
        parts.append(" " + word.text if spaced else word.text)
    return Fragment("".join(parts), words[0].x0, max(w.x1 for w in words),
                    min(w.top for w in words), max(w.bottom for w in words))


def _drop_running(pages: list[PageWords], fragments: list[list[Fragment]]) -> tuple[list[str], list[str]]:
    """Remove running headers/footers from `fragments` in place; return the texts to keep once."""
    needed = max(2, math.ceil(_RUNNING_SHARE * len(pages)))
    if len(pages) < 2:
        return [], []
    seen: dict[tuple[str, str], list[tuple[int, Fragment, float]]] = defaultdict(list)
    for index, (page, frags) in enumerate(zip(pages, fragments)):
        for fragment in frags:
            zone = _zone(fragment, page.height)
            if zone is not None:
                edge = fragment.top if zone == "top" else page.height - fragment.bottom
                seen[(zone, _DIGITS.sub("#", " ".join(fragment.text.split())))].append((index, fragment, edge))
    headers: list[str] = []
    footers: list[str] = []
    drop: set[int] = set()
    for (zone, _), occurrences in seen.items():
        same_place = max(([(i, f) for i, f, edge in occurrences if abs(edge - anchor) <= 4.0]
                          for _, _, anchor in occurrences), key=lambda found: len({i for i, _ in found}))
        if len({i for i, _ in same_place}) < needed:
            continue
        drop.update(id(f) for _, f in same_place)
        if len({f.text for _, f in same_place}) == 1:  # identical everywhere: keep it once
            (headers if zone == "top" else footers).append(same_place[0][1].text)
    for frags in fragments:
        frags[:] = [f for f in frags if id(f) not in drop]
    return headers, footers


def _zone(fragment: Fragment, height: float) -> str | None:
    if fragment.bottom <= _MARGIN_ZONE * height:
        return "top"
    if fragment.top >= (1 - _MARGIN_ZONE) * height:
        return "bottom"
    return None


def _reading_order(fragments: list[Fragment], page: PageWords) -> list[list[list[Fragment]]]:
    """Blocks of lines (a line: the fragments of one row, left to right) in reading order.

    Text in the top and bottom `_PAGE_MARGIN` of the page (a header or footer on a one-page
    résumé, where repetition cannot show it) comes first and last, outside any column.
    """
    top: list[Fragment] = []
    bottom: list[Fragment] = []
    body: list[Fragment] = []
    for fragment in fragments:
        if fragment.bottom <= _PAGE_MARGIN * page.height:
            top.append(fragment)
        elif fragment.top >= (1 - _PAGE_MARGIN) * page.height:
            bottom.append(fragment)
        else:
            body.append(fragment)
    blocks = [_lines(top)]
    gutter = _gutter(body, page.width)
    if gutter is None:
        blocks.append(_lines(body))
    else:
        left_edge, right_edge = gutter
        left: list[Fragment] = []
        right: list[Fragment] = []
        for fragment in sorted(body, key=lambda f: (f.middle, f.x0)):
            if fragment.x1 <= left_edge + 1:
                left.append(fragment)
            elif fragment.x0 >= right_edge - 1:
                right.append(fragment)
            else:  # spans the gutter: the band above it is finished
                blocks += [_lines(left), _lines(right), [[fragment]]]
                left, right = [], []
        blocks += [_lines(left), _lines(right)]
    blocks.append(_lines(bottom))
    return [block for block in blocks if block]


def _gutter(fragments: list[Fragment], width: float) -> tuple[float, float] | None:
    """The x range between two columns, as (end of the left column, start of the right), or None.

    Coverage counts the fragments over each point of x; candidates are runs where at most a
    quarter of the fragments cross. A candidate becomes the gutter when, after moving fragments
    that start inside it to the spanning side, each column keeps at least three fragments and
    `_SIDE_SHARE` of them, and the empty strip is at least half a line's height wide. The candidate
    crossed by the fewest fragments wins, then the one with the most even split.
    """
    if len(fragments) < 6 or width <= 0:
        return None
    size = int(width) + 2
    change = [0] * (size + 1)
    for f in fragments:
        start, end = max(0, int(f.x0) + 1), min(size, math.ceil(f.x1))
        if start < end:
            change[start] += 1
            change[end] -= 1
    cover, running = [], 0
    for step in change:
        running += step
        cover.append(running)
    allowed = max(2, len(fragments) // 4)
    total = sum(len(f.text) for f in fragments)
    line = sorted(f.height for f in fragments)[len(fragments) // 2]
    best: tuple[tuple[int, float], tuple[float, float]] | None = None
    x, stop = int(0.12 * width), int(0.88 * width)
    while x < stop:
        if cover[x] > allowed:
            x += 1
            continue
        run_end = x
        while run_end < stop and cover[run_end] <= allowed:
            run_end += 1
        lowest = min(cover[x:run_end])
        lows = [i for i in range(x, run_end) if cover[i] == lowest]
        candidate = _split(fragments, float(lows[len(lows) // 2]), total, line)
        if candidate is not None and (best is None or candidate[0] < best[0]):
            best = candidate
        x = run_end
    return best[1] if best else None


def _split(fragments: list[Fragment], at: float, total: int,
           line: float) -> tuple[tuple[int, float], tuple[float, float]] | None:
    left = [f for f in fragments if f.x1 <= at]
    right = [f for f in fragments if f.x0 >= at]
    if len(left) < 3 or len(right) < 3:
        return None
    starts = sorted(f.x0 for f in right)
    right_edge = starts[len(starts) // 4]  # right columns are left-aligned; a centred title starts early
    right = [f for f in right if f.x0 >= right_edge - 0.5 * line]
    spanning = len(fragments) - len(left) - len(right)
    left_edge = max(f.x1 for f in left)
    left_chars, right_chars = sum(len(f.text) for f in left), sum(len(f.text) for f in right)
    if (min(len(left), len(right)) < max(3, _SIDE_SHARE * (len(left) + len(right)))
            or spanning > max(2, len(fragments) // 4) or right_edge - left_edge < 0.5 * line
            or min(left_chars, right_chars) < _SIDE_CHARS * total):
        return None
    return (spanning, -min(len(left), len(right))), (left_edge, min(f.x0 for f in right))


def _lines(fragments: list[Fragment]) -> list[list[Fragment]]:
    lines: list[list[Fragment]] = []
    for fragment in sorted(fragments, key=lambda f: (f.middle, f.x0)):
        if lines and abs(fragment.middle - lines[-1][0].middle) <= 0.5 * min(fragment.height, lines[-1][0].height):
            lines[-1].append(fragment)
        else:
            lines.append([fragment])
    for line in lines:
        line.sort(key=lambda f: f.x0)
    return lines


def _page_text(blocks: list[list[list[Fragment]]]) -> str:
    """Blocks separated by blank lines, lines by newlines (and a blank line where the gap above is
    wider than `_PARAGRAPH_GAP`), a tab between fragments of one row. Two joins repair words
    broken by wrapping: an English word hyphenated at a line end when the next line goes on in
    lower case, and Chinese text wrapped mid-phrase (a line that reaches the block's right edge
    and ends with a character, not punctuation, continued by a line starting with a character)."""
    out: list[str] = []
    for block in blocks:
        if out:
            out.append("")
        right_edge = max(line[-1].x1 for line in block)
        previous: list[Fragment] | None = None
        for line in block:
            text = "\t".join(f.text for f in line)
            first = line[0]
            if previous is not None and first.top - previous[0].bottom > _PARAGRAPH_GAP * previous[0].height:
                out.append("")
                previous = None
            if previous is not None and _HYPHEN_END.search(out[-1]) and text[:1].islower():
                out[-1] = out[-1][:-1] + text
            elif previous is not None and _wrapped_cjk(out[-1], text, previous, right_edge):
                out[-1] += text
            else:
                out.append(text)
            previous = line
    return "\n".join(out).replace("\x02", "-")


def _wrapped_cjk(before: str, text: str, previous: list[Fragment], right_edge: float) -> bool:
    last = before[-1:]
    return (bool(last) and is_cjk(last) and last not in _CJK_PUNCTUATION and bool(text) and is_cjk(text[0])
            and text[0] not in _CJK_PUNCTUATION and previous[-1].x1 >= right_edge - 1.5 * previous[-1].height)
