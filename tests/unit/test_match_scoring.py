"""Match scoring (ai_services/matching_service/scoring): profiles, dimensions, weights, labels,
hard filters, the batch ranking, adverse impact, and quality on the labelled evaluation set."""

from __future__ import annotations

import copy
import importlib
import json
import random
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ai_services.matching_service.scoring import (
    DIMENSIONS,
    PRESETS,
    HardFilters,
    InvalidWeights,
    JobProfile,
    SalaryCeiling,
    TalentMatrix,
    TalentProfile,
    Weights,
    adverse_impact,
    failed_filters,
    job_text,
    label_for,
    rank,
    resolve_weights,
    score,
    talent_text,
)
from ai_services.matching_service.scoring.quality import TfidfBaseline, ndcg_at, ranking_quality, spearman
from ai_services.matching_service.scoring.requirements import education_named, years_named

AS_OF = date(2026, 11, 25)
NOW = 1_795_564_800.0  # 2026-11-25T00:00:00Z
EVAL = Path(__file__).resolve().parents[1] / "matching_eval"

JAVA_JOB = {
    "id": "job-java", "title": "Java后端开发工程师", "locations": ["上海"],
    "description": "负责交易系统后端开发。任职要求：3-5年Java开发经验，熟悉Spring Boot、MySQL、Redis；本科及以上学历；"
                   "有Kafka经验者优先。",
    "salary": {"min": 25000, "max": 35000, "currency": "CNY", "period": "month"},
}


