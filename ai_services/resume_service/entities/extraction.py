"""A resume's plain text in, its evidence spans out: the one entry point of this package.

Chinese text goes through the character tagger trained on ResumeNER, English text through the
token tagger trained on the dotin Indeed resumes; both then get contacts, dates and years of
experience from patterns, and Chinese text its skills from the taxonomy (ResumeNER marks none).
Where two findings overlap, the more trustworthy one stays (see PRIORITY), so that each mention
is one entity.
"""

from __future__ import annotations

from ai_services.resume_service.entities import chinese, english, rules
from ai_services.resume_service.entities.spans import Entity, settle, split_at_blank_lines, tags_to_spans
from ai_services.resume_service.entities.trained import chinese_model, english_model
from shared.skills import load_taxonomy

LANGUAGES = ("zh", "en")
# Lower wins an overlap. A valid e-mail or phone number beats anything a tagger says about the
# same characters; a tagger's span beats a pattern's, since it saw the context ("Java工程师" is
# a title, not the skill Java); a date range the tagger calls YEARS_EXP beats the dates in it.
PRIORITY = {"contact": 0, "tagger": 1, "YEARS_EXP": 2, "DATE": 3, "SKILL": 4}
CJK_SHARE_FOR_CHINESE = 0.1


def detect_language(text: str) -> str:
    """"zh" when CJK characters make up at least a tenth of the letters, else "en". A Chinese
    resume is full of Latin (Java, MySQL, 985), an English one rarely holds a CJK character."""
    cjk = latin = 0
    for char in text:
        if "\u4e00" <= char <= "\u9fff" or "\u3400" <= char <= "\u4dbf":
            cjk += 1
        elif char.isascii() and char.isalpha():
            latin += 1
    return "zh" if cjk and cjk >= CJK_SHARE_FOR_CHINESE * (cjk + latin) else "en"


def extract_entities(text: str, language: str | None = None) -> list[Entity]:
    """Entities of `text`, sorted by start, none overlapping, each with `text[start:end] == entity.text`."""
    if language is None:
        language = detect_language(text)
    if language not in LANGUAGES:
        raise ValueError(f"language {language!r}: expected one of {', '.join(LANGUAGES)} or None")
    if not text.strip():
        return []
    skills = rules.find_skills(text, load_taxonomy()) if language == "zh" else []
    found = _tagged_chinese(text, skills) if language == "zh" else _tagged_english(text)
    candidates = [(PRIORITY["tagger"], *span) for span in found]
    candidates += [(PRIORITY["contact"], *span) for span in rules.find_contacts(text, language)]
    candidates += [(PRIORITY["YEARS_EXP"], *span) for span in rules.find_years_of_experience(text, language)]
    candidates += [(PRIORITY["DATE"], *span) for span in rules.find_dates(text)]
    if language == "zh":
        candidates += [(PRIORITY["contact"], *span) for span in chinese.find_names(text)]
        candidates += [(PRIORITY["SKILL"], *span) for span in skills]
    return settle(text, candidates)


def _tagged_chinese(text: str, skills: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    model = chinese_model()
    found: list[tuple[str, int, int]] = []
    for start, end in chinese.units(text):
        sentence = text[start:end]
        tags = model.tagger.tag(chinese.features(sentence, model.lexicon))
        spans = tags_to_spans(tags, [(start + i, start + i + 1) for i in range(len(sentence))])
        found += chinese.name_schools(chinese.plausible(spans, text), text)
    # A Latin span that is exactly a skill's name ("Kubernetes" in a Chinese sentence: the tagger
    # has seen Latin words only as companies) is that skill. A Chinese one keeps its label: 会计 is
    # a skill and, in ResumeNER, a title.
    named = {(start, end) for _, start, end in skills}
    return [("SKILL" if (start, end) in named and text[start:end].isascii() else label, start, end)
            for label, start, end in found]


def _tagged_english(text: str) -> list[tuple[str, int, int]]:
    model = english_model()
    tokens = english.tokenize(text)
    if not tokens:
        return []
    items = english.features(text, tokens, model.lexicon, load_taxonomy())
    tags, marginals = model.tagger.tag_with_marginals(items, english.likely_tags())
    # E-mail addresses are the pattern's: the tagger splits them into tokens and learned them only
    # to know what surrounds them.
    found = [*tags_to_spans(tags, tokens), *english.likely_spans(tokens, tags, marginals)]
    spans = [(english.ENTITY_LABEL.get(label, label), start, end) for label, start, end in found if label != "EMAIL"]
    # SCHOOL may cross one: Indeed prints "B.E. in ENC", a blank line, then the university, and the
    # annotations (so the tagger) take the major in.
    return split_at_blank_lines(text, spans, keep=("SCHOOL",))
