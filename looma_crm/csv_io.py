"""Talents and jobs as CSV: the columns, reading an uploaded file, writing an export.

One header row, then one row per entity. Header names are matched case-insensitively (spaces and
hyphens count as underscores; `email` is taken for `emails`, `skill` for `skills` and so on).
List fields are one cell, their items joined with "; ".

    talents  id*, name, emails, phones, links, location, city*, current_title, current_company,
             years_of_experience, job_status, source, tags, skills, languages,
             expected_salary_min, expected_salary_max, expected_salary_currency, expected_salary_period,
             summary, experience, education, custom, created_at*, updated_at*
    jobs     id*, title, status, company_id, hiring_manager_id, locations, remote, headcount,
             salary_min, salary_max, salary_currency, salary_period,
             required_skills, min_years, max_years, education_level, requirements_derived,
             description, created_at*, updated_at*

- Columns marked * are written for reference and ignored on import: an import always creates
  new entities, and a talent's city is derived from its location.
- `skills` and `required_skills` hold display names. On import each name is looked up in the
  skills taxonomy as a create does; a skill's level and years, and a required skill's weight,
  are not part of the file.
- `experience`, `education` and `custom` are JSON, as the API shows them (a list of objects, an
  object).
- `requirements_derived` is true when a job's required skills were read from its description;
  an import reads them from the description again instead of taking `required_skills`.
- A cell that begins with = + - @ or a tab is written with a leading apostrophe, so that a
  spreadsheet shows it as text instead of running it as a formula (an E.164 phone number
  included); an import drops that apostrophe again. Items containing ";" do not survive a round
  trip: the separator splits them.
- Exports are UTF-8 with a byte-order mark, which Excel needs to show Chinese. Imports take
  UTF-8 with or without it; a file that is not UTF-8 is read as GB18030 (what Chinese Excel
  saves as plain "CSV"), and the caller is told so.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from looma_crm.store import Kind, live, view
from shared.service.problems import Problem

LIST_SEPARATOR = "; "
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
FALLBACK_ENCODING = "gb18030"

Cells = Mapping[str, str]  # a data row: column name -> cell, for the columns the header names
Issue = tuple[str, str]  # (column, message)


@dataclass(frozen=True)
class Layout:
    """One kind's CSV: its columns in export order and how a row maps to and from the entity."""

    kind: str  # talents, jobs
    columns: tuple[str, ...]
    ignored: frozenset[str]  # exported for reference, not imported
    required: tuple[str, ...]
    to_cells: Callable[[Mapping[str, Any]], dict[str, Any]]  # the entity as the API shows it -> cells
    from_cells: Callable[[Cells], tuple[dict[str, Any], list[Issue]]]  # cells -> the entity's JSON
    column_of: Callable[[str], str]  # a field path in the model -> the column it came from
    aliases: Mapping[str, str] = field(default_factory=dict)

    def column_name(self, raw: str) -> str:
        name = re.sub(r"[\s\-]+", "_", raw.strip().lstrip(BOM).strip().lower())
        return self.aliases.get(name, name)


# --- cells ----------------------------------------------------------------------------------------
def items(cell: str) -> list[str]:
    return [item.strip() for item in cell.split(";") if item.strip()]


def number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def as_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) if value else ""


def from_json(cells: Cells, column: str, data: dict[str, Any], issues: list[Issue]) -> None:
    if not cells.get(column):
        return
    try:
        data[column] = json.loads(cells[column])
    except json.JSONDecodeError as error:
        issues.append((column, f"not valid JSON: {error.msg} at character {error.pos + 1}"))


def _money_cells(money: Mapping[str, Any] | None, prefix: str) -> dict[str, str]:
    money = money or {}
    return {f"{prefix}{part}": number(money.get(part)) for part in ("min", "max", "currency", "period")}


def _money(cells: Cells, prefix: str) -> dict[str, str] | None:
    parts = {part: cells[f"{prefix}{part}"] for part in ("min", "max", "currency", "period")
             if cells.get(f"{prefix}{part}")}
    return parts or None


