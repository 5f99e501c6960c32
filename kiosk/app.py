"""The long-running kiosk: buttons and lamps wired to the controller, and a poll that heals faults.

The poll checks the printer and the hub every POLL_S seconds; while the hub is unreachable it backs
off up to HUB_DOWN_MAX_S so that a dozen kiosks do not hammer a hub that is starting up. The zh-TW /
English message goes to stdout when it changes; the optional pygame screen of issue #3 (screen.py,
`--screen`) draws the controller's state in the main thread while `run()` polls on another.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from PIL import Image

from .buttons import Panel
from .config import KioskConfig
from .controller import Controller, Message, standing_state
from .hub_client import HubClient
from .printer import Printer
from .ticket_image import TicketContent, render_ticket

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
        save_png: Path | None = None,
    ) -> None:
        self.out = out
        self.poll_s = poll_s
        self.stop_event = threading.Event()
        self._shown: Any = None
        self._show_lock = threading.Lock()
        self.presses: list[threading.Thread] = []
        extra: dict[str, Any] = {}
        if save_png is not None:
            extra["render"] = _saving_render(save_png, out)
        self.config = config
        self.controller = Controller(config, hub, printer, server_url=server_url, on_change=self.show, **extra)
        self.panel = Panel(config, pins, on_press=self._pressed)
        threading.Thread(target=self._warm_up, name="warm-up", daemon=True).start()
        if config.scanner:
            threading.Thread(target=self._scan, name="scanner", daemon=True).start()

    def _scan(self) -> None:
        """The USB scanner's codes are check-ins; a scanner that cannot be read is said once, and the kiosk goes on."""
        from .scanner import ScannerError, read_scanner

        try:
            # On this thread, one scan after the other: a second scan during a check-in waits in the kernel's
            # event queue instead of being refused as "busy".
            read_scanner(self.config.scanner, self._check_in, self.stop_event)
        except ScannerError as e:
            log.error("%s", e)
            if self.out is not None:
                print(f"jiaohao kiosk: warning: {e}; going on without it", file=self.out, flush=True)
        except Exception:
            log.exception("scanner %s failed; going on without it", self.config.scanner)

    def check_in(self, code: str) -> None:
        """A booking code from the keypad or the scanner, checked in on its own thread (the screen keeps drawing)."""
        t = threading.Thread(target=self._check_in, args=(code,), name="check-in", daemon=True)
        self.presses = [p for p in self.presses if p.is_alive()] + [t]
        t.start()

    def _check_in(self, code: str) -> None:
        try:
            self.controller.check_in(code)
        except Exception:
            log.exception("check-in failed")

    def _warm_up(self) -> None:
        """Open the fonts before the first citizen presses: the first ticket took 200-300 ms more."""
        from datetime import datetime

        from server.wire.text import Text

        from .ticket_image import sample_content

        try:
            sample = sample_content(Text("戶政事務所", "Office"), Text("綜合業務", "General"), "A001", None,
                                    "http://127.0.0.1/s/warm-up", None, datetime.now())
            render_ticket(sample, self.config.width_px)
        except Exception:  # a missing font shows up again, clearly, at the first press
            log.debug("warm-up render failed", exc_info=True)

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
        """Poll until `stop()`; returns 0. Faults are shown, never raised: the kiosk keeps trying.

        systemd hears READY after the first poll and a watchdog ping from every poll after it: a poll
        that hangs stops the pings, and systemd restarts the kiosk (firmware_config/systemd).
        """
        from server.wire.sdnotify import notifier

        notify, polled = notifier(), False
        wait = 0.0
        while not self.stop_event.wait(wait):
            try:
                self.controller.refresh()
            except Exception:  # a bug in one poll must not take the kiosk down; the next poll tries again
                log.exception("poll failed")
            self.show()
            if not polled:
                polled = True
                notify.ready("polling the hub and the printer")
            notify.ping()
            hub_down = not self.controller.hub_ok
            wait = min(max(wait * 2, self.poll_s), HUB_DOWN_MAX_S) if hub_down else self.poll_s
            if notify.ping_every_s:  # never sleep through a watchdog ping (WatchdogSec is far above this)
                wait = min(wait, notify.ping_every_s)
        return 0

    def stop(self) -> None:
        self.stop_event.set()

    def press_from_keys(self, keys: TextIO) -> None:
        """Simulated presses (mock pins only): each line names a button by its number (1, 2, ...) or id.

        This is how `jiaohao up` lets a newcomer press a key and see a ticket.
        """
        ids = [b.id for b in self.config.buttons]
        for line in keys:
            word = line.strip()
            if not word:
                continue
            bid = ids[int(word) - 1] if word.isdigit() and 1 <= int(word) <= len(ids) else word
            btn = self.panel.buttons.get(bid)
            if btn is None:
                self._say(Message(f"沒有這個按鈕：{word}", f"No such button: {word} (1-{len(ids)} or an id)", "warn"))
                continue
            btn.pin.drive_low()
            btn.pin.drive_high()

    def close(self) -> None:
        self.stop()
        for t in self.presses:
            t.join(timeout=30)
        self.panel.close()
        self.controller.printer.close()


def _saving_render(folder: Path, out: TextIO | None) -> Callable[[TicketContent, int], Image.Image]:
    """The ticket renderer, also keeping each ticket as a PNG (for the demo and for a look by eye)."""
    folder.mkdir(parents=True, exist_ok=True)

    def render(content: TicketContent, width: int) -> Image.Image:
        image = render_ticket(content, width)
        path = folder / f"ticket-{content.number or 'walk-in'}.png"
        image.save(path, format="PNG")
        if out is not None:
            print(f"ticket image: {path}", file=out, flush=True)
        return image

    return render
