"""The kiosk's buttons and lamps (kiosk/buttons.py), one test file run against every pin factory, the way
gpiozero's tests/test_real_pins.py is (shared/reference/style.md §2.4, §7.7).

Factories: `mock` (what `--pins mock` gives: gpiozero's MockFactory), `mock-pwm` (MockFactory with
MockPWMPin, shaped like a Pi's pins, which can all do PWM; the panel's lamps are on/off LEDs whose
blinking is gpiozero's background thread, not PWM, so this checks nothing leans on a plain pin), and
`lgpio`, gpiozero's real factory on a Pi. The real one runs when /dev/gpiochip*, lgpio and two GPIOs
wired together are there: JIAOHAO_TEST_PIN (driven by the test) and JIAOHAO_TEST_INPUT_PIN (read by
it), as GPIOZERO_TEST_PIN and GPIOZERO_TEST_INPUT_PIN are for gpiozero. Otherwise it is skipped with
the reason, and a lock file keeps two runs off the same header.
"""

from __future__ import annotations

import fcntl
import glob
import os
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from gpiozero import DigitalOutputDevice, GPIOPinInUse
from gpiozero.pins.mock import MockFactory, MockPWMPin

from kiosk.buttons import BLINK_S, Panel, pin_factory
from kiosk.config import KioskConfig, parse_kiosk
from kiosk.controller import Lamp

FACTORIES = ("mock", "mock-pwm", "lgpio")


class Wiring:
    """Where the test's hands are: it presses a button by pulling its pin low, and sees a lamp."""

    def __init__(self, factory: Any, button: int, lamp: int, spare: int, real: bool) -> None:
        self.factory, self.button, self.lamp, self.spare, self.real = factory, button, lamp, spare, real
        self._hand: DigitalOutputDevice | None = None

    def press(self) -> None:
        if self.real:  # our output pin, wired to the button's input pin, stands for the switch
            if self._hand is None:
                self._hand = DigitalOutputDevice(self.lamp, initial_value=True, pin_factory=self.factory)
            self._hand.off()
        else:
            self.factory.pin(self.button).drive_low()

    def release(self) -> None:
        if self.real:
            assert self._hand is not None
            self._hand.on()
        else:
            self.factory.pin(self.button).drive_high()

    def lit(self) -> bool:
        # On real pins the lamp's output is wired to the button's input, whose level the test reads.
        return bool(self.factory.pin(self.button if self.real else self.lamp).state)

    def close(self) -> None:
        if self._hand is not None:
            self._hand.close()


@pytest.fixture(params=FACTORIES)
def wiring(request: pytest.FixtureRequest) -> Iterator[Wiring]:
    kind = request.param
    if kind == "lgpio":
        if not glob.glob("/dev/gpiochip*"):
            pytest.skip("no /dev/gpiochip*: not a Raspberry Pi (or no GPIO character device)")
        pytest.importorskip("lgpio", reason="lgpio is not installed (pip install 'jiaohao[hardware]')")
        out, inp = os.environ.get("JIAOHAO_TEST_PIN"), os.environ.get("JIAOHAO_TEST_INPUT_PIN")
        if not (out and inp):
            pytest.skip("wire two GPIOs together and set JIAOHAO_TEST_PIN and JIAOHAO_TEST_INPUT_PIN (BCM numbers)")
        from gpiozero.pins.lgpio import LGPIOFactory

        lock = open("/tmp/jiaohao-test-pins.lock", "w")  # noqa: SIM115 - held for the whole test
        fcntl.flock(lock, fcntl.LOCK_EX)  # one test run on the header at a time
        factory: Any = LGPIOFactory()
        w = Wiring(factory, button=int(inp), lamp=int(out), spare=int(out), real=True)
    else:
        factory = pin_factory("mock") if kind == "mock" else MockFactory(pin_class=MockPWMPin)
        w = Wiring(factory, button=17, lamp=27, spare=22, real=False)
    try:
        yield w
    finally:
        w.close()
        if kind == "lgpio":
            factory.close()
            lock.close()
        else:
            factory.reset()


