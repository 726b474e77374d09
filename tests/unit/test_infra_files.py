"""The compose file, the Dockerfile and the monitoring files agree with the code and pass their tools.

What runs here: the compose file against the Compose Specification's JSON schema; its services
against the fleet table and the settings; `promtool` on the Prometheus config and the alert rules
(and the rules' own unit tests); `amtool` on the Alertmanager config; the Grafana dashboards against
their build script. The schema lives in ../shared beside the repository and the tools come from
the Debian packages `prometheus` and `prometheus-alertmanager`: where either is missing the test
skips with the reason, and under CI=true it fails instead. tests/e2e/test_prometheus.py runs every
query against a real Prometheus scraping a real fleet.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from shared.config import LoomaSettings
from shared.fleet import AUTH, GATEWAY, PROCESSES, UPSTREAMS
from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "monitoring"
COMPOSE_SCHEMA = ROOT.parent / "shared" / "data" / "schemas" / "compose-spec.json"

SECRETS = ("POSTGRES_PASSWORD", "NEO4J_PASSWORD", "WEAVIATE_API_KEY", "ELASTIC_PASSWORD",
           "LOOMA_SERVICE_CLIENT_SECRET", "GRAFANA_ADMIN_PASSWORD")
SERVERS = ("postgres", "redis", "neo4j", "weaviate", "elasticsearch")
MONITORS = ("prometheus", "alertmanager", "grafana")
LOGGING = ("kibana-setup", "kibana", "filebeat")
ONE_SHOT = ("migrate", "kibana-setup")  # run to completion; others wait for them to succeed
PUBLISHED = {"gateway": 8206, "prometheus": 9090, "grafana": 3000, "kibana": 5601}  # for operators
# Values that pass the settings' placeholder check, standing in for an operator's .env.
ENVIRONMENT = {name: f"{name.lower().replace('_', '-')}-0123456789" for name in SECRETS}


def require(reason: str) -> None:
    """Skip where a tool or the shared schema is missing; under CI=true its absence is a failure."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: infra files must be checked)", pytrace=False)
    pytest.skip(reason)


def tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        require(f"{name} not found: install the Debian package {package}")
    assert path is not None
    return path


def run(command: list[str]) -> str:
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, f"{shlex.join(command)} failed:\n{result.stdout}{result.stderr}"
    return result.stdout


# --- compose ------------------------------------------------------------------------------------

_VARIABLE = re.compile(r"\$\$|\$\{([A-Z0-9_]+)(?:(:?[-?])([^}]*))?\}")


def interpolate(text: str, environment: dict[str, str]) -> str:
    """Compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR:?error} and $$ for a literal $."""

    def value(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, argument = match.groups()
        if environment.get(name):
            return environment[name]
        if operator in (":?", "?"):
            raise KeyError(f"{name}: {argument}")
        return argument if operator in (":-", "-") else ""

    return _VARIABLE.sub(value, text)


def compose_text() -> str:
    return (ROOT / "docker-compose.yml").read_text()


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load(compose_text()))


def services() -> dict[str, dict[str, Any]]:
    return dict(compose()["services"])


def fleet_services() -> dict[str, dict[str, Any]]:
    return {name: service for name, service in services().items()
            if service.get("command", [None])[:2] == ["python", "-m"]}


def test_compose_file_follows_the_compose_specification() -> None:
    if not COMPOSE_SCHEMA.is_file():
        require(f"the Compose Specification schema is not at {COMPOSE_SCHEMA} (../shared beside the repository)")
    import jsonschema

    schema = json.loads(COMPOSE_SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema)
    errors = [f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
              for error in validator.iter_errors(compose())]
    assert not errors, "\n".join(errors)


