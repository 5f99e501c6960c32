"""The signs file (TOML, docs/signs.md): which sign address shows which counter, and the serial port.

Every mistake is refused with one line naming the key path (`signs[2].address: ...`), as for the office
and kiosk files. SignsConfigError is a ConfigError (server/wire/errors.py), so `jiaohao` prints it as
one line and exits 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.wire.errors import ConfigError
from server.wire.tomlfile import ID, Reader, read_toml

BAUDS = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)

# Every key the signs file may have, per table; the reader refuses any other, and tests/test_docs.py
# checks that docs/signs.md describes each one.
SIGNS_KEYS: dict[str, tuple[str, ...]] = {
    "": ("port", "baud", "chars", "refresh_s", "signs"),
    "signs": ("counter", "address", "text"),
}


class SignsConfigError(ConfigError):
    """A mistake in a signs file; str() is the one line shown to the person."""


@dataclass(frozen=True)
class SignSpec:
    counter: str  # the office file's counter id
    address: int  # 1..254 on the bus
    text: bool = False  # shows the announcements while its counter is idle (docs/signs.md)


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

    @property
    def text_counter_ids(self) -> set[str]:
        """Counters with at least one text sign: their simulated sign shows the announcements too."""
        return {s.counter for s in self.signs if s.text}


def parse_signs(data: dict[str, Any]) -> SignsConfig:
    top = Reader(data, "", SignsConfigError)
    top.unknown(SIGNS_KEYS[""])
    port = top.get("port", str, None)
    if port is not None and not port.strip():
        raise top.fail("port", 'must name the serial device, e.g. "/dev/ttyUSB0"')
    baud = top.get("baud", int, 9600)
    if baud not in BAUDS:
        raise top.fail("baud", f"must be one of {', '.join(map(str, BAUDS))} (got {baud})")
    chars = top.get("chars", int, 4)
    if not 1 <= chars <= 16:
        raise top.fail("chars", f"must be from 1 to 16 (got {chars})")
    refresh = data.get("refresh_s", 20.0)
    if isinstance(refresh, bool) or not isinstance(refresh, int | float) or not 1 <= refresh <= 3600:
        raise top.fail("refresh_s", f"must be a number of seconds from 1 to 3600 (got {refresh!r})")
    raw = top.get("signs", list)
    if not raw:
        raise top.fail("signs", "must list at least one sign ([[signs]] counter = \"3\", address = 3)")
    signs: list[SignSpec] = []
    for i, item in enumerate(raw):
        path = f"signs[{i}]"
        if not isinstance(item, dict):
            raise top.fail(path, "must be a table: [[signs]] counter = \"3\", address = 3")
        r = Reader(item, path, SignsConfigError)
        r.unknown(SIGNS_KEYS["signs"])
        if isinstance(item.get("counter"), int) and not isinstance(item["counter"], bool):
            raise r.fail("counter", f'must be a string in quotes, e.g. "3" (got {item["counter"]!r})')
        counter = r.get("counter", str)
        if not ID.match(counter):
            raise r.fail("counter", f"must be a counter id of the office file (got {counter!r})")
        address = r.get("address", int)
        if not 1 <= address <= 254:
            raise r.fail("address", f"must be from 1 to 254 (got {address}); 255 is every sign at once")
        for j, other in enumerate(signs):
            if other.address == address:
                raise r.fail("address", f"{address} is already used by signs[{j}] (counter {other.counter})")
        text = r.get("text", bool, False)
        signs.append(SignSpec(counter, address, text))
    return SignsConfig(signs=tuple(signs), port=port, baud=baud, chars=chars, refresh_s=float(refresh))


def load_signs(path: str | Path) -> SignsConfig:
    data = read_toml(path, "signs file", SignsConfigError)
    try:
        return parse_signs(data)
    except SignsConfigError as e:
        raise SignsConfigError(f"{path}: {e}") from None
