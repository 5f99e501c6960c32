"""The reports by name: how each reads its arguments, what it asks of the History, how it is titled.

Both the API (`/api/v1/reports/...`) and the pages (`/reports/...`) go through `build`, so a
report is the same wherever it is read or exported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..engine.office import Office
from ..store import History
from . import clerks, day, satisfaction, settled, waits
from .export import Sheets
from .periods import month_days, parse_day, parse_month, parse_range, roc_date, roc_month, roc_range


@dataclass(frozen=True)
class Report:
    name: str
    title: tuple[str, str]  # zh-TW, en
    parse: Callable[[Mapping[str, str]], tuple[str, ...]]
    build: Callable[[History, Office, tuple[str, ...]], dict[str, Any]]
    table: Callable[[dict[str, Any]], Sheets]
    period: Callable[[tuple[str, ...]], str]  # in the ROC calendar: 115年11月


def _clerks(h: History, office: Office, args: tuple[str, ...]) -> dict[str, Any]:
    return clerks.clerk_report(h.visit_events(*month_days(args[0])), office, args[0])


def _waits(h: History, office: Office, args: tuple[str, ...]) -> dict[str, Any]:
    return settled.waits_report(h, office, *args)


def _satisfaction(h: History, office: Office, args: tuple[str, ...]) -> dict[str, Any]:
    month = args[0]
    first, last = month_days(month)
    since = month_days(satisfaction.first_month(month))[0]
    return satisfaction.satisfaction_report(h.ratings(first, last), h.ratings_by_month(since, last), month,
                                            h.ratings_by_month_per_group(since, last))


def _day(h: History, office: Office, args: tuple[str, ...]) -> dict[str, Any]:
    return day.day_report(h.visit_events(args[0], args[0]), office, args[0])


REPORTS = {r.name: r for r in (
    Report("clerks", ("承辦員績效評比", "Clerks' monthly ranking"), lambda q: (parse_month(q.get("month")),),
           _clerks, clerks.table, lambda a: roc_month(a[0])),
    Report("waits", ("等候時間統計", "Waiting times"), lambda q: parse_range(q.get("from"), q.get("to")),
           _waits, waits.table, lambda a: roc_range(*a)),
    Report("satisfaction", ("服務滿意度", "Satisfaction"), lambda q: (parse_month(q.get("month")),),
           _satisfaction, satisfaction.table, lambda a: roc_month(a[0])),
    Report("day", ("櫃台每日案件", "The day's visits per counter"), lambda q: (parse_day(q.get("date")),),
           _day, day.table, lambda a: roc_date(a[0])),
)}


def file_stems(report: Report, args: tuple[str, ...]) -> tuple[str, str]:
    """承辦員績效評比_115年11月 and clerks_2026-11 (the ASCII fallback)."""
    return f"{report.title[0]}_{report.period(args)}", f"{report.name}_{'_'.join(args)}"
