"""Booking check-in at the kiosk (issue 11) against a fake hub that answers as CONTRACT.md "Appointments" says."""

from __future__ import annotations

from typing import Any

import pytest
from PIL import ImageChops
from test_kiosk_controller import CONFIG, Clock, FakeHub

from kiosk.controller import Controller, Lamp, Outcome, valid_code
from kiosk.escpos_decode import decode
from kiosk.hub_client import HubRefused, HubUnreachable
from kiosk.printer import SimulatedPrinter
from kiosk.ticket_image import render_ticket

KIOSK = CONFIG.__class__(**{**CONFIG.__dict__, "buttons": (*CONFIG.buttons, CONFIG.buttons[0].__class__(
    "appointment", "appointment", "normal", 13, 19))})


class BookingHub(FakeHub):
    """FakeHub with bookings: code -> (slot, state), state one of ok | early | late | other_day."""

    def __init__(self) -> None:
        super().__init__()
        self.open["appointment"] = True
        self.bookings: dict[str, tuple[str, str]] = {"R1234": ("2026-11-22 09:30", "ok"),
                                                     "LATE-77": ("2026-11-22 08:30", "late"),
                                                     "EARLY9": ("2026-11-22 11:00", "early"),
                                                     "TMRW1": ("2026-11-23 09:00", "other_day")}
        self.checked: dict[str, dict[str, Any]] = {}
        self.check_in_calls: list[str] = []

    def check_in(self, code: str, key: str, deadline_s: float = 15.0) -> tuple[dict[str, Any], bool]:
        self.check_in_calls.append(code)
        if self.down:
            raise HubUnreachable("down")
        if code not in self.bookings:
            raise HubRefused(404, "unknown_appointment", f"no booking {code}")
        slot, state = self.bookings[code]
        if state == "early":
            raise HubRefused(409, "too_early", "check-in opens at 10:30 (slot 11:00)")
        if state == "other_day":
            raise HubRefused(409, "not_today", "the booking is for 2026-11-23")
        if code in self.checked:
            return self.checked[code], False
        ticket, _ = self.issue("appointment", "normal", f"appt-{code}")
        status = "lapsed" if state == "late" else "checked_in"
        if status == "checked_in":
            ticket["appointment"] = {"code": code, "slot": slot}
            self.tickets[ticket["id"]]["appointment"] = ticket["appointment"]
        answer = {"ticket": ticket, "appointment": {"code": code, "service": "appointment", "slot": slot,
                                                    "status": status}}
        self.checked[code] = answer
        return answer, True


@pytest.fixture
def kit():
    hub, printer, clock = BookingHub(), SimulatedPrinter(), Clock()
    keys = iter(f"key-{i}" for i in range(1000))
    c = Controller(KIOSK, hub, printer, server_url="http://hub:8600", monotonic=clock, new_key=lambda: next(keys))
    c.refresh()
    return c, hub, printer, clock


def printed_image(printer: SimulatedPrinter, i: int = -1):
    d = decode(printer.printed[i])
    assert len(d.tickets) == 1 and d.tickets[0].cut
    return d.tickets[0].image.convert("1")


def same_picture(a, b) -> bool:
    return a.size == b.size and ImageChops.difference(a.convert("L"), b.convert("L")).getbbox() is None


def test_code_shape() -> None:
    assert valid_code(" R1234\n") == "R1234" and valid_code("ab-12") == "ab-12"
    for bad in ("", "12", "x" * 33, "R12 34", "R1234\x1b", "預約1234", "R1234;DROP"):
        assert valid_code(bad) is None, bad


def test_check_in_prints_an_appointment_ticket_with_its_slot(kit) -> None:
    c, hub, printer, _ = kit
    r = c.check_in("R1234")
    assert r.outcome == Outcome.PRINTED and r.ticket and r.ticket["appointment"]["slot"] == "2026-11-22 09:30"
    assert "報到完成" in r.message.zh and r.ticket["number"] in r.message.en
    content = c.ticket_content(r.ticket)
    assert content.appointment_slot is not None and content.appointment_slot.strftime("%H:%M") == "09:30"
    assert content.note is None
    # The bytes on paper are that ticket: the decoded raster is the render of that content, pixel for pixel,
    # and it is not the ordinary ticket (the 預約 banner and the slot line are on it).
    got = printed_image(printer)
    assert same_picture(got, render_ticket(content, 576))
    plain = render_ticket(c.ticket_content({k: v for k, v in r.ticket.items() if k != "appointment"}), 576)
    assert got.height > plain.height + 60


