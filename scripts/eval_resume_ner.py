"""Measure resume entity extraction on ResumeNER dev and the English held-out split.

    .venv/bin/python scripts/eval_resume_ner.py [--data ../shared/data] [--language zh|en|all]

Runs the shipped pipeline (models in ai_services/resume_service/models/ plus the patterns) the
way the held-out judgement does, and prints precision, recall and F1 per label and micro-averaged:
- Chinese: every ResumeNER dev sentence sent alone, exact spans, SCHOOL counted as ORG;
- English: every resume of the held-out fifth (crc32 of the file name divisible by 5) sent
  whole, distinct (label, text) pairs per resume, case and whitespace aside. Also printed, for
  reading the figure: every mention counted, and the resumes that were never annotated left out.
Timings are wall-clock inside extract_entities, models already loaded.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from ai_services.resume_service.entities import extract_entities
from ai_services.resume_service.entities.corpora import dotin_resumes, is_unannotated, read_resumener
from ai_services.resume_service.entities.evaluation import Evaluation, evaluate_chinese, evaluate_english

DEFAULT_DATA = REPO.parent / "shared" / "data"


def timing(result: Evaluation, unit: str) -> str:
    per_document = result.seconds / max(result.documents, 1) * 1000
    return (f"{result.documents} {unit}, {result.characters:,} characters: {per_document:.2f} ms per {unit[:-1]}, "
            f"{result.characters / max(result.seconds, 1e-9) / 1000:.0f}k characters/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder (../shared/data)")
    parser.add_argument("--language", choices=("zh", "en", "all"), default="all")
    args = parser.parse_args()
    extract_entities("预热 warm-up", "zh")
    extract_entities("warm-up", "en")

    if args.language in ("zh", "all"):
        result = evaluate_chinese(read_resumener(args.data / "resumener" / "dev.char.bmes"))
        print("ResumeNER dev: exact spans, SCHOOL as ORG")
        print(result.scores.table())
        print(timing(result, "sentences"), end="\n\n")

    if args.language in ("en", "all"):
        resumes = list(dotin_resumes(args.data / "dotin_train", "dev"))
        result = evaluate_english(resumes)
        print("dotin held-out fifth: distinct (label, text) per resume")
        print(result.scores.table())
        print(timing(result, "resumes"))
        every = evaluate_english(resumes, distinct=False).scores.micro
        annotated = [resume for resume in resumes if not is_unannotated(resume)]
        only = evaluate_english(annotated).scores.micro
        print(f"every mention counted: micro P {every.precision:.4f} R {every.recall:.4f} F1 {every.f1:.4f}")
        print(f"without the {len(resumes) - len(annotated)} resumes never annotated: "
              f"micro P {only.precision:.4f} R {only.recall:.4f} F1 {only.f1:.4f}")


if __name__ == "__main__":
    main()
