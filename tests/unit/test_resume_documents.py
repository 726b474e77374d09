"""Résumé files to text: reading order in PDFs, Word tables and headers, HTML, encodings, OCR, and
a typed error with its own slug for every file that cannot be read, zip batches included."""

from __future__ import annotations

import functools
import io
import os
import shutil
import unicodedata
import zipfile

import pypdfium2 as pdfium
import pytesseract
import pytest

from ai_services.resume_service import documents
from ai_services.resume_service.documents import (
    ArchiveTooLarge,
    CorruptFile,
    EmptyFile,
    FileTooLarge,
    Limits,
    NestedArchive,
    NoTextFound,
    PasswordProtected,
    ResumeFileError,
    TookTooLong,
    TooManyMembers,
    TooManyPages,
    TypeMismatch,
    UnsafePath,
    UnsupportedType,
    ZipBomb,
    extract_text,
    iter_archive,
)
from ai_services.resume_service.documents import limits as limits_module
from ai_services.resume_service.documents.normalise import normalise
from ai_services.resume_service.documents.pdf_layout import PageWords, Word, lay_out
from tests import resume_files
from tests.conftest import IN_CI
from tests.resume_files import ENGLISH, TEXTS

HAS_TESSERACT = shutil.which("tesseract") is not None


@pytest.fixture(autouse=True)
def _omp_thread_limit_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    """OCR sets OMP_THREAD_LIMIT=1 in the environment when unset; keep that from outliving a test."""
    monkeypatch.setenv("OMP_THREAD_LIMIT", os.environ.get("OMP_THREAD_LIMIT", "1"))


@functools.cache
def pdf(language: str, columns: int) -> bytes:
    return resume_files.resume_pdf(language, columns=columns)


@functools.cache
def docx(language: str) -> bytes:
    return resume_files.resume_docx(language)


def positions(text: str, lines: tuple[str, ...]) -> list[int]:
    found = []
    for line in lines:
        line = line.replace("pipe-", "pipe")  # the one hyphenated line end, joined again
        assert line in text, f"{line!r} missing from:\n{text}"
        found.append(text.index(line))
    return found


# PDF


@pytest.mark.parametrize("columns", [1, 2])
@pytest.mark.parametrize("language", ["en", "zh"])
def test_pdf_reads_the_sidebar_then_the_main_column(language: str, columns: int) -> None:
    resume = TEXTS[language]

    extracted = extract_text(pdf(language, columns), "resume.pdf")

    left = positions(extracted.text, resume.left)
    right = positions(extracted.text, resume.right[:3])
    assert left == sorted(left) and right == sorted(right)
    assert max(left) < min(right)
    assert (extracted.kind, extracted.pages, extracted.ocr) == ("pdf", 2, False)


def test_the_two_column_pdf_is_not_in_reading_order_inside_the_file() -> None:
    """What makes the test above worth having: the file draws the columns row by row."""
    document = pdfium.PdfDocument(pdf("en", 2))
    raw = document[0].get_textpage().get_text_range()

    assert raw.index(ENGLISH.right[0]) < raw.index(ENGLISH.left[-1])


@pytest.mark.parametrize("columns", [1, 2])
@pytest.mark.parametrize("language", ["en", "zh"])
def test_pdf_running_header_and_footer_appear_once_and_page_numbers_not_at_all(language: str, columns: int) -> None:
    resume = TEXTS[language]

    text = extract_text(pdf(language, columns), "resume.pdf").text

    assert text.count(resume.header) == 1 and text.startswith(resume.header)
    assert text.count(resume.footer) == 1 and text.endswith(resume.footer)
    assert resume.page_label.format(n=1, total=2) not in text
    assert resume.page_label.format(n=2, total=2) not in text


@pytest.mark.parametrize("language", ["en", "zh"])
def test_pdf_key_strings_come_out_exactly(language: str) -> None:
    resume = TEXTS[language]

    lines = extract_text(pdf(language, 2), "resume.pdf").text.splitlines()

    assert resume.name in lines
    assert resume.email in lines
    assert resume.school in lines
    assert any("清华大学" in line for line in lines)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_pdf_bullets_start_their_lines(language: str) -> None:
    """The PDFs draw "●" (English) and "◆" (Chinese); both come out as "• "."""
    resume = TEXTS[language]

    lines = extract_text(pdf(language, 2), "resume.pdf").text.splitlines()

    bullets = [line for line in (*resume.right, *resume.more) if line.startswith("• ")]
    for bullet in bullets:
        assert any(line.startswith(bullet.replace("pipe-", "pipe")) for line in lines), bullet