def test_the_same_code_again_prints_the_same_ticket(kit) -> None:
    c, hub, printer, clock = kit
    first = c.check_in("R1234")
    again = c.check_in("R1234")
    assert again.outcome == Outcome.PRINTED and again.ticket["id"] == first.ticket["id"]
    assert len(hub.tickets) == 1 and len(printer.printed) == 2


def test_a_lapsed_booking_prints_an_ordinary_ticket_saying_why(kit) -> None:
    c, hub, printer, _ = kit
    r = c.check_in("LATE-77")
    assert r.outcome == Outcome.PRINTED and "appointment" not in r.ticket
    assert "現場候位" in r.message.zh and "wait in line" in r.message.en
    content = c.ticket_content(r.ticket, {"status": "lapsed"})
    assert content.appointment_slot is None
    assert content.note.zh == "已逾預約時間 15 分鐘，改為現場候位"
    assert content.note.en == "More than 15 min late: you now wait in line"
    got = printed_image(printer)
    assert same_picture(got, render_ticket(content, 576))
    assert not same_picture(got, render_ticket(c.ticket_content(r.ticket), 576))  # the line is on paper


@pytest.mark.parametrize(("code", "outcome", "zh", "en"), [
    ("NOPE1", Outcome.NOT_FOUND, "查無此預約", "Booking not found"),
    ("EARLY9", Outcome.TOO_EARLY, "10:30", "check-in opens at 10:30"),
    ("TMRW1", Outcome.NOT_TODAY, "不是今天", "not for today"),
])
def test_refusals_print_nothing_and_say_why(kit, code: str, outcome: Outcome, zh: str, en: str) -> None:
    c, hub, printer, _ = kit
    r = c.check_in(code)
    assert r.outcome == outcome and zh in r.message.zh and en in r.message.en
    assert printer.printed == [] and hub.tickets == {}
    assert c.message() == r.message  # the screen says it


@pytest.mark.parametrize("garbage", ["8f3a9c0e1b7d4f2a6c5e9b8d7a6f5e4d3c2b1a0f9e8d7c6b5a4", "R1", "R12\x00\x07",
                                     "http://evil/?x=<script>", ""])
def test_scanner_garbage_is_not_found_and_never_reaches_the_hub(kit, garbage: str) -> None:
    c, hub, printer, _ = kit
    r = c.check_in(garbage)
    assert r.outcome == Outcome.NOT_FOUND and "查無此預約" in r.message.zh and "not found" in r.message.en
    assert hub.check_in_calls == [] and printer.printed == []


def test_printer_checked_before_the_hub_is_asked(kit) -> None:
    c, hub, printer, _ = kit
    printer.fault = "paper_out"
    r = c.check_in("R1234")
    assert r.outcome == Outcome.PRINTER_FAULT and hub.check_in_calls == [] and not hub.checked


def test_hub_gone_prints_nothing_and_the_same_code_works_later(kit) -> None:
    c, hub, printer, _ = kit
    hub.down = True
    r = c.check_in("R1234")
    assert r.outcome == Outcome.HUB_UNREACHABLE and "cannot be reached" in r.message.en and printer.printed == []
    assert c.orphans == [] and c.pending_cancels == []  # nothing to cancel: a check-in is idempotent
    hub.down = False
    c.refresh()
    assert c.check_in("R1234").outcome == Outcome.PRINTED


def test_a_failed_print_keeps_the_check_in_and_sends_them_to_the_counter(kit) -> None:
    c, hub, printer, _ = kit
    printer.fault = "fail_print"
    r = c.check_in("R1234")
    assert r.outcome == Outcome.CHECKED_IN_NOT_PRINTED
    assert hub.cancelled == [] and c.pending_cancels == []  # never cancelled: the booking stays checked in
    assert r.ticket["number"] in r.message.zh and "checked in" in r.message.en and "front desk" in r.message.en
    printer.fault = None
    again = c.check_in("R1234")  # once the printer works, the same code prints the same ticket
    assert again.outcome == Outcome.PRINTED and again.ticket["id"] == r.ticket["id"]


def test_a_print_failing_once_is_retried(kit) -> None:
    c, hub, printer, _ = kit
    printer.fault = "fail_print_once"
    assert c.check_in("R1234").outcome == Outcome.PRINTED and len(printer.printed) == 1


def test_check_in_button_without_a_screen_prints_an_ordinary_ticket(kit) -> None:
    c, hub, printer, _ = kit
    r = c.press("appointment")
    assert r.outcome == Outcome.PRINTED and r.ticket["service"] == "appointment" and "appointment" not in r.ticket


