"""Issue #14, item 8: a ticket's public page and JSON answer until the end of the day after its
business day; later 410 `ticket_expired`, showing nothing of it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.conftest import KIOSK, FakeClock, assert_error


def test_an_old_ticket_is_gone_from_the_public_pages(client: Any, clock: FakeClock) -> None:
    r = client.post("/api/v1/tickets", json={"service": "general", "lane": "disability"}, headers=KIOSK)
    ticket = r.get_json()["ticket"]
    tid, number = ticket["id"], ticket["number"]

    clock.now = datetime(2026, 11, 24, 15, 59, tzinfo=UTC)  # 23:59 in Taipei on the day after: still there
    assert client.get(f"/api/v1/public/tickets/{tid}").status_code == 200
    assert client.get(f"/s/{tid}").status_code == 200

    clock.now = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)  # midnight: two days on
    err = assert_error(client.get(f"/api/v1/public/tickets/{tid}"), 410, "ticket_expired")
    assert "expired" in err["message"]
    page = client.get(f"/s/{tid}")
    assert page.status_code == 410
    html = page.get_data(as_text=True)
    assert number not in html and tid not in html and "愛心" not in html
    clock.now = datetime(2027, 12, 30, 3, 0, tzinfo=UTC)  # 400 days later, as in the issue
    assert_error(client.get(f"/api/v1/public/tickets/{tid}"), 410, "ticket_expired")
    # Staff with a token still see it: reports and appeals are answered from the record.
    assert client.get(f"/api/v1/tickets/{tid}", headers=KIOSK).status_code == 200
