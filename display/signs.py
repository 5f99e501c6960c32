"""LED counter signs (issue #4): the frame format, the `Sign` interface, the serial driver, and the pure
mapping from the board state to what every sign shows. No pygame, no Flask; pyserial only when a port opens.

The frame (docs/signs.md) is all printable ASCII between STX and ETX, so a sign's receiver can find
frame boundaries without escaping and a person can watch the bus with any serial terminal:

    STX  address(2 hex)  command(1 letter)  text(0..16 printable ASCII)  CRC-8(2 hex)  ETX
    0x02 "03"            "S"                "A023"                       "D6"          0x03

The CRC-8 (polynomial 0x07, initial value 0, CRC-8/SMBUS) covers address, command and text as sent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .state import BoardState, CounterView, parse_counter

log = logging.getLogger("jiaohao.signs")

STX, ETX = 0x02, 0x03
MAX_TEXT = 16  # characters of text in one frame: a prefix of 3 letters and 4 digits fit twice over
BROADCAST = 0xFF  # every sign acts on it; no sign has this address
CMD_SHOW = "S"  # show the text steadily ("" blanks the sign)
CMD_BLINK = "B"  # show the text, blinking for about 3 s first (a new call or a recall)
MAX_FRAME = 1 + 2 + 1 + MAX_TEXT + 2 + 1  # a receiver's whole buffer: 23 bytes

SIGN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -")  # what every sign's font has
OFFLINE_TEXT = "----"  # shown after OFFLINE_AFTER_S without the hub: "not a current number"
OFFLINE_AFTER_S = 10.0


class FrameError(ValueError):
    """Bytes that are not one well-formed frame, or a frame that cannot be built from these values."""


class SignError(Exception):
    """A sign could not be told what to show (port gone, disk full); the driver tries again."""


# -- frames ----------------------------------------------------------------------------------------


def crc8(data: bytes) -> int:
    """CRC-8/SMBUS (poly 0x07, init 0, no reflection): eight lines of C on the sign's microcontroller.
    Unlike a plain sum or XOR it catches every single-byte error and every burst of up to 8 bits."""
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


@dataclass(frozen=True)
class Frame:
    address: int  # 1..254 for one sign, 255 (BROADCAST) for all
    command: str  # one capital letter: "S" or "B"; receivers ignore letters they do not know
    text: str = ""


def _check_text(text: str) -> bytes:
    if len(text) > MAX_TEXT:
        raise FrameError(f"text {text!r} is longer than {MAX_TEXT} characters")
    bad = [c for c in text if not 0x20 <= ord(c) <= 0x7E]
    if bad:
        # Control bytes are forbidden rather than escaped: STX and ETX then only ever mean frame edges.
        raise FrameError(f"text {text!r} has {bad[0]!r}: only printable ASCII (0x20-0x7E) may be sent")
    return text.encode("ascii")


def encode_frame(address: int, command: str, text: str = "") -> bytes:
    if isinstance(address, bool) or not isinstance(address, int) or not 1 <= address <= 255:
        raise FrameError(f"address {address!r} must be 1..254, or 255 for every sign")
    if len(command) != 1 or not "A" <= command <= "Z":
        raise FrameError(f"command {command!r} must be one capital letter")
    body = f"{address:02X}{command}".encode("ascii") + _check_text(text)
    return bytes([STX]) + body + f"{crc8(body):02X}".encode("ascii") + bytes([ETX])


_HEX = b"0123456789ABCDEF"  # upper case only: one spelling per value keeps the receiver's parser trivial


def _hex2(raw: bytes) -> int:
    if len(raw) != 2 or any(b not in _HEX for b in raw):
        raise FrameError(f"{raw!r} is not two upper-case hex digits")
    return int(raw, 16)


def decode_frame(raw: bytes) -> Frame:
    """Exactly one frame, STX to ETX, or FrameError saying what is wrong with it."""
    if len(raw) < 7 or raw[0] != STX or raw[-1] != ETX:
        raise FrameError("a frame is STX, address, command, text, checksum, ETX (at least 7 bytes)")
    if len(raw) > MAX_FRAME:
        raise FrameError(f"a frame is at most {MAX_FRAME} bytes (got {len(raw)})")
    body, check = raw[1:-3], raw[-3:-1]
    if any(not 0x20 <= b <= 0x7E for b in body + check):
        raise FrameError("a frame carries only printable ASCII between STX and ETX")
    if _hex2(check) != crc8(body):
        raise FrameError(f"checksum {check.decode()} does not match {crc8(body):02X}")
    address = _hex2(body[:2])
    command = chr(body[2])
    if address == 0 or not "A" <= command <= "Z":
        raise FrameError(f"address {address} or command {command!r} is not allowed")
    return Frame(address, command, body[3:].decode("ascii"))


class FrameReader:
    """A byte stream into frames, as a sign's receiver does it: STX starts afresh (so a frame cut by noise
    or by a sign powering up mid-frame costs only that frame), ETX ends, overlong or bad frames are dropped.
    The reference for firmware authors, and what the tests read the bus with."""

    def __init__(self) -> None:
        self._buf: bytearray | None = None  # None: waiting for STX
        self.dropped = 0

    def feed(self, data: bytes) -> list[Frame]:
        frames: list[Frame] = []
        for b in data:
            if b == STX:
                if self._buf:
                    self.dropped += 1
                self._buf = bytearray([STX])
            elif self._buf is None:
                continue  # noise between frames
            elif b == ETX:
                self._buf.append(ETX)
                try:
                    frames.append(decode_frame(bytes(self._buf)))
                except FrameError:
                    self.dropped += 1
                self._buf = None
            elif len(self._buf) >= MAX_FRAME - 1 or not 0x20 <= b <= 0x7E:
                self.dropped += 1
                self._buf = None
            else:
                self._buf.append(b)
        return frames


# -- signs -----------------------------------------------------------------------------------------


class Sign(Protocol):
    def show(self, text: str, blink: bool = False) -> None:
        """Show `text` ("" blanks the sign); `blink`: blink for a moment first. SignError if it failed."""

    def close(self) -> None: ...


class SerialBus:
    """One serial port (RS-485 through a USB adapter, usually) shared by every sign on it.

    `port` is a device or any pyserial URL (`/dev/ttyUSB0`, `rfc2217://host:port`, `loop://`), or an open
    serial object. Frames are written whole under a lock and drained before the next one, so an adapter
    that switches the RS-485 direction by itself never cuts one short. A port that fails (an unplugged
    adapter) is closed and opened again on a later send, at most every REOPEN_S.
    """

    REOPEN_S = 2.0

    def __init__(self, port: str | Any, baud: int = 9600) -> None:
        self.baud = baud
        self._lock = threading.Lock()
        self._next_try = 0.0
        self._failing = False
        if isinstance(port, str):
            self.url, self._port = port, None
        else:
            self.url, self._port = str(getattr(port, "port", None) or port), port
        self._own = isinstance(port, str)  # a port handed in is not ours to close or reopen

    def open(self) -> SerialBus:
        """Open the port now: a wrong device at start is a mistake to report, not to retry forever."""
        with self._lock:
            if self._port is None:
                self._port = self._open()
        return self

    def _open(self) -> Any:
        try:
            import serial
        except ImportError:
            raise SignError("pyserial is not installed (pip install pyserial, or the 'hardware' extra)") from None
        try:
            return serial.serial_for_url(self.url, baudrate=self.baud, bytesize=8, parity="N", stopbits=1,
                                         timeout=0, write_timeout=2)
        except (OSError, ValueError) as e:  # SerialException is an OSError
            raise SignError(f"cannot open {self.url}: {e}") from None

    def send(self, data: bytes) -> None:
        with self._lock:
            if self._port is None:
                if not self._own or time.monotonic() < self._next_try:
                    raise SignError(f"{self.url} is not open")
                try:
                    self._port = self._open()
                except SignError:
                    self._next_try = time.monotonic() + self.REOPEN_S
                    raise
                log.info("%s is open again", self.url)
            try:
                self._port.write(data)
                self._port.flush()
            except (OSError, ValueError) as e:  # ValueError: pyserial's "port not open"
                if not self._failing:
                    log.warning("cannot write to %s: %s; trying again", self.url, e)
                self._failing = True
                if self._own:
                    self._close_port()
                    self._next_try = time.monotonic() + self.REOPEN_S
                raise SignError(f"cannot write to {self.url}: {e}") from None
            if self._failing:
                log.info("writing to %s works again", self.url)
                self._failing = False

    def _close_port(self) -> None:
        try:
            if self._port is not None:
                self._port.close()
        except (OSError, ValueError):
            pass  # already gone with the adapter
        self._port = None

    def close(self) -> None:
        with self._lock:
            if self._own:
                self._close_port()


class SerialSign:
    """One sign on a shared bus, picked out by its address (1..254, set by DIP switches or firmware)."""

    def __init__(self, bus: SerialBus, address: int) -> None:
        if not 1 <= address <= 254:
            raise FrameError(f"a sign's address is 1..254 (got {address})")
        self.bus, self.address = bus, address

    def show(self, text: str, blink: bool = False) -> None:
        self.bus.send(encode_frame(self.address, CMD_BLINK if blink else CMD_SHOW, text))

    def close(self) -> None:
        pass  # the bus is shared: its owner closes it once, after every sign


# -- what each sign shows (pure) -------------------------------------------------------------------


@dataclass(frozen=True)
class SignView:
    text: str  # "" is a dark sign
    blink: bool = False  # this update is a new call or a recall


def sign_text(number: str) -> str:
    """A ticket number as a sign can show it: capitals, and '-' for a character no sign's font has.
    Numbers are `[A-Z]{0,3}` and digits (the office file says so); this only guards the wire."""
    return "".join(c if c in SIGN_CHARS else "-" for c in number.upper())[:MAX_TEXT]


def counter_text(view: CounterView | None) -> str:
    """What one counter's sign shows: its called number; dark when closed, idle or unknown to the hub.
    Private services (疼您櫃台) show the number too: it is on the citizen's ticket, nothing more is said."""
    if view is None or not view.open or not view.number:
        return ""
    return sign_text(view.number)


