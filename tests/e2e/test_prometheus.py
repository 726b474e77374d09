"""A real Prometheus scrapes a real fleet with monitoring/prometheus.yml, and every query of the
dashboards and the alert rules runs against what it scraped.

The config is the compose one with each job's DNS discovery replaced by the `looma up` instance on
127.0.0.1 (ports shifted by the fleet's offset) and a one-second scrape and evaluation interval; the
rules are copied beside it, so `rule_files` resolves relative to the file as it does in the
container. Prometheus comes from the Debian package `prometheus`: without it the tests skip
locally and fail under CI=true.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from shared.fleet import PROCESSES, UPSTREAMS
from tests.conftest import IN_CI
from tests.e2e.fleet import Fleet

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "monitoring"
RATE_INTERVAL = "1m"  # what Grafana's $__rate_interval stands for here


@dataclass
class Prometheus:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def api(self, path: str, **params: Any) -> Any:
        response = httpx.get(f"{self.url}/api/v1/{path}", params=params, timeout=10)
        body = response.json()
        assert response.status_code == 200 and body["status"] == "success", (path, params, body)
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        data = self.api("query", query=expr)
        return list(data["result"]) if data["resultType"] == "vector" else [data["result"]]

    def error(self, expr: str) -> str | None:
        """None when the expression evaluates, else what Prometheus said was wrong with it."""
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10)
        body = response.json()
        return None if body.get("status") == "success" else f"{body.get('errorType')}: {body.get('error')}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def local_config(offset: int) -> dict[str, Any]:
    """monitoring/prometheus.yml with every job pointed at this machine's fleet."""
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config.pop("alerting")  # no Alertmanager here; alerts still evaluate
    ports = {spec.name: spec.port for spec in PROCESSES}
    for job in config["scrape_configs"]:
        [discovery] = job.pop("dns_sd_configs")
        assert discovery["port"] == ports[job["job_name"]]
        job["static_configs"] = [{"targets": [f"127.0.0.1:{discovery['port'] + offset}"]}]
    return config


def generate_load(fleet: Fleet) -> None:
    """A few dozen requests through the gateway, to every upstream, with a login among them."""
    signed_in = {"Authorization": f"Bearer {fleet.login()['access_token']}"}
    with httpx.Client(base_url=fleet.gateway, timeout=10) as client:
        for _ in range(2):
            for spec in UPSTREAMS:
                assert client.get(f"/api/v1/services/{spec.name}/ready").status_code == 200
                for prefix in spec.prefixes[:2]:
                    client.get(prefix, headers=signed_in)  # whatever each answers, it is traffic
        for _ in range(5):
            assert client.get("/api/v1/talents", headers=signed_in).status_code == 200
            assert client.get("/api/v1/talents").status_code == 401
            assert client.get("/api/v1/no-such-thing").status_code == 404
        refused = client.post("/api/v1/auth/login", json={"email": "nobody@looma.test", "password": "wrong password"})
        assert refused.status_code in (401, 429)


