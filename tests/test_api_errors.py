"""Every error path of the HTTP API: the one error shape, the right status and code, and nothing half-changed.

Each failing mutation runs inside `unchanged(...)`: GET /state (seq, counters, recent calls, waiting
counts) is the same before and after, and a connected board received no event at all.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from conftest import ADMIN, DISPLAY, KIOSK, assert_error, counter_auth

API = "/api/v1"
DISPLAY_TOKEN = DISPLAY["Authorization"].split()[1]


def state(client: Any) -> dict[str, Any]:
    r = client.get(f"{API}/state", headers=ADMIN)
    assert r.status_code == 200
    return r.get_json()  # type: ignore[no-any-return]


def issue(client: Any, service: str = "general") -> dict[str, Any]:
    r = client.post(f"{API}/tickets", json={"service": service}, headers=KIOSK)
    assert r.status_code == 201
    return r.get_json()["ticket"]  # type: ignore[no-any-return]


@pytest.fixture
def board(app: Any) -> Iterator[Any]:
    sio = app.extensions["socketio"].test_client(app, auth={"token": DISPLAY_TOKEN})
    assert sio.is_connected()
    sio.get_received()
    yield sio
    if sio.is_connected():
        sio.disconnect()


@pytest.fixture
def busy(client: Any, board: Any) -> dict[str, Any]:
    """A morning under way: A001 called at counter 3, A002 and B001 waiting, counter 8 closed."""
    a1, a2, b1 = issue(client), issue(client), issue(client, "quick")
    r = client.post(f"{API}/counters/3/next", headers=counter_auth("3"))
    assert r.get_json()["ticket"]["id"] == a1["id"]
    assert client.post(f"{API}/counters/8/close", headers=counter_auth("8")).status_code == 200
    board.get_received()
    return {"a1": a1, "a2": a2, "b1": b1}


@contextmanager
def unchanged(client: Any, board: Any, *tickets: dict[str, Any]) -> Iterator[None]:
    """Nothing half-changed: the snapshot, the tickets and the event stream are as before."""
    before = state(client)
    before_tickets = [client.get(f"{API}/tickets/{t['id']}", headers=ADMIN).get_json() for t in tickets]
    yield
    after = state(client)
    assert after["seq"] == before["seq"]
    assert after["counters"] == before["counters"]
    assert after == before
    assert [client.get(f"{API}/tickets/{t['id']}", headers=ADMIN).get_json() for t in tickets] == before_tickets
    assert board.get_received() == []


# -- who may do it ------------------------------------------------------------------------------

def test_missing_token_is_401(client, board, busy):
    with unchanged(client, board):
        assert_error(client.post(f"{API}/tickets", json={"service": "general"}), 401, "missing_token")


def test_missing_token_on_reads_is_401(client):
    for path in ["/services", "/state", "/counters/3"]:
        assert_error(client.get(API + path), 401, "missing_token")


def test_not_a_bearer_token_is_401(client, board, busy):
    with unchanged(client, board):
        r = client.post(f"{API}/counters/3/next", headers={"Authorization": "Basic ZGVtbzpkZW1v"})
        assert_error(r, 401, "missing_token")


def test_wrong_token_is_401(client, board, busy):
    with unchanged(client, board):
        r = client.post(f"{API}/tickets", json={"service": "general"}, headers={"Authorization": "Bearer nope"})
        assert_error(r, 401, "invalid_token")


def test_wrong_token_on_a_ticket_is_401(client, busy):
    r = client.get(f"{API}/tickets/{busy['a1']['id']}", headers={"Authorization": "Bearer nope"})
    assert_error(r, 401, "invalid_token")


def test_display_issuing_is_403(client, board, busy):
    with unchanged(client, board):
        assert_error(client.post(f"{API}/tickets", json={"service": "general"}, headers=DISPLAY), 403,
                     "role_not_allowed")


def test_counter_issuing_is_403(client, board, busy):
    with unchanged(client, board):
        assert_error(client.post(f"{API}/tickets", json={"service": "general"}, headers=counter_auth("3")), 403,
                     "role_not_allowed")


def test_display_cancelling_is_403(client, board, busy):
    with unchanged(client, board, busy["a2"]):
        assert_error(client.post(f"{API}/tickets/{busy['a2']['id']}/cancel", headers=DISPLAY), 403,
                     "role_not_allowed")


def test_kiosk_calling_is_403(client, board, busy):
    with unchanged(client, board):
        assert_error(client.post(f"{API}/counters/3/next", headers=KIOSK), 403, "role_not_allowed")


@pytest.mark.parametrize("op", ["next", "recall", "start", "finish", "no-show", "transfer", "walk-in", "close",
                                "open"])
def test_counter_3_acting_for_counter_5_is_403(client, board, busy, op):
    with unchanged(client, board, busy["a1"]):
        r = client.post(f"{API}/counters/5/{op}", json={"service": "quick"}, headers=counter_auth("3"))
        assert_error(r, 403, "wrong_counter")


@pytest.mark.parametrize("op", ["next", "recall", "finish", "transfer", "close"])
def test_counter_token_for_a_counter_that_does_not_exist_is_403(client, board, busy, op):
    """Permission before existence: a counter's token learns nothing about other counter ids."""
    with unchanged(client, board):
        r = client.post(f"{API}/counters/99/{op}", json={"service": "quick"}, headers=counter_auth("3"))
        assert_error(r, 403, "wrong_counter")