def test_compose_runs_every_process_of_the_fleet_table_on_its_module_and_port() -> None:
    running = fleet_services()
    assert set(running) == {spec.name for spec in PROCESSES}
    for spec in PROCESSES:
        service = running[spec.name]
        assert service["command"] == ["python", "-m", spec.module]
        assert importlib.util.find_spec(spec.module) is not None, f"{spec.module} is not importable"
        assert importlib.util.find_spec(f"{spec.module}.__main__") is not None, f"{spec.module} has no __main__"
        assert service["environment"]["LOOMA_SERVICE_PORT"] == str(spec.port)
        assert service["healthcheck"]["test"] == ["CMD", "python", "/usr/local/bin/looma-healthcheck"]
        assert service["image"] == "looma:latest"


def test_the_migration_step_runs_the_cli_and_the_fleet_waits_for_it() -> None:
    from shared.cli.main import app

    migrate = services()["migrate"]
    assert migrate["command"] == ["looma", "migrate"]
    assert "migrate" in {command.name or command.callback.__name__ for command in app.registered_commands}
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert "restart" not in migrate and "healthcheck" not in migrate
    for name, service in fleet_services().items():
        assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
        for server in ("redis", "neo4j", "weaviate", "elasticsearch"):
            assert service["depends_on"][server] == {"condition": "service_healthy"}, (name, server)


def test_every_long_running_container_has_a_health_check_and_waits_on_health() -> None:
    for name, service in services().items():
        if name in ONE_SHOT:
            assert "restart" not in service, f"{name} runs once"
        else:
            assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
            assert not service["healthcheck"].get("disable"), name
            assert service.get("restart") == "unless-stopped", name
        for dependency, condition in service.get("depends_on", {}).items():
            expected = "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            assert condition == {"condition": expected}, f"{name} waits on {dependency} with {condition}"


def test_compose_runs_the_servers_monitoring_and_a_logging_profile() -> None:
    defined = services()
    expected = {spec.name for spec in PROCESSES} | {*ONE_SHOT, *SERVERS, *MONITORS, *LOGGING}
    assert set(defined) == expected
    for name, service in defined.items():
        assert service.get("profiles", []) == (["logging"] if name in LOGGING else []), name


def test_secrets_fail_fast_when_unset() -> None:
    text = compose_text()
    for secret in SECRETS:
        assert f"${{{secret}:?" in text, f"{secret} must be required with ${{{secret}:?...}}"
        # ($${...} is the container's own shell reading the variable compose passed it.)
        assert not re.search(rf"(?<!\$)\$\{{{secret}(\}}|:-|-)", text), f"{secret} must never default"
        environment = {name: value for name, value in ENVIRONMENT.items() if name != secret}
        with pytest.raises(KeyError, match=secret):
            interpolate(text, environment)
    interpolate(text, ENVIRONMENT)  # and with every secret set, nothing else is required


def test_services_scale_no_fixed_names_and_host_ports_only_for_the_front_door_and_operators() -> None:
    for name, service in services().items():
        assert "container_name" not in service, name
        assert "hostname" not in service, name
        ports = service.get("ports", [])
        if name in PUBLISHED:
            assert len(ports) == 1 and str(ports[0]).endswith(f":{PUBLISHED[name]}"), (name, ports)
        else:
            assert not ports, f"{name} publishes {ports}: scaled instances would fight over the host port"
    assert services()["gateway"]["ports"] == ["${GATEWAY_PORT:-8206}:8206"]
    assert str(services()["prometheus"]["ports"][0]).startswith("127.0.0.1:"), "Prometheus has no authentication"


def test_instances_advertise_their_own_address() -> None:
    """A fixed LOOMA_ADVERTISE_HOST would register every replica at one name; the image sets the IP."""
    assert "LOOMA_ADVERTISE_HOST" not in compose()["x-looma-env"]
    for name, service in {**fleet_services(), "migrate": services()["migrate"]}.items():
        assert "LOOMA_ADVERTISE_HOST" not in service["environment"], name
        assert "LOOMA_HOST" not in service["environment"], name  # the image binds 0.0.0.0


def dockerfile_entrypoint() -> list[str]:
    match = re.search(r"^ENTRYPOINT (\[.*\])$", (ROOT / "docker" / "Dockerfile").read_text(), re.MULTILINE)
    assert match, "docker/Dockerfile has no exec-form ENTRYPOINT"
    return list(json.loads(match.group(1)))