def test_pdf_english_words_hyphenated_at_a_line_end_are_joined() -> None:
    text = extract_text(pdf("en", 2), "resume.pdf").text

    assert "event-driven data pipeline processing two billion events a day." in text
    assert "pipe-" not in text
    assert "event-driven" in text  # a hyphen inside a line stays


def test_full_width_lines_cut_the_columns_into_bands() -> None:
    """A title above both columns and a section title across them: each band is read left, then right."""
    words = [Word("Title", 200, 400, 100, 112), Word("Section", 100, 450, 220, 232)]
    for band, top in ((1, 130), (2, 250)):
        for row in range(4):
            words.append(Word(f"L{band}{row}", 50, 200, top + 20 * row, top + 20 * row + 12))
            words.append(Word(f"R{band}{row}", 320, 500, top + 20 * row, top + 20 * row + 12))

    (text,) = lay_out([PageWords(600, 800, words)])

    assert text.split() == ["Title", "L10", "L11", "L12", "L13", "R10", "R11", "R12", "R13",
                            "Section", "L20", "L21", "L22", "L23", "R20", "R21", "R22", "R23"]


def test_one_column_lines_with_dates_on_the_right_stay_rows() -> None:
    """Paragraph lines cross every gap between a title and its date, so no gutter is found."""
    words = []
    for row in range(6):
        top = 100 + 40 * row
        words += [Word(f"Title{row}", 50, 150, top, top + 12), Word(f"20{row}0", 480, 540, top, top + 12),
                  Word(f"Paragraph{row}", 50, 540, top + 18, top + 30)]

    (text,) = lay_out([PageWords(600, 800, words)])

    assert text.splitlines()[:3] == ["Title0\t2000", "Paragraph0", "Title1\t2010"]


def test_chinese_words_keep_the_space_between_them() -> None:
    text = extract_text(pdf("zh", 1), "resume.pdf").text

    assert "计算机科学与技术 本科" in text.splitlines()


# DOCX, HTML, text


@pytest.mark.parametrize("language", ["en", "zh"])
def test_docx_layout_table_is_read_cell_by_cell_with_header_and_footer_once(language: str) -> None:
    resume = TEXTS[language]

    extracted = extract_text(docx(language), "resume.docx")
    lines = extracted.text.splitlines()

    assert extracted.kind == "docx" and extracted.pages is None
    assert lines[0] == resume.header and lines[-1] == resume.footer
    assert extracted.text.count(resume.header) == 1 and extracted.text.count(resume.footer) == 1
    left = positions(extracted.text, resume.left)
    right = positions(extracted.text, resume.right[:3])
    assert left == sorted(left) and max(left) < min(right)
    assert resume.school in lines and resume.email in lines


def test_docx_data_tables_are_one_line_per_row_and_list_items_have_bullets() -> None:
    lines = extract_text(docx("en"), "resume.docx").text.splitlines()

    assert "Period | Company | Title" in lines
    assert "2019 - present | Acme Cloud | Senior Backend Engineer" in lines
    assert "Team lead | 2018" in lines  # the table nested in a cell
    assert "• Led the migration of the billing" in lines
    assert "• Taught SQL to forty nonprofit analysts." in lines
    assert "Employment history" in lines and "PROJECTS" in lines


def test_html_gives_visible_text_one_block_a_line() -> None:
    extracted = extract_text(resume_files.resume_html(), "resume.html")
    lines = extracted.text.splitlines()

    assert (extracted.kind, extracted.encoding) == ("html", "utf-8")
    for hidden in ("SCRIPT-TEXT", "STYLE-TEXT", "HIDDEN-TEXT", "INVISIBLE-TEXT", "NOSCRIPT-TEXT", "TEMPLATE-TEXT"):
        assert hidden not in extracted.text
    assert lines[:3] == ["张伟", "邮箱：zhang.wei@example.cn", "电话：138 0013 8000"]
    assert "清华大学" in lines and "计算机科学与技术 本科" in lines
    assert "• 主导计费平台迁移到 Kubernetes" in lines
    assert "时间 | 公司" in lines and "2019 - 至今 | 星云科技" in lines