def talent(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": "t", "name": "Someone"}
    base.update(fields)
    return base


JAVA_DEV = talent(
    id="java-dev", current_title="Java开发工程师", location="上海市浦东新区", years_of_experience=4,
    skills=[{"name": "Java", "level": "advanced"}, {"name": "Spring Boot"}, {"name": "MySQL"}, {"name": "Redis"}],
    education=[{"school": "浙江大学", "degree": "本科", "major": "计算机科学与技术"}],
    experience=[{"company": "蓝鲸电商", "title": "Java开发工程师", "start": "2022-07", "end": "present",
                 "description": "负责订单系统开发，使用Spring Boot和MySQL"}],
    expected_salary={"min": 28000, "max": 35000, "currency": "CNY", "period": "month"})
CHEF = talent(
    id="chef", current_title="Head Chef", location="上海", years_of_experience=9,
    skills=[{"name": "Cooking"}, {"name": "Menu planning"}], education=[{"degree": "高中"}],
    experience=[{"company": "Bistro", "title": "Chef", "start": "2017-01", "end": "present",
                 "description": "Ran a kitchen of twelve; seasonal menus, food costing and hygiene."}])


def profile(data: dict[str, Any]) -> TalentProfile:
    return TalentProfile.from_crm(data, AS_OF)


def match(data: dict[str, Any], job: dict[str, Any], weights: Weights | None = None, **kwargs: Any) -> Any:
    return score(profile(data), JobProfile.from_crm(job), weights or Weights(), now=NOW, **kwargs)


# --- ranking sense -------------------------------------------------------------------------------
def test_a_java_developer_ranks_above_a_chef_for_a_java_job() -> None:
    developer, chef = match(JAVA_DEV, JAVA_JOB), match(CHEF, JAVA_JOB)

    assert developer.score > chef.score + 0.3
    assert developer.label in ("good", "excellent")
    assert chef.label == "weak"


def test_implied_skills_count_and_say_how() -> None:
    job = {"title": "Backend engineer", "description": "x",
           "requirements": {"skills": [{"skill_id": "java", "required": True}]}}
    spring_only = talent(skills=[{"name": "Spring Boot"}])
    nothing = talent(skills=[{"name": "Excel"}])

    implied = match(spring_only, job).dimensions["skills"]
    absent = match(nothing, job).dimensions["skills"]

    # 0.9 for a one-step implication, times 0.9 for no stated level and 0.9 for no dated use
    assert implied.score == pytest.approx(0.9 * 0.9 * 0.9)
    assert implied.explanation["matched"] == [{"skill": "Java", "how": "implied", "credit": pytest.approx(0.729),
                                               "via": "Spring Boot"}]
    assert implied.explanation["missing_required"] == []
    assert absent.score == 0.0
    assert absent.explanation["missing_required"] == ["Java"]


def test_missing_required_skills_are_listed_and_named_in_the_sentence() -> None:
    job = {"title": "Data engineer", "description": "x", "requirements": {"skills": [
        {"name": "Python"}, {"name": "Spark"}, {"name": "Kafka"}, {"name": "Airflow", "required": False}]}}
    result = match(talent(skills=[{"name": "Python"}]), job)

    skills = result.dimensions["skills"].explanation
    assert skills["missing_required"] == ["Spark", "Kafka"]
    assert skills["missing_preferred"] == ["Airflow"]
    assert "missing required skills: Spark, Kafka" in result.explanation


def test_a_related_skill_earns_partial_credit_but_is_still_missing() -> None:
    job = {"title": "Dev", "description": "x", "requirements": {"skills": [{"skill_id": "vue"}]}}
    result = match(talent(skills=[{"name": "React"}]), job).dimensions["skills"]

    assert 0 < result.score < 0.6
    assert result.explanation["matched"][0]["how"] == "related"
    assert result.explanation["missing_required"] == ["Vue.js"] or result.explanation["missing_required"] == ["Vue"]


def test_a_recently_used_skill_counts_more_than_one_used_years_ago() -> None:
    job = {"title": "Dev", "description": "x", "requirements": {"skills": [{"skill_id": "java"}]}}
    recent = talent(experience=[{"title": "Developer", "start": "2021-01", "end": "present",
                                 "description": "Built services in Java."}])
    old = talent(experience=[{"title": "Developer", "start": "2008-01", "end": "2014-06",
                              "description": "Built services in Java."}])

    assert match(recent, job).dimensions["skills"].score > match(old, job).dimensions["skills"].score


def test_the_sentence_is_in_the_jobs_language() -> None:
    chinese = match(JAVA_DEV, JAVA_JOB).explanation
    english = match(JAVA_DEV, {**JAVA_JOB, "title": "Java backend engineer",
                               "description": "Java, Spring Boot, MySQL. 3+ years."}).explanation

    assert chinese.startswith(("非常匹配", "比较匹配", "基本匹配")) and "技能匹配" in chinese
    assert english.startswith(("Excellent match", "Good match", "Fair match")) and "skills match" in english


# --- unknown dimensions --------------------------------------------------------------------------
def test_unknown_dimensions_are_none_and_left_out_of_the_score() -> None:
    bare = talent(years_of_experience=4,
                  skills=[{"name": "Java"}, {"name": "Spring Boot"}, {"name": "MySQL"}, {"name": "Redis"}])
    result = match(bare, JAVA_JOB)

    for name in ("semantic", "education", "location", "salary", "recency"):
        assert result.dimensions[name].score is None, name
        assert result.dimensions[name].weight == 0.0
    known = {n: d for n, d in result.dimensions.items() if d.score is not None}
    assert set(known) == {"skills", "experience"}
    weights = Weights()
    expected = sum(getattr(weights, n) * d.score for n, d in known.items()) / sum(getattr(weights, n) for n in known)
    assert result.score == pytest.approx(expected)
    assert sum(d.weight for d in known.values()) == pytest.approx(1.0)
    assert result.coverage == pytest.approx((weights.skills + weights.experience) / sum(weights.as_dict().values()))
    # Scoring the unknowns as 0 would have pulled the score far down.
    assert result.score > sum(getattr(weights, n) * d.score for n, d in known.items())


def test_salary_in_another_currency_is_unknown_and_periods_are_normalised() -> None:
    job = {**JAVA_JOB, "salary": {"min": 300_000, "max": 420_000, "currency": "CNY", "period": "year"}}
    dollars = {**JAVA_DEV, "expected_salary": {"min": 5000, "currency": "USD", "period": "month"}}

    assert match(dollars, job).dimensions["salary"].score is None
    assert match(JAVA_DEV, job).dimensions["salary"].score == 1.0  # 28k a month asked, 35k a month offered
    high = {**JAVA_DEV, "expected_salary": {"min": 42000, "currency": "CNY", "period": "month"}}
    assert match(high, job).dimensions["salary"].score == pytest.approx(0.5)  # 20 % above the top


def test_location_same_city_region_remote_and_relocation() -> None:
    job = JAVA_JOB  # 上海

    def place(**fields: Any) -> float | None:
        return match(talent(**fields), job).dimensions["location"].score

    assert place(location="上海市徐汇区") == 1.0
    assert place(location="苏州工业园区") == 0.75
    assert place(location="北京") == 0.3
    assert place(location="北京", tags=["relocation-ok"]) == 0.6
    assert place(location="London, UK") == 0.1
    assert place() is None
    assert match(talent(location="London"), {**job, "remote": True}).dimensions["location"].score == 1.0


def test_education_level_and_field() -> None:
    job = {"title": "Data analyst", "description": "Bachelor's degree in statistics. SQL and Excel."}
    master = match(talent(education=[{"degree": "MSc", "major": "Statistics"}]), job).dimensions["education"]
    associate = match(talent(education=[{"degree": "大专", "major": "会计"}]), job).dimensions["education"]

    assert master.score == 1.0
    assert associate.score == pytest.approx(0.7 * 0.5 + 0.3 * 0.6)
    assert master.explanation["level"] == "master" and master.explanation["required"] == "bachelor"


# --- weights -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("call", "field"), [
    (lambda: Weights.parse({"skils": 0.3}), "weights.skils"),
    (lambda: Weights.parse({"skills": -0.1}), "weights.skills"),
    (lambda: Weights.parse({"salary": "high"}), "weights.salary"),
    (lambda: Weights.parse({"semantic": float("nan")}), "weights.semantic"),
    (lambda: resolve_weights(request={"location": -1}), "weights.location"),
    (lambda: resolve_weights(job={"colour": 1}), "job.weights.colour"),
    (lambda: resolve_weights(profile={"experience": -2}), "profile.experience"),
    (lambda: resolve_weights(profile="retail"), "profile"),
    (lambda: resolve_weights(request=dict.fromkeys(DIMENSIONS, 0)), "weights"),
])
def test_bad_weights_raise_an_error_naming_the_field(call: Any, field: str) -> None:
    with pytest.raises(InvalidWeights) as raised:
        call()

    assert raised.value.field == field
    assert str(raised.value).startswith(field + ":")


