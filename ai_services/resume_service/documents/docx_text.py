"""Word résumés (.docx): body in document order, tables row by row, headers and footers once.

python-docx opens the package and parses its parts; the text is then read from the XML directly,
because résumé templates put text where python-docx's `paragraphs` and `tables` do not look:
inside content controls (w:sdt), text boxes (w:txbxContent, stored twice: once for Word 2010+
and once as a VML fallback, of which only the first is read), and tables nested in cells.

Tables are of two kinds in résumés. A data table (period | company | title) has one line per
cell and reads best as one line per row, cells joined by " | ". A layout table (a sidebar cell
beside a main cell, each with many paragraphs) must be read cell by cell, or every line of the
sidebar would be glued to a line of the main column. A row with any multi-line cell is read the
second way. Paragraphs numbered as lists (their own w:numPr or their style's) start with "• ".
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field, replace

from docx import Document as open_docx
from docx.document import Document as WordDocument
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml.ns import qn
from lxml import etree

from ai_services.resume_service.documents.archive import check_declared_sizes
from ai_services.resume_service.documents.errors import CorruptFile, NoTextFound
from ai_services.resume_service.documents.limits import Deadline, Limits

_P, _TBL, _SDT, _SDT_CONTENT = qn("w:p"), qn("w:tbl"), qn("w:sdt"), qn("w:sdtContent")
_TR, _TC, _TXBX = qn("w:tr"), qn("w:tc"), qn("w:txbxContent")
_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_CHARS = {qn("w:tab"): "\t", qn("w:br"): "\n", qn("w:cr"): "\n", qn("w:noBreakHyphen"): "-"}
_SKIP = frozenset({qn("w:del"), qn("w:instrText"), qn("w:delText"), qn("w:fldData"), _FALLBACK})


@dataclass
class DocxText:
    text: str
    warnings: list[str] = field(default_factory=list)


def read_docx(data: bytes, limits: Limits, deadline: Deadline) -> DocxText:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            check_declared_sizes(package.infolist(), replace(limits, max_archive_bytes=limits.max_unpacked_bytes))
        document = open_docx(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError) as error:
        raise CorruptFile("DOCX", f"the zip container cannot be read ({error})") from None
    except Exception as error:  # noqa: BLE001 - whatever python-docx or lxml raise, the package is unreadable
        raise CorruptFile("DOCX", f"python-docx cannot open it ({type(error).__name__})") from None
    reader = _Reader(_list_styles(document), deadline)
    headers: list[str] = []
    footers: list[str] = []
    for section in document.sections:
        parts = [(section.header, headers), (section.footer, footers)]
        if section.different_first_page_header_footer:
            parts += [(section.first_page_header, headers), (section.first_page_footer, footers)]
        if document.settings.odd_and_even_pages_header_footer:
            parts += [(section.even_page_header, headers), (section.even_page_footer, footers)]
        for part, into in parts:
            if part.is_linked_to_previous:
                continue
            for line in reader.blocks(part._element):
                if line.strip() and line not in into:  # every section repeats them: keep each once
                    into.append(line)
    body = reader.blocks(document.element.body)
    text = "\n".join([*headers, *body, *footers])
    if not text.strip():
        raise NoTextFound("the Word document has no text (only images or shapes?)")
    return DocxText(text)


def _list_styles(document: WordDocument) -> frozenset[str]:
    """Ids of paragraph styles that number their paragraphs, directly or through `basedOn`."""
    numbered: dict[str, bool] = {}
    based_on: dict[str, str] = {}
    for style in document.styles:
        if style.type != WD_STYLE_TYPE.PARAGRAPH:
            continue
        p_pr = style.element.pPr
        numbered[style.style_id] = p_pr is not None and _numbers(p_pr.find(qn("w:numPr")))
        if style.base_style is not None:
            based_on[style.style_id] = style.base_style.style_id
    result = set()
    for style_id in numbered:
        seen, current = set(), style_id
        while current is not None and current not in seen:
            if numbered.get(current):
                result.add(style_id)
                break
            seen.add(current)
            current = based_on.get(current)
    return frozenset(result)


def _numbers(num_pr: etree._Element | None) -> bool:
    """A w:numPr numbers a paragraph unless it has no numId or numId 0 ("numbering removed")."""
    if num_pr is None:
        return False
    num_id = num_pr.find(qn("w:numId"))
    return num_id is not None and num_id.get(qn("w:val")) not in (None, "0")


class _Reader:
    """Walks block content (body, header, cell, text box) into lines, checking the deadline per block."""

    def __init__(self, list_styles: frozenset[str], deadline: Deadline) -> None:
        self.list_styles = list_styles
        self.deadline = deadline

    def blocks(self, parent: etree._Element) -> list[str]:
        lines: list[str] = []
        for child in parent.iterchildren():
            self.deadline.check("a Word paragraph")
            if child.tag == _P:
                lines += self.paragraph(child)
            elif child.tag == _TBL:
                lines += self.table(child)
            elif child.tag == _SDT:
                content = child.find(_SDT_CONTENT)
                if content is not None:
                    lines += self.blocks(content)
        return lines

    def paragraph(self, p: etree._Element) -> list[str]:
        parts: list[str] = []
        boxes: list[etree._Element] = []
        _collect(p, parts, boxes)
        text = "".join(parts).strip()
        lines = [("• " + text if self._is_list_item(p) else text)] if text else []
        for box in boxes:
            lines += self.blocks(box)
        return lines

    def table(self, tbl: etree._Element) -> list[str]:
        lines: list[str] = []
        for tr in tbl.iterchildren(_TR):
            cells = [self.blocks(tc) for tc in tr.iterchildren(_TC)]
            cells = [cell for cell in cells if cell]
            if all(len(cell) == 1 for cell in cells):
                if cells:
                    lines.append(" | ".join(cell[0] for cell in cells))
            else:
                for cell in cells:
                    lines += cell
        return lines

    def _is_list_item(self, p: etree._Element) -> bool:
        p_pr = p.find(qn("w:pPr"))
        if p_pr is None:
            return False
        if _numbers(p_pr.find(qn("w:numPr"))):
            return True
        style = p_pr.find(qn("w:pStyle"))
        return style is not None and style.get(qn("w:val")) in self.list_styles


def _collect(element: etree._Element, parts: list[str], boxes: list[etree._Element]) -> None:
    """The paragraph's own characters into `parts`; text boxes it anchors into `boxes`, unread."""
    for child in element.iterchildren():
        tag = child.tag
        if not isinstance(tag, str) or tag in _SKIP:
            continue
        if tag == _TXBX:
            boxes.append(child)
        elif tag == qn("w:t"):
            parts.append(child.text or "")
        elif tag in _CHARS:
            parts.append(_CHARS[tag])
        else:
            _collect(child, parts, boxes)