def counter_text_json(counter: Mapping[str, Any]) -> str:
    """The same, from the hub's counter JSON (GET /state `counters[]`, or a `counter` event's `counter`)."""
    return counter_text(parse_counter(dict(counter)))


def _latest_calls(board: BoardState) -> dict[str, tuple[int, str]]:
    """Per counter, the newest call the board knows of: (seq, ticket id)."""
    latest: dict[str, tuple[int, str]] = {}
    calls = ((board.hero,) if board.hero else ()) + board.recent
    for c in calls:
        key = (c.seq, c.ticket_id or c.number)
        if c.counter_id not in latest or key[0] > latest[c.counter_id][0]:
            latest[c.counter_id] = key
    return latest


@dataclass(frozen=True)
class SignsPicture:
    """What the signs show after one update, and what the next update compares with."""

    views: Mapping[str, SignView]
    offline: bool = False  # every sign shows OFFLINE_TEXT
    latest: Mapping[str, tuple[int, str]] | None = None  # newest call per counter; None: no picture yet


def picture(board: BoardState, counter_ids: Sequence[str], now: float,
            last: SignsPicture | None = None) -> SignsPicture:
    """What the sign of each counter in `counter_ids` shows, given the board (display/state.py) at `now`
    (epoch seconds) and the picture the signs showed `last`.

    Never a stale number: after OFFLINE_AFTER_S without the hub every sign shows OFFLINE_TEXT, and keeps
    it after the link is back until the new snapshot is in (the board's numbers are an outage old until
    then); before the first snapshot the signs stay dark. A counter whose newest call differs from the
    last picture's (a new call or a recall) blinks; the first picture, or the first after an outage,
    shows what was called earlier or while away, and blinks only for calls it had not shown."""
    offline = board.offline_for(now) >= OFFLINE_AFTER_S or bool(
        last is not None and last.offline and (board.resyncing or not board.connected))
    if offline:
        # Keep what was shown before the outage: calls made during it blink when the snapshot shows them.
        return SignsPicture({cid: SignView(OFFLINE_TEXT) for cid in counter_ids}, True,
                            last.latest if last is not None else None)
    if board.seq is None:
        return SignsPicture({cid: SignView("") for cid in counter_ids})
    counters = {c.id: c for c in board.counters}
    latest = _latest_calls(board)
    before = last.latest if last is not None else None
    views: dict[str, SignView] = {}
    for cid in counter_ids:
        view = counters.get(cid)
        text = counter_text(view)
        blink = (before is not None and bool(text) and cid in latest and latest[cid] != before.get(cid)
                 and view is not None and view.number is not None and sign_text(view.number) == text)
        views[cid] = SignView(text, blink)
    return SignsPicture(views, False, latest)


