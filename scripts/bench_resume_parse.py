"""Benchmark the whole parse (text extraction, entities, structure) per file type, and the peak
memory of a batch ingest of many files.

    .venv/bin/python scripts/bench_resume_parse.py [--files 60] [--batch 1000] [--seed 20261125]

Part 1 parses generated Chinese and English resumes one at a time in this process, after one
untimed warm-up per type, and prints files/s, p50 and p95 per file for text PDFs, DOCX and TXT.

Part 2 runs the resume service in this process on a temporary SQLite data directory, with the
CRM's `resolve` answered in memory (the CRM is measured in its own benchmark), and posts a batch
of `--batch` files (PDF, DOCX and TXT, a third each, as a zip in parts of 200) to
POST /api/v1/resumes/batch, polling until done; it prints the wall time and the process's peak
RSS before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(count: int, seed: int) -> dict[str, list[bytes]]:
    from tests.resume_files import varied_docx, varied_pdf, varied_text

    files: dict[str, list[bytes]] = {"pdf": [], "docx": [], "txt": []}
    for index in range(count):
        language = ("zh", "en")[index % 2]
        files["pdf"].append(varied_pdf(seed + index, language, 1 + index % 2))
        files["docx"].append(varied_docx(seed + index, language))
        files["txt"].append(varied_text(seed + index, language))
    return files


def parse_speed(files: dict[str, list[bytes]]) -> None:
    from ai_services.resume_service.documents import extract_text
    from ai_services.resume_service.parsed import structure

    print(f"{'type':<6} {'files':>6} {'files/s':>8} {'p50 ms':>8} {'p95 ms':>8}")
    for kind, items in files.items():
        for warm in items[:2]:  # one of each language: both entity models loaded before timing
            structure(extract_text(warm, f"warm.{kind}").text)
        times = []
        started = time.perf_counter()
        for data in items:
            begin = time.perf_counter()
            structure(extract_text(data, f"resume.{kind}").text)
            times.append((time.perf_counter() - begin) * 1000)
        elapsed = time.perf_counter() - started
        times.sort()
        p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
        print(f"{kind:<6} {len(items):>6} {len(items) / elapsed:>8.1f} {statistics.median(times):>8.1f} {p95:>8.1f}")


def batch_memory(source: Path) -> None:
    """Ingest the files of `source` as batches, in this process; migrate a fresh data directory first
    (Alembic runs its own event loop)."""
    from shared.config import LoomaSettings
    from shared.database.schema import upgrade

    with tempfile.TemporaryDirectory() as folder:
        settings = LoomaSettings(_env_file=None, data_dir=Path(folder), database_url=None, redis_url=None,
                                 gateway_url=None, log_level="WARNING", max_body_bytes=256 * 1024 * 1024)
        upgrade(settings.sqlalchemy_url)
        asyncio.run(_batch(settings, sorted((p.name, p.read_bytes()) for p in source.iterdir())))


async def _batch(settings: object, members: list[tuple[str, bytes]]) -> None:
    from ai_services.resume_service.app import ResumeService
    from tests.harness import ServiceHarness
    from tests.tokens import TestIssuer
    from tests.unit.test_resume_service import FakeCrm

    harness = ServiceHarness(ResumeService(settings).create_app())  # type: ignore[arg-type]
    issuer = TestIssuer()
    issuer.install(harness.app)
    await harness.start()
    harness.app.ctx.crm = FakeCrm()
    token = issuer.token(role="recruiter", org="org-bench")
    before = peak_mib()
    started = time.perf_counter()
    locations = []
    for part in range(0, len(members), 200):
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
            for name, data in members[part:part + 200]:
                zipped.writestr(name, data)
        response = await harness.send("POST", "/api/v1/resumes/batch", token=token, timeout=120,
                                      files={"files": ("part.zip", archive.getvalue())})
        assert response.status_code == 202, response.text
        locations.append(response.headers["location"])
    done = 0
    for location in locations:
        while True:
            batch = (await harness.send("GET", location, token=token)).json()
            if batch["status"] == "done":
                done += batch["succeeded"]
                break
            await asyncio.sleep(0.5)
    elapsed = time.perf_counter() - started
    await harness.stop()
    print(f"batch of {len(members)} files: {done} ingested in {elapsed:.1f} s ({len(members) / elapsed:.1f} files/s); "
          f"peak RSS {before:.0f} MiB before, {peak_mib():.0f} MiB after")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=60)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--batch-from", type=Path, help=argparse.SUPPRESS)  # the child process of part 2
    args = parser.parse_args()
    if args.batch_from:
        batch_memory(args.batch_from)
        return
    parse_speed(generate(args.files, args.seed))
    if args.batch:
        # The batch runs in a fresh process, so that its peak memory is the service's, not the generator's.
        files = generate(args.batch // 3 + 1, args.seed + 10_000)
        members = [(f"{i:04d}.{kind}", data) for kind, items in files.items() for i, data in enumerate(items)]
        with tempfile.TemporaryDirectory() as folder:
            for name, data in members[:args.batch]:
                (Path(folder) / name).write_bytes(data)
            subprocess.run([sys.executable, __file__, "--batch-from", folder], check=True)


if __name__ == "__main__":
    main()
