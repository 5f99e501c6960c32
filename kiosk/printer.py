"""Printers behind one small protocol: `status()` before a ticket is issued, `print_ticket(image)` after.

Every printer gets the same bytes, built once with python-escpos's Dummy: ESC @, the ticket as
`GS v 0` raster, a feed and a cut. SPEC strings (CONTRACT.md): `usb:VID:PID`, `net:HOST[:PORT]`,
`serial:DEVICE[:BAUD]`, `file:PATH`, and for tests and demos `sim:[PATH]`, a printer that can be told
to fail. The usb, net and serial drivers are imported only when such a printer is opened.
"""

from __future__ import annotations

import logging
import os
import threading
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from PIL import Image

from server.wire.errors import FixableError

log = logging.getLogger("jiaohao.kiosk.printer")

PROFILE = "TM-T20II"  # any profile with a media width and a cut; the ticket is an image anyway
INIT = b"\x1b@"
DLE_EOT = b"\x10\x04"
SIM_FAULTS = ("paper_out", "offline", "cover_open", "near_end", "fail_print", "fail_print_once")


class PrinterStatus(StrEnum):
    OK = "ok"
    NEAR_END = "near_end"  # paper near its end: still prints
    PAPER_OUT = "paper_out"
    OFFLINE = "offline"  # not answering, cover open, or in an error state

    @property
    def can_print(self) -> bool:
        return self in (PrinterStatus.OK, PrinterStatus.NEAR_END)


class PrintError(Exception):
    """The ticket did not come out (or not completely)."""


class PrinterSpecError(FixableError, ValueError):
    """A printer SPEC that cannot be used; str() is one line for the person."""


class Printer(Protocol):
    spec: str

    def status(self) -> PrinterStatus: ...

    def print_ticket(self, image: Image.Image) -> None: ...

    def close(self) -> None: ...


def ticket_bytes(image: Image.Image) -> bytes:
    """The raw ESC/POS of one ticket: what a `file:` printer appends and what real printers receive."""
    from escpos.printer import Dummy

    d = Dummy(profile=PROFILE)
    d._raw(INIT)  # start from a known state: no alignment or mode left over from anyone else
    d.image(image, impl="bitImageRaster", center=False)
    d.cut()
    return bytes(d.output)


def parse_spec(spec: str) -> tuple[str, list[str]]:
    kind, sep, rest = spec.partition(":")
    usage = "printer SPEC must be usb:VID:PID, net:HOST[:PORT], serial:DEVICE[:BAUD], file:PATH or sim:[PATH]"
    if kind == "usb":
        parts = rest.split(":")
        if len(parts) != 2 or not all(_is_hex16(p) for p in parts):
            raise PrinterSpecError(f"{spec!r}: usb needs hexadecimal vendor and product ids, e.g. usb:0416:5011")
        return kind, parts
    if kind == "net":
        host, _, port = rest.partition(":")
        if not host:
            raise PrinterSpecError(f"{spec!r}: net needs a host, e.g. net:192.168.1.50 or net:192.168.1.50:9100")
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            raise PrinterSpecError(f"{spec!r}: the port must be a number from 1 to 65535")
        return kind, [host, port or "9100"]
    if kind == "serial":
        dev, baud = rest, "9600"
        head, _, tail = rest.rpartition(":")
        if head and tail.isdigit():
            dev, baud = head, tail
        if not dev:
            raise PrinterSpecError(f"{spec!r}: serial needs a device, e.g. serial:/dev/ttyUSB0:9600")
        return kind, [dev, baud]
    if kind == "file":
        if not rest:
            raise PrinterSpecError(f"{spec!r}: file needs a path, e.g. file:/tmp/tickets.bin")
        return kind, [rest]
    if kind == "sim" and sep:
        return kind, [rest]
    raise PrinterSpecError(f"{spec!r}: {usage}")


def _is_hex16(s: str) -> bool:
    try:
        return 0 <= int(s, 16) <= 0xFFFF and len(s) <= 6
    except ValueError:
        return False


def open_printer(spec: str) -> Printer:
    kind, args = parse_spec(spec)
    if kind == "file":
        return FilePrinter(spec, Path(args[0]))
    if kind == "sim":
        return SimulatedPrinter(spec, Path(args[0]) if args[0] else None)
    return EscposPrinter(spec, kind, args)


class FilePrinter:
    """Raw ESC/POS appended to a file (or a device node such as /dev/usb/lp0): it cannot report paper."""

    def __init__(self, spec: str, path: Path) -> None:
        self.spec, self.path = spec, path

    def status(self) -> PrinterStatus:
        # A file answers no status query; what can be known is whether the bytes have somewhere to go.
        target = self.path if self.path.exists() else self.path.parent
        return PrinterStatus.OK if os.access(target, os.W_OK) else PrinterStatus.OFFLINE

    def print_ticket(self, image: Image.Image) -> None:
        data = ticket_bytes(image)
        try:
            with open(self.path, "ab") as f:
                f.write(data)
                f.flush()
        except OSError as e:
            raise PrintError(f"cannot write to {self.path}: {e}") from e

    def close(self) -> None:
        pass


