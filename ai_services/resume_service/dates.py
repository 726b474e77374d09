"""Dates as resumes write them, as the CRM stores them: YYYY, YYYY-MM, or `present` for an end.

    2019.03 · 2019-3 · 2019/03 · 2019年3月 · 2019年 · Mar 2019 · March 2019 · 03/2019 · 2019
"""

from __future__ import annotations

import re
from datetime import date

MONTHS = {name: number for number, names in enumerate((
    ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
    ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
    ("dec", "december")), start=1) for name in names}
PRESENT = re.compile(r"至今|现在|今|目前|present|now|current|today|till date|to date", re.IGNORECASE)
_YEAR_MONTH = re.compile(r"((?:19|20)\d{2})\s*(?:[.\-/年]\s*(\d{1,2})\s*月?)?")
_MONTH_YEAR_NUM = re.compile(r"\b(\d{1,2})\s*/\s*((?:19|20)\d{2})\b")
_MONTH_NAME_YEAR = re.compile(r"\b([A-Za-z]{3,9})\.?,?\s+((?:19|20)\d{2})\b")


def partial_date(text: str) -> str | None:
    """`text` as YYYY or YYYY-MM; `present` for 至今, present...; None if it holds no date."""
    if PRESENT.fullmatch(text.strip()):
        return "present"
    named = _MONTH_NAME_YEAR.search(text)
    if named and named.group(1).lower() in MONTHS:
        return f"{named.group(2)}-{MONTHS[named.group(1).lower()]:02d}"
    numeric = _MONTH_YEAR_NUM.search(text)
    if numeric and 1 <= int(numeric.group(1)) <= 12:
        return f"{numeric.group(2)}-{int(numeric.group(1)):02d}"
    found = _YEAR_MONTH.search(text)
    if not found:
        return None
    year, month = found.group(1), found.group(2)
    if month and 1 <= int(month) <= 12:
        return f"{year}-{int(month):02d}"
    return year


def months_between(start: str, end: str, today: date | None = None) -> int:
    """Whole months from `start` to `end` (YYYY or YYYY-MM, or `present`); 0 when the order is wrong."""
    def months(value: str) -> int:
        if value == "present":
            now = today or date.today()
            return now.year * 12 + now.month - 1
        year, _, month = value.partition("-")
        return int(year) * 12 + (int(month[:2]) - 1 if month else 0)

    return max(0, months(end) - months(start))
