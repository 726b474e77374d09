"""How good a ranking is against graded labels, and the keyword baseline scoring is held against.

NDCG@k uses the exponential gain 2^grade - 1 (grades 0-3), so putting a 3 first matters more
than ordering 1s. Spearman's rho is Pearson's correlation of ranks, ties sharing their mean rank.
The baseline is TF-IDF cosine: English words and Chinese character pairs (the same units
Chinese full-text search uses), smoothed idf, L2-normalised, in numpy.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from shared.skills.spelling import CJK_RANGES

_WORD = re.compile(r"[a-z][a-z0-9+#.]*[a-z0-9+#]|[a-z]|\d+")
_CJK_RUN = re.compile(f"[{CJK_RANGES}]+")
_ENGLISH_STOP = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in", "is", "it", "of", "on",
    "or", "our", "that", "the", "to", "we", "will", "with", "you", "your", "this", "who", "all", "can",
))


def ndcg_at(grades_in_ranked_order: Sequence[float], all_grades: Sequence[float], k: int = 10) -> float | None:
    """NDCG@k of a ranking given the grades of its items in ranked order and every grade there is;
    None when nothing is relevant."""
    ideal = _dcg(sorted(all_grades, reverse=True)[:k])
    if ideal == 0:
        return None
    return _dcg(list(grades_in_ranked_order)[:k]) / ideal


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rank correlation; None when either side is constant."""
    rx, ry = _ranks(np.asarray(x, dtype=float)), _ranks(np.asarray(y, dtype=float))
    if len(rx) < 2 or rx.std() == 0 or ry.std() == 0:
        return None
    return float(np.corrcoef(rx, ry)[0, 1])


def ranking_quality(scores: np.ndarray, grades: np.ndarray, k: int = 10) -> dict[str, float]:
    """Mean NDCG@k and Spearman of a jobs × talents score matrix against graded labels, both ways:
    talents ranked for each job (`jobs_*`) and jobs ranked for each talent (`talents_*`). A job or
    talent with no relevant counterpart (or constant grades, for Spearman) is left out of the mean."""
    result: dict[str, float] = {}
    for prefix, s, g in (("jobs", scores, grades), ("talents", scores.T, grades.T)):
        ndcgs, rhos = [], []
        for row_scores, row_grades in zip(s, g, strict=True):
            order = np.lexsort((np.arange(len(row_scores)), -row_scores))
            if (value := ndcg_at(row_grades[order], row_grades, k)) is not None:
                ndcgs.append(value)
            if (rho := spearman(row_scores, row_grades)) is not None:
                rhos.append(rho)
        result[f"{prefix}_ndcg@{k}"] = float(np.mean(ndcgs)) if ndcgs else float("nan")
        result[f"{prefix}_spearman"] = float(np.mean(rhos)) if rhos else float("nan")
    return result


def tokens(text: str) -> list[str]:
    """English words (stop words out) and Chinese character pairs."""
    lowered = text.lower()
    found = [word for word in _WORD.findall(lowered) if word not in _ENGLISH_STOP]
    for run in _CJK_RUN.findall(lowered):
        found.extend(run[i:i + 2] for i in range(len(run) - 1)) if len(run) > 1 else found.append(run)
    return found


class TfidfBaseline:
    """TF-IDF cosine between documents, fitted on all of them (jobs and talents together)."""

    def __init__(self, documents: Sequence[str]) -> None:
        counted = [Counter(tokens(text)) for text in documents]
        frequency = Counter(term for counts in counted for term in counts)
        self._vocabulary = {term: index for index, term in enumerate(sorted(frequency))}
        count = len(documents)
        self._idf = np.array([math.log((1 + count) / (1 + frequency[term])) + 1 for term in sorted(frequency)])
        self._matrix = np.vstack([self._vector(counts) for counts in counted]) if counted else np.zeros((0, 0))

    def similarity(self, rows: Sequence[int], columns: Sequence[int]) -> np.ndarray:
        """Cosines between the documents at `rows` and those at `columns`."""
        return self._matrix[list(rows)] @ self._matrix[list(columns)].T

    def _vector(self, counts: Counter[str]) -> np.ndarray:
        vector = np.zeros(len(self._vocabulary))
        for term, count in counts.items():
            vector[self._vocabulary[term]] = (1 + math.log(count)) * self._idf[self._vocabulary[term]]
        norm = np.linalg.norm(vector)
        return vector / norm if norm else vector


def _dcg(grades: Sequence[float]) -> float:
    return sum((2 ** grade - 1) / math.log2(position + 2) for position, grade in enumerate(grades))


def _ranks(values: np.ndarray) -> np.ndarray:
    order = values.argsort(kind="stable")
    ranks = np.empty(len(values))
    sorted_values = values[order]
    start = 0
    for end in range(1, len(values) + 1):
        if end == len(values) or sorted_values[end] != sorted_values[start]:
            ranks[order[start:end]] = (start + end - 1) / 2
            start = end
    return ranks
