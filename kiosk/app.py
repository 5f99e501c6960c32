"""The long-running kiosk: buttons and lamps wired to the controller, and a poll that heals faults.

The poll checks the printer and the hub every POLL_S seconds; while the hub is unreachable it backs
off up to HUB_DOWN_MAX_S so that a dozen kiosks do not hammer a hub that is starting up. The screen
of issue #3 (pygame) is not built: the same zh-TW / English message goes to stdout when it changes.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, TextIO

from .buttons import Panel
from .config import KioskConfig
from .controller import Controller, Message, standing_state
from .hub_client import HubClient
from .printer import Printer

log = logging.getLogger("jiaohao.kiosk")

POLL_S = 2.0
HUB_DOWN_MAX_S = 10.0


class KioskApp:
    def __init__(
        self,
        config: KioskConfig,
        hub: HubClient,
        printer: Printer,
        pins: Any,
        *,
        server_url: str,
        out: TextIO | None = None,
        poll_s: float = POLL_S,
    ) -> None:
        self.out = out
        self.poll_s = poll_s
        self.stop_event = threading.Event()
        self._shown: Any = None
        self._show_lock = threading.Lock()
        self.presses: list[threading.Thread] = []
        self.controller = Controller(config, hub, printer, server_url=server_url, on_change=self.show)
        self.panel = Panel(config, pins, on_press=self._pressed)

    def _pressed(self, button_id: str) -> None:
        # gpiozero's callback thread must return at once: a ticket takes seconds.
        t = threading.Thread(target=self._press, args=(button_id,), name=f"press-{button_id}", daemon=True)
        self.presses = [p for p in self.presses if p.is_alive()] + [t]
        t.start()

    def _press(self, button_id: str) -> None:
        try:
            self.controller.press(button_id)
        except Exception:
            log.exception("press of %s failed", button_id)

    def show(self) -> None:
        """Lamps and screen follow the controller; the message is printed only when it changes."""
        with self._show_lock:
            lamps, fault, message = standing_state(self.controller)
            self.panel.show(dict(lamps), fault)
            if message != (self._shown[2] if self._shown else None):
                self._say(message)
            self._shown = (lamps, fault, message)

    def _say(self, m: Message) -> None:
        line = f"[{m.level}] {m.zh} / {m.en}"
        log.info("screen: %s", line)
        if self.out is not None:
            print(line, file=self.out, flush=True)

    def run(self) -> int:
        """Poll until `stop()`; returns 0. Faults are shown, never raised: the kiosk keeps trying."""
        wait = 0.0
        while not self.stop_event.wait(wait):
            try:
                self.controller.refresh()
            except Exception:  # a bug in one poll must not take the kiosk down; the next poll tries again
                log.exception("poll failed")
            self.show()
            hub_down = not self.controller.hub_ok
            wait = min(max(wait * 2, self.poll_s), HUB_DOWN_MAX_S) if hub_down else self.poll_s
        return 0

    def stop(self) -> None:
        self.stop_event.set()

    def close(self) -> None:
        self.stop()
        for t in self.presses:
            t.join(timeout=30)
        self.panel.close()
        self.controller.printer.close()
