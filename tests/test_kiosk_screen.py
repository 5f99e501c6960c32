"""The kiosk screen (issue #3), headless with SDL's dummy driver: the model, PNG snapshots checked by region."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402
from PIL import Image, ImageChops  # noqa: E402
from test_kiosk_controller import CONFIG, Clock, FakeHub  # noqa: E402
from test_kiosk_live import Kiosk, wait_for  # noqa: E402

from display.layout import Box  # noqa: E402
from kiosk.controller import Controller, Lamp, Outcome  # noqa: E402
from kiosk.printer import SimulatedPrinter  # noqa: E402
from kiosk.screen import KioskScreen  # noqa: E402
from kiosk.screen_layout import SIZES, screen_layout  # noqa: E402
from kiosk.screen_model import ScreenModel, build_model, wait_words  # noqa: E402
from server.wire.text import Text  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = str(ROOT / "firmware_config" / "kiosk.example.toml")
NAMES = {"general": ("綜合業務", "General registration"), "quick": ("快速案件（謄本・印鑑證明）",
                                                                 "Quick cases (transcripts, seal certificates)")}


class RichHub(FakeHub):
    """FakeHub whose GET /services answers like the real one: names, waiting counts, estimates."""

    def services(self, deadline_s: float = 3.0) -> list[dict[str, Any]]:
        base = super().services(deadline_s)
        for s in base:
            waiting = sum(1 for t in self.tickets.values() if t["service"] == s["id"] and t["status"] == "waiting")
            zh, en = NAMES[s["id"]]
            s.update(name={"zh-TW": zh, "en": en}, waiting=waiting + (7 if s["id"] == "general" else 0),
                     estimated_wait_s=600 if s["open"] else None,
                     estimated_wait_range_s=[300, 900] if s["open"] else None)
        return base


@pytest.fixture
def kit():
    hub, printer, clock = RichHub(), SimulatedPrinter(), Clock()
    keys = iter(f"key-{i}" for i in range(1000))
    c = Controller(CONFIG, hub, printer, server_url="http://hub:8600", monotonic=clock, new_key=lambda: next(keys))
    c.refresh()
    return c, hub, printer, clock


@pytest.fixture(scope="module")
def screen() -> KioskScreen:
    return KioskScreen((800, 480))


def button(model: ScreenModel, bid: str) -> Any:
    return next(b for b in model.buttons if b.id == bid)


# -- the model ---------------------------------------------------------------------------------

def test_model_when_ready_shows_each_button_with_its_service_counts_and_lane(kit) -> None:
    c, *_ = kit
    m = build_model(c)
    assert [b.id for b in m.buttons] == ["general", "elderly", "quick"] and [b.key for b in m.buttons] == [1, 2, 3]
    g, e, q = (button(m, x) for x in ("general", "elderly", "quick"))
    assert g.name == Text("綜合業務", "General registration") and g.lane is None
    assert e.name == g.name and e.lane == Text("樂齡", "Seniors 65+")  # the priority lane's mark
    assert (g.waiting, g.wait) == (7, Text("約 5–15 分", "~5–15 min"))
    assert (q.waiting, q.wait) == (0, Text("免等候", "No wait"))
    assert all(b.lit and b.state == "ready" and b.status == Text("請按", "Press") for b in m.buttons)
    assert m.banner.zh == "請按按鈕取號" and m.banner.level == "info" and not m.fault and m.issued is None
    assert m.office == Text("測試戶政事務所", "Test Office")


def test_paper_out_is_an_error_banner_and_every_lamp_off(kit) -> None:
    c, _, printer, _ = kit
    printer.fault = "paper_out"
    c.refresh()
    m = build_model(c)
    assert m.fault and m.banner.level == "error" and "缺紙" in m.banner.zh and "out of paper" in m.banner.en
    assert all(not b.lit and b.state == "unavailable" for b in m.buttons)
    assert button(m, "general").waiting == 7  # the hub still answers: counts stay on screen


def test_a_press_shows_the_number_for_a_while_then_lets_go(kit) -> None:
    c, hub, _, clock = kit
    r = c.press("elderly")
    assert r.outcome == Outcome.PRINTED
    m = build_model(c)
    assert m.issued is not None and m.issued.number == r.ticket["number"] == "A001"
    assert m.issued.service == Text("綜合業務", "General registration") and m.issued.lane == Text("樂齡", "Seniors 65+")
    assert m.issued.ahead == 0 and m.banner.zh == "請取號碼牌 A001"
    c.refresh()  # the next poll brings the new waiting count
    assert button(build_model(c), "general").waiting == 8
    clock.t += 19
    assert build_model(c).issued is not None
    clock.t += 2  # RESULT_SHOWN_S later the screen is for the next person again
    m = build_model(c)
    assert m.issued is None and m.banner.zh == "請按按鈕取號"


def test_a_failed_press_shows_no_number_but_its_error(kit) -> None:
    c, _, printer, _ = kit
    printer.fault = "fail_print"
    r = c.press("general")
    assert r.outcome == Outcome.CANCELLED
    m = build_model(c)
    assert m.issued is None and m.banner.level == "error" and "A001" in m.banner.zh
    assert not m.fault  # one failed ticket is not a broken kiosk: the lamps are on


def test_a_fault_after_printing_outranks_take_your_ticket(kit) -> None:
    c, _, printer, _ = kit
    c.press("general")
    printer.fault = "paper_out"
    c.refresh()
    m = build_model(c)
    assert m.issued is not None and m.issued.number == "A001"  # the ticket is out: its number stays
    assert m.banner.level == "error" and "缺紙" in m.banner.zh and m.fault


def test_closed_service_says_closed_and_its_lamp_is_off(kit) -> None:
    c, hub, *_ = kit
    hub.open["quick"] = False
    c.refresh()
    m = build_model(c)
    q = button(m, "quick")
    assert not q.lit and q.state == "closed" and q.wait == Text("暫停服務", "Closed")
    assert button(m, "general").lit and not m.fault


def test_printing_blinks_one_and_asks_the_others_to_wait(kit) -> None:
    c, *_ = kit
    c.busy = "elderly"  # what press() sets while the ticket prints
    m = build_model(c)
    assert button(m, "elderly").lamp == Lamp.BLINK and button(m, "elderly").state == "printing"
    assert button(m, "general").state == "busy" and m.banner.zh == "列印中，請稍候"


def test_hub_down_hides_stale_counts(kit) -> None:
    c, hub, *_ = kit
    hub.down = True
    c.refresh()
    m = build_model(c)
    assert m.fault and m.banner.level == "error" and "cannot be reached" in m.banner.en
    assert all(b.waiting is None and b.wait.zh == "—" for b in m.buttons)


def test_wait_words() -> None:
    assert wait_words([300, 900], 600) == Text("約 5–15 分", "~5–15 min")
    assert wait_words([0, 240], 120) == Text("4 分鐘內", "under 4 min")
    assert wait_words(None, 600) == Text("約 10 分", "~10 min")
    assert wait_words(None, None) is None


# -- PNG snapshots, checked by region -------------------------------------------------------------

def png(path: Path) -> Image.Image:
    return Image.open(path).convert("RGB")


def yellow_bbox(img: Image.Image, box: Box) -> tuple[int, int, int, int] | None:
    """Bounding box (screen coordinates) of the yellow pixels inside `box`."""
    r, g, b = img.crop((box.x, box.y, box.x + box.w, box.y + box.h)).split()
    yellow = ImageChops.multiply(ImageChops.multiply(r.point(lambda v: 255 if v > 200 else 0),
                                                     g.point(lambda v: 255 if v > 160 else 0)),
                                 b.point(lambda v: 255 if v < 90 else 0))
    bb = yellow.getbbox()
    return (bb[0] + box.x, bb[1] + box.y, bb[2] + box.x, bb[3] + box.y) if bb else None


def share_of(img: Image.Image, box: Box, color: tuple[int, int, int]) -> float:
    crop = img.crop((box.x, box.y, box.x + box.w, box.y + box.h))
    hits = sum(n for n, c in crop.getcolors(box.w * box.h) or [] if c == color)
    return hits / (box.w * box.h)


def inked(img: Image.Image, box: Box) -> bool:
    crop = img.crop((box.x, box.y, box.x + box.w, box.y + box.h)).convert("L")
    return crop.getbbox() is not None


def check_boxes(frame: Any, model: ScreenModel, w: int, h: int) -> None:
    """Every text inside its own box; every button's texts inside its row; rows on screen, apart."""
    screen_box = Box(0, 0, w, h)
    for d in frame.drawn:
        assert d.box.contains(d.rect), (d.name, d.box, d.rect, d.text)
        assert screen_box.contains(d.rect), d.name
    rows = frame.layout.rows
    assert len(rows) == len(model.buttons)
    for row, b in zip(rows, model.buttons, strict=True):
        assert screen_box.contains(row.box)
        mine = [d for d in frame.drawn if d.name.startswith(f"{b.id}_")]
        assert {f"{b.id}_name", f"{b.id}_name_en", f"{b.id}_waiting", f"{b.id}_wait"} <= {d.name for d in mine}
        for d in mine:
            assert row.box.contains(d.rect), (b.id, d.name, row.box, d.rect)
            if not d.name.startswith(f"{b.id}_name"):  # names may be cut; counts, estimates and states never
                assert not d.text.endswith("…"), (d.name, d.text)
        assert not row.box.contains(frame.layout.banner) and row.box.y + row.box.h <= frame.layout.banner.y
    for i, a in enumerate(rows):
        for b in rows[i + 1:]:
            apart = (a.box.x + a.box.w <= b.box.x or b.box.x + b.box.w <= a.box.x
                     or a.box.y + a.box.h <= b.box.y or b.box.y + b.box.h <= a.box.y)
            assert apart, (a.box, b.box)


