"""The skills taxonomy: bilingual synonyms, implications, fuzzy lookup, extraction with exact spans,
the CRM's skill references, and the packaged file being what the build makes of the sources."""

from __future__ import annotations

import itertools
import re
import runpy
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import shared.skills
from shared.skills import KINDS, SkillMention, SkillTaxonomy, UnknownSkillId, load_taxonomy
from shared.skills.curated import CATEGORIES
from tests.conftest import IN_CI

REPO = Path(__file__).resolve().parents[2]
SOURCES = REPO.parent / "shared" / "data" / "skills"
PACKAGED = REPO / "shared" / "skills" / "taxonomy.json.gz"
BUILD_SCRIPT = REPO / "scripts" / "build_skills_taxonomy.py"


def require_sources(reason: str) -> None:
    """Skip when the source data is absent locally; in CI its absence is a failure (as require_server)."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the taxonomy must be checked against its sources)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def skills() -> SkillTaxonomy:
    return load_taxonomy()


def ids(mentions: list[SkillMention]) -> list[str]:
    return [mention.skill.id for mention in mentions]


def assert_exact_spans(text: str, mentions: list[SkillMention]) -> None:
    for mention in mentions:
        assert text[mention.start:mention.end] == mention.text
    spans = [(mention.start, mention.end) for mention in mentions]
    assert spans == sorted(spans)
    assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(spans))


# --- lookup: one id whatever the language or spelling --------------------------------------------

SYNONYMS = {
    "java": ["Java", "JAVA", "java开发", "Java开发", "Java工程师", "高级Java工程师", "Java developer"],
    "machine-learning": ["机器学习", "ML", "machine learning", "Machine-Learning"],
    "frontend": ["前端", "前端开发", "frontend", "front-end", "Front End"],
    "backend": ["后端", "后端开发", "backend", "back-end"],
    "deep-learning": ["深度学习", "deep learning", "DL"],
    "nlp": ["自然语言处理", "NLP", "natural language processing"],
    "computer-vision": ["计算机视觉", "CV", "computer vision"],
    "data-analysis": ["数据分析", "data analysis", "Data Analytics"],
    "project-management": ["项目管理", "project management"],
    "microservices": ["微服务", "microservices", "Microservice architecture"],
    "distributed-systems": ["分布式", "分布式系统", "distributed systems"],
    "big-data": ["大数据", "big data"],
    "hadoop": ["Hadoop", "Apache Hadoop"],
    "spark": ["Spark", "Apache Spark", "PySpark"],
    "kafka": ["Kafka", "Apache Kafka"],
    "redis": ["Redis", "redis"],
    "mysql": ["MySQL", "mysql数据库"],
    "postgresql": ["PostgreSQL", "Postgres", "postgresql"],
    "mongodb": ["MongoDB", "Mongo"],
    "elasticsearch": ["Elasticsearch", "ES", "Elastic Search"],
    "docker": ["Docker", "docker"],
    "kubernetes": ["Kubernetes", "K8s", "k8s"],
    "linux": ["Linux", "Linux系统"],
    "go": ["Go", "Golang", "Go语言", "golang"],
    "c": ["C", "C语言"],
    "cpp": ["C++", "c++", "Ｃ＋＋"],
    "csharp": ["C#", "C Sharp"],
    "javascript": ["JavaScript", "JS", "javascript"],
    "typescript": ["TypeScript", "TS"],
    "react": ["React", "React.js", "ReactJS", "react js", "React JS"],
    "vue": ["Vue", "Vue.js", "vuejs"],
    "angular": ["Angular", "AngularJS"],
    "nodejs": ["Node.js", "Node", "NodeJS", "node js"],
    "spring": ["Spring", "Spring Framework"],
    "spring-boot": ["Spring Boot", "SpringBoot", "spring-boot", "springboot"],
    "mybatis": ["MyBatis", "mybatis"],
    "django": ["Django"],
    "flask": ["Flask"],
    "fastapi": ["FastAPI"],
    "tensorflow": ["TensorFlow"],
    "pytorch": ["PyTorch"],
    "english": ["英语", "English", "英文"],
    "communication": ["沟通能力", "communication", "communication skills"],
    "excel": ["Excel", "Microsoft Excel"],
    "powerpoint": ["PPT", "PowerPoint"],
    "accounting": ["财务", "accounting", "会计"],
    "sales": ["销售", "sales"],
}


@pytest.mark.parametrize(("skill_id", "name"), [(skill_id, name) for skill_id, names in SYNONYMS.items()
                                                for name in names])
def test_synonyms_in_both_languages_name_one_skill(skills: SkillTaxonomy, skill_id: str, name: str) -> None:
    found = skills.lookup(name)

    assert found is not None and found.id == skill_id


@pytest.mark.parametrize("name", ["ＰＹＴＨＯＮ", "  python ", "Python\u3000", "“Python”", "Java 开发"])
def test_lookup_folds_width_case_space_and_punctuation(skills: SkillTaxonomy, name: str) -> None:
    found = skills.lookup(name)

    assert found is not None and found.id in {"python", "java"}


def test_react_spellings_are_one_skill(skills: SkillTaxonomy) -> None:
    found = {skills.lookup(name).id for name in ("React", "React.js", "ReactJS", "reactjs", "React-JS")}

    assert found == {"react"}


def test_unknown_names_find_nothing(skills: SkillTaxonomy) -> None:
    assert skills.lookup("underwater basket weaving") is None
    assert skills.lookup("") is None
    assert skills.lookup("   ") is None


def test_languages_are_their_own_kind(skills: SkillTaxonomy) -> None:
    english = skills.lookup("英语")

    assert english.kind == "language" and english.category == "language"
    assert skills.get("java").kind == "skill"
    assert skills.lookup("雅思").id == "english"


def test_roles_are_not_skills(skills: SkillTaxonomy) -> None:
    assert skills.lookup("产品经理") is None

    role = skills.role("产品经理")

    assert role is not None and role.id == "product-manager"
    assert "product-management" in role.skills
    assert all(skill_id in skills for found in skills.roles for skill_id in found.skills)


# --- implications and relations ------------------------------------------------------------------


@pytest.mark.parametrize(("skill_id", "implied"), [
    ("spring-boot", {"java", "spring"}),
    ("react", {"javascript", "frontend"}),
    ("django", {"python"}),
    ("pytorch", {"python", "machine-learning", "deep-learning"}),
    ("kubernetes", {"containerization", "docker"}),
    ("typescript", {"javascript"}),
])
def test_implied_skills(skills: SkillTaxonomy, skill_id: str, implied: set[str]) -> None:
    assert implied <= {skill.id for skill in skills.implied(skill_id)}


def test_implication_is_transitive_and_bounded(skills: SkillTaxonomy) -> None:
    assert "java" in {skill.id for skill in skills.implied("spring-cloud")}  # spring-cloud > spring-boot > java
    assert [skill.id for skill in skills.implied("spring-boot", depth=0)] == []
    for skill in skills:
        found = [other.id for other in skills.implied(skill.id)]
        assert skill.id not in found and len(found) == len(set(found))


def test_related_is_symmetric(skills: SkillTaxonomy) -> None:
    assert "pytorch" in {skill.id for skill in skills.related("tensorflow")}
    for skill in skills:
        for other in skills.related(skill.id):
            assert skill.id in other.related or skill.id in other.implies


def test_category_and_unknown_ids(skills: SkillTaxonomy) -> None:
    assert skills.category("java") == "programming language"
    assert skills.get("no-such-skill") is None
    with pytest.raises(UnknownSkillId, match="no-such-skill"):
        skills.category("no-such-skill")
    with pytest.raises(UnknownSkillId):
        skills.implied("no-such-skill")


def test_every_skill_is_well_formed(skills: SkillTaxonomy) -> None:
    slug = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
    owners: dict[str, str] = {}
    for skill in skills:
        assert slug.fullmatch(skill.id), skill.id
        assert skill.kind in KINDS and skill.category in CATEGORIES, skill.id
        assert skill.name and skill.aliases and skill.sources
        assert all(other in skills for other in (*skill.related, *skill.implies)), skill.id
        for key in skill.keys:
            assert owners.setdefault(key, skill.id) == skill.id, f"{key!r} is {owners[key]!r}'s and {skill.id!r}'s"
    assert len(skills) > 1500


# --- fuzzy lookup --------------------------------------------------------------------------------


@pytest.mark.parametrize(("typo", "skill_id"), [
    ("Kubernets", "kubernetes"), ("Pyhton", "python"), ("postgre", "postgresql"), ("Javascirpt", "javascript"),
    ("机器学系", "machine-learning"),
])
def test_fuzzy_finds_typos(skills: SkillTaxonomy, typo: str, skill_id: str) -> None:
    found = skills.fuzzy(typo)

    assert found and found[0][0].id == skill_id
    assert all(0 < score <= 100 for _, score in found)
    assert [score for _, score in found] == sorted((score for _, score in found), reverse=True)


def test_fuzzy_scores_exact_names_100_and_honours_limit_and_cutoff(skills: SkillTaxonomy) -> None:
    assert skills.fuzzy("Kubernetes")[0] == (skills.get("kubernetes"), 100.0)
    assert len(skills.fuzzy("java", limit=2)) <= 2
    assert skills.fuzzy("qqqqzzzz") == []
    assert skills.fuzzy("") == []


# --- extraction ----------------------------------------------------------------------------------

ENGLISH_RESUME = (
    "Senior software engineer with 8 years of experience in Java and Go, building microservices on "
    "Kubernetes. Proficient in C, C++ and C#; wrote JavaScript and TypeScript frontends with ReactJS. "
    "Led the go-to-market plan and helped the sales team go to market in Spring 2021. "
    "Grade C in chemistry. Languages: English (fluent), Mandarin."
)
CHINESE_RESUME = (
    "5年Java开发经验，精通JavaScript、TypeScript和React.js，熟悉C/C++、C#，了解Go语言与Python3。"
    "熟练使用MySQL、Redis、Kafka，熟悉Docker/K8s部署；负责运营商客户的大数据平台，英语六级，沟通能力强。"
)


def test_english_resume_extraction(skills: SkillTaxonomy) -> None:
    mentions = skills.extract(ENGLISH_RESUME)

    assert_exact_spans(ENGLISH_RESUME, mentions)
    found = [(mention.text, mention.skill.id) for mention in mentions]
    assert ("Java", "java") in found and ("JavaScript", "javascript") in found
    assert ("C++", "cpp") in found and ("C#", "csharp") in found and ("C", "c") in found
    assert ("ReactJS", "react") in found and ("Kubernetes", "kubernetes") in found
    assert ("English", "english") in found and ("Mandarin", "chinese") in found
    # "Go" counts once, where it is a language next to Java; never in "go-to-market" or "go to market".
    assert [mention.text for mention in mentions if mention.skill.id == "go"] == ["Go"]
    assert ENGLISH_RESUME.index("Go,") == next(m.start for m in mentions if m.skill.id == "go")
    # "Java" inside "JavaScript" is not Java; "Grade C" is not C; "Spring 2021" is a season.
    assert ids(mentions).count("java") == 1
    assert ids(mentions).count("c") == 1
    assert "spring" not in ids(mentions)


def test_chinese_resume_extraction(skills: SkillTaxonomy) -> None:
    mentions = skills.extract(CHINESE_RESUME)

    assert_exact_spans(CHINESE_RESUME, mentions)
    assert ids(mentions) == [
        "java", "javascript", "typescript", "react", "c", "cpp", "csharp", "go", "python",
        "mysql", "redis", "kafka", "docker", "kubernetes", "big-data", "english", "communication",
    ]
    assert "operations" not in ids(mentions)  # 运营商 is a carrier, not 运营


def test_backend_and_machine_learning_in_a_chinese_title(skills: SkillTaxonomy) -> None:
    text = "资深后端工程师，熟悉机器学习和Spring Boot"

    mentions = skills.extract(text)

    assert [(m.text, m.skill.id) for m in mentions] == [
        ("后端", "backend"), ("机器学习", "machine-learning"), ("Spring Boot", "spring-boot")]
    assert_exact_spans(text, mentions)


def test_chinese_is_matched_longest_first(skills: SkillTaxonomy) -> None:
    mentions = skills.extract("负责后端开发与前端开发")

    assert [m.text for m in mentions] == ["后端开发", "前端开发"]


@pytest.mark.parametrize("text", [
    "Let's go to market next week", "our go-to-market strategy", "Go to market in Q3", "C-level executives",
    "R&D department", "a Grade C student", "完成C轮融资", "I excel at teamwork in Word of mouth campaigns",
    "JavaScript", "The Chinese University of Hong Kong",
])
def test_ambiguous_short_names_need_context(skills: SkillTaxonomy, text: str) -> None:
    found = {mention.skill.id for mention in skills.extract(text)}

    assert found.isdisjoint({"go", "c", "r", "java", "excel", "word", "chinese"})


@pytest.mark.parametrize(("text", "written"), [
    ("熟悉Go", "Go"), ("Go developer", "Go"), ("Python, Go and Rust", "Go"), ("C/C++", "C"), ("C developer", "C"),
    ("C programming", "C programming"), ("精通C语言", "C语言"), ("Skills: R, Python", "R"), ("熟练使用Excel", "Excel"),
    ("Spring、MyBatis", "Spring"),
])
def test_ambiguous_short_names_in_context(skills: SkillTaxonomy, text: str, written: str) -> None:
    assert written in [mention.text for mention in skills.extract(text)]


def test_extraction_keeps_offsets_of_full_width_and_mixed_text(skills: SkillTaxonomy) -> None:
    text = "熟悉Ｐｙｔｈｏｎ和Ｃ＋＋，\n以及 Spring\nBoot、Vue3"

    mentions = skills.extract(text)

    assert_exact_spans(text, mentions)
    assert [(m.text, m.skill.id) for m in mentions] == [
        ("Ｐｙｔｈｏｎ", "python"), ("Ｃ＋＋", "cpp"), ("Spring\nBoot", "spring-boot"), ("Vue3", "vue")]


def test_extraction_of_empty_and_skill_free_text(skills: SkillTaxonomy) -> None:
    assert skills.extract("") == []
    assert skills.extract("今天天气很好，我们去公园散步。") == []


# --- references for the CRM ----------------------------------------------------------------------


def test_normalise_known_ids_and_names(skills: SkillTaxonomy) -> None:
    assert skills.normalise({"skill_id": "java"}) == shared.skills.SkillRef("java", "Java", True)
    assert skills.normalise({"name": "k8s"}).skill_id == "kubernetes"
    assert skills.normalise({"name": "机器学习"}).skill_id == "machine-learning"
    assert skills.normalise("spring-boot").skill_id == "spring-boot"
    assert skills.normalise("React.js").skill_id == "react"


def test_normalise_keeps_unknown_names_as_free_text(skills: SkillTaxonomy) -> None:
    ref = skills.normalise({"name": "  Underwater   basket weaving "})

    assert ref == shared.skills.SkillRef(None, "Underwater basket weaving", False)
    assert skills.normalise("产品经理").known is False


def test_normalise_refuses_unknown_ids_and_bad_names(skills: SkillTaxonomy) -> None:
    with pytest.raises(UnknownSkillId) as error:
        skills.normalise({"skill_id": "no-such-skill", "name": "Java"})
    assert error.value.skill_id == "no-such-skill" and error.value.field == "skill_id"
    with pytest.raises(UnknownSkillId):
        skills.normalise({"skill_id": 42})
    with pytest.raises(ValueError, match="name"):
        skills.normalise({"name": "   "})
    with pytest.raises(ValueError, match="at most 100"):
        skills.normalise({"name": "x" * 101})
    with pytest.raises(ValueError):
        skills.normalise({})


# --- the packaged file ---------------------------------------------------------------------------


def test_public_api() -> None:
    assert len(shared.skills.__all__) == len(set(shared.skills.__all__))
    assert all(hasattr(shared.skills, name) for name in shared.skills.__all__)


def test_load_is_cached_and_lazy() -> None:
    assert load_taxonomy() is load_taxonomy()
    code = "import shared.skills, shared.skills.taxonomy as t; print(t.load_taxonomy.cache_info().currsize)"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "0"  # importing reads nothing


def test_packaged_file_loads_without_the_sources(tmp_path: Path) -> None:
    """A fresh process, refused any file under ../shared, still loads and uses the taxonomy."""
    code = textwrap.dedent(f"""
        import sys
        FORBIDDEN = {str(REPO.parent / "shared")!r}
        def refuse(event, args):
            if event == "open" and isinstance(args[0], str) and args[0].startswith(FORBIDDEN):
                raise PermissionError(args[0])
        sys.addaudithook(refuse)
        from shared.skills import load_taxonomy
        skills = load_taxonomy()
        assert skills.lookup("ReactJS").id == "react"
        assert [m.skill.id for m in skills.extract("熟悉Java")] == ["java"]
        print(len(skills))
    """)
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}, check=False)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 1500


def test_packaged_file_is_the_build_of_the_sources(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not SOURCES.is_dir():
        require_sources(f"skill sources not found at {SOURCES}")
    build = runpy.run_path(str(BUILD_SCRIPT), run_name="build_skills_taxonomy")
    rebuilt = tmp_path / "taxonomy.json.gz"

    assert build["main"]([str(SOURCES), "--output", str(rebuilt)]) == 0

    assert rebuilt.read_bytes() == PACKAGED.read_bytes(), (
        "shared/skills/taxonomy.json.gz is not what scripts/build_skills_taxonomy.py makes of the sources: rebuild it")
    assert PACKAGED.stat().st_size < 1_500_000
