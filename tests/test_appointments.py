"""Appointments through the API (CONTRACT.md "Appointments"): import, check-in, the call, the day."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ADMIN, DISPLAY, KIOSK, ROOT, FakeClock, assert_error, counter_auth

from server.config import parse_office

API = "/api/v1"
CSV = {**ADMIN, "Content-Type": "text/csv"}


def book(client: Any, *rows: str) -> Any:
    return client.post(f"{API}/appointments", data="code,service,slot\n" + "\n".join(rows) + "\n", headers=CSV)


def check_in(client: Any, code: str, headers: dict[str, str] = KIOSK) -> Any:
    return client.post(f"{API}/appointments/{code}/check-in", headers=headers)


def issue(client: Any, service: str = "general") -> dict[str, Any]:
    r = client.post(f"{API}/tickets", json={"service": service}, headers=KIOSK)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["ticket"]


def listing(client: Any, day: str = "2026-11-23") -> dict[str, dict[str, Any]]:
    r = client.get(f"{API}/appointments?date={day}", headers=ADMIN)
    assert r.status_code == 200
    return {a["code"]: a for a in r.get_json()["appointments"]}


# -- import ---------------------------------------------------------------------------------------

def test_csv_import_then_listing(client):
    r = book(client, "A100,general,2026-11-23 09:30", "A101,quick,2026-11-24 10:00")
    assert r.status_code == 201 and r.get_json() == {"imported": 2}
    today = listing(client)
    assert set(today) == {"A100"}
    assert today["A100"] == {"code": "A100", "service": "general", "slot": "2026-11-23T09:30:00+08:00",
                             "status": "booked", "ticket": None, "checked_in_at": None}
    assert set(listing(client, "2026-11-24")) == {"A101"}
    # A counter may read the list too; a kiosk may not.
    assert client.get(f"{API}/appointments?date=2026-11-23", headers=counter_auth("3")).status_code == 200
    assert_error(client.get(f"{API}/appointments", headers=KIOSK), 403, "role_not_allowed")
    assert_error(client.get(f"{API}/appointments?date=23/11", headers=ADMIN), 400, "invalid_date")


def test_json_import(client):
    r = client.post(f"{API}/appointments", headers=ADMIN, json={"appointments": [
        {"code": "J1", "service": "general", "slot": "2026-11-23 10:00"}]})
    assert r.status_code == 201 and r.get_json() == {"imported": 1}
    assert listing(client)["J1"]["status"] == "booked"


def test_one_bad_row_imports_nothing_and_names_every_bad_line(client):
    assert book(client, "OLD1,general,2026-11-23 11:00").status_code == 201
    r = book(client,
             "OK1,general,2026-11-23 09:30",       # line 2: fine
             "BAD1,passports,2026-11-23 09:30",    # line 3: unknown service
             "BAD2,general,2026-11-31 09:30",      # line 4: no such day
             "OLD1,general,2026-11-23 10:00",      # line 5: already booked
             "OK1,quick,2026-11-23 10:30",         # line 6: twice in the file
             "PAST,general,2026-11-20 09:30")      # line 7: a day already past
    assert r.status_code == 422
    body = r.get_json()
    assert set(body) == {"error"} and body["error"]["code"] == "invalid_appointments"
    assert set(body["error"]) == {"code", "message", "rows"}
    lines = {row["line"]: row["message"] for row in body["error"]["rows"]}
    assert sorted(lines) == [3, 4, 5, 6, 7]
    assert "passports" in lines[3] and "already booked" in lines[5] and "line 2" in lines[6]
    assert set(listing(client)) == {"OLD1"}  # nothing of the bad file was taken


def test_import_refusals(client):
    assert_error(client.post(f"{API}/appointments", data="code,service,slot\n", headers=KIOSK), 403)
    r = client.post(f"{API}/appointments", data="who,what\nx,y\n", headers=CSV)
    assert r.status_code == 422 and r.get_json()["error"]["rows"][0]["line"] == 1
    assert_error(client.post(f"{API}/appointments", json={"service": "general"}, headers=ADMIN), 400, "missing_field")


# -- check-in ---------------------------------------------------------------------------------------

def test_check_in_window_and_repeat(client, clock: FakeClock):
    book(client, "EARLY,general,2026-11-23 10:00", "NOW,general,2026-11-23 09:10", "LATE,general,2026-11-23 08:30")
    # 09:00: the 10:00 booking opens at 09:30.
    err = assert_error(check_in(client, "EARLY"), 409, "too_early")
    assert "09:30" in err["message"]
    assert listing(client)["EARLY"]["status"] == "booked"

    r = check_in(client, "now ")  # what a keypad sends: spaces, lower case
    assert r.status_code == 201
    ticket, booking = r.get_json()["ticket"], r.get_json()["appointment"]
    assert ticket["appointment"] == {"code": "NOW", "slot": "2026-11-23T09:10:00+08:00"}
    assert ticket["by_appointment"] is True and ticket["service"] == "general" and ticket["status"] == "waiting"
    assert booking["status"] == "checked_in" and booking["ticket"] == ticket["id"]

    again = check_in(client, "NOW")
    assert again.status_code == 200 and again.get_json()["ticket"]["id"] == ticket["id"]

    # LATE's 08:30 slot was more than 15 minutes ago: an ordinary ticket, and the booking lapses.
    r = check_in(client, "LATE")
    assert r.status_code == 201
    assert "appointment" not in r.get_json()["ticket"] and r.get_json()["ticket"]["by_appointment"] is False
    assert r.get_json()["appointment"]["status"] == "lapsed"


def test_unknown_garbage_and_other_days(client):
    book(client, "TOMORROW,general,2026-11-24 09:00")
    assert_error(check_in(client, "NOPE"), 404, "unknown_appointment")
    assert_error(check_in(client, "x" * 300), 404, "unknown_appointment")
    assert_error(check_in(client, "%00%ff;DROP"), 404, "unknown_appointment")
    err = assert_error(check_in(client, "TOMORROW"), 409, "not_today")
    assert "2026-11-24" in err["message"]
    assert_error(check_in(client, "TOMORROW", DISPLAY), 403, "role_not_allowed")


def test_a_past_days_booking_is_not_today(client, clock: FakeClock):
    book(client, "MON,general,2026-11-23 16:00")
    clock.advance(days=1)
    assert_error(check_in(client, "MON"), 409, "not_today")
    assert listing(client)["MON"]["status"] == "no_show"


# -- calling ----------------------------------------------------------------------------------------

def test_an_appointment_whose_slot_has_come_goes_first_and_boards_never_see_the_code(client, clock: FakeClock):
    book(client, "B1,general,2026-11-23 09:15", "B2,general,2026-11-23 09:05")
    walk_up = [issue(client) for _ in range(3)]
    first = check_in(client, "B1").get_json()["ticket"]   # 09:00, before its 09:15 slot
    second = check_in(client, "B2").get_json()["ticket"]  # 09:00, before its 09:05 slot
    # Before their slots they wait like tickets issued now: after the three walk-ups.
    assert first["ahead"] >= 3
    clock.advance(minutes=6)  # 09:06: B2's slot has come, B1's not yet
    mine = client.get(f"{API}/tickets/{walk_up[0]['id']}", headers=KIOSK).get_json()["ticket"]
    assert mine["ahead"] >= 1  # B2 goes ahead of the first walk-up
    r = client.post(f"{API}/counters/3/next", headers=counter_auth("3")).get_json()["ticket"]
    assert r["id"] == second["id"] and r["appointment"]["code"] == "B2"
    # The board's state and the call carry the mark, never the code.
    state = client.get(f"{API}/state", headers=DISPLAY).get_json()
    assert "B2" not in str(state) and "B1" not in str(state)
    call = state["recent_calls"][0]
    assert call["ticket"]["by_appointment"] is True and "appointment" not in call["ticket"]
    assert "appointment" not in client.get(f"{API}/tickets/{second['id']}", headers=DISPLAY).get_json()["ticket"]
    # The public feed says why the walk-up waits longer, and shows no code.
    pub = client.get(f"{API}/public/tickets/{walk_up[0]['id']}").get_json()
    assert pub["ticket"]["appointments_ahead"] == 1 and "B2" not in str(pub)
    assert client.get(f"{API}/public/status").get_json() and "B2" not in client.get(f"{API}/public/status").text
    clock.advance(minutes=10)  # 09:16: B1's slot has come
    assert client.post(f"{API}/counters/4/next", headers=counter_auth("4")).get_json()["ticket"]["id"] == first["id"]
    nxt = client.post(f"{API}/counters/5/next", headers=counter_auth("5")).get_json()["ticket"]
    assert nxt["id"] == walk_up[0]["id"]


def test_served_and_no_show_statuses(client, clock: FakeClock):
    book(client, "S1,general,2026-11-23 09:00", "N1,general,2026-11-23 09:20")
    check_in(client, "S1")
    assert client.post(f"{API}/counters/3/next", headers=counter_auth("3")).get_json()["ticket"]["appointment"]
    assert client.post(f"{API}/counters/3/finish", headers=counter_auth("3")).status_code == 200
    assert listing(client)["S1"]["status"] == "served"
    clock.advance(minutes=35)  # 09:35 = N1's slot + 15 minutes: still bookable
    assert listing(client)["N1"]["status"] == "booked"
    clock.advance(minutes=1)
    assert listing(client)["N1"]["status"] == "no_show"
    report = client.get(f"{API}/reports/appointments?date=2026-11-23", headers=ADMIN).get_json()
    assert report["booked"] == 2 and report["served_count"] == 1 and report["no_show_count"] == 1
    assert [a["code"] for a in report["no_shows"]] == ["N1"]
    assert report["appointments"][0]["late_s"] == 0
    assert_error(client.get(f"{API}/reports/appointments", headers=KIOSK), 403)


def test_the_counter_console_lists_the_next_appointments(client, app):
    import re

    from server.users import add_user

    book(client, "C1,general,2026-11-23 09:20", "C2,quick,2026-11-23 10:00", "C3,english,2026-11-23 09:30",
         "C0,general,2026-11-23 08:30")  # C0: already past slot + 15 minutes
    ticket = check_in(client, "C1").get_json()["ticket"]
    hub = app.extensions["jiaohao"]
    with hub.lock:
        add_user(hub.store, "clerk01", "clerk", "correct horse")
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"csrf": csrf, "name": "clerk01", "password": "correct horse", "counter": "3"})
    due = client.get("/console/api/state").get_json()["appointments"]
    # Counter 3 serves general and quick, not english.
    assert [(a["code"], a["status"], a["number"]) for a in due] == [
        ("C1", "checked_in", ticket["number"]), ("C2", "booked", None)]
    assert 'id="appts"' in client.get("/console").get_data(as_text=True)


# -- sessions that take only appointments -----------------------------------------------------------

@pytest.fixture
def only_client(clock: FakeClock, tmp_path: Path) -> Iterator[Any]:
    """The demo office with a Monday-morning session for general that takes only appointments."""
    from server.app import create_app

    data = tomllib.loads((ROOT / "server" / "demo_office.toml").read_text("utf-8"))
    assert "only" not in data["appointments"]  # the demo office itself has no such session
    data["appointments"] = {"early_minutes": 30, "late_minutes": 15,
                            "only": [{"days": ["mon"], "from": "09:00", "to": "12:00", "services": ["general"]}]}
    app = create_app(parse_office(data), tmp_path / "only.db", clock=clock)
    yield app.test_client()
    app.extensions["jiaohao"].store.close()


def test_only_appointments_session_refuses_walk_ups(only_client, clock: FakeClock):
    client = only_client
    err = assert_error(client.post(f"{API}/tickets", json={"service": "general"}, headers=KIOSK), 409,
                       "appointments_only")
    assert "12:00" in err["message"]
    services = {s["id"]: s for s in client.get(f"{API}/services", headers=KIOSK).get_json()["services"]}
    assert services["general"]["appointments_only"] is True and services["quick"]["appointments_only"] is False
    assert client.post(f"{API}/tickets", json={"service": "quick"}, headers=KIOSK).status_code == 201
    book(client, "W1,general,2026-11-23 09:00")
    assert check_in(client, "W1").status_code == 201  # check-in goes on
    clock.advance(hours=3)  # 12:00: the session is over
    assert client.post(f"{API}/tickets", json={"service": "general"}, headers=KIOSK).status_code == 201


def test_bookings_and_appointment_tickets_survive_a_restart(office, clock: FakeClock, tmp_path: Path):
    from server.app import create_app

    db = tmp_path / "restart.db"
    app = create_app(office, db, clock=clock)
    client = app.test_client()
    book(client, "R1,general,2026-11-23 09:10", "R2,general,2026-11-23 09:20")
    walk_up = issue(client)
    tid = check_in(client, "R1").get_json()["ticket"]["id"]
    app.extensions["jiaohao"].store.close()

    clock.advance(minutes=11)
    app = create_app(office, db, clock=clock)
    client = app.test_client()
    again = check_in(client, "R1")
    assert again.status_code == 200 and again.get_json()["ticket"]["id"] == tid
    assert again.get_json()["ticket"]["appointment"]["code"] == "R1"
    # Step 0 still holds after the restart: R1 (09:10) before the earlier walk-up.
    assert client.post(f"{API}/counters/3/next", headers=counter_auth("3")).get_json()["ticket"]["id"] == tid
    assert client.post(f"{API}/counters/3/next", headers=counter_auth("3")).get_json()["ticket"]["id"] == walk_up["id"]
    assert listing(client)["R1"]["status"] == "served"
    assert listing(client)["R2"]["status"] == "booked"
    kinds = [e["kind"] for e in app.extensions["jiaohao"].store.events()]
    assert kinds.count("appointment_booked") == 2 and "appointment_checked_in" in kinds
    assert "appointment_served" in kinds
    app.extensions["jiaohao"].store.close()


@pytest.mark.parametrize("appointments,message", [
    ({"early_minutes": -1}, "appointments.early_minutes: must be from 0 to 1440"),
    ({"late": 15}, "appointments.late: is not a known key"),
    ({"only": [{"days": ["saturday"], "from": "09:00", "to": "12:00"}]},
     "appointments.only[0].days[0]: must be one of"),
    ({"only": [{"from": "09:00", "to": "12:00"}]}, "appointments.only[0].days: is required (or dates)"),
    ({"only": [{"days": ["sat"], "from": "9am", "to": "12:00"}]}, "appointments.only[0].from: must be a time HH:MM"),
    ({"only": [{"days": ["sat"], "from": "12:00", "to": "09:00"}]}, "appointments.only[0].to: must be after from"),
    ({"only": [{"days": ["sat"], "from": "09:00", "to": "12:00", "services": ["x"]}]},
     "appointments.only[0].services[0]: 'x' is not a service id"),
])
def test_office_file_appointments_mistakes_name_the_key(appointments, message):
    from server.config import ConfigError

    data = tomllib.loads((ROOT / "server" / "demo_office.toml").read_text("utf-8"))
    data["appointments"] = appointments
    with pytest.raises(ConfigError) as e:
        parse_office(data)
    assert str(e.value).startswith(message)


def test_office_file_appointments_defaults():
    rules = parse_office(tomllib.loads((ROOT / "server" / "demo_office.toml").read_text("utf-8"))).appointments
    assert (rules.early_minutes, rules.late_minutes, rules.only) == (30, 15, ())
