"""Bookings from an import: the ONE place where the sources' exports are mapped to ours.

Our own format (CONTRACT.md) is CSV with the header `code,service,slot`, slot `YYYY-MM-DD HH:MM`
office-local, or JSON `{"appointments": [{"code", "service", "slot"}]}`. The offices receive
exports from two places that differ from it and from each other, so a file is read like this:

- **Encoding**: UTF-8 (with or without a BOM), else Big5 (cp950), which older exports from
  Windows offices use.
- **Columns** are found by name, in any order, with the aliases of `COLUMNS` (預約代碼 / 預約編號 /
  預約序號 / code ...). Extra columns (a citizen's name, a phone number) are ignored and never stored.
- **The slot** is one column (`slot`, 預約時間 ...) holding a date and a time, or a date column
  (預約日期 ...) and a time column (預約時段 ...), as the ministry's site exports it.
- **Dates**: `2026-12-02`, `2026/12/02`, 民國 (ROC) years `115/12/02`, `115-12-02`, `1151202`,
  `115年12月02日`, `民國115年12月2日` (ROC year + 1911 = the Gregorian year).
- **Times**: `09:30`, `9:30`, `0930`, `9時30分`, `上午9時30分`, `下午2:00` (下午 adds 12 hours to 1–11),
  and the start of a range such as `09:30-10:00`.
- **Services**: the office's service id, or its zh-TW or English name as in the office file
  (case and spaces do not matter).
- **Codes** lose surrounding spaces and are compared in capitals: what a scanner or a keypad sends
  (`normalise_code`). A code is 1 to 40 letters, digits and `-`.

Every bad row is named by its line (the header being line 1) and nothing is taken: the readers
return the rows they could read and the lines they could not, and the engine (`QueueEngine.book`)
adds what only it can tell (an unknown service, a code already booked) before refusing them all.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, time
from typing import Any

from .engine.errors import InvalidRows, Malformed
from .engine.model import Appointment
from .engine.office import Office

# Our name for a column -> the names the exports give it (compared without spaces, in lower case).
COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("code", "booking_code", "預約代碼", "預約編號", "預約序號", "預約號碼", "預約碼"),
    "service": ("service", "業務", "業務類別", "申辦業務", "預約業務", "辦理項目", "申請項目"),
    "slot": ("slot", "預約時間", "預約日期時間"),
    "date": ("date", "預約日期", "日期"),
    "time": ("time", "預約時段", "時段", "時間"),
}
MAX_CODE = 40
_CODE = re.compile(r"^[A-Z0-9-]{1,40}$")


def normalise_code(raw: str) -> str:
    return raw.strip().upper()


def valid_code(code: str) -> bool:
    return bool(_CODE.match(code))


# A file uploaded on the admin page may hold a month of bookings; the API keeps its 16 KiB bodies.
MAX_IMPORT = 512 * 1024


def decode(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "cp950"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise Malformed("The file is neither UTF-8 nor Big5 text. 檔案編碼無法辨識（請用 UTF-8 或 Big5）。",
                    code="invalid_csv")


Entries = list[tuple[int, Appointment]]
Bad = list[dict[str, object]]


def from_csv(text: str, office: Office, source: str = "csv") -> tuple[Entries, Bad]:
    """The bookings of a CSV file, each with its line, and the lines that could not be read."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidRows("The file is empty. 檔案沒有內容。", [{"line": 1, "message": "No header row. 缺少標題列。"}],
                          code="invalid_appointments") from None
    except csv.Error as e:
        raise InvalidRows("The file is not CSV. 檔案不是 CSV。", [{"line": 1, "message": str(e)}],
                          code="invalid_appointments") from None
    where = _columns(header)
    missing = [name for name in ("code", "service") if name not in where]
    if "slot" not in where and not ("date" in where and "time" in where):
        missing.append("slot (or date and time)")
    if missing:
        raise InvalidRows(
            f"The header lacks {', '.join(missing)}. 標題列缺少欄位。",
            [{"line": 1, "message": f"No column for {', '.join(missing)} (header: {', '.join(header)}). "
                                    "找不到必要欄位。"}],
            code="invalid_appointments")
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            rows.append((line, {name: cells[i].strip() if i < len(cells) else "" for name, i in where.items()}))
    except csv.Error as e:
        raise InvalidRows("The file is not CSV. 檔案不是 CSV。", [{"line": reader.line_num, "message": str(e)}],
                          code="invalid_appointments") from None
    return _entries(rows, office, source)