def test_check_in_button_with_a_screen_opens_the_keypad(kit) -> None:
    c, hub, printer, clock = kit
    c.keypad_available = True
    r = c.press("appointment")
    assert r.outcome == Outcome.KEYPAD and hub.tickets == {} and c.keypad_entry() == ""
    assert "預約代碼" in c.message().zh
    for k in "R12345":
        assert c.keypad_key(k) is None
    c.keypad_key("back")
    assert c.keypad_entry() == "R1234"
    code = c.keypad_key("ok")
    assert code == "R1234"
    assert c.check_in(code).outcome == Outcome.PRINTED
    assert c.keypad_entry() is None  # closed after a check-in
    c.press("appointment")
    c.keypad_key("9")
    clock.t += 61  # walked away
    assert c.keypad_entry() is None


def test_appointments_only_offers_only_check_in(kit) -> None:
    c, hub, printer, clock = kit
    hub.appointments_only = True
    c.refresh()
    lamps, _ = c.lamps()
    assert lamps["appointment"] == Lamp.ON and lamps["general"] == Lamp.OFF and lamps["quick"] == Lamp.OFF
    assert "僅受理預約報到" in c.message().zh and "Appointments only" in c.message().en
    r = c.press("general")
    assert r.outcome == Outcome.APPOINTMENTS_ONLY and hub.tickets == {}
    assert c.lamps()[0]["general"] == Lamp.BLINK and "Appointments only" in c.message().en
    clock.t += 2.1
    assert c.lamps()[0]["general"] == Lamp.OFF
    c.keypad_available = True
    assert c.keypad_entry() == ""  # with a screen, the keypad is always there
    assert c.check_in("R1234").outcome == Outcome.PRINTED
    hub.appointments_only = None  # a hub that does not send the field: ordinary sessions
    c.refresh()
    assert c.lamps()[0]["general"] == Lamp.ON


def test_appointments_only_on_a_service_entry_closes_only_its_buttons(kit) -> None:
    c, hub, *_ = kit
    original = hub.services

    def services(deadline_s: float = 3.0) -> list[dict[str, Any]]:
        return [{**s, "appointments_only": s["id"] == "general"} for s in original(deadline_s)]

    hub.services = services  # type: ignore[method-assign]
    c.refresh()
    lamps, _ = c.lamps()
    assert lamps["general"] == Lamp.OFF and lamps["elderly"] == Lamp.OFF and lamps["quick"] == Lamp.ON
    assert c.press("quick").outcome == Outcome.PRINTED
    assert c.press("elderly").outcome == Outcome.APPOINTMENTS_ONLY


# -- the keypad on the screen (headless, SDL's dummy driver) ------------------------------------------

class TouchApp:
    def __init__(self, controller: Controller) -> None:
        self.controller, self.codes = controller, []

    def check_in(self, code: str) -> None:
        self.codes.append(code)


@pytest.mark.parametrize("size", [(800, 480), (1024, 600), (1280, 720)])
def test_keypad_snapshot_has_big_keys_in_their_boxes_and_touch_types(kit, tmp_path, size) -> None:
    import os

    os.environ["SDL_VIDEODRIVER"] = "dummy"
    import pygame

    from kiosk.screen import KioskScreen, on_touch
    from kiosk.screen_model import build_model

    c, hub, printer, _ = kit
    c.keypad_available = True
    c.press("appointment")
    screen = KioskScreen(size)
    model = build_model(c)
    assert model.keypad == "" and model.banner.zh == "請輸入或掃描預約代碼"
    frame = screen.save(model, tmp_path / "keypad.png")
    w, h = size
    keys = dict(frame.layout.keys)
    assert set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-") | {"back", "clear", "cancel", "ok"} == set(keys)
    for k, b in keys.items():
        assert b.w >= w / 12 and b.h >= h / 10, (k, b)  # big enough for a finger
        assert b.y + b.h <= frame.layout.banner.y and b.x + b.w <= w
    boxes = list(keys.values())
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert (a.x + a.w <= b.x or b.x + b.w <= a.x or a.y + a.h <= b.y or b.y + b.h <= a.y), (a, b)
    for d in frame.drawn:
        assert d.box.contains(d.rect), (d.name, d.box, d.rect)
    assert frame.named("key_-").text == "-"
    assert frame.named("key_ok").text == "確定" and frame.named("key_ok_en").text == "OK"
    assert frame.named("key_back").text == "刪除" and frame.named("keypad_prompt_en").text.startswith("Appointment")

    app = TouchApp(c)

    def finger(key: str) -> None:
        b = keys[key]
        on_touch(app, pygame.event.Event(pygame.FINGERDOWN, x=(b.x + b.w / 2) / w, y=(b.y + b.h / 2) / h),
                 frame, size)

    for k in ("R", "1", "2", "3", "4", "9", "back"):
        finger(k)
    b = keys["5"]
    on_touch(app, pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(b.x + 2, b.y + 2), button=1, touch=True),
             frame, size)  # SDL's mouse copy of a touch: not a second key
    assert c.keypad_entry() == "R1234"
    frame = screen.save(build_model(c), tmp_path / "typed.png")
    assert frame.named("keypad_entry").text == "R1234"
    finger("ok")
    assert app.codes == ["R1234"] and hub.tickets == {}  # the app checks it in, off the drawing thread