@pytest.mark.parametrize("op", ["next", "recall", "finish", "transfer", "close"])
def test_admin_for_a_counter_that_does_not_exist_is_404(client, board, busy, op):
    with unchanged(client, board):
        r = client.post(f"{API}/counters/99/{op}", json={"service": "quick"}, headers=ADMIN)
        assert_error(r, 404, "unknown_counter")


def test_reading_a_counter_that_does_not_exist_is_404(client):
    assert_error(client.get(f"{API}/counters/99", headers=DISPLAY), 404, "unknown_counter")


def test_socketio_refuses_a_missing_or_wrong_token(app):
    sio = app.extensions["socketio"]
    for auth in [None, {"token": "nope"}, {"token": 17}]:
        c = sio.test_client(app, auth=auth)
        assert not c.is_connected()


# -- unknown ids and addresses ------------------------------------------------------------------

def test_unknown_ticket_is_404(client):
    assert_error(client.get(f"{API}/tickets/no-such-ticket", headers=DISPLAY), 404, "unknown_ticket")


def test_cancel_of_an_unknown_ticket_is_404(client, board, busy):
    with unchanged(client, board):
        assert_error(client.post(f"{API}/tickets/no-such-ticket/cancel", headers=KIOSK), 404, "unknown_ticket")


@pytest.mark.parametrize("path", [f"{API}/nope", f"{API}/counters/3/dance", "/nope", f"{API}/tickets/x/y/z"])
def test_unknown_route_is_404_json_not_html(client, path):
    r = client.get(path, headers=ADMIN)
    assert_error(r, 404, "not_found")
    assert b"<html" not in r.get_data().lower()


def test_wrong_method_is_405_json(client):
    r = client.get(f"{API}/tickets", headers=ADMIN)
    assert_error(r, 405, "method_not_allowed")
    assert "POST" in r.headers["Allow"]
    r = client.delete(f"{API}/health")
    assert_error(r, 405, "method_not_allowed")
    assert "GET" in r.headers["Allow"]


# -- malformed bodies ---------------------------------------------------------------------------

def test_body_over_16_kib_is_413(client, board, busy):
    big = '{"service": "general", "pad": "' + "x" * (16 * 1024) + '"}'
    with unchanged(client, board):
        r = client.post(f"{API}/tickets", data=big, content_type="application/json", headers=KIOSK)
        assert_error(r, 413, "body_too_large")


