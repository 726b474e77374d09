"""Benchmark résumé text extraction, one file at a time in one process: PDF, DOCX, TXT and OCR.

    .venv/bin/python scripts/bench_resume_extract.py [--files 100] [--ocr 3] [--seed 20261125]

Generates `--files` text PDFs (English, Chinese and mixed; one column or beside a sidebar; one or
two pages), as many DOCX and TXT files (a third of the TXT in GBK) and `--ocr` scanned PNGs into a
temporary directory (the PNGs are full pages rendered at 300 dpi). A fresh interpreter then extracts them, after one untimed warm-up per row,
and prints files/s, p50/p95/max per file and the process's peak RSS after each row, so the
generator's memory (fpdf2, fontTools, a 17 MB font) stays out of the figure.

PDFs are measured three ways on the same files: `extract_text` (PDFium characters and the layout
of `pdf_layout`), pdfplumber's words fed through the same layout (the alternative), and
pdfplumber's own `extract_text` with no column handling (for scale).
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TYPES = ("pdf", "docx", "txt", "png")


def generate(folder: Path, files: int, ocr: int, seed: int) -> None:
    import pypdfium2 as pdfium

    from tests import resume_files

    languages = ("en", "zh", "mixed")
    for kind in TYPES:
        (folder / kind).mkdir()
    for i in range(files):
        language = languages[i % 3]
        (folder / "pdf" / f"{i:04d}.pdf").write_bytes(resume_files.varied_pdf(seed + i, language, 1 + i % 2))
        (folder / "docx" / f"{i:04d}.docx").write_bytes(resume_files.varied_docx(seed + i, language))
        (folder / "txt" / f"{i:04d}.txt").write_bytes(resume_files.varied_text(seed + i, language))
    for i in range(ocr):  # a full page as a 300 dpi greyscale scan
        document = pdfium.PdfDocument(resume_files.varied_pdf(seed + i, "mixed", 1))
        image = document[0].render(scale=300 / 72, grayscale=True).to_pil()
        out = io.BytesIO()
        image.save(out, format="PNG")
        (folder / "png" / f"{i:04d}.png").write_bytes(out.getvalue())


def measure(folder: Path) -> None:
    import pdfplumber

    from ai_services.resume_service.documents import ResumeFileError, extract_text
    from ai_services.resume_service.documents.normalise import normalise
    from ai_services.resume_service.documents.pdf_layout import PageWords, Word, lay_out

    def plumber_with_layout(data: bytes) -> str:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            pages = [PageWords(float(page.width), float(page.height),
                               [Word(w["text"], w["x0"], w["x1"], w["top"], w["bottom"], True)
                                for w in page.extract_words()]) for page in pdf.pages]
        return normalise("\n\n".join(lay_out(pages)))

    def plumber_plain(data: bytes) -> str:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            return normalise("\n\n".join(page.extract_text() or "" for page in pdf.pages))

    print(f"RSS after imports: {_peak_mib():.0f} MiB")
    loaded = {kind: [path.read_bytes() for path in sorted((folder / kind).iterdir())] for kind in TYPES}
    pages = [extract_text(data, "r.pdf").pages or 0 for data in loaded["pdf"]]
    print(f"files: {len(loaded['pdf'])} PDF ({sum(pages)} pages: {pages.count(1)} of one page, "
          f"{pages.count(2)} of two), {len(loaded['docx'])} DOCX, {len(loaded['txt'])} TXT, {len(loaded['png'])} PNG; "
          f"{sum(map(len, loaded['pdf'])) / len(loaded['pdf']) / 1024:.0f} KiB a PDF on average")
    print(f"RSS with the files loaded and read once: {_peak_mib():.0f} MiB\n")
    rows: list[tuple[str, str, Callable[[bytes], object]]] = [
        ("pdf: extract_text (PDFium + layout)", "pdf", lambda data: extract_text(data, "r.pdf")),
        ("pdf: pdfplumber words + same layout", "pdf", plumber_with_layout),
        ("pdf: pdfplumber extract_text, no layout", "pdf", plumber_plain),
        ("docx: extract_text", "docx", lambda data: extract_text(data, "r.docx")),
        ("txt: extract_text", "txt", lambda data: extract_text(data, "r.txt")),
        ("png: extract_text (OCR chi_sim+eng)", "png", lambda data: extract_text(data, "r.png")),
    ]
    print(f"| {'what':<42} | files | files/s | p50 ms | p95 ms | max ms | peak RSS MiB | refused |")
    print(f"|{'-' * 44}|-------|---------|--------|--------|--------|--------------|---------|")
    for label, kind, extract in rows:
        files = loaded[kind]
        if not files:
            continue
        if kind != "png":
            extract(files[0])  # warm-up: imports and caches (a scan is too slow to read twice)
        timings = []
        refused: list[str] = []
        started = time.perf_counter()
        for data in files:
            began = time.perf_counter()
            try:
                extract(data)
            except ResumeFileError as error:  # e.g. OCR of a dense page past the deadline
                refused.append(error.slug)
            timings.append((time.perf_counter() - began) * 1000)
        elapsed = time.perf_counter() - started
        print(f"| {label:<42} | {len(files):>5} | {len(files) / elapsed:>7.1f} | {statistics.median(timings):>6.1f} "
              f"| {_percentile(timings, 95):>6.1f} | {max(timings):>6.1f} | {_peak_mib():>12.0f} "
              f"| {', '.join(refused) or 0:>7} |")
    print(f"\nOMP_THREAD_LIMIT when done: {os.environ.get('OMP_THREAD_LIMIT', 'unset')}")


def _percentile(values: list[float], percent: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(percent / 100 * (len(ordered) - 1)))]


def _peak_mib() -> float:
    """VmHWM, this process's peak RSS. Not ru_maxrss: Linux carries the parent's peak into it
    across fork and exec, so it would report the generator's memory."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100, help="PDFs, and as many DOCX and TXT files")
    parser.add_argument("--ocr", type=int, default=3, help="scanned PNGs to OCR (0 to skip)")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the second, clean interpreter
    args = parser.parse_args()
    if args.measure:
        measure(args.measure)
        return
    with tempfile.TemporaryDirectory(prefix="looma-resume-bench-") as folder:
        started = time.perf_counter()
        generate(Path(folder), args.files, args.ocr, args.seed)
        print(f"generated in {time.perf_counter() - started:.1f} s")
        subprocess.run([sys.executable, __file__, "--measure", folder], check=True)


if __name__ == "__main__":
    main()