def test_default_weights_and_presets() -> None:
    assert Weights().as_dict() == {"semantic": 0.35, "skills": 0.30, "experience": 0.20, "education": 0.10,
                                   "location": 0.03, "salary": 0.02, "recency": 0.0}
    assert set(PRESETS) == {"technology", "finance", "healthcare"}
    for preset in PRESETS.values():
        assert sum(preset.as_dict().values()) == pytest.approx(1.0)
    assert PRESETS["technology"].skills > Weights().skills
    assert PRESETS["healthcare"].education > Weights().education


def test_overrides_apply_defaults_then_profile_then_job_then_request() -> None:
    assert resolve_weights() == Weights()
    assert resolve_weights("finance") == PRESETS["finance"]
    merged = resolve_weights("technology", job={"skills": 0.5, "salary": 0.1}, request={"skills": 0.6})

    assert merged.skills == 0.6  # the request beats the job
    assert merged.salary == 0.1  # the job beats the profile
    assert merged.semantic == PRESETS["technology"].semantic  # the profile beats the defaults
    assert resolve_weights({"recency": 0.2}).recency == 0.2
    assert resolve_weights({"recency": 0.2}).skills == Weights().skills


# --- labels --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "label"), [
    (1.0, "excellent"), (0.85, "excellent"), (0.8499, "good"), (0.70, "good"), (0.6999, "fair"), (0.55, "fair"),
    (0.5499, "weak"), (0.0, "weak"),
])
def test_labels_follow_the_thresholds(value: float, label: str) -> None:
    assert label_for(value) == label


# --- protected attributes ------------------------------------------------------------------------
PROTECTED = {"gender": ("男", "female", "non-binary"), "birth_date": ("1966-05-01", "2001-12-31"),
             "age": (22, 61), "ethnicity": ("汉族", "维吾尔族", "Hispanic"), "nationality": ("中国", "US", "IN"),
             "photo": ("https://example.com/a.jpg", "data:image/png;base64,AAAA"),
             "marital_status": ("married", "single", "已婚")}


