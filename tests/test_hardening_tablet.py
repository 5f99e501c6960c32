"""Issue #14, item 7: the satisfaction tablet holds a `tablet` token that may only read and post its
counter's rating; the /rate page moves the token out of its address and is never cached."""

from __future__ import annotations

from typing import Any

import pytest

from server.config import ConfigError, load_office
from tests.conftest import ROOT, assert_error, counter_auth

TABLET_3 = {"Authorization": "Bearer demo-tablet-3-token"}


def _finished_visit(client: Any) -> None:
    client.post("/api/v1/tickets", json={"service": "general"}, headers={"Authorization": "Bearer demo-kiosk-1-token"})
    assert client.post("/api/v1/counters/3/next", headers=counter_auth("3")).get_json()["ticket"]
    assert client.post("/api/v1/counters/3/finish", headers=counter_auth("3")).status_code == 200


def test_a_tablet_rates_its_counter(client: Any) -> None:
    _finished_visit(client)
    visit = client.get("/api/v1/counters/3/rating", headers=TABLET_3)
    assert visit.status_code == 200 and visit.get_json()["visit"]["number"] == "A001"
    r = client.post("/api/v1/counters/3/rating", json={"score": 4}, headers=TABLET_3)
    assert r.status_code == 201


@pytest.mark.parametrize(("method", "path"), [
    ("post", "/api/v1/counters/3/next"), ("post", "/api/v1/counters/3/recall"), ("post", "/api/v1/counters/3/close"),
    ("post", "/api/v1/counters/3/transfer"), ("post", "/api/v1/counters/3/finish"), ("post", "/api/v1/tickets"),
    ("get", "/api/v1/state"), ("get", "/api/v1/services"), ("get", "/api/v1/counters/3"),
    ("get", "/api/v1/counters/5/rating"), ("post", "/api/v1/counters/5/rating"), ("get", "/api/v1/devices"),
    ("post", "/api/v1/devices/self/status"), ("get", "/api/v1/reports/satisfaction?month=2026-11"),
])
def test_a_tablet_may_do_nothing_else(client: Any, method: str, path: str) -> None:
    r = getattr(client, method)(path, json={"score": 4, "service": "quick"}, headers=TABLET_3)
    assert_error(r, 403)


def test_the_counter_token_still_works_on_the_rating_page(client: Any) -> None:
    _finished_visit(client)
    assert client.get("/api/v1/counters/3/rating", headers=counter_auth("3")).get_json()["visit"]


def test_the_rate_page_is_never_cached_nor_referred_and_drops_the_token_from_its_address(client: Any) -> None:
    r = client.get("/rate/3?token=demo-tablet-3-token")
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    html = r.get_data(as_text=True)
    assert "history.replaceState" in html and "sessionStorage" in html
    assert "demo-tablet-3-token" not in html


def test_a_tablet_names_its_counter(tmp_path: Any) -> None:
    text = (ROOT / "server" / "demo_office.toml").read_text("utf-8")
    bad = tmp_path / "office.toml"
    bad.write_text(text.replace('token = "demo-tablet-3-token"\ncounter = "3"\n', 'token = "demo-tablet-3-token"\n'),
                   "utf-8")
    with pytest.raises(ConfigError, match="counter"):
        load_office(str(bad))
    assert {d.counter for d in load_office(None).devices if d.role == "tablet"} == {str(n) for n in range(1, 17)}