@pytest.mark.parametrize("given", [None, "10.1.2.3"])
def test_the_image_entrypoint_advertises_the_container_address_unless_told(given: str | None) -> None:
    environment = {key: value for key, value in os.environ.items() if key != "LOOMA_ADVERTISE_HOST"}
    environment["PATH"] = f"{Path(sys.executable).parent}:{environment.get('PATH', '/usr/bin:/bin')}"
    if given:
        environment["LOOMA_ADVERTISE_HOST"] = given
    command = [*dockerfile_entrypoint(), sys.executable, "-c",
               "import os; from shared.config import LoomaSettings; "
               "print(os.environ['LOOMA_ADVERTISE_HOST'], LoomaSettings(host='0.0.0.0').instance_url(8888))"]
    result = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=30, check=True)
    advertised, url = result.stdout.split()
    expected = given or socket.gethostbyname(socket.gethostname())
    assert advertised == expected
    assert url == f"http://{expected}:8888"


def fleet_settings(monkeypatch: pytest.MonkeyPatch, name: str) -> LoomaSettings:
    """The settings a fleet container reads, from its compose environment with the secrets set."""
    environment = yaml.safe_load(interpolate(compose_text(), ENVIRONMENT))["services"][name]["environment"]
    for key in [key for key in os.environ if key.startswith("LOOMA_")]:
        monkeypatch.delenv(key)
    for key, value in environment.items():
        monkeypatch.setenv(key, "" if value is None else str(value))
    monkeypatch.chdir(ROOT / "docker")  # no .env here
    return LoomaSettings()