class SimulatedPrinter:
    """A printer that misbehaves on purpose, for tests and demos.

    The fault is `self.fault` (set by tests), or else the first word of the file `PATH.fault`
    (so that a demo can run out of paper with `echo paper_out > tickets.bin.fault`).
    Tickets it prints are kept in `self.printed` and appended to PATH when there is one.
    """

    def __init__(self, spec: str = "sim:", path: Path | None = None, fault: str | None = None) -> None:
        if fault is not None and fault not in SIM_FAULTS:
            raise PrinterSpecError(f"unknown simulated fault {fault!r} (known: {', '.join(SIM_FAULTS)})")
        self.spec, self.path = spec, path
        self._fault = fault
        self.printed: list[bytes] = []
        self.attempts = 0
        self.lock = threading.Lock()

    @property
    def fault(self) -> str | None:
        if self._fault is not None:
            return self._fault
        if self.path is not None:
            control = self.path.with_name(self.path.name + ".fault")
            try:
                word = control.read_text("utf-8").split()
            except OSError:
                return None
            return word[0] if word and word[0] in SIM_FAULTS else None
        return None

    @fault.setter
    def fault(self, value: str | None) -> None:
        if value is not None and value not in SIM_FAULTS:
            raise PrinterSpecError(f"unknown simulated fault {value!r} (known: {', '.join(SIM_FAULTS)})")
        self._fault = value

    def status(self) -> PrinterStatus:
        fault = self.fault
        if fault in ("paper_out", "offline", "near_end"):
            return PrinterStatus(fault)
        if fault == "cover_open":  # a real printer says so only as "offline" (DLE EOT 1 bit 3)
            return PrinterStatus.OFFLINE
        return PrinterStatus.OK

    def print_ticket(self, image: Image.Image) -> None:
        with self.lock:
            self.attempts += 1
            fault = self.fault
            if fault == "fail_print_once":
                self._fault = None
                raise PrintError("simulated print failure (once)")
            if fault in ("fail_print", "paper_out", "offline", "cover_open"):
                raise PrintError(f"simulated print failure ({fault})")
            data = ticket_bytes(image)
            self.printed.append(data)
            if self.path is not None:
                with open(self.path, "ab") as f:
                    f.write(data)

    def close(self) -> None:
        pass


def parse_online(byte: int) -> PrinterStatus:
    """DLE EOT 1 (printer status): bit 3 set = offline (cover open, paper out, error)."""
    return PrinterStatus.OFFLINE if byte & 0x08 else PrinterStatus.OK


def parse_paper(byte: int) -> PrinterStatus:
    """DLE EOT 4 (roll paper sensor): bits 5-6 = paper end, bits 2-3 = near end (Epson layout)."""
    if byte & 0x60:
        return PrinterStatus.PAPER_OUT
    if byte & 0x0C:
        return PrinterStatus.NEAR_END
    return PrinterStatus.OK


def _valid_status_byte(byte: int) -> bool:
    # Every DLE EOT reply has the fixed bits 0xx1xx10: anything else is not an answer to our question.
    return byte & 0x93 == 0x12


