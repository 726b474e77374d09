"""English resumes: tokens, and the features a token-level CRF sees for each.

A resume is tagged as one sequence of tokens (BIO tags), because what a phrase is depends on
where it stands: the first line is a name, the line under it a title, "Company - City" lines
follow a title in WORK EXPERIENCE, and a list under SKILLS holds skills. So besides the word, its
shape and its neighbours, each token sees its line (position, length, whether it is a heading or
follows a blank; flattened resumes are read as lines at their runs of blanks), the section it is
in, the phrases the lexicon knows on its line and the lines around it (job titles, places, degree,
employer and school words, skills of the taxonomy), the run of capitalised words it belongs to,
and the list item it is in.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

from ai_services.resume_service.entities.lexicon import HEADINGS, US_STATE_CODES, PhraseLexicon
from shared.skills import SkillTaxonomy

# Some resumes carry bytes written out as text ("\\xe2\\x80\\xa2" for a bullet): one token each run.
TOKEN = re.compile(r"(?:\\x[0-9a-fA-F]{2})+|\w+|[^\w\s]")
# Tagger labels that are finer than the entity labels (see corpora.DOTIN_TAGGER_LABELS).
ENTITY_LABEL = {"TOOL": "SKILL", "SOFT_SKILL": "SKILL"}
_YEAR = re.compile(r"(?:19|20)\d\d")
_STATE_CODES = frozenset(US_STATE_CODES)
_SHAPES = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
    "X" * 26 + "x" * 26 + "d" * 10,
)


def tokenize(text: str) -> list[tuple[int, int]]:
    """Word runs and single punctuation marks: fine enough that annotated spans start and end on
    token boundaries (99.5 % of them in the dotin resumes), "C++" being three tokens."""
    return [match.span() for match in TOKEN.finditer(text)]


def _is_spaced(text: str) -> bool:
    """Some resumes arrive flattened: one line, with two blanks where a line break was and four
    where a blank line was. Lines are then read from the blanks."""
    return text.count("\n") * 300 < len(text)


_BREAK = re.compile(r"(?:[ \t]*\n)+[ \t]*")
_BREAK_SPACED = re.compile(r"(?:[ \t]*\n)+[ \t]*|[ \t]{2,}")


def _lines(text: str) -> tuple[list[int], list[bool]]:
    """Where each line starts, and whether a blank line (or a wide gap) comes before it."""
    starts, after_gap = [0], [True]
    spaced = _is_spaced(text)
    for match in (_BREAK_SPACED if spaced else _BREAK).finditer(text):
        gap = match.group()
        starts.append(match.end())
        after_gap.append(gap.count("\n") >= 2 or (spaced and len(gap) >= 4))
    return starts, after_gap


def _shape(token: str) -> str:
    if token.startswith("\\x") and len(token) >= 4:
        return "BYTES"
    shape = token.translate(_SHAPES)
    collapsed = [shape[0]]
    for char in shape[1:]:
        if char != collapsed[-1]:
            collapsed.append(char)
    return "".join(collapsed[:6])


_JOINERS = frozenset(("of", "and", "&", "for", "the", "de", "in"))


def _capitalised_runs(words: Sequence[str], line_of: Sequence[int]) -> list[tuple[int, int]]:
    """(first, stop) of each run of capitalised words on one line, small joiners allowed inside
    ("University of Minnesota", "Tata Consultancy Services"): a run's last word says most about
    what it names (University, Services, Engineer)."""
    runs = []
    index = 0
    count = len(words)
    while index < count:
        if not words[index][:1].isupper():
            index += 1
            continue
        stop = index + 1
        while stop < count and line_of[stop] == line_of[index]:
            word = words[stop]
            if word[:1].isupper() or (word.lower() in _JOINERS and stop + 1 < count and words[stop + 1][:1].isupper()):
                stop += 1
            else:
                break
        runs.append((index, stop))
        index = stop
    return runs


_SEPARATORS = frozenset((",", ";", "•", "|", "·", "●", "▪", "/", "(", ")"))


def _list_items(words: Sequence[str], shapes: Sequence[str], line_of: Sequence[int]) -> list[tuple[int, int]]:
    """(first, stop) of the stretches between list separators (commas, bullets, line ends), "and"
    closing a list too."""
    items = []
    first = 0
    for index, word in enumerate(words):
        closes = word in _SEPARATORS or shapes[index] == "BYTES" or word.lower() == "and"
        if closes or (index and line_of[index] != line_of[index - 1]):
            if first < index:
                items.append((first, index))
            first = index + 1 if closes else index
    if first < len(words):
        items.append((first, len(words)))
    return items


def _bucket(value: int, edges: Sequence[int]) -> int:
    return bisect.bisect_right(edges, value)


def features(text: str, tokens: Sequence[tuple[int, int]], lexicon: PhraseLexicon,
             skills: SkillTaxonomy) -> list[list[str]]:
    """One list of feature strings per token."""
    words = [text[start:end] for start, end in tokens]
    lower = [word.lower() for word in words]
    shapes = [_shape(word) for word in words]
    count = len(tokens)
    out: list[list[str]] = [[] for _ in range(count)]

    matches = lexicon.find(words)
    for kind, first_token, stop in matches:
        out[first_token].append(f"g={kind}:B")
        for index in range(first_token + 1, stop):
            out[index].append(f"g={kind}:I")
        out[stop - 1].append(f"g={kind}:E")

    # Lines: which tokens each holds, and what the line is in the resume.
    line_starts, after_gap = _lines(text)
    line_of = [bisect.bisect_right(line_starts, start) - 1 for start, _ in tokens]
    lines: dict[int, list[int]] = {}
    for index, line in enumerate(line_of):
        lines.setdefault(line, []).append(index)
    kinds_in_line: dict[int, set[str]] = {}
    for kind, first_token, _ in matches:
        kinds_in_line.setdefault(line_of[first_token], set()).add(kind)
    for index, word in enumerate(words):
        if _YEAR.fullmatch(word):
            kinds_in_line.setdefault(line_of[index], set()).add("year")
    ordered = sorted(lines)
    section = "top"
    layout = "spaced" if _is_spaced(text) else "lines"
    for rank, (line, members) in enumerate(sorted(lines.items())):
        line_text = " ".join(lower[i] for i in members)
        letters = [words[i] for i in members if words[i][0].isalpha()]
        heading = HEADINGS.get(line_text.rstrip(" :"))
        if heading is None and letters and len(members) <= 6 and all(word.isupper() for word in letters):
            heading = "caps"
        if heading:
            section = heading if heading != "caps" else section
        size = _bucket(len(members), (2, 3, 4, 7, 11))
        first = lower[members[0]]
        # Sorted: crfsuite numbers features in the order it meets them, and a model file should
        # not depend on the order a set happens to iterate in.
        context = [f"lk={kind}" for kind in sorted(kinds_in_line.get(line, ()))]
        if rank:
            context += [f"pk={kind}" for kind in sorted(kinds_in_line.get(ordered[rank - 1], ()))]
        if rank + 1 < len(ordered):
            context += [f"nk={kind}" for kind in sorted(kinds_in_line.get(ordered[rank + 1], ()))]
        segment = 0
        for position, index in enumerate(members):
            if words[index] in ("-", "|", "–", "—") and 0 < position < len(members) - 1:
                segment += 1
            feats = out[index]
            feats += context
            feats += [f"ln={min(rank, 5)}", f"sec={section}", f"tn={size}", f"lay={layout}",
                      f"ti={_bucket(position, (1, 2, 3, 4, 7))}", f"seg={min(segment, 2)}"]
            if heading:
                feats.append("hd")
            if after_gap[line]:
                feats.append("ab")
            if position == len(members) - 1:
                feats.append("eol")
            if position:
                feats.append(f"fw={first}")

    for first_token, stop in _capitalised_runs(words, line_of):
        head, opener = lower[stop - 1], lower[first_token]
        size = f"cl={min(stop - first_token, 6)}"
        for index in range(first_token, stop):
            out[index] += [f"ch={head}", f"co={opener}", size]

    starts = [start for start, _ in tokens]
    skilled = bytearray(count)  # 1 where a token is part of a skill the taxonomy knows
    for mention in skills.extract(text):
        first_token = bisect.bisect_left(starts, mention.start)
        stop = bisect.bisect_left(starts, mention.end)
        category = mention.skill.category
        for index in range(first_token, stop):
            out[index] += ["sk:B" if index == first_token else "sk:I", f"skc={category}"]
            skilled[index] = 1

    # Lists: "C++, Cocos2d-X, Cocostudio, Flash" or "• ITIL Framework • Conflict Resolution". An
    # item of a list whose neighbours are known skills is likely a skill itself.
    items = _list_items(words, shapes, line_of)
    for number, (first_token, stop) in enumerate(items):
        in_list = len(items) > 1
        neighbours = [items[n] for n in (number - 1, number + 1) if 0 <= n < len(items)
                      and line_of[items[n][0]] == line_of[first_token]]
        near_skill = any(skilled.find(1, a, b) != -1 for a, b in neighbours)
        size = f"is={min(stop - first_token, 5)}"
        for index in range(first_token, stop):
            feats = out[index]
            feats.append(size)
            if near_skill:
                feats.append("ins")
            if neighbours and in_list:
                feats.append("inl")

    padded = ["<s>", "<s>", *lower, "</s>", "</s>"]
    padded_shapes = ["<s>", "<s>", *shapes, "</s>", "</s>"]
    for index in range(count):
        word, shape = words[index], shapes[index]
        w = lower[index]
        i = index + 2
        feats = out[index]
        feats += [
            "b", f"w={w}", f"sh={shape}", f"p3={w[:3]}", f"s3={w[-3:]}", f"s2={w[-2:]}",
            f"w-1={padded[i - 1]}", f"w+1={padded[i + 1]}", f"w-2={padded[i - 2]}", f"w+2={padded[i + 2]}",
            f"sh-1={padded_shapes[i - 1]}", f"sh+1={padded_shapes[i + 1]}",
            f"w-1w={padded[i - 1]}|{w}", f"ww+1={w}|{padded[i + 1]}",
            f"len={min(len(word), 8)}",
        ]
        if word.istitle():
            feats.append("title")
        elif word.isupper():
            feats.append("upper")
        if _YEAR.fullmatch(word):
            feats.append("year")
        if word in _STATE_CODES:
            feats.append("state")
    return out


# Below its best sequence, the tagger often gives a phrase a fair chance of being an entity
# without choosing it: a skill in a list it cannot place, an employer in an unusual line. The
# judgement counts each (label, text) once per resume, so a phrase found at any one mention is
# found; adding the phrases whose probability passes a per-label bar trades a little precision
# for more recall. The bars were chosen on three inner fifths of the training resumes (a tagger
# trained on the other four each time); a label absent here gained nothing from such spans.
LIKELY_SPAN_PROBABILITY: dict[str, float] = {"TOOL": 0.15, "SOFT_SKILL": 0.2, "LOC": 0.3, "YEARS_EXP": 0.3}


def likely_spans(tokens: Sequence[tuple[int, int]], tags: Sequence[str],
                 marginals: dict[str, list[float]]) -> list[tuple[str, int, int]]:
    """(tagger label, start, end) of the runs the best tag sequence leaves out (every token "O")
    whose first token is B-label and each following token I-label with at least the label's
    probability in LIKELY_SPAN_PROBABILITY."""
    found = []
    count = len(tokens)
    for label, bar in LIKELY_SPAN_PROBABILITY.items():
        begins, inside = marginals.get(f"B-{label}"), marginals.get(f"I-{label}")
        if begins is None or inside is None:
            continue
        index = 0
        while index < count:
            if begins[index] < bar:
                index += 1
                continue
            stop = index + 1
            while stop < count and inside[stop] >= bar:
                stop += 1
            if all(tag == "O" for tag in tags[index:stop]):
                found.append((label, tokens[index][0], tokens[stop - 1][1]))
            index = stop
    return found


def likely_tags() -> list[str]:
    """The tags whose marginals likely_spans reads."""
    return [f"{part}-{label}" for label in LIKELY_SPAN_PROBABILITY for part in "BI"]
