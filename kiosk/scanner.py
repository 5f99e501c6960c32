"""The USB barcode/QR scanner: a HID keyboard read with python-evdev, never through a terminal.

Two parts, so that the first can be tested with synthetic key events:
- `LineAssembler.feed(key, value, t)`: evdev key names and values (1 down, 0 up, 2 repeat) -> a finished
  line on KEY_ENTER. Shift gives capitals and `_`; a key that is not a printable character (an arrow,
  F1, Ctrl) taints the line, which then cannot be a booking code and gets 查無此預約 / booking not found. A
  pause longer than `gap_s` between keys drops what came before: a partial read never joins the next scan.
  A line is capped at MAX_LINE characters (and tainted): a scanner sending a runaway string costs nothing.
- `read_scanner(path, on_code, stop)`: the evdev device, grabbed so that its keys go nowhere else.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("jiaohao.kiosk.scanner")

MAX_LINE = 64
GAP_S = 0.5  # scanners type a code in a few ms per key; a person at a keyboard is not a scanner
TAINT = "\x00"  # put in a line that had a key that is not a character: valid_code() refuses it

_PLAIN = {f"KEY_{c}": c.lower() for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"} | {f"KEY_{d}": d for d in "0123456789"} | {
    "KEY_MINUS": "-", "KEY_EQUAL": "=", "KEY_SPACE": " ", "KEY_DOT": ".", "KEY_SLASH": "/", "KEY_COMMA": ",",
    "KEY_SEMICOLON": ";", "KEY_APOSTROPHE": "'", "KEY_LEFTBRACE": "[", "KEY_RIGHTBRACE": "]",
    "KEY_BACKSLASH": "\\", "KEY_GRAVE": "`"} | {f"KEY_KP{d}": d for d in "0123456789"} | {"KEY_KPMINUS": "-"}
_SHIFTED = {f"KEY_{c}": c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"} | {
    "KEY_MINUS": "_", "KEY_1": "!", "KEY_2": "@", "KEY_3": "#", "KEY_4": "$", "KEY_5": "%", "KEY_6": "^",
    "KEY_7": "&", "KEY_8": "*", "KEY_9": "(", "KEY_0": ")", "KEY_SLASH": "?", "KEY_SEMICOLON": ":"}
_SHIFT = {"KEY_LEFTSHIFT", "KEY_RIGHTSHIFT"}
_ENTER = {"KEY_ENTER", "KEY_KPENTER"}
_IGNORED = {"KEY_CAPSLOCK", "KEY_NUMLOCK"}  # some scanners toggle these around a code


@dataclass
class LineAssembler:
    gap_s: float = GAP_S
    shift: bool = False
    buf: list[str] = field(default_factory=list)
    last_t: float | None = None

    def feed(self, key: str, value: int, t: float) -> str | None:
        """One key event; the line (possibly tainted) when Enter is pressed, else None."""
        if key in _SHIFT:
            self.shift = value != 0
            return None
        if value != 1:  # key up; auto-repeat is not something a scanner means
            return None
        if self.last_t is not None and t - self.last_t > self.gap_s and self.buf:
            log.info("scanner: %d characters without Enter dropped (a partial read)", len(self.buf))
            self.buf = []
        self.last_t = t
        if key in _ENTER:
            line, self.buf = "".join(self.buf), []
            return line
        if key in _IGNORED:
            return None
        ch = (_SHIFTED if self.shift else _PLAIN).get(key)
        if ch is None and self.shift:
            ch = _PLAIN.get(key)
        if len(self.buf) >= MAX_LINE:
            if self.buf[-1] != TAINT:
                self.buf.append(TAINT)
            return None
        self.buf.append(ch if ch is not None else TAINT)
        return None


def read_scanner(path: str, on_code: Callable[[str], None], stop: threading.Event) -> None:
    """Reads the scanner at `path` until `stop`; each finished line goes to `on_code`.

    evdev is imported here only (the `scanner` extra: it has no wheels), so the kiosk runs without it
    when there is no scanner.
    """
    try:
        import evdev
    except ImportError as e:
        raise ScannerError(f"scanner {path}: python-evdev is not installed (pip install 'jiaohao[scanner]')") from e
    try:
        dev = evdev.InputDevice(path)
    except OSError as e:
        raise ScannerError(f"scanner {path}: {e.strerror or e} (is it plugged in, and may this user read it?)") from e
    import select

    try:
        dev.grab()  # its keys must not also type into a console or the desktop
    except OSError:
        log.warning("scanner %s: could not grab it; its keys may also reach the console", path)
    asm = LineAssembler()
    log.info("scanner %s: %s", path, dev.name)
    try:
        while not stop.is_set():
            ready, _, _ = select.select([dev.fd], [], [], 0.5)
            if not ready:
                continue
            for event in dev.read():
                if event.type != evdev.ecodes.EV_KEY:
                    continue
                name = evdev.ecodes.KEY.get(event.code, f"KEY_{event.code}")
                if isinstance(name, list):  # codes with aliases give a list
                    name = name[0]
                line = asm.feed(str(name), event.value, event.timestamp())
                if line is not None and line.strip():
                    on_code(line)
    finally:
        try:
            dev.ungrab()
        except OSError:
            pass
        dev.close()


class ScannerError(RuntimeError):
    """The scanner cannot be read (unplugged, no permission, no evdev): a run-time fault, said once; the kiosk
    goes on without it, as with a screen that cannot open: buttons and keypad still work."""