class EscposPrinter:
    """A real printer on USB, the network or a serial port, through python-escpos's drivers.

    Status is read with our own DLE EOT handling: python-escpos's paper_status() reports "plenty
    of paper" when the printer says nothing at all, and a silent printer must not look healthy.
    """

    def __init__(self, spec: str, kind: str, args: list[str]) -> None:
        self.spec, self.kind, self.args = spec, kind, args
        # How long a silent printer is waited for, per read or connect; set before the first status().
        self.timeout_s = 2.0 if kind == "serial" else 5.0
        self._driver: Any = None
        self.lock = threading.Lock()
        self._check_driver_installed()

    def _check_driver_installed(self) -> None:
        module = {"usb": "usb.core", "serial": "serial"}.get(self.kind)
        if module is None:
            return
        import importlib

        try:
            importlib.import_module(module)
        except ImportError:
            package = {"usb": "pyusb", "serial": "pyserial"}[self.kind]
            raise PrinterSpecError(f"{self.spec!r}: {self.kind} printers need {package}: "
                                   f"pip install 'jiaohao[hardware]'") from None

    def _open(self) -> Any:
        if self._driver is not None:
            return self._driver
        if self.kind == "net":
            from escpos.printer import Network

            drv = Network(self.args[0], port=int(self.args[1]), timeout=self.timeout_s, profile=PROFILE)
        elif self.kind == "usb":
            from escpos.printer import Usb

            drv = Usb(int(self.args[0], 16), int(self.args[1], 16), timeout=round(self.timeout_s * 1000),
                      profile=PROFILE)
        else:
            from escpos.printer import Serial

            drv = Serial(devfile=self.args[0], baudrate=int(self.args[1]), timeout=self.timeout_s, profile=PROFILE)
        drv.open()
        self._driver = drv
        return drv

    def _reset(self) -> None:
        # python-escpos never reopens a device that failed once: start again with a new driver.
        drv, self._driver = self._driver, None
        if drv is not None:
            try:
                drv.close()
            except Exception:  # closing a broken connection may fail too; nothing to do about it
                log.debug("closing %s failed", self.spec, exc_info=True)
                # python-escpos's Serial.close() flushes first, which fails on a port that is gone, and
                # would fail again in its __del__: close the port itself, which never flushes.
                port = getattr(drv, "_device", None)
                if port:
                    try:
                        port.close()
                    except Exception:
                        log.debug("closing the port of %s failed", self.spec, exc_info=True)

    def _drain(self, drv: Any) -> None:
        """Throws away bytes nobody is waiting for (a late answer to an earlier query, which would
        otherwise be read as the answer to the next one); raises ConnectionError if the printer has
        closed the connection (network printers drop an idle one after a minute or two)."""
        if self.kind == "net":
            sock = drv.device
            timeout = sock.gettimeout()
            sock.setblocking(False)  # MSG_DONTWAIT alone is not enough: Python waits out a socket's timeout
            try:
                while True:
                    try:
                        chunk = sock.recv(64)
                    except (BlockingIOError, InterruptedError):
                        return
                    if not chunk:
                        raise ConnectionError("the printer closed the connection")
            finally:
                sock.settimeout(timeout)
        elif self.kind == "serial":
            try:
                drv.device.reset_input_buffer()
            except Exception as e:  # termios.error, not an OSError: the adapter was unplugged or replaced
                raise ConnectionError(f"the serial port is gone ({e})") from e

    def _read_reply(self, drv: Any) -> bytes:
        # One byte is the whole answer to DLE EOT. python-escpos's _read() asks a serial port for 16 and
        # so always waited out the whole read timeout; a socket's recv(1) returns as soon as it has one.
        if self.kind == "serial":
            return bytes(drv.device.read(1))
        if self.kind == "net":
            reply = drv.device.recv(1)
            if not reply:
                raise ConnectionError("the printer closed the connection")
            return bytes(reply)
        return bytes(drv._read() or b"")

    def _query(self, drv: Any, n: int) -> int | None:
        drv._raw(DLE_EOT + bytes([n]))
        reply = self._read_reply(drv)
        return reply[-1] if reply and _valid_status_byte(reply[-1]) else None

    def _ask(self) -> tuple[int | None, int | None]:
        """(DLE EOT 1, DLE EOT 4) replies; an old connection that turns out dead is replaced once."""
        reused = self._driver is not None
        try:
            drv = self._open()
            self._drain(drv)
            online = self._query(drv, 1)
            return online, (self._query(drv, 4) if online is not None else None)
        except TimeoutError:
            raise  # a printer that is there and silent: asking again would only double the wait
        except Exception as e:
            if not reused:
                raise
            # The printer was restarted, or closed the idle connection: that is not "offline".
            log.info("%s: the connection was lost (%s); opening a new one", self.spec, e)
            self._reset()
        drv = self._open()
        online = self._query(drv, 1)
        return online, (self._query(drv, 4) if online is not None else None)

    def status(self) -> PrinterStatus:
        with self.lock:
            try:
                online, paper = self._ask()
                if online is None:
                    log.warning("%s: no answer to the status query", self.spec)
                    self._reset()
                    return PrinterStatus.OFFLINE
            except Exception as e:  # socket timeout, USB not found, serial gone: all mean "cannot print"
                log.warning("%s: status failed: %s", self.spec, e)
                self._reset()
                return PrinterStatus.OFFLINE
            paper_status = parse_paper(paper) if paper is not None else PrinterStatus.OK
            if paper_status == PrinterStatus.PAPER_OUT:
                return paper_status
            if parse_online(online) == PrinterStatus.OFFLINE:
                return PrinterStatus.OFFLINE
            return paper_status

    def print_ticket(self, image: Image.Image) -> None:
        data = ticket_bytes(image)
        with self.lock:
            try:
                drv = self._open()
                try:
                    self._drain(drv)
                except ConnectionError:  # closed while idle: a ticket sent there would vanish unprinted
                    self._reset()
                    drv = self._open()
                drv._raw(data)
            except Exception as e:
                self._reset()
                raise PrintError(f"{self.spec}: {e}") from e

    def close(self) -> None:
        with self.lock:
            self._reset()
