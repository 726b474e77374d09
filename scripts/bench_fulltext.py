"""Benchmark the embedded full-text store: index resume-like documents, then time searches.

    .venv/bin/python scripts/bench_fulltext.py [--documents 100000] [--batch 500] [--rounds 20]
                                               [--database-url URL]

Documents are generated from a fixed seed: a UUID id, a Chinese name, a job title, skills and a
summary that mixes Chinese and English, with city and years as filters, all in one org (the worst case: every
search ranks against all of them). They are indexed into RelationalFullText on SQLite in a
temporary directory (or the database at --database-url, migrated first), then each query of a
Chinese and an English set runs `--rounds` times, limit 10, with highlights; the figures are
per-call latencies of `search`, as a service would see them.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from shared.database.fulltext import Document, IndexSpec  # noqa: E402
from shared.database.fulltext_relational import RelationalFullText  # noqa: E402
from shared.database.relational import open_relational  # noqa: E402
from shared.database.schema import upgrade_async  # noqa: E402

SEED = 20261124
ORG = "org-bench"
INDEX = IndexSpec("talents", ("name", "title", "skills", "summary"), ("city", "years"))

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬鹏辉宇浩凯健俊帆帅旭宁龙林欣晨阳"
TITLES = ["资深后端工程师", "后端开发工程师", "前端开发工程师", "全栈工程师", "算法工程师", "机器学习工程师",
          "数据分析师", "数据开发工程师", "大数据架构师", "产品经理", "高级产品经理", "测试开发工程师", "运维工程师",
          "SRE工程师", "技术总监", "项目经理", "移动端开发工程师", "iOS开发工程师", "Android开发工程师", "嵌入式软件工程师",
          "安全工程师", "数据库管理员", "UI设计师", "交互设计师", "招聘经理", "人力资源专员", "销售经理", "客户成功经理",
          "Senior Backend Engineer", "Frontend Developer", "Data Scientist", "Machine Learning Engineer",
          "Site Reliability Engineer", "Engineering Manager", "Product Manager", "QA Engineer"]
SKILLS_EN = ["Python", "Go", "Java", "C++", "C#", "Rust", "Kotlin", "Swift", "TypeScript", "JavaScript", "Node.js",
             "React", "Vue.js", "Angular", "Django", "Flask", "Spring", "Kubernetes", "Docker", "Terraform", "AWS",
             "Azure", "GCP", "Linux", "MySQL", "PostgreSQL", "Redis", "MongoDB", "Kafka", "RabbitMQ", "Spark",
             "Hadoop", "Flink", "Hive", "TensorFlow", "PyTorch", "Elasticsearch", "gRPC", "GraphQL", "Nginx",
             "Prometheus", "Grafana", "Jenkins", "Git", "Figma", "Tableau", "Excel", "SQL", "Scala", "PHP"]
SKILLS_CN = ["分布式系统", "微服务", "高并发", "机器学习", "深度学习", "自然语言处理", "计算机视觉", "推荐系统",
             "搜索引擎", "数据仓库", "数据治理", "性能优化", "云原生", "容器化", "持续集成", "自动化测试", "风控",
             "支付系统", "即时通讯", "音视频", "团队管理", "需求分析", "用户增长", "数据可视化", "知识图谱",
             "广告投放", "供应链", "电商平台", "金融科技", "在线教育", "游戏开发", "网络安全", "渗透测试",
             "敏捷开发", "项目管理", "跨部门沟通", "招聘", "薪酬绩效", "客户关系", "商务谈判"]
COMPANIES = ["阿里巴巴", "腾讯", "字节跳动", "美团", "京东", "百度", "华为", "小米", "网易", "拼多多", "快手",
             "滴滴", "携程", "蚂蚁集团", "招商银行", "平安科技", "Microsoft", "Google", "Amazon", "Shopee"]
CITIES = ["北京", "上海", "深圳", "杭州", "广州", "成都", "南京", "武汉", "西安", "苏州"]
SENTENCES_CN = ["{years}年{cn}经验，熟悉{en}与{en2}。", "曾在{company}负责{cn}相关工作，带领团队完成{cn2}项目。",
                "精通{en}，对{cn}有深入理解。", "主导{cn}架构设计，系统支撑日均千万级请求。",
                "参与{company}{cn}平台建设，使用{en}和{en2}。", "具备良好的沟通能力和团队合作精神。",
                "期望在{city}从事{cn}方向的工作。"]
SENTENCES_EN = ["Built {cn_en} services with {en} and {en2} at {company}.", "{years} years of experience in {en}.",
                "Led a team of {team} engineers working on {en2}.",
                "Strong background in {en} and distributed systems."]

CHINESE_QUERIES = ["后端", "后端工程师", "分布式系统", "机器学习 推荐系统", "高并发 微服务", "产品经理",
                   "自然语言处理", "数据仓库", "杭州 架构师", "支付系统 风控", "团队管理", "熟悉Python与Go"]
ENGLISH_QUERIES = ["python", "kubernetes docker", "react typescript", "c++", "node.js", "senior backend engineer",
                   "spark hadoop flink", "machine learning", "postgresql redis", "aws terraform", "go", "rust"]


def documents(count: int, seed: int = SEED) -> Iterator[Document]:
    rng = random.Random(seed)
    for _ in range(count):
        skills_en = rng.sample(SKILLS_EN, rng.randint(3, 8))
        skills_cn = rng.sample(SKILLS_CN, rng.randint(2, 4))
        values = {"years": rng.randint(1, 20), "company": rng.choice(COMPANIES), "city": rng.choice(CITIES),
                  "team": rng.randint(3, 30)}
        sentences = []
        for _ in range(rng.randint(3, 6)):
            template = rng.choice(SENTENCES_CN if rng.random() < 0.75 else SENTENCES_EN)
            sentences.append(template.format(cn=rng.choice(skills_cn), cn2=rng.choice(SKILLS_CN),
                                             en=rng.choice(skills_en), en2=rng.choice(SKILLS_EN),
                                             cn_en=rng.choice(["payment", "search", "recommendation", "ads"]),
                                             **values))
        name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2)))
        yield Document(str(uuid.UUID(int=rng.getrandbits(128), version=4)), ORG, {
            "name": name,
            "title": rng.choice(TITLES),
            "skills": " ".join(skills_en + skills_cn),
            "summary": "".join(sentences),
        }, {"city": values["city"], "years": values["years"]}, 1)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def index_all(store: RelationalFullText, count: int, batch: int) -> float:
    started = time.perf_counter()
    pending: list[Document] = []
    done = 0
    for document in documents(count):
        pending.append(document)
        if len(pending) == batch:
            await store.index(INDEX.name, pending)
            done += len(pending)
            pending = []
            if done % 20_000 == 0:
                print(f"  indexed {done:,} in {time.perf_counter() - started:.1f} s", flush=True)
    if pending:
        await store.index(INDEX.name, pending)
    return time.perf_counter() - started


async def time_queries(store: RelationalFullText, queries: list[str], rounds: int,
                       filters: dict | None = None) -> tuple[list[float], dict[str, int]]:
    latencies: list[float] = []
    hits: dict[str, int] = {}
    for query in queries:  # one warm-up call each, untimed
        hits[query] = len(await store.search(INDEX.name, ORG, query, filters))
    for _ in range(rounds):
        for query in queries:
            started = time.perf_counter()
            await store.search(INDEX.name, ORG, query, filters)
            latencies.append(time.perf_counter() - started)
    return latencies, hits


def report(label: str, latencies: list[float]) -> None:
    ms = [value * 1000 for value in latencies]
    print(f"{label:<34} n={len(ms):<4} p50 {percentile(ms, 0.5):7.1f} ms   p95 {percentile(ms, 0.95):7.1f} ms   "
          f"max {max(ms):7.1f} ms   mean {statistics.fmean(ms):6.1f} ms")


async def run(url: str, count: int, batch: int, rounds: int, database: Path | None) -> None:
    await upgrade_async(url)
    relational = open_relational(url)
    store = RelationalFullText(relational)
    try:
        await store.ensure_index(INDEX)
        print(f"indexing {count:,} documents in batches of {batch} into {relational.backend}")
        seconds = await index_all(store, count, batch)
        print(f"indexed {count:,} documents in {seconds:.1f} s ({count / seconds:,.0f} documents/s)")
        if database is not None:
            size = sum(path.stat().st_size for path in database.parent.glob(database.name + "*"))
            print(f"database size {size / 2**20:,.0f} MiB")
        print(f"searching, limit 10 with highlights, {rounds} rounds of each query")
        chinese, chinese_hits = await time_queries(store, CHINESE_QUERIES, rounds)
        english, english_hits = await time_queries(store, ENGLISH_QUERIES, rounds)
        filtered, _ = await time_queries(store, CHINESE_QUERIES + ENGLISH_QUERIES, max(1, rounds // 4),
                                         {"city": ["北京", "上海"]})
        report(f"Chinese ({len(CHINESE_QUERIES)} queries)", chinese)
        report(f"English ({len(ENGLISH_QUERIES)} queries)", english)
        report("both, filtered by city", filtered)
        report("all", chinese + english + filtered)
        empty = [query for query, found in {**chinese_hits, **english_hits}.items() if not found]
        if empty:
            print(f"queries that found nothing: {empty}")
    finally:
        await store.close()
        await relational.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--database-url", help="a database to use instead of SQLite in a temporary directory")
    args = parser.parse_args()
    if args.database_url:
        asyncio.run(run(args.database_url, args.documents, args.batch, args.rounds, None))
        return
    with tempfile.TemporaryDirectory(prefix="looma-bench-fulltext-") as directory:
        database = Path(directory) / "looma.db"
        asyncio.run(run(f"sqlite+aiosqlite:///{database}", args.documents, args.batch, args.rounds, database))


if __name__ == "__main__":
    main()
