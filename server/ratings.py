"""滿意度: what a rating is and how a month of them is summed up. Plain Python, no web, no SQL.

A rating belongs to the counter's latest finished visit, for RATE_WINDOW_S after it ended, once.
It is stored against the visit, the counter and the clerk, so that the monthly report can say how
satisfied citizens were with each (the office's target is 90 %).
"""

from __future__ import annotations

from typing import Any

from .engine.errors import Invalid, Malformed

SCORES = {
    4: ("很滿意", "Very satisfied"),
    3: ("滿意", "Satisfied"),
    2: ("普通", "Neutral"),
    1: ("不滿意", "Dissatisfied"),
}
SATISFIED = 3  # 很滿意 and 滿意 count as satisfied
TARGET_PCT = 90
RATE_WINDOW_S = 10 * 60
MAX_COMMENT = 500


def checked(score: Any, comment: Any) -> tuple[int, str | None]:
    """The score and the comment as stored, or the error a person at the tablet can act on."""
    if not isinstance(score, int) or isinstance(score, bool) or score not in SCORES:
        raise Invalid("score must be 4 (很滿意), 3 (滿意), 2 (普通) or 1 (不滿意). 評分須為 1 到 4。",
                      code="invalid_score")
    if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_COMMENT):
        raise Malformed(f"comment must be text of at most {MAX_COMMENT} characters. 意見最多 {MAX_COMMENT} 字。",
                        code="invalid_field")
    return score, (comment or "").strip() or None


def label(score: int) -> dict[str, str]:
    return {"zh-TW": SCORES[score][0], "en": SCORES[score][1]}


def report(rows: list[dict[str, Any]], month: str) -> dict[str, Any]:
    """A month of ratings: the share satisfied against the target, by counter and by clerk, and the comments."""

    def summary(group: list[dict[str, Any]]) -> dict[str, Any]:
        n = len(group)
        ok = sum(1 for r in group if r["score"] >= SATISFIED)
        return {"ratings": n, "satisfied": ok, "satisfied_pct": round(100 * ok / n, 1) if n else None,
                "by_score": {str(s): sum(1 for r in group if r["score"] == s) for s in sorted(SCORES, reverse=True)}}

    def by(key: str) -> list[dict[str, Any]]:
        keys = sorted({r[key] or "" for r in rows})
        return [{key: k or None, **summary([r for r in rows if (r[key] or "") == k])} for k in keys]

    total = summary(rows)
    return {"month": month, "target_pct": TARGET_PCT,
            "met": total["satisfied_pct"] is not None and total["satisfied_pct"] >= TARGET_PCT, **total,
            "by_counter": by("counter"), "by_clerk": by("clerk"),
            "comments": [{"at": r["at"], "counter": r["counter"], "score": r["score"], "comment": r["comment"]}
                         for r in rows if r["comment"]]}