@pytest.mark.parametrize("base", [JAVA_DEV, CHEF])
def test_protected_attributes_change_no_profile_and_no_score(base: dict[str, Any]) -> None:
    job = JobProfile.from_crm(JAVA_JOB)
    reference = score(profile(base), job, now=NOW)
    rng = random.Random(3)
    for _ in range(12):
        varied = copy.deepcopy(base)
        for name, values in PROTECTED.items():
            varied[name] = rng.choice(values)
        varied["custom"] = {name: rng.choice(values) for name, values in PROTECTED.items()}

        assert profile(varied) == profile(base)
        result = score(profile(varied), job, now=NOW)
        assert result.score == reference.score
        assert result.to_dict() == reference.to_dict()


def test_embedding_text_holds_no_protected_attribute() -> None:
    data = {**JAVA_DEV, "gender": "女", "birth_date": "1990-01-01", "nationality": "中国", "ethnicity": "汉族",
            "marital_status": "已婚", "photo": "https://example.com/p.jpg"}

    text = talent_text(data)
    assert "Java" in text
    for value in ("女", "1990-01-01", "中国", "汉族", "已婚", "example.com"):
        assert value not in text
    assert job_text(JAVA_JOB).startswith("Java后端开发工程师")


# --- jobs without requirements -------------------------------------------------------------------
def test_a_job_with_only_title_and_description_gets_derived_requirements() -> None:
    job = JobProfile.from_crm({"title": "Senior Data Analyst", "description": (
        "Own reporting for the sales team. Requirements: 5+ years in data analysis; advanced SQL and Excel; "
        "Tableau or Power BI. Python is a plus. Bachelor's degree in statistics or mathematics.")})

    assert job.requirements_derived and job.derived == {"skills", "years", "education"}
    by_id = {r.skill_id: r for r in job.requirements}
    assert {"sql", "excel", "tableau", "python"} <= set(by_id)
    assert by_id["sql"].required and not by_id["python"].required
    assert (job.min_years, job.max_years) == (5.0, None)
    assert job.education_level == 3  # bachelor

    analyst = profile(talent(id="analyst", current_title="Data Analyst", years_of_experience=6,
                             skills=[{"name": "SQL"}, {"name": "Excel"}, {"name": "Tableau"}],
                             education=[{"degree": "Bachelor of Science", "major": "Statistics"}]))
    developer = profile(JAVA_DEV)
    chef = profile(CHEF)
    ranked = rank(job, [developer, chef, analyst], now=NOW)
    assert ranked[0].talent_id == "analyst"


def test_stated_requirements_are_kept_and_only_missing_parts_derived() -> None:
    job = JobProfile.from_crm({"title": "Backend", "description": "5年以上经验，硕士优先，本科及以上。",
                               "requirements": {"skills": [{"skill_id": "go", "weight": 2}]}})

    assert [r.skill_id for r in job.requirements] == ["go"]
    assert job.requirements[0].weight == 2
    assert job.derived == {"years", "education"}
    assert job.min_years == 5.0 and job.education_level == 3


@pytest.mark.parametrize(("text", "years"), [
    ("3-5年Java开发经验", (3.0, 5.0)), ("5+ years of experience", (5.0, None)), ("at least 4 years", (4.0, None)),
    ("三年以上工作经验", (3.0, None)), ("5年以上，8年以上优先", (5.0, None)), ("3 to 5 years experience", (3.0, 5.0)),
    ("no number here", (None, None)),
])
def test_years_are_read_from_text(text: str, years: tuple[float | None, float | None]) -> None:
    assert years_named(text) == years


@pytest.mark.parametrize(("text", "level"), [
    ("本科及以上学历，硕士优先", "bachelor"), ("硕士及以上学历", "master"), ("大专以上", "associate"),
    ("PhD in machine learning", "doctorate"), ("A bachelor's degree in CS", "bachelor"), ("No degree needed? Be kind.", None),
])
def test_education_is_read_from_text(text: str, level: str | None) -> None:
    assert education_named(text) == level