def test_no_keypad_off_screen_and_the_number_first_after_a_check_in(kit) -> None:
    from kiosk.screen_model import build_model

    c, *_ = kit
    assert build_model(c).keypad is None  # no screen to touch: the button prints (tested above)
    c.keypad_available = True
    c.press("appointment")
    c.check_in("R1234")
    m = build_model(c)
    assert m.keypad is None and m.issued is not None and m.issued.number == "A001"


def test_scanner_and_appointment_service_keys() -> None:
    from kiosk.config import KioskConfigError, parse_kiosk

    base = {"buttons": [{"id": "b", "service": "walkin", "pin": 17}]}
    c = parse_kiosk({**base, "kiosk": {"scanner": "/dev/input/by-id/usb-scan-event-kbd",
                                       "appointment_service": "walkin"}})
    assert c.scanner.endswith("event-kbd") and c.appointment_service == "walkin"
    assert parse_kiosk({**base, "kiosk": {}}).appointment_service == "appointment"
    with pytest.raises(KioskConfigError, match=r"kiosk\.scanner: must be an input device under /dev/input/"):
        parse_kiosk({**base, "kiosk": {"scanner": "/dev/tty0"}})


def test_a_hub_without_the_route_is_not_booking_not_found(kit) -> None:
    c, hub, printer, _ = kit

    def old_hub(code: str, key: str, deadline_s: float = 15.0) -> Any:
        raise HubRefused(404, "not_found", "no such route")

    hub.check_in = old_hub  # type: ignore[method-assign]
    r = c.check_in("R1234")
    assert r.outcome == Outcome.HUB_REFUSED and "查無此預約" not in r.message.zh and "front desk" in r.message.en


def test_the_running_kiosk_checks_in_what_the_scanner_reads(monkeypatch) -> None:
    import io
    import threading

    from gpiozero.pins.mock import MockFactory

    import kiosk.scanner
    from kiosk.app import KioskApp

    def fake_scanner(path: str, on_code, stop: threading.Event) -> None:
        assert path == "/dev/input/by-id/usb-scan-event-kbd"
        on_code("8f3a9c0e1b7d4f2a6c5e9b8d7a6f5e4d3c2b1a0f9e8d7c6b5a4f")  # garbage first: never a crash
        on_code("R1234")

    monkeypatch.setattr(kiosk.scanner, "read_scanner", fake_scanner)
    hub, printer = BookingHub(), SimulatedPrinter()
    config = KIOSK.__class__(**{**KIOSK.__dict__, "scanner": "/dev/input/by-id/usb-scan-event-kbd"})
    out = io.StringIO()
    app = KioskApp(config, hub, printer, MockFactory(), server_url="http://hub:8600", out=out)
    try:
        app.controller.refresh()
        for _ in range(200):
            if len(printer.printed) == 1 and not any(t.is_alive() for t in app.presses):
                break
            threading.Event().wait(0.05)
        assert hub.check_in_calls == ["R1234"] and len(printer.printed) == 1
    finally:
        app.close()


def test_scanner_and_keypad_modules_do_not_import_evdev_or_pygame() -> None:
    import subprocess
    import sys

    code = ("import sys\nimport kiosk.app, kiosk.cli, kiosk.scanner, kiosk.screen\n"
            "assert 'evdev' not in sys.modules and 'pygame' not in sys.modules, sorted(sys.modules)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def test_too_early_on_the_keypad_says_from_when_and_lets_them_try_again(kit) -> None:
    from kiosk.screen_model import build_model

    c, hub, printer, _ = kit
    c.keypad_available = True
    c.press("appointment")
    for k in "EARLY9":
        c.keypad_key(k)
    assert c.check_in(c.keypad_key("ok")).outcome == Outcome.TOO_EARLY
    m = build_model(c)
    assert m.keypad == "" and "10:30" in m.banner.zh and "opens at 10:30" in m.banner.en and printer.printed == []
