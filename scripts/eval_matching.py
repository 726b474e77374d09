"""Ranking quality of match scoring on the labelled set in tests/matching_eval/, against a TF-IDF
baseline computed in the same run.

    .venv/bin/python scripts/eval_matching.py [--no-vectors] [--weights technology]

For every job, all talents are ranked; for every talent, all jobs. Reported: mean NDCG@10 and
mean Spearman's rho between scores and grades, both ways, over all talents and within the job's
language. Methods: the scorer without semantic vectors; TF-IDF cosine (English words and
Chinese character pairs); the embeddings' raw cosine; the scorer with semantic vectors (the
offline default model, texts from `talent_text` / `job_text`). Also prints the cosines by grade,
which is what the semantic curve's centre and width are read from.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from ai_services.matching_service.scoring import (
    JobProfile,
    TalentProfile,
    job_text,
    resolve_weights,
    score,
    talent_text,
)
from ai_services.matching_service.scoring.quality import TfidfBaseline, ranking_quality

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT / "tests" / "matching_eval"
AS_OF = date(2026, 11, 25)
NOW = 1_795_564_800.0  # 2026-11-25T00:00:00Z


def load(folder: Path = EVAL) -> tuple[list[dict[str, Any]], list[dict[str, Any]], np.ndarray]:
    jobs = json.loads((folder / "jobs.json").read_text(encoding="utf-8"))
    talents = json.loads((folder / "talents.json").read_text(encoding="utf-8"))
    labels = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
    column = {t["id"]: i for i, t in enumerate(talents)}
    grades = np.zeros((len(jobs), len(talents)))
    for row, job in enumerate(jobs):
        for talent_id, grade in labels.get(job["id"], {}).items():
            grades[row, column[talent_id]] = grade
    return jobs, talents, grades


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-vectors", action="store_true", help="skip the embedding model")
    parser.add_argument("--weights", default=None, help="a weight preset (default: the default weights)")
    parser.add_argument("--vectors-cache", type=Path, default=None,
                        help="an .npz file to keep the embeddings in between runs (written when missing)")
    args = parser.parse_args()
    jobs, talents, grades = load()
    weights = resolve_weights(args.weights)
    started = time.perf_counter()
    job_profiles = [JobProfile.from_crm(j["crm"]) for j in jobs]
    talent_profiles = [TalentProfile.from_crm(t["crm"], AS_OF) for t in talents]
    print(f"{len(jobs)} jobs, {len(talents)} talents, {int((grades > 0).sum())} graded pairs; "
          f"profiles in {time.perf_counter() - started:.2f} s")
    same_language = np.array([[j["language"] == t["language"] for t in talents] for j in jobs])

    rows: list[tuple[str, np.ndarray]] = []
    started = time.perf_counter()
    plain = _scores(job_profiles, talent_profiles, weights)
    print(f"scored {plain.size} pairs without vectors in {time.perf_counter() - started:.2f} s")
    rows.append(("scorer, no vectors", plain))
    texts_jobs, texts_talents = [job_text(j["crm"]) for j in jobs], [talent_text(t["crm"]) for t in talents]
    tfidf = TfidfBaseline([*texts_jobs, *texts_talents])
    rows.append(("TF-IDF cosine", tfidf.similarity(range(len(jobs)), range(len(jobs), len(jobs) + len(talents)))))
    if not args.no_vectors:
        if args.vectors_cache and args.vectors_cache.exists():
            cached = np.load(args.vectors_cache)
            job_vectors, talent_vectors = cached["jobs"], cached["talents"]
        else:
            job_vectors, talent_vectors = asyncio.run(_embed(texts_jobs, texts_talents))
            if args.vectors_cache:
                np.savez(args.vectors_cache, jobs=job_vectors, talents=talent_vectors)
        cosines = job_vectors @ talent_vectors.T
        rows.append(("embedding cosine", cosines))
        rows.append(("scorer, with vectors", _scores(job_profiles, talent_profiles, weights, job_vectors,
                                                     talent_vectors)))
        _print_cosines(cosines, grades)

    print()
    print("| method | talents | NDCG@10 jobs→talents | Spearman | NDCG@10 talents→jobs | Spearman |")
    print("|---|---|---|---|---|---|")
    for scope, mask in (("all", np.ones_like(same_language)), ("same language", same_language)):
        for name, values in rows:
            quality = ranking_quality(values, grades) if scope == "all" else \
                _same_language_quality(values, grades, mask)
            print(f"| {name} | {scope} | {quality['jobs_ndcg@10']:.3f} | {quality['jobs_spearman']:.3f} | "
                  f"{quality['talents_ndcg@10']:.3f} | {quality['talents_spearman']:.3f} |")


def _scores(jobs: list[JobProfile], talents: list[TalentProfile], weights: Any, job_vectors: Any = None,
            talent_vectors: Any = None) -> np.ndarray:
    values = np.zeros((len(jobs), len(talents)))
    for j, job in enumerate(jobs):
        for t, talent in enumerate(talents):
            values[j, t] = score(talent, job, weights,
                                 None if talent_vectors is None else talent_vectors[t],
                                 None if job_vectors is None else job_vectors[j], explain=False, now=NOW).score
    return values


def _same_language_quality(values: np.ndarray, grades: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """Ranking quality with each job seeing only talents in its language, and each talent only jobs
    in its language: the scope a keyword method can compete in. Blocks are weighted by size."""
    totals: dict[str, float] = {}
    counts: dict[str, float] = {}
    for jobs_in, talents_in in _blocks(mask):
        quality = ranking_quality(values[np.ix_(jobs_in, talents_in)], grades[np.ix_(jobs_in, talents_in)])
        for key, value in quality.items():
            size = len(jobs_in) if key.startswith("jobs") else len(talents_in)
            totals[key] = totals.get(key, 0.0) + value * size
            counts[key] = counts.get(key, 0.0) + size
    return {key: totals[key] / counts[key] for key in totals}


def _blocks(mask: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Groups of jobs with the talents they share a language with."""
    seen: dict[bytes, list[int]] = {}
    for row in range(mask.shape[0]):
        seen.setdefault(mask[row].tobytes(), []).append(row)
    return [(np.array(rows), np.flatnonzero(mask[rows[0]])) for rows in seen.values()]


async def _embed(jobs: list[str], talents: list[str]) -> tuple[np.ndarray, np.ndarray]:
    from shared.embeddings import EmbeddingSettings, open_provider

    provider = open_provider(EmbeddingSettings())
    started = time.perf_counter()
    await provider.load()
    job_vectors = await provider.embed(jobs, kind="passage")
    talent_vectors = await provider.embed(talents, kind="passage")
    print(f"embedded {len(jobs) + len(talents)} texts in {time.perf_counter() - started:.1f} s")
    return np.asarray(job_vectors, dtype=np.float64), np.asarray(talent_vectors, dtype=np.float64)


def _print_cosines(cosines: np.ndarray, grades: np.ndarray) -> None:
    print("embedding cosine by grade (p10 / median / p90):")
    for grade in range(4):
        values = cosines[grades == grade]
        if values.size:
            p10, p50, p90 = np.percentile(values, [10, 50, 90])
            print(f"  grade {grade}: {p10:.3f} / {p50:.3f} / {p90:.3f}  ({values.size} pairs)")


if __name__ == "__main__":
    main()