def _copy(cells: Cells, data: dict[str, Any], names: Iterable[str]) -> None:
    for name in names:
        if cells.get(name):
            data[name] = cells[name]


def _split(cells: Cells, data: dict[str, Any], names: Iterable[str]) -> None:
    for name in names:
        if cells.get(name):
            data[name] = items(cells[name])


def _skill_names(skills: Iterable[Mapping[str, Any]]) -> str:
    return LIST_SEPARATOR.join(s.get("display") or s.get("name") or s.get("skill_id") or "" for s in skills)


def _column_of(*renames: tuple[str, str]) -> Callable[[str], str]:
    """Field paths as columns: the first pattern that matches rewrites the path."""
    def column_of(loc: str) -> str:
        for pattern, column in renames:
            if re.match(pattern, loc):
                return re.sub(pattern, column, loc)
        return loc

    return column_of


# --- talents --------------------------------------------------------------------------------------
_TALENT_TEXT = ("name", "location", "current_title", "current_company", "years_of_experience", "job_status",
                "source", "summary")
_TALENT_LISTS = ("emails", "phones", "links", "tags", "languages")


def talent_cells(talent: Mapping[str, Any]) -> dict[str, Any]:
    cells: dict[str, Any] = {name: talent.get(name) for name in ("id", "city", "created_at", "updated_at")}
    cells.update({name: number(talent.get(name)) for name in _TALENT_TEXT})
    cells.update({name: LIST_SEPARATOR.join(talent.get(name) or []) for name in _TALENT_LISTS})
    cells["skills"] = _skill_names(talent.get("skills") or [])
    cells.update(_money_cells(talent.get("expected_salary"), "expected_salary_"))
    cells.update({name: as_json(talent.get(name)) for name in ("experience", "education", "custom")})
    return cells


def talent_from_cells(cells: Cells) -> tuple[dict[str, Any], list[Issue]]:
    data: dict[str, Any] = {}
    issues: list[Issue] = []
    _copy(cells, data, _TALENT_TEXT)
    _split(cells, data, _TALENT_LISTS)
    if cells.get("skills"):
        data["skills"] = [{"name": name} for name in items(cells["skills"])]
    if salary := _money(cells, "expected_salary_"):
        data["expected_salary"] = salary
    for name in ("experience", "education", "custom"):
        from_json(cells, name, data, issues)
    return data, issues


TALENTS = Layout(
    kind="talents",
    columns=("id", "name", "emails", "phones", "links", "location", "city", "current_title", "current_company",
             "years_of_experience", "job_status", "source", "tags", "skills", "languages",
             "expected_salary_min", "expected_salary_max", "expected_salary_currency", "expected_salary_period",
             "summary", "experience", "education", "custom", "created_at", "updated_at"),
    ignored=frozenset(("id", "city", "created_at", "updated_at")),
    required=("name",),
    to_cells=talent_cells,
    from_cells=talent_from_cells,
    column_of=_column_of((r"^expected_salary\.(\w+)$", r"expected_salary_\1"), (r"^(skills\.\d+)\..*$", r"\1")),
    aliases={"email": "emails", "phone": "phones", "link": "links", "tag": "tags", "skill": "skills",
             "language": "languages", "title": "current_title", "company": "current_company",
             "years": "years_of_experience"},
)


# --- jobs -----------------------------------------------------------------------------------------
_JOB_TEXT = ("title", "description", "status", "company_id", "hiring_manager_id", "remote", "headcount")
_REQUIREMENTS = ("min_years", "max_years", "education_level")


def job_cells(job: Mapping[str, Any]) -> dict[str, Any]:
    requirements = job.get("requirements") or {}
    cells: dict[str, Any] = {name: job.get(name) for name in ("id", "created_at", "updated_at")}
    cells.update({name: number(job.get(name)) for name in _JOB_TEXT})
    cells["remote"] = "true" if job.get("remote") else "false"
    cells["locations"] = LIST_SEPARATOR.join(job.get("locations") or [])
    cells.update(_money_cells(job.get("salary"), "salary_"))
    cells["required_skills"] = _skill_names(requirements.get("skills") or [])
    cells.update({name: number(requirements.get(name)) for name in _REQUIREMENTS})
    cells["requirements_derived"] = "true" if job.get("requirements_derived") else "false"
    return cells


