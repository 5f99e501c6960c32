"""The kiosk on mock pins against a real hub process on loopback, printing ESC/POS into a file."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import qrcode
import requests
from gpiozero.pins.mock import MockFactory

from kiosk.app import KioskApp
from kiosk.config import parse_kiosk
from kiosk.controller import Lamp, Outcome
from kiosk.escpos_decode import decode, qr_modules
from kiosk.hub_client import HubClient
from kiosk.printer import open_printer

TOKEN = "demo-kiosk-1-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CONFIG = parse_kiosk({
    "kiosk": {"fault_lamp": 22, "cooldown_s": 5.0},
    "buttons": [
        {"id": "general", "service": "general", "pin": 17, "lamp": 27},
        {"id": "elderly", "service": "general", "lane": "elderly", "pin": 23, "lamp": 24},
        {"id": "private", "service": "private", "pin": 5, "lamp": 6},
    ],
})


def wait_for(check: Callable[[], object], timeout: float = 15.0, what: str = "condition") -> object:
    """Poll until `check()` is truthy; the timeout is only an upper bound for a broken build."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def expected_qr(url: str) -> list[list[bool]]:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(url)
    code.make(fit=True)
    return code.get_matrix()


def waiting(hub_url: str) -> int:
    services = requests.get(f"{hub_url}/api/v1/services", headers=AUTH, timeout=5).json()["services"]
    return sum(s["waiting"] for s in services)


