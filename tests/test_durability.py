"""What the API has answered for is on disk: SIGKILL the real hub right after a 2xx, start it again
on the same database, and nothing acknowledged is lost, no number is handed out twice, and `seq`
never goes backwards. Also: one database, one hub.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import ADMIN, DISPLAY, KIOSK, ROOT, HubProcess, counter_auth, ordered_client

WAIT = 30.0  # an upper bound on any one wait, never an expectation
DISPLAY_TOKEN = DISPLAY["Authorization"].split()[1]


@pytest.fixture
def hubs() -> Iterator[list[HubProcess]]:
    """Every hub a test starts; all are stopped at the end, whatever happened."""
    started: list[HubProcess] = []
    yield started
    for hp in started:
        hp.stop()


def start(hubs: list[HubProcess], db: Path, port: int | None = None) -> HubProcess:
    hp = HubProcess(db, port=port)
    hubs.append(hp)
    return hp.start(timeout=60)


def ok(r: requests.Response, *status: int) -> dict[str, Any]:
    assert r.status_code in (status or (200,)), (r.request.method, r.request.url, r.status_code, r.text)
    return r.json()  # type: ignore[no-any-return]


def issue(url: str, service: str = "general", lane: str = "normal", key: str | None = None) -> dict[str, Any]:
    headers = {**KIOSK, **({"Idempotency-Key": key} if key else {})}
    r = requests.post(f"{url}/api/v1/tickets", json={"service": service, "lane": lane}, headers=headers, timeout=WAIT)
    return ok(r, 201)["ticket"]  # type: ignore[no-any-return]


def counter_op(url: str, cid: str, op: str) -> dict[str, Any]:
    r = requests.post(f"{url}/api/v1/counters/{cid}/{op}", headers=counter_auth(cid), timeout=WAIT)
    return ok(r)


def get_ticket(url: str, tid: str) -> dict[str, Any]:
    return ok(requests.get(f"{url}/api/v1/tickets/{tid}", headers=DISPLAY, timeout=WAIT))["ticket"]  # type: ignore[no-any-return]


def get_state(url: str) -> dict[str, Any]:
    return ok(requests.get(f"{url}/api/v1/state", headers=DISPLAY, timeout=WAIT))


class SeqWatcher:
    """A board that only remembers the highest `seq` it has been told about."""

    def __init__(self, url: str) -> None:
        self.max_seq = -1
        self.lock = threading.Lock()
        self.got_state = threading.Event()
        self.sio = ordered_client(reconnection=False)
        self.sio.on("*", self._on)
        self.sio.connect(url, transports=["websocket"], auth={"token": DISPLAY_TOKEN}, wait_timeout=WAIT)
        assert self.got_state.wait(WAIT), "no state on connect"

    def _on(self, name: str, data: Any = None) -> None:
        if isinstance(data, dict) and isinstance(data.get("seq"), int):
            with self.lock:
                self.max_seq = max(self.max_seq, data["seq"])
        if name == "state":
            self.got_state.set()

    def close(self) -> None:
        try:
            self.sio.disconnect()
        except Exception:  # the hub was killed under it: nothing to close
            pass


def test_acknowledged_changes_survive_sigkill(hubs: list[HubProcess], tmp_path: Path) -> None:
    db = tmp_path / "hub.db"
    hp = start(hubs, db)
    url = hp.url
    watcher = SeqWatcher(url)
    try:
        expected: dict[str, dict[str, Any]] = {}  # ticket id -> the ticket as last acknowledged

        def seen(t: dict[str, Any]) -> dict[str, Any]:
            expected[t["id"]] = t
            return t

        def call(cid: str) -> dict[str, Any]:
            held = holding.get(cid)
            t = counter_op(url, cid, "next")["ticket"]
            assert t is not None and t["status"] == "called" and t["counter"] == cid
            if held:  # `next` finished the ticket this counter held
                expected[held] = {**expected[held], "status": "done"}
            holding[cid] = t["id"]
            return seen(t)

        holding: dict[str, str] = {}
        general = [seen(issue(url)) for _ in range(6)]
        quick = [seen(issue(url, "quick")) for _ in range(3)]
        elderly = seen(issue(url, "general", "elderly"))
        keyed = seen(issue(url, "general", key="kiosk-press-0001"))
        assert [t["number"] for t in general] == [f"A{i:03d}" for i in range(1, 7)]
        assert [t["number"] for t in quick] == ["B001", "B002", "B003"]
        assert elderly["number"] == "A007" and keyed["number"] == "A008"

        call("3")
        call("4")
        call("4")  # finishes its first ticket, calls another
        call("5")
        seen(counter_op(url, "5", "finish")["ticket"])
        holding.pop("5")
        call("6")
        seen(counter_op(url, "6", "no-show")["ticket"])
        holding.pop("6")
        call("11")
        counter_op(url, "7", "close")
        before_last = get_state(url)["seq"]
        last_call = call("8")
        hp.kill()  # SIGKILL right after the 2xx
        assert hp.proc is not None and hp.proc.returncode == -9
    finally:
        watcher.close()
    last_seen = max(watcher.max_seq, before_last + 1)  # the final `next` emitted at least its `call`

    statuses = {t["status"] for t in expected.values()}
    assert {"waiting", "called", "done", "no_show"} <= statuses, statuses

    hp2 = start(hubs, db, port=hp.port)  # the same database, the same address
    url = hp2.url
    for tid, want in expected.items():
        got = get_ticket(url, tid)
        assert (got["number"], got["status"], got["counter"], got["service"], got["lane"]) == (
            want["number"], want["status"], want["counter"], want["service"], want["lane"]
        ), (tid, want, got)
        assert got["issued_at"] == want["issued_at"]

    state = get_state(url)
    counters = {c["id"]: c for c in state["counters"]}
    for cid, tid in holding.items():
        assert counters[cid]["ticket"] is not None, f"counter {cid} lost its ticket"
        assert counters[cid]["ticket"]["id"] == tid
        assert counters[cid]["ticket"]["status"] == "called"
    assert counters["8"]["ticket"]["id"] == last_call["id"]
    assert counters["5"]["ticket"] is None and counters["6"]["ticket"] is None
    assert counters["7"]["open"] is False
    waiting = {s["id"]: s["waiting"] for s in state["services"]}
    assert waiting["general"] == sum(
        1 for t in expected.values() if t["service"] == "general" and t["status"] == "waiting")

    # seq never goes backwards across the crash, and the next event continues from the snapshot.
    assert state["seq"] >= last_seen, (state["seq"], last_seen)
    watcher2 = SeqWatcher(url)
    try:
        # Numbering continues: never a number handed out before the crash.
        nxt = issue(url)
        assert nxt["number"] == "A009"
        assert issue(url, "quick")["number"] == "B004"
        assert get_state(url)["seq"] > state["seq"]
    finally:
        watcher2.close()
    # The Idempotency-Key answered before the crash still names the same ticket.
    r = requests.post(f"{url}/api/v1/tickets", json={"service": "general", "lane": "normal"},
                      headers={**KIOSK, "Idempotency-Key": "kiosk-press-0001"}, timeout=WAIT)
    assert ok(r, 200)["ticket"]["id"] == keyed["id"]
    # The counter that held a ticket goes on from it: `next` finishes it first.
    counter_op(url, "3", "next")
    assert get_ticket(url, holding["3"])["status"] == "done"


def test_seq_continues_after_sigkill(hubs: list[HubProcess], tmp_path: Path) -> None:
    db = tmp_path / "hub.db"
    hp = start(hubs, db)
    watcher = SeqWatcher(hp.url)
    try:
        issue(hp.url)
        counter_op(hp.url, "3", "next")
        counter_op(hp.url, "3", "recall")
        counter_op(hp.url, "9", "close")  # the last change before the crash is a `counter` event
        seq = get_state(hp.url)["seq"]
        hp.kill()
    finally:
        watcher.close()
    hp2 = start(hubs, db)  # a new port this time
    after = get_state(hp2.url)["seq"]
    assert after >= max(seq, watcher.max_seq)
    # A board that connects now and the events that follow it pick up from there, one by one.
    got: list[tuple[str, int]] = []
    done = threading.Event()
    sio = ordered_client(reconnection=False)

    def on_any(name: str, data: Any = None) -> None:
        if not (isinstance(data, dict) and "seq" in data):
            return  # `hub` (the tick sends it once a minute), `device`, `announcements`: no seq
        got.append((name, int(data["seq"])))
        if len(got) >= 3:
            done.set()

    sio.on("*", on_any)
    sio.connect(hp2.url, transports=["websocket"], auth={"token": DISPLAY_TOKEN}, wait_timeout=WAIT)
    try:
        counter_op(hp2.url, "9", "open")
        counter_op(hp2.url, "9", "close")
        assert done.wait(WAIT), got
    finally:
        sio.disconnect()
    assert got[:3] == [("state", after), ("counter", after + 1), ("counter", after + 2)]


def test_no_acknowledged_ticket_is_lost_when_killed_mid_stream(hubs: list[HubProcess], tmp_path: Path) -> None:
    """Kill the hub while a kiosk is issuing as fast as it can, three times over on one database."""
    db = tmp_path / "hub.db"
    acked: dict[str, dict[str, Any]] = {}
    port: int | None = None
    for _round in range(3):
        hp = start(hubs, db, port)
        port = hp.port
        mine: list[dict[str, Any]] = []
        enough = threading.Event()
        stop = threading.Event()

        def kiosk(url: str, mine: list[dict[str, Any]], enough: threading.Event, stop: threading.Event) -> None:
            with requests.Session() as s:
                while not stop.is_set():
                    try:
                        r = s.post(f"{url}/api/v1/tickets", json={"service": "general"}, headers=KIOSK, timeout=WAIT)
                    except requests.RequestException:
                        return  # the hub is gone; this request was never answered
                    assert r.status_code == 201, r.text
                    mine.append(r.json()["ticket"])
                    if len(mine) >= 15:
                        enough.set()

        th = threading.Thread(target=kiosk, args=(hp.url, mine, enough, stop))
        th.start()
        try:
            assert enough.wait(WAIT * 2)
            hp.kill()
        finally:
            stop.set()
            th.join(WAIT)
        assert not th.is_alive()
        acked.update({t["id"]: t for t in mine})

        hp2 = start(hubs, db, port)
        numbers = [int(t["number"][1:]) for t in acked.values()]
        assert len(set(numbers)) == len(numbers), "a number was handed out twice"
        for tid, want in acked.items():
            got = get_ticket(hp2.url, tid)
            assert (got["number"], got["status"]) == (want["number"], "waiting"), (want, got)
        # At most one unanswered request was in flight when the hub died; it may or may not have
        # been committed, but no number from before the crash comes back.
        nxt = issue(hp2.url)
        assert max(numbers) < int(nxt["number"][1:]) <= max(numbers) + 2, (max(numbers), nxt["number"])
        acked[nxt["id"]] = nxt
        hp2.kill()


def test_second_hub_on_the_same_database_is_refused(hubs: list[HubProcess], tmp_path: Path) -> None:
    db = tmp_path / "hub.db"
    first = start(hubs, db)
    t = issue(first.url)
    other = HubProcess(db)  # another port: only the database is shared
    proc = subprocess.run(
        [sys.executable, "-m", "server.cli", "serve", "--db", str(db), "--port", str(other.port)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    out = (proc.stdout + proc.stderr).strip()
    assert len(out.splitlines()) == 1, out
    assert "Traceback" not in out
    assert str(db) in out or "in use" in out, out
    # It never listened...
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{other.url}/api/v1/health", timeout=5)
    # ...and the first hub goes on unharmed.
    assert get_ticket(first.url, t["id"])["number"] == "A001"
    assert issue(first.url)["number"] == "A002"
    r = requests.post(f"{first.url}/api/v1/counters/3/next", headers=ADMIN, timeout=WAIT)
    assert ok(r)["ticket"]["id"] == t["id"]


def test_second_hub_on_the_same_database_and_port_is_refused(hubs: list[HubProcess], tmp_path: Path) -> None:
    db = tmp_path / "hub.db"
    first = start(hubs, db)
    proc = subprocess.run(
        [sys.executable, "-m", "server.cli", "serve", "--db", str(db), "--port", str(first.port)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    out = (proc.stdout + proc.stderr).strip()
    assert len(out.splitlines()) == 1, out
    assert ok(requests.get(f"{first.url}/api/v1/health", timeout=WAIT))["status"] == "ok"


def test_second_hub_through_a_symlink_to_the_database_is_refused(hubs: list[HubProcess], tmp_path: Path) -> None:
    db = tmp_path / "data" / "hub.db"
    db.parent.mkdir()
    first = start(hubs, db)
    t1 = issue(first.url)
    alias = tmp_path / "alias.db"
    alias.symlink_to(db)
    second = HubProcess(alias)
    hubs.append(second)
    try:
        second.start(timeout=60)
    except RuntimeError as e:  # it exited, as it should
        assert second.proc is not None and second.proc.returncode == 1, e
        out = str(e).removeprefix("hub exited: ").strip()
        assert len(out.splitlines()) == 1, out
        return
    t2 = issue(second.url)
    t3 = issue(first.url)
    pytest.fail(f"a second hub runs on {db} through {alias}; after {t1['number']}, "
                f"both issued {t2['number']} and {t3['number']}")


def test_recent_calls_keep_their_seq_across_a_restart(tmp_path: Path) -> None:
    hp = HubProcess(tmp_path / "seq.db").start()
    try:
        requests.post(hp.url + "/api/v1/tickets", json={"service": "general"}, headers=KIOSK, timeout=10)
        requests.post(hp.url + "/api/v1/counters/3/next", headers=counter_auth("3"), timeout=10)
        before = requests.get(hp.url + "/api/v1/state", headers=DISPLAY, timeout=10).json()["recent_calls"]
        hp.kill()
        hp.start()
        after = requests.get(hp.url + "/api/v1/state", headers=DISPLAY, timeout=10).json()["recent_calls"]
        assert [(c["seq"], c["ticket"]["number"]) for c in after] == [(c["seq"], c["ticket"]["number"])
                                                                        for c in before]
        assert after[0]["seq"] > 0
    finally:
        hp.stop()
