"""What the board shows, as a pure reducer over the hub's events. No pygame, no sockets, no clock.

`reduce(state, event_name, data, now=...)` returns the next BoardState and the effects the app must
carry out: `Announce(call)` (speak it) and `Resync(reason)` (read GET /state again).

The seq rules (CONTRACT.md): `state` is a snapshot carrying the seq of the last event it includes;
every `call`, `queue` and `counter` event carries seq = previous + 1. So:
- an event with seq <= the shown seq is already in the picture and is ignored;
- seq == shown + 1 is applied;
- a larger seq is a gap: the event is held back, a resync is asked for, and the held events that
  are newer than the snapshot are replayed on top of it, so announcements stay in seq order.
`announcements` (issue 9) carries no seq: it replaces the marquee's set whenever it comes, and the
next snapshot's set replaces it again, so a lost one is repaired by the next resync.
Besides the hub's events the client feeds three of its own: `link_up`, `link_down`, `link_error`.
The `now` it is given is the hub's time as the board keeps it (server/wire/hubtime.py, `timeline()`),
so that a missed call's age is measured against the hub's own `at`, whatever the board's clock says.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from server.wire import shapes
from server.wire.hubtime import parse_server_time
from server.wire.text import Text

RECENT_CALLS = 10
# A call missed during a gap or an outage is spoken when the snapshot reveals it, unless it is
# older than this: a number called minutes ago and announced now would send people to the wrong place.
MISSED_CALL_MAX_AGE_S = 60.0
MAX_PENDING = 500  # events held during a resync; the snapshot covers anything beyond

LOCAL_EVENTS = ("link_up", "link_down", "link_error")


@dataclass(frozen=True)
class Call:
    seq: int
    number: str
    ticket_id: str
    counter_id: str
    counter_name: Text
    recall: bool = False
    priority: bool = False
    private: bool = False
    appointment: bool = False  # 預約: called first at its slot; the board says why (never the booking code)
    service_name: Text | None = None  # None for private services: the board shows number and counter only
    lane_name: Text | None = None  # set for priority lanes of services that are not private
    at: float | None = None  # epoch seconds, from the hub's ISO time


@dataclass(frozen=True)
class CounterView:
    id: str
    name: Text
    open: bool
    number: str | None  # None: nothing called there
    priority: bool = False


@dataclass(frozen=True)
class ServiceView:
    id: str
    name: Text
    waiting: int
    estimated_wait_s: int | None
    open: bool


@dataclass(frozen=True)
class Announce:
    call: Call


@dataclass(frozen=True)
class Resync:
    reason: str


Effect = Announce | Resync


@dataclass(frozen=True)
class BoardState:
    seq: int | None = None  # seq of the last event shown; None until the first snapshot
    announced_seq: int | None = None  # highest call seq handed to the announcer
    resyncing: bool = False  # a gap or a lost link: the next snapshot is taken whatever its seq
    pending: tuple[tuple[str, dict[str, Any]], ...] = ()  # events held until that snapshot
    office: Text = Text("", "")
    timezone: str = "Asia/Taipei"
    business_date: str | None = None
    counters: tuple[CounterView, ...] = ()
    services: tuple[ServiceView, ...] = ()
    recent: tuple[Call, ...] = ()  # newest first, one entry per ticket
    hero: Call | None = None  # the number now called, shown large
    hero_at: float | None = None  # when it arrived here (it flashes for a while); None if from a snapshot
    announcements: tuple[Text, ...] = ()  # the active ones, in the hub's order: the marquee
    connected: bool = False
    offline_since: float | None = None  # when the link went down (or the board started)
    link_error: str | None = None
    hold: Text | None = None  # the hub refuses changes for now (its clock, its disk): `state.hub`, `hub` events
    # The hub has said its time (`server_time` of `state` and `hub`): the board shows the time only then,
    # and only the hub's (server/wire/hubtime.py), never its own clock's.
    clock_known: bool = False

    def offline_for(self, now: float) -> float:
        """Seconds without the hub (0 when connected and showing a snapshot)."""
        if self.connected and self.seq is not None:
            return 0.0
        return max(0.0, now - self.offline_since) if self.offline_since is not None else 0.0


def initial(now: float) -> BoardState:
    """A board that has just started: not connected yet, counting from now."""
    return BoardState(offline_since=now)


def on_new_time_line(state: BoardState, moved: float) -> BoardState:
    """The times stamped on the board's time line, moved by `moved` seconds with it (server/wire/hubtime.py)."""
    return replace(state,
                   offline_since=None if state.offline_since is None else state.offline_since + moved,
                   hero_at=None if state.hero_at is None else state.hero_at + moved)


