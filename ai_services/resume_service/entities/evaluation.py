"""Measuring extract_entities on the annotated corpora, the way the held-out judgement does.

- Chinese: each ResumeNER sentence is sent alone; spans must match exactly; SCHOOL counts as ORG.
- English: each dotin resume's plain text is sent whole; per resume the SET of (label, text)
  pairs is compared (case and whitespace aside), so a skill named five times counts once.
  `distinct=False` counts every mention instead, to show what duplicates would change.

The training and evaluation scripts and the tests all measure through these two functions.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from ai_services.resume_service.entities.corpora import Annotated
from ai_services.resume_service.entities.extraction import extract_entities
from ai_services.resume_service.entities.scoring import (
    ALIASES_ZH,
    JUDGED_EN,
    JUDGED_ZH,
    Scores,
    normalise_mention,
    score,
    span_keys,
    text_keys,
)


@dataclass(frozen=True)
class Evaluation:
    scores: Scores
    documents: int
    characters: int
    seconds: float  # time spent in extract_entities


def evaluate_chinese(sentences: Iterable[Annotated]) -> Evaluation:
    pairs = []
    characters = 0
    seconds = 0.0
    for sentence in sentences:
        began = time.perf_counter()
        found = extract_entities(sentence.text, "zh")
        seconds += time.perf_counter() - began
        characters += len(sentence.text)
        predicted = [(entity.label, entity.start, entity.end) for entity in found]
        pairs.append((span_keys(sentence.spans, ALIASES_ZH), span_keys(predicted, ALIASES_ZH)))
    return Evaluation(score(pairs, JUDGED_ZH), len(pairs), characters, seconds)


def evaluate_english(resumes: Iterable[Annotated], distinct: bool = True) -> Evaluation:
    pairs = []
    characters = 0
    seconds = 0.0
    for resume in resumes:
        began = time.perf_counter()
        found = extract_entities(resume.text, "en")
        seconds += time.perf_counter() - began
        characters += len(resume.text)
        predicted = [(entity.label, entity.start, entity.end) for entity in found]
        if distinct:
            pairs.append((text_keys(resume.text, resume.spans), text_keys(resume.text, predicted)))
        else:
            pairs.append(([(label, normalise_mention(resume.text[start:end])) for label, start, end in resume.spans],
                          [(label, normalise_mention(resume.text[start:end])) for label, start, end in predicted]))
    return Evaluation(score(pairs, JUDGED_EN), len(pairs), characters, seconds)
