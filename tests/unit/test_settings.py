"""LoomaSettings: read from LOOMA_* variables, with defaults that run on one laptop with no servers."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.config import LoomaSettings

ENV_EXAMPLE = Path(__file__).resolve().parents[2] / "env.example"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No LOOMA_* variable or .env file of the developer's leaks into these tests."""
    for name in list(os.environ):
        if name.startswith("LOOMA_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_looma_env_vars_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LOOMA_ENV", "production")
    monkeypatch.setenv("LOOMA_DATA_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("LOOMA_GATEWAY_URL", "http://gateway.internal:8206")
    monkeypatch.setenv("LOOMA_MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("LOOMA_HEARTBEAT_INTERVAL", "1.5")
    monkeypatch.setenv("LOOMA_LOG_LEVEL", "DEBUG")

    settings = LoomaSettings()

    assert settings.env == "production"
    assert settings.data_dir == tmp_path / "state"
    assert settings.gateway_url == "http://gateway.internal:8206"
    assert settings.max_body_bytes == 2048
    assert settings.heartbeat_interval == 1.5
    assert settings.log_level == "DEBUG"


def test_a_dotenv_file_in_the_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("LOOMA_PORT_OFFSET=7\n")

    assert LoomaSettings().port_offset == 7


def test_the_environment_wins_over_the_dotenv_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("LOOMA_PORT_OFFSET=7\n")
    monkeypatch.setenv("LOOMA_PORT_OFFSET", "9")

    assert LoomaSettings().port_offset == 9


def test_static_gateway_instances_are_read_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOMA_GATEWAY_STATIC_INSTANCES",
                       '[{"service": "chat", "url": "http://127.0.0.1:8209", "prefixes": ["/api/v1/chat"]}]')

    (instance,) = LoomaSettings().gateway_static_instances

    assert instance.service == "chat"
    assert str(instance.url).startswith("http://127.0.0.1:8209")
    assert instance.prefixes == ["/api/v1/chat"]


def test_the_default_database_is_sqlite_inside_the_data_dir(tmp_path: Path) -> None:
    settings = LoomaSettings(data_dir=tmp_path / "data")

    url = settings.sqlalchemy_url

    assert url.startswith("sqlite+aiosqlite:///")
    database = Path(url.removeprefix("sqlite+aiosqlite:///"))
    assert database.is_absolute()
    assert database.parent == (tmp_path / "data").resolve()


def test_the_embedded_cache_lives_inside_the_data_dir(tmp_path: Path) -> None:
    settings = LoomaSettings(data_dir=tmp_path / "data")

    assert settings.cache_path.parent == (tmp_path / "data").resolve()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://looma:pw@db:5432/looma", "postgresql+asyncpg://looma:pw@db:5432/looma"),
        ("postgres://looma:pw@db/looma", "postgresql+asyncpg://looma:pw@db/looma"),
        ("postgresql+asyncpg://looma@db/looma", "postgresql+asyncpg://looma@db/looma"),
        ("sqlite:////var/lib/looma/looma.db", "sqlite+aiosqlite:////var/lib/looma/looma.db"),
    ],
)
def test_database_urls_take_their_async_driver(monkeypatch: pytest.MonkeyPatch, given: str, expected: str) -> None:
    monkeypatch.setenv("LOOMA_DATABASE_URL", given)

    assert LoomaSettings().sqlalchemy_url == expected


@pytest.mark.parametrize("name", ["LOOMA_REDIS_URL", "LOOMA_DATABASE_URL", "LOOMA_GATEWAY_URL", "LOOMA_ADVERTISE_HOST"])
def test_an_empty_variable_means_unset(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(name, "")

    settings = LoomaSettings()

    assert getattr(settings, name.removeprefix("LOOMA_").lower()) is None


def test_an_empty_database_url_falls_back_to_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOMA_DATABASE_URL", "")

    assert LoomaSettings().sqlalchemy_url.startswith("sqlite+aiosqlite:///")


def test_port_offset_shifts_every_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOMA_PORT_OFFSET", "100")

    settings = LoomaSettings()

    assert settings.port_for(8206) == 8306
    assert settings.port_for(8888) == 8988
    assert settings.instance_url(8209) == "http://127.0.0.1:8309"


def test_instance_url_prefers_the_advertised_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOMA_HOST", "0.0.0.0")

    assert LoomaSettings().instance_url(8207) == "http://127.0.0.1:8207"
    assert LoomaSettings(advertise_host="resume-1").instance_url(8207) == "http://resume-1:8207"


@pytest.mark.parametrize(
    ("name", "value", "field"),
    [
        ("LOOMA_HEARTBEAT_TTL", "-1", "heartbeat_ttl"),
        ("LOOMA_HEARTBEAT_INTERVAL", "0", "heartbeat_interval"),
        ("LOOMA_LOG_LEVEL", "LOUD", "log_level"),
        ("LOOMA_ENV", "staging", "env"),
        ("LOOMA_MAX_BODY_BYTES", "0", "max_body_bytes"),
        ("LOOMA_PORT_OFFSET", "lots", "port_offset"),
        ("LOOMA_PORT_OFFSET", "60000", "port_offset"),
        ("LOOMA_GRACEFUL_SHUTDOWN_TIMEOUT", "-1", "graceful_shutdown_timeout"),
    ],
)
def test_invalid_values_are_refused_naming_the_field(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, field: str
) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ValidationError) as raised:
        LoomaSettings()

    assert [error["loc"] for error in raised.value.errors()] == [(field,)]


@pytest.mark.skipif(not ENV_EXAMPLE.exists(), reason="env.example is not written yet; this test guards it once it is")
def test_env_example_lists_every_setting() -> None:
    listed = set(re.findall(r"^\s*#?\s*(LOOMA_[A-Z0-9_]+)\s*=", ENV_EXAMPLE.read_text(), flags=re.MULTILINE))

    from ai_services.monitor_service.settings import MonitorSettings
    from shared.embeddings.settings import EmbeddingSettings

    expected = {f"LOOMA_{name.upper()}" for name in LoomaSettings.model_fields}
    expected |= {f"LOOMA_MONITOR_{name.upper()}" for name in MonitorSettings.model_fields}  # the monitor's own
    expected |= {f"LOOMA_EMBEDDING_{name.upper()}" for name in EmbeddingSettings.model_fields}

    assert expected - listed == set(), "settings missing from env.example"
    # LOOMA_TEST_* are read by the test suite (tests/conftest.py), not by the services.
    unknown = {name for name in listed - expected if not name.startswith("LOOMA_TEST_")}
    assert unknown == set(), "env.example lists variables LoomaSettings does not read"


def test_log_level_is_read_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOMA_LOG_LEVEL", "warning")

    assert LoomaSettings().log_level == "WARNING"


@pytest.mark.parametrize("secret", ["change-me", "short-secret", "PASSWORD"])
def test_production_refuses_placeholder_secrets(secret: str) -> None:
    with pytest.raises(ValueError, match="LOOMA_SERVICE_CLIENT_SECRET looks like a placeholder"):
        LoomaSettings(_env_file=None, env="production", service_client_secret=secret)  # type: ignore[call-arg]
    settings = LoomaSettings(_env_file=None, env="development", service_client_secret=secret)  # type: ignore[call-arg]
    assert settings.service_client_secret is not None
    strong = LoomaSettings(_env_file=None, env="production",  # type: ignore[call-arg]
                           service_client_secret="a-sufficiently-long-secret")
    assert strong.service_client_secret.get_secret_value() == "a-sufficiently-long-secret"
