"""Benchmark the skills taxonomy: load, extraction per 5 KB of résumé text, lookup and fuzzy lookup.

    .venv/bin/python scripts/bench_skills.py [--rounds 200] [--chars 5000]

Texts are generated from a fixed seed out of résumé-like sentences, Chinese and English, each
`--chars` characters long and full of skill names (the worst case for extraction: many matches to
check). When ../shared/data is there, real résumé text is timed too: the first `--chars`
characters of the ResumeNER training sentences (Chinese) and of the Indeed résumés (English).
Figures are per call, after a first call that builds the automaton and the fuzzy index.
"""

from __future__ import annotations

import argparse
import functools
import html
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from shared.skills import SkillTaxonomy, load_taxonomy  # noqa: E402
from shared.skills.taxonomy import PACKAGED_FILE  # noqa: E402

SEED = 20261124
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SKILLS_EN = ["Java", "Go", "Python", "C++", "C#", "TypeScript", "JavaScript", "React", "Vue.js", "Node.js",
             "Spring Boot", "MyBatis", "Django", "Kubernetes", "Docker", "AWS", "MySQL", "PostgreSQL", "Redis",
             "Kafka", "Spark", "Hadoop", "TensorFlow", "PyTorch", "Elasticsearch", "Linux", "Git", "Jenkins", "Excel", "Tableau"]
SKILLS_ZH = ["机器学习", "深度学习", "自然语言处理", "计算机视觉", "微服务", "分布式系统", "高并发", "大数据", "数据仓库",
             "前端开发", "后端开发", "项目管理", "需求分析", "数据分析", "沟通能力", "团队合作", "英语六级", "推荐系统"]
SENTENCES_EN = [
    "Senior engineer with {n} years of experience in {en} and {en2}, shipping services to millions of users.",
    "Led the go-to-market of a platform built on {en}; mentored engineers and owned the on-call rotation.",
    "Proficient in {en}, {en2} and C, with a solid grounding in algorithms and system design.",
    "Built data pipelines with {en} and {en2}; reduced latency by {n}0% and cut costs in half.",
    "Worked closely with product managers and designers in an agile team of {n} people.",
]
SENTENCES_ZH = [
    "{n}年{zh}经验，熟悉{en}与{en2}，参与过日均千万级请求的系统建设。",
    "负责{zh}相关工作，带领团队完成{zh2}项目，使用{en}和{en2}。",
    "精通{en}，对{zh}有深入理解，具备良好的沟通能力和团队合作精神。",
    "主导{zh}架构设计，推动{en}在公司内落地，服务运营商和金融客户。",
]


def resume(language: str, chars: int, rng: random.Random) -> str:
    sentences = SENTENCES_ZH if language == "zh" else SENTENCES_EN
    parts: list[str] = []
    while sum(map(len, parts)) < chars:
        parts.append(rng.choice(sentences).format(
            n=rng.randint(2, 9), en=rng.choice(SKILLS_EN), en2=rng.choice(SKILLS_EN),
            zh=rng.choice(SKILLS_ZH), zh2=rng.choice(SKILLS_ZH)))
    return ("" if language == "zh" else " ").join(parts)[:chars]


def real_resumes(chars: int) -> dict[str, str]:
    """The first `chars` characters of real résumé text, by language, where the data is present."""
    texts = {}
    resumener = DATA / "resumener" / "train.char.bmes"
    if resumener.is_file():
        lines = resumener.read_text(encoding="utf-8").splitlines()
        texts["zh"] = "".join(line.split()[0] if line.strip() else "\n" for line in lines)[:chars]
    dotin = sorted((DATA / "dotin_train").glob("*.xml")) if (DATA / "dotin_train").is_dir() else []
    if dotin:
        raw = "\n".join(path.read_text(encoding="utf-8", errors="replace") for path in dotin[:20])
        texts["en"] = html.unescape(re.sub(r"<[^>]+>", "", raw))[:chars]
    return texts


def per_call(function: Callable[[], object], rounds: int) -> tuple[float, float]:
    """Median and 95th percentile of one call, in milliseconds."""
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return statistics.median(timings), timings[min(len(timings) - 1, int(len(timings) * 0.95))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--chars", type=int, default=5000)
    args = parser.parse_args()
    rng = random.Random(SEED)

    packaged = Path(__file__).resolve().parents[1] / "shared" / "skills" / PACKAGED_FILE
    started = time.perf_counter()
    skills = SkillTaxonomy.from_file(packaged)
    load_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    skills.extract("Java")
    automaton_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    skills.fuzzy("Jaav")
    fuzzy_index_ms = (time.perf_counter() - started) * 1000
    load_taxonomy()

    print(f"taxonomy: {len(skills)} skills, {packaged.stat().st_size:,} bytes packaged")
    print(f"load {load_ms:.1f} ms, automaton on first extract {automaton_ms:.1f} ms, "
          f"fuzzy index on first fuzzy {fuzzy_index_ms:.1f} ms")
    print(f"{'operation':<34} {'median ms':>10} {'p95 ms':>10}")
    for language in ("zh", "en"):
        text = resume(language, args.chars, rng)
        found = len(skills.extract(text))
        median, p95 = per_call(functools.partial(skills.extract, text), args.rounds)
        label = f"extract dense {language} {len(text):,} chars ({found})"
        print(f"{label:<34} {median:>10.3f} {p95:>10.3f}")
    for language, text in real_resumes(args.chars).items():
        found = len(skills.extract(text))
        median, p95 = per_call(functools.partial(skills.extract, text), args.rounds)
        label = f"extract real {language} {len(text):,} chars ({found})"
        print(f"{label:<34} {median:>10.3f} {p95:>10.3f}")
    names = ["Java", "react.js", "ＰＹＴＨＯＮ", "机器学习", "Java工程师", "underwater basket weaving"]
    median, p95 = per_call(lambda: [skills.lookup(name) for name in names], args.rounds * 10)
    print(f"{'lookup (per name)':<34} {median / len(names):>10.4f} {p95 / len(names):>10.4f}")
    typos = ["Kubernets", "Pyhton", "postgre", "机器学系"]
    median, p95 = per_call(lambda: [skills.fuzzy(typo) for typo in typos], args.rounds)
    print(f"{'fuzzy (per name)':<34} {median / len(typos):>10.3f} {p95 / len(typos):>10.3f}")


if __name__ == "__main__":
    main()
