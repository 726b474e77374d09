"""A real Bolt/Cypher server for the Neo4j contract runs: ArcadeDB from the `arcadedb-embedded` package.

Neo4j itself cannot run on these machines; ArcadeDB speaks Bolt and Neo4j-5 Cypher (see
docs/storage-graph.md for where it differs). It runs as a subprocess, once per test session, so
its JVM stays out of the pytest process; each test gets a database of its own, created and
dropped over ArcadeDB's HTTP API because Bolt's CREATE DATABASE is not supported.

Import the fixtures into a test module: `from tests.contract.bolt_server import bolt_server, neo4j_url`.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import require_server

START_TIMEOUT = 60.0
READY_LINE = "ArcadeDB Server started"
HEAP = "-Xmx512m"  # the JVM's default would take a quarter of the machine's memory


class BoltServerUnavailable(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _package_dir() -> Path:
    spec = importlib.util.find_spec("arcadedb_embedded")
    if spec is None or spec.origin is None:
        raise BoltServerUnavailable("the arcadedb-embedded package is not installed")
    return Path(spec.origin).parent


@dataclass
class BoltServer:
    process: subprocess.Popen[bytes]
    http_port: int
    bolt_port: int
    password: str
    log: Path

    def url(self, database: str) -> str:
        return f"bolt://root:{self.password}@127.0.0.1:{self.bolt_port}/{database}"

    def command(self, command: str) -> None:
        """A server command (`create database x`, `drop database x`) over HTTP, as root."""
        token = base64.b64encode(f"root:{self.password}".encode()).decode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.http_port}/api/v1/server",
            data=json.dumps({"command": command}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Basic {token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                response.read()
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"ArcadeDB refused {command!r}: {error.code} {error.read().decode()[:500]}") from error

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_arcadedb(root: Path) -> BoltServer:
    package = _package_dir()
    java = package / "jre" / "bin" / "java"
    if not java.exists():
        raise BoltServerUnavailable(f"no Java runtime at {java}")
    http_port, bolt_port, password = _free_port(), _free_port(), secrets.token_hex(12)
    log = root / "server.log"
    command = [
        str(java), HEAP, "--add-modules=jdk.incubator.vector", "--add-opens=java.base/java.lang=ALL-UNNAMED",
        "-Dfile.encoding=UTF8", "-cp", f"{package / 'jars'}/*",
        f"-Darcadedb.server.rootPath={root}",
        f"-Darcadedb.server.rootPassword={password}",
        "-Darcadedb.server.httpIncomingHost=127.0.0.1",
        f"-Darcadedb.server.httpIncomingPort={http_port}",
        "-Darcadedb.server.plugins=Bolt:com.arcadedb.bolt.BoltProtocolPlugin",
        "-Darcadedb.bolt.host=127.0.0.1",
        f"-Darcadedb.bolt.port={bolt_port}",
        "com.arcadedb.server.ArcadeDBServer",
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=root, stdout=output, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    server = BoltServer(process, http_port, bolt_port, password, log)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if READY_LINE in text:
            return server
        if process.poll() is not None:
            raise BoltServerUnavailable(f"ArcadeDB exited with {process.returncode}:\n{text[-2000:]}")
        time.sleep(0.05)
    server.stop()
    raise BoltServerUnavailable(f"ArcadeDB did not start in {START_TIMEOUT:.0f} s:\n{log.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def bolt_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BoltServer]:
    try:
        server = start_arcadedb(tmp_path_factory.mktemp("arcadedb"))
    except (BoltServerUnavailable, OSError) as error:
        require_server(f"no Bolt server for the Neo4j contract: {error}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def neo4j_url(bolt_server: BoltServer) -> Iterator[str]:
    """A bolt:// URL naming a fresh, empty database of this test's own, dropped afterwards."""
    name = f"looma_{uuid.uuid4().hex[:12]}"
    bolt_server.command(f"create database {name}")
    try:
        yield bolt_server.url(name)
    finally:
        bolt_server.command(f"drop database {name}")
