"""The annotated corpora the taggers learn from and are measured on, read into texts with gold spans.

- ResumeNER (Zhang & Yang 2018): Chinese resume sentences, one character and its BMES tag a line.
- dotin-inc resume-dataset-NER-annotations: English Indeed resumes with inline
  `<label type="...">` spans. Its types map onto ours in DOTIN_LABELS.

Only the training and evaluation scripts and the tests read these; the service never does.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from ai_services.resume_service.entities.spans import tags_to_spans

DOTIN_LABELS = {
    "Name": "NAME",
    "Email Address": "EMAIL",
    "Designation": "TITLE",
    "Location": "LOC",
    "Years of Experience": "YEARS_EXP",
    "Companies worked at": "ORG",
    "College Name": "SCHOOL",
    "Degree": "EDU",
    "Job Specific Skills": "SKILL",
    "Tech Tools": "SKILL",
    "Soft Skills": "SKILL",
    "Graduation Year": "DATE",  # kept for learning, never scored
}
# What the English tagger learns: the three kinds of skill apart, since a tool ("MySQL"), a
# trade ("Defect Management") and a trait ("team player") stand in different company.
DOTIN_TAGGER_LABELS = {
    **DOTIN_LABELS,
    "Job Specific Skills": "SKILL",
    "Tech Tools": "TOOL",
    "Soft Skills": "SOFT_SKILL",
}
DEV_SHARE = 5  # one English resume in five is held out, chosen by a hash of its file name
# Five dotin resumes (20,000 to 63,000 characters) carry one label or none: they were never
# annotated, and learning from them would teach that nothing in a resume is an entity.
MIN_SPANS_PER_1000_CHARS = 0.5


@dataclass(frozen=True, slots=True)
class Annotated:
    """A text and its gold (label, start, end) spans; `name` says where it came from."""

    name: str
    text: str
    spans: tuple[tuple[str, int, int], ...]


def read_resumener(path: Path) -> list[Annotated]:
    """Sentences of a ResumeNER `.char.bmes` file, with their spans as (label, start, end)."""
    sentences: list[Annotated] = []
    chars: list[str] = []
    tags: list[str] = []

    def flush() -> None:
        if chars:
            offsets = [(i, i + 1) for i in range(len(chars))]
            spans = tuple(tags_to_spans(tags, offsets))
            sentences.append(Annotated(f"{path.name}:{len(sentences)}", "".join(chars), spans))
            chars.clear()
            tags.clear()

    with path.open(encoding="utf-8") as lines:
        for line in lines:
            line = line.rstrip("\n")
            if not line.strip():
                flush()
                continue
            # One character, a space, the tag; the character itself may be a blank.
            chars.append(line[0])
            tags.append(line.rsplit(" ", 1)[1])
    flush()
    return sentences


def read_dotin(path: Path, labels: Mapping[str, str] = DOTIN_LABELS) -> Annotated:
    """One dotin resume: the plain text is the XML with the tags removed (entities unescaped);
    `labels` maps the corpus's types to ours."""
    root = ElementTree.parse(path).getroot()
    parts: list[str] = [root.text or ""]
    spans: list[tuple[str, int, int]] = []
    offset = len(parts[0])
    for element in root:
        inner = element.text or ""
        label = labels.get(element.get("type", ""))
        if label and inner.strip():
            spans.append((label, offset, offset + len(inner)))
        tail = element.tail or ""
        parts += [inner, tail]
        offset += len(inner) + len(tail)
    return Annotated(path.name, "".join(parts), tuple(spans))


def is_dotin_dev(name: str) -> bool:
    """The fixed English held-out split: a resume is dev when crc32 of its file name is 0 mod 5."""
    return zlib.crc32(name.encode("utf-8")) % DEV_SHARE == 0


def is_unannotated(resume: Annotated) -> bool:
    """A resume too long for its few labels to be an annotation of it (see MIN_SPANS_PER_1000_CHARS)."""
    return len(resume.spans) * 1000 < MIN_SPANS_PER_1000_CHARS * max(len(resume.text), 1)


def dotin_resumes(folder: Path, split: str, labels: Mapping[str, str] = DOTIN_LABELS) -> Iterator[Annotated]:
    """The resumes of one split ("train" or "dev") in file-name order."""
    if split not in ("train", "dev"):
        raise ValueError(f"split {split!r}: expected 'train' or 'dev'")
    for path in sorted(folder.glob("*.xml"), key=lambda p: p.name):
        if is_dotin_dev(path.name) == (split == "dev"):
            yield read_dotin(path, labels)