def test_html_nested_too_deep_is_refused_before_parsing() -> None:
    page = "<html><body>" + "<div>" * 6_000 + "Alice" + "</div>" * 6_000 + "</body></html>"

    with pytest.raises(CorruptFile, match="nested 6,000 deep"):
        extract_text(page.encode(), "resume.html")
    assert extract_text(page.encode(), "resume.html", limits=Limits(max_html_depth=6_000)).text == "Alice"


def test_html_in_gbk_is_decoded_as_its_meta_charset_says() -> None:
    page = '<html><head><meta charset="gb2312"></head><body><p>张伟</p><p>清华大学</p></body></html>'

    extracted = extract_text(page.encode("gbk"), "resume.htm")

    assert (extracted.text, extracted.encoding) == ("张伟\n清华大学", "gb18030")


@pytest.mark.parametrize(("encoding", "detected"), [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"),
                                                     ("gbk", "gb18030"), ("utf-16", "utf-16")])
def test_text_files_are_decoded_whatever_their_encoding(encoding: str, detected: str) -> None:
    extracted = extract_text(resume_files.resume_text(encoding), "简历.txt")

    assert (extracted.kind, extracted.encoding, extracted.pages) == ("text", detected, None)
    assert extracted.text == resume_files.CHINESE_TEXT.strip()  # no BOM, no "\r"


def test_a_short_gbk_file_is_read_as_chinese() -> None:
    """charset-normalizer alone ranks UTF-16 first for so few bytes; ties go to GB18030."""
    extracted = extract_text("张伟 清华大学 本科".encode("gbk"), None)

    assert (extracted.text, extracted.encoding) == ("张伟 清华大学 本科", "gb18030")


def test_text_is_normalised() -> None:
    text = normalise("  Re\u0301sume\u0301\r\nline\rtwo\x00\n\n\n\n▪ item\n\uf0b7\tsymbol bullet   \n\ufeffend\n\n")

    assert text == "Résumé\nline\ntwo\n\n• item\n• symbol bullet\nend"
    assert unicodedata.is_normalized("NFC", text)


def test_blank_line_runs_collapse_in_extracted_text() -> None:
    assert extract_text(resume_files.english_text(), None).text == (
        "Alice Chen\nalice.chen@example.com\n\nExperience\nSenior Backend Engineer at Acme Cloud\n"
        "Built the billing platform.")


# OCR: exactly one branch runs, chosen by whether Tesseract is installed


@pytest.mark.parametrize("make", [resume_files.scanned_png, functools.partial(resume_files.scanned_png, jpeg=True),
                                  resume_files.scanned_pdf], ids=["png", "jpeg", "image-only-pdf"])
def test_images_and_scanned_pdfs_are_read_by_ocr_or_refused_naming_tesseract(make) -> None:
    assert HAS_TESSERACT or not IN_CI, "CI=true: tesseract must be installed (tesseract-ocr, tesseract-ocr-chi-sim)"
    data = make()
    if HAS_TESSERACT:
        extracted = extract_text(data, None)

        assert extracted.ocr is True
        assert "Senior Backend Engineer" in extracted.text
        assert "Kubernetes" in extracted.text
        assert "清华大学" in extracted.text
    else:
        with pytest.raises(NoTextFound, match="tesseract-ocr and tesseract-ocr-chi-sim") as caught:
            extract_text(data, None)

        assert caught.value.slug == "no-text-found"


def test_without_tesseract_the_error_names_the_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")

    for data in (resume_files.scanned_png(), resume_files.scanned_pdf()):
        with pytest.raises(NoTextFound) as caught:
            extract_text(data, None)

        assert "OCR needs Tesseract (Debian packages tesseract-ocr and tesseract-ocr-chi-sim)" in str(caught.value)


# Refusals


