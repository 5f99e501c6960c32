"""Months, date ranges and the ROC calendar (民國): ISO in JSON, 115年11月 on pages and in file names."""

from __future__ import annotations

import re
from datetime import date, timedelta

from ..engine.errors import Malformed

_MONTH = re.compile(r"\d{4}-\d{2}")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
ROC_OFFSET = 1911
# Years a report may ask about: the ROC calendar's first (民國元年) to one that a month later still exists.
FIRST_YEAR, LAST_YEAR = 1912, 9998
MAX_RANGE_DAYS = 400  # a year's report and a little more; longer is a mistake, not a report
WEEKDAYS = {1: ("一", "Mon"), 2: ("二", "Tue"), 3: ("三", "Wed"), 4: ("四", "Thu"), 5: ("五", "Fri"),
            6: ("六", "Sat"), 7: ("日", "Sun")}


def parse_month(text: str | None) -> str:
    """`YYYY-MM` as given, or Malformed (400 `invalid_month`)."""
    try:
        if not text or not _MONTH.fullmatch(text) or not FIRST_YEAR + 1 <= int(text[:4]) <= LAST_YEAR:
            raise ValueError(text)  # strptime alone takes 2026-1; a year back must still be in range
        date(int(text[:4]), int(text[5:]), 1)
    except ValueError:
        raise Malformed("Give ?month=YYYY-MM, e.g. 2026-11. 請以 ?month=YYYY-MM 指定月份。",
                        code="invalid_month") from None
    return text


def parse_day(text: str | None, name: str = "date") -> str:
    try:
        if not text or not _DAY.fullmatch(text) or not FIRST_YEAR <= int(text[:4]) <= LAST_YEAR:
            raise ValueError(text)
        date.fromisoformat(text)
    except ValueError:
        raise Malformed(f"Give ?{name}=YYYY-MM-DD, e.g. 2026-11-23. 請以 ?{name}=YYYY-MM-DD 指定日期。",
                        code="invalid_date") from None
    return text


def parse_range(first: str | None, last: str | None) -> tuple[str, str]:
    a, b = parse_day(first, "from"), parse_day(last, "to")
    if a > b:
        raise Malformed("'from' must not be after 'to'. 起日不可晚於迄日。", code="invalid_date")
    if (date.fromisoformat(b) - date.fromisoformat(a)).days >= MAX_RANGE_DAYS:
        raise Malformed(f"A range is at most {MAX_RANGE_DAYS} days. 查詢期間最長 {MAX_RANGE_DAYS} 天。",
                        code="invalid_date")
    return a, b


def month_days(month: str) -> tuple[str, str]:
    """The first and last day of a month, as ISO dates."""
    first = date(int(month[:4]), int(month[5:]), 1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return first.isoformat(), (nxt - timedelta(days=1)).isoformat()


def add_months(month: str, n: int) -> str:
    y, m = divmod(int(month[:4]) * 12 + int(month[5:]) - 1 + n, 12)
    return f"{y:04d}-{m + 1:02d}"


def roc_month(month: str) -> str:
    """2026-11 -> 115年11月."""
    return f"{int(month[:4]) - ROC_OFFSET}年{int(month[5:])}月"


def roc_date(day: str) -> str:
    """2026-11-23 -> 115年11月23日."""
    return f"{int(day[:4]) - ROC_OFFSET}年{int(day[5:7])}月{int(day[8:])}日"


def roc_range(first: str, last: str) -> str:
    if first == last:
        return roc_date(first)
    a, b = month_days(first[:7])
    if (first, last) == (a, b):
        return roc_month(first[:7])
    return f"{roc_date(first)}至{roc_date(last)}"
