"""Measure what the gateway adds to a CRM read: direct, through the gateway, through nginx; then profile it.

    .venv/bin/python scripts/bench_gateway.py [--duration 10] [--connections 64] [--rate 1000 [300 ...]]
                                              [--rounds 1] [--talents 500] [--skip-nginx]
                                              [--profile | --no-profile] [--profile-output stacks.txt]

The request is the demo recruiter's `GET /api/v1/talents?limit=1`, sent three ways:
- direct to the CRM instance (port 8888 + the fleet's offset);
- through the gateway with every feature on: edge JWT verification, the three rate limits (per
  route, per user, per org; raised so that they are checked on every request but never refuse),
  P2C balancing, circuit breakers, the retry budget, Prometheus metrics and the INFO access log
  that is the fleet's default;
- through nginx as a reference proxy: one worker, an upstream block with `keepalive 64`, HTTP/1.1
  to the CRM, a buffered access log. It runs in the foreground from a generated nginx.conf in a
  temporary directory, as a child of this script.

For each, two measures:
- **Saturation**: wrk, 2 threads, 64 connections, --latency (requests/s, p50, p99). wrk is
  closed-loop: each connection sends its next request when the last one is answered, so this
  measures capacity, and the latency it reports is the queueing at that capacity.
- **Fixed rate**: an open-loop generator in this process (aiohttp on uvloop) that starts request
  i at t0 + i/rate whatever happened to the others, so a slow answer cannot hold back the next
  ones (wrk cannot fix a rate, and pacing it from Lua would still wait on each connection's last
  answer). The first second is a warm-up and not counted. Latency runs from the moment a request
  was started, waiting for a pooled connection included. The generator's own lateness (how far
  behind schedule a request started: it wakes about once a millisecond and shares the two cores)
  is not in that latency and is printed beside it; past a few milliseconds, the machine was too
  busy for the run to say much.

Beside each run, the CPU time a request costs each process on its path (the CRM, the gateway,
nginx's master and worker), from /proc: it is steadier than latency on a shared machine, and it
says what a proxy would cost where it does not share two cores with its upstream and wrk.

Rounds alternate direct, gateway, nginx so that changes in the machine's other load spread over
all three; added latency is always against the same round's direct run. The load average is
printed around every run, and the idle CPU of each process once before the first.

With --profile (the default), py-spy samples the gateway process at 200 Hz for --duration
seconds while wrk loads it, without pausing it (--nonblocking). The script prints the top frames
of the main thread (the event loop that serves every request) by own time and by total time,
and each part of the gateway's work (Sanic, JWT, rate limits, aiohttp, logging, metrics...) as a
share of that thread's samples; other threads are counted apart.
py-spy (`pip install -r requirements-dev.txt`) needs ptrace: root, or CAP_SYS_PTRACE.

Needs wrk (`apt-get install wrk`) and, unless --skip-nginx, nginx (`apt-get install nginx`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from shared.fleet import CRM, GATEWAY  # noqa: E402
from tests.e2e.fleet import Fleet, free_port_offset, start_fleet  # noqa: E402

RECRUITER = {"email": "recruiter@demo.looma.test", "password": "demo-recruiter-password"}
REQUEST = "/api/v1/talents?limit=1"
NGINX = "/usr/sbin/nginx"
PY_SPY = Path(sys.executable).parent / "py-spy"

# Limits far above what two cores can send, so every request draws from all three buckets
# (the work the gateway does in production) and none is refused.
FLEET_ENV = {
    "LOOMA_HEARTBEAT_INTERVAL": "3",  # the fleet's defaults (start_fleet shortens them for tests)
    "LOOMA_HEARTBEAT_TTL": "10",
    "LOOMA_LOG_LEVEL": "INFO",
    "LOOMA_GATEWAY_BALANCING": "p2c",
    "LOOMA_GATEWAY_RATE_PER_USER": "10000000",
    "LOOMA_GATEWAY_RATE_PER_ORG": "10000000",
    "LOOMA_GATEWAY_RATE_PER_ROUTE": '{"/api/v1/talents": 10000000}',
}

NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {tmp}/access.log combined buffer=64k flush=1s;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    upstream crm {{
        server {upstream};
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://crm;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""

# Parts of the gateway's work. A sample goes to the first part, in this order, that any frame of
# its stack belongs to: the access log's JSON counts as logging, the proxy's aiohttp calls as the
# client, and what is left under Sanic as Sanic's own request handling.
PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("logging", ("logging/", "shared/monitoring/logging")),
    ("metrics (prometheus_client)", ("prometheus_client/", "ai_gateway/metrics.py", "shared/monitoring/metrics")),
    ("JWT verification / LRU", ("shared/service/auth/", "jwt/", "cryptography/")),
    ("rate limiting", ("ai_gateway/limits.py", "gcra (")),
    ("balancing, breakers, retry budget", ("ai_gateway/balancing.py", "ai_gateway/breaker.py",
                                           "ai_gateway/registry.py", "ai_gateway/retries.py")),
    ("aiohttp client (proxy send)", ("aiohttp/", "yarl/", "multidict/")),
    ("JSON", ("json/", "orjson", "ujson")),
    ("request id, timing (observability)", ("shared/service/observability.py", "uuid.py")),
    ("proxy and pipeline code", ("ai_gateway/proxy.py", "ai_gateway/pipeline.py", "ai_gateway/api.py")),
    ("embedded cache calls: pub/sub poll, roster", ("aiosqlite/", "cache_embedded.py")),
    ("sanic request handling", ("sanic/",)),
)
# Sanic recompiles a few hot methods at start-up (sanic.touchup); their frames name no file.
TOUCHED_UP = re.compile(r"\((?:handle_request|connection_task|http1\w*|send|respond|read|receive_more)(?::\d+)?\)$")
LOOP = "event loop: polling and socket reads (uvloop, in C)"
WRITES = "socket writes (to the client and to the CRM)"


@dataclass
class Target:
    label: str
    base: str
    pids: dict[str, int]  # the processes whose CPU a request through this path uses: CRM, proxy


@dataclass
class Saturation:
    rps: float
    p50_ms: float
    p99_ms: float
    non2xx: int
    socket_errors: str
    cpu_ms: dict[str, float]  # CPU milliseconds a request, per process


@dataclass
class FixedRate:
    sent: int
    seconds: float
    p50_ms: float
    p99_ms: float
    failures: int
    late_p99_ms: float  # how far behind schedule the generator started its requests
    cpu_ms: dict[str, float]

    @property
    def rate(self) -> float:
        return self.sent / self.seconds


def load() -> str:
    return f"load {os.getloadavg()[0]:.2f}"


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User and system CPU of a process and its descendants (nginx's worker), all threads, from /proc."""
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(child) for child in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


