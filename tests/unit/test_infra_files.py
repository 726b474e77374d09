"""The compose file, Dockerfile and Prometheus config agree with the fleet table."""

from __future__ import annotations

from pathlib import Path

import yaml

from shared.fleet import FLEET

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_every_service_on_its_module_and_port() -> None:
    services = compose()["services"]
    for spec in FLEET:
        service = services[spec.name]
        assert service["command"] == ["python", "-m", spec.module]
        assert service["environment"]["LOOMA_SERVICE_PORT"] == str(spec.port)
        assert service["environment"]["LOOMA_ADVERTISE_HOST"] == spec.name
        assert service["healthcheck"]["test"][-1] == "/usr/local/bin/looma-healthcheck"
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_compose_fails_fast_without_a_database_password() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    assert "${POSTGRES_PASSWORD:?" in text
    assert "${POSTGRES_PASSWORD}" not in text and "${POSTGRES_PASSWORD:-" not in text


def test_compose_fails_fast_without_a_service_secret_and_reaches_auth_directly() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    assert "${LOOMA_SERVICE_CLIENT_SECRET:?" in text
    environment = compose()["x-looma-env"]
    assert environment["LOOMA_AUTH_URL"] == "http://auth:8211"
    assert environment["LOOMA_ENV"] == "production"


def test_compose_servers_have_health_checks_that_services_wait_for() -> None:
    services = compose()["services"]
    for server in ("postgres", "redis"):
        assert services[server]["healthcheck"]["test"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_dockerfile_copies_every_package_and_the_healthcheck() -> None:
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    for package in ("shared", "ai_services", "looma_crm"):
        assert f"COPY {package} ./{package}" in dockerfile
    assert "COPY docker/healthcheck.py /usr/local/bin/looma-healthcheck" in dockerfile
    assert (ROOT / "docker" / "healthcheck.py").is_file()


def test_prometheus_scrapes_every_service() -> None:
    config = yaml.safe_load((ROOT / "monitoring" / "prometheus.yml").read_text())
    targets = {t for job in config["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]}
    assert targets == {f"{spec.name}:{spec.port}" for spec in FLEET}