# -- the wire shapes (server/wire/shapes.py) as the board holds them ------------------------------
# Defensive: a malformed event must never take the board down. WireError (a ValueError) and the
# errors below make the reducer read the whole picture again.


def _epoch(iso: Any) -> float | None:
    if not isinstance(iso, str):
        return None
    try:
        return datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return None


def call_view(c: shapes.Call) -> Call:
    t = c.ticket
    return Call(
        seq=c.seq,
        number=t.number,
        ticket_id=t.id,
        counter_id=c.counter.id,
        counter_name=c.counter.name,
        recall=c.recall,
        priority=t.priority,
        private=t.private,
        appointment=t.by_appointment,
        service_name=None if t.private else t.service_name,
        lane_name=t.lane_name if (t.priority and not t.private) else None,
        at=_epoch(c.at),
    )


def counter_view(c: shapes.Counter) -> CounterView:
    t = c.ticket
    return CounterView(
        id=c.id,
        name=c.name,
        open=c.open,
        number=(t.number or None) if t else None,  # a walk-in has no number to show
        priority=bool(t and t.priority),
    )


def service_view(s: shapes.Service) -> ServiceView:
    wait = s.estimated_wait_s
    return ServiceView(s.id, s.name, s.waiting, int(wait) if wait is not None else None, s.open)


def parse_call(data: dict[str, Any]) -> Call:
    return call_view(shapes.Call.from_json(data))


def parse_counter(data: dict[str, Any]) -> CounterView:
    return counter_view(shapes.Counter.from_json(data))


def parse_service(data: dict[str, Any]) -> ServiceView:
    return service_view(shapes.Service.from_json(data))


def _dedupe(calls: list[Call] | tuple[Call, ...]) -> tuple[Call, ...]:
    """Newest first, one row per ticket: a recall moves the ticket up instead of listing it twice."""
    seen: set[tuple[str, str]] = set()
    out: list[Call] = []
    for c in calls:
        key = (c.ticket_id or c.number, c.counter_id)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return tuple(out[:RECENT_CALLS])


# -- the reducer -----------------------------------------------------------------------------------


def reduce(
    state: BoardState, event: str, data: Any, now: float | None = None
) -> tuple[BoardState, list[Effect]]:
    """The next state and the effects to carry out. `now` (epoch seconds) stamps flashes and outages."""
    if event == "state":
        if not isinstance(data, dict) or not isinstance(data.get("seq"), int):
            return state, [Resync("malformed state")]
        try:
            return _snapshot(state, data, now)
        except (KeyError, TypeError, ValueError, AttributeError):
            return state, [Resync("malformed state")]
    if event in ("call", "queue", "counter"):
        if not isinstance(data, dict) or not isinstance(data.get("seq"), int):
            return state, []
        return _event(state, event, data, now)
    if event == "announcements":
        # The active set, whole: replaced, not merged. A malformed one keeps what is shown.
        if not isinstance(data, dict) or not isinstance(data.get("announcements"), list):
            return state, []
        return replace(state, announcements=shapes.active_announcements(data["announcements"])), []
    if event == "link_up":
        # The hub sends `state` on connect, possibly before this arrives; the GET makes sure anyway.
        return replace(state, connected=True, link_error=None), [Resync("reconnected")]
    if event == "link_down":
        since = state.offline_since if (not state.connected and state.offline_since is not None) else now
        return replace(state, connected=False, resyncing=True, offline_since=since), []
    if event == "link_error":
        msg = data.get("message") if isinstance(data, dict) else data
        return replace(state, link_error=str(msg) if msg else None), []
    if event == "hub":
        return replace(state, hold=_hold(data), clock_known=_clock_known(data, state.clock_known)), []
    return state, []  # events and fields this board does not know are ignored (CONTRACT.md)


def _hold(hub: Any) -> Text | None:
    """Why the hub refuses changes (`{"status", "message"}`), or None when it takes them."""
    if not isinstance(hub, dict) or hub.get("status") in (None, "ok"):
        return None
    return Text.from_json(hub.get("message") or str(hub.get("status")))


def _clock_known(data: Any, before: bool) -> bool:
    """Whether the hub's time is known after a message; one without `server_time` says nothing of it."""
    if not isinstance(data, dict) or "server_time" not in data:
        return before
    return parse_server_time(data["server_time"]) is not None


