"""What every LED counter sign shows (issue #4), from the board state (display/state.py). Pure: no IO,
time only as an argument.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .sign_frame import MAX_TEXT
from .state import BoardState, CounterView, parse_counter

SIGN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -")  # what every sign's font has
OFFLINE_TEXT = "----"  # shown after OFFLINE_AFTER_S without the hub: "not a current number"
OFFLINE_AFTER_S = 10.0


@dataclass(frozen=True)
class SignView:
    text: str  # "" is a dark sign
    blink: bool = False  # this update is a new call or a recall


def sign_text(number: str) -> str:
    """A ticket number as a sign can show it: capitals, and '-' for a character no sign's font has.
    Numbers are `[A-Z]{0,3}` and digits (the office file says so); this only guards the wire."""
    return "".join(c if c in SIGN_CHARS else "-" for c in number.upper())[:MAX_TEXT]


def counter_text(view: CounterView | None) -> str:
    """What one counter's sign shows: its called number; dark when closed, idle or unknown to the hub.
    Private services (疼您櫃台) show the number too: it is on the citizen's ticket, nothing more is said."""
    if view is None or not view.open or not view.number:
        return ""
    return sign_text(view.number)


def counter_text_json(counter: Mapping[str, Any]) -> str:
    """The same, from the hub's counter JSON (GET /state `counters[]`, or a `counter` event's `counter`)."""
    return counter_text(parse_counter(dict(counter)))


def _latest_calls(board: BoardState) -> dict[str, tuple[int, str]]:
    """Per counter, the newest call the board knows of: (seq, ticket id)."""
    latest: dict[str, tuple[int, str]] = {}
    calls = ((board.hero,) if board.hero else ()) + board.recent
    for c in calls:
        key = (c.seq, c.ticket_id or c.number)
        if c.counter_id not in latest or key[0] > latest[c.counter_id][0]:
            latest[c.counter_id] = key
    return latest


@dataclass(frozen=True)
class SignsPicture:
    """What the signs show after one update, and what the next update compares with."""

    views: Mapping[str, SignView]
    offline: bool = False  # every sign shows OFFLINE_TEXT
    latest: Mapping[str, tuple[int, str]] | None = None  # newest call per counter; None: no picture yet


def picture(board: BoardState, counter_ids: Sequence[str], now: float,
            last: SignsPicture | None = None) -> SignsPicture:
    """What the sign of each counter in `counter_ids` shows, given the board (display/state.py) at `now`
    (epoch seconds) and the picture the signs showed `last`.

    Never a stale number: after OFFLINE_AFTER_S without the hub every sign shows OFFLINE_TEXT, and keeps
    it after the link is back until the new snapshot is in (the board's numbers are an outage old until
    then); before the first snapshot the signs stay dark. A counter whose newest call differs from the
    last picture's (a new call or a recall) blinks; the first picture, or the first after an outage,
    shows what was called earlier or while away, and blinks only for calls it had not shown."""
    offline = board.offline_for(now) >= OFFLINE_AFTER_S or bool(
        last is not None and last.offline and (board.resyncing or not board.connected))
    if offline:
        # Keep what was shown before the outage: calls made during it blink when the snapshot shows them.
        return SignsPicture({cid: SignView(OFFLINE_TEXT) for cid in counter_ids}, True,
                            last.latest if last is not None else None)
    if board.seq is None:
        return SignsPicture({cid: SignView("") for cid in counter_ids})
    counters = {c.id: c for c in board.counters}
    latest = _latest_calls(board)
    before = last.latest if last is not None else None
    views: dict[str, SignView] = {}
    for cid in counter_ids:
        view = counters.get(cid)
        text = counter_text(view)
        blink = (before is not None and bool(text) and cid in latest and latest[cid] != before.get(cid)
                 and view is not None and view.number is not None and sign_text(view.number) == text)
        views[cid] = SignView(text, blink)
    return SignsPicture(views, False, latest)


def sign_views(board: BoardState, counter_ids: Sequence[str], now: float,
               last: SignsPicture | None = None) -> dict[str, SignView]:
    """`picture(...).views`, for a caller that only wants the texts."""
    return dict(picture(board, counter_ids, now, last).views)