# --- hard filters --------------------------------------------------------------------------------
def test_hard_filters() -> None:
    job = JobProfile.from_crm({"title": "Backend", "description": "x", "locations": ["上海"],
                               "requirements": {"skills": [{"skill_id": "java"}, {"skill_id": "mysql"},
                                                           {"skill_id": "kafka", "required": False}]}})
    spring = profile(talent(id="spring", location="上海", skills=[{"name": "Spring Boot"}, {"name": "MySQL"}],
                            tags=["work-authorised:CN"],
                            expected_salary={"min": 30000, "currency": "CNY", "period": "month"}))
    no_sql = profile(talent(id="no-sql", location="苏州", skills=[{"name": "Java"}], tags=["remote"]))
    related = profile(talent(id="related", location="北京", skills=[{"name": "Kotlin"}, {"name": "MySQL"}],
                             custom={"work_authorisation": ["cn", "SG"]},
                             expected_salary={"min": 600000, "currency": "CNY", "period": "year"}))

    def failing(filters: HardFilters) -> dict[str, list[str]]:
        return {t.id: failed_filters(t, job, filters) for t in (spring, no_sql, related)}  # type: ignore[misc]

    assert failing(HardFilters(must_have_skills=True)) == {
        "spring": [], "no-sql": ["must_have_skills"], "related": ["must_have_skills"]}
    assert failing(HardFilters(locations=("上海",))) == {"spring": [], "no-sql": ["locations"], "related": ["locations"]}
    assert failing(HardFilters(locations=("上海",), same_region=True))["no-sql"] == []
    assert failing(HardFilters(locations=("Shanghai", "remote")))["no-sql"] == []
    assert failing(HardFilters(work_authorisation="CN")) == {
        "spring": [], "no-sql": ["work_authorisation"], "related": []}
    assert failing(HardFilters(salary_ceiling=SalaryCeiling(40000))) == {
        "spring": [], "no-sql": [], "related": ["salary_ceiling"]}  # 50k a month asked; no-sql states nothing
    assert failing(HardFilters(salary_ceiling=SalaryCeiling(40000, "USD")))["related"] == []

    everything = HardFilters(must_have_skills=True, locations=("上海",), work_authorisation="CN",
                             salary_ceiling=SalaryCeiling(400000, period="year"))
    assert [m.talent_id for m in rank(job, [spring, no_sql, related], filters=everything, now=NOW)] == ["spring"]
    assert rank(job, [no_sql, related], filters=everything, now=NOW) == []


