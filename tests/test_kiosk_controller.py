"""The kiosk's state machine with a simulated printer and a fake hub that fail on purpose."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from kiosk.config import parse_kiosk
from kiosk.controller import Controller, Lamp, Outcome
from kiosk.escpos_decode import decode
from kiosk.hub_client import HubRefused, HubUnreachable
from kiosk.printer import SimulatedPrinter

CONFIG = parse_kiosk({
    "kiosk": {"fault_lamp": 22, "cooldown_s": 2.0, "public_url": "https://q.example.tw"},
    "buttons": [
        {"id": "general", "service": "general", "pin": 17, "lamp": 27},
        {"id": "elderly", "service": "general", "lane": "elderly", "pin": 23, "lamp": 24},
        {"id": "quick", "service": "quick", "pin": 5, "lamp": 6},
    ],
})


class FakeHub:
    """The hub's answers without a hub: `down` refuses everything, `lose_answers` issues and then goes silent."""

    def __init__(self) -> None:
        self.down = False
        self.lose_answers = 0
        self.cancel_down = False
        self.tickets: dict[str, dict[str, Any]] = {}
        self.by_key: dict[str, str] = {}
        self.issue_calls: list[str] = []
        self.cancelled: list[str] = []
        self.open = {"general": True, "quick": True}
        self.reports: list[tuple[str, str]] = []
        self.appointments_only: bool | None = None  # GET /services' top-level flag; None: not sent

    def report_status(self, state: str, code: str, message: dict[str, str], deadline_s: float = 3.0) -> None:
        if self.down:
            raise HubUnreachable("down")
        self.reports.append((state, code))

    def state(self, deadline_s: float = 3.0) -> dict[str, Any]:
        if self.down:
            raise HubUnreachable("down")
        return {"office": {"name": {"zh-TW": "測試戶政事務所", "en": "Test Office"}}, "services": self.services()}

    def services(self, deadline_s: float = 3.0) -> list[dict[str, Any]]:
        if self.down:
            raise HubUnreachable("down")
        return [{"id": k, "open": v} for k, v in self.open.items()]

    def services_answer(self, deadline_s: float = 3.0) -> dict[str, Any]:
        answer: dict[str, Any] = {"services": self.services(deadline_s)}
        if self.appointments_only is not None:
            answer["appointments_only"] = self.appointments_only
        return answer

    def issue(self, service: str, lane: str, key: str, deadline_s: float = 15.0) -> tuple[dict[str, Any], bool]:
        self.issue_calls.append(key)
        if self.down:
            raise HubUnreachable("down")
        created = key not in self.by_key
        if created:
            n = len(self.tickets) + 1
            tid = f"id{n}"
            self.tickets[tid] = {"id": tid, "number": f"A{n:03d}", "service": service, "lane": lane,
                                 "status": "waiting", "issued_at": "2026-11-22T09:41:00+08:00", "ahead": n - 1,
                                 "estimated_wait_range_s": [60, 300], "priority": lane != "normal",
                                 "service_name": {"zh-TW": "綜合業務", "en": "General registration"},
                                 "lane_name": {"zh-TW": "樂齡", "en": "Seniors 65+"}}
            self.by_key[key] = tid
        if self.lose_answers:
            self.lose_answers -= 1
            raise HubUnreachable("answer lost")
        return dict(self.tickets[self.by_key[key]]), created

    def cancel(self, tid: str, deadline_s: float = 10.0) -> dict[str, Any]:
        if self.down or self.cancel_down:
            raise HubUnreachable("down")
        if self.tickets[tid]["status"] != "waiting":
            raise HubRefused(409, "not_waiting", "no")
        self.tickets[tid]["status"] = "cancelled"
        self.cancelled.append(tid)
        return self.tickets[tid]

    def waiting(self) -> list[str]:
        return [t["number"] for t in self.tickets.values() if t["status"] == "waiting"]


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def kit():
    hub, printer, clock = FakeHub(), SimulatedPrinter(), Clock()
    keys = iter(f"key-{i}" for i in range(1000))
    c = Controller(CONFIG, hub, printer, server_url="http://hub:8600", monotonic=clock, new_key=lambda: next(keys))
    c.refresh()
    return c, hub, printer, clock


def test_ready_lamps_and_message(kit) -> None:
    c, *_ = kit
    lamps, fault = c.lamps()
    assert lamps == {"general": Lamp.ON, "elderly": Lamp.ON, "quick": Lamp.ON} and fault == Lamp.OFF
    m = c.message()
    assert m.zh == "請按按鈕取號" and m.en == "Press a button for your number"


