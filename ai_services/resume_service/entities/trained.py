"""The trained files in resume_service/models/, read once per process on first use.

Nothing is read at import: `chinese_model()` and `english_model()` load on their first call and
are cached for the life of the process. A crfsuite tagger is not safe to share between threads,
so each thread opens its own from the same file (opening one takes a few milliseconds).
"""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pycrfsuite

from ai_services.resume_service.entities.chinese import EntityLexicon
from ai_services.resume_service.entities.lexicon import PhraseLexicon, hand_phrases

MODEL_DIR = Path(__file__).resolve().parents[1] / "models"
FORMAT = 1
ZH_TAGGER, ZH_LEXICON = "zh.crfsuite", "zh_lexicon.json.gz"
EN_TAGGER, EN_LEXICON = "en.crfsuite", "en_lexicon.json.gz"


class MissingModel(FileNotFoundError):
    """A model file is not where the service looks for it; scripts/train_resume_ner.py writes it."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"resume entity model {path} is missing: run scripts/train_resume_ner.py")
        self.path = path


class CrfTagger:
    """A crfsuite model file, tagged through one pycrfsuite.Tagger per thread."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise MissingModel(path)
        self.path = path
        self._local = threading.local()

    def _tagger(self) -> pycrfsuite.Tagger:
        tagger = getattr(self._local, "tagger", None)
        if tagger is None:
            tagger = self._local.tagger = pycrfsuite.Tagger()
            tagger.open(str(self.path))
        return tagger

    def tag(self, items: Sequence[Sequence[str]]) -> list[str]:
        return self._tagger().tag(items)

    def tag_with_marginals(self, items: Sequence[Sequence[str]],
                           labels: Sequence[str]) -> tuple[list[str], dict[str, list[float]]]:
        """The best tag sequence, and for each of `labels` (tags of the model, "B-SKILL") the
        probability that each item carries it, over all sequences."""
        tagger = self._tagger()
        tagger.set(items)
        known = set(tagger.labels())
        marginals = {label: [tagger.marginal(label, index) for index in range(len(items))]
                     for label in labels if label in known}
        return tagger.tag(), marginals


@dataclass(frozen=True)
class ChineseModel:
    tagger: CrfTagger
    lexicon: EntityLexicon


@dataclass(frozen=True)
class EnglishModel:
    tagger: CrfTagger
    lexicon: PhraseLexicon


def read_document(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise MissingModel(path)
    with gzip.open(path, "rt", encoding="utf-8") as file:
        document = json.load(file)
    if document.get("format") != FORMAT:
        raise ValueError(f"{path}: format {document.get('format')!r}, expected {FORMAT}")
    return document


def write_document(path: Path, document: dict[str, Any]) -> None:
    """Sorted JSON, gzip without a timestamp: the same content gives the same bytes."""
    data = json.dumps({"format": FORMAT, **document}, ensure_ascii=False, sort_keys=True, indent=0)
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as file:
        file.write(data.encode("utf-8"))


@cache
def chinese_model(model_dir: Path = MODEL_DIR) -> ChineseModel:
    entries = read_document(model_dir / ZH_LEXICON)["entities"]
    return ChineseModel(CrfTagger(model_dir / ZH_TAGGER), EntityLexicon((text, label) for text, label in entries))


@cache
def english_model(model_dir: Path = MODEL_DIR) -> EnglishModel:
    titles = read_document(model_dir / EN_LEXICON)["titles"]
    lexicon = PhraseLexicon([*hand_phrases(), *((title, "title") for title in titles)])
    return EnglishModel(CrfTagger(model_dir / EN_TAGGER), lexicon)