def job_from_cells(cells: Cells) -> tuple[dict[str, Any], list[Issue]]:
    data: dict[str, Any] = {}
    _copy(cells, data, _JOB_TEXT)
    _split(cells, data, ("locations",))
    if salary := _money(cells, "salary_"):
        data["salary"] = salary
    derived = cells.get("requirements_derived", "").strip().lower() in ("true", "1", "yes")
    if not derived and any(cells.get(name) for name in ("required_skills", *_REQUIREMENTS)):
        requirements: dict[str, Any] = {"skills": [{"name": n} for n in items(cells.get("required_skills", ""))]}
        _copy(cells, requirements, _REQUIREMENTS)
        data["requirements"] = requirements
    return data, []


JOBS = Layout(
    kind="jobs",
    columns=("id", "title", "status", "company_id", "hiring_manager_id", "locations", "remote", "headcount",
             "salary_min", "salary_max", "salary_currency", "salary_period", "required_skills", "min_years",
             "max_years", "education_level", "requirements_derived", "description", "created_at", "updated_at"),
    ignored=frozenset(("id", "created_at", "updated_at")),
    required=("title", "description"),
    to_cells=job_cells,
    from_cells=job_from_cells,
    column_of=_column_of((r"^salary\.(\w+)$", r"salary_\1"),
                         (r"^requirements\.skills(\.\d+)?.*$", r"required_skills\1"),
                         (r"^requirements\.(\w+)$", r"\1")),
    aliases={"location": "locations", "skills": "required_skills", "required_skill": "required_skills"},
)
LAYOUTS = {layout.kind: layout for layout in (TALENTS, JOBS)}