def test_a_press_prints_one_ticket_the_hub_knows(kit) -> None:
    c, hub, printer, _ = kit
    r = c.press("elderly")
    assert r.outcome == Outcome.PRINTED and r.ticket is not None
    assert hub.waiting() == [r.ticket["number"]] and len(printer.printed) == 1
    d = decode(printer.printed[0])
    assert d.tickets[0].cut and d.tickets[0].image.width == 576
    assert c.status_url(r.ticket["id"]) == "https://q.example.tw/s/id1"
    assert r.ticket["number"] in r.message.zh and r.ticket["number"] in r.message.en


def test_cooldown_gives_one_ticket_per_press_window(kit) -> None:
    c, hub, printer, clock = kit
    outcomes = []
    for _ in range(6):  # bounce, a double press, a child mashing: all inside the window
        outcomes.append(c.press("general").outcome)
        clock.t += 0.3
    assert outcomes.count(Outcome.PRINTED) == 1 and outcomes.count(Outcome.IGNORED) == 5
    assert len(hub.tickets) == 1 and len(printer.printed) == 1
    clock.t += 2.1  # the window is over: the next press is a new person
    assert c.press("general").outcome == Outcome.PRINTED
    # Another button is another person: its window is its own.
    assert c.press("quick").outcome == Outcome.PRINTED
    assert len(hub.tickets) == 3


def test_presses_while_printing_are_refused_not_queued(kit) -> None:
    c, hub, printer, _ = kit
    entered, release = threading.Event(), threading.Event()
    original = printer.print_ticket

    def slow_print(image):
        entered.set()
        assert release.wait(10)
        original(image)

    printer.print_ticket = slow_print
    t = threading.Thread(target=c.press, args=("general",))
    t.start()
    assert entered.wait(10)
    lamps, _ = c.lamps()
    assert lamps == {"general": Lamp.BLINK, "elderly": Lamp.OFF, "quick": Lamp.OFF}
    assert c.press("quick").outcome == Outcome.BUSY
    assert c.message().en == "Printing, please wait"
    release.set()
    t.join(10)
    assert len(hub.tickets) == 1


@pytest.mark.parametrize(("fault", "zh", "en"), [
    ("paper_out", "缺紙", "out of paper"),
    ("offline", "離線或上蓋未關", "offline or its cover is open"),
])
def test_printer_fault_checked_before_issuing_and_recovers(kit, fault, zh, en) -> None:
    c, hub, printer, clock = kit
    printer.fault = fault
    c.refresh()
    lamps, fault_lamp = c.lamps()
    assert set(lamps.values()) == {Lamp.OFF} and fault_lamp == Lamp.ON
    assert zh in c.message().zh and en in c.message().en
    r = c.press("general")
    assert r.outcome == Outcome.PRINTER_FAULT and zh in r.message.zh
    assert hub.issue_calls == [] and hub.tickets == {}  # no number handed out
    printer.fault = None  # someone loads paper / closes the cover
    clock.t += 60
    c.refresh()
    assert c.lamps() == ({"general": Lamp.ON, "elderly": Lamp.ON, "quick": Lamp.ON}, Lamp.OFF)
    assert c.message().en == "Press a button for your number"
    assert c.press("general").outcome == Outcome.PRINTED


def test_paper_near_end_still_prints_and_says_so(kit, caplog) -> None:
    c, hub, printer, _ = kit
    printer.fault = "near_end"
    with caplog.at_level("WARNING", logger="jiaohao.kiosk"):
        c.refresh()
        r = c.press("general")
    assert r.outcome == Outcome.PRINTED and len(printer.printed) == 1
    status = c.status()
    assert status["paper_near_end"] is True and status["printer"] == "near_end"
    assert c.lamps()[1] == Lamp.BLINK  # the fault lamp asks for attention but nothing is off
    assert any("near end" in rec.getMessage() for rec in caplog.records)
    assert hub.reports[-1] == ("warn", "paper_near_end")  # the staff hear of it through the hub
    c.refresh()
    assert hub.reports.count(("warn", "paper_near_end")) == 1  # told once, not on every poll
    printer.fault = None  # a new roll
    c.refresh()
    assert c.status()["paper_near_end"] is False and c.lamps()[1] == Lamp.OFF
    assert hub.reports[-1] == ("ok", "printer_ok")


def test_print_fails_once_then_the_retry_prints(kit) -> None:
    c, hub, printer, _ = kit
    printer.fault = "fail_print_once"
    r = c.press("general")
    assert r.outcome == Outcome.PRINTED and printer.attempts == 2 and len(printer.printed) == 1
    assert hub.cancelled == [] and len(hub.waiting()) == 1