class Proxy:
    """Between kiosk and hub: passes requests on, or for POST /tickets answers late or not at all."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.plan: list[str] = []  # per POST /tickets: "pass", "slow" (hub serves it, answer comes late), "refuse"
        self.down = False
        self.ticket_posts: list[str | None] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: object) -> None:
                pass

            def _forward(self, method: str) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if proxy.down:
                    self.close_connection = True  # say nothing and hang up: a hub that is not there
                    return
                action = "pass"
                if method == "POST" and self.path == "/api/v1/tickets":
                    proxy.ticket_posts.append(self.headers.get("Idempotency-Key"))
                    action = proxy.plan.pop(0) if proxy.plan else "pass"
                if action == "refuse":
                    self.close_connection = True
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() in
                           ("authorization", "content-type", "idempotency-key")}
                r = requests.request(method, proxy.target + self.path, data=body, headers=headers, timeout=10)
                if action == "slow":
                    time.sleep(1.5)  # past the kiosk's read timeout: the hub has issued, the kiosk never hears
                self.send_response(r.status_code)
                self.send_header("Content-Type", r.headers.get("Content-Type", "application/json"))
                self.send_header("Content-Length", str(len(r.content)))
                self.end_headers()
                try:
                    self.wfile.write(r.content)
                except OSError:
                    pass

            def do_GET(self) -> None:  # noqa: N802
                self._forward("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._forward("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Kiosk:
    def __init__(self, server: str, printer_spec: str) -> None:
        self.factory = MockFactory()
        # Short timeouts so a "slow" hub is slow within a test; the retry deadline is the kiosk's own.
        hub = HubClient(server, TOKEN, timeout=(1.0, 0.5))
        self.app = KioskApp(CONFIG, hub, open_printer(printer_spec), self.factory, server_url=server, poll_s=0.1)
        self.thread = threading.Thread(target=self.app.run, daemon=True)
        self.thread.start()

    def press(self, button: str) -> None:
        pin = self.app.panel.buttons[button].pin
        pin.drive_low()
        pin.drive_high()

    def lamp(self, button: str) -> bool:
        return bool(self.app.panel.lamps[button].pin.state)

    def fault_lamp(self) -> bool:
        return bool(self.app.panel.fault.pin.state)

    def settle(self) -> None:
        """Wait for every press thread to finish."""
        for t in list(self.app.presses):
            t.join(timeout=30)
            assert not t.is_alive()

    def close(self) -> None:
        self.app.close()
        self.thread.join(timeout=10)
        self.factory.reset()


@pytest.fixture
def kiosk_factory() -> Iterator[Callable[[str, str], Kiosk]]:
    made: list[Kiosk] = []

    def make(server: str, spec: str) -> Kiosk:
        k = Kiosk(server, spec)
        made.append(k)
        return k

    yield make
    for k in made:
        k.close()


def test_press_on_mock_pins_prints_a_ticket_the_hub_knows(hub_process, kiosk_factory, tmp_path: Path) -> None:
    out = tmp_path / "tickets.bin"
    k = kiosk_factory(hub_process.url, f"file:{out}")
    wait_for(lambda: k.lamp("general") and k.lamp("elderly"), what="lamps to say 'press me'")
    assert not k.fault_lamp()
    k.press("elderly")
    k.settle()
    result = k.app.controller.last_result
    assert result is not None and result.outcome == Outcome.PRINTED
    ticket = result.ticket
    # The hub knows this number: same id, same number, waiting, in the elderly lane.
    known = requests.get(f"{hub_process.url}/api/v1/tickets/{ticket['id']}", headers=AUTH, timeout=5).json()["ticket"]
    assert (known["number"], known["status"], known["lane"]) == (ticket["number"], "waiting", "elderly")

    d = decode(out.read_bytes())
    assert len(d.tickets) == 1
    paper = d.tickets[0]
    assert paper.cut and [e[0] for e in paper.events][-2:] == ["feed", "cut"]  # the cut follows the image
    assert paper.image.width == 576 and 600 < paper.image.height < 1600
    assert qr_modules(paper.image) == expected_qr(f"{hub_process.url}/s/{ticket['id']}")
    assert qr_modules(paper.image) != expected_qr(f"{hub_process.url}/s/someone-else")
    paper.image.save(tmp_path / "decoded.png")
    # Back to "press me" once printed.
    wait_for(lambda: k.lamp("general") and k.lamp("elderly"), what="lamps back on")


def test_mashing_a_button_gives_one_ticket(hub_process, kiosk_factory, tmp_path: Path) -> None:
    out = tmp_path / "tickets.bin"
    k = kiosk_factory(hub_process.url, f"file:{out}")
    wait_for(lambda: k.lamp("general"), what="ready")
    for _ in range(8):
        k.press("general")
    k.settle()
    assert waiting(hub_process.url) == 1
    assert len(decode(out.read_bytes()).tickets) == 1


def test_private_service_prints_its_neutral_name(hub_process, kiosk_factory, tmp_path: Path) -> None:
    k = kiosk_factory(hub_process.url, f"file:{tmp_path}/t.bin")
    wait_for(lambda: k.lamp("private"), what="ready")
    k.press("private")
    k.settle()
    result = k.app.controller.last_result
    assert result is not None and result.outcome == Outcome.PRINTED
    content = k.app.controller.ticket_content(result.ticket)
    assert content.service.zh == "專屬服務" and "疼您" not in repr(content)


def test_paper_out_issues_nothing_and_recovers_by_itself(hub_process, kiosk_factory, tmp_path: Path) -> None:
    out = tmp_path / "sim.bin"
    control = tmp_path / "sim.bin.fault"
    k = kiosk_factory(hub_process.url, f"sim:{out}")
    wait_for(lambda: k.lamp("general"), what="ready")
    control.write_text("paper_out")
    wait_for(lambda: k.fault_lamp() and not k.lamp("general") and not k.lamp("elderly"), what="fault lamps")
    message = k.app.controller.message()
    assert "缺紙" in message.zh and "out of paper" in message.en
    k.press("general")
    k.settle()
    assert k.app.controller.last_result.outcome == Outcome.PRINTER_FAULT
    assert waiting(hub_process.url) == 0 and not out.exists()
    control.unlink()  # paper loaded
    wait_for(lambda: k.lamp("general") and not k.fault_lamp(), what="recovery")
    # "general" is still in its 5 s cooldown from the refused press: the next person uses another button.
    k.press("elderly")
    k.settle()
    assert k.app.controller.last_result.outcome == Outcome.PRINTED
    assert waiting(hub_process.url) == 1 and len(decode(out.read_bytes()).tickets) == 1


def test_slow_hub_is_retried_with_the_same_key_and_issues_once(hub_process, kiosk_factory, tmp_path: Path) -> None:
    proxy = Proxy(hub_process.url)
    try:
        out = tmp_path / "tickets.bin"
        k = kiosk_factory(proxy.url, f"file:{out}")
        wait_for(lambda: k.lamp("general"), what="ready")
        proxy.plan = ["slow", "refuse"]  # the hub issues but answers too late; then the line drops once
        k.press("general")
        k.settle()
        result = k.app.controller.last_result
        assert result.outcome == Outcome.PRINTED
        assert len(proxy.ticket_posts) == 3 and len(set(proxy.ticket_posts)) == 1  # one key for the whole press
        assert waiting(hub_process.url) == 1  # never issued twice
        assert len(decode(out.read_bytes()).tickets) == 1
    finally:
        proxy.close()


def test_hub_unreachable_prints_nothing_then_recovers(hub_process, kiosk_factory, tmp_path: Path) -> None:
    proxy = Proxy(hub_process.url)
    try:
        out = tmp_path / "tickets.bin"
        k = kiosk_factory(proxy.url, f"file:{out}")
        wait_for(lambda: k.lamp("general"), what="ready")
        proxy.down = True
        k.app.controller.issue_deadline_s = 1.0
        wait_for(lambda: k.fault_lamp() and not k.lamp("general"), what="lamps to show the hub is gone")
        assert "cannot be reached" in k.app.controller.message().en
        k.press("general")
        k.settle()
        assert k.app.controller.last_result.outcome == Outcome.HUB_UNREACHABLE
        assert not out.exists()
        proxy.down = False
        wait_for(lambda: k.lamp("general") and not k.fault_lamp(), timeout=30, what="recovery")
        assert waiting(hub_process.url) == 0
    finally:
        proxy.close()


def test_print_failure_after_issue_cancels_at_the_real_hub(hub_process, kiosk_factory, tmp_path: Path) -> None:
    k = kiosk_factory(hub_process.url, f"sim:{tmp_path}/sim.bin")
    wait_for(lambda: k.lamp("general"), what="ready")
    k.app.controller.printer.fault = "fail_print"
    k.press("general")
    k.settle()
    result = k.app.controller.last_result
    assert result.outcome == Outcome.CANCELLED
    known = requests.get(f"{hub_process.url}/api/v1/tickets/{result.ticket['id']}", headers=AUTH, timeout=5).json()
    assert known["ticket"]["status"] == "cancelled"
    assert waiting(hub_process.url) == 0
    assert k.app.controller.printer.attempts == 2
    assert Lamp.ON in k.app.controller.lamps()[0].values()  # a failed print is not a broken kiosk


def test_paper_near_end_still_prints_and_the_hub_hears_of_it(hub_process, kiosk_factory, tmp_path: Path) -> None:
    out = tmp_path / "sim.bin"
    (tmp_path / "sim.bin.fault").write_text("near_end")
    k = kiosk_factory(hub_process.url, f"sim:{out}")

    def reported() -> list[dict]:
        r = requests.get(f"{hub_process.url}/api/v1/devices", headers={"Authorization": "Bearer demo-admin-token"},
                         timeout=5)
        return [d for d in r.json()["devices"] if d["id"] == "kiosk-1" and d["code"] == "paper_near_end"]

    wait_for(reported, what="the hub to hear the paper is low")
    k.press("general")
    k.settle()
    assert k.app.controller.last_result.printed and waiting(hub_process.url) == 1
    (tmp_path / "sim.bin.fault").unlink()  # a new roll
    wait_for(lambda: not reported(), what="the hub to hear the new roll")
