"""Issue #14: a kiosk whose hub refuses changes for now (503 clock_behind, storage_unavailable) says why
at once, instead of retrying until the press's deadline and then blaming the network."""

from __future__ import annotations

from typing import Any

from kiosk.controller import Controller, Outcome
from kiosk.hub_client import HubClient, HubRefused
from kiosk.printer import SimulatedPrinter
from tests.test_kiosk_controller import CONFIG, Clock, FakeHub
from tests.test_kiosk_hub_client import FakeTime, Script, fake_hub  # noqa: F401 - the fixture

BEHIND = {"error": {"code": "clock_behind", "message": "The hub's clock reads earlier than its newest record."}}


def test_the_client_does_not_retry_a_hub_that_holds_changes(fake_hub: Any) -> None:  # noqa: F811
    url, holder = fake_hub
    holder.append(Script([(503, BEHIND)]))
    clock = FakeTime()
    c = HubClient(url, "tok", sleep=clock.sleep, monotonic=clock.monotonic)
    try:
        c.issue("general", "normal", "press-1")
    except HubRefused as e:
        assert e.status == 503 and e.code == "clock_behind"
    else:
        raise AssertionError("a 503 clock_behind must be a refusal")
    assert len(holder[0].requests) == 1 and clock.sleeps == []


class HoldingHub(FakeHub):
    holding = True

    def issue(self, service: str, lane: str, key: str, deadline_s: float = 15.0) -> tuple[dict[str, Any], bool]:
        if self.holding:
            raise HubRefused(503, "clock_behind", BEHIND["error"]["message"])
        return super().issue(service, lane, key, deadline_s)


def test_the_kiosk_says_the_hubs_clock_is_not_set() -> None:
    hub, printer, clock = HoldingHub(), SimulatedPrinter(), Clock()
    keys = iter(f"key-{i}" for i in range(10))
    c = Controller(CONFIG, hub, printer, server_url="http://hub:8600", monotonic=clock, new_key=lambda: next(keys))
    c.refresh()
    result = c.press(CONFIG.buttons[0].id)
    assert result.outcome == Outcome.HUB_REFUSED
    assert "時間" in result.message.zh and "clock" in result.message.en
    assert len(printer.printed) == 0
    # Until the hub issues again, the kiosk's standing message says why (screen and lamps).
    assert c.standing_message() == result.message
    hub.holding = False
    clock.t += 60  # past the button's cooldown
    assert c.press(CONFIG.buttons[0].id).outcome == Outcome.PRINTED
    assert "時間" not in c.standing_message().zh