def test_snapshot_after_a_press_shows_the_number_very_large(kit, screen, tmp_path: Path) -> None:
    c, *_ = kit
    c.press("elderly")
    c.refresh()
    model = build_model(c)
    out = tmp_path / "issued-800x480.png"
    frame = screen.save(model, out)
    img = png(out)
    assert img.size == (800, 480)
    L = frame.layout
    assert L.hero_number is not None and frame.named("issued_number").text == "A001"
    bb = yellow_bbox(img, L.hero_number)
    assert bb is not None and bb[3] - bb[1] >= 0.35 * 480, bb  # the digits themselves, from the pixels
    assert bb[2] - bb[0] >= 0.5 * 800
    check_boxes(frame, model, 800, 480)
    for row in L.rows:
        assert inked(img, row.box.inset(row.box.h // 8))
    assert frame.named("issued_lane").text == "樂齡"  # the priority lane, in words
    assert share_of(img, L.banner, (255, 214, 0)) < 0.05  # no fault banner


def test_snapshot_with_paper_out_has_the_fault_banner(kit, screen, tmp_path: Path) -> None:
    c, _, printer, _ = kit
    printer.fault = "paper_out"
    c.refresh()
    model = build_model(c)
    out = tmp_path / "paper-out-800x480.png"
    frame = screen.save(model, out)
    img = png(out)
    L = frame.layout
    assert L.banner.y + L.banner.h <= 480 and L.banner.h >= 0.2 * 480  # a fault takes more room
    assert share_of(img, L.banner, (255, 214, 0)) > 0.5  # black on yellow
    assert L.banner_tag is not None and frame.named("banner_tag").text == "故障"  # said in words too
    shown = "".join(d.text for d in frame.drawn if d.name in ("banner", "banner_2"))
    assert "缺紙" in shown and "暫停取號" in shown
    assert "out of paper" in " ".join(d.text for d in frame.drawn if d.name.startswith("banner_en"))
    check_boxes(frame, model, 800, 480)
    assert all(frame.named(f"{b.id}_status").text == "暫停取號" for b in model.buttons)
    # Unlit lamps are hollow circles: the circle's centre is black, a lit one's is white.
    lamp = L.rows[0].lamp
    assert img.getpixel((lamp.x + lamp.w // 2, lamp.y + lamp.h // 8 + 2)) == (0, 0, 0)


def test_snapshot_when_ready_fills_every_row(kit, screen, tmp_path: Path) -> None:
    c, *_ = kit
    model = build_model(c)
    out = tmp_path / "ready-800x480.png"
    frame = screen.save(model, out)
    img = png(out)
    check_boxes(frame, model, 800, 480)
    for row, b in zip(frame.layout.rows, model.buttons, strict=True):
        assert inked(img, row.box.inset(row.box.h // 8))
        assert frame.named(f"{b.id}_status").text == "請按"
        lamp = row.lamp
        assert img.getpixel((lamp.x + lamp.w // 2, lamp.y + lamp.h // 8 + 2)) == (255, 255, 255)  # filled
    assert frame.named("elderly_lane").text == "樂齡" and frame.named("general_lane") is None
    assert share_of(img, frame.layout.banner, (255, 214, 0)) < 0.05


@pytest.mark.parametrize("size", SIZES)
def test_long_names_shrink_or_ellipsize_at_every_size(kit, size: tuple[int, int]) -> None:
    c, hub, printer, _ = kit
    long = "臺中市南屯區戶政事務所第一辦公室暨新住民多元文化服務中心附設綜合業務特別專用櫃台" * 2
    NAMES_LONG = {"zh-TW": long, "en": "A very long service name " * 8}
    original = hub.services

    def services(deadline_s: float = 3.0) -> list[dict[str, Any]]:
        return [{**s, "name": NAMES_LONG, "waiting": 12345} for s in original(deadline_s)]

    hub.services = services  # type: ignore[method-assign]
    c.refresh()
    screen = KioskScreen(size)
    surface = pygame.Surface(size)
    for step in ("ready", "issued", "fault"):
        if step == "issued":
            c.press("elderly")
        if step == "fault":
            printer.fault = "offline"
            c.refresh()
        model = build_model(c)
        frame = screen.draw(model, surface)
        check_boxes(frame, model, *size)
        name = frame.named("general_name")
        assert name is not None and name.text.endswith("…")
        if step == "issued":
            bb = frame.named("issued_number").rect
            assert bb.h >= 0.35 * size[1]


@pytest.mark.parametrize("n", [1, 2, 5, 8, 12])
def test_layout_keeps_every_row_on_screen_for_any_number_of_buttons(n: int) -> None:
    for w, h in SIZES:
        for issued in (False, True):
            for level in ("info", "warning", "error"):
                L = screen_layout(w, h, n, issued=issued, level=level)
                assert len(L.rows) == n
                for r in L.rows:
                    assert r.box.w > 0 and r.box.h > 0 and Box(0, 0, w, h).contains(r.box)
                    assert r.box.y + r.box.h <= L.banner.y
                    for part in (r.lamp, r.name, r.name_en, r.waiting, r.wait, r.wait_en):
                        assert r.box.contains(part), (w, h, n, issued, level, part)


# -- live: a real hub, mock pins, the simulated printer ---------------------------------------------

def test_live_press_shows_the_issued_number_and_the_hubs_waiting_counts(hub_process, tmp_path: Path) -> None:
    k = Kiosk(hub_process.url, f"sim:{tmp_path}/sim.bin")
    try:
        wait_for(lambda: k.lamp("general"), what="ready")
        m = build_model(k.app.controller)
        assert button(m, "general").waiting == 0 and button(m, "general").name.zh == "綜合業務"
        assert button(m, "private").name.zh == "專屬服務"  # the neutral name, as on the ticket
        assert button(m, "elderly").lane == Text("樂齡", "Seniors 65+")
        k.press("general")
        k.settle()
        ticket = k.app.controller.last_result.ticket
        model = wait_for(lambda: (m := build_model(k.app.controller)).issued
                         and button(m, "general").waiting == 1 and m, what="the screen to show the new count")
        assert model.issued.number == ticket["number"]
        assert button(model, "elderly").waiting == 1 and button(model, "private").waiting == 0
        frame = KioskScreen((800, 480)).save(model, tmp_path / "live.png")
        bb = yellow_bbox(png(tmp_path / "live.png"), frame.layout.hero_number)
        assert bb is not None and bb[3] - bb[1] >= 0.35 * 480
    finally:
        k.close()


@pytest.mark.parametrize("window", [False, True], ids=["off-screen", "window"])
def test_cli_screen_snapshot_follows_a_key_press(hub_process, tmp_path: Path, window: bool) -> None:
    out = tmp_path / "screen.png"
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "kiosk", "--config", EXAMPLE, "--server", hub_process.url,
         "--token", "demo-kiosk-1-token", "--printer", f"sim:{tmp_path}/sim.bin", "--pins", "mock", "--keys",
         "--screen-snapshot", str(out), "--screen-size", "1024x600", *(["--screen"] if window else [])],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "SDL_VIDEODRIVER": "dummy"})  # a window on no display
    try:
        lines: list[str] = []

        def said(words: str) -> bool:
            while True:
                line = proc.stdout.readline()
                if not line:
                    raise AssertionError(f"kiosk exited: {lines} {proc.stderr.read()}")
                lines.append(line)
                if words in line:
                    return True

        said("請按按鈕取號")  # the stdout messages are still there
        wait_for(lambda: out.exists(), what="the first snapshot")
        proc.stdin.write("1\n")
        proc.stdin.flush()
        said("請取號碼牌")

        def big_number() -> bool:
            try:
                img = png(out)
            except OSError:
                return False
            bb = yellow_bbox(img, Box(0, 0, 1024, 330))
            return img.size == (1024, 600) and bb is not None and bb[3] - bb[1] >= 0.35 * 600

        wait_for(big_number, what="the snapshot to show the number")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_cli_screen_options_are_checked() -> None:
    for args, words in [(("--screen-size", "big"), "must be WIDTHxHEIGHT"),
                        (("--fullscreen",), "add --screen"),
                        (("--screen-snapshot", "/no/such/dir/s.png"), "folder does not exist")]:
        r = subprocess.run([sys.executable, "-m", "server.cli", "kiosk", "--config", EXAMPLE, "--server", "http://h",
                            "--token", "t", "--printer", "sim:", "--pins", "mock", *args],
                           cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert r.returncode == 1 and words in r.stderr, (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_screen_module_is_what_imports_pygame() -> None:
    code = ("import sys\nimport kiosk.app, kiosk.cli\nassert 'pygame' not in sys.modules\n"
            "import kiosk.screen_model, kiosk.screen_layout\nassert 'pygame' not in sys.modules  # pure\n"
            "import kiosk.screen\nassert 'pygame' not in sys.modules  # not even the drawing module, until it draws\n"
            "kiosk.screen.KioskScreen\nfrom kiosk.screen import build_model\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr

