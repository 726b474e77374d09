"""Résumé files made on the spot, good and broken, for the document extraction tests and benchmark.

Every file is built from fixed text, so a test can name the lines it expects and their order:

    resume_pdf("zh", columns=2)      # 张伟, 清华大学, a sidebar and a main column, running header/footer
    resume_docx()                    # header, footer, a layout table, a data table, a nested table, bullets
    scanned_png()                    # text drawn into an image: only OCR can read it
    zip_bomb()                       # a member that inflates far beyond its compressed size

PDFs are drawn line by line at fixed positions (not wrapped by fpdf2) so the column layout, the
bullets and the one hyphenated English line end are exactly where the tests say they are. Chinese
and English both use WenQuanYi Zen Hei (Debian's fonts-wqy-zenhei), which has Latin, CJK and "•".
"""

from __future__ import annotations

import io
import random
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

from docx import Document
from docx.shared import Pt
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont
from pypdf import PdfReader, PdfWriter

FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
PASSWORD = "s3cret"


@dataclass(frozen=True)
class ResumeText:
    """One candidate's résumé: a sidebar (left column) and a main column, plus running header/footer."""

    name: str
    email: str
    school: str
    header: str
    footer: str
    page_label: str  # footer page number, with {n} and {total}
    left: tuple[str, ...]
    right: tuple[str, ...]
    more: tuple[str, ...]  # the main column of every page after the first


ENGLISH = ResumeText(
    name="Alice Chen",
    email="alice.chen@example.com",
    school="Tsinghua University 清华大学",
    header="Alice Chen - Curriculum Vitae",
    footer="Confidential resume",
    page_label="Page {n} of {total}",
    left=(
        "CONTACT",
        "alice.chen@example.com",
        "+86 138 0013 8000",
        "Beijing, China",
        "SKILLS",
        "Python, Go, SQL",
        "Kubernetes, Kafka",
        "EDUCATION",
        "Tsinghua University 清华大学",
        "B.Eng. Computer Science",
        "LANGUAGES",
        "English, Mandarin",
    ),
    right=(
        "EXPERIENCE",
        "Senior Backend Engineer, Acme Cloud",
        "2019 - present",
        "• Led the migration of the billing",
        "platform to Kubernetes in six months.",
        "• Designed the event-driven data pipe-",
        "line processing two billion events a day.",
        "Backend Engineer, Northwind Games",
        "2016 - 2019",
        "• Built the matchmaking service in Go.",
        "• Mentored four junior engineers.",
    ),
    more=(
        "PROJECTS",
        "Open-source search engine for job posts",
        "• Ranked postings with BM25 and embeddings.",
        "• Served three thousand queries a second.",
        "Volunteer data teacher, Code for Beijing",
        "• Taught SQL to forty nonprofit analysts.",
    ),
)

CHINESE = ResumeText(
    name="张伟",
    email="zhang.wei@example.cn",
    school="清华大学",
    header="张伟 · 个人简历",
    footer="本简历仅供招聘使用",
    page_label="第 {n} 页 / 共 {total} 页",
    left=(
        "联系方式",
        "zhang.wei@example.cn",
        "电话：138 0013 8000",
        "北京市海淀区",
        "教育背景",
        "清华大学",
        "计算机科学与技术 本科",
        "专业技能",
        "Python、Go、SQL",
        "语言能力",
        "英语六级",
    ),
    right=(
        "工作经历",
        "高级后端工程师 · 星云科技",
        "2019 年至今",
        "• 主导计费平台迁移到 Kubernetes",
        "• 设计日处理二十亿事件的数据管道",
        "后端工程师 · 北风游戏",
        "2016 年 - 2019 年",
        "• 用 Go 构建匹配服务",
        "• 指导四名初级工程师",
    ),
    more=(
        "项目经历",
        "招聘搜索引擎（开源）",
        "• 使用 BM25 与向量检索对职位排序",
        "• 每秒处理三千次查询",
        "志愿者 · 北京公益编程",
        "• 为四十名公益组织分析师讲授 SQL",
    ),
)

TEXTS = {"en": ENGLISH, "zh": CHINESE}