@contextmanager
def cpu_per_request(pids: dict[str, int], into: dict[str, float]) -> Iterator[Callable[[int], None]]:
    """Fills `into` with CPU milliseconds a request per process, once told how many requests were served."""
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    served = [0]
    yield lambda n: served.__setitem__(0, n)
    for name, pid in pids.items():
        into[name] = 1000 * (cpu_seconds(pid) - before[name]) / max(1, served[0])


def milliseconds(figure: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", figure).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk_command(url: str, token: str, duration: float, connections: int) -> list[str]:
    return ["wrk", "-t2", f"-c{connections}", f"-d{duration:g}s", "--latency", "-H", f"Authorization: Bearer {token}",
            url]


def wrk_figures(out: str, cpu_ms: dict[str, float] | None = None) -> tuple[Saturation, int]:
    """wrk's requests/s, p50, p99, non-2xx count and socket errors, and how many requests it sent."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"\s50(?:\.000)?%\s+(\S+)", out)
    p99 = re.search(r"\s99(?:\.000)?%\s+(\S+)", out)
    count = re.search(r"(\d+) requests in", out)
    if rps is None or p50 is None or p99 is None or count is None:
        raise RuntimeError(f"could not read wrk's figures:\n{out}")
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.+)", out)
    return Saturation(float(rps.group(1)), milliseconds(p50.group(1)), milliseconds(p99.group(1)),
                      int(non2xx.group(1)) if non2xx else 0, errors.group(1).strip() if errors else "none",
                      cpu_ms if cpu_ms is not None else {}), int(count.group(1))


def wrk(target: Target, token: str, duration: float, connections: int) -> Saturation:
    cpu: dict[str, float] = {}
    with cpu_per_request(target.pids, cpu) as served:
        out = subprocess.run(wrk_command(target.base + REQUEST, token, duration, connections),
                             capture_output=True, text=True, check=True).stdout
        figures, count = wrk_figures(out, cpu)
        served(count)
    return figures


def percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def paced(url: str, token: str, rate: float, seconds: float, connections: int,
                pids: dict[str, int]) -> FixedRate:
    """Open loop: request i starts at t0 + i/rate; the first second warms up and is not counted."""
    warmup = 1.0
    latencies: list[float] = []
    late: list[float] = []
    failures = 0
    cpu: dict[str, float] = {}
    connector = aiohttp.TCPConnector(limit=connections, keepalive_timeout=60)
    async with aiohttp.ClientSession(connector=connector, headers={"Authorization": f"Bearer {token}"}) as http:

        async def one(due: float, counted: bool) -> None:
            nonlocal failures
            started = time.perf_counter()
            try:
                async with http.get(url) as response:
                    await response.read()
                    ok = 200 <= response.status < 300
            except (aiohttp.ClientError, OSError):
                ok = False
            if counted:
                latencies.append((time.perf_counter() - started) * 1000)
                late.append((started - due) * 1000)
                failures += not ok

        async def send_all(first: int, last: int, t0: float) -> list[asyncio.Future[None]]:
            tasks, i = [], first
            while i < last:
                now = time.perf_counter()
                # Whatever is due starts now: the loop wakes at most about once a millisecond.
                while i < last and t0 + i / rate <= now:
                    tasks.append(asyncio.ensure_future(one(t0 + i / rate, i >= int(rate * warmup))))
                    i += 1
                if i < last:
                    await asyncio.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
            return tasks

        t0 = time.perf_counter() + 0.01
        warming = await send_all(0, int(rate * warmup), t0)
        with cpu_per_request(pids, cpu) as served:
            counting = await send_all(int(rate * warmup), int(rate * (warmup + seconds)), t0)
            sent_until = time.perf_counter()
            await asyncio.gather(*warming, *counting)
            served(len(counting))
    ordered = sorted(latencies)
    return FixedRate(len(latencies), sent_until - t0 - warmup, percentile(ordered, 0.5), percentile(ordered, 0.99),
                     failures, percentile(sorted(late), 0.99), cpu)


def fixed_rate(target: Target, token: str, rate: float, seconds: float, connections: int) -> FixedRate:
    run = paced(target.base + REQUEST, token, rate, seconds, connections, target.pids)
    try:
        import uvloop
    except ImportError:
        return asyncio.run(run)
    return uvloop.run(run)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def nginx(upstream: str, tmp: Path) -> Iterator[tuple[str, int]]:
    """nginx in the foreground, proxying to `upstream` (host:port); yields its base URL and pid."""
    home = tmp / "nginx"
    home.mkdir()
    port = free_port()
    (home / "nginx.conf").write_text(NGINX_CONF.format(tmp=home, upstream=upstream, port=port))
    process = subprocess.Popen([NGINX, "-p", str(home), "-e", str(home / "error.log"), "-c", str(home / "nginx.conf")],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)  # its own group: the master and its worker stop together
    try:
        deadline = time.monotonic() + 10
        while True:
            if process.poll() is not None:
                _, err = process.communicate()
                raise RuntimeError(f"nginx exited with {process.returncode}: {err.decode(errors='replace')}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"nginx did not listen on {port} within 10 s") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def listening_pid(port: int, candidate: int) -> int:
    """`candidate` (from the fleet's state file), checked against the socket listening on `port` in /proc."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # 0A: LISTEN
                inodes.add(fields[9])
    for fd in Path(f"/proc/{candidate}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            return candidate
    raise RuntimeError(f"process {candidate} does not hold the socket listening on port {port}")


def answered(url: str, token: str, timeout: float = 30) -> None:
    """Wait for a 200: the gateway's first active check can run before the CRM listens, and then
    keeps the instance out of rotation until the next check, a few seconds after `looma up` is ready."""
    deadline = time.monotonic() + timeout
    while True:
        answer = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        if answer.status_code == 200:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} answered {answer.status_code} for {timeout:g} s: {answer.text[:300]}")
        time.sleep(0.2)


def pending_events(env: dict[str, str], data_dir: Path) -> int:
    out = subprocess.run([sys.executable, "-m", "shared.cli.main", "outbox", "status", "--data-dir", str(data_dir)],
                         check=False, capture_output=True, text=True, env=env).stdout
    match = re.search(r"pending\D+(\d+)", out)
    return int(match.group(1)) if match else -1


def service_pid(fleet: Fleet, name: str) -> int:
    """The pid `looma up` recorded for `name`, checked against the socket listening on its port."""
    port = int(fleet.url(name).rsplit(":", 1)[1])
    return listening_pid(port, fleet.state()["services"][name]["pid"])


def profile(gateway: Target, token: str, duration: float, connections: int, raw: Path) -> None:
    if not PY_SPY.exists():
        print(f"\nno profile: py-spy is not installed in {PY_SPY.parent} (pip install -r requirements-dev.txt)")
        return
    pid = gateway.pids["gateway"]
    # wrk runs a second longer on each side, so that every sample falls under load.
    load_run = subprocess.Popen(wrk_command(gateway.base + REQUEST, token, duration + 2, connections),
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        time.sleep(1)
        spy = subprocess.run([str(PY_SPY), "record", "--pid", str(pid), "--duration", f"{duration:g}",
                              "--format", "raw", "--rate", "200", "--nonblocking", "--function", "--threads",
                              "--output", str(raw)], check=False, capture_output=True, text=True)
    finally:
        out, _ = load_run.communicate(timeout=duration + 30)
    under, _ = wrk_figures(out)
    if spy.returncode != 0 or not raw.exists():
        print(f"\nno profile: py-spy could not sample process {pid} (it needs ptrace: root or CAP_SYS_PTRACE):\n"
              f"{spy.stderr.strip()}")
        return
    print(f"\nprofile of the gateway (pid {pid}) under wrk: {under.rps:,.0f} req/s, p50 {under.p50_ms:.1f} ms, "
          f"non-2xx {under.non2xx}, {load()}")
    report_profile(raw.read_text())


def part_of(frames: list[str]) -> str:
    leaf = frames[-1]
    if leaf.startswith(("_run_server_forever ", "run_forever ")):
        return LOOP  # the loop's own C code (epoll, socket reads) shows as the frame that started it
    if leaf.startswith(("send (send:", "StreamWriter._write (aiohttp/http_writer.py")):
        return WRITES  # transport.write: a send() system call on the spot
    for part, markers in PARTS:
        if any(marker in frame for frame in frames for marker in markers):
            return part
    if any(TOUCHED_UP.search(frame) for frame in frames):
        return "sanic request handling"
    return "other"


def report_profile(collapsed: str) -> None:
    """Own and total time per frame, and each part's share, from py-spy's collapsed stacks (with --threads).

    Requests are served by the main thread's event loop; other threads (aiosqlite's, which runs the
    embedded cache's SQLite calls) release the GIL while in C, so they are counted apart.
    """
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    parts: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        thread, *frames = stack.split(";")
        name = thread.rsplit(": ", 1)[-1]
        threads[name] += n
        if name != "MainThread" or not frames:
            continue
        own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
        parts[part_of(frames)] += n
    main = threads["MainThread"]
    if main == 0:
        print("py-spy recorded no samples of the main thread (the gateway was idle?)")
        return
    print(f"{sum(threads.values())} busy samples at 200 Hz (py-spy leaves idle waits out): "
          + ", ".join(f"{name} {n}" for name, n in threads.most_common()))
    print("shares below are of the main thread's samples: it runs the event loop that serves every request")
    for title, counter in (("own time", own), ("total time", total)):
        print(f"\ntop frames by {title}:")
        for frame, n in counter.most_common(15):
            print(f"  {100 * n / main:5.1f}%  {frame}")
    print("\nwhere the main thread's time goes, by part (each sample counted once):")
    for part, n in parts.most_common():
        print(f"  {100 * n / main:5.1f}%  {part}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10, help="seconds of each run and of the profile")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rate", type=float, nargs="+", default=[1000.0],
                        help="requests a second of the fixed-rate runs (one run per rate)")
    parser.add_argument("--rounds", type=int, default=1, help="how many times to run the paths, alternating")
    parser.add_argument("--talents", type=int, default=500, help="demo talents to seed")
    parser.add_argument("--skip-nginx", action="store_true")
    parser.add_argument("--profile", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--profile-output", type=Path, help="keep py-spy's collapsed stacks here (for a flame graph)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    if not args.skip_nginx and not Path(NGINX).exists():
        raise SystemExit(f"nginx is not installed at {NGINX}: apt-get install nginx (or pass --skip-nginx)")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        data_dir = tmp / "data"
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOOMA_")} | FLEET_ENV
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "shared.cli.main", "seed", "--demo", "--talents", str(args.talents),
                        "--data-dir", str(data_dir)], env=env, check=True, capture_output=True)
        print(f"seeded {args.talents} demo talents in {time.perf_counter() - started:.1f}s; {os.cpu_count()} cores")
        fleet = start_fleet(data_dir, free_port_offset(), tmp / "up.log", extra_env=FLEET_ENV)
        try:
            while pending_events(env, data_dir) != 0:  # the projector's catch-up would share the cores
                time.sleep(1)
            token = httpx.post(f"{fleet.gateway}/api/v1/auth/login", json=RECRUITER, timeout=10).json()["access_token"]
            crm = service_pid(fleet, CRM.name)
            targets = [Target("direct", fleet.url(CRM.name), {"crm": crm}),
                       Target("gateway", fleet.gateway, {"crm": crm, "gateway": service_pid(fleet, GATEWAY.name)})]
            with nginx(fleet.url(CRM.name).split("://", 1)[1], tmp) if not args.skip_nginx else _nothing() as proxy:
                if proxy is not None:
                    targets.append(Target("nginx", proxy[0], {"crm": crm, "nginx": proxy[1]}))
                for target in targets:
                    answered(target.base + REQUEST, token)
                    wrk(target, token, 2, args.connections)  # warm-up: connection pools, the token's LRU entry
                print_idle({name: pid for target in targets for name, pid in target.pids.items()})
                rounds = run_rounds(targets, token, args)
            if args.profile:
                profile(targets[1], token, args.duration, args.connections, args.profile_output or tmp / "gateway.txt")
        finally:
            try:
                fleet.stop()
            except subprocess.TimeoutExpired:  # the services die with it (PR_SET_PDEATHSIG)
                fleet.process.kill()
                fleet.process.wait()
    print_table(rounds, args)


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


@dataclass
class Round:
    saturation: dict[str, Saturation]
    fixed: dict[float, dict[str, FixedRate]]


def print_idle(pids: dict[str, int], seconds: float = 3) -> None:
    """Each process's CPU with no request coming: background work (checks, heartbeats, cache polling)."""
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    time.sleep(seconds)
    print("idle CPU: " + ", ".join(f"{name} {100 * (cpu_seconds(pid) - before[name]) / seconds:.0f}% of a core"
                                   for name, pid in pids.items()) + f" ({load()})")


def cpu_text(cpu_ms: dict[str, float]) -> str:
    return ", ".join(f"{name} {ms:.2f}" for name, ms in cpu_ms.items()) + " CPU ms/req"


def run_rounds(targets: list[Target], token: str, args: argparse.Namespace) -> list[Round]:
    rounds = []
    for n in range(1, args.rounds + 1):
        this = Round({}, {rate: {} for rate in args.rate})
        for target in targets:
            before = load()
            s = this.saturation[target.label] = wrk(target, token, args.duration, args.connections)
            print(f"round {n} {target.label:<8} wrk {s.rps:>7,.0f} req/s p50 {s.p50_ms:7.2f} ms p99 {s.p99_ms:7.2f} ms"
                  f" non-2xx {s.non2xx}, socket errors {s.socket_errors}; {cpu_text(s.cpu_ms)} ({before}, "
                  f"after {load()})")
            for rate in args.rate:
                before = load()
                f = this.fixed[rate][target.label] = fixed_rate(target, token, rate, args.duration, args.connections)
                print(f"round {n} {target.label:<8} at {rate:,.0f}/s: {f.rate:,.0f} req/s p50 {f.p50_ms:7.2f} ms "
                      f"p99 {f.p99_ms:7.2f} ms failed {f.failures}, started late p99 {f.late_p99_ms:.2f} ms; "
                      f"{cpu_text(f.cpu_ms)} ({before}, after {load()})")
        rounds.append(this)
    return rounds


def proxy_cpu(cpu_ms: dict[str, float]) -> str:
    proxy = [ms for name, ms in cpu_ms.items() if name != "crm"]
    return f"{proxy[0]:.2f}" if proxy else "-"


def print_rows(header: list[str], rows: list[list[str]]) -> None:
    """Columns as wide as their widest cell, right-aligned but for the first two."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    for row in (header, *rows):
        print("  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))))


def print_table(rounds: list[Round], args: argparse.Namespace) -> None:
    print(f"\nsaturation: wrk -t2 -c{args.connections} -d{args.duration:g}s --latency, GET {REQUEST}; "
          "CPU is milliseconds a request")
    rows = []
    for n, this in enumerate(rounds, 1):
        direct = this.saturation["direct"]
        for label, s in this.saturation.items():
            rows.append([str(n), label, f"{s.rps:,.0f}", f"{100 * s.rps / direct.rps:.0f}%", f"{s.p50_ms:.2f}",
                         f"{s.p99_ms:.2f}", f"{s.p50_ms - direct.p50_ms:+.2f}", f"{s.p99_ms - direct.p99_ms:+.2f}",
                         str(s.non2xx), f"{s.cpu_ms['crm']:.2f}", proxy_cpu(s.cpu_ms)])
    print_rows(["round", "path", "req/s", "of direct", "p50 ms", "p99 ms", "+p50 ms", "+p99 ms", "non-2xx",
                "CRM CPU", "proxy CPU"], rows)
    print(f"\nfixed rate: open loop for {args.duration:g} s after 1 s of warm-up; 'late' is how far behind "
          "schedule this generator started requests")
    rows = []
    for n, this in enumerate(rounds, 1):
        for rate, paths in this.fixed.items():
            direct = paths["direct"]
            for label, f in paths.items():
                rows.append([f"{n} at {rate:,.0f}/s", label, f"{f.rate:,.0f}", f"{f.p50_ms:.2f}", f"{f.p99_ms:.2f}",
                             f"{f.p50_ms - direct.p50_ms:+.2f}", f"{f.p99_ms - direct.p99_ms:+.2f}", str(f.failures),
                             f"{f.late_p99_ms:.2f}", f"{f.cpu_ms['crm']:.2f}", proxy_cpu(f.cpu_ms)])
    print_rows(["round", "path", "req/s", "p50 ms", "p99 ms", "+p50 ms", "+p99 ms", "failed", "late p99",
                "CRM CPU", "proxy CPU"], rows)
    capacity = min(this.saturation["direct"].rps for this in rounds)
    for rate in args.rate:
        if rate > 0.8 * capacity:
            print(f"note: the CRM alone served {capacity:,.0f} req/s at saturation; at {rate:,.0f} req/s its own "
                  "queue dominates the latency, which then says little about the proxies")


if __name__ == "__main__":
    main()
