"""Benchmark /health at 64 connections with wrk: directly, and through the gateway.

    .venv/bin/python scripts/bench_health.py [--duration 15] [--connections 64]

Starts a fleet with `looma up` on a fresh directory and its own ports, then runs wrk against
the chat service's /health and against the gateway's /api/v1/services/chat/health, which the
gateway proxies to that same endpoint. Needs wrk (`apt-get install wrk`).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.e2e.fleet import free_port_offset, start_fleet  # noqa: E402


def wrk(url: str, duration: int, connections: int) -> dict[str, str]:
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    figures = {"rps": re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)}  # type: ignore[union-attr]
    for pct in ("50", "99"):
        figures[f"p{pct}"] = re.search(rf"\s{pct}(?:\.000)?%\s+(\S+)", out).group(1)  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    figures["non2xx"] = errors.group(1) if errors else "0"
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp:
        fleet = start_fleet(Path(tmp) / "data", free_port_offset(), Path(tmp) / "up.log")
        try:
            targets = {
                "direct": f"{fleet.url('chat')}/health",
                "through the gateway": f"{fleet.gateway}/api/v1/services/chat/health",
            }
            wrk(targets["direct"], 2, args.connections)  # warm-up
            for label, url in targets.items():
                f = wrk(url, args.duration, args.connections)
                print(f"{label:<20} {float(f['rps']):>9,.0f} req/s   p50 {f['p50']:>8}   p99 {f['p99']:>8}   "
                      f"non-2xx {f['non2xx']}   ({url})")
        finally:
            fleet.stop()


if __name__ == "__main__":
    main()
