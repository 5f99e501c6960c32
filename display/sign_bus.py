"""LED signs on a serial bus (issue #4, docs/signs.md): the `Sign` interface, the shared `SerialBus` and
one `SerialSign` per address. pyserial is imported only when a port opens; the simulated sign that draws
PNGs instead is display/dotmatrix.py.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Protocol

from .sign_frame import CMD_BLINK, CMD_SHOW, FrameError, encode_frame

log = logging.getLogger("jiaohao.signs")


class SignError(Exception):
    """A sign could not be told what to show (port gone, disk full); the driver tries again."""


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
