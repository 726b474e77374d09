"""Services learn the newest schema revision without Alembic; it must agree with Alembic."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.database import schema


@pytest.fixture
def versions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setattr(schema, "VERSIONS", tmp_path)
    schema.declared_head.cache_clear()
    yield tmp_path
    schema.declared_head.cache_clear()


def write_revision(folder: Path, revision: str, down: str | None) -> None:
    (folder / f"{revision}.py").write_text(f'revision = "{revision}"\ndown_revision = {down!r}\n')


def test_declared_head_is_alembics_head() -> None:
    schema.declared_head.cache_clear()
    assert schema.declared_head() == schema.head_revision() is not None


def test_declared_head_follows_the_chain(versions: Path) -> None:
    write_revision(versions, "0001_a", None)
    write_revision(versions, "0002_b", "0001_a")
    write_revision(versions, "0003_c", "0002_b")

    assert schema.declared_head() == "0003_c"


def test_two_heads_are_refused_by_name(versions: Path) -> None:
    write_revision(versions, "0001_a", None)
    write_revision(versions, "0002_b", "0001_a")
    write_revision(versions, "0002_c", "0001_a")

    with pytest.raises(RuntimeError, match="0002_b, 0002_c"):
        schema.declared_head()


def test_a_service_starts_without_importing_alembic() -> None:
    code = ("import sys; from ai_services.chat_service.app import ChatService; ChatService().create_app(); "
            "print('alembic' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
