"""The signs file (TOML, docs/signs.md): which sign address shows which counter, and the serial port.

Every mistake is refused with one line naming the key path (`signs[2].address: ...`), as for the office
and kiosk files. SignsConfigError is a ConfigError so `jiaohao` would print it as one line too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.config import ConfigError

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")  # the office file's counter ids
BAUDS = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)


class SignsConfigError(ConfigError):
    """A mistake in a signs file; str() is the one line shown to the person."""


@dataclass(frozen=True)
class SignSpec:
    counter: str  # the office file's counter id
    address: int  # 1..254 on the bus


@dataclass(frozen=True)
class SignsConfig:
    signs: tuple[SignSpec, ...]
    port: str | None = None  # a device or pyserial URL; None: only --simulate can run
    baud: int = 9600  # always 8 data bits, no parity, 1 stop bit
    chars: int = 4  # characters a sign has room for (the simulated sign draws this many)
    refresh_s: float = 20.0  # every sign is sent its text again this often

    @property
    def counter_ids(self) -> list[str]:
        return list(dict.fromkeys(s.counter for s in self.signs))


def _fail(key: str, message: str) -> SignsConfigError:
    return SignsConfigError(f"{key}: {message}")


def _get(data: dict[str, Any], path: str, key: str, kind: type, default: Any = ...) -> Any:
    where = f"{path}.{key}" if path else key
    if key not in data:
        if default is ...:
            raise _fail(where, "is required")
        return default
    value = data[key]
    # TOML true is a bool, and bool is an int in Python: refuse it where a number is meant.
    if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
        words = {int: "a whole number", str: "a string", list: "a list", float: "a number"}
        hint = ' in quotes, e.g. "3"' if key == "counter" and isinstance(value, int) else ""
        raise _fail(where, f"must be {words.get(kind, kind.__name__)}{hint} (got {value!r})")
    return value


def _unknown(data: dict[str, Any], path: str, known: set[str]) -> None:
    extra = sorted(set(data) - known)
    if extra:
        where = f"{path}.{extra[0]}" if path else extra[0]
        raise _fail(where, f"is not a known key (known: {', '.join(sorted(known))})")


def parse_signs(data: dict[str, Any]) -> SignsConfig:
    _unknown(data, "", {"port", "baud", "chars", "refresh_s", "signs"})
    port = _get(data, "", "port", str, None)
    if port is not None and not port.strip():
        raise _fail("port", 'must name the serial device, e.g. "/dev/ttyUSB0"')
    baud = _get(data, "", "baud", int, 9600)
    if baud not in BAUDS:
        raise _fail("baud", f"must be one of {', '.join(map(str, BAUDS))} (got {baud})")
    chars = _get(data, "", "chars", int, 4)
    if not 1 <= chars <= 16:
        raise _fail("chars", f"must be from 1 to 16 (got {chars})")
    refresh = data.get("refresh_s", 20.0)
    if isinstance(refresh, bool) or not isinstance(refresh, int | float) or not 1 <= refresh <= 3600:
        raise _fail("refresh_s", f"must be a number of seconds from 1 to 3600 (got {refresh!r})")
    raw = _get(data, "", "signs", list, ...)
    if not raw:
        raise _fail("signs", "must list at least one sign ([[signs]] counter = \"3\", address = 3)")
    signs: list[SignSpec] = []
    for i, item in enumerate(raw):
        path = f"signs[{i}]"
        if not isinstance(item, dict):
            raise _fail(path, "must be a table: [[signs]] counter = \"3\", address = 3")
        _unknown(item, path, {"counter", "address"})
        counter = _get(item, path, "counter", str)
        if not _ID.match(counter):
            raise _fail(f"{path}.counter", f"must be a counter id of the office file (got {counter!r})")
        address = _get(item, path, "address", int)
        if not 1 <= address <= 254:
            raise _fail(f"{path}.address", f"must be from 1 to 254 (got {address}); 255 is every sign at once")
        for j, other in enumerate(signs):
            if other.address == address:
                raise _fail(f"{path}.address", f"{address} is already used by signs[{j}] (counter {other.counter})")
        signs.append(SignSpec(counter, address))
    return SignsConfig(signs=tuple(signs), port=port, baud=baud, chars=chars, refresh_s=float(refresh))


def load_signs(path: str | Path) -> SignsConfig:
    from server.config import read_toml

    data = read_toml(path, "signs file", SignsConfigError)
    try:
        return parse_signs(data)
    except SignsConfigError as e:
        raise SignsConfigError(f"{path}: {e}") from None