def from_json(data: dict[str, Any], office: Office) -> tuple[Entries, Bad]:
    """`{"appointments": [...]}`; a row's `line` is its place in the list, counting from 1."""
    items = data.get("appointments")
    if not isinstance(items, list):
        raise Malformed("Send {\"appointments\": [{\"code\", \"service\", \"slot\"}]} or a CSV file (text/csv). "
                        "缺少 appointments 清單。", code="missing_field")
    rows: list[tuple[int, dict[str, str]]] = []
    bad: Bad = []
    for n, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not all(isinstance(item.get(k, ""), str) for k in COLUMNS):
            bad.append({"line": n, "message": "Each booking is an object of strings: code, service, slot. 格式錯誤。"})
            continue
        rows.append((n, {k: str(v).strip() for k, v in item.items() if k in COLUMNS}))
    entries, more = _entries(rows, office, "json", bool(bad))
    return entries, sorted(bad + more, key=lambda r: int(str(r["line"])))


def _columns(header: list[str]) -> dict[str, int]:
    where: dict[str, int] = {}
    for i, name in enumerate(header):
        key = re.sub(r"\s+", "", name).lower()
        for ours, aliases in COLUMNS.items():
            if key in aliases and ours not in where:
                where[ours] = i
    return where


def _entries(rows: list[tuple[int, dict[str, str]]], office: Office, source: str,
             some_bad: bool = False) -> tuple[Entries, Bad]:
    services = _service_names(office)
    bad: Bad = []
    out: Entries = []
    for line, row in rows:
        problems = []
        code = normalise_code(row.get("code", ""))
        if not valid_code(code):
            problems.append(f"The code '{row.get('code', '')}' must be 1 to {MAX_CODE} letters, digits or '-'. "
                            "預約代碼格式錯誤。")
        raw_service = row.get("service", "")
        # An unknown service is the engine's to name (it knows the office as it is now).
        service = services.get(_fold(raw_service), raw_service)
        slot_text = row.get("slot") or f"{row.get('date', '')} {row.get('time', '')}".strip()
        slot = parse_slot(slot_text, office)
        if slot is None:
            problems.append(f"'{slot_text}' is not a time (e.g. 2026-12-02 09:30 or 115/12/02 09:30). 預約時間錯誤。")
        if problems:
            bad.append({"line": line, "message": " ".join(problems)})
            continue
        assert slot is not None
        out.append((line, Appointment(code=code, service=service, slot=slot,
                                      business_date=slot.date().isoformat(), source=source)))
    if not out and not bad and not some_bad:
        raise InvalidRows("There is no booking to import. 沒有可匯入的預約。",
                          [{"line": 2, "message": "No rows after the header. 標題列之後沒有資料。"}],
                          code="invalid_appointments")
    return out, bad


def _fold(text: str) -> str:
    return re.sub(r"\s+", "", text).casefold()


def _service_names(office: Office) -> dict[str, str]:
    names: dict[str, str] = {}
    for s in office.services:
        for name in (s.name.en, s.name.zh, s.id):
            names[_fold(name)] = s.id
    return names


def parse_slot(text: str, office: Office) -> datetime | None:
    """'2026-12-02 09:30', '115/12/02 上午9時30分' ... as an aware datetime in the office's zone, or None."""
    text = text.strip()
    m = re.match(r"^(?P<date>(?:民國)?\s*\d{2,4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日|\S+)\s*(?P<time>.*)$", text)
    if not m or not m.group("time"):
        return None
    d, t = parse_date(m.group("date")), parse_time(m.group("time"))
    if d is None or t is None:
        return None
    return datetime.combine(d, t, tzinfo=office.tz)


def parse_date(text: str) -> date | None:
    text = re.sub(r"\s+", "", text).removeprefix("民國")
    m = (re.fullmatch(r"(\d{2,4})[-/.](\d{1,2})[-/.](\d{1,2})", text)
         or re.fullmatch(r"(\d{2,4})年(\d{1,2})月(\d{1,2})日?", text)
         or re.fullmatch(r"(\d{3})(\d{2})(\d{2})", text)
         or re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text))
    if not m:
        return None
    year, month, day = (int(x) for x in m.groups())
    if year < 1911:  # a ROC (民國) year: 115 is 2026
        year += 1911
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_time(text: str) -> time | None:
    text = re.sub(r"\s+", "", text)
    text = re.split(r"[-~～－至]", text, maxsplit=1)[0]  # 09:30-10:00: the slot starts at 09:30
    pm = text.startswith("下午") or text.lower().endswith("pm")
    text = re.sub(r"^(上午|下午|早上|中午)|(am|pm)$", "", text, flags=re.IGNORECASE)
    m = (re.fullmatch(r"(\d{1,2}):(\d{2})(?::\d{2})?", text)
         or re.fullmatch(r"(\d{1,2})[時点點](?:(\d{1,2})分?)?", text)
         or re.fullmatch(r"(\d{2})(\d{2})", text))
    if not m:
        return None
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    if pm and 1 <= hour <= 11:
        hour += 12
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return time(hour, minute)
