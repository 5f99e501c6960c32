"""Happy paths of every endpoint of CONTRACT.md and of the extensions in server/api.py.

Runs on the Flask test client (`client`) with the demo office and a fake clock; Socket.IO events are
read with Flask-SocketIO's test client, which sees exactly what a board would see.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from conftest import ADMIN, DISPLAY, KIOSK, assert_error, counter_auth

from server import __version__

API = "/api/v1"
DISPLAY_TOKEN = DISPLAY["Authorization"].split()[1]
TICKET_KEYS = {"id", "number", "service", "lane", "status", "issued_at", "called_at", "counter", "ahead",
               "estimated_wait_s"}
TOKENS = ["demo-kiosk-1-token", "demo-admin-token", DISPLAY_TOKEN] + [f"demo-counter-{i}-token" for i in range(1, 17)]


# -- helpers ------------------------------------------------------------------------------------

def issue(client: Any, service: str = "general", lane: str | None = None, headers: dict[str, str] = KIOSK,
          key: str | None = None, status: int = 201) -> dict[str, Any]:
    body = {"service": service} if lane is None else {"service": service, "lane": lane}
    hdrs = dict(headers) if key is None else {**headers, "Idempotency-Key": key}
    r = client.post(f"{API}/tickets", json=body, headers=hdrs)
    assert r.status_code == status, r.get_json()
    return r.get_json()["ticket"]  # type: ignore[no-any-return]


def counter_op(client: Any, cid: str, op: str, json: Any = None, headers: dict[str, str] | None = None) -> Any:
    r = client.post(f"{API}/counters/{cid}/{op}", json=json, headers=headers or counter_auth(cid))
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def call_next(client: Any, cid: str) -> dict[str, Any] | None:
    return counter_op(client, cid, "next")["ticket"]  # type: ignore[no-any-return]


def get_ticket(client: Any, tid: str, headers: dict[str, str] = DISPLAY) -> dict[str, Any]:
    r = client.get(f"{API}/tickets/{tid}", headers=headers)
    assert r.status_code == 200
    return r.get_json()["ticket"]  # type: ignore[no-any-return]


def get_state(client: Any) -> dict[str, Any]:
    r = client.get(f"{API}/state", headers=DISPLAY)
    assert r.status_code == 200
    return r.get_json()  # type: ignore[no-any-return]


def counter_in_state(client: Any, cid: str) -> dict[str, Any]:
    return next(c for c in get_state(client)["counters"] if c["id"] == cid)


def waiting(client: Any, service: str) -> int:
    r = client.get(f"{API}/services", headers=DISPLAY)
    return next(s["waiting"] for s in r.get_json()["services"] if s["id"] == service)  # type: ignore[no-any-return]


def events(board: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(e["name"], e["args"][0]) for e in board.get_received()]


def assert_ticket_shape(t: dict[str, Any]) -> None:
    assert TICKET_KEYS <= set(t)
    assert t["status"] in {"waiting", "called", "serving", "done", "no_show", "cancelled"}
    datetime.fromisoformat(t["issued_at"])
    if t["called_at"] is not None:
        datetime.fromisoformat(t["called_at"])


@pytest.fixture
def board(app: Any) -> Any:
    """A board connected over Socket.IO, its `state` already read."""
    sio = app.extensions["socketio"].test_client(app, auth={"token": DISPLAY_TOKEN})
    assert sio.is_connected()
    first = events(sio)
    assert [name for name, _ in first] == ["state"]
    yield sio
    if sio.is_connected():
        sio.disconnect()


# -- anyone -------------------------------------------------------------------------------------

def test_health_needs_no_token(client):
    r = client.get(f"{API}/health")
    assert r.status_code == 200
    assert r.get_json() == {"status": "ok", "version": __version__}


def test_openapi_document_needs_no_token(client):
    r = client.get(f"{API}/openapi.json")
    assert r.status_code == 200
    doc = r.get_json()
    assert doc["openapi"].startswith("3.") and "/tickets" in doc["paths"]


# -- tickets ------------------------------------------------------------------------------------

def test_issue_defaults_to_the_normal_lane(client):
    t = issue(client)
    assert_ticket_shape(t)
    assert t["service"] == "general" and t["lane"] == "normal" and t["status"] == "waiting"
    assert t["number"] == "A001"
    assert t["called_at"] is None and t["counter"] is None
    assert t["ahead"] == 0 and isinstance(t["estimated_wait_s"], int)
    assert datetime.fromisoformat(t["issued_at"]) == datetime.fromisoformat("2026-11-23T09:00:00+08:00")


def test_issue_numbers_count_up_per_service_and_ids_are_opaque(client):
    a1, a2, b1 = issue(client), issue(client), issue(client, "quick")
    assert [a1["number"], a2["number"], b1["number"]] == ["A001", "A002", "B001"]
    assert a2["ahead"] == 1
    ids = {a1["id"], a2["id"], b1["id"]}
    assert len(ids) == 3
    for tid in ids:
        assert len(tid) >= 16 and tid not in {"1", "2", "3"} and "A00" not in tid


def test_issue_in_a_priority_lane(client):
    t = issue(client, "quick", "elderly")
    assert t["lane"] == "elderly" and t["service"] == "quick" and t["number"] == "B001"


def test_admin_may_issue(client):
    t = issue(client, headers=ADMIN)
    assert t["status"] == "waiting"


def test_same_idempotency_key_gives_200_and_the_same_ticket(client):
    first = issue(client, key="press-1", status=201)
    again = issue(client, key="press-1", status=200)
    assert again["id"] == first["id"] and again["number"] == first["number"]
    assert waiting(client, "general") == 1
    # The default lane and an explicit "normal" are the same request.
    same = issue(client, lane="normal", key="press-1", status=200)
    assert same["id"] == first["id"]
    other = issue(client, key="press-2", status=201)
    assert other["id"] != first["id"] and other["number"] == "A002"
    assert waiting(client, "general") == 2


def test_same_idempotency_key_with_another_body_is_409(client):
    first = issue(client, key="press-1")
    before = get_state(client)
    r = client.post(f"{API}/tickets", json={"service": "quick"}, headers={**KIOSK, "Idempotency-Key": "press-1"})
    assert_error(r, 409, "idempotency_key_reused")
    assert get_state(client) == before
    assert get_ticket(client, first["id"])["service"] == "general"


@pytest.mark.parametrize("headers", [DISPLAY, KIOSK, ADMIN, counter_auth("7")], ids=["display", "kiosk", "admin",
                                                                                     "counter"])
def test_get_ticket_with_any_token(client, headers):
    t = issue(client)
    got = get_ticket(client, t["id"], headers)
    assert got["id"] == t["id"] and got["number"] == "A001" and got["status"] == "waiting"
    assert_ticket_shape(got)


def test_get_ticket_follows_its_life(client):
    t = issue(client)
    call_next(client, "3")
    got = get_ticket(client, t["id"])
    assert got["status"] == "called" and got["counter"] == "3" and got["called_at"] is not None
    assert got["ahead"] is None and got["estimated_wait_s"] is None


# -- services, state, counters ------------------------------------------------------------------

def test_services_lists_every_service_with_counts(client, office):
    issue(client)
    issue(client)
    issue(client, "quick")
    r = client.get(f"{API}/services", headers=KIOSK)
    assert r.status_code == 200
    services = r.get_json()["services"]
    assert [s["id"] for s in services] == [s.id for s in office.services]
    for s in services:
        assert {"id", "name", "waiting", "estimated_wait_s", "open"} <= set(s)
        assert isinstance(s["open"], bool)
    counts = {s["id"]: s["waiting"] for s in services}
    assert counts["general"] == 2 and counts["quick"] == 1 and counts["english"] == 0


def test_state_is_the_boards_snapshot(client, office):
    t = issue(client)
    seq_before = get_state(client)["seq"]
    call_next(client, "3")
    state = get_state(client)
    assert {"seq", "counters", "recent_calls", "services"} <= set(state)
    assert isinstance(state["seq"], int)
    assert [c["id"] for c in state["counters"]] == [c.id for c in office.counters]
    for c in state["counters"]:
        assert {"id", "name", "open", "ticket"} <= set(c)
    three = next(c for c in state["counters"] if c["id"] == "3")
    assert three["open"] is True and three["ticket"]["id"] == t["id"]
    assert [call["ticket"]["id"] for call in state["recent_calls"]] == [t["id"]]
    call = state["recent_calls"][0]
    assert call["counter"]["id"] == "3" and call["recall"] is False
    assert seq_before < call["seq"] < state["seq"]  # the call first, then the queue and counter events
    assert [s["id"] for s in state["services"]] == [s.id for s in office.services]


def test_get_counter(client):
    r = client.get(f"{API}/counters/3", headers=DISPLAY)
    assert r.status_code == 200
    c = r.get_json()["counter"]
    assert c["id"] == "3" and c["open"] is True and c["ticket"] is None


# -- counters -----------------------------------------------------------------------------------

def test_next_calls_the_oldest_waiting_ticket(client):
    a1, a2 = issue(client), issue(client)
    called = call_next(client, "3")
    assert called is not None
    assert called["id"] == a1["id"] and called["status"] == "called" and called["counter"] == "3"
    assert get_ticket(client, a2["id"])["ahead"] == 0


def test_next_finishes_the_previous_ticket(client):
    a1, a2 = issue(client), issue(client)
    call_next(client, "3")
    called = call_next(client, "3")
    assert called is not None and called["id"] == a2["id"]
    assert get_ticket(client, a1["id"])["status"] == "done"


def test_next_finishes_the_previous_ticket_also_when_nothing_waits(client):
    a1 = issue(client)
    call_next(client, "3")
    assert call_next(client, "3") is None
    assert get_ticket(client, a1["id"])["status"] == "done"
    assert counter_in_state(client, "3")["ticket"] is None


def test_next_with_nothing_waiting_answers_null(client):
    before = get_state(client)["seq"]
    assert counter_op(client, "3", "next") == {"ticket": None}
    assert get_state(client)["seq"] == before


def test_admin_may_act_for_any_counter(client):
    t = issue(client)
    called = counter_op(client, "5", "next", headers=ADMIN)["ticket"]
    assert called["id"] == t["id"] and called["counter"] == "5"


def test_recall_announces_the_same_ticket_again(client, board):
    t = issue(client)
    call_next(client, "3")
    events(board)
    again = counter_op(client, "3", "recall")["ticket"]
    assert again["id"] == t["id"] and again["status"] == "called"
    got = events(board)
    assert [name for name, _ in got] == ["call"]
    call = got[0][1]
    assert call["recall"] is True and call["ticket"]["id"] == t["id"] and call["counter"]["id"] == "3"
    assert get_state(client)["recent_calls"][0]["recall"] is True


def test_start_serves_the_called_ticket(client):
    t = issue(client)
    call_next(client, "3")
    started = counter_op(client, "3", "start")["ticket"]
    assert started["id"] == t["id"] and started["status"] == "serving"
    assert counter_in_state(client, "3")["ticket"]["status"] == "serving"


def test_finish(client):
    t = issue(client)
    call_next(client, "3")
    done = counter_op(client, "3", "finish")["ticket"]
    assert done["id"] == t["id"] and done["status"] == "done"
    assert counter_in_state(client, "3")["ticket"] is None


def test_finish_after_start(client):
    t = issue(client)
    call_next(client, "3")
    counter_op(client, "3", "start")
    assert counter_op(client, "3", "finish")["ticket"]["status"] == "done"
    assert get_ticket(client, t["id"])["status"] == "done"


def test_no_show(client):
    t = issue(client)
    call_next(client, "3")
    gone = counter_op(client, "3", "no-show")["ticket"]
    assert gone["id"] == t["id"] and gone["status"] == "no_show"
    assert counter_in_state(client, "3")["ticket"] is None


def test_transfer_keeps_number_and_place(client):
    first = issue(client, "general")  # A001, issued before anything in "quick"
    later = issue(client, "quick")  # B001
    # Counter 1 serves appointment and general only, so it calls A001.
    assert call_next(client, "1")["id"] == first["id"]
    moved = counter_op(client, "1", "transfer", json={"service": "quick"})["ticket"]
    assert moved["id"] == first["id"] and moved["number"] == "A001"
    assert moved["service"] == "quick" and moved["status"] == "waiting" and moved["counter"] is None
    assert moved["ahead"] == 0
    assert counter_in_state(client, "1")["ticket"] is None
    assert waiting(client, "quick") == 2 and waiting(client, "general") == 0
    # Counter 11 serves quick only: the transferred ticket comes before B001, issued after it.
    assert call_next(client, "11")["id"] == first["id"]
    assert call_next(client, "11")["id"] == later["id"]


def test_close_then_next_is_409_and_open_again(client):
    first, second = issue(client), issue(client)
    call_next(client, "3")
    closed = counter_op(client, "3", "close")["counter"]
    assert closed["id"] == "3" and closed["open"] is False
    # A closed counter calls nothing, and keeps the ticket it has called.
    assert_error(client.post(f"{API}/counters/3/next", headers=counter_auth("3")), 409, "counter_closed")
    assert get_ticket(client, first["id"])["status"] == "called"
    assert get_ticket(client, second["id"])["status"] == "waiting"
    assert counter_in_state(client, "3")["ticket"]["id"] == first["id"]
    assert counter_op(client, "3", "finish")["ticket"]["status"] == "done"
    opened = counter_op(client, "3", "open")["counter"]
    assert opened["open"] is True
    assert call_next(client, "3")["id"] == second["id"]


def test_close_twice_and_open_twice_are_harmless(client):
    counter_op(client, "4", "close")
    assert counter_op(client, "4", "close")["counter"]["open"] is False
    counter_op(client, "4", "open")
    assert counter_op(client, "4", "open")["counter"]["open"] is True


def test_walk_in_is_served_at_once_and_never_announced(client, board):
    waiting_before = waiting(client, "general")
    t = counter_op(client, "15", "walk-in", json={"service": "general", "lane": "elderly"})["ticket"]
    assert t["walk_in"] is True and t["status"] == "serving" and t["counter"] == "15"
    assert t["lane"] == "elderly" and t["service"] == "general"
    assert counter_in_state(client, "15")["ticket"]["id"] == t["id"]
    assert waiting(client, "general") == waiting_before
    assert "call" not in [name for name, _ in events(board)]
    assert get_state(client)["recent_calls"] == []
    assert counter_op(client, "15", "finish")["ticket"]["status"] == "done"


def test_walk_in_defaults_to_the_normal_lane(client):
    t = counter_op(client, "3", "walk-in", json={"service": "quick"})["ticket"]
    assert t["lane"] == "normal" and t["walk_in"] is True


def test_cancel_a_waiting_ticket(client):
    a1, a2 = issue(client), issue(client)
    r = client.post(f"{API}/tickets/{a1['id']}/cancel", headers=KIOSK)
    assert r.status_code == 200
    assert r.get_json()["ticket"]["status"] == "cancelled"
    assert waiting(client, "general") == 1
    assert call_next(client, "3")["id"] == a2["id"]


def test_admin_may_cancel(client):
    t = issue(client)
    r = client.post(f"{API}/tickets/{t['id']}/cancel", headers=ADMIN)
    assert r.status_code == 200 and r.get_json()["ticket"]["status"] == "cancelled"


# -- public status ------------------------------------------------------------------------------

def test_public_status_shows_numbers_not_ids_or_tokens(client):
    a1 = issue(client)
    a2 = issue(client)
    call_next(client, "3")
    r = client.get(f"{API}/public/status")
    assert r.status_code == 200
    assert "max-age" in r.headers["Cache-Control"]
    body = r.get_json()
    general = next(s for s in body["services"] if s["id"] == "general")
    assert general["now_calling"] == "A001" and general["waiting"] == 1
    quick = next(s for s in body["services"] if s["id"] == "quick")
    assert quick["now_calling"] is None and quick["waiting"] == 0
    text = r.get_data(as_text=True)
    for secret in [a1["id"], a2["id"], *TOKENS]:
        assert secret not in text


def test_public_status_hides_walk_ins(client):
    t = issue(client)
    call_next(client, "3")
    counter_op(client, "4", "walk-in", json={"service": "general"})
    general = next(s for s in client.get(f"{API}/public/status").get_json()["services"] if s["id"] == "general")
    assert general["now_calling"] == t["number"]


def test_public_status_keeps_a_quiet_services_number(client):
    """The number now called in a quiet service must survive many calls in a busy one."""
    english = issue(client, "english")
    assert call_next(client, "13")["id"] == english["id"]
    for _ in range(12):
        issue(client, "quick")
        call_next(client, "11")
    services = {s["id"]: s for s in client.get(f"{API}/public/status").get_json()["services"]}
    assert services["english"]["now_calling"] == english["number"]
    assert services["quick"]["now_calling"] == "B012"


# -- Socket.IO and seq --------------------------------------------------------------------------

def test_state_on_connect_is_get_state(app, client):
    issue(client)
    call_next(client, "3")
    sio = app.extensions["socketio"].test_client(app, auth={"token": "demo-counter-3-token"})
    got = events(sio)
    sio.disconnect()
    assert [name for name, _ in got] == ["state"]
    assert got[0][1] == get_state(client)


def test_next_emits_its_call_first(client, board):
    t = issue(client)
    events(board)
    call_next(client, "3")
    got = events(board)
    assert got[0][0] == "call" and got[0][1]["ticket"]["id"] == t["id"] and got[0][1]["recall"] is False
    assert got[1:] and {name for name, _ in got[1:]} <= {"queue", "counter"}


def test_seq_grows_by_exactly_one_per_event_and_state_carries_the_last(client, board):
    start = get_state(client)["seq"]
    a1 = issue(client)
    issue(client)
    issue(client, "quick")
    call_next(client, "3")
    counter_op(client, "3", "recall")
    counter_op(client, "3", "start")
    call_next(client, "3")
    counter_op(client, "3", "transfer", json={"service": "quick"})
    call_next(client, "4")
    counter_op(client, "4", "no-show")
    counter_op(client, "5", "close")
    counter_op(client, "5", "open")
    counter_op(client, "6", "walk-in", json={"service": "general"})
    counter_op(client, "6", "finish")
    t = issue(client)
    client.post(f"{API}/tickets/{t['id']}/cancel", headers=KIOSK)
    call_next(client, "3")
    call_next(client, "3")
    got = events(board)
    names = [name for name, _ in got]
    assert set(names) <= {"call", "queue", "counter"}
    assert names.count("call") == 5 and "queue" in names and "counter" in names
    seqs = [data["seq"] for _, data in got]
    assert seqs == list(range(start + 1, start + 1 + len(got)))
    assert get_state(client)["seq"] == seqs[-1]
    assert get_ticket(client, a1["id"])["status"] == "done"


def test_state_seq_matches_events_of_every_kind(client, board):
    """Each kind of event moves seq by one, and GET /state always says the last one."""
    issue(client)
    (name, data), = events(board)
    assert name == "queue" and data["seq"] == get_state(client)["seq"]
    counter_op(client, "9", "close")
    (name, data), = events(board)
    assert name == "counter" and data["counter"] == {**data["counter"], "id": "9", "open": False}
    assert data["seq"] == get_state(client)["seq"]
    call_next(client, "3")
    got = events(board)
    assert [n for n, _ in got][0] == "call" and got[-1][1]["seq"] == get_state(client)["seq"]
