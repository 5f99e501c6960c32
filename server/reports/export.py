"""Every report as CSV (UTF-8 with a BOM, so that Excel opens it right) and XLSX (XlsxWriter).

A report's export is a list of sheets (name, header, rows) made by its module's `table()`; the
first sheet is the report's table, and it is the CSV. File names say the period in the ROC
calendar (承辦員績效_115年11月.xlsx), with an ASCII fallback for clients that read no other.
"""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import quote

from ..engine.errors import Invalid

Sheets = list[tuple[str, list[str], list[list[Any]]]]
FORMATS = ("json", "csv", "xlsx")
MIMETYPES = {"csv": "text/csv",  # Flask adds "; charset=utf-8"
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def parse_format(text: str | None) -> str:
    fmt = (text or "json").lower()
    if fmt not in FORMATS:
        raise Invalid(f"format must be json, csv or xlsx (got '{text}'). 匯出格式須為 json、csv 或 xlsx。",
                      code="unknown_format")
    return fmt


def csv_bytes(sheets: Sheets) -> bytes:
    out = io.StringIO()
    name, header, rows = sheets[0]
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(header)
    w.writerows([["" if v is None else v for v in row] for row in rows])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(sheets: Sheets, title: str) -> bytes:
    import xlsxwriter  # only when an XLSX is asked for

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_numbers": False})
    book.set_properties({"title": title})
    bold = book.add_format({"bold": True, "bottom": 1})
    for name, header, rows in sheets:
        sheet = book.add_worksheet(name[:31])
        sheet.write_row(0, 0, header, bold)
        for i, row in enumerate(rows, start=1):
            sheet.write_row(i, 0, ["" if v is None else v for v in row])
        sheet.freeze_panes(1, 0)
        for j, h in enumerate(header):
            sheet.set_column(j, j, max(10, len(h) + 2))
    book.close()
    return buf.getvalue()


def disposition(stem_zh: str, stem_ascii: str, fmt: str) -> str:
    """`attachment` with the ROC-dated name (RFC 6266 filename*) and an ASCII one for old clients."""
    return (f'attachment; filename="{stem_ascii}.{fmt}"; '
            f"filename*=UTF-8''{quote(f'{stem_zh}.{fmt}')}")


def render(sheets: Sheets, fmt: str, title: str) -> bytes:
    return csv_bytes(sheets) if fmt == "csv" else xlsx_bytes(sheets, title)