# --- export ---------------------------------------------------------------------------------------
def _safe(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _written(rows: Iterable[Iterable[Any]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def header(layout: Layout) -> str:
    """The first chunk of an export: the byte-order mark and the header row."""
    return BOM + _written([layout.columns])


def rows(layout: Layout, entities: Iterable[Mapping[str, Any]]) -> str:
    """CSV rows for entities as the API shows them (store.view)."""
    return _written([_safe(cells.get(name)) for name in layout.columns]
                    for cells in map(layout.to_cells, entities))


# --- import ---------------------------------------------------------------------------------------
def decode(raw: bytes) -> tuple[str, str]:
    """The upload as text and the encoding it was read in: UTF-8, else GB18030; 400 otherwise."""
    if raw.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise Problem(400, "this is an Excel workbook, not CSV: in Excel choose Save As, then 'CSV UTF-8'",
                      slug="not-csv")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise Problem(400, "the file is UTF-16 text; save it as CSV UTF-8", slug="invalid-encoding")
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as error:
        first_bad = error.start
    try:
        return raw.decode(FALLBACK_ENCODING), FALLBACK_ENCODING
    except UnicodeDecodeError:
        raise Problem(400, f"the file is not UTF-8 (byte {first_bad} is not) nor GB18030; save it as UTF-8 "
                           "(in Excel: Save As, then 'CSV UTF-8')", slug="invalid-encoding") from None


@dataclass(frozen=True)
class Sheet:
    """A CSV file that parsed cleanly: where each known column is, and how many data rows it has."""

    layout: Layout
    text: str
    delimiter: str
    positions: Mapping[str, int]  # column -> index in a row, for the columns an import reads
    total: int  # data rows, blank ones not counted
    warnings: tuple[dict[str, Any], ...]

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        """(row number as in the file, header = 1; {column: cell}) for every data row that is not blank."""
        for number, _line, cells in _records(self.text, self.delimiter):
            if number == 1 or not any(c.strip() for c in cells):
                continue
            yield number, {name: _unescape(cells[i]).strip() for name, i in self.positions.items() if i < len(cells)}


def _unescape(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:2] and cell[1] in "=+-@\t\r" else cell


def _delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def _records(text: str, delimiter: str) -> Iterator[tuple[int, int, list[str]]]:
    """(row number, line the row starts on, cells); 400 naming the line on malformed CSV."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    number, line = 0, 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            reason = str(error)
            if "unexpected end of data" in reason:
                reason = "a quoted cell is never closed (unbalanced quotes)"
            raise Problem(400, f"malformed CSV at line {line} (row {number + 1}): {reason}", slug="malformed-csv",
                          errors=[{"row": number + 1, "line": line, "loc": "file", "msg": reason}]) from None
        number += 1
        yield number, line, cells
        line = reader.line_num + 1


def read(layout: Layout, text: str, max_rows: int) -> Sheet:
    """Check the file's structure once: header, widths, the row limit. 400 or 422 naming the problem."""
    delimiter = _delimiter(text)
    records = _records(text, delimiter)
    first = next(records, None)
    if first is None or not any(c.strip() for c in first[2]):
        raise Problem(400, "the file is empty; the first row must name the columns", slug="empty-file")
    names = [layout.column_name(c) for c in first[2]]
    warnings: list[dict[str, Any]] = []
    positions: dict[str, int] = {}
    unknown: list[str] = []
    for index, name in enumerate(names):
        if name in positions:
            raise Problem(422, f"column {name!r} appears twice in the header", slug="duplicate-column",
                          errors=[{"row": 1, "loc": name, "msg": "appears twice"}])
        if name in layout.columns and name not in layout.ignored:
            positions[name] = index
        elif name and name not in layout.ignored:
            unknown.append(name)
    missing = [name for name in layout.required if name not in positions]
    if missing:
        raise Problem(422, f"the header lacks the required column(s) {', '.join(missing)}", slug="missing-columns",
                      errors=[{"row": 1, "loc": name, "msg": "required column missing"} for name in missing])
    for name in unknown:
        warnings.append({"row": 1, "loc": name, "msg": f"unknown column, ignored; {layout.kind} take "
                                                         f"{', '.join(c for c in layout.columns if c not in layout.ignored)}"})
    skipped = sorted(layout.ignored & set(names))
    if skipped:
        warnings.append({"row": 1, "loc": ", ".join(skipped),
                         "msg": f"written by exports, ignored by imports: an import creates new {layout.kind}"})
    total = 0
    for number, line, cells in records:
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(names) and any(c.strip() for c in cells[len(names):]):
            raise Problem(400, f"malformed CSV at line {line} (row {number}): {len(cells)} fields, the header has "
                               f"{len(names)}", slug="malformed-csv",
                          errors=[{"row": number, "line": line, "loc": "file",
                                   "msg": f"{len(cells)} fields, the header has {len(names)}"}])
        total += 1
        if total > max_rows:
            raise Problem(422, f"the file has more than {max_rows:,} rows; split it into files of at most "
                               f"{max_rows:,}", slug="too-many-rows", limit=max_rows)
    return Sheet(layout, text, delimiter, positions, total, tuple(warnings))


async def export(conn: AsyncConnection, layout: Layout, kind: Kind, org_id: str, page: int = 500
                 ) -> AsyncIterator[str]:
    """The org's live entities of `kind` as CSV, oldest first: the header, then `page` rows a chunk."""
    table, after = kind.table, None
    yield header(layout)
    while True:
        statement = sa.select(table).where(live(kind, org_id))
        if after is not None:
            statement = statement.where(sa.or_(table.c.created_at > after[0],
                                               sa.and_(table.c.created_at == after[0], table.c.id > after[1])))
        found = (await conn.execute(statement.order_by(table.c.created_at, table.c.id).limit(page))).mappings().all()
        if not found:
            return
        yield rows(layout, (view(row) for row in found))
        after = found[-1]["created_at"], found[-1]["id"]
