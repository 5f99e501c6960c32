"""The kiosk file (TOML, CONTRACT.md) into frozen dataclasses, once, at start.

Every mistake is refused with one line that names the key path (`buttons[1].pin: ...`), like the
office file. KioskConfigError is a ConfigError (server/wire/errors.py), so `jiaohao` prints it as
one line and exits 1 without knowing about kiosks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.wire.errors import ConfigError
from server.wire.text import Text
from server.wire.tomlfile import Reader, read_toml

# BCM numbers of the 40-pin header's GPIOs; 0 and 1 are the HAT EEPROM's I2C, so refused.
_BCM_PINS = range(2, 28)
PAPER_WIDTHS = {58: 384, 80: 576}  # paper mm -> printable dots at 203 dpi

# Every key the kiosk file may have, per table; the reader refuses any other, and tests/test_docs.py
# checks that docs/configuration.md describes each one.
KIOSK_KEYS: dict[str, tuple[str, ...]] = {
    "": ("kiosk", "buttons"),
    "kiosk": ("fault_lamp", "paper_mm", "cooldown_s", "public_url", "footer", "printer", "scanner",
              "appointment_service"),
    "buttons": ("id", "service", "lane", "pin", "lamp"),
}


class KioskConfigError(ConfigError):
    """A mistake in a kiosk file; str() is the one line shown to the person."""


@dataclass(frozen=True)
class Button:
    id: str  # the name `jiaohao kiosk press` takes
    service: str
    lane: str
    pin: int  # BCM GPIO of the button (wired to ground; internal pull-up)
    lamp: int | None  # BCM GPIO of its lamp


@dataclass(frozen=True)
class KioskConfig:
    buttons: tuple[Button, ...]
    fault_lamp: int | None = None
    paper_mm: int = 80
    # One press per button per window: bounce, double presses and mashing give one ticket.
    cooldown_s: float = 2.0
    # Where the QR code points: `{public_url}/s/{ticket id}`. Empty: the office's (from the hub), else --server.
    public_url: str = ""
    # The ticket's last line; overrides the office's ticket_footer, which older hubs do not send.
    footer: Text | None = None
    printer: str = ""  # default printer SPEC when --printer is not given
    # The USB barcode/QR scanner (a HID keyboard), read with evdev: /dev/input/by-id/...-event-kbd.
    scanner: str = ""
    # Buttons of this service are the 預約報到 button: with a screen they open the keypad.
    appointment_service: str = "appointment"

    @property
    def width_px(self) -> int:
        return PAPER_WIDTHS[self.paper_mm]

    def button(self, button_id: str) -> Button:
        for b in self.buttons:
            if b.id == button_id:
                return b
        known = ", ".join(b.id for b in self.buttons)
        raise KioskConfigError(f"no button '{button_id}' in the kiosk file (known: {known})")


def _pin(r: Reader, key: str, required: bool) -> int | None:
    value = r.get(key, int, ... if required else None)
    if value is not None and value not in _BCM_PINS:
        raise r.fail(key, f"must be a BCM GPIO number from 2 to 27 (got {value})")
    return value


def _footer(r: Reader, key: str) -> Text | None:
    # Printed on paper: both languages are required, and surrounding spaces would shift the line.
    value = r.get(key, (dict, str), None)
    if value is None:
        return None
    if isinstance(value, str):
        value = {"zh-TW": value, "en": value}
    zh, en = value.get("zh-TW"), value.get("en")
    if not isinstance(zh, str) or not zh.strip() or not isinstance(en, str) or not en.strip():
        raise r.fail(key, 'needs non-empty texts: { zh-TW = "…", en = "…" }')
    return Text(zh.strip(), en.strip())


def parse_kiosk(data: dict[str, Any]) -> KioskConfig:
    top = Reader(data, "", KioskConfigError)
    top.unknown(KIOSK_KEYS[""])
    k = top.table("kiosk")
    k.unknown(KIOSK_KEYS["kiosk"])
    fault_lamp = _pin(k, "fault_lamp", required=False)
    paper = k.get("paper_mm", int, 80)
    if paper not in PAPER_WIDTHS:
        raise k.fail("paper_mm", f"must be 58 or 80 (got {paper})")
    cooldown = float(k.get("cooldown_s", (int, float), 2.0))
    if not 0.2 <= cooldown <= 30:
        raise k.fail("cooldown_s", f"must be from 0.2 to 30 seconds (got {cooldown})")
    public_url = k.get("public_url", str, "").rstrip("/")
    if public_url and not re.match(r"^https?://[^/\s]+", public_url):
        raise k.fail("public_url", f"must start with http:// or https:// (got {public_url!r})")
    printer = k.get("printer", str, "")
    if printer:
        from .printer import PrinterSpecError, parse_spec

        try:
            parse_spec(printer)
        except PrinterSpecError as e:
            raise k.fail("printer", str(e)) from None

    scanner = k.get("scanner", str, "")
    if scanner and not scanner.startswith("/dev/input/"):
        raise k.fail("scanner", f"must be an input device under /dev/input/, e.g. /dev/input/by-id/...-event-kbd "
                                f"(got {scanner!r})")
    appointment_service = k.ident("appointment_service") if "appointment_service" in k.data else "appointment"

    raw_buttons = top.items("buttons")
    if not raw_buttons:
        raise top.fail("buttons", "must list at least one button ([[buttons]])")
    buttons: list[Button] = []
    used: dict[int, str] = {}
    if fault_lamp is not None:
        used[fault_lamp] = "kiosk.fault_lamp"
    for r in raw_buttons:
        path = r.path
        r.unknown(KIOSK_KEYS["buttons"])
        bid = r.ident("id")
        if any(b.id == bid for b in buttons):
            raise r.fail("id", f"'{bid}' is used twice")
        service = r.ident("service")
        lane = r.ident("lane") if "lane" in r.data else "normal"
        pin = _pin(r, "pin", required=True)
        lamp = _pin(r, "lamp", required=False)
        assert pin is not None
        for key, gpio in (("pin", pin), ("lamp", lamp)):
            if gpio is None:
                continue
            if gpio in used:
                raise r.fail(key, f"GPIO {gpio} is already used by {used[gpio]}")
            used[gpio] = f"{path}.{key}"
        buttons.append(Button(bid, service, lane, pin, lamp))
    return KioskConfig(
        buttons=tuple(buttons),
        fault_lamp=fault_lamp,
        paper_mm=paper,
        cooldown_s=cooldown,
        public_url=public_url,
        footer=_footer(k, "footer"),
        printer=printer,
        scanner=scanner,
        appointment_service=appointment_service,
    )


def load_kiosk(path: str | Path) -> KioskConfig:
    data = read_toml(path, "kiosk file", KioskConfigError)
    try:
        return parse_kiosk(data)
    except KioskConfigError as e:
        raise KioskConfigError(f"{path}: {e}") from None