def _snapshot(state: BoardState, data: dict[str, Any], now: float | None) -> tuple[BoardState, list[Effect]]:
    snap = shapes.State.from_json(data)
    seq = snap.seq
    if state.seq is not None and not state.resyncing and seq < state.seq:
        return state, []  # a slow GET answered after newer events arrived: keep the newer picture
    recent_all = [call_view(c) for c in snap.recent_calls]
    effects: list[Effect] = []
    announced = state.announced_seq
    hub_reset = state.seq is not None and seq < state.seq  # a fresh database: its seq starts again
    missed: list[Call] = []
    if announced is None or hub_reset:
        announced = seq  # what the first picture shows was called before this board was on: not spoken
    else:
        missed = sorted((c for c in recent_all if announced < c.seq <= seq), key=lambda c: c.seq)
        missed = [c for c in missed if now is None or c.at is None or now - c.at <= MISSED_CALL_MAX_AGE_S]
        effects += [Announce(c) for c in missed]
        announced = max(announced, seq)
    hero = recent_all[0] if recent_all else None
    if missed:
        hero, hero_at = missed[-1], now
    elif hero and state.hero and (hero.seq, hero.ticket_id) == (state.hero.seq, state.hero.ticket_id):
        hero_at = state.hero_at  # the same call, seen again: keep flashing where it was
    else:
        hero_at = None
    office = snap.office
    new = replace(
        state,
        seq=seq,
        announced_seq=announced,
        resyncing=False,
        pending=(),
        office=office.name if office and not office.name.blank else state.office,
        timezone=(office.timezone if office else None) or state.timezone,
        business_date=snap.business_date or state.business_date,
        counters=tuple(counter_view(c) for c in snap.counters),
        services=tuple(service_view(s) for s in snap.services),
        recent=_dedupe(recent_all),
        hero=hero,
        hero_at=hero_at,
        announcements=tuple(a.text for a in snap.announcements if a.active and not a.text.blank),
        hold=_hold(data.get("hub")) if "hub" in data else state.hold,
        clock_known=_clock_known(data, state.clock_known),
    )
    # Events that came during the resync and are newer than this picture go on top, in seq order.
    for name, ev in sorted(state.pending, key=lambda p: int(p[1]["seq"])):
        if int(ev["seq"]) > seq:
            new, more = _event(new, name, ev, now)
            effects += more
    return new, _one_resync(effects)


def _one_resync(effects: list[Effect]) -> list[Effect]:
    out: list[Effect] = []
    resync = False
    for e in effects:
        if isinstance(e, Resync):
            if resync:
                continue
            resync = True
        out.append(e)
    return out


def _event(state: BoardState, name: str, data: dict[str, Any], now: float | None) -> tuple[BoardState, list[Effect]]:
    seq = int(data["seq"])
    if state.seq is None or state.resyncing:
        # Held, not applied: the snapshot decides what is already in the picture (its seq may even
        # be lower than ours after a hub was given a fresh database).
        pending = (state.pending + ((name, data),))[-MAX_PENDING:]
        first = state.seq is None and not state.pending
        return replace(state, pending=pending), [Resync("event before snapshot")] if first else []
    if seq <= state.seq:
        return state, []  # already in the picture
    if seq > state.seq + 1:
        return replace(state, resyncing=True, pending=((name, data),)), [Resync(f"gap: {state.seq} -> {seq}")]
    try:
        return _apply(replace(state, seq=seq), name, data, now)
    except (KeyError, TypeError, ValueError, AttributeError):
        # Its seq is counted but its content is unusable: read the whole picture again.
        return replace(state, seq=seq, resyncing=True), [Resync(f"malformed {name}")]


def _apply(state: BoardState, name: str, data: dict[str, Any], now: float | None) -> tuple[BoardState, list[Effect]]:
    if name == "queue":
        return replace(state, services=tuple(parse_service(s) for s in data["services"])), []
    if name == "counter":
        view = parse_counter(data["counter"])
        counters = tuple(view if c.id == view.id else c for c in state.counters)
        if view.id not in {c.id for c in state.counters}:
            counters += (view,)
        return replace(state, counters=counters), []
    call = parse_call(data)
    counters = tuple(
        replace(c, number=call.number, priority=call.priority) if c.id == call.counter_id else c
        for c in state.counters
    )
    effects: list[Effect] = []
    announced = state.announced_seq
    if announced is None or call.seq > announced:
        effects.append(Announce(call))
        announced = call.seq
    return replace(
        state,
        hero=call,
        hero_at=now,
        recent=_dedupe((call,) + state.recent),
        counters=counters,
        announced_seq=announced,
    ), effects
