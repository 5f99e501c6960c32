"""server/wire/shapes.py describes the wire exactly: what the hub sends reads back into the same JSON,
and what a peer may send (unknown fields, missing ones, junk) is read without surprises."""

from __future__ import annotations

import pytest
from conftest import DISPLAY, KIOSK, counter_auth

from server.wire.shapes import Call, Counter, Service, State, Ticket, WireError
from server.wire.text import Text

API = "/api/v1"


def _busy(client) -> None:
    for service, lane in (("general", "normal"), ("general", "elderly"), ("quick", "normal")):
        assert client.post(f"{API}/tickets", json={"service": service, "lane": lane}, headers=KIOSK).status_code == 201
    assert client.post(f"{API}/counters/1/next", headers=counter_auth("1")).status_code == 200
    assert client.post(f"{API}/counters/1/recall", headers=counter_auth("1")).status_code == 200


def test_the_state_the_hub_sends_reads_back_into_the_same_json(app, client) -> None:
    _busy(client)
    sent = client.get(f"{API}/state", headers=DISPLAY).get_json()
    state = State.from_json(sent)
    assert state.to_json() == sent
    assert list(state.to_json()) == list(sent)  # and in the same key order
    assert state.recent_calls[0].recall and state.recent_calls[0].counter.id == "1"
    assert state.office is not None and state.office.name.zh == "臺中市南屯區戶政事務所"
    called = next(c for c in state.counters if c.id == "1").ticket
    assert called is not None and called.status == "called" and isinstance(called.service_name, Text)


def test_every_event_reads_back_into_the_same_json(app, client) -> None:
    board = app.extensions["socketio"].test_client(app, auth={"token": DISPLAY["Authorization"].split()[1]})
    _busy(client)
    shapes = {"call": Call, "state": State}
    seen = set()
    for message in board.get_received():
        name, data = message["name"], message["args"][0]
        seen.add(name)
        if name in shapes:
            assert shapes[name].from_json(data).to_json() == data, name
        elif name == "queue":
            assert [Service.from_json(s).to_json() for s in data["services"]] == data["services"]
        elif name == "counter":
            assert Counter.from_json(data["counter"]).to_json() == data["counter"]
    assert {"state", "call", "queue", "counter"} <= seen


def test_a_ticket_keeps_fields_it_does_not_know_and_sends_them_on() -> None:
    sent = {"id": "t1", "number": "A001", "service": "general", "lane": "normal", "status": "waiting",
            "issued_at": "2026-11-23T09:00:00+08:00", "called_at": None, "counter": None, "ahead": 2,
            "estimated_wait_s": 300, "appointment": {"code": "X1", "slot": "2026-11-23 09:30"}}
    t = Ticket.from_json(sent)
    assert t.extra == {"appointment": {"code": "X1", "slot": "2026-11-23 09:30"}}
    assert t.to_json()["appointment"] == sent["appointment"]
    assert (t.ahead, t.estimated_wait_s, t.service_name, t.priority) == (2, 300, None, False)


def test_missing_and_malformed_fields_read_as_defaults() -> None:
    t = Ticket.from_json({"id": "t1", "ahead": "two", "priority": 1, "estimated_wait_range_s": [60],
                          "service_name": "綜合"})
    assert (t.number, t.lane, t.ahead, t.priority, t.estimated_wait_range_s) == ("", "normal", None, True, None)
    assert t.service_name == Text("綜合", "綜合")
    s = Service.from_json({"id": "general", "waiting": True, "estimated_wait_s": 90.5})
    assert (s.name, s.waiting, s.estimated_wait_s, s.open) == (Text("general", "general"), 0, 90.5, True)


@pytest.mark.parametrize(("shape", "data"), [
    (Ticket, {"number": "A001"}),
    (Ticket, ["A001"]),
    (Call, {"seq": 3, "ticket": {"id": "t"}}),
    (Counter, {"id": "", "open": True}),
    (State, {"counters": []}),
])
def test_what_a_shape_cannot_be_without_is_a_wire_error(shape, data) -> None:
    with pytest.raises(WireError):
        shape.from_json(data)
    assert issubclass(WireError, ValueError)  # the board's reducer drops it and reads the state again


@pytest.mark.parametrize(("value", "expected"), [
    ({"zh-TW": "綜合業務", "en": "General"}, Text("綜合業務", "General")),
    ({"zh-TW": "綜合業務"}, Text("綜合業務", "綜合業務")),
    ({"en": "General"}, Text("General", "General")),
    ("3號櫃台", Text("3號櫃台", "3號櫃台")),
    (None, Text("", "")),
    (42, Text("", "")),
])
def test_text_reads_whatever_a_peer_sent(value, expected: Text) -> None:
    assert Text.from_json(value) == expected
    assert Text.maybe(value) == (None if expected.blank else expected)
    if not expected.blank and isinstance(value, dict) and len(value) == 2:
        assert expected.as_json() == value