BAD_FILES = {
    "empty": (lambda: b"", "resume.pdf", EmptyFile, "empty-file"),
    "binary garbage": (resume_files.garbage, "resume.txt", UnsupportedType, "unsupported-type"),
    "binary garbage, no name": (resume_files.garbage, None, UnsupportedType, "unsupported-type"),
    "executable": (resume_files.executable, "resume.exe", UnsupportedType, "unsupported-type"),
    "a PNG named .pdf": (resume_files.scanned_png, "resume.pdf", TypeMismatch, "type-mismatch"),
    "a zip named .docx": (resume_files.zip_without_document, "resume.docx", TypeMismatch, "type-mismatch"),
    "a PDF named .docx": (lambda: pdf("en", 1), "resume.docx", TypeMismatch, "type-mismatch"),
    "truncated PDF": (resume_files.truncated_pdf, "resume.pdf", CorruptFile, "corrupt-file"),
    "garbled PDF": (resume_files.garbled_pdf, "resume.pdf", CorruptFile, "corrupt-file"),
    "broken DOCX zip": (resume_files.truncated_docx, "resume.docx", CorruptFile, "corrupt-file"),
    "encrypted PDF": (resume_files.encrypted_pdf, "resume.pdf", PasswordProtected, "password-protected"),
    "encrypted DOCX": (resume_files.encrypted_docx, "resume.docx", PasswordProtected, "password-protected"),
    "31 pages": (lambda: resume_files.long_pdf(31), "resume.pdf", TooManyPages, "too-many-pages"),
    "a bare zip": (resume_files.resume_archive, None, UnsupportedType, "unsupported-type"),
}


@pytest.mark.parametrize("case", BAD_FILES, ids=list(BAD_FILES))
def test_every_bad_file_raises_its_own_typed_error(case: str) -> None:
    make, filename, error, slug = BAD_FILES[case]

    with pytest.raises(error) as caught:
        extract_text(make(), filename)

    assert caught.value.slug == slug
    assert isinstance(caught.value, ResumeFileError) and 400 <= caught.value.status < 500
    assert caught.value.problem()["type"] == f"urn:looma:problem:{slug}"


def test_a_file_over_the_byte_limit_is_refused_before_it_is_read() -> None:
    with pytest.raises(FileTooLarge) as caught:
        extract_text(b"x" * 101, "resume.txt", limits=Limits(max_bytes=100))

    assert (caught.value.slug, caught.value.status, caught.value.extra["limit"]) == ("file-too-large", 413, 100)
    assert Limits().max_bytes == 10 * 1024 * 1024


def test_an_image_only_pdf_without_ocr_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")

    with pytest.raises(NoTextFound, match="images without a text layer"):
        extract_text(resume_files.scanned_pdf(), "scan.pdf")


def test_a_scanned_page_among_text_pages_is_ocred_or_skipped_with_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    data = resume_files.mixed_pdf()
    if HAS_TESSERACT:
        extracted = extract_text(data, "mixed.pdf")

        assert extracted.ocr and "Kubernetes" in extracted.text and ENGLISH.more[1] in extracted.text
        assert "page(s) 2 had no text layer and were read by OCR" in extracted.warnings
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")

    extracted = extract_text(data, "mixed.pdf")

    assert not extracted.ocr and ENGLISH.more[1] in extracted.text and "Kubernetes" not in extracted.text
    assert any("page(s) 2" in warning and "tesseract-ocr-chi-sim" in warning for warning in extracted.warnings)


def test_slugs_are_distinct_and_every_error_is_a_resume_file_error() -> None:
    errors = [getattr(documents, name) for name in documents.__all__
              if isinstance(getattr(documents, name), type) and issubclass(getattr(documents, name), Exception)]

    assert all(issubclass(error, ResumeFileError) for error in errors)
    slugs = [error.slug for error in errors if error is not ResumeFileError]
    assert len(slugs) == len(set(slugs)) == 14


def test_the_public_api_is_what_all_names() -> None:
    assert all(hasattr(documents, name) for name in documents.__all__)
    assert len(documents.__all__) == len(set(documents.__all__))


@pytest.mark.parametrize(("filename", "kind"), [(None, "pdf"), ("RESUME.PDF", "pdf"), ("resume", "pdf"),
                                                 ("resume.doc", "pdf"), ("cv.v2.final.pdf", "pdf")])
