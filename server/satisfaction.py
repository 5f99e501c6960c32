"""滿意度 on the web: the tablet page at each counter (`/rate/<counter>`) and the `?month=` argument.

What a rating is and how a month is summed up lives in server/ratings.py; the hub stores them.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from flask import Blueprint, jsonify, make_response, render_template, request

from .context import current_hub
from .engine.errors import Malformed
from .ratings import SCORES

satisfaction = Blueprint("satisfaction", __name__)
_MONTH = re.compile(r"\d{4}-\d{2}")


@satisfaction.get("/rate/<cid>")
def rate_page(cid: str) -> Any:
    h = current_hub()
    counter = h.office.counter(cid)
    if counter is None:
        return jsonify({"error": {"code": "unknown_counter", "message": f"No counter '{cid}'. 沒有這個櫃台。"}}), 404
    resp = make_response(render_template("rate.html", office=h.office, counter=counter, scores=SCORES))
    # The first load carries the tablet's token in its URL: never cached, never sent on as a Referer,
    # never framed by another page (the script moves the token out of the address at once).
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    return resp


def month_arg() -> str:
    month = request.args.get("month", "")
    try:
        if not _MONTH.fullmatch(month):
            raise ValueError(month)  # strptime alone takes 2026-1
        datetime.strptime(month, "%Y-%m")
    except ValueError:
        raise Malformed("Give ?month=YYYY-MM, e.g. 2026-11. 請以 ?month=YYYY-MM 指定月份。",
                        code="invalid_month") from None
    return month
