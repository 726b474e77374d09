"""Train the resume entity taggers and write them to ai_services/resume_service/models/.

    .venv/bin/python scripts/train_resume_ner.py [--data ../shared/data] [--language zh|en|all]

Reads the corpora described in ../shared/data/SOURCES.md and writes:
- zh.crfsuite, zh_lexicon.json.gz: the Chinese character tagger (ResumeNER train) and the entity
  strings of its training sentences;
- en.crfsuite, en_lexicon.json.gz: the English token tagger (the dotin resumes outside the held-out
  fifth) and the O*NET job titles its features look up.
Then measures the shipped pipeline on ResumeNER dev and the English held-out split, as
scripts/eval_resume_ner.py does. Training has no random step (L-BFGS over features in file order),
so the same data gives the same models.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import pycrfsuite

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from ai_services.resume_service.entities import chinese, english, trained
from ai_services.resume_service.entities.chinese import EntityLexicon
from ai_services.resume_service.entities.corpora import (
    DOTIN_TAGGER_LABELS,
    Annotated,
    dotin_resumes,
    is_unannotated,
    read_resumener,
)
from ai_services.resume_service.entities.evaluation import evaluate_chinese, evaluate_english
from ai_services.resume_service.entities.lexicon import PhraseLexicon, hand_phrases
from ai_services.resume_service.entities.spans import spans_to_tags
from shared.skills import SkillTaxonomy, load_taxonomy

DEFAULT_DATA = REPO.parent / "shared" / "data"
# L1 keeps the models small (features it zeroes are dropped from the file); L2 smooths the rest.
CHINESE_PARAMS = {"c1": 0.05, "c2": 0.01, "max_iterations": 300, "feature.possible_transitions": True}
ENGLISH_PARAMS = {"c1": 0.1, "c2": 0.01, "max_iterations": 200, "feature.possible_transitions": True}
LEXICON_FOLDS = 5
MAX_TITLE_WORDS = 5


def train_chinese(data: Path) -> None:
    sentences = read_resumener(data / "resumener" / "train.char.bmes")
    # Each training sentence sees a lexicon built from the other folds only, as an unseen
    # sentence will: a lexicon holding the sentence's own entities would teach blind trust in it.
    folds = [
        EntityLexicon(_entity_strings(s for i, s in enumerate(sentences) if i % LEXICON_FOLDS != fold))
        for fold in range(LEXICON_FOLDS)
    ]
    trainer = pycrfsuite.Trainer(verbose=False)
    for index, sentence in enumerate(sentences):
        units = [(i, i + 1) for i in range(len(sentence.text))]
        trainer.append(chinese.features(sentence.text, folds[index % LEXICON_FOLDS]),
                       spans_to_tags(len(units), units, sentence.spans, "BMES"))
    trainer.set_params(CHINESE_PARAMS)
    began = time.perf_counter()
    trainer.train(str(trained.MODEL_DIR / trained.ZH_TAGGER))
    entities = sorted(set(_entity_strings(sentences)))
    trained.write_document(trained.MODEL_DIR / trained.ZH_LEXICON,
                           {"source": "ResumeNER train.char.bmes", "entities": entities})
    print(f"zh: {len(sentences)} sentences, trained in {time.perf_counter() - began:.0f} s")
    trained.chinese_model.cache_clear()


def _entity_strings(sentences: Iterable[Annotated]) -> list[tuple[str, str]]:
    return [(s.text[start:end], label) for s in sentences for label, start, end in s.spans]


def train_english(data: Path) -> None:
    titles = _onet_titles(data / "skills" / "onet_alternate_titles.txt")
    trained.write_document(trained.MODEL_DIR / trained.EN_LEXICON,
                           {"source": "O*NET 29.2 Alternate Titles", "titles": titles})
    lexicon = PhraseLexicon([*hand_phrases(), *((title, "title") for title in titles)])
    skills = load_taxonomy()
    resumes = [resume for resume in dotin_resumes(data / "dotin_train", "train", DOTIN_TAGGER_LABELS)
               if not is_unannotated(resume)]
    trainer = pycrfsuite.Trainer(verbose=False)
    for resume in resumes:
        trainer.append(*_english_example(resume, lexicon, skills))
    trainer.set_params(ENGLISH_PARAMS)
    began = time.perf_counter()
    trainer.train(str(trained.MODEL_DIR / trained.EN_TAGGER))
    print(f"en: {len(resumes)} resumes, {len(titles)} titles, trained in {time.perf_counter() - began:.0f} s")
    trained.english_model.cache_clear()


def _english_example(resume: Annotated, lexicon: PhraseLexicon,
                     skills: SkillTaxonomy) -> tuple[list[list[str]], list[str]]:
    tokens = english.tokenize(resume.text)
    return (english.features(resume.text, tokens, lexicon, skills),
            spans_to_tags(len(tokens), tokens, resume.spans, "BIO"))


def _onet_titles(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as file:
        rows = csv.DictReader(file, delimiter="\t")
        titles = {row["Alternate Title"].strip() for row in rows}
    return sorted(title for title in titles if title and len(title.split()) <= MAX_TITLE_WORDS)


def report(data: Path, languages: list[str]) -> None:
    if "zh" in languages:
        result = evaluate_chinese(read_resumener(data / "resumener" / "dev.char.bmes"))
        print(f"\nResumeNER dev, {result.documents} sentences, span match (SCHOOL as ORG):")
        print(result.scores.table())
    if "en" in languages:
        result = evaluate_english(dotin_resumes(data / "dotin_train", "dev"))
        print(f"\ndotin held-out fifth, {result.documents} resumes, distinct (label, text) per resume:")
        print(result.scores.table())
    for path in sorted(trained.MODEL_DIR.glob("*.*")):
        if path.suffix != ".md":
            print(f"{path.name}: {path.stat().st_size / 1e6:.2f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder (../shared/data)")
    parser.add_argument("--language", choices=("zh", "en", "all"), default="all")
    args = parser.parse_args()
    languages = ["zh", "en"] if args.language == "all" else [args.language]
    trained.MODEL_DIR.mkdir(parents=True, exist_ok=True)
    if "zh" in languages:
        train_chinese(args.data)
    if "en" in languages:
        train_english(args.data)
    report(args.data, languages)


if __name__ == "__main__":
    main()
