"""A report as the HTTP answer asked for: JSON, or a CSV / XLSX download (API and pages alike)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response, jsonify

from .hub import Hub
from .reports.catalog import REPORTS, file_stems
from .reports.export import MIMETYPES, disposition, parse_format, render


def answer(hub: Hub, name: str, query: Mapping[str, str]) -> Response:
    """Parse the arguments (400), the format (422), build the report, and serialise it."""
    report = REPORTS[name]
    args = report.parse(query)
    fmt = parse_format(query.get("format"))
    data = hub.read_history(lambda history, office: report.build(history, office, args))
    if fmt == "json":
        return jsonify(data)
    return download(data, report.name, args, fmt)


def download(data: dict[str, Any], name: str, args: tuple[str, ...], fmt: str) -> Response:
    report = REPORTS[name]
    zh, ascii_name = file_stems(report, args)
    body = render(report.table(data), fmt, f"{report.title[0]} {report.period(args)}")
    resp = Response(body, mimetype=MIMETYPES[fmt])
    resp.headers["Content-Disposition"] = disposition(zh, ascii_name, fmt)
    return resp
