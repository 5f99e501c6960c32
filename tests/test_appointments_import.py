"""The sources' exports, mapped in server/appointments_import.py, each from a sample file of tests/data."""

from __future__ import annotations

from datetime import date, time

import pytest
from conftest import ADMIN, ROOT

from server.appointments_import import decode, from_csv, parse_date, parse_time
from server.config import load_office

DATA = ROOT / "tests" / "data"
OFFICE = load_office(None)


def read(name: str) -> list[tuple[int, str, str, str]]:
    entries, bad = from_csv(decode((DATA / name).read_bytes()), OFFICE)
    assert bad == []
    return [(line, b.code, b.service, b.slot.strftime("%Y-%m-%d %H:%M")) for line, b in entries]


def test_the_ministrys_export_big5_roc_dates_and_time_ranges():
    assert read("appointments_ministry.csv") == [
        (2, "M1150001", "general", "2026-11-24 09:30"),
        (3, "M1150002", "certificate", "2026-11-24 10:00"),  # a lower-case code, as typed, in capitals
        (4, "M1150003", "general", "2026-11-25 14:00"),
    ]


def test_the_offices_own_export_bom_and_roc_year_month_day():
    assert read("appointments_office.csv") == [
        (2, "OWN-7", "general", "2026-11-24 08:30"),
        (3, "OWN-8", "certificate", "2026-11-24 09:00"),
    ]


def test_our_own_format():
    assert read("appointments_contract.csv") == [
        (2, "C-1", "general", "2026-11-24 09:00"), (3, "C-2", "quick", "2026-11-24 09:30")]


@pytest.mark.parametrize("text,expected", [
    ("2026-12-02", date(2026, 12, 2)), ("2026/12/2", date(2026, 12, 2)), ("115/12/02", date(2026, 12, 2)),
    ("115-12-02", date(2026, 12, 2)), ("1151202", date(2026, 12, 2)), ("115年12月02日", date(2026, 12, 2)),
    ("民國115年12月2日", date(2026, 12, 2)), ("115/02/30", None), ("12/02", None), ("tomorrow", None),
])
def test_dates(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize("text,expected", [
    ("09:30", time(9, 30)), ("9:30", time(9, 30)), ("0930", time(9, 30)), ("9時30分", time(9, 30)),
    ("上午8時30分", time(8, 30)), ("下午2:00", time(14, 0)), ("09:30-10:00", time(9, 30)), ("9時", time(9, 0)),
    ("25:00", None), ("noon", None), ("", None),
])
def test_times(text, expected):
    assert parse_time(text) == expected


def test_every_sample_imports_through_the_api_and_no_name_is_kept(client, app):
    for name in ("appointments_ministry.csv", "appointments_office.csv", "appointments_contract.csv"):
        r = client.post("/api/v1/appointments", data=(DATA / name).read_bytes(),
                        headers={**ADMIN, "Content-Type": "text/csv"})
        assert r.status_code == 201, r.get_json()
    listed = client.get("/api/v1/appointments?date=2026-11-24", headers=ADMIN).get_json()["appointments"]
    assert len(listed) == 6
    store = app.extensions["jiaohao"].store
    dump = str(list(store.db.query("SELECT * FROM appointments"))) + str(store.events())
    assert "王小明" not in dump and "M1150001" in dump


def test_a_bad_sample_row_names_its_line(client):
    text = (DATA / "appointments_ministry.csv").read_bytes().decode("cp950") + "M9,綜合業務,王,115/13/01,09:00\r\n"
    r = client.post("/api/v1/appointments", data=text.encode("cp950"), headers={**ADMIN, "Content-Type": "text/csv"})
    assert r.status_code == 422
    assert [row["line"] for row in r.get_json()["error"]["rows"]] == [5]