# --- batch ---------------------------------------------------------------------------------------
def _random_talents(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    skills = ["java", "spring-boot", "mysql", "redis", "kafka", "python", "react", "vue", "docker", "kubernetes",
              "excel", "sql", "go", "kotlin", "spring", "postgresql"]
    titles = ["Java开发工程师", "Software Engineer", "前端工程师", "Data Analyst", "Chef", "运维工程师", None]
    places = ["上海", "苏州", "北京", "London", "Bengaluru", None]
    found = []
    for index in range(count):
        data: dict[str, Any] = {
            "id": f"r{index}", "current_title": rng.choice(titles), "location": rng.choice(places),
            "years_of_experience": rng.choice([None, 0.5, 2, 4, 7, 15]),
            "skills": [{"skill_id": s, "level": rng.choice([None, "beginner", "expert"]),
                        "years": rng.choice([None, 1, 5])} for s in rng.sample(skills, rng.randint(0, 6))],
            "education": [{"degree": rng.choice(["本科", "硕士", "大专", "PhD"]),
                           "major": rng.choice(["计算机", "会计", "Mathematics", None])}] if rng.random() < 0.8 else [],
            "tags": rng.sample(["relocation-ok", "remote", "work-authorised:CN"], rng.randint(0, 2)),
        }
        if rng.random() < 0.6:
            data["expected_salary"] = {"min": rng.choice([15000, 30000, 45000]), "currency": rng.choice(["CNY", "USD"])}
        if rng.random() < 0.5:
            data["updated_at"] = f"2026-{rng.randint(1, 11):02d}-01T00:00:00Z"
        found.append(data)
    return found


def test_the_batch_rank_gives_the_same_top_items_and_scores_as_pairs() -> None:
    talents = [profile(d) for d in _random_talents(400, seed=5)]
    job = JobProfile.from_crm(JAVA_JOB)
    rng = np.random.default_rng(11)
    vectors = rng.normal(size=(len(talents), 24))
    vectors[::7] = 0  # some talents have no vector: semantic unknown for them
    job_vector = rng.normal(size=24)
    weights = Weights(recency=0.1)
    matrix = TalentMatrix.build(talents, vectors)

    top = rank(job, matrix, weights, top_k=25, job_vector=job_vector, now=NOW)
    pairs = sorted(((score(t, job, weights, matrix.vector(i), job_vector, now=NOW).score, i)
                    for i, t in enumerate(talents)), key=lambda item: (-item[0], item[1]))[:25]

    assert [m.talent_id for m in top] == [talents[i].id for _, i in pairs]
    assert [m.score for m in top] == pytest.approx([s for s, _ in pairs], abs=1e-9)
    batch = matrix.scores(job, weights, job_vector, NOW)
    each = [score(t, job, weights, matrix.vector(i), job_vector, explain=False, now=NOW).score
            for i, t in enumerate(talents)]
    assert batch == pytest.approx(each, abs=1e-6)
    assert all(m.explanation for m in top)
    assert all("matched" in m.dimensions["skills"].explanation for m in top if m.dimensions["skills"].score is not None)


def test_the_batch_filters_agree_with_the_pair_filters() -> None:
    talents = [profile(d) for d in _random_talents(300, seed=9)]
    job = JobProfile.from_crm({**JAVA_JOB, "requirements": {"skills": [{"skill_id": "java"}, {"skill_id": "mysql"}]}})
    matrix = TalentMatrix.build(talents)
    for filters in (HardFilters(must_have_skills=True), HardFilters(locations=("上海", "remote")),
                    HardFilters(locations=("上海",), same_region=True), HardFilters(work_authorisation="cn"),
                    HardFilters(salary_ceiling=SalaryCeiling(20000)),
                    HardFilters(must_have_skills=True, locations=("上海", "北京"), salary_ceiling=SalaryCeiling(40000))):
        expected = [not failed_filters(t, job, filters) for t in talents]
        assert matrix.passes(job, filters).tolist() == expected, filters


def test_the_matrix_takes_upserts_and_removals() -> None:
    job = JobProfile.from_crm(JAVA_JOB)
    others = [profile(d) for d in _random_talents(60, seed=2)]
    matrix = TalentMatrix.build([profile(CHEF), *others])
    assert "java-dev" not in [m.talent_id for m in rank(job, matrix, top_k=100, now=NOW)]

    matrix.upsert([profile(JAVA_DEV)])
    scores = {m.talent_id: m.score for m in rank(job, matrix, top_k=100, now=NOW)}
    assert scores["java-dev"] == score(profile(JAVA_DEV), job, now=NOW).score > scores["chef"]

    changed = {**JAVA_DEV, "skills": [{"name": "Cooking"}], "current_title": "Chef", "experience": []}
    matrix.upsert([profile(changed)])
    assert len(matrix) == 62
    scores = {m.talent_id: m.score for m in rank(job, matrix, top_k=100, now=NOW)}
    assert scores["java-dev"] == score(profile(changed), job, now=NOW).score

    assert matrix.remove([t.id for t in others if t.id] + ["java-dev"]) == 61  # compacts past a quarter dead
    assert [m.talent_id for m in rank(job, matrix, top_k=10, now=NOW)] == ["chef"]
    assert matrix.size == len(matrix) == 1


# --- fairness ------------------------------------------------------------------------------------
def test_adverse_impact_on_a_worked_example() -> None:
    # A: 25 of 50 selected (0.50); B: 12 of 40 (0.30); C: 18 of 40 (0.45); D: 1 of 5, too few to judge.
    ranking = ([(i < 25, "A") for i in range(50)] + [(i < 12, "B") for i in range(40)]
               + [(i < 18, "C") for i in range(40)] + [(i < 1, "D") for i in range(5)])

    result = adverse_impact(ranking)
    groups = {g.group: g for g in result.groups}

    assert result.reference_group == "A"
    assert (groups["B"].members, groups["B"].selected) == (40, 12)
    assert groups["B"].rate == pytest.approx(0.30)
    assert groups["B"].impact_ratio == pytest.approx(0.6)
    assert groups["B"].adverse and result.violated
    assert groups["C"].impact_ratio == pytest.approx(0.9) and not groups["C"].adverse
    assert groups["D"].too_few and groups["D"].impact_ratio == pytest.approx(0.4) and not groups["D"].adverse
    assert not adverse_impact([(i < 25, "A") for i in range(50)] + [(i < 18, "C") for i in range(40)]).violated


def test_adverse_impact_edge_cases() -> None:
    nobody = adverse_impact([(False, "A")] * 30 + [(False, "B")] * 30)
    assert not nobody.violated and all(g.impact_ratio is None for g in nobody.groups)
    small = adverse_impact([(True, "A"), (True, "A"), (False, "B"), (False, "B")])
    assert small.violated and small.notes  # indicative only: every group is small
    with pytest.raises(ValueError):
        adverse_impact([], threshold=1.5)


# --- quality -------------------------------------------------------------------------------------
def test_ranking_measures() -> None:
    assert ndcg_at([3, 2, 0], [3, 2, 0]) == pytest.approx(1.0)
    ideal = 7 + 3 / np.log2(3)
    assert ndcg_at([0, 2, 3], [3, 2, 0]) == pytest.approx((3 / np.log2(3) + 7 / 2) / ideal)
    assert ndcg_at([0, 0], [0, 0]) is None
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [1, 1, 1, 1]) is None
    tfidf = TfidfBaseline(["java spring backend", "java backend services", "烹饪 厨师"])
    similarity = tfidf.similarity([0], [1, 2])[0]
    assert similarity[0] > similarity[1] == 0