@pytest.fixture(scope="module")
def prometheus(fleet: Fleet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    binary = shutil.which("prometheus")
    if binary is None:
        reason = "prometheus not found: install the Debian package prometheus"
        if IN_CI:
            pytest.fail(f"{reason} (CI=true: the dashboards' and rules' queries must run)", pytrace=False)
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("prometheus")
    (root / "prometheus.yml").write_text(yaml.safe_dump(local_config(fleet.offset), sort_keys=False))
    shutil.copytree(MONITORING / "rules", root / "rules")
    port = free_port()
    log = root / "prometheus.log"
    with open(log, "wb") as sink:
        process = subprocess.Popen(
            [binary, f"--config.file={root / 'prometheus.yml'}", f"--storage.tsdb.path={root / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
            stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    server = Prometheus(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + 30
        while not _ready(server):
            assert process.poll() is None, f"prometheus exited with {process.returncode}:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"prometheus not ready after 30 s:\n{log.read_text()}"
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _ready(server: Prometheus) -> bool:
    try:
        return httpx.get(f"{server.url}/-/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def scraped(fleet: Fleet, prometheus: Prometheus) -> Prometheus:
    """The fleet under a short load, then scraped twice since, with every rule evaluated."""
    generate_load(fleet)
    loaded = time.time()
    deadline = time.monotonic() + 30
    while True:
        targets = prometheus.api("targets", state="active")["activeTargets"]
        groups = prometheus.api("rules", type="alert")["groups"]
        scraped_twice = targets and all(t["health"] == "up" and _seconds(t["lastScrape"]) > loaded + 1 for t in targets)
        evaluated = groups and all(_seconds(g["lastEvaluation"]) > loaded + 1 for g in groups)
        if scraped_twice and evaluated:
            return prometheus
        if time.monotonic() > deadline:
            raise AssertionError(f"targets not all scraped since the load: {json.dumps(targets, indent=1)}\n"
                                 f"prometheus said:\n{prometheus.log.read_text()}")
        time.sleep(0.25)


def _seconds(rfc3339: str) -> float:
    """Prometheus's nanosecond RFC 3339 timestamps, as Unix seconds (0 for "never")."""
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)", rfc3339)
    if match is None or rfc3339.startswith("0001-"):
        return 0.0
    whole = datetime.fromisoformat(match.group(1) + match.group(3).replace("Z", "+00:00")).timestamp()
    return whole + float(match.group(2) or 0)


# --- what Grafana would send ----------------------------------------------------------------------

def dashboards() -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted((MONITORING / "grafana" / "dashboards").glob("*.json"))]


def label_values(prometheus: Prometheus, query: str) -> list[str]:
    """Grafana's `label_values(selector, label)` variable query, through the same API it uses."""
    match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", query)
    assert match, f"unsupported variable query {query!r}"
    selector, label = match.groups()
    return list(prometheus.api(f"label/{label}/values", **{"match[]": selector}))


def regex_escaped(value: str) -> str:
    """A variable's value as Grafana puts it inside =~"...": regex characters escaped, in PromQL quoting."""
    return re.sub(r"([\\^$.|?*+()\[\]{}])", r"\\\\\1", value)


def substitute(expr: str, values: dict[str, str]) -> str:
    expr = expr.replace("$__rate_interval", RATE_INTERVAL)
    for name, value in sorted(values.items(), key=lambda item: -len(item[0])):
        expr = expr.replace(f"${name}", value)
    assert "$" not in expr, f"unsubstituted variable in {expr}"
    return expr


def dashboard_queries(prometheus: Prometheus) -> list[tuple[str, str, str]]:
    """(dashboard, panel, PromQL) for every target, with the variables on "All" and on one value."""
    queries = []
    for board in dashboards():
        variables = board["templating"]["list"]
        every = {v["name"]: v["allValue"] for v in variables}
        one = {}
        for variable in variables:
            found = label_values(prometheus, variable["query"]["query"])
            assert found, f"{board['title']}: variable {variable['name']} has no values"
            one[variable["name"]] = regex_escaped(found[0])
        for panel in board["panels"]:
            for target in panel["targets"]:
                for values in (every, one):
                    queries.append((board["title"], panel["title"], substitute(target["expr"], values)))
    return queries


def rule_expressions() -> list[tuple[str, str]]:
    return [(rule["alert"], rule["expr"]) for path in sorted((MONITORING / "rules").glob("*.yml"))
            for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]]


# --- the tests ----------------------------------------------------------------------------------

def test_every_process_is_scraped_and_up(scraped: Prometheus) -> None:
    targets = scraped.api("targets", state="active")["activeTargets"]
    assert sorted(t["labels"]["job"] for t in targets) == sorted(spec.name for spec in PROCESSES)
    assert [t for t in targets if t["health"] != "up"] == []
    up = {result["metric"]["job"]: result["value"][1] for result in scraped.query("up")}
    assert up == {spec.name: "1" for spec in PROCESSES}


def test_every_dashboard_query_runs(scraped: Prometheus) -> None:
    queries = dashboard_queries(scraped)
    assert len(queries) > 100
    failures = [f"{board} / {panel}: {expr}\n  {error}" for board, panel, expr in queries
                if (error := scraped.error(expr)) is not None]
    assert failures == [], "\n".join(failures)


def test_every_alert_rule_runs_and_evaluates(scraped: Prometheus) -> None:
    failures = [f"{alert}: {error}" for alert, expr in rule_expressions() if (error := scraped.error(expr))]
    assert failures == [], "\n".join(failures)
    rules = [rule for group in scraped.api("rules", type="alert")["groups"] for rule in group["rules"]]
    assert sorted(rule["name"] for rule in rules) == sorted(alert for alert, _ in rule_expressions())
    assert [(rule["name"], rule.get("lastError")) for rule in rules if rule["health"] != "ok"] == []
    assert [rule["name"] for rule in rules if rule["state"] == "firing"] == []  # a healthy fleet


def test_the_load_shows_in_the_dashboards_series(scraped: Prometheus) -> None:
    def nonempty(expr: str) -> list[dict[str, Any]]:
        results = scraped.query(expr)
        assert results, f"no series for {expr}"
        return results

    served = {r["metric"]["service"] for r in nonempty("sum by (service) (looma_http_requests_total)")}
    assert served == {spec.name for spec in PROCESSES}
    upstreams = {r["metric"]["upstream"] for r in nonempty("sum by (upstream) (looma_gateway_requests_total)")}
    assert {"auth", "crm"} <= upstreams
    assert {"200"} <= {r["metric"]["status"]
                       for r in nonempty('sum by (status) (looma_gateway_requests_total{upstream="crm"})')}
    # Refused at the edge (no token, unknown route): the gateway's own request metrics count them.
    assert {"401", "404"} <= {r["metric"]["status"]
                              for r in nonempty('sum by (status) (looma_http_requests_total{service="gateway"})')}
    nonempty("histogram_quantile(0.95, sum by (le) "
             f"(rate(looma_gateway_request_duration_seconds_bucket[{RATE_INTERVAL}])))")
    assert nonempty("max(looma_outbox_lag_seconds)")[0]["value"][1] != "NaN"
    nonempty('sum(rate(looma_http_requests_total{service="crm", route!~"/health|/ready|/metrics"}[1m]))')
