"""Reading text from pictures of pages with Tesseract (chi_sim+eng), when the machine has it.

Tesseract is a program, not a Python package: pytesseract runs it as a subprocess. Whether it is
installed, and with which languages, is asked once per process (and per configured command) and
remembered. Without it, callers raise NoTextFound naming the Debian packages to install.

Each call gets the deadline's remaining seconds as pytesseract's `timeout`, after which the
Tesseract process is killed: a huge or hostile image costs at most the file's time budget.
Tesseract runs with OMP_THREAD_LIMIT=1 unless the environment already sets it. With OpenMP's
default of one thread per core, a dense A4 page at 300 dpi took 20.8 s on two busy cores, and
4.4 s with one thread (docs/benchmarks.md): its threads spin waiting for each other when the
cores are shared. pytesseract passes this process's environment to Tesseract, so the default is
set there, once, when the first page is read; a deployment that wants otherwise sets the variable.

Tesseract lays out the page itself (blocks, paragraphs, lines, in reading order, columns
included), so its lines are used as they come; words of Chinese are joined without the spaces
it puts between characters.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass, field

import pytesseract
from PIL import Image

from ai_services.resume_service.documents.errors import NoTextFound, TookTooLong
from ai_services.resume_service.documents.limits import Deadline
from ai_services.resume_service.documents.normalise import is_cjk

LANGUAGES = ("chi_sim", "eng")


@dataclass
class OcrText:
    text: str
    warnings: list[str] = field(default_factory=list)


def available() -> bool:
    return bool(languages())


def languages() -> tuple[str, ...]:
    """The wanted languages Tesseract has here, in the order they are passed to it; () without Tesseract."""
    return _languages(pytesseract.pytesseract.tesseract_cmd)


@functools.cache
def _languages(command: str) -> tuple[str, ...]:
    if shutil.which(command) is None:
        return ()
    try:
        listed = subprocess.run([command, "--list-langs"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return ()
    installed = {line.strip() for line in listed.stdout.splitlines()[1:]}
    return tuple(language for language in LANGUAGES if language in installed)


def read_image(image: Image.Image, deadline: Deadline, where: str) -> OcrText:
    """The text of one page image, lines in Tesseract's reading order and blocks split by blank lines."""
    found = languages()
    warnings = []
    if "chi_sim" not in found:
        warnings.append("OCR ran without Chinese: install the Debian package tesseract-ocr-chi-sim")
    if "eng" not in found:
        warnings.append("OCR ran without English: install the Debian package tesseract-ocr-eng")
    deadline.check(where)
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # see the module docstring
    try:
        data = pytesseract.image_to_data(image.convert("L"), lang="+".join(found), config="--psm 3",
                                         timeout=max(deadline.remaining(), 0.01),
                                         output_type=pytesseract.Output.DICT)
    except RuntimeError as error:
        if "timeout" in str(error).lower():
            raise TookTooLong(deadline.seconds, where) from None
        raise NoTextFound(f"Tesseract failed during {where}: {error}") from None
    return OcrText(_lines(data), warnings)


def _lines(data: dict[str, list]) -> str:
    lines: dict[tuple[int, int, int], list[tuple[str, int, int, int]]] = {}
    for level, block, paragraph, line, text, left, width, height in zip(
            data["level"], data["block_num"], data["par_num"], data["line_num"], data["text"],
            data["left"], data["width"], data["height"]):
        word = str(text).strip()
        if level == 5 and word:
            lines.setdefault((block, paragraph, line), []).append((word, left, left + width, height))
    out: list[str] = []
    previous_block = None
    for (block, _, _), words in lines.items():
        if previous_block is not None and block != previous_block:
            out.append("")
        out.append(join_words(words))
        previous_block = block
    return "\n".join(out)


def join_words(words: list[tuple[str, int, int, int]]) -> str:
    """Words (text, left, right, height) with spaces between them, except between two Chinese or
    Japanese characters closer than half a character: Tesseract reports each character as a word,
    but those scripts are written without spaces (Korean, which has them, is not in the set)."""
    text, _, right, _ = words[0]
    for word, left, new_right, height in words[1:]:
        close = left - right < 0.5 * height
        text += word if close and is_cjk(text[-1]) and is_cjk(word[0]) else " " + word
        right = new_right
    return text