def test_the_fleet_is_wired_to_every_server(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.database.graph_neo4j import parse_neo4j_url
    from shared.database.vectors_weaviate import parse_url

    settings = fleet_settings(monkeypatch, "crm")
    assert settings.env == "production"
    assert settings.sqlalchemy_url == (f"postgresql+asyncpg://looma:{ENVIRONMENT['POSTGRES_PASSWORD']}"
                                       "@postgres:5432/looma")
    assert urlsplit(settings.redis_url or "").hostname == "redis"
    assert parse_neo4j_url(settings.neo4j_url or "") == (
        "bolt://neo4j:7687", ("neo4j", ENVIRONMENT["NEO4J_PASSWORD"]), None)
    weaviate = parse_url(settings.weaviate_url or "")
    assert (weaviate.http_host, weaviate.http_port, weaviate.grpc_host, weaviate.grpc_port) == (
        "weaviate", 8080, "weaviate", 50051)
    assert weaviate.api_key == ENVIRONMENT["WEAVIATE_API_KEY"]
    elastic = urlsplit(settings.elasticsearch_url or "")
    assert (elastic.scheme, elastic.hostname, elastic.port) == ("http", "elasticsearch", 9200)
    assert (elastic.username, elastic.password) == ("elastic", ENVIRONMENT["ELASTIC_PASSWORD"])
    assert settings.auth_url == f"http://{AUTH.name}:{AUTH.port}"
    assert settings.gateway_url == f"http://{GATEWAY.name}:{GATEWAY.port}"
    assert settings.service_client_secret is not None


def test_the_servers_listen_where_the_fleet_looks() -> None:
    defined = yaml.safe_load(interpolate(compose_text(), ENVIRONMENT))["services"]
    assert defined["neo4j"]["environment"]["NEO4J_AUTH"] == f"neo4j/{ENVIRONMENT['NEO4J_PASSWORD']}"
    weaviate = defined["weaviate"]["environment"]
    assert weaviate["AUTHENTICATION_APIKEY_ALLOWED_KEYS"] == ENVIRONMENT["WEAVIATE_API_KEY"]
    assert weaviate["AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED"] == "false"
    assert defined["elasticsearch"]["environment"]["ELASTIC_PASSWORD"] == ENVIRONMENT["ELASTIC_PASSWORD"]
    assert defined["postgres"]["environment"]["POSTGRES_PASSWORD"] == ENVIRONMENT["POSTGRES_PASSWORD"]
    grafana = defined["grafana"]["environment"]
    assert grafana["GF_SECURITY_ADMIN_PASSWORD"] == ENVIRONMENT["GRAFANA_ADMIN_PASSWORD"]


def test_elasticsearch_needs_no_plugin_for_the_full_text_analyzer() -> None:
    from shared.database.fulltext_elastic import ANALYZER, SETTINGS

    assert SETTINGS["analysis"]["analyzer"][ANALYZER]["type"] == "cjk"  # built into Elasticsearch
    assert "build" not in services()["elasticsearch"]
    assert services()["elasticsearch"]["image"].startswith("docker.elastic.co/elasticsearch/elasticsearch:")


def test_named_volumes_are_declared_and_bind_mounts_exist() -> None:
    declared = set(compose()["volumes"])
    used = set()
    for name, service in services().items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which is not in the repository"
            elif not source.startswith("/"):
                assert source in declared, f"{name} uses volume {source}, not declared"
                used.add(source)
    assert used == declared
    for server in ("postgres", "neo4j", "weaviate", "elasticsearch", "prometheus", "grafana", "alertmanager"):
        assert any(not v.startswith(("./", "/")) for v in services()[server]["volumes"]), f"{server} keeps no data"


# --- the image ----------------------------------------------------------------------------------

def test_dockerfile_copies_every_package_and_the_healthcheck() -> None:
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    for package in ("shared", "ai_services", "looma_crm"):
        assert f"COPY {package} ./{package}" in dockerfile
    assert "COPY docker/healthcheck.py /usr/local/bin/looma-healthcheck" in dockerfile
    assert (ROOT / "docker" / "healthcheck.py").is_file()


def install_step(provider: str) -> subprocess.CompletedProcess[str]:
    """The Dockerfile's provider step as the build's /bin/sh runs it, with pip only echoing its arguments."""
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    step = re.search(r"^RUN (case .*?esac)$", dockerfile, re.MULTILINE | re.DOTALL)
    assert step, "docker/Dockerfile has no provider step"
    script = "pip() { echo pip \"$@\"; }; " + step.group(1).replace("\\\n", "")
    defaults = dict(re.findall(r"^ARG (\w+)=(\S+)$", dockerfile, re.MULTILINE))
    return subprocess.run(["/bin/sh", "-c", script], env={**defaults, "EMBEDDING_PROVIDER": provider},
                          capture_output=True, text=True, timeout=10, check=False)


def test_cpu_torch_is_installed_only_for_the_provider_that_needs_it() -> None:
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    assert "ARG EMBEDDING_PROVIDER=offline" in dockerfile
    assert install_step("offline").stdout == ""
    installed = install_step("sentence-transformers")
    assert installed.returncode == 0, installed.stderr
    torch, sentence_transformers = installed.stdout.splitlines()
    assert torch.startswith("pip install --index-url https://download.pytorch.org/whl/cpu torch==")
    assert sentence_transformers.startswith("pip install sentence-transformers==")  # torch already satisfied
    refused = install_step("cuda")
    assert refused.returncode != 0 and "must be offline or sentence-transformers" in refused.stderr
    assert "torch" not in (ROOT / "requirements.txt").read_text()
    for name in ("migrate", *fleet_services()):
        assert services()[name]["build"]["args"]["EMBEDDING_PROVIDER"] == "${EMBEDDING_PROVIDER:-offline}", name


# --- Prometheus and Alertmanager ----------------------------------------------------------------

def prometheus_config() -> dict[str, Any]:
    return dict(yaml.safe_load((MONITORING / "prometheus.yml").read_text()))


def test_prometheus_discovers_every_instance_of_every_process() -> None:
    jobs = {job["job_name"]: job for job in prometheus_config()["scrape_configs"]}
    assert set(jobs) == {spec.name for spec in PROCESSES}
    for spec in PROCESSES:
        assert "static_configs" not in jobs[spec.name]
        assert jobs[spec.name]["dns_sd_configs"] == [
            {"names": [spec.name], "type": "A", "port": spec.port, "refresh_interval": "15s"}]


def test_prometheus_finds_its_rules_and_alertmanager_as_compose_mounts_them() -> None:
    config = prometheus_config()
    assert config["rule_files"] == ["rules/*.yml"]
    assert sorted(MONITORING.glob("rules/*.yml")), "no alert rules"
    mounts = services()["prometheus"]["volumes"]
    assert "./monitoring/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in mounts
    assert "./monitoring/rules:/etc/prometheus/rules:ro" in mounts
    assert config["alerting"]["alertmanagers"] == [{"static_configs": [{"targets": ["alertmanager:9093"]}]}]
    assert "9093" in " ".join(services()["alertmanager"]["healthcheck"]["test"])


def test_promtool_accepts_the_config() -> None:
    promtool = tool("promtool", "prometheus")
    assert "SUCCESS" in run([promtool, "check", "config", "monitoring/prometheus.yml"])


def test_promtool_accepts_the_rules() -> None:
    promtool = tool("promtool", "prometheus")
    files = sorted(str(path.relative_to(ROOT)) for path in MONITORING.glob("rules/*.yml"))
    run([promtool, "check", "rules", *files])


def test_alert_rules_fire_as_their_unit_tests_say() -> None:
    promtool = tool("promtool", "prometheus")
    tested = yaml.safe_load((MONITORING / "rules.test.yml").read_text())
    assert sorted(tested["rule_files"]) == sorted(f"rules/{path.name}" for path in MONITORING.glob("rules/*.yml"))
    alerts = {rule["alert"] for rule in alert_rules()}
    assert {test["alertname"] for case in tested["tests"] for test in case["alert_rule_test"]} == alerts
    run([promtool, "test", "rules", "monitoring/rules.test.yml"])


def alert_rules() -> list[dict[str, Any]]:
    return [rule for path in sorted(MONITORING.glob("rules/*.yml"))
            for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]]


