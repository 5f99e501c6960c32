"""The public JSON feed: cacheable (ETag, Cache-Control), limited per address, nothing private."""

from __future__ import annotations

from conftest import KIOSK, assert_error, counter_auth


def test_ticket_feed_etag_and_304(client):
    t = client.post("/api/v1/tickets", json={"service": "general"}, headers=KIOSK).get_json()["ticket"]
    r = client.get(f"/api/v1/public/tickets/{t['id']}")
    assert r.status_code == 200 and r.headers["Cache-Control"].startswith("public")
    body = r.get_json()
    assert body["ticket"]["number"] == "A001" and "id" not in body["ticket"]
    etag = r.headers["ETag"]
    again = client.get(f"/api/v1/public/tickets/{t['id']}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    client.post("/api/v1/counters/3/next", headers=counter_auth("3"))
    changed = client.get(f"/api/v1/public/tickets/{t['id']}", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    called = changed.get_json()["ticket"]
    assert called["status"] == "called" and called["counter"]["name"]["zh-TW"] == "3號綜合櫃台"


def test_ticket_feed_unknown_is_404(client):
    assert_error(client.get("/api/v1/public/tickets/nope"), 404, "unknown_ticket")


def test_private_service_is_neutral_in_public_feeds(client):
    t = client.post("/api/v1/tickets", json={"service": "private"}, headers=KIOSK).get_json()["ticket"]
    text = client.get(f"/api/v1/public/tickets/{t['id']}").get_data(as_text=True)
    text += client.get("/api/v1/public/status").get_data(as_text=True)
    assert "疼您" not in text and "死亡" not in text and "divorce" not in text
    assert "專屬服務" in text
