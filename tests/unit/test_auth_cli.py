"""`looma users`, `looma seed --demo` and `looma auth rotate-keys` against a data directory."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shared.cli.main import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_developer_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LOOMA_DATABASE_URL", "LOOMA_REDIS_URL", "LOOMA_ENV"):
        monkeypatch.delenv(name, raising=False)


def looma(*args: str, data_dir: Path, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--data-dir", str(data_dir)], input=stdin)
    return result.exit_code, result.output


def table(data_dir: Path, query: str) -> list[tuple]:
    with sqlite3.connect(data_dir / "looma.db") as db:
        return db.execute(query).fetchall()


def test_a_user_is_created_listed_promoted_and_disabled(tmp_path: Path) -> None:
    code, out = looma("users", "create", "Ops@Looma.test", "--role", "admin", "--password-stdin", data_dir=tmp_path,
                      stdin="a sound password\n")
    assert code == 0, out
    assert "created ops@looma.test (admin)" in out
    code, out = looma("users", "list", data_dir=tmp_path)
    assert code == 0 and "ops@looma.test" in out and "admin" in out
    assert looma("users", "set-role", "ops@looma.test", "recruiter", data_dir=tmp_path)[0] == 0
    assert looma("users", "disable", "ops@looma.test", data_dir=tmp_path)[0] == 0
    assert table(tmp_path, "SELECT role, status, version FROM auth_users") == [("recruiter", "disabled", 3)]
    actions = [a for (a,) in table(tmp_path, "SELECT action FROM auth_audit_log ORDER BY id")]
    assert actions == ["org.create", "user.create", "user.role_change", "user.disable"]


def test_refusals_name_the_problem_and_exit_1(tmp_path: Path) -> None:
    code, out = looma("users", "create", "x@looma.test", "--role", "wizard", "--password-stdin", data_dir=tmp_path,
                      stdin="a sound password\n")
    assert code == 1 and "unknown role" in out
    code, out = looma("users", "create", "x@looma.test", "--role", "viewer", "--password-stdin", data_dir=tmp_path,
                      stdin="short\n")
    assert code == 1 and "at least 10 characters" in out
    code, out = looma("users", "disable", "nobody@looma.test", data_dir=tmp_path)
    assert code == 1 and "no user with the email address nobody@looma.test" in out
    assert table(tmp_path, "SELECT count(*) FROM auth_users") == [(0,)]


def test_the_demo_seed_says_what_it_is_and_runs_once(tmp_path: Path) -> None:
    code, out = looma("seed", "--demo", "--talents", "10", data_dir=tmp_path)  # the CRM's demo: test_crm_demo.py
    assert code == 0, out
    assert "DEMO ONLY" in out and "recruiter@demo.looma.test" in out
    code, out = looma("seed", "--demo", "--talents", "10", data_dir=tmp_path)
    assert code == 0 and "the demo users exist already" in out
    roles = sorted(r for (r,) in table(tmp_path, "SELECT role FROM auth_users"))
    assert roles == ["admin", "hiring_manager", "recruiter", "viewer"]


def test_the_demo_seed_is_refused_in_production(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOMA_ENV", "production")
    code, out = looma("seed", "--demo", data_dir=tmp_path)
    assert code == 1 and "never created in production" in out
    assert table(tmp_path, "SELECT count(*) FROM auth_users") == [(0,)]


def test_rotating_keys_keeps_the_old_key_published(tmp_path: Path) -> None:
    assert looma("auth", "rotate-keys", data_dir=tmp_path)[0] == 0
    code, out = looma("auth", "rotate-keys", data_dir=tmp_path)
    assert code == 0 and "new signing key" in out
    keys = table(tmp_path, "SELECT kid, retired_at IS NULL, publish_until FROM auth_signing_keys ORDER BY created_at")
    assert [active for _, active, _ in keys] == [False, False, True]  # the first start made one, then two rotations
    assert all(until is not None for _, active, until in keys if not active)
    assert keys[-1][0] in out