def test_body_over_16_kib_on_transfer_is_413(client, board, busy):
    big = '{"service": "quick", "pad": "' + "x" * (16 * 1024) + '"}'
    with unchanged(client, board, busy["a1"]):
        r = client.post(f"{API}/counters/3/transfer", data=big, content_type="application/json",
                        headers=counter_auth("3"))
        assert_error(r, 413, "body_too_large")


def test_body_just_under_16_kib_is_read(client):
    body = '{"service": "general", "pad": "' + "x" * (16 * 1024 - 100) + '"}'
    r = client.post(f"{API}/tickets", data=body, content_type="application/json", headers=KIOSK)
    assert r.status_code == 201


@pytest.mark.parametrize("raw", [b'{"service": "general"', b"service=general", b"\xff\xfe\x00", b"[" * 10000,
                                 b'{"a":' * 3000],
                         ids=["truncated", "form", "not_utf8", "deep_array", "deep_object"])
def test_invalid_json_is_400(client, board, busy, raw):
    with unchanged(client, board):
        r = client.post(f"{API}/tickets", data=raw, content_type="application/json", headers=KIOSK)
        assert_error(r, 400, "invalid_json")


@pytest.mark.parametrize("raw", [b'["general"]', b'"general"', b"17", b"null"])
def test_json_that_is_not_an_object_is_400(client, board, busy, raw):
    with unchanged(client, board):
        r = client.post(f"{API}/tickets", data=raw, content_type="application/json", headers=KIOSK)
        assert_error(r, 400, "invalid_json")


def test_missing_service_is_400(client, board, busy):
    with unchanged(client, board):
        assert_error(client.post(f"{API}/tickets", json={"lane": "normal"}, headers=KIOSK), 400, "missing_field")


def test_a_null_service_is_missing(client, board, busy):
    with unchanged(client, board):
        assert_error(client.post(f"{API}/tickets", json={"service": None}, headers=KIOSK), 400, "missing_field")


def test_a_null_lane_is_the_normal_lane(client):
    """An optional field sent as null takes its default, as when it is left out."""
    r = client.post(f"{API}/tickets", json={"service": "general", "lane": None}, headers=KIOSK)
    assert r.status_code == 201 and r.get_json()["ticket"]["lane"] == "normal"


def test_empty_body_is_a_missing_service(client, board, busy):
    with unchanged(client, board):
        assert_error(client.post(f"{API}/tickets", headers=KIOSK), 400, "missing_field")


@pytest.mark.parametrize("service", [17, ["general"], {"id": "general"}, True, ""])
def test_service_of_the_wrong_type_is_400(client, board, busy, service):
    with unchanged(client, board):
        r = client.post(f"{API}/tickets", json={"service": service}, headers=KIOSK)
        assert_error(r, 400, "invalid_field")


def test_lane_of_the_wrong_type_is_400(client, board, busy):
    with unchanged(client, board):
        r = client.post(f"{API}/tickets", json={"service": "general", "lane": 10}, headers=KIOSK)
        assert_error(r, 400, "invalid_field")


def test_transfer_without_a_service_is_400(client, board, busy):
    with unchanged(client, board, busy["a1"]):
        assert_error(client.post(f"{API}/counters/3/transfer", json={}, headers=counter_auth("3")), 400,
                     "missing_field")


def test_walk_in_with_a_service_of_the_wrong_type_is_400(client, board, busy):
    with unchanged(client, board, busy["a1"]):
        r = client.post(f"{API}/counters/3/walk-in", json={"service": 3}, headers=counter_auth("3"))
        assert_error(r, 400, "invalid_field")


def test_idempotency_key_too_long_is_400(client, board, busy):
    with unchanged(client, board):
        r = client.post(f"{API}/tickets", json={"service": "general"}, headers={**KIOSK, "Idempotency-Key": "k" * 201})
        assert_error(r, 400, "invalid_idempotency_key")


# -- well-formed but invalid --------------------------------------------------------------------

def test_unknown_service_is_422(client, board, busy):
    with unchanged(client, board):
        assert_error(client.post(f"{API}/tickets", json={"service": "passports"}, headers=KIOSK), 422,
                     "unknown_service")


