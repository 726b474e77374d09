"""Benchmark `looma up`: time to all-ready on a new data directory, and the idle fleet's memory.

    .venv/bin/python scripts/bench_fleet.py [--runs 3]

Each run starts `looma up` on a fresh temporary directory and its own ports, waits until the
gateway lists every upstream healthy, lets the fleet idle for a few seconds, sums the resident
memory of the supervisor and every process it runs, and stops it.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from shared.fleet import GATEWAY, UPSTREAMS  # noqa: E402
from tests.e2e.fleet import free_port_offset  # noqa: E402

IDLE_SECONDS = 5.0


def one_run() -> tuple[float, float, float, int]:
    offset = free_port_offset()
    gateway = f"http://127.0.0.1:{GATEWAY.port + offset}/api/v1/services"
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOOMA_")} | {"LOOMA_PORT_OFFSET": str(offset)}
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "shared.cli.main", "up", "--data-dir", f"{tmp}/data"],
                                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while True:
                if process.poll() is not None:
                    raise SystemExit(f"looma up exited with {process.returncode}")
                try:
                    items = httpx.get(gateway, timeout=1).json()["items"]
                    if all(any(i["service"] == s.name and i["status"] == "healthy" for i in items) for s in UPSTREAMS):
                        break
                except (httpx.HTTPError, ValueError, KeyError):
                    pass
                time.sleep(0.05)
            ready = time.perf_counter() - started
            time.sleep(IDLE_SECONDS)
            tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
            rss = sum(p.memory_info().rss for p in tree) / 2**20
            uss = sum(p.memory_full_info().uss for p in tree) / 2**20
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(60)
    return ready, rss, uss, len(tree)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results = [one_run() for _ in range(args.runs)]
    for i, (ready, rss, uss, processes) in enumerate(results, 1):
        print(f"run {i}: all-ready {ready:.2f} s, idle RSS {rss:.0f} MiB (USS {uss:.0f} MiB), {processes} processes")
    print(f"median: all-ready {statistics.median(r[0] for r in results):.2f} s, "
          f"idle RSS {statistics.median(r[1] for r in results):.0f} MiB, "
          f"USS {statistics.median(r[2] for r in results):.0f} MiB")


if __name__ == "__main__":
    main()