def _eval_set() -> tuple[list[dict[str, Any]], list[dict[str, Any]], np.ndarray]:
    jobs = json.loads((EVAL / "jobs.json").read_text(encoding="utf-8"))
    talents = json.loads((EVAL / "talents.json").read_text(encoding="utf-8"))
    labels = json.loads((EVAL / "labels.json").read_text(encoding="utf-8"))
    column = {t["id"]: i for i, t in enumerate(talents)}
    grades = np.zeros((len(jobs), len(talents)))
    for row, job in enumerate(jobs):
        for talent_id, grade in labels[job["id"]].items():
            grades[row, column[talent_id]] = grade
    return jobs, talents, grades


def test_the_evaluation_set_loads_and_the_scorer_beats_tfidf_on_it() -> None:
    jobs, talents, grades = _eval_set()
    assert len(jobs) >= 20 and sum(j["language"] == "zh" for j in jobs) >= 10
    assert len({j["family"] for j in jobs}) >= 11
    assert (grades == 3).sum() > 50 and set(np.unique(grades)) == {0, 1, 2, 3}
    assert sum(p.stat().st_size for p in EVAL.glob("*.json")) < 500_000

    matrix = TalentMatrix.build([TalentProfile.from_crm(t["crm"], AS_OF) for t in talents])
    scorer = np.vstack([matrix.scores(JobProfile.from_crm(j["crm"]), now=NOW) for j in jobs])
    texts = [job_text(j["crm"]) for j in jobs] + [talent_text(t["crm"]) for t in talents]
    baseline = TfidfBaseline(texts).similarity(range(len(jobs)), range(len(jobs), len(texts)))

    ours, theirs = ranking_quality(scorer, grades), ranking_quality(baseline, grades)
    assert ours["jobs_ndcg@10"] > theirs["jobs_ndcg@10"]
    assert ours["talents_ndcg@10"] > theirs["talents_ndcg@10"]


def test_the_public_api_is_what_all_names() -> None:
    package = importlib.import_module("ai_services.matching_service.scoring")

    assert [name for name in package.__all__ if not hasattr(package, name)] == []
    assert len(package.__all__) == len(set(package.__all__))