def test_the_alerts_operators_need_are_there_and_say_what_to_do() -> None:
    rules = {rule["alert"]: rule for rule in alert_rules()}
    assert {"LoomaInstanceDown", "LoomaServiceMissing", "LoomaHighErrorRate", "LoomaHighLatency",
            "LoomaOutboxLag", "LoomaGatewayBreakerOpened", "LoomaGatewayRateLimitSpike"} <= set(rules)
    assert "looma_outbox_lag_seconds" in rules["LoomaOutboxLag"]["expr"]
    assert 'looma_gateway_breaker_transitions_total{state="open"}' in rules["LoomaGatewayBreakerOpened"]["expr"]
    assert "histogram_quantile(0.95" in rules["LoomaHighLatency"]["expr"]
    for name, rule in rules.items():
        assert rule["labels"]["severity"] in ("critical", "warning"), name
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name
    missing = rules["LoomaServiceMissing"]["expr"]
    assert {spec.name for spec in PROCESSES} == set(re.findall(r'absent\(up\{job="([a-z]+)"\}\)', missing))


def test_amtool_accepts_the_alertmanager_config() -> None:
    amtool = tool("amtool", "prometheus-alertmanager")
    assert "SUCCESS" in run([amtool, "check-config", "monitoring/alertmanager.yml"])


@pytest.mark.parametrize("url", ["http://monitor.example:8212/alerts?token=abc&x=1",
                                 "https://hooks.example.com/a|b/c\\d"])
