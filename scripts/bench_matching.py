"""Speed and memory of match scoring: one pair, profile building, the talent matrix, and ranking
100k talents for one job with explanations for the top 50.

    .venv/bin/python scripts/bench_matching.py [--talents 100000] [--queries 40] [--top-k 50] [--dim 384]

Talents are generated from the skills taxonomy with a fixed seed: 3 to 15 skills from one of
eight families, years, a degree and major, a city, a salary ask, tags, two or three past titles,
and for a sample the free-text experience a résumé has. Vectors are random unit vectors (the
matrix product costs the same whatever they hold). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import time
from datetime import date
from typing import Any

import numpy as np

from ai_services.matching_service.scoring import JobProfile, TalentMatrix, TalentProfile, rank, score
from ai_services.matching_service.scoring.weights import DEFAULT_WEIGHTS
from shared.skills import load_taxonomy

FAMILIES = {
    "backend": (("Java工程师", "后端开发工程师", "Backend Engineer", "Software Engineer"),
                ("backend", "database", "programming language", "cloud")),
    "frontend": (("前端工程师", "Frontend Developer", "Web Developer"), ("frontend", "programming language")),
    "data": (("数据分析师", "Data Analyst", "数据工程师"), ("data/ML", "database", "big data")),
    "devops": (("运维工程师", "DevOps Engineer", "SRE"), ("devops", "cloud", "operating system")),
    "mobile": (("Android开发", "iOS Developer", "移动端开发工程师"), ("mobile", "programming language")),
    "qa": (("测试工程师", "QA Engineer"), ("testing",)),
    "design": (("UI设计师", "Product Designer"), ("design",)),
    "office": (("会计", "财务专员", "HR Specialist", "Sales Manager"), ("office", "management", "domain")),
}
CITIES = ("北京市海淀区", "上海", "深圳", "杭州", "苏州", "成都", "广州", "Singapore", "London, UK", "Bengaluru")
DEGREES = ("本科", "硕士", "大专", "B.Tech", "MSc", "PhD", None)
MAJORS = ("计算机科学与技术", "软件工程", "会计学", "Mathematics", "Electrical Engineering", "Business", None)
JOBS = (
    ("Java后端工程师", "负责交易系统后端开发。任职要求：3年以上Java开发经验，熟悉Spring Boot、MySQL、Redis、Kafka；本科及以上学历。"),
    ("Senior Frontend Engineer", ("Build our web app in React and TypeScript. 5+ years of frontend experience, "
                                  "CSS, performance tuning; Next.js is a plus. Bachelor's degree.")),
    ("数据分析师", "负责业务数据分析与报表。要求：2年以上数据分析经验，精通SQL、Python、Excel，熟悉Tableau；统计学或数学相关专业本科以上。"),
    ("DevOps Engineer", ("Run Kubernetes clusters on AWS, Terraform, CI/CD with Jenkins, Linux, monitoring with "
                         "Prometheus. 3-6 years of experience.")),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--talents", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--top-k", type=int, default=50)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--text-sample", type=int, default=2_000, help="talents built with free text, timed apart")
    args = parser.parse_args()
    rng = random.Random(20261125)
    pools = _pools()
    as_of = date(2026, 11, 25)
    print(f"load average at start: {os.getloadavg()[0]:.2f}")

    # Profiles from CRM JSON, with the free text a résumé brings (extraction dominates), and without.
    texts = [_talent(rng, pools, i, with_text=True) for i in range(args.text_sample)]
    plain = [_talent(rng, pools, i, with_text=False) for i in range(args.text_sample)]
    per = []
    for sample in (texts, plain):
        started = time.perf_counter()
        for data in sample:
            TalentProfile.from_crm(data, as_of)
        per.append((time.perf_counter() - started) / len(sample) * 1000)
    print(f"TalentProfile.from_crm: {per[0]:.3f} ms with experience text, {per[1]:.3f} ms from fields only")
    del texts, plain

    gc.collect()
    rss_start = _rss_mib()
    profiles = [TalentProfile.from_crm(_talent(rng, pools, i, with_text=False), as_of) for i in range(args.talents)]
    gc.collect()
    rss_profiles = _rss_mib()
    vectors = np.random.default_rng(7).normal(size=(args.talents, args.dim)).astype(np.float32)
    rss_vectors = _rss_mib()
    started = time.perf_counter()
    matrix = TalentMatrix.build(profiles, vectors)
    build_s = time.perf_counter() - started
    del vectors
    gc.collect()
    print(f"{args.talents:,} profiles: RSS +{rss_profiles - rss_start:.0f} MiB")
    print(f"TalentMatrix.build: {build_s:.2f} s; numpy arrays {matrix.nbytes / 2**20:.1f} MiB "
          f"({args.dim}-d float32 vectors {args.talents * args.dim * 4 / 2**20:.1f} MiB of it); "
          f"RSS +{_rss_mib() - rss_vectors:.0f} MiB after the build, the input vectors freed")

    jobs = [JobProfile.from_crm({"id": f"j{i}", "title": t, "description": d, "locations": ["上海"]})
            for i, (t, d) in enumerate(JOBS)]
    job_vectors = np.random.default_rng(8).normal(size=(len(jobs), args.dim))
    now = time.time()
    rank(jobs[0], matrix, DEFAULT_WEIGHTS, args.top_k, job_vector=job_vectors[0], now=now)  # warm caches
    timings = []
    for query in range(args.queries):
        index = query % len(jobs)
        started = time.perf_counter()
        top = rank(jobs[index], matrix, DEFAULT_WEIGHTS, args.top_k, job_vector=job_vectors[index], now=now)
        timings.append((time.perf_counter() - started) * 1000)
        assert len(top) == args.top_k
    timings.sort()
    print(f"rank {args.talents:,} talents, top {args.top_k} explained, {args.queries} queries: "
          f"p50 {statistics.median(timings):.1f} ms, p95 {_pct(timings, 95):.1f} ms, max {timings[-1]:.1f} ms")
    started = time.perf_counter()
    matrix.scores(jobs[0], DEFAULT_WEIGHTS, job_vectors[0], now)
    print(f"  of which the vectorised scores alone (job 0): {(time.perf_counter() - started) * 1000:.1f} ms")

    pair = []
    for index in range(2_000):
        talent, job = profiles[index], jobs[index % len(jobs)]
        started = time.perf_counter()
        score(talent, job, DEFAULT_WEIGHTS, matrix.vector(index), job_vectors[index % len(jobs)], now=now)
        pair.append((time.perf_counter() - started) * 1000)
    pair.sort()
    print(f"score one pair with explanation: p50 {statistics.median(pair):.3f} ms, p95 {_pct(pair, 95):.3f} ms")

    for attempt in ("first", "second"):
        started = time.perf_counter()
        matrix.upsert(profiles[attempt == "second"::7][:1_000], np.random.default_rng(9).normal(
            size=(1_000, args.dim)).astype(np.float32))
        print(f"{attempt} upsert of 1,000 changed talents into the matrix: "
              f"{(time.perf_counter() - started) * 1000:.0f} ms")
    started = time.perf_counter()
    rank(jobs[0], matrix, DEFAULT_WEIGHTS, args.top_k, job_vector=job_vectors[0], now=now)
    print(f"rank right after the upserts (skill lists unsorted): {(time.perf_counter() - started) * 1000:.1f} ms")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


def _pools() -> dict[str, list[str]]:
    taxonomy = load_taxonomy()
    pools: dict[str, list[str]] = {}
    for family, (_, categories) in FAMILIES.items():
        pools[family] = sorted(s.id for s in taxonomy if s.category in categories and "esco" not in s.sources)
    return pools


def _talent(rng: random.Random, pools: dict[str, list[str]], index: int, with_text: bool) -> dict[str, Any]:
    family = rng.choice(list(FAMILIES))
    titles = FAMILIES[family][0]
    skills = rng.sample(pools[family], min(len(pools[family]), rng.randint(3, 15)))
    years = round(rng.uniform(0, 15), 1)
    data: dict[str, Any] = {
        "id": f"t{index}", "current_title": rng.choice(titles), "years_of_experience": years,
        "location": rng.choice(CITIES),
        "skills": [{"skill_id": s, "level": rng.choice((None, "intermediate", "advanced", "expert"))} for s in skills],
        "education": [{"degree": rng.choice(DEGREES), "major": rng.choice(MAJORS)}],
        "experience": [{"title": rng.choice(titles), "start": f"{2026 - k * 3 - 3}-03", "end": f"{2026 - k * 3}-02"}
                       for k in range(rng.randint(1, 3))],
        "expected_salary": {"min": rng.choice((12, 20, 30, 45, 60)) * 1000, "currency": "CNY", "period": "month"},
        "tags": rng.sample(("relocation-ok", "remote", "work-authorised:CN", "985"), rng.randint(0, 2)),
    }
    if with_text:
        names = ", ".join(skills[:6])
        data["summary"] = f"{years} years as {data['current_title']}. Skills: {names}."
        for job in data["experience"]:
            job["description"] = (f"Built and ran services with {names}; owned releases, reviews and on-call. "
                                  f"负责系统设计与开发，使用{skills[0]}和{skills[-1]}。")
    return data


def _pct(values: list[float], percent: float) -> float:
    return values[min(len(values) - 1, round(percent / 100 * (len(values) - 1)))]


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


if __name__ == "__main__":
    main()
