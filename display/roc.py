"""Dates as a Taiwanese office shows them: the ROC (民國) calendar. Pure, no pygame."""

from __future__ import annotations

from datetime import date, datetime

ROC_EPOCH = 1911  # 民國元年 = 1912
WEEKDAYS_ZH = "一二三四五六日"
WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def roc_year(d: date) -> str:
    y = d.year - ROC_EPOCH
    # Years before 1912 are 民國前 N 年; there is no year 0.
    return f"民國{y}年" if y > 0 else f"民國前{1 - y}年"


def roc_date(d: date) -> str:
    """民國115年11月22日"""
    return f"{roc_year(d)}{d.month}月{d.day}日"


def roc_date_weekday(d: date) -> str:
    """民國115年11月22日（星期日）: the weekday helps people who lost track of the day."""
    return f"{roc_date(d)}（星期{WEEKDAYS_ZH[d.weekday()]}）"


def en_date(d: date) -> str:
    return f"{WEEKDAYS_EN[d.weekday()]} {d.day} {MONTHS_EN[d.month - 1]} {d.year}"


def clock(t: datetime) -> str:
    return f"{t.hour:02d}:{t.minute:02d}"