def test_alertmanager_sends_to_the_webhook_from_the_environment(tmp_path: Path, url: str) -> None:
    """Run the container's start command here: the copy it loads names ALERT_WEBHOOK_URL and is valid."""
    amtool = tool("amtool", "prometheus-alertmanager")
    [webhook] = [hook for receiver in yaml.safe_load((MONITORING / "alertmanager.yml").read_text())["receivers"]
                 for hook in receiver["webhook_configs"]]
    placeholder = webhook["url"]
    assert str(urlsplit(placeholder).hostname).endswith(".invalid")  # reserved: never resolves
    alertmanager = services()["alertmanager"]
    assert alertmanager["environment"]["ALERT_WEBHOOK_URL"] == f"${{ALERT_WEBHOOK_URL:-{placeholder}}}"
    assert alertmanager["entrypoint"] == ["/bin/sh", "-c"]
    script = interpolate(alertmanager["command"][0], {})
    prepare, start = script.split(" && exec ")
    assert start.split()[:2] == ["/bin/alertmanager", "--config.file=/alertmanager/alertmanager.yml"]
    loaded = tmp_path / "alertmanager.yml"
    prepare = prepare.replace("/etc/alertmanager/alertmanager.yml", str(MONITORING / "alertmanager.yml"))
    prepare = prepare.replace("/alertmanager/alertmanager.yml", str(loaded))
    subprocess.run(["/bin/sh", "-c", prepare], env={"ALERT_WEBHOOK_URL": url, "PATH": "/usr/bin:/bin"},
                   check=True, timeout=10)
    receivers = yaml.safe_load(loaded.read_text())["receivers"]
    assert [hook["url"] for receiver in receivers for hook in receiver["webhook_configs"]] == [url]
    assert "SUCCESS" in run([amtool, "check-config", str(loaded)])


# --- metrics used by rules and dashboards exist -------------------------------------------------

def exported_metric_names() -> set[str]:
    """Every sample name the code's prometheus_client metrics expose."""
    declared = re.compile(r'\b(Counter|Gauge|Histogram)\(\s*"(looma_[a-z0-9_]+)"')
    names: set[str] = set()
    for package in ("shared", "ai_services", "looma_crm"):
        for path in (ROOT / package).rglob("*.py"):
            for kind, name in declared.findall(path.read_text()):
                if kind == "Histogram":
                    names |= {f"{name}_bucket", f"{name}_count", f"{name}_sum"}
                else:
                    names.add(name)
    return names


def dashboard_files() -> list[Path]:
    return sorted((MONITORING / "grafana" / "dashboards").glob("*.json"))


def dashboard_expressions() -> list[str]:
    return [target["expr"] for path in dashboard_files() for panel in json.loads(path.read_text())["panels"]
            for target in panel["targets"]]


def test_rules_and_dashboards_use_only_metrics_the_code_exports() -> None:
    exported = exported_metric_names()
    assert {"looma_http_requests_total", "looma_gateway_breaker_transitions_total",
            "looma_outbox_lag_seconds"} <= exported
    used = {name for expr in [*dashboard_expressions(), *(rule["expr"] for rule in alert_rules())]
            for name in re.findall(r"\blooma_[a-z0-9_]+", expr)}
    assert used - exported == set()
    # Every metric of the services, the gateway and the data layer is watched somewhere.
    families = ("looma_http_", "looma_gateway_", "looma_outbox_", "looma_projector_")
    watched = {name.removesuffix("_bucket") for name in used}
    unwatched = {name.removesuffix("_bucket") for name in exported
                 if name.startswith(families) and not name.endswith(("_count", "_sum"))} - watched
    assert unwatched == set()


# --- Grafana ------------------------------------------------------------------------------------

def test_dashboards_are_what_the_build_script_writes() -> None:
    run([sys.executable, "monitoring/grafana/build_dashboards.py", "--check"])


def test_there_is_a_dashboard_for_the_fleet_the_gateway_each_service_and_the_data_layer() -> None:
    names = {path.name for path in dashboard_files()}
    assert names == {"fleet.json", "gateway.json", "data-layer.json"} | {f"service-{s.name}.json" for s in UPSTREAMS}