def config(button: int, lamp: int | None = None, fault_lamp: int | None = None) -> KioskConfig:
    kiosk: dict[str, Any] = {} if fault_lamp is None else {"fault_lamp": fault_lamp}
    b: dict[str, Any] = {"id": "general", "service": "general", "pin": button}
    if lamp is not None:
        b["lamp"] = lamp
    return parse_kiosk({"kiosk": kiosk, "buttons": [b]})


def seen(w: Wiring, value: bool, within: float = 5.0) -> bool:
    """Whether the lamp is seen in this state before `within` seconds (an upper bound, not a timing)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if w.lit() == value:
            return True
        time.sleep(0.005)
    return False


def test_a_press_reports_its_button_once(wiring: Wiring) -> None:
    presses: queue.Queue[str] = queue.Queue()
    panel = Panel(config(wiring.button), wiring.factory, presses.put)
    try:
        wiring.press()
        assert presses.get(timeout=2) == "general"
        wiring.release()
        with pytest.raises(queue.Empty):  # held and let go: still one press
            presses.get(timeout=0.3)
        wiring.press()
        assert presses.get(timeout=2) == "general"  # and the next press is heard again
        wiring.release()
    finally:
        panel.close()


@pytest.mark.parametrize("which", ["button", "fault"])
def test_a_lamp_is_lit_dark_and_blinks(wiring: Wiring, which: str) -> None:
    # On real pins the one wired pair does double duty: the button sits on the input the lamp is read by.
    cfg = config(wiring.button, lamp=wiring.lamp) if which == "button" else \
        config(wiring.button, fault_lamp=wiring.lamp)
    panel = Panel(cfg, wiring.factory, lambda _bid: None)

    def show(state: Lamp) -> None:
        if which == "button":
            panel.show({"general": state}, Lamp.OFF)
        else:
            panel.show({"general": Lamp.OFF}, state)

    try:
        show(Lamp.ON)
        assert wiring.lit()
        show(Lamp.OFF)
        assert not wiring.lit()
        show(Lamp.BLINK)
        assert seen(wiring, True) and seen(wiring, False) and seen(wiring, True)
        show(Lamp.BLINK)  # the next poll says "blink" again: it keeps blinking
        assert seen(wiring, False) and seen(wiring, True)
        show(Lamp.ON)
        assert wiring.lit()
        threading.Event().wait(BLINK_S * 3)  # the blinking thread is gone: nothing turns the lamp off
        assert wiring.lit()
        show(Lamp.OFF)
        assert not wiring.lit()
    finally:
        panel.close()


def test_closing_the_panel_frees_every_pin(wiring: Wiring) -> None:
    cfg = config(wiring.button, lamp=wiring.lamp)
    first = Panel(cfg, wiring.factory, lambda _bid: None)
    with pytest.raises(GPIOPinInUse):  # a second kiosk process on the same pins is refused, not shared
        Panel(cfg, wiring.factory, lambda _bid: None)
    first.close()
    Panel(cfg, wiring.factory, lambda _bid: None).close()


def test_a_panel_that_fails_half_way_gives_back_what_it_took(wiring: Wiring) -> None:
    if wiring.real:
        pytest.skip("needs a third GPIO; the refusal itself is the same code on every factory")
    squatter = DigitalOutputDevice(wiring.spare, pin_factory=wiring.factory)  # someone else has the fault lamp
    cfg = config(wiring.button, lamp=wiring.lamp, fault_lamp=wiring.spare)
    with pytest.raises(GPIOPinInUse):
        Panel(cfg, wiring.factory, lambda _bid: None)
    squatter.close()
    Panel(cfg, wiring.factory, lambda _bid: None).close()  # the button and its lamp were released
