"""The admin pages (/admin) through Flask's client: who may do what, CSRF on every form, the actions."""

from __future__ import annotations

import re

import pytest
from conftest import DISPLAY

from server.users import add_user

API = "/api/v1"


@pytest.fixture
def staff(app):
    hub = app.extensions["jiaohao"]
    add_user(hub.store, "boss01", "admin", "correct horse")
    add_user(hub.store, "floor01", "supervisor", "correct horse")
    add_user(hub.store, "clerk01", "clerk", "correct horse")


def csrf_of(client, path="/admin/login"):
    return re.search(r'name="csrf" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def login(client, name):
    return client.post("/admin/login", data={"csrf": csrf_of(client), "name": name, "password": "correct horse"})


def test_who_may_use_which_page(client, staff):
    assert client.get("/admin").status_code == 302
    assert login(client, "clerk01").status_code == 403
    r = login(client, "nobody")
    assert r.status_code == 401 and "Wrong name or password" in r.get_data(as_text=True)
    assert login(client, "floor01").status_code == 302
    for page in ("", "/counters", "/announcements"):
        assert client.get(f"/admin{page}").status_code == 200
    assert client.get("/admin/devices").status_code == 403
    assert client.get("/admin/staff").status_code == 403
    token = csrf_of(client, "/admin")
    assert client.post("/admin/devices", data={"csrf": token, "id": "k9", "role": "kiosk"}).status_code == 403
    assert login(client, "boss01").status_code == 302
    assert client.get("/admin/devices").status_code == 200 and client.get("/admin/staff").status_code == 200
    assert client.get("/admin/nothing").status_code == 404


def test_every_form_needs_the_csrf_token(app, client, staff):
    login(client, "boss01")
    for path, data in [("/admin/announcements", {"text_zh": "甲", "text_en": "A"}),
                       ("/admin/counters/3", {"action": "close"}),
                       ("/admin/devices", {"id": "k9", "role": "kiosk"}),
                       ("/admin/staff", {"name": "x1", "role": "clerk", "password": "long enough pw"})]:
        r = client.post(path, data={**data, "csrf": "forged"})
        assert r.status_code == 403, path
    hub = app.extensions["jiaohao"]
    assert hub.counter("3")["open"] and len(hub.announcements()) == 3 and len(hub.users()) == 3


def test_a_supervisor_runs_the_floor(app, client, staff):
    login(client, "floor01")
    token = csrf_of(client, "/admin/counters")
    assert client.post("/admin/counters/4", data={"csrf": token, "action": "close"}).status_code == 302
    hub = app.extensions["jiaohao"]
    assert hub.counter("4")["open"] is False
    r = client.post("/admin/counters/3", data={"csrf": token, "action": "save", "services": ["english"],
                                               "lanes": ["normal"]})
    assert r.status_code == 302 and hub.counter("3")["services"] == ["english"]
    r = client.post("/admin/counters/3", data={"csrf": token, "action": "save", "services": [], "lanes": ["normal"]})
    assert r.status_code == 422 and hub.counter("3")["services"] == ["english"]
    r = client.post("/admin/announcements", data={"csrf": token, "text_zh": "午休公告", "text_en": "Lunch notice",
                                                  "starts_at": "", "ends_at": ""})
    assert r.status_code == 302
    shown = client.get(f"{API}/state", headers=DISPLAY).get_json()["announcements"]
    assert shown[-1]["text"] == {"zh-TW": "午休公告", "en": "Lunch notice"}
    assert "午休公告" in client.get("/admin/announcements").get_data(as_text=True)
    r = client.post("/admin/announcements", data={"csrf": token, "text_zh": "", "text_en": "English only"})
    assert r.status_code == 422
    actors = {e["actor"] for e in hub.store.events() if e["kind"] in ("counter_closed", "counter_configured",
                                                                       "announcement_added")}
    assert actors == {"user:floor01"}


def test_an_admin_adds_a_device_sees_its_token_once_and_revokes_it(app, client, staff):
    login(client, "boss01")
    token = csrf_of(client, "/admin/devices")
    r = client.post("/admin/devices", data={"csrf": token, "action": "add", "id": "board-9", "role": "display"})
    assert r.status_code == 201 and r.headers["Cache-Control"] == "no-store"
    page = r.get_data(as_text=True)
    device_token = re.search(r'id="token">([^<]+)<', page).group(1)
    assert f"jiaohao display --server http://localhost --token {device_token}" in page and "<svg" in page
    assert device_token not in client.get("/admin/devices").get_data(as_text=True)  # shown once
    assert client.get(f"{API}/state", headers={"Authorization": f"Bearer {device_token}"}).status_code == 200
    r = client.post("/admin/devices", data={"csrf": token, "action": "revoke", "id": "board-9"})
    assert r.status_code == 302
    assert client.get(f"{API}/state", headers={"Authorization": f"Bearer {device_token}"}).status_code == 401


def test_an_admin_manages_staff_and_never_sees_a_password(app, client, staff):
    login(client, "boss01")
    token = csrf_of(client, "/admin/staff")
    hub = app.extensions["jiaohao"]
    r = client.post("/admin/staff", data={"csrf": token, "action": "add", "name": "clerk02", "role": "clerk",
                                          "password": "short"})
    assert r.status_code == 422
    r = client.post("/admin/staff", data={"csrf": token, "action": "add", "name": "clerk02", "role": "clerk",
                                          "password": "a long password"})
    assert r.status_code == 302 and hub.authenticate("clerk02", "a long password") is not None
    client.post("/admin/staff", data={"csrf": token, "action": "reset", "name": "clerk02", "password": "another one!"})
    assert hub.authenticate("clerk02", "a long password") is None
    assert hub.authenticate("clerk02", "another one!") is not None
    client.post("/admin/staff", data={"csrf": token, "action": "disable", "name": "clerk02"})
    assert hub.authenticate("clerk02", "another one!") is None
    page = client.get("/admin/staff").get_data(as_text=True)
    assert "another one!" not in page and "scrypt" not in page and "停用" in page


def test_an_admin_uploads_media_from_the_page(app, client, staff):
    import io

    login(client, "boss01")
    token = csrf_of(client, "/admin/media")
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40_000  # over the 16 KiB of a JSON body
    r = client.post("/admin/media", data={"csrf": token, "file": (io.BytesIO(png), "poster.png")},
                    content_type="multipart/form-data")
    assert r.status_code == 302
    hub = app.extensions["jiaohao"]
    assert [m["name"] for m in hub.media()] == ["poster.png"]
    r = client.post("/admin/media", data={"csrf": token, "file": (io.BytesIO(b"<html>"), "page.png")},
                    content_type="multipart/form-data")
    assert r.status_code == 422 and "PNG" in r.get_data(as_text=True)
    assert "poster.png" in client.get("/admin/media").get_data(as_text=True)
    r = client.post("/admin/media", data={"csrf": token, "action": "delete", "id": hub.media()[0]["id"]})
    assert r.status_code == 302 and hub.media() == []


def test_an_admin_imports_bookings_on_the_page_all_or_nothing(app, client, staff, clock):
    import io

    hub = app.extensions["jiaohao"]
    login(client, "floor01")
    assert client.get("/admin/appointments").status_code == 403  # admins import bookings
    login(client, "boss01")
    today = clock.now.astimezone(hub.office.tz).date().isoformat()
    bad = f"code,service,slot\nPG0001,general,{today} 10:30\nPG0002,no-such-service,{today} 11:00\n"
    r = client.post("/admin/appointments", content_type="multipart/form-data",
                    data={"csrf": csrf_of(client, "/admin"), "file": (io.BytesIO(bad.encode()), "export.csv")})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "<td>3</td>" in page  # the wrong row named by its line
    assert hub.appointments(None)[1] == []  # nothing imported
    good = f"code,service,slot\nPG0001,general,{today} 10:30\n"
    r = client.post("/admin/appointments", content_type="multipart/form-data",
                    data={"csrf": csrf_of(client, "/admin"), "file": (io.BytesIO(good.encode()), "export.csv")})
    assert r.status_code == 302
    r = client.post("/admin/appointments", data={"csrf": csrf_of(client, "/admin"), "code": "PG0003",
                                                 "service": "general", "slot": f"{today} 11:30"})
    assert r.status_code == 302
    assert sorted(b["code"] for b in hub.appointments(None)[1]) == ["PG0001", "PG0003"]
    assert "PG0003" in client.get("/admin/appointments").get_data(as_text=True)