@pytest.mark.parametrize("path", dashboard_files(), ids=lambda path: path.name)
def test_dashboard_is_well_formed(path: Path) -> None:
    board = json.loads(path.read_text())
    datasource = yaml.safe_load((MONITORING / "grafana/provisioning/datasources/prometheus.yml").read_text())
    uid = datasource["datasources"][0]["uid"]
    assert board["uid"].startswith("looma-") and len(board["uid"]) <= 40
    assert board["title"].startswith("Looma / ") and board["schemaVersion"] >= 36
    assert "id" not in board  # provisioned dashboards get theirs from Grafana
    variables = {variable["name"] for variable in board["templating"]["list"]}
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        position = panel["gridPos"]
        assert position["x"] >= 0 and position["x"] + position["w"] <= 24 and position["h"] > 0, panel["title"]
        assert panel["type"] in ("stat", "timeseries") and panel["datasource"]["uid"] == uid
        assert panel["targets"] and len({t["refId"] for t in panel["targets"]}) == len(panel["targets"])
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == uid
            used = set(re.findall(r"\$(\w+)", target["expr"])) - {"__rate_interval"}
            assert used <= variables, f"{panel['title']} uses undefined variables {used - variables}"
    uids = [json.loads(p.read_text())["uid"] for p in dashboard_files()]
    assert len(uids) == len(set(uids))


def test_grafana_provisions_the_datasource_and_the_dashboards_compose_mounts() -> None:
    datasource = yaml.safe_load((MONITORING / "grafana/provisioning/datasources/prometheus.yml").read_text())
    [prometheus] = datasource["datasources"]
    assert prometheus["type"] == "prometheus" and prometheus["url"] == "http://prometheus:9090"
    assert prometheus["jsonData"]["timeInterval"] == prometheus_config()["global"]["scrape_interval"]
    providers = yaml.safe_load((MONITORING / "grafana/provisioning/dashboards/looma.yml").read_text())["providers"]
    mounts = dict(volume.rsplit(":", 2)[:2] for volume in services()["grafana"]["volumes"] if volume.startswith("./"))
    assert mounts["./monitoring/grafana/provisioning"] == "/etc/grafana/provisioning"
    assert [provider["options"]["path"] for provider in providers] == [mounts["./monitoring/grafana/dashboards"]]


# --- logging profile ----------------------------------------------------------------------------

def test_filebeat_ships_the_container_logs_to_the_compose_elasticsearch() -> None:
    config = yaml.safe_load((MONITORING / "filebeat.yml").read_text())
    filebeat = services()["filebeat"]
    [source] = config["filebeat.inputs"]
    assert source["paths"] == ["/var/lib/docker/containers/*/*-json.log"]
    assert "/var/lib/docker/containers:/var/lib/docker/containers:ro" in filebeat["volumes"]
    assert "./monitoring/filebeat.yml:/usr/share/filebeat/filebeat.yml:ro" in filebeat["volumes"]
    assert config["output.elasticsearch"]["hosts"] == ["http://elasticsearch:9200"]
    assert config["output.elasticsearch"]["password"] == "${ELASTIC_PASSWORD}"
    assert "ELASTIC_PASSWORD" in filebeat["environment"]
    # Looma's JSON fields under their own key: `service` is an object in ECS, a string here.
    [decode] = [p["decode_json_fields"] for p in source["processors"] if "decode_json_fields" in p]
    assert decode["target"] == "looma"


def test_kibana_logs_in_with_its_own_user_set_before_it_starts() -> None:
    kibana, setup = services()["kibana"], services()["kibana-setup"]
    assert kibana["environment"]["ELASTICSEARCH_USERNAME"] == "kibana_system"
    assert kibana["depends_on"] == {"kibana-setup": {"condition": "service_completed_successfully"}}
    assert setup["depends_on"] == {"elasticsearch": {"condition": "service_healthy"}}
    script = interpolate(setup["command"][0], {})
    assert "_security/user/kibana_system/_password" in script
    # The profile's own fail-fast: without KIBANA_PASSWORD the step stops before calling anything.
    refused = subprocess.run(["/bin/sh", "-c", script], env={"PATH": "/usr/bin:/bin", "ELASTIC_PASSWORD": "x"},
                             capture_output=True, text=True, timeout=10, check=False)
    assert refused.returncode == 1 and "set KIBANA_PASSWORD" in refused.stderr