def test_unknown_lane_is_422(client, board, busy):
    with unchanged(client, board):
        r = client.post(f"{API}/tickets", json={"service": "general", "lane": "vip"}, headers=KIOSK)
        assert_error(r, 422, "unknown_lane")


def test_unknown_service_with_an_idempotency_key_leaves_the_key_unused(client, board, busy):
    with unchanged(client, board):
        r = client.post(f"{API}/tickets", json={"service": "passports"}, headers={**KIOSK, "Idempotency-Key": "k1"})
        assert_error(r, 422, "unknown_service")
    r = client.post(f"{API}/tickets", json={"service": "general"}, headers={**KIOSK, "Idempotency-Key": "k1"})
    assert r.status_code == 201


def test_transfer_to_an_unknown_service_is_422(client, board, busy):
    with unchanged(client, board, busy["a1"]):
        r = client.post(f"{API}/counters/3/transfer", json={"service": "passports"}, headers=counter_auth("3"))
        assert_error(r, 422, "unknown_service")


def test_walk_in_with_an_unknown_lane_is_422(client, board, busy):
    with unchanged(client, board, busy["a1"]):
        r = client.post(f"{API}/counters/3/walk-in", json={"service": "general", "lane": "vip"},
                        headers=counter_auth("3"))
        assert_error(r, 422, "unknown_lane")


# -- wrong state --------------------------------------------------------------------------------

def test_recall_with_nothing_called_is_409(client, board, busy):
    with unchanged(client, board):
        assert_error(client.post(f"{API}/counters/4/recall", headers=counter_auth("4")), 409, "nothing_called")


def test_recall_of_a_ticket_being_served_is_409(client, board, busy):
    assert client.post(f"{API}/counters/3/start", headers=counter_auth("3")).status_code == 200
    board.get_received()
    with unchanged(client, board, busy["a1"]):
        assert_error(client.post(f"{API}/counters/3/recall", headers=counter_auth("3")), 409, "already_serving")


def test_finish_with_nothing_called_is_409(client, board, busy):
    with unchanged(client, board):
        assert_error(client.post(f"{API}/counters/4/finish", headers=counter_auth("4")), 409, "nothing_called")


@pytest.mark.parametrize("op", ["start", "no-show"])
def test_start_or_no_show_with_nothing_called_is_409(client, board, busy, op):
    with unchanged(client, board):
        assert_error(client.post(f"{API}/counters/4/{op}", headers=counter_auth("4")), 409, "nothing_called")


def test_transfer_with_nothing_called_is_409(client, board, busy):
    with unchanged(client, board):
        r = client.post(f"{API}/counters/4/transfer", json={"service": "quick"}, headers=counter_auth("4"))
        assert_error(r, 409, "nothing_called")


def test_cancel_of_a_called_ticket_is_409(client, board, busy):
    with unchanged(client, board, busy["a1"]):
        assert_error(client.post(f"{API}/tickets/{busy['a1']['id']}/cancel", headers=KIOSK), 409, "not_waiting")


def test_cancel_twice_is_409(client, board, busy):
    assert client.post(f"{API}/tickets/{busy['a2']['id']}/cancel", headers=KIOSK).status_code == 200
    board.get_received()
    with unchanged(client, board, busy["a2"]):
        assert_error(client.post(f"{API}/tickets/{busy['a2']['id']}/cancel", headers=KIOSK), 409, "not_waiting")


def test_next_on_a_closed_counter_is_409(client, board, busy):
    with unchanged(client, board):
        assert_error(client.post(f"{API}/counters/8/next", headers=counter_auth("8")), 409, "counter_closed")


def test_walk_in_on_a_closed_counter_is_409(client, board, busy):
    with unchanged(client, board):
        r = client.post(f"{API}/counters/8/walk-in", json={"service": "general"}, headers=counter_auth("8"))
        assert_error(r, 409, "counter_closed")