class _ResumePdf(FPDF):
    """A page with the running header at the top and the footer (label and page number) at the bottom."""

    def __init__(self, text: ResumeText) -> None:
        super().__init__(format="A4", unit="mm")
        self.text = text
        self.set_auto_page_break(False)
        self.add_font("wqy", fname=str(FONT))
        self.alias_nb_pages("{total}")

    def header(self) -> None:
        self.set_font("wqy", size=9)
        self.set_xy(15, 8)
        self.cell(180, 5, self.text.header, align="C")
        self.line(15, 14, 195, 14)

    def footer(self) -> None:
        self.set_font("wqy", size=8)
        self.set_xy(15, 284)
        self.cell(90, 5, self.text.footer)
        self.set_xy(105, 284)
        self.cell(90, 5, self.text.page_label.format(n=self.page_no(), total="{total}"), align="R")


def resume_pdf(language: str = "en", *, columns: int = 1, pages: int = 2) -> bytes:
    """A text PDF résumé: page 1 has the name, then the sidebar and main column (side by side when
    `columns` is 2, one after the other when 1); later pages carry the `more` lines. Bullets are
    drawn as "●" (English) or "◆" (Chinese)."""
    text = TEXTS[language]
    bullet = "●" if language == "en" else "◆"  # the font has no "•"; the extractor writes both as "• "
    pdf = _ResumePdf(text)
    for page in range(pages):
        pdf.add_page()
        y = 20.0
        if page == 0:
            pdf.set_font("wqy", size=18)
            pdf.set_xy(15, y)
            pdf.cell(180, 9, text.name)
            y += 14
        pdf.set_font("wqy", size=10)
        if page > 0:
            _lines(pdf, 15, y, 180, text.more, bullet)
        elif columns == 2:
            _side_by_side(pdf, y, text.left, text.right, bullet)
        else:
            y = _lines(pdf, 15, y, 180, text.left, bullet) + 4
            _lines(pdf, 15, y, 180, text.right, bullet)
    return bytes(pdf.output())


def _lines(pdf: FPDF, x: float, y: float, width: float, lines: tuple[str, ...], bullet: str = "●") -> float:
    for line in lines:
        pdf.set_xy(x, y)
        pdf.cell(width, 5.5, line.replace("• ", bullet + " "))
        y += 6.5
    return y


def _side_by_side(pdf: FPDF, y: float, left: tuple[str, ...], right: tuple[str, ...], bullet: str) -> None:
    """Both columns drawn row by row, alternating, as many generators write them: the order in the
    file is then left, right, left, right, and only the positions say which column a line is in."""
    for i in range(max(len(left), len(right))):
        for x, width, lines in ((15, 75, left), (105, 90, right)):
            if i < len(lines):
                _lines(pdf, x, y + i * 6.5, width, (lines[i],), bullet)


def long_pdf(pages: int, language: str = "en") -> bytes:
    """A PDF of `pages` pages, each with a few lines: for the page limit and the deadline."""
    text = TEXTS[language]
    pdf = _ResumePdf(text)
    for page in range(pages):
        pdf.add_page()
        pdf.set_font("wqy", size=10)
        _lines(pdf, 15, 20, 180, (f"{text.name} {page + 1}", *text.more))
    return bytes(pdf.output())


def resume_lines(language: str = "en") -> list[str]:
    """The résumé's lines in reading order (name, sidebar, main column), for drawing into images."""
    text = TEXTS[language]
    return [text.name, *text.left, *text.right]


def scanned_png(lines: list[str] | None = None, *, jpeg: bool = False) -> bytes:
    """Black text on white at about 200 dpi, as a scanner or a phone photo of a page would give."""
    image = _page_image(lines or ["Alice Chen", "Senior Backend Engineer", "Experience with Python and Kubernetes",
                                  "清华大学 计算机科学与技术"])
    out = io.BytesIO()
    image.save(out, format="JPEG" if jpeg else "PNG")
    return out.getvalue()


def scanned_pdf(lines: list[str] | None = None) -> bytes:
    """A PDF whose one page is only an image of text: no text layer, so only OCR reads it."""
    image = _page_image(lines or ["Alice Chen", "Senior Backend Engineer", "Experience with Python and Kubernetes",
                                  "清华大学 计算机科学与技术"])
    pdf = FPDF(format="A4", unit="mm")
    pdf.add_page()
    pdf.image(image, x=0, y=0, w=210)
    return bytes(pdf.output())