def sign_views(board: BoardState, counter_ids: Sequence[str], now: float,
               last: SignsPicture | None = None) -> dict[str, SignView]:
    """`picture(...).views`, for a caller that only wants the texts."""
    return dict(picture(board, counter_ids, now, last).views)


# -- the driver ------------------------------------------------------------------------------------


class SignDriver:
    """Pushes views to signs: on a change, on a blink, and every `refresh_s` to every sign (a sign that
    was switched off, or missed a frame to noise, catches up; its firmware blanks itself to "----" when
    it hears nothing for a while, which covers a driver that died). A failed sign is tried again on the
    next update; one log line per sign when it starts failing and when it recovers."""

    def __init__(self, signs: Sequence[tuple[str, Sign]], refresh_s: float = 20.0) -> None:
        self.signs = list(signs)
        self.refresh_s = refresh_s
        self._last: list[str | None] = [None] * len(self.signs)
        self._failing = [False] * len(self.signs)
        self._refreshed: float | None = None

    @property
    def counter_ids(self) -> list[str]:
        return list(dict.fromkeys(cid for cid, _ in self.signs))

    def update(self, views: Mapping[str, SignView], now: float) -> None:
        """`now`: a monotonic clock, for the refresh."""
        refresh = self._refreshed is None or now - self._refreshed >= self.refresh_s
        if refresh:
            self._refreshed = now
        for i, (cid, sign) in enumerate(self.signs):
            view = views.get(cid, SignView(""))
            if not (refresh or view.blink or view.text != self._last[i]):
                continue
            try:
                sign.show(view.text, view.blink)
            except (SignError, FrameError, OSError) as e:
                if not self._failing[i]:
                    log.warning("sign of counter %s: %s", cid, e)
                self._failing[i] = True
                self._last[i] = None  # unknown now: sent again on the next update
                continue
            if self._failing[i]:
                log.info("sign of counter %s works again", cid)
                self._failing[i] = False
            self._last[i] = view.text

    def show_all(self, text: str) -> None:
        """Every sign the same text, steadily, now (at exit: "----", so no number is left standing)."""
        for i, (cid, sign) in enumerate(self.signs):
            try:
                sign.show(text, False)
                self._last[i] = text
            except (SignError, FrameError, OSError) as e:
                log.warning("sign of counter %s: %s", cid, e)

    def close(self) -> None:
        for _, sign in self.signs:
            try:
                sign.close()
            except (SignError, OSError) as e:
                log.debug("closing a sign: %s", e)