def test_next_on_a_closed_counter_keeps_its_called_ticket(client, board, busy):
    assert client.post(f"{API}/counters/3/close", headers=counter_auth("3")).status_code == 200
    board.get_received()
    with unchanged(client, board, busy["a1"], busy["a2"]):
        assert_error(client.post(f"{API}/counters/3/next", headers=counter_auth("3")), 409, "counter_closed")


# -- rate limit ---------------------------------------------------------------------------------

PUBLIC_BURST = 150  # server/limits.py: PUBLIC_LIMIT, "150 per 5 seconds" per address
PUBLIC_WINDOW_S = 5


@pytest.fixture
def frozen_rate_clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The limits' clock (Flask-Limiter's memory storage), standing still until the test moves it."""
    import limits.storage.memory

    now = [1_000_000.0]
    monkeypatch.setattr(limits.storage.memory, "time", types.SimpleNamespace(time=lambda: now[0]))
    return now


def test_the_documented_public_limit_is_the_one_in_force():
    import server.limits

    assert server.limits.PUBLIC_LIMIT == f"{PUBLIC_BURST} per {PUBLIC_WINDOW_S} seconds"


def test_public_status_hammered_is_429(client, frozen_rate_clock):
    statuses = [client.get(f"{API}/public/status").status_code for _ in range(PUBLIC_BURST + 10)]
    assert statuses[:PUBLIC_BURST] == [200] * PUBLIC_BURST  # the burst
    assert statuses[PUBLIC_BURST:] == [429] * 10
    err = assert_error(client.get(f"{API}/public/status"), 429, "rate_limited")
    assert "wait" in err["message"] or "every" in err["message"]


def test_public_rate_limit_is_per_address_and_refills(client, frozen_rate_clock):
    for _ in range(PUBLIC_BURST):
        assert client.get(f"{API}/public/status").status_code == 200
    assert_error(client.get(f"{API}/public/status"), 429, "rate_limited")
    # Another phone on another address is not affected.
    assert client.get(f"{API}/public/status", environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 200
    frozen_rate_clock[0] += PUBLIC_WINDOW_S - 1  # still inside the window: still refused
    assert_error(client.get(f"{API}/public/status"), 429, "rate_limited")
    frozen_rate_clock[0] += 1.5  # the window has moved past the burst
    statuses = [client.get(f"{API}/public/status").status_code for _ in range(PUBLIC_BURST + 1)]
    assert statuses == [200] * PUBLIC_BURST + [429]


def test_many_addresses_never_lift_another_addresss_limit(client, frozen_rate_clock):
    """The old bucket dict emptied every limit once 10,000 addresses were seen (issue #8)."""
    for _ in range(PUBLIC_BURST):
        client.get(f"{API}/public/tickets/nope", environ_base={"REMOTE_ADDR": "10.9.9.9"})
    for n in range(10_050):
        client.application.extensions["jiaohao_limiter"].limiter.hit(
            __import__("limits").parse("150/5 seconds"), f"spray-{n}")
    assert_error(client.get(f"{API}/public/tickets/nope", environ_base={"REMOTE_ADDR": "10.9.9.9"}),
                 429, "rate_limited")


def test_tokens_are_not_rate_limited_at_office_speeds(client, frozen_rate_clock):
    """Kiosks, counters and admins below 50 requests a second are never refused (no time passes here at all)."""
    for headers in (KIOSK, counter_auth("3"), ADMIN):
        assert [client.get(f"{API}/services", headers=headers).status_code for _ in range(60)] == [200] * 60


def test_rate_limits_of_two_hubs_are_separate(app, client, frozen_rate_clock, office, clock, tmp_path):
    from server.app import create_app

    for _ in range(PUBLIC_BURST):
        assert client.get(f"{API}/public/status").status_code == 200
    assert_error(client.get(f"{API}/public/status"), 429, "rate_limited")
    other = create_app(office, tmp_path / "other.db", clock=clock)
    try:
        assert other.test_client().get(f"{API}/public/status").status_code == 200
    finally:
        other.extensions["jiaohao"].store.close()