def mixed_pdf() -> bytes:
    """Page 1 a text résumé page (no Kubernetes on it), page 2 a scan: only that page needs OCR."""
    writer = PdfWriter()
    for part in (long_pdf(1), scanned_pdf()):
        writer.append(PdfReader(io.BytesIO(part)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _page_image(lines: list[str]) -> Image.Image:
    image = Image.new("L", (1654, 200 + 90 * len(lines)), color=255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONT), 48, index=0)
    for i, line in enumerate(lines):
        draw.text((120, 100 + i * 90), line, font=font, fill=0)
    return image


def resume_docx(language: str = "en") -> bytes:
    """A Word résumé laid out the way templates do it: header and footer (a second section repeats
    them), the name, a one-row layout table (sidebar | main column), a data table with a nested
    table in one cell, and bulleted list paragraphs."""
    text = TEXTS[language]
    document = Document()
    document.styles["Normal"].font.size = Pt(10)
    section = document.sections[0]
    section.header.paragraphs[0].text = text.header
    section.footer.paragraphs[0].text = text.footer

    document.add_heading(text.name, level=1)
    layout = document.add_table(rows=1, cols=2)
    sidebar, main = layout.rows[0].cells
    sidebar.paragraphs[0].text = text.left[0]
    for line in text.left[1:]:
        sidebar.add_paragraph(line)
    main.paragraphs[0].text = text.right[0]
    for line in text.right[1:]:
        if line.startswith("• "):
            main.add_paragraph(line[2:], style="List Bullet")
        else:
            main.add_paragraph(line)

    document.add_paragraph("Employment history" if language == "en" else "工作年表")
    history = document.add_table(rows=3, cols=3)
    rows = [("Period", "Company", "Title"), ("2019 - present", "Acme Cloud", "Senior Backend Engineer"),
            ("2016 - 2019", "Northwind Games", "Backend Engineer")]
    for row, values in zip(history.rows, rows):
        for cell, value in zip(row.cells, values):
            cell.text = value
    nested = history.rows[2].cells[2].add_table(rows=1, cols=2)
    nested.rows[0].cells[0].text = "Team lead"
    nested.rows[0].cells[1].text = "2018"

    second = document.add_section()
    second.header.is_linked_to_previous = False
    second.header.paragraphs[0].text = text.header  # the same header again: kept once
    document.add_paragraph(text.more[0])
    for line in text.more[1:]:
        if line.startswith("• "):
            document.add_paragraph(line[2:], style="List Bullet")
        else:
            document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def resume_html() -> bytes:
    """A saved web page: scripts, styles and hidden parts that must not show, lists, a table, <br>."""
    return """<!DOCTYPE html>
<html lang="zh"><head><meta charset="utf-8"><title>张伟 - 简历</title>
<style>.x { color: red } body::before { content: "STYLE-TEXT" }</style>
<script>var tracking = "SCRIPT-TEXT";</script></head>
<body>
<h1>张伟</h1><p>邮箱：<a href="mailto:zhang.wei@example.cn">zhang.wei@example.cn</a><br>电话：138 0013 8000</p>
<div hidden>HIDDEN-TEXT</div><div style="display: none">INVISIBLE-TEXT</div>
<h2>教育背景</h2><div>清华大学</div><div><span>计算机科学与技术</span> <span>本科</span></div>
<h2>工作经历</h2><ul><li>主导计费平台迁移到 Kubernetes</li><li>设计数据管道</li></ul>
<table><tr><th>时间</th><th>公司</th></tr><tr><td>2019 - 至今</td><td>星云科技</td></tr></table>
<noscript>NOSCRIPT-TEXT</noscript><template>TEMPLATE-TEXT</template>
</body></html>""".encode()


CHINESE_TEXT = """张伟
邮箱：zhang.wei@example.cn  电话：138 0013 8000
教育背景
清华大学  计算机科学与技术  本科  2012 年 - 2016 年
工作经历
星云科技  高级后端工程师  2019 年至今
负责计费平台的架构设计与迁移，带领五人团队完成 Kubernetes 改造，成本降低百分之三十。
北风游戏  后端工程师  2016 年 - 2019 年
使用 Go 语言构建匹配服务，支撑日活跃用户两百万。
"""


def resume_text(encoding: str = "utf-8") -> bytes:
    """The Chinese résumé as plain text in `encoding` ("utf-8", "utf-8-sig", "gbk", "utf-16"), CRLF line ends."""
    return CHINESE_TEXT.replace("\n", "\r\n").encode(encoding)


def english_text() -> bytes:
    return (b"Alice Chen\nalice.chen@example.com\n\n\n\nExperience\nSenior Backend Engineer at Acme Cloud\n"
            b"Built the billing platform.\n")


# Fuller résumés, varied by a seed, for the benchmark


SENTENCES_EN = (
    "Led a team of {n} engineers building {skill} services for millions of users across three regions.",
    "Designed and shipped a {skill} platform that cut p95 latency by {n}0% and halved infrastructure costs.",
    "Owned the on-call rotation, wrote runbooks and reduced incidents by {n}0% year over year.",
    "Migrated legacy batch jobs to {skill} streaming pipelines processing {n} billion events a day.",
    "Mentored junior engineers and ran the hiring loop for backend and data roles.",
)
SENTENCES_ZH = (
    "负责{skill}相关系统的架构设计与开发，支撑日均{n}千万次请求，可用性达到百分之九十九点九九。",
    "带领{n}人团队完成核心交易链路重构，接口平均响应时间降低{n}0%，年度节省成本数百万元。",
    "主导{skill}数据平台建设，搭建实时数仓与监控告警体系，推动数据驱动的产品决策。",
    "参与招聘面试与新人培养，编写技术文档和最佳实践，获得年度优秀员工称号。",
)
SKILLS = ("Python", "Go", "Java", "Kubernetes", "Kafka", "Spark", "PostgreSQL", "Redis", "TensorFlow", "React")


def varied_resume(seed: int, language: str) -> list[str]:
    """A page or so of lines (two beside a sidebar): role lines and long bulleted sentences in
    English ("en"), Chinese ("zh") or both at random ("mixed")."""
    rng = random.Random(seed)
    text = TEXTS["zh" if language == "zh" else "en"]
    lines = [text.name, text.email, "+86 138 0013 8000", text.school]
    for job in range(rng.randint(4, 8)):
        lines.append(f"{rng.choice(SKILLS)} Engineer, Company {job + 1}    {2010 + job} - {2012 + job}")
        for _ in range(rng.randint(3, 6)):
            zh = language == "zh" or (language == "mixed" and rng.random() < 0.5)
            sentence = rng.choice(SENTENCES_ZH if zh else SENTENCES_EN)
            lines.append("• " + sentence.format(n=rng.randint(2, 9), skill=rng.choice(SKILLS)))
    return lines


def varied_pdf(seed: int, language: str, columns: int) -> bytes:
    """`varied_resume` drawn with wrapping, in one column or beside a sidebar, over 1–2 pages."""
    lines = varied_resume(seed, language)
    pdf = _ResumePdf(TEXTS["zh" if language == "zh" else "en"])
    pdf.add_page()
    x, width = (15.0, 180.0) if columns == 1 else (70.0, 125.0)
    if columns == 2:
        pdf.set_font("wqy", size=9)
        _lines(pdf, 15, 20, 50, ("CONTACT", *lines[1:4], "SKILLS", *SKILLS))
    pdf.set_font("wqy", size=9.5)
    y = 20.0
    for line in lines[4:]:
        if y > 270:
            pdf.add_page()
            y = 20.0
        pdf.set_xy(x, y)
        wrap = "CHAR" if any("\u4e00" <= ch <= "\u9fff" for ch in line) else "WORD"
        pdf.multi_cell(width, 4.8, line.replace("• ", "● "), align="L", wrapmode=wrap)
        y = pdf.get_y() + 1.0
    return bytes(pdf.output())


def varied_docx(seed: int, language: str) -> bytes:
    lines = varied_resume(seed, language)
    document = Document()
    document.sections[0].header.paragraphs[0].text = lines[0]
    for line in lines:
        if line.startswith("• "):
            document.add_paragraph(line[2:], style="List Bullet")
        else:
            document.add_paragraph(line)
    table = document.add_table(rows=4, cols=3)
    for row in table.rows:
        for cell, skill in zip(row.cells, random.Random(seed).sample(SKILLS, 3)):
            cell.text = skill
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def varied_text(seed: int, language: str) -> bytes:
    """Chinese and mixed text in GBK one time out of two (with "●" bullets, GBK has no "•"), the rest UTF-8."""
    text = "\r\n".join(varied_resume(seed, language))
    if language != "en" and seed % 2:
        return text.replace("• ", "● ").encode("gbk")
    return text.encode("utf-8")


# Broken and hostile files


def truncated_pdf() -> bytes:
    """The first half of a good PDF, as an interrupted upload leaves it: no cross-reference, no %%EOF."""
    data = resume_pdf("en")
    return data[: len(data) // 2]


def garbled_pdf() -> bytes:
    """A PDF header, then bytes that are no PDF at all."""
    return b"%PDF-1.7\n" + random.Random(7).randbytes(4000) + b"\n%%EOF\n"


def encrypted_pdf() -> bytes:
    """A good PDF that opens only with the password."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(resume_pdf("en", pages=1))))
    writer.encrypt(user_password=PASSWORD, owner_password=PASSWORD + "-owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def encrypted_docx() -> bytes:
    """What Word saves with a password: an OLE compound file holding an `EncryptedPackage` stream.

    Only the parts the type check reads are real (the compound-file signature and the stream's
    UTF-16 name in a directory entry); there is no actual encrypted package behind them."""
    header = bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504)
    entry = "EncryptedPackage".encode("utf-16-le").ljust(64, b"\0") + struct.pack("<H", 34) + bytes(62)
    return header + entry + bytes(512 - len(entry))


def garbage() -> bytes:
    return random.Random(11).randbytes(8192)


def executable() -> bytes:
    """The first bytes of a 64-bit Linux executable."""
    return b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\x02\x00\x3e\x00" + random.Random(5).randbytes(2000)


def zip_without_document() -> bytes:
    """A zip that claims to be a .docx but holds no word/document.xml."""
    return _zip({"notes.txt": b"not a word document", "[Content_Types].xml": b"<Types/>"})


def truncated_docx() -> bytes:
    data = resume_docx()
    return data[: len(data) // 2]


def resume_archive() -> bytes:
    """A batch upload as a Mac zips it: a folder, resource forks and two résumés."""
    return _zip({
        "resumes/": b"",
        "resumes/alice.pdf": resume_pdf("en", pages=1),
        "resumes/张伟.txt": resume_text("utf-8"),
        "__MACOSX/resumes/._alice.pdf": b"\0\5\26\7 mac resource fork",
        "resumes/._zhang.txt": b"\0\5\26\7",
        "resumes/.DS_Store": b"\0\0\0\1Bud1",
    })


def zip_bomb(megabytes: int = 64) -> bytes:
    """One member of zeros: a few kilobytes that inflate to `megabytes` MiB, far past 100:1."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive, archive.open("resume.txt", "w") as member:
        block = bytes(1 << 20)
        for _ in range(megabytes):
            member.write(block)
    return out.getvalue()


def zip_understating_size() -> bytes:
    """A member whose headers claim 100 bytes where it holds 2 MiB: the sizes cannot be trusted."""
    data = bytearray(_zip({"resume.txt": b"Alice Chen " * 200_000}))
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.index(signature)
        data[at + offset : at + offset + 4] = struct.pack("<I", 100)
    return bytes(data)


def zip_with_names(*names: str) -> bytes:
    """A zip whose members have exactly these names (zipfile keeps `../` and `/` as given)."""
    return _zip({name: b"Alice Chen" for name in names})


def nested_zip() -> bytes:
    return _zip({"alice.txt": b"Alice Chen", "more/batch.zip": _zip({"bob.txt": b"Bob"})})


def zip_with_encrypted_member() -> bytes:
    """A member flagged as encrypted (bit 0 of its flags, in both headers), as a password-protected zip has it."""
    data = bytearray(_zip({"secret.pdf": b"%PDF-1.7 pretend ciphertext"}))
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        data[data.index(signature) + offset] |= 0x1
    return bytes(data)


def zip_with_gbk_name() -> bytes:
    """A member named 张伟简历.txt in GBK without the UTF-8 flag, as Chinese Windows zips folders."""
    gbk = "张伟简历.txt".encode("gbk")
    placeholder = b"x" * (len(gbk) - 4) + b".txt"
    data = _zip({placeholder.decode(): resume_text("utf-8")})
    return data.replace(placeholder, gbk)


def zip_of(count: int) -> bytes:
    return _zip({f"resume-{i}.txt": b"Alice Chen" for i in range(count)})


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()
