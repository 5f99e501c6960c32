"""The board as a web page (/board, issue #4) in a real headless Chromium against a real hub process:
the same picture as the pygame board, fed by the same events, speaking the same clips in order."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from browser import axe_violations, browser
from conftest import KIOSK, ROOT, HubProcess, assert_error, counter_auth

from display.state import Call
from server.wire.speech import clip_names, sequence
from server.wire.text import Text

TOKEN = "demo-display-lobby-token"
TV = {"width": 1920, "height": 1080}
WAIT_MS = 15000


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clips")
    r = subprocess.run([sys.executable, "scripts/make_clips.py", "--out", str(out)], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture
def hub(clips: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HubProcess]:
    monkeypatch.setenv("JIAOHAO_CLIPS", str(clips))  # HubProcess hands os.environ to `jiaohao serve`
    hp = HubProcess(tmp_path / "board.db").start()
    yield hp
    hp.stop()


def issue(url: str, service: str = "general", lane: str = "normal") -> dict[str, Any]:
    r = requests.post(url + "/api/v1/tickets", json={"service": service, "lane": lane}, headers=KIOSK, timeout=10)
    assert r.status_code == 201, r.text
    return r.json()["ticket"]


def act(url: str, counter: str, action: str = "next") -> dict[str, Any] | None:
    r = requests.post(f"{url}/api/v1/counters/{counter}/{action}", headers=counter_auth(counter), timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["ticket"]  # type: ignore[no-any-return]


def open_board(b: Any, url: str, **kw: Any) -> Any:
    page = b.new_page(viewport=kw.pop("viewport", TV), locale="zh-TW")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.board_errors = errors
    page.goto(f"{url}/board?token={TOKEN}")
    page.wait_for_selector("body:not(.connecting)", timeout=WAIT_MS)  # the first snapshot is shown
    return page


def hero_shows(page: Any, number: str, counter_zh: str) -> None:
    page.wait_for_selector(f"#hero-number:text-is('{number}')", timeout=WAIT_MS)
    page.wait_for_selector(f"#hero-counter:has-text('請到 {counter_zh}')", timeout=WAIT_MS)


def spoken(page: Any) -> list[dict[str, Any]]:
    return page.evaluate("window.jiaohaoSpoken")  # type: ignore[no-any-return]


def outside_their_boxes(page: Any) -> list[Any]:
    """Texts whose box leaves its panel or cell, and a called number that had to be cut (never allowed)."""
    return page.evaluate("""(() => {
        const bad = [];
        for (const e of document.querySelectorAll('.line')) {
            if (!e.offsetParent) continue;
            const r = e.getBoundingClientRect();
            const p = e.closest('li, #hero, header, footer, section').getBoundingClientRect();
            if (r.left < p.left - 1 || r.right > p.right + 1 || r.top < p.top - 1 || r.bottom > p.bottom + 1)
                bad.push(e.id || e.className);
            if (getComputedStyle(e).textOverflow !== 'ellipsis' && e.scrollWidth > e.clientWidth + 1)
                bad.push(e.id || e.className);
        }
        for (const e of document.querySelectorAll('#hero-number, #counters .cnum, #recent .rnum'))
            if (e.scrollWidth > e.clientWidth + 1) bad.push('cut number: ' + e.textContent);
        return bad;
    })()""")  # type: ignore[no-any-return]


def expected_clips(number: str, counter: str) -> list[str]:
    call = Call(seq=0, number=number, ticket_id="", counter_id=counter, counter_name=Text(counter, counter))
    return clip_names(sequence(call))


def test_board_shows_the_state_on_load_then_live_calls_and_passes_axe(hub):
    url = hub.url
    first = issue(url)
    issue(url, "quick")
    assert act(url, "3")["number"] == first["number"]
    with browser() as b:
        page = open_board(b, url)
        # What was there before the page opened: the number at counter 3, the queues, the office, the date.
        hero_shows(page, first["number"], "3號綜合櫃台")
        assert page.locator("#hero").get_attribute("class") in ("", None)  # a snapshot does not flash
        assert page.inner_text("#office") == "臺中市南屯區戶政事務所"
        assert "民國" in page.inner_text("#date") and "年" in page.inner_text("#date")
        assert page.inner_text("#counters li[data-counter='3'] .cnum") == first["number"]
        assert page.inner_text("#services li[data-service='quick'] .swaiting") == "1 人"
        assert page.inner_text("#recent li .rnum") == first["number"]
        assert "防詐騙" in page.inner_text("#marquee-text")
        assert page.locator("#banner").is_hidden()
        violations = axe_violations(page)
        assert violations == [], [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in violations]

        # Live: a new ticket, called at counter 3, is shown large, flashing, and interrupts the marquee.
        t = issue(url, "general", "elderly")
        assert act(url, "3")["number"] == t["number"]
        hero_shows(page, t["number"], "3號綜合櫃台")
        page.wait_for_selector("#hero.flash", timeout=WAIT_MS)
        assert "Please proceed to Counter 3" in page.inner_text("#hero-counter-en")
        assert "綜合業務" in page.inner_text("#hero-service")
        badge = page.inner_text("#badge")
        assert "優先" in badge and "Priority" in badge and "樂齡" in badge
        page.wait_for_selector("#counters li[data-counter='3'].hot", timeout=WAIT_MS)
        page.wait_for_selector(f"#marquee-call-text:has-text('{t['number']}')", state="visible", timeout=WAIT_MS)
        assert page.inner_text("#services li[data-service='quick'] .swaiting") == "1 人"
        # The flash ends (the marquee still says the call): the page is WCAG 2.1 AA again.
        page.wait_for_selector("#hero:not(.flash)", timeout=WAIT_MS)
        violations = axe_violations(page)
        assert violations == [], [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in violations]
        assert outside_their_boxes(page) == []
        assert page.board_errors == []


@pytest.mark.timeout(240)
def test_calls_are_spoken_in_order_one_at_a_time_and_a_recall_again(hub):
    url = hub.url
    a, b_ = issue(url), issue(url)
    with browser() as b:
        page = open_board(b, url)
        # Browsers block sound until someone taps the page: a one-time button asks for it (Chromium
        # blocks it on an http page; a browser started with an autoplay policy needs no tap).
        button = page.locator("#sound")
        if page.evaluate("window.jiaohaoBoard.sound()") != "running":
            button.wait_for(state="visible", timeout=WAIT_MS)
            assert "按此啟用語音" in button.inner_text() and "Tap to enable sound" in button.inner_text()
            button.click()
        button.wait_for(state="hidden", timeout=WAIT_MS)
        assert page.evaluate("window.jiaohaoBoard.sound()") == "running"
        # Three calls in quick succession: counter 3, counter 4, then counter 3 calls its number again.
        act(url, "3")
        act(url, "4")
        act(url, "3", "recall")
        hero_shows(page, a["number"], "3號綜合櫃台")
        page.wait_for_selector("#badge:has-text('再次叫號')", timeout=WAIT_MS)
        page.wait_for_function("window.jiaohaoSpoken.filter(e => e.type === 'end').length >= 3", timeout=90000)
        log = spoken(page)
    assert [e["type"] for e in log] == ["start", "end"] * 3, log
    starts = log[0::2]
    assert [(e["number"], e["counter"], e["recall"]) for e in starts] == [
        (a["number"], "3", False), (b_["number"], "4", False), (a["number"], "3", True)]
    assert [e["seq"] for e in starts] == sorted({e["seq"] for e in starts})  # seq order, none twice
    for start, end in zip(log[0::2], log[1::2], strict=True):
        assert end["seq"] == start["seq"] and end["how"] == "ended"
        # the clips of display.announcer.sequence(): chime, Mandarin, English; none missing
        assert start["clips"] == expected_clips(start["number"], start["counter"])
        assert start["clips"][0] == "chime" and start["missing"] == []
        assert end["audioTime"] >= start["audioEnd"]  # it played to its end...
    for end, nxt in zip(log[1::2], log[2::2], strict=False):
        assert nxt["audioStart"] >= end["audioTime"]  # ...before the next one began: never overlapping


def test_a_private_call_shows_number_and_counter_only(hub):
    url = hub.url
    with browser() as b:
        page = open_board(b, url)
        t = issue(url, "private", "elderly")  # private and priority: not even the lane may show
        assert act(url, "16")["number"] == t["number"]
        hero_shows(page, t["number"], "16號疼您櫃台")
        hero = page.inner_text("#hero")
        assert page.inner_text("#hero-service") == ""
        assert page.locator("#badge").is_hidden()
        for word in ("專屬服務", "Personal service", "疼您櫃台（", "死亡", "離婚", "樂齡", "Priority"):
            assert word not in hero, word
        marquee = page.inner_text("#marquee-call-text")
        assert t["number"] in marquee and "專屬服務" not in marquee


def test_a_lost_event_is_noticed_by_seq_and_the_snapshot_fills_it_in(hub):
    url = hub.url
    with browser() as b:
        page = open_board(b, url)
        seq = page.evaluate("window.jiaohaoBoard.state.seq")
        page.evaluate("window.jiaohaoBoard.dropEvents(3)")  # the next three events never arrive
        t = issue(url)  # queue (lost)
        act(url, "5")  # call (lost), queue (lost), counter: one past the gap
        hero_shows(page, t["number"], "5號綜合櫃台")
        assert any(r.startswith("gap") for r in page.evaluate("window.jiaohaoBoard.resyncs"))
        assert page.evaluate("window.jiaohaoBoard.state.seq") >= seq + 4
        # the call the board missed is still announced (it is seconds old), once
        page.wait_for_function(f"window.jiaohaoSpoken.some(e => e.number === '{t['number']}')", timeout=WAIT_MS)
        assert len({e["seq"] for e in spoken(page) if e["number"] == t["number"]}) == 1


def test_a_lost_hub_shows_the_banner_and_dims_the_numbers_then_recovers(hub):
    url = hub.url
    issue(url)
    act(url, "3")
    with browser() as b:
        page = open_board(b, url)
        assert page.locator("#banner").is_hidden()
        hub.kill()
        page.wait_for_selector("#banner", state="visible", timeout=20000)
        banner = page.inner_text("#banner")
        assert "未連線" in banner and "Not connected" in banner
        assert page.evaluate("document.body.classList.contains('offline')")
        assert float(page.evaluate("getComputedStyle(document.getElementById('board')).opacity")) < 0.5
        # The hub comes back (same port, same database) and calls again: the board catches up by itself.
        again = HubProcess(hub.db, port=hub.port).start()
        try:
            t = issue(url)
            act(url, "4")
            page.wait_for_selector("#banner", state="hidden", timeout=30000)
            hero_shows(page, t["number"], "4號綜合櫃台")
            assert not page.evaluate("document.body.classList.contains('offline')")
        finally:
            again.stop()


def test_long_names_shrink_or_are_cut_but_never_overflow(clips, tmp_path, monkeypatch):
    office = (ROOT / "server" / "demo_office.toml").read_text("utf-8")
    for short, long in (
        ("臺中市南屯區戶政事務所\"", "臺中市南屯區戶政事務所第二辦公室暨新住民服務中心與自然人憑證申辦聯合服務處所\""),
        ("Nantun District Household Registration Office, Taichung\"",
         "Nantun District Household Registration Office, Taichung City, Second Branch and New Resident Centre\""),
        ("\"3號綜合櫃台\"", "\"3號綜合業務暨英語新住民與自然人憑證與戶籍謄本櫃台\""),
        ("\"Counter 3 (General)\"", "\"Counter 3 (General registration, English, new residents, certificates)\""),
        ("\"綜合業務\"", "\"綜合業務（戶籍登記・遷徙・出生・結婚・身分證・戶口名簿・印鑑登記）\""),
        ("\"General registration\"", "\"General registration (household, moving, birth, marriage, ID card)\""),
    ):
        assert short in office
        office = office.replace(short, long, 1)
    config = tmp_path / "long.toml"
    config.write_text(office, "utf-8")
    monkeypatch.setenv("JIAOHAO_CLIPS", str(clips))
    hp = HubProcess(tmp_path / "long.db", config=config).start()
    try:
        issue(hp.url, "general", "elderly")
        act(hp.url, "3")
        act(hp.url, "3", "recall")  # both badges at once: 再次叫號 and 優先・樂齡
        with browser() as b:
            for viewport in (TV, {"width": 1280, "height": 720}, {"width": 1080, "height": 1920}):
                page = open_board(b, hp.url, viewport=viewport)
                hero_shows(page, "A001", "3號綜合業務")
                assert outside_their_boxes(page) == [], viewport
                if viewport == TV:  # docs/display.md: at least 140 px tall on 1080p
                    assert page.evaluate("document.getElementById('hero-number').getBoundingClientRect().height") >= 140
                page.close()
    finally:
        hp.stop()


def test_a_wrong_or_missing_token_is_a_clear_page_not_a_blank_board(hub):
    url = hub.url
    r = requests.get(url + "/board", timeout=10)
    assert r.status_code == 401 and "缺少" in r.text and "no token" in r.text
    r = requests.get(url + "/board?token=nope", timeout=10)
    assert r.status_code == 401 and "權杖不正確" in r.text and "does not know this token" in r.text
    assert r.headers["Cache-Control"] == "no-store"
    r = requests.get(url + "/board?token=demo-kiosk-1-token", timeout=10)
    assert r.status_code == 403 and "display" in r.text
    with browser() as b:
        page = b.new_page(viewport=TV, locale="zh-TW")
        resp = page.goto(url + "/board?token=nope")
        assert resp.status == 401
        assert "The board cannot open" in page.inner_text("h1")
        assert axe_violations(page) == []


# -- the routes behind the speech, with Flask's test client -----------------------------------------


def test_clip_route_serves_catalogued_clips_only(client, tmp_path, monkeypatch):
    monkeypatch.setenv("JIAOHAO_CLIPS", str(tmp_path))
    (tmp_path / "chime.wav").write_bytes(b"RIFF....WAVE")
    (tmp_path / "secret.wav").write_bytes(b"RIFF....WAVE")
    r = client.get("/board/clips/chime.wav")
    assert r.status_code == 200 and r.mimetype == "audio/wav" and r.data == b"RIFF....WAVE"
    assert_error(client.get("/board/clips/secret.wav"), 404, "not_found")  # not in display.announcer.CLIPS
    assert_error(client.get("/board/clips/zh_hao.wav"), 404, "not_found")  # catalogued but not recorded
    assert client.get("/board/clips/..%2fchime.wav").status_code == 404


def test_speech_route_is_the_announcers_sequence(client):
    r = client.get("/board/speech?number=A023&counter=16")
    assert r.status_code == 200
    call = Call(seq=0, number="A023", ticket_id="", counter_id="16", counter_name=Text("16", "16"))
    assert r.get_json()["tokens"] == sequence(call)
    assert r.get_json()["clips"] == clip_names(sequence(call))
    r = client.get("/board/speech?number=A023&counter=3&languages=en&zh_phrase=laibin")
    assert r.get_json()["tokens"] == sequence(Call(0, "A023", "", "3", Text("3", "3")), ("en",), "laibin")
    assert client.get("/board/speech?number=A023&counter=3&languages=none").get_json()["tokens"] == []
    assert_error(client.get("/board/speech?counter=3"), 400, "missing_field")
    assert_error(client.get("/board/speech?number=A0%3C23&counter=3"), 400, "invalid_field")
    assert_error(client.get("/board/speech?number=A023&counter=3&languages=fr"), 400, "invalid_field")
    assert_error(client.get("/board/speech?number=A023&counter=3&zh_phrase=x"), 400, "invalid_field")


def _png(color: tuple[int, int, int]) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (1600, 900), color).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.timeout(180)
def test_media_rotate_in_their_region_and_what_is_not_media_is_skipped(hub):
    """GET /api/v1/media is the hub side's (issue 9): faked here with the browser's routing, the expected
    shape of docs/display.md. Images rotate by the clock; a file that does not decode is left out, said once."""
    import json

    files = {"/files/red.png": _png((220, 20, 20)), "/files/blue.png": _png((20, 20, 220)),
             "/files/evil.png": b"<script>alert(1)</script>", "/files/clip.mp4": b"not a video at all"}
    listing = {"media": [{"id": "red", "kind": "image", "url": "/files/red.png", "duration_s": 3},
                         {"id": "evil", "kind": "image", "url": "/files/evil.png", "duration_s": 3},
                         {"id": "clip", "kind": "video", "url": "/files/clip.mp4", "duration_s": 3},
                         {"id": "blue", "kind": "image", "url": "/files/blue.png", "duration_s": 3}]}
    seen_auth: list[str | None] = []

    def serve(route: Any) -> None:
        path = "/" + route.request.url.split("/", 3)[3].split("?")[0]
        seen_auth.append(route.request.headers.get("authorization"))
        if path == "/api/v1/media":
            route.fulfill(status=200, content_type="application/json", body=json.dumps(listing))
        else:
            route.fulfill(status=200, content_type="application/octet-stream", body=files[path])

    with browser() as b:
        page = b.new_page(viewport=TV, locale="zh-TW")
        warnings: list[str] = []
        page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.route("**/api/v1/media", serve)
        page.route("**/files/*", serve)
        page.goto(f"{hub.url}/board?token={TOKEN}")
        page.wait_for_selector("body:not(.connecting)", timeout=WAIT_MS)
        hero = page.locator("#hero").bounding_box()
        page.wait_for_selector("body.has-media #media img.media-item", timeout=WAIT_MS)
        assert set(seen_auth) == {f"Bearer {TOKEN}"}
        box = page.locator("#media").bounding_box()
        img = page.locator("#media img.media-item").bounding_box()
        assert box and img and img["width"] <= box["width"] + 1 and img["height"] <= box["height"] + 1
        assert page.locator("#hero").bounding_box() == hero  # the call panel keeps its size and place
        shown = set()
        for _ in range(40):  # two showable images, 3 s each: both come round within 8 s
            shown.add(page.evaluate("window.jiaohaoBoard.media()"))
            if {"red", "blue"} <= shown:
                break
            page.wait_for_timeout(250)
        assert shown <= {"red", "blue"} and {"red", "blue"} <= shown
        assert any("media evil " in w for w in warnings) and any("media clip " in w for w in warnings), warnings
        assert outside_their_boxes(page) == []
        violations = axe_violations(page)
        assert violations == [], [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in violations]
        # The list emptied: the region goes and the side column is whole again.
        listing["media"] = []
        page.evaluate("window.jiaohaoBoardMediaRefresh && window.jiaohaoBoardMediaRefresh()")
        page.wait_for_selector("body:not(.has-media)", timeout=WAIT_MS)
        assert page.locator("#media").is_hidden()
        assert errors == []


def test_a_video_is_heard_but_muted_while_a_call_is_spoken(hub, tmp_path):
    """The web board's twin of the pygame board's video sound: a WebM with sound (made with PyAV) plays
    unmuted once the page may make sound, muted from the moment a call arrives until it has been said."""
    import json

    pytest.importorskip("av", reason="PyAV (the display extra) makes the clip")
    sys.path.insert(0, str(ROOT / "scripts"))
    from make_video import make_clip

    film = make_clip(tmp_path / "film.webm", (160, 90), 4.0, 10, "vp8", sound=True, noise=False).read_bytes()
    listing = {"media": [{"id": "film", "kind": "video", "url": "/files/film.webm"}]}  # no duration_s

    def serve(route: Any) -> None:
        if route.request.url.split("?")[0].endswith("/api/v1/media"):
            route.fulfill(status=200, content_type="application/json", body=json.dumps(listing))
        else:
            route.fulfill(status=200, content_type="video/webm", body=film)

    ticket = issue(hub.url)
    with browser() as b:
        page = b.new_page(viewport=TV, locale="zh-TW")
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.route("**/api/v1/media", serve)
        page.route("**/files/*", serve)
        page.goto(f"{hub.url}/board?token={TOKEN}&video_volume=40")
        page.wait_for_selector("body:not(.connecting)", timeout=WAIT_MS)
        page.wait_for_selector("body.has-media #media video.media-item", timeout=WAIT_MS)
        assert page.evaluate("window.jiaohaoBoard.videoMuted()") is True  # no tap yet: no sound at all
        [item] = page.evaluate("window.jiaohaoBoard.mediaItems()")
        assert 3.9 < item["duration_s"] < 4.3  # no duration_s from the hub: the film's own length, not 8 s
        page.evaluate("window.jiaohaoBoardMediaRefresh()")  # the list read again (every 60 s): the length stays
        [item] = page.evaluate("window.jiaohaoBoard.mediaItems()")
        assert 3.9 < item["duration_s"] < 4.3
        button = page.locator("#sound")
        if page.evaluate("window.jiaohaoBoard.sound()") != "running":
            button.wait_for(state="visible", timeout=WAIT_MS)
            button.click()
        page.wait_for_function("window.jiaohaoBoard.videoMuted() === false", timeout=WAIT_MS)  # heard
        assert page.evaluate("document.querySelector('#media video').volume") == pytest.approx(0.4)
        assert page.evaluate("!document.querySelector('#media video').paused")
        act(hub.url, "3")
        hero_shows(page, ticket["number"], "3號綜合櫃台")
        assert page.evaluate("window.jiaohaoBoard.videoMuted()") is True  # the call arrived: silent at once
        page.wait_for_function("window.jiaohaoSpoken.some(e => e.type === 'start')", timeout=WAIT_MS)
        during = page.evaluate("[window.jiaohaoBoard.speechBusy(), window.jiaohaoBoard.videoMuted()]")
        assert during == [True, True]  # silent while the call is spoken
        page.wait_for_function("window.jiaohaoSpoken.some(e => e.type === 'end')", timeout=90000)
        page.wait_for_function("window.jiaohaoBoard.videoMuted() === false", timeout=WAIT_MS)  # heard again
        assert page.evaluate("!document.querySelector('#media video').paused")  # the film went on
        assert errors == []
