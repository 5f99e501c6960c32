"""Counters and kiosks racing against the real hub: no ticket is called twice, none is lost,
no number is issued twice, and nothing fails with a 5xx or "database is locked".
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import ADMIN, DISPLAY, KIOSK, HubProcess, counter_auth

WAIT = 60.0  # an upper bound on any one request or join, never an expectation
GENERAL_COUNTERS = [str(c) for c in range(3, 11)]  # counters 3..10 serve "general"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubProcess]:
    """A real hub whose output the test reads after stopping it."""
    hp = HubProcess(tmp_path / "race.db").start(timeout=60)
    yield hp
    hp.stop()


def hub_output(hp: HubProcess) -> str:
    """Stop the hub and return everything it printed."""
    hp.stop()
    return hp.output()


def assert_clean(hp: HubProcess, failures: list[str]) -> None:
    assert not failures, failures[:10]
    out = hub_output(hp)
    assert "database is locked" not in out.lower(), out[-3000:]
    assert "Traceback" not in out, out[-3000:]
    assert "internal_error" not in out and "unexpected error" not in out, out[-3000:]


def run_threads(targets: list[Callable[[], None]]) -> None:
    """Start every thread first, then let them all go at the same moment."""
    go = threading.Barrier(len(targets))
    errors: list[BaseException] = []

    def wrap(fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                go.wait(WAIT)
                fn()
            except BaseException as e:  # reported by the main thread, not lost in this one
                errors.append(e)

        return run

    threads = [threading.Thread(target=wrap(fn)) for fn in targets]
    for th in threads:
        th.start()
    for th in threads:
        th.join(WAIT * 4)
    assert not any(th.is_alive() for th in threads), "a thread hung"
    if errors:
        raise errors[0]


def check_response(r: requests.Response, failures: list[str], *ok: int) -> bool:
    if r.status_code in ok:
        return True
    failures.append(f"{r.request.method} {r.request.url} -> {r.status_code} {r.text[:300]}")
    return False


def issue_many(url: str, n: int, service: str = "general") -> list[dict[str, Any]]:
    out = []
    with requests.Session() as s:
        for _ in range(n):
            r = s.post(f"{url}/api/v1/tickets", json={"service": service}, headers=KIOSK, timeout=WAIT)
            assert r.status_code == 201, r.text
            out.append(r.json()["ticket"])
    return out


def test_racing_counters_never_share_a_ticket(hub: HubProcess) -> None:
    url = hub.url
    issued = issue_many(url, 60)
    ids = {t["id"] for t in issued}
    assert len(ids) == 60
    calls: dict[str, list[dict[str, Any]]] = {c: [] for c in GENERAL_COUNTERS}
    failures: list[str] = []

    def counter(cid: str) -> Callable[[], None]:
        def run() -> None:
            with requests.Session() as s:
                for _ in range(200):  # far more than enough; stops at the first null
                    r = s.post(f"{url}/api/v1/counters/{cid}/next", headers=counter_auth(cid), timeout=WAIT)
                    if not check_response(r, failures, 200):
                        return
                    t = r.json()["ticket"]
                    if t is None:
                        return
                    calls[cid].append(t)
                failures.append(f"counter {cid} never ran out of tickets")

        return run

    run_threads([counter(c) for c in GENERAL_COUNTERS])
    called = [t["id"] for ts in calls.values() for t in ts]
    twice = [tid for tid, n in Counter(called).items() if n > 1]
    assert not twice, f"tickets called by two counters: {twice}"
    assert set(called) == ids, f"lost: {ids - set(called)}, unknown: {set(called) - ids}"
    for cid, ts in calls.items():
        for t in ts:
            assert t["status"] == "called" and t["counter"] == cid, (cid, t)
    # The work was really shared out, not handed to one counter in turn.
    assert sum(1 for ts in calls.values() if ts) >= 2, {c: len(ts) for c, ts in calls.items()}
    # Each counter's last `next` finished its last ticket: every ticket is now done, at the counter
    # that called it.
    with requests.Session() as s:
        for cid, ts in calls.items():
            for t in ts:
                r = s.get(f"{url}/api/v1/tickets/{t['id']}", headers=DISPLAY, timeout=WAIT)
                got = r.json()["ticket"]
                assert (got["status"], got["counter"]) == ("done", cid), got
        state = s.get(f"{url}/api/v1/state", headers=DISPLAY, timeout=WAIT).json()
    assert all(c["ticket"] is None for c in state["counters"])
    assert next(x for x in state["services"] if x["id"] == "general")["waiting"] == 0
    assert_clean(hub, failures)


def test_counters_race_while_kiosks_issue(hub: HubProcess) -> None:
    """Callers and kiosks at once: every ticket issued is called exactly once, by one counter."""
    url = hub.url
    issued: list[dict[str, Any]] = []
    called: list[tuple[str, dict[str, Any]]] = []
    failures: list[str] = []
    lock = threading.Lock()
    kiosks_done = threading.Event()
    remaining = [4]

    def kiosk(token: str) -> Callable[[], None]:
        def run() -> None:
            try:
                with requests.Session() as s:
                    for _ in range(20):
                        r = s.post(f"{url}/api/v1/tickets", json={"service": "general"},
                                   headers={"Authorization": f"Bearer {token}"}, timeout=WAIT)
                        if check_response(r, failures, 201):
                            with lock:
                                issued.append(r.json()["ticket"])
            finally:
                with lock:
                    remaining[0] -= 1
                    if remaining[0] == 0:
                        kiosks_done.set()

        return run

    def counter(cid: str) -> Callable[[], None]:
        def run() -> None:
            with requests.Session() as s:
                for _ in range(1000):
                    finished = kiosks_done.is_set()  # read before asking: a null after this is final
                    r = s.post(f"{url}/api/v1/counters/{cid}/next", headers=counter_auth(cid), timeout=WAIT)
                    if not check_response(r, failures, 200):
                        return
                    t = r.json()["ticket"]
                    if t is not None:
                        with lock:
                            called.append((cid, t))
                    elif finished:
                        return
                    else:
                        kiosks_done.wait(0.05)  # nothing waits yet; poll again soon
                failures.append(f"counter {cid} never finished")

        return run

    tokens = ["demo-kiosk-1-token", "demo-kiosk-2-token", "demo-admin-token", "demo-kiosk-1-token"]
    run_threads([kiosk(t) for t in tokens] + [counter(c) for c in GENERAL_COUNTERS])
    assert len(issued) == 80, failures[:5]
    ids = [t["id"] for t in issued]
    assert len(set(ids)) == 80
    assert len({t["number"] for t in issued}) == 80
    called_ids = [t["id"] for _, t in called]
    twice = [tid for tid, n in Counter(called_ids).items() if n > 1]
    assert not twice, f"tickets called by two counters: {twice}"
    assert set(called_ids) == set(ids)
    assert_clean(hub, failures)


def test_concurrent_issuing_gives_distinct_numbers(hub: HubProcess) -> None:
    url = hub.url
    results: list[list[requests.Response]] = [[] for _ in range(8)]

    def kiosk(i: int) -> Callable[[], None]:
        token = ["demo-kiosk-1-token", "demo-kiosk-2-token", "demo-admin-token"][i % 3]

        def run() -> None:
            with requests.Session() as s:
                for _ in range(25):
                    results[i].append(s.post(f"{url}/api/v1/tickets", json={"service": "general"},
                                             headers={"Authorization": f"Bearer {token}"}, timeout=WAIT))

        return run

    run_threads([kiosk(i) for i in range(8)])
    responses = [r for rs in results for r in rs]
    assert len(responses) == 200
    bad = [(r.status_code, r.text[:200]) for r in responses if r.status_code != 201]
    assert not bad, bad[:10]
    tickets = [r.json()["ticket"] for r in responses]
    numbers = [t["number"] for t in tickets]
    assert len(set(numbers)) == 200, [n for n, c in Counter(numbers).items() if c > 1]
    assert set(numbers) == {f"A{i:03d}" for i in range(1, 201)}  # a fresh day starts at A001, no holes
    assert len({t["id"] for t in tickets}) == 200
    # Each kiosk saw its own numbers rise: a later answer never carries an earlier number.
    for rs in results:
        mine = [int(r.json()["ticket"]["number"][1:]) for r in rs]
        assert mine == sorted(mine)
    with requests.Session() as s:
        services = s.get(f"{url}/api/v1/services", headers=DISPLAY, timeout=WAIT).json()["services"]
    assert next(x for x in services if x["id"] == "general")["waiting"] == 200
    assert_clean(hub, [])


def test_concurrent_retries_with_one_idempotency_key_issue_one_ticket(hub: HubProcess) -> None:
    """A kiosk that retries the same press from several connections at once still gets one ticket."""
    url = hub.url
    responses: list[requests.Response] = []
    lock = threading.Lock()

    def press() -> None:
        r = requests.post(f"{url}/api/v1/tickets", json={"service": "quick"},
                          headers={**KIOSK, "Idempotency-Key": "press-42"}, timeout=WAIT)
        with lock:
            responses.append(r)

    run_threads([press] * 8)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 7 + [201], [(r.status_code, r.text[:200]) for r in responses]
    assert len({r.json()["ticket"]["id"] for r in responses}) == 1
    assert responses[0].json()["ticket"]["number"] == "B001"
    nxt = requests.post(f"{url}/api/v1/tickets", json={"service": "quick"}, headers=KIOSK, timeout=WAIT)
    assert nxt.status_code == 201 and nxt.json()["ticket"]["number"] == "B002"
    assert_clean(hub, [])


def test_counter_and_admin_racing_on_one_counter(hub: HubProcess) -> None:
    """The clerk (twice) and an admin press `next` for counter 3 at once: no ticket is called twice,
    none is skipped."""
    url = hub.url
    issued = issue_many(url, 30)
    called: list[dict[str, Any]] = []
    failures: list[str] = []
    lock = threading.Lock()

    def presser(headers: dict[str, str]) -> Callable[[], None]:
        def run() -> None:
            with requests.Session() as s:
                for _ in range(100):
                    r = s.post(f"{url}/api/v1/counters/3/next", headers=headers, timeout=WAIT)
                    if not check_response(r, failures, 200):
                        return
                    t = r.json()["ticket"]
                    if t is None:
                        return
                    with lock:
                        called.append(t)

        return run

    run_threads([presser(counter_auth("3")), presser(ADMIN), presser(counter_auth("3"))])
    ids = [t["id"] for t in called]
    assert len(ids) == len(set(ids)) == 30
    assert set(ids) == {t["id"] for t in issued}
    assert_clean(hub, failures)
