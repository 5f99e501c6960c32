"""Socket.IO against a real `jiaohao serve` on loopback, with real python-socketio clients.

Every wait is an upper bound (threading.Event with a timeout), never a measured duration: the
machine running the suite may be slow and shared.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import socketio
import websocket
from conftest import ADMIN, DISPLAY, KIOSK, counter_auth, ordered_client

from server.wire.shapes import SEQ_EVENTS

WAIT = 30.0  # seconds; an upper bound on any one wait, never an expectation
DISPLAY_TOKEN = DISPLAY["Authorization"].split()[1]
Event = tuple[str, Any]


class Board:
    """A real Socket.IO client that records every event it receives, in the order received."""

    def __init__(self, url: str, token: str | None = DISPLAY_TOKEN) -> None:
        self.url, self.token = url, token
        self.events: list[Event] = []
        self._lock = threading.Lock()
        self._waiters: list[tuple[Callable[[list[Event]], bool], threading.Event]] = []
        self.sio = ordered_client(reconnection=False)  # these tests are about the wire order
        self.sio.on("*", self._on_any)

    def _on_any(self, name: str, *args: Any) -> None:
        with self._lock:
            self.events.append((name, args[0] if args else None))
            for pred, ev in self._waiters:
                if not ev.is_set() and pred(self.events):
                    ev.set()

    def connect(self) -> Board:
        auth = {"token": self.token} if self.token is not None else None
        self.sio.connect(self.url, transports=["websocket"], auth=auth, wait_timeout=WAIT)
        return self

    def close(self) -> None:
        try:
            self.sio.disconnect()
        except Exception:  # already gone: nothing to clean up
            pass

    def snapshot(self) -> list[Event]:
        with self._lock:
            return list(self.events)

    def wait_until(self, pred: Callable[[list[Event]], bool], what: str, timeout: float = WAIT) -> list[Event]:
        ev = threading.Event()
        with self._lock:
            if pred(self.events):
                return list(self.events)
            self._waiters.append((pred, ev))
        try:
            assert ev.wait(timeout), f"board never saw {what}; it saw {[(n, seq_of(d)) for n, d in self.snapshot()]}"
        finally:
            with self._lock:
                self._waiters = [w for w in self._waiters if w[1] is not ev]
        return self.snapshot()

    def wait_state(self) -> dict[str, Any]:
        events = self.wait_until(lambda es: any(n == "state" for n, _ in es), "a state")
        return next(d for n, d in events if n == "state")

    def wait_seq(self, seq: int) -> list[Event]:
        return self.wait_until(lambda es: any(seq_of(d) >= seq for n, d in es if n != "state"), f"seq {seq}")

    def after_state(self) -> list[Event]:
        """The seq events (call, queue, counter) that followed the first `state`; `hub`, `device` and
        `announcements` carry no seq (the hub's tick sends `hub` once a minute) and are not counted here."""
        events = self.snapshot()
        i = next(i for i, (n, _) in enumerate(events) if n == "state")
        return [(n, d) for n, d in events[i + 1:] if n in SEQ_EVENTS]


def seq_of(data: Any) -> int:
    return int(data["seq"]) if isinstance(data, dict) and "seq" in data else -1


@pytest.fixture
def boards(hub_process: Any) -> Iterator[Callable[..., Board]]:
    made: list[Board] = []

    def make(token: str | None = DISPLAY_TOKEN, connect: bool = True) -> Board:
        b = Board(hub_process.url, token)
        made.append(b)
        return b.connect() if connect else b

    yield make
    # Side by side: the client library waits up to 3 s for each WebSocket close handshake.
    closers = [threading.Thread(target=b.close) for b in made]
    for th in closers:
        th.start()
    for th in closers:
        th.join(WAIT)


def post(url: str, path: str, headers: dict[str, str], **kw: Any) -> dict[str, Any]:
    r = requests.post(url + "/api/v1" + path, headers=headers, timeout=WAIT, **kw)
    assert r.status_code in (200, 201), (path, r.status_code, r.text)
    return r.json()  # type: ignore[no-any-return]


def issue(url: str, service: str = "general", lane: str = "normal") -> dict[str, Any]:
    return post(url, "/tickets", KIOSK, json={"service": service, "lane": lane})["ticket"]  # type: ignore[no-any-return]


def state_seq(url: str) -> int:
    r = requests.get(url + "/api/v1/state", headers=DISPLAY, timeout=WAIT)
    assert r.status_code == 200, r.text
    return int(r.json()["seq"])


# -- connecting -------------------------------------------------------------------------------

def test_valid_token_gets_state_first(hub_process: Any, boards: Callable[..., Board]) -> None:
    b = boards()
    state = b.wait_state()
    first_name, _ = b.snapshot()[0]
    assert first_name == "state"
    assert {"seq", "counters", "recent_calls", "services"} <= set(state)
    assert isinstance(state["seq"], int) and state["seq"] >= 0
    assert [c["id"] for c in state["counters"]] == [str(i) for i in range(1, 17)]
    for c in state["counters"]:
        assert {"id", "name", "open", "ticket"} <= set(c)
    assert isinstance(state["recent_calls"], list)
    assert "general" in {s["id"] for s in state["services"]}
    for s in state["services"]:
        assert {"id", "name", "waiting", "estimated_wait_s", "open"} <= set(s)
    # The snapshot is the body of GET /state.
    assert state["seq"] == state_seq(hub_process.url)


@pytest.mark.parametrize("token", [None, "", "not-a-token", "demo-display-lobby-token-x"])
def test_connection_without_a_valid_token_is_refused(
    hub_process: Any, boards: Callable[..., Board], token: str | None
) -> None:
    witness = boards()  # a valid board, to know when the events below have gone out
    witness.wait_state()
    bad = boards(token, connect=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        bad.connect()
    # Something happens that every connected board hears about...
    t = issue(hub_process.url)
    post(hub_process.url, "/counters/3/next", counter_auth("3"))
    witness.wait_until(lambda es: any(n == "call" and d["ticket"]["id"] == t["id"] for n, d in es), "the call")
    # ...and the refused client has received nothing at all, not even a `state`.
    assert bad.snapshot() == []
    assert not bad.sio.connected


def _engineio_frames(ws: websocket.WebSocket, until: Callable[[str], bool]) -> list[str]:
    """Read engine.io text frames, answering pings, until one satisfies `until` (or the socket idles)."""
    frames: list[str] = []
    while True:
        try:
            frame = ws.recv()
        except websocket.WebSocketTimeoutException:
            return frames
        if not isinstance(frame, str) or frame == "":
            return frames
        frames.append(frame)
        if frame == "2":
            ws.send("3")
        if until(frame):
            return frames


def test_refused_raw_socket_never_gets_an_event(hub_process: Any, boards: Callable[..., Board]) -> None:
    """At the wire level: the only Socket.IO packet a refused client gets is CONNECT_ERROR."""
    witness = boards()
    witness.wait_state()
    ws_url = hub_process.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    ws = websocket.create_connection(ws_url, timeout=WAIT)
    try:
        opened = _engineio_frames(ws, lambda f: f.startswith("0"))
        assert opened and opened[-1].startswith("0"), opened  # engine.io OPEN
        ws.send("40" + json.dumps({"token": "wrong-token"}))
        frames = _engineio_frames(ws, lambda f: f.startswith("44"))
        assert frames and frames[-1].startswith("44"), frames  # Socket.IO CONNECT_ERROR
        assert not any(f.startswith("42") for f in frames), frames
        # The hub goes on announcing to the board room; nothing of it reaches this socket.
        t = issue(hub_process.url)
        post(hub_process.url, "/counters/4/next", counter_auth("4"))
        witness.wait_until(lambda es: any(n == "call" and d["ticket"]["id"] == t["id"] for n, d in es), "the call")
        ws.settimeout(1.0)  # a short look for anything that might still arrive; not a timing assertion
        later = _engineio_frames(ws, lambda f: False)
        assert not any(f.startswith("4") for f in later), later
    finally:
        ws.close()


# -- one `next`, every board ----------------------------------------------------------------------

def test_next_reaches_every_board_call_then_queue_and_counter(
    hub_process: Any, boards: Callable[..., Board]
) -> None:
    url = hub_process.url
    bs = [boards() for _ in range(5)]
    base = [b.wait_state()["seq"] for b in bs]
    assert len(set(base)) == 1
    t = issue(url)
    called = post(url, "/counters/3/next", counter_auth("3"))["ticket"]
    assert called["id"] == t["id"]
    last = state_seq(url)
    streams = []
    for b in bs:
        b.wait_seq(last)
        events = [(n, d) for n, d in b.after_state() if seq_of(d) <= last]
        names = [n for n, _ in events]
        ci = names.index("call")
        call = events[ci][1]
        assert call["ticket"]["id"] == t["id"]
        assert call["ticket"]["number"] == t["number"]
        assert call["ticket"]["status"] == "called"
        assert call["counter"]["id"] == "3" and call["counter"]["name"]
        assert call["recall"] is False
        assert call["at"]
        # The `queue` and `counter` this next caused come after its `call`.
        rest = events[ci + 1:]
        assert "queue" in [n for n, _ in rest] and "counter" in [n for n, _ in rest], names
        counter_ev = next(d for n, d in rest if n == "counter")
        assert counter_ev["counter"]["id"] == "3"
        assert counter_ev["counter"]["ticket"]["id"] == t["id"]
        queue_ev = next(d for n, d in rest if n == "queue")
        general = next(s for s in queue_ev["services"] if s["id"] == "general")
        assert general["waiting"] == 0
        streams.append([(n, seq_of(d)) for n, d in events])
    # Every board heard the same events with the same numbers.
    assert all(s == streams[0] for s in streams), streams


def test_seq_grows_by_one_per_event_without_gaps(hub_process: Any, boards: Callable[..., Board]) -> None:
    url = hub_process.url
    b = boards()
    start = b.wait_state()["seq"]
    c3 = counter_auth("3")
    ops: list[tuple[str, Callable[[], Any]]] = [
        ("issue", lambda: issue(url)),
        ("issue", lambda: issue(url, "quick")),
        ("next", lambda: post(url, "/counters/3/next", c3)),
        ("recall", lambda: post(url, "/counters/3/recall", c3)),
        ("finish", lambda: post(url, "/counters/3/finish", c3)),
        ("close", lambda: post(url, "/counters/3/close", c3)),
        ("open", lambda: post(url, "/counters/3/open", c3)),
        ("next", lambda: post(url, "/counters/3/next", c3)),
        ("next", lambda: post(url, "/counters/3/next", c3)),  # finishes B001; nothing waits
    ]
    groups: list[tuple[str, list[Event]]] = []
    seen = start
    for name, op in ops:
        op()
        last = state_seq(url)
        assert last > seen, f"{name} emitted no event"
        b.wait_seq(last)
        groups.append((name, [(n, d) for n, d in b.after_state() if seen < seq_of(d) <= last]))
        seen = last
    # No gaps, no repeats, in order of arrival: start+1, start+2, ...
    after = b.after_state()
    seqs = [seq_of(d) for _, d in after]
    assert seqs == list(range(start + 1, start + 1 + len(seqs))), seqs
    assert seqs[-1] == seen
    for name, events in groups:
        names = [n for n, _ in events]
        if name == "issue":
            assert names == ["queue"], (name, names)
        elif name == "next" and "call" in names:
            assert names[0] == "call", (name, names)
            assert "queue" in names and "counter" in names, (name, names)
        elif name == "recall":
            assert names == ["call"] and events[0][1]["recall"] is True, (name, names)
        else:  # finish, close, open and a next with nothing waiting change a counter
            assert "counter" in names and "call" not in names, (name, names)
    by_name = {name: events for name, events in groups}  # close, open, finish, recall occur once
    assert [d["counter"]["open"] for n, d in by_name["close"] if n == "counter"] == [False]
    assert [d["counter"]["open"] for n, d in by_name["open"] if n == "counter"] == [True]
    assert [d["counter"]["ticket"] for n, d in by_name["finish"] if n == "counter"] == [None]


def test_seq_has_no_gaps_under_concurrent_operations(hub_process: Any, boards: Callable[..., Board]) -> None:
    """Three counters and a kiosk at once: every board sees one gap-free stream, the same one."""
    url = hub_process.url
    bs = [boards() for _ in range(4)]
    start = bs[0].wait_state()["seq"]
    for b in bs:
        assert b.wait_state()["seq"] == start
    for _ in range(12):
        issue(url)
    errors: list[str] = []
    calls: list[str] = []
    lock = threading.Lock()

    def counter(cid: str) -> None:
        with requests.Session() as s:
            for _ in range(6):
                r = s.post(f"{url}/api/v1/counters/{cid}/next", headers=counter_auth(cid), timeout=WAIT)
                if r.status_code != 200:
                    errors.append(f"{cid}: {r.status_code} {r.text}")
                    return
                t = r.json()["ticket"]
                if t is None:
                    return
                with lock:
                    calls.append(t["id"])

    def kiosk() -> None:
        with requests.Session() as s:
            for _ in range(6):
                r = s.post(f"{url}/api/v1/tickets", json={"service": "general"}, headers=KIOSK, timeout=WAIT)
                if r.status_code != 201:
                    errors.append(f"kiosk: {r.status_code} {r.text}")

    threads = [threading.Thread(target=counter, args=(c,)) for c in ("3", "4", "5")]
    threads.append(threading.Thread(target=kiosk))
    for th in threads:
        th.start()
    for th in threads:
        th.join(WAIT * 2)
    assert not any(th.is_alive() for th in threads)
    assert not errors, errors
    last = state_seq(url)
    streams = []
    for b in bs:
        b.wait_seq(last)
        after = b.after_state()
        seqs = [seq_of(d) for _, d in after]
        assert seqs == list(range(start + 1, last + 1)), seqs
        streams.append([(n, seq_of(d)) for n, d in after])
        call_ids = [d["ticket"]["id"] for n, d in after if n == "call"]
        assert sorted(call_ids) == sorted(calls)
    assert all(s == streams[0] for s in streams)


def board_view(events: list[Event]) -> tuple[dict[str, tuple[bool, str | None]], dict[str, int], int]:
    """What a board shows after applying, to its `state`, the events that followed it (a reducer)."""
    state = next(d for n, d in events if n == "state")
    counters = {c["id"]: (c["open"], c["ticket"]["id"] if c["ticket"] else None) for c in state["counters"]}
    waiting = {s["id"]: s["waiting"] for s in state["services"]}
    seq = state["seq"]
    for name, data in events[events.index(("state", state)) + 1:]:
        if name not in SEQ_EVENTS:
            continue  # `hub` (once a minute), `device`, `announcements`: no seq
        assert data["seq"] == seq + 1, f"gap or repeat after seq {seq}: {name} {data['seq']}"
        seq = data["seq"]
        if name == "counter":
            c = data["counter"]
            counters[c["id"]] = (c["open"], c["ticket"]["id"] if c["ticket"] else None)
        elif name == "queue":
            waiting = {s["id"]: s["waiting"] for s in data["services"]}
    return counters, waiting, seq


def test_boards_connecting_mid_storm_continue_from_their_state(
    hub_process: Any, boards: Callable[..., Board]
) -> None:
    """Boards that join while counters and a kiosk are busy: each `state` plus the events after it
    is gap-free and adds up to exactly what GET /state says at the end."""
    url = hub_process.url
    for _ in range(30):
        issue(url)
    errors: list[str] = []
    go = threading.Event()

    def counter(cid: str) -> None:
        go.wait(WAIT)
        with requests.Session() as s:
            for _ in range(40):
                r = s.post(f"{url}/api/v1/counters/{cid}/next", headers=counter_auth(cid), timeout=WAIT)
                if r.status_code != 200:
                    errors.append(f"{cid}: {r.status_code} {r.text}")
                    return
                if r.json()["ticket"] is None:
                    return

    def kiosk() -> None:
        go.wait(WAIT)
        with requests.Session() as s:
            for _ in range(20):
                r = s.post(f"{url}/api/v1/tickets", json={"service": "general"}, headers=KIOSK, timeout=WAIT)
                if r.status_code != 201:
                    errors.append(f"kiosk: {r.status_code} {r.text}")

    threads = [threading.Thread(target=counter, args=(c,)) for c in ("3", "4", "5", "6")]
    threads.append(threading.Thread(target=kiosk))
    for th in threads:
        th.start()
    go.set()
    late = [boards() for _ in range(4)]  # connecting while the others work
    for th in threads:
        th.join(WAIT * 2)
    assert not any(th.is_alive() for th in threads)
    assert not errors, errors
    final = requests.get(url + "/api/v1/state", headers=DISPLAY, timeout=WAIT).json()
    want_counters = {c["id"]: (c["open"], c["ticket"]["id"] if c["ticket"] else None) for c in final["counters"]}
    want_waiting = {s["id"]: s["waiting"] for s in final["services"]}
    for b in late + [boards()]:
        b.wait_state()
        b.wait_until(lambda es: max(seq_of(d) for _, d in es) >= final["seq"], f"seq {final['seq']}")
        counters, waiting, seq = board_view(b.snapshot())
        assert seq == final["seq"]
        assert counters == want_counters
        assert waiting == want_waiting


# -- late boards, recalls -------------------------------------------------------------------------

def test_late_board_gets_state_with_last_seq_and_called_ticket(
    hub_process: Any, boards: Callable[..., Board]
) -> None:
    url = hub_process.url
    early = boards()
    early.wait_state()
    issue(url)
    t2 = issue(url, "quick")
    called = post(url, "/counters/11/next", counter_auth("11"))["ticket"]
    assert called["id"] == t2["id"]
    last = state_seq(url)
    early.wait_seq(last)
    last_event_seq = max(seq_of(d) for n, d in early.after_state())
    assert last_event_seq == last

    late = boards()
    state = late.wait_state()
    assert late.snapshot()[0][0] == "state"
    assert state["seq"] == last_event_seq
    c11 = next(c for c in state["counters"] if c["id"] == "11")
    assert c11["ticket"] is not None and c11["ticket"]["id"] == t2["id"]
    assert c11["ticket"]["status"] == "called"
    assert state["recent_calls"] and state["recent_calls"][0]["ticket"]["id"] == t2["id"]
    assert state["recent_calls"][0]["counter"]["id"] == "11"
    waiting = {s["id"]: s["waiting"] for s in state["services"]}
    assert waiting["general"] == 1 and waiting["quick"] == 0
    # The next event the late board hears continues right after its snapshot.
    post(url, "/counters/11/finish", counter_auth("11"))
    events = late.wait_seq(last + 1)
    assert [seq_of(d) for n, d in events if n != "state"][0] == last + 1


def test_recall_announces_again_with_recall_true(hub_process: Any, boards: Callable[..., Board]) -> None:
    url = hub_process.url
    b = boards()
    b.wait_state()
    t = issue(url)
    post(url, "/counters/5/next", counter_auth("5"))
    r = requests.post(url + "/api/v1/counters/5/recall", headers=ADMIN, timeout=WAIT)  # admin may act too
    assert r.status_code == 200, r.text
    assert r.json()["ticket"]["id"] == t["id"] and r.json()["ticket"]["status"] == "called"
    events = b.wait_until(lambda es: sum(1 for n, _ in es if n == "call") >= 2, "two calls")
    calls = [d for n, d in events if n == "call"]
    assert [c["recall"] for c in calls] == [False, True]
    first, again = calls
    assert again["ticket"]["id"] == first["ticket"]["id"] == t["id"]
    assert again["ticket"]["number"] == t["number"]
    assert again["counter"]["id"] == "5"
    assert again["seq"] > first["seq"]


def test_recall_with_nothing_called_emits_nothing(hub_process: Any, boards: Callable[..., Board]) -> None:
    url = hub_process.url
    b = boards()
    start = b.wait_state()["seq"]
    r = requests.post(url + "/api/v1/counters/6/recall", headers=counter_auth("6"), timeout=WAIT)
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"]
    assert state_seq(url) == start
    # A later event is the very next number: the refused recall used none.
    issue(url)
    events = b.wait_seq(start + 1)
    assert [seq_of(d) for n, d in events if n != "state"] == [start + 1]