def test_the_content_decides_and_an_unknown_extension_is_fine(filename: str | None, kind: str) -> None:
    assert extract_text(pdf("en", 1), filename).kind == kind


def test_html_named_txt_is_kept_as_text_and_a_jpeg_named_png_is_an_image() -> None:
    assert extract_text(resume_files.resume_html(), "resume.txt").kind == "text"
    if HAS_TESSERACT:
        assert extract_text(resume_files.scanned_png(jpeg=True), "photo.png").kind == "image"


# Time


def test_a_deadline_of_zero_stops_a_multi_page_pdf() -> None:
    with pytest.raises(TookTooLong) as caught:
        extract_text(resume_files.long_pdf(5), "resume.pdf", limits=Limits(max_seconds=0.0))

    assert caught.value.slug == "took-too-long"


def test_the_deadline_is_checked_between_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """A clock that moves one second each time it is read: with 6.5 s, reading stops at a page."""

    class Clock:
        now = 0.0

        def monotonic(self) -> float:
            self.now += 1.0
            return self.now

    monkeypatch.setattr(limits_module, "time", Clock())

    with pytest.raises(TookTooLong, match=r"stopped at page \d+ of 10"):
        extract_text(resume_files.long_pdf(10), "resume.pdf", limits=Limits(max_seconds=6.5))


# Archives


def test_an_archive_yields_its_resumes_and_skips_folders_and_mac_metadata() -> None:
    members = list(iter_archive(resume_files.resume_archive()))

    assert [member.name for member in members] == ["resumes/alice.pdf", "resumes/张伟.txt"]
    assert extract_text(members[0].data, members[0].name).kind == "pdf"


def test_gbk_member_names_from_windows_are_decoded() -> None:
    (member,) = iter_archive(resume_files.zip_with_gbk_name())

    assert member.name == "张伟简历.txt"


def test_a_zip_bomb_is_refused() -> None:
    with pytest.raises(ZipBomb) as caught:
        list(iter_archive(resume_files.zip_bomb()))

    assert caught.value.slug == "zip-bomb"


def test_a_member_bigger_than_its_headers_say_is_refused() -> None:
    data = resume_files.zip_understating_size()
    assert zipfile.ZipFile(io.BytesIO(data)).infolist()[0].file_size == 100

    with pytest.raises(CorruptFile):
        list(iter_archive(data))


def test_the_ratio_is_checked_while_reading_when_the_headers_hide_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the declared-size check switched off, the bytes read still trip the ratio."""
    from ai_services.resume_service.documents import archive

    monkeypatch.setattr(archive, "check_declared_sizes", lambda infos, limits: None)

    with pytest.raises(ZipBomb):
        list(iter_archive(resume_files.zip_bomb()))


@pytest.mark.parametrize("name", ["../evil.txt", "resumes/../../evil.txt", "/etc/cron.d/evil", "C:/evil.txt",
                                  "C:\\Windows\\evil.txt", "..\\evil.txt"])
def test_path_traversal_names_refuse_the_archive(name: str) -> None:
    with pytest.raises(UnsafePath) as caught:
        list(iter_archive(resume_files.zip_with_names("ok.txt", name)))

    assert caught.value.slug == "unsafe-path"


def test_nested_archives_and_encrypted_members_are_refused() -> None:
    with pytest.raises(NestedArchive):
        list(iter_archive(resume_files.nested_zip()))
    with pytest.raises(PasswordProtected):
        list(iter_archive(resume_files.zip_with_encrypted_member()))


def test_a_docx_inside_an_archive_is_not_a_nested_archive() -> None:
    (member,) = iter_archive(resume_files._zip({"alice.docx": docx("en")}))

    assert extract_text(member.data, member.name).kind == "docx"


def test_archive_limits_on_members_and_unpacked_size() -> None:
    with pytest.raises(TooManyMembers):
        list(iter_archive(resume_files.zip_of(5), Limits(max_members=4)))
    assert len(list(iter_archive(resume_files.zip_of(4), Limits(max_members=4)))) == 4
    with pytest.raises(ArchiveTooLarge):
        list(iter_archive(resume_files.resume_archive(), Limits(max_archive_bytes=10_000)))
    assert Limits().max_members == 1_000 and Limits().max_archive_bytes == 200 * 1024 * 1024