def test_print_fails_twice_then_the_ticket_is_cancelled_at_the_hub(kit) -> None:
    c, hub, printer, _ = kit
    printer.fault = "fail_print"
    r = c.press("general")
    assert r.outcome == Outcome.CANCELLED and printer.attempts == 2 and printer.printed == []
    assert hub.cancelled == ["id1"] and hub.waiting() == []
    assert "A001" in r.message.zh and "已取消" in r.message.zh and "cancelled" in r.message.en
    assert c.message() == r.message  # the screen says so


def test_cancel_that_cannot_reach_the_hub_is_done_later(kit) -> None:
    c, hub, printer, clock = kit
    printer.fault = "fail_print"
    hub.cancel_down = True
    r = c.press("general")
    assert r.outcome == Outcome.CANCEL_PENDING and hub.waiting() == ["A001"]
    assert c.status()["pending_cancels"] == ["A001"] and c.lamps()[1] == Lamp.BLINK
    hub.cancel_down = False
    c.refresh()
    assert hub.cancelled == ["id1"] and c.status()["pending_cancels"] == []


def test_hub_down_prints_nothing_and_says_so(kit) -> None:
    c, hub, printer, clock = kit
    hub.down = True
    r = c.press("general")
    assert r.outcome == Outcome.HUB_UNREACHABLE and printer.printed == []
    assert "叫號主機" in r.message.zh and "queue server" in r.message.en
    clock.t += 60
    c.refresh()
    assert set(c.lamps()[0].values()) == {Lamp.OFF} and c.lamps()[1] == Lamp.ON
    assert "cannot be reached" in c.message().en
    hub.down = False
    c.refresh()
    assert c.lamps()[0]["general"] == Lamp.ON


def test_an_issue_whose_answer_was_lost_is_cancelled_when_the_hub_is_back(kit) -> None:
    c, hub, printer, clock = kit
    hub.lose_answers = 1  # the hub issued A001, the answer never arrived
    r = c.press("general")
    assert r.outcome == Outcome.HUB_UNREACHABLE and printer.printed == []
    assert hub.waiting() == ["A001"] and c.status()["unanswered_issues"] == 1
    c.refresh()  # the hub answers again: the same key finds A001, which nobody holds
    assert hub.issue_calls == ["key-0", "key-0"]
    assert hub.cancelled == ["id1"] and hub.waiting() == [] and c.status()["unanswered_issues"] == 0
    clock.t += 10
    assert c.press("general").outcome == Outcome.PRINTED and hub.waiting() == ["A002"]


def test_closed_service_lamp_is_off_and_press_says_so(kit) -> None:
    c, hub, printer, _ = kit
    hub.open["quick"] = False
    c.refresh()
    lamps, fault = c.lamps()
    assert lamps["quick"] == Lamp.OFF and lamps["general"] == Lamp.ON and fault == Lamp.OFF
    r = c.press("quick")
    assert r.outcome == Outcome.CLOSED and hub.tickets == {} and "closed" in r.message.en


def test_hub_refusing_the_token_is_a_fault_with_a_reason() -> None:
    class RefusingHub(FakeHub):
        def state(self, deadline_s: float = 3.0) -> dict[str, Any]:
            raise HubRefused(401, "invalid_token", "This token is not known to the hub.")

    c = Controller(CONFIG, RefusingHub(), SimulatedPrinter(), server_url="http://hub")
    c.refresh()
    assert c.lamps()[1] == Lamp.ON and "token is not known" in c.message().en
    r = c.press("general")
    assert r.outcome == Outcome.HUB_REFUSED and "refuses this kiosk" in r.message.en


def test_office_footer_and_public_url_come_from_the_hub_unless_the_kiosk_file_says_otherwise() -> None:
    class OfficeHub(FakeHub):
        def state(self, deadline_s: float = 3.0) -> dict[str, Any]:
            s = super().state()
            s["office"]["public_url"] = "https://hub.example.tw/"
            s["office"]["ticket_footer"] = {"zh-TW": "當日有效", "en": "Valid today"}
            return s

    plain = parse_kiosk({"buttons": [{"id": "general", "service": "general", "pin": 17}]})
    c = Controller(plain, OfficeHub(), SimulatedPrinter(), server_url="http://10.0.0.2:8600")
    c.refresh()
    content = c.ticket_content(c.press("general").ticket)
    assert content.status_url == "https://hub.example.tw/s/id1"
    assert content.footer is not None and content.footer.en == "Valid today"
    own = Controller(CONFIG, OfficeHub(), SimulatedPrinter(), server_url="http://10.0.0.2:8600")
    own.refresh()
    assert own.status_url("x") == "https://q.example.tw/s/x"  # the kiosk file's public_url wins
    bare = Controller(plain, FakeHub(), SimulatedPrinter(), server_url="http://10.0.0.2:8600/")
    bare.refresh()
    assert bare.status_url("x") == "http://10.0.0.2:8600/s/x" and bare.hub_footer is None
