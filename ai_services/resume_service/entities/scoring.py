"""Precision, recall and F1 the way the held-out judgement counts them.

Two ways of matching, both micro-averaged over the labels judged:

- by span (Chinese, as ResumeNER is usually reported): a prediction is right when its label,
  start and end equal a gold span's in the same sentence;
- by text (English resumes): per document, the SET of (label, text) pairs, the text lower-cased
  with its whitespace collapsed. Saying "Java" five times counts once, as does missing it.

Labels the judgement does not score are ignored on both sides, and aliases fold ours onto
theirs first (ResumeNER files schools under ORG).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

JUDGED_ZH = ("NAME", "CONT", "RACE", "TITLE", "EDU", "ORG", "PRO", "LOC")
JUDGED_EN = ("NAME", "EMAIL", "TITLE", "LOC", "YEARS_EXP", "ORG", "SCHOOL", "EDU", "SKILL")
ALIASES_ZH = {"SCHOOL": "ORG"}

Key = tuple[str, Hashable]  # (label, what identifies the mention)


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        total = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / total if total else 0.0


@dataclass
class Scores:
    labels: tuple[str, ...]
    per_label: dict[str, Tally] = field(default_factory=dict)

    @property
    def micro(self) -> Tally:
        return Tally(*(sum(getattr(t, part) for t in self.per_label.values()) for part in ("tp", "fp", "fn")))

    def table(self) -> str:
        """A plain-text table: one row per label, then the micro average."""
        rows = [f"{'label':<10} {'gold':>6} {'pred':>6} {'P':>7} {'R':>7} {'F1':>7}"]
        for label, t in [*((label, self.per_label[label]) for label in self.labels), ("micro", self.micro)]:
            rows.append(f"{label:<10} {t.tp + t.fn:>6} {t.tp + t.fp:>6} "
                        f"{t.precision:>7.4f} {t.recall:>7.4f} {t.f1:>7.4f}")
        return "\n".join(rows)


def normalise_mention(text: str) -> str:
    return " ".join(text.split()).lower()


def span_keys(spans: Iterable[tuple[str, int, int]], aliases: Mapping[str, str] | None = None) -> list[Key]:
    aliases = aliases or {}
    return [(aliases.get(label, label), (start, end)) for label, start, end in spans]


def text_keys(text: str, spans: Iterable[tuple[str, int, int]],
              aliases: Mapping[str, str] | None = None) -> set[Key]:
    aliases = aliases or {}
    return {(aliases.get(label, label), normalise_mention(text[start:end])) for label, start, end in spans}


def score(documents: Iterable[tuple[Iterable[Key], Iterable[Key]]], labels: Sequence[str]) -> Scores:
    """Scores over (gold keys, predicted keys) per document. Keys are counted as a multiset, so
    pass sets for set semantics; keys whose label is not in `labels` are left out."""
    scores = Scores(tuple(labels), {label: Tally() for label in labels})
    for gold, predicted in documents:
        gold_counts = Counter(key for key in gold if key[0] in scores.per_label)
        predicted_counts = Counter(key for key in predicted if key[0] in scores.per_label)
        for key in gold_counts | predicted_counts:
            tally = scores.per_label[key[0]]
            hits = min(gold_counts[key], predicted_counts[key])
            tally.tp += hits
            tally.fn += gold_counts[key] - hits
            tally.fp += predicted_counts[key] - hits
    return scores
