"""The report pages (`/reports/...`) for supervisors and admins, and the supervisor's floor (`/supervisor`).

Staff log in at /login (supervisors and admins may choose no counter). A clerk gets 403: the
ranking of colleagues is for those who sign it off (陳核). Every page is bilingual, in the ROC
calendar, prints on A4, and downloads as CSV and XLSX (`?format=`), through the same builders as
the API (server/reports/catalog.py).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import quote, urlencode

from flask import Blueprint, Flask, redirect, render_template, request, session

from .context import current_hub
from .engine.errors import JiaohaoError
from .report_export import download
from .reports.catalog import REPORTS
from .reports.export import parse_format
from .reports.periods import month_days, roc_date
from .reports.views import clerk_label, extras

pages = Blueprint("report_pages", __name__)
READERS = ("supervisor", "admin")
OUTCOMES = {"done": ("完成", "done"), "no_show": ("過號", "no-show"), "transferred": ("轉送", "transferred")}


def init_report_pages(app: Flask) -> None:
    app.register_blueprint(pages)
    def named(kind: str) -> Callable[[str | None], str]:
        """A service, lane or counter id as its two names (the office is read per request)."""

        def label(ident: str | None) -> str:
            thing = getattr(current_hub().office, kind)(ident) if ident else None
            return f"{thing.name.zh} {thing.name.en}" if thing else (ident or "—")
        return label

    app.add_template_filter(named("service"), "service")
    app.add_template_filter(named("lane"), "lane")
    app.add_template_filter(named("counter"), "counter")
    app.add_template_filter(clerk_label, "clerk")
    app.add_template_filter(roc_date, "roc_date")
    app.add_template_filter(_mmss, "mmss")
    app.add_template_filter(lambda v: "—" if v is None else f"{v:.1f} %", "pct")
    app.add_template_filter(lambda v: "—" if v is None else f"{v:+.1f} 個百分點 pts", "pts")
    app.add_template_filter(lambda v: "—" if v is None else f"{v:+.1f} %", "growth")  # a growth rate: signed
    app.add_template_filter(lambda v: " ".join(OUTCOMES.get(v, (v, v))), "outcome")


def _mmss(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = int(round(seconds))
    return f"{s // 60}:{s % 60:02d}"


def readers_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """Logged-in supervisors and admins; the login page for nobody, 403 for a clerk."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not session.get("user"):
            return redirect("/login?next=" + quote(request.full_path.rstrip("?"), safe="/?=&"))
        if session.get("role") not in READERS:
            h = current_hub()
            return render_template("staff_forbidden.html", office=h.office), 403
        return view(*args, **kwargs)

    return wrapped


def _common() -> dict[str, Any]:
    return {"office": current_hub().office, "user": session.get("user"), "csrf": session.get("csrf", "")}


@pages.get("/reports")
@readers_only
def index() -> str:
    return render_template("reports_index.html", title=("報表", "Reports"), period="", period_en="", **_common())


def _defaults(name: str) -> dict[str, str]:
    """Without arguments, a page shows the current month (or today) in the office's time zone."""
    h = current_hub()
    today = h.clock().astimezone(h.office.tz).date()
    if name == "waits":
        first, last = month_days(today.isoformat()[:7])
        return {"from": first, "to": last}
    if name == "day":
        return {"date": today.isoformat()}
    return {"month": today.isoformat()[:7]}


def _report_page(name: str) -> Callable[[], Any]:
    report = REPORTS[name]

    @readers_only
    def view() -> Any:
        h = current_hub()
        query = {**_defaults(name), **{k: v for k, v in request.args.items() if v}}
        try:
            args = report.parse(query)
            fmt = parse_format(query.get("format", "json"))
        except JiaohaoError as e:
            return render_template("reports_base.html", title=report.title, period="", period_en="",
                                   error=e.message, **_common()), e.status
        data = h.read_history(lambda history, office: report.build(history, office, args))
        if fmt != "json":
            return download(data, name, args, fmt)
        period = report.period(args)
        keys = ("from", "to") if name == "waits" else ("date",) if name == "day" else ("month",)

        def export_url(f: str) -> str:
            return f"/reports/{name}?" + urlencode({**dict(zip(keys, args, strict=True)), "format": f})

        return render_template(f"reports_{name}.html", title=report.title, period=period,
                               period_en=", ".join(args), report=data, args=args, export_url=export_url,
                               **extras(name, data, h.office), **_common())

    view.__name__ = f"page_{name}"
    return view


for _name in REPORTS:
    pages.add_url_rule(f"/reports/{_name}", view_func=_report_page(_name), methods=["GET"])


# -- the supervisor's floor (走動式服務) ----------------------------------------------------------

@pages.get("/supervisor")
@readers_only
def supervisor() -> str:
    h = current_hub()
    return render_template("supervisor.html", floor=h.floor(), **_common())


@pages.get("/supervisor/floor")
@readers_only
def supervisor_floor() -> str:
    """The floor's part of the page alone: the page replaces it with this every 15 seconds."""
    return render_template("supervisor_floor.html", floor=current_hub().floor(), **_common())

