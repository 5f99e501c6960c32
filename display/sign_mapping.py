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
PAGE_S = 2.5  # a text sign shows each page of an announcement this long: read in one glance, not chased


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


def text_pages(text: str, chars: int) -> list[str]:
    """`text` as pages a sign `chars` wide shows one after another: whole words where they fit, a word
    longer than the sign cut into pieces. Characters the sign's font lacks (punctuation) part words."""
    pages: list[str] = []
    line = ""
    for word in "".join(c if c in SIGN_CHARS else " " for c in text.upper()).split():
        while len(word) > chars:
            if line:
                pages.append(line)
                line = ""
            pages.append(word[:chars])
            word = word[chars:]
        if not word:
            continue
        if line and len(line) + 1 + len(word) <= chars:
            line = f"{line} {word}"
        else:
            if line:
                pages.append(line)
            line = word
    if line:
        pages.append(line)
    return pages


def announcement_view(board: BoardState, chars: int, now: float) -> SignView:
    """What a text sign (docs/signs.md: `text = true`) shows while its counter is idle: the English of the
    active announcements (the bus carries ASCII only: a 5x7 sign has no Chinese font), page by page,
    a blank page between two announcements. Dark when there are none."""
    pages: list[str] = []
    for a in board.announcements:
        more = text_pages(a.en, chars)
        if more:
            pages += more + [""]
    if not pages:
        return SignView("")
    return SignView(pages[int(now // PAGE_S) % len(pages)])


def with_announcements(shown: SignsPicture, board: BoardState, chars: int, now: float) -> dict[str, SignView]:
    """The views of text signs: each counter's view as `picture` made it, except that an idle counter
    (dark: closed, or nothing called) shows the announcements instead. A call, the counter's number and
    the offline dashes always win: they are never dark, so they are never replaced."""
    if shown.offline or board.seq is None or not board.announcements:
        return dict(shown.views)
    ann = announcement_view(board, chars, now)
    return {cid: (ann if not v.text else v) for cid, v in shown.views.items()}
