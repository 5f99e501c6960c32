"""The kiosk file (TOML, CONTRACT.md) into frozen dataclasses, once, at start.

Every mistake is refused with one line that names the key path (`buttons[1].pin: ...`), like the
office file. KioskConfigError subclasses the hub's ConfigError so that `jiaohao` prints it as one
line and exits 1 without knowing about kiosks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.config import ConfigError

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
# BCM numbers of the 40-pin header's GPIOs; 0 and 1 are the HAT EEPROM's I2C, so refused.
_BCM_PINS = range(2, 28)
PAPER_WIDTHS = {58: 384, 80: 576}  # paper mm -> printable dots at 203 dpi


class KioskConfigError(ConfigError):
    """A mistake in a kiosk file; str() is the one line shown to the person."""


@dataclass(frozen=True)
class Text:
    """Words shown to people, in zh-TW and English."""

    zh: str
    en: str


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

    @property
    def width_px(self) -> int:
        return PAPER_WIDTHS[self.paper_mm]

    def button(self, button_id: str) -> Button:
        for b in self.buttons:
            if b.id == button_id:
                return b
        known = ", ".join(b.id for b in self.buttons)
        raise KioskConfigError(f"no button '{button_id}' in the kiosk file (known: {known})")


class _Reader:
    def __init__(self, data: dict[str, Any], path: str) -> None:
        self.data, self.path = data, path

    def fail(self, key: str, message: str) -> KioskConfigError:
        return KioskConfigError(f"{self.path}.{key}: {message}" if self.path else f"{key}: {message}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if key not in self.data:
            if default is ...:
                raise self.fail(key, "is required")
            return default
        value = self.data[key]
        # TOML true is a bool, and bool is an int in Python: refuse it where a number is meant.
        if (isinstance(value, bool) and bool not in _kinds(kind)) or not isinstance(value, kind):
            raise self.fail(key, f"must be {_names(kind)} (got {value!r})")
        return value

    def unknown(self, known: set[str]) -> None:
        extra = sorted(set(self.data) - known)
        if extra:
            raise self.fail(extra[0], f"is not a known key (known: {', '.join(sorted(known))})")

    def ident(self, key: str) -> str:
        value = self.get(key, str)
        if not _ID.match(value):
            raise self.fail(key, f"must be letters, digits, '-', '_' or '.', at most 40 (got {value!r})")
        return value

    def pin(self, key: str, required: bool) -> int | None:
        value = self.get(key, int, ... if required else None)
        if value is not None and value not in _BCM_PINS:
            raise self.fail(key, f"must be a BCM GPIO number from 2 to 27 (got {value})")
        return value

    def text(self, key: str) -> Text | None:
        value = self.get(key, (dict, str), None)
        if value is None:
            return None
        if isinstance(value, str):
            value = {"zh-TW": value, "en": value}
        zh, en = value.get("zh-TW"), value.get("en")
        if not isinstance(zh, str) or not zh.strip() or not isinstance(en, str) or not en.strip():
            raise self.fail(key, 'needs non-empty texts: { zh-TW = "…", en = "…" }')
        return Text(zh.strip(), en.strip())


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _names(kind: type | tuple[type, ...]) -> str:
    words = {int: "a whole number", float: "a number", str: "a string", bool: "true or false",
             list: "a list", dict: "a table"}
    return " or ".join(words.get(k, k.__name__) for k in _kinds(kind))


def parse_kiosk(data: dict[str, Any]) -> KioskConfig:
    top = _Reader(data, "")
    top.unknown({"kiosk", "buttons"})
    k = _Reader(top.get("kiosk", dict, {}), "kiosk")
    k.unknown({"fault_lamp", "paper_mm", "cooldown_s", "public_url", "footer", "printer"})
    fault_lamp = k.pin("fault_lamp", required=False)
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

    raw_buttons = top.get("buttons", list, [])
    if not raw_buttons:
        raise top.fail("buttons", "must list at least one button ([[buttons]])")
    buttons: list[Button] = []
    used: dict[int, str] = {}
    if fault_lamp is not None:
        used[fault_lamp] = "kiosk.fault_lamp"
    for i, item in enumerate(raw_buttons):
        path = f"buttons[{i}]"
        if not isinstance(item, dict):
            raise top.fail(path, "must be a table")
        r = _Reader(item, path)
        r.unknown({"id", "service", "lane", "pin", "lamp"})
        bid = r.ident("id")
        if any(b.id == bid for b in buttons):
            raise r.fail("id", f"'{bid}' is used twice")
        service = r.ident("service")
        lane = r.ident("lane") if "lane" in item else "normal"
        pin = r.pin("pin", required=True)
        lamp = r.pin("lamp", required=False)
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
        footer=k.text("footer"),
        printer=printer,
    )


def load_kiosk(path: str | Path) -> KioskConfig:
    from server.config import read_toml

    data = read_toml(path, "kiosk file", KioskConfigError)
    try:
        return parse_kiosk(data)
    except KioskConfigError as e:
        raise KioskConfigError(f"{path}: {e}") from None
