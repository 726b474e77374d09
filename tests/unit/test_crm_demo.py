"""`looma seed --demo`: the demo recruiting data, stored through the CRM's own code, the same every time."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections import defaultdict
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest
from typer.testing import CliRunner

from looma_crm.contacts import e164
from looma_crm.pipeline import STAGES, TRANSITIONS
from shared.cli.main import app
from shared.skills import load_taxonomy

runner = CliRunner()
CJK = re.compile(r"[\u4e00-\u9fff]")
COUNTS = {"companies": 30, "jobs": 50, "talents": 2000, "applications": 600, "notes": 300, "relationships": 400}


@pytest.fixture(autouse=True)
def _no_developer_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LOOMA_DATABASE_URL", "LOOMA_REDIS_URL", "LOOMA_ENV"):
        monkeypatch.delenv(name, raising=False)


def looma(*args: str, data_dir: Path) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--data-dir", str(data_dir)])
    return result.exit_code, result.output


def table(data_dir: Path, query: str) -> list[tuple]:
    with sqlite3.connect(data_dir / "looma.db") as db:
        return db.execute(query).fetchall()


def count(data_dir: Path, name: str) -> int:
    return table(data_dir, f"SELECT count(*) FROM {name}")[0][0]


@pytest.fixture(scope="module")
def full_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """One full-size seed, shared by the tests that only read it."""
    data_dir = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as patch:
        for name in ("LOOMA_DATABASE_URL", "LOOMA_REDIS_URL", "LOOMA_ENV"):
            patch.delenv(name, raising=False)
        code, out = looma("seed", "--demo", data_dir=data_dir)
    assert code == 0, out
    yield data_dir, out


def talents(data_dir: Path) -> list[dict]:
    return [json.loads(data) for (data,) in table(data_dir, "SELECT data FROM crm_talents ORDER BY created_at, id")]


def test_the_full_demo_has_every_kind_of_record(full_demo: tuple[Path, str]) -> None:
    data_dir, out = full_demo
    for name, expected in COUNTS.items():
        assert count(data_dir, f"crm_{name}") == expected, name
        assert re.search(rf"{name}\s+{expected}\b", out), out
    assert "DEMO ONLY, for local use" in out and "recruiter@demo.looma.test" in out
    assert {s for (s,) in table(data_dir, "SELECT stage FROM crm_applications")} == set(STAGES)
    assert {s for (s,) in table(data_dir, "SELECT status FROM crm_jobs")} == {"open", "paused", "closed"}
    assert {s for (s,) in table(data_dir, "SELECT DISTINCT kind FROM crm_notes")} >= {"note", "call", "email"}
    assert {t for (t,) in table(data_dir, "SELECT DISTINCT type FROM crm_relationships")} == {
        "colleague", "mentor", "referral", "friend", "business_partner"}


def test_the_demo_lives_in_the_demo_users_org(full_demo: tuple[Path, str]) -> None:
    data_dir, _ = full_demo
    users_org = {o for (o,) in table(data_dir, "SELECT DISTINCT org_id FROM auth_users")}
    assert len(users_org) == 1
    for name in COUNTS:
        assert {o for (o,) in table(data_dir, f"SELECT DISTINCT org_id FROM crm_{name}")} == users_org, name
    recruiter = table(data_dir, "SELECT id FROM auth_users WHERE role = 'recruiter'")[0][0]
    assert {c for (c,) in table(data_dir, "SELECT DISTINCT created_by FROM crm_talents")} == {recruiter}


def test_talents_are_plausible_bilingual_people(full_demo: tuple[Path, str]) -> None:
    people = talents(full_demo[0])
    taxonomy = load_taxonomy()
    chinese = [t for t in people if CJK.search(t["name"])]
    assert len(chinese) == 1200  # 60% Chinese-language profiles
    assert all(CJK.search(t["current_title"]) for t in chinese)
    assert {"北京", "上海", "深圳", "杭州"} <= {t["city"] for t in chinese}
    for talent in people:
        assert all(e.endswith(("@example.com", ".test")) for e in talent["emails"]), talent["emails"]
        assert all(p.startswith(("+86", "+1", "+44", "+65")) and e164(p) == p for p in talent["phones"])
        assert 3 <= len(talent["skills"]) <= 10
        assert all(s["known"] and taxonomy.get(s["skill_id"]) for s in talent["skills"])
        assert 1 <= len(talent["experience"]) <= 3 and talent["education"]
        assert talent["experience"][0]["company"] == talent["current_company"]
        assert talent["source"] in ("upload", "import", "referral", "api", "linkedin")
        assert talent["years_of_experience"] > 0 and talent["summary"] and talent["languages"]
    phones = [p for t in people for p in t["phones"]]
    assert len(set(phones)) == len(phones)


def test_jobs_read_their_requirements_from_the_description_unless_they_state_them(
        full_demo: tuple[Path, str]) -> None:
    jobs = [json.loads(d) for (d,) in table(full_demo[0], "SELECT data FROM crm_jobs")]
    derived = [j for j in jobs if j["requirements_derived"]]
    assert 0 < len(derived) < len(jobs)
    assert all(j["requirements"]["skills"] for j in jobs)
    assert sum(bool(CJK.search(j["title"])) for j in jobs) == 30


def test_every_application_moved_through_allowed_stages_in_the_last_90_days(full_demo: tuple[Path, str]) -> None:
    data_dir = full_demo[0]
    history: dict[str, list[tuple]] = defaultdict(list)
    for application_id, before, after, at in table(
            data_dir, "SELECT application_id, from_stage, to_stage, at FROM crm_stage_history ORDER BY at, id"):
        history[application_id].append((before, after, at))
    now = time.time()
    applications = table(data_dir, "SELECT id, stage, stage_changed_at FROM crm_applications")
    for application_id, stage, changed_at in applications:
        moves = history[application_id]
        assert moves[0][0] is None and moves[-1][1] == stage and moves[-1][2] == changed_at
        for (_, earlier, _), (before, after, _) in pairwise(moves):
            assert before == earlier and after in TRANSITIONS[before]
        assert all(now - 90 * 86_400 < at < now for _, _, at in moves)
    assert sum(len(m) > 2 for m in history.values()) > 100  # real histories, not a jump to the end


def test_relationships_mostly_join_people_who_shared_an_employer(full_demo: tuple[Path, str]) -> None:
    shared = table(full_demo[0], """
        SELECT count(*) FROM crm_relationships r WHERE EXISTS (
            SELECT 1 FROM crm_talent_keys a JOIN crm_talent_keys b ON a.kind = b.kind AND a.value = b.value
            WHERE a.talent_id = r.source_id AND b.talent_id = r.target_id AND a.kind = 'employer')""")[0][0]
    assert shared > COUNTS["relationships"] / 2


def test_talent_writes_fed_the_outbox_for_the_projections(full_demo: tuple[Path, str]) -> None:
    data_dir = full_demo[0]
    events = table(data_dir, "SELECT count(*), count(DISTINCT entity_id) FROM outbox_events "
                             "WHERE entity_type = 'talent'")
    assert events[0][0] >= COUNTS["talents"] + COUNTS["relationships"] and events[0][1] == COUNTS["talents"]
    assert table(data_dir, "SELECT count(*) FROM outbox_events WHERE entity_type = 'job'") == [(COUNTS["jobs"],)]
    skills = table(data_dir, "SELECT count(*) FROM crm_talent_keys WHERE kind = 'skill'")[0][0]
    assert skills >= 3 * COUNTS["talents"]


def test_a_second_seed_adds_nothing(full_demo: tuple[Path, str]) -> None:
    data_dir = full_demo[0]
    code, out = looma("seed", "--demo", data_dir=data_dir)
    assert code == 0, out
    assert "the demo users exist already" in out and "the demo recruiting data exists already" in out
    for name, expected in COUNTS.items():
        assert count(data_dir, f"crm_{name}") == expected, name


def test_the_same_seed_makes_the_same_people(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for data_dir in (first, second):
        code, out = looma("seed", "--demo", "--talents", "100", data_dir=data_dir)
        assert code == 0, out
    assert count(first, "crm_talents") == 100
    people = [talents(d) for d in (first, second)]
    assert [t["name"] for t in people[0][:20]] == [t["name"] for t in people[1][:20]]
    assert [(t["name"], t["emails"], t["current_company"]) for t in people[0]] == \
        [(t["name"], t["emails"], t["current_company"]) for t in people[1]]
    titles = "SELECT title FROM crm_jobs ORDER BY created_at, id"
    assert table(first, titles) == table(second, titles)


def test_the_demo_is_refused_in_production(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOMA_ENV", "production")
    code, out = looma("seed", "--demo", data_dir=tmp_path)
    assert code == 1 and "never created in production" in out
    assert count(tmp_path, "auth_users") == 0 and count(tmp_path, "crm_talents") == 0
