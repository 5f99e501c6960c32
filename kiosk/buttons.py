"""The buttons and lamps on GPIO, through gpiozero, on mock pins (tests, demos) or the Pi's own.

gpiozero calls `when_pressed` from its own thread; the panel only passes the button id on. The
one-ticket-per-press rule lives in the controller (a cooldown), because mock pins ignore
bounce_time and real buttons bounce more than any bounce_time promises.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from server.wire.errors import FixableError

from .config import KioskConfig
from .controller import Lamp

log = logging.getLogger("jiaohao.kiosk.buttons")

BLINK_S = 0.3


class PinsError(FixableError, RuntimeError):
    """No GPIO to be had: one line for the person."""


def pin_factory(kind: str) -> Any:
    """`mock`: gpiozero's MockFactory. `auto`: lgpio (the only one that works on a Pi 5), else RPi.GPIO."""
    if kind == "mock":
        from gpiozero.pins.mock import MockFactory

        return MockFactory()
    if kind != "auto":
        raise PinsError(f"--pins must be mock or auto (got {kind!r})")
    errors = []
    try:
        from gpiozero.pins.lgpio import LGPIOFactory

        return LGPIOFactory()
    except Exception as e:  # ImportError off a Pi, or no /dev/gpiochip*
        errors.append(f"lgpio: {e}")
    try:
        from gpiozero.pins.rpigpio import RPiGPIOFactory

        return RPiGPIOFactory()
    except Exception as e:
        errors.append(f"RPi.GPIO: {e}")
    raise PinsError("no GPIO on this machine (" + "; ".join(errors) + "); on a Raspberry Pi install lgpio "
                    "(pip install 'jiaohao[hardware]'), elsewhere use --pins mock")


class Panel:
    """The buttons and lamps of one kiosk file on one pin factory."""

    def __init__(self, config: KioskConfig, factory: Any, on_press: Callable[[str], None]) -> None:
        from gpiozero import LED, Button

        self.factory = factory
        self.buttons: dict[str, Any] = {}
        self.lamps: dict[str, Any] = {}
        self._shown: dict[str, Lamp] = {}
        self.fault: Any = None
        try:
            for b in config.buttons:
                # Wired between the pin and ground, with the internal pull-up. bounce_time helps on real
                # pins; the controller's cooldown is what guarantees one ticket per press.
                btn = Button(b.pin, pull_up=True, bounce_time=0.05, pin_factory=factory)
                btn.when_pressed = _caller(on_press, b.id)
                self.buttons[b.id] = btn
                if b.lamp is not None:
                    self.lamps[b.id] = LED(b.lamp, pin_factory=factory)
            if config.fault_lamp is not None:
                self.fault = LED(config.fault_lamp, pin_factory=factory)
        except Exception:
            self.close()
            raise

    def show(self, lamps: dict[str, Lamp], fault: Lamp) -> None:
        for bid, state in lamps.items():
            if bid in self.lamps:
                self._set(bid, self.lamps[bid], state)
        if self.fault is not None:
            self._set("__fault__", self.fault, fault)

    def _set(self, key: str, led: Any, state: Lamp) -> None:
        # Restarting blink() on every poll would make it stutter: change a lamp only when its state does.
        if self._shown.get(key) == state:
            return
        self._shown[key] = state
        if state == Lamp.ON:
            led.on()
        elif state == Lamp.BLINK:
            led.blink(on_time=BLINK_S, off_time=BLINK_S)
        else:
            led.off()

    def close(self) -> None:
        for dev in [*self.buttons.values(), *self.lamps.values(), self.fault]:
            if dev is not None:
                try:
                    dev.close()
                except Exception:  # closing must finish for every pin
                    log.debug("closing %s failed", dev, exc_info=True)


def _caller(on_press: Callable[[str], None], bid: str) -> Callable[[], None]:
    def pressed() -> None:
        on_press(bid)

    return pressed
