"""One printer contract, run against every printer backend, the way gpiozero runs tests/test_real_pins.py
against every pin factory (shared/reference/style.md §2.4, §7.7).

Backends: `file:` (a temp file), `net:` (a TCP printer on 127.0.0.1 written here, answering ESC/POS
real-time status queries DLE EOT n like an Epson TM), `serial:` (the same printer on the far end of a
pty), `sim:` (the simulated printer, told its faults through its control file), and `usb:` when
JIAOHAO_TEST_PRINTER=usb:VID:PID names a real printer (skipped otherwise, with that reason).

Every backend gets the same tests. What a backend cannot know is in BLIND, with what it reports instead,
and that is asserted too: a file has no paper sensor, so "paper out" on a file printer reads "ok".
"""

from __future__ import annotations

import fcntl
import os
import select
import shutil
import socket
import threading
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageChops
from test_kiosk_image import URL, expected_qr, ticket

from kiosk.escpos_decode import decode, qr_modules
from kiosk.printer import EscposPrinter, Printer, PrinterStatus, open_printer, ticket_bytes
from kiosk.ticket_image import render_ticket

BACKENDS = ("file", "net", "serial", "sim", "usb")

# What the printer is in. "offline": answers, and says it is offline (an error state). "silent": there,
# but answers nothing (hung, or the wrong baud rate). "gone": the connection itself is refused or lost.
CONDITIONS = ("ok", "near_end", "paper_out", "cover_open", "offline", "silent", "gone")
EXPECTED = {
    "ok": PrinterStatus.OK,
    "near_end": PrinterStatus.NEAR_END,  # still prints
    "paper_out": PrinterStatus.PAPER_OUT,
    "cover_open": PrinterStatus.OFFLINE,  # ESC/POS reports a cover open as offline (DLE EOT 1 bit 3)
    "offline": PrinterStatus.OFFLINE,
    "silent": PrinterStatus.OFFLINE,  # python-escpos alone would say "paper adequate" here
    "gone": PrinterStatus.OFFLINE,
}
# What each backend cannot be told, and what it honestly reports instead.
BLIND: dict[str, dict[str, PrinterStatus]] = {
    # A file (or /dev/usb/lp0) answers no status query: all it can know is whether the bytes have somewhere
    # to go ("gone": its directory is missing). Paper, cover and a hung printer are invisible to it.
    "file": {"near_end": PrinterStatus.OK, "paper_out": PrinterStatus.OK, "cover_open": PrinterStatus.OK,
             "offline": PrinterStatus.OK, "silent": PrinterStatus.OK},
    # The simulated printer has no wire, so it cannot fall silent; its "offline" fault stands for it.
    "sim": {},
    "net": {},
    "serial": {},
}
SIM_FAULT = {"near_end": "near_end", "paper_out": "paper_out", "cover_open": "cover_open",
             "offline": "offline", "silent": "offline", "gone": "offline"}


# -- the printer on the other end of the wire ----------------------------------------------------------

class EscposPeer:
    """What a printer does with the bytes: keeps them, and answers DLE EOT n at once, as Epson's
    real-time commands are. Raster data (GS v 0) is skipped whole, so a 0x10 0x04 inside an image is
    not taken for a query, as a printer's parser does it."""

    def __init__(self) -> None:
        self.condition = "ok"
        self.received = bytearray()
        self.changed = threading.Condition()
        self._buf = b""
        self._skip = 0  # raster bytes still to come

    def status_byte(self, n: int) -> int:
        c = self.condition
        byte = 0x12  # the fixed bits of every DLE EOT reply
        if n == 1 and c in ("paper_out", "cover_open", "offline"):
            byte |= 0x08  # offline
        elif n == 2:
            byte |= {"cover_open": 0x04, "paper_out": 0x20, "offline": 0x40}.get(c, 0)
        elif n == 4 and c == "near_end":
            byte |= 0x0C  # near-end sensor
        elif n == 4 and c == "paper_out":
            byte |= 0x6C  # both sensors: no paper at the end, nor near it
        return byte

    def feed(self, data: bytes) -> bytes:
        """Takes what came over the wire; returns what the printer sends back."""
        with self.changed:
            self.received += data
            self.changed.notify_all()
        buf, i, reply = self._buf + data, 0, bytearray()
        while i < len(buf):
            if self._skip:
                n = min(self._skip, len(buf) - i)
                self._skip -= n
                i += n
            elif buf[i] in (0x1D, 0x10) and len(buf) - i < 3:
                break  # a command cut in two by the transport: wait for the rest
            elif buf.startswith(b"\x1dv0", i):
                if len(buf) - i < 8:
                    break
                self._skip = (buf[i + 4] + 256 * buf[i + 5]) * (buf[i + 6] + 256 * buf[i + 7])
                i += 8
            elif buf.startswith(b"\x10\x04", i):
                if self.condition != "silent":
                    reply.append(self.status_byte(buf[i + 2]))
                i += 3
            else:
                i += 1
        self._buf = buf[i:]
        return bytes(reply)

    def bytes_after(self, start: int, n: int) -> bytes:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.received) >= start + n, timeout=15), \
                f"the printer got {len(self.received) - start} of {n} bytes"
            return bytes(self.received[start:])


class TcpPrinter:
    """A network printer on 127.0.0.1 (port 9100 on a real one)."""

    def __init__(self) -> None:
        self.peer = EscposPeer()
        self.port = 0
        self._conns: list[socket.socket] = []
        self._listen()

    def _listen(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, args=(self.sock,), name="tcp-printer", daemon=True).start()

    def _accept(self, sock: socket.socket) -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), name="tcp-printer-conn", daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            while data := conn.recv(65536):
                if answer := self.peer.feed(data):
                    conn.sendall(answer)
        except OSError:
            pass
        finally:
            conn.close()

    def drop_connections(self) -> None:
        """What a network printer does to a connection left idle, or when it restarts."""
        for conn in self._conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._conns.clear()

    def go(self) -> None:
        self.drop_connections()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        except OSError:
            pass
        self.sock.close()

    def come_back(self) -> None:
        self._listen()


class PtyPrinter:
    """A serial printer: the far end of a pty, behind a stable path (a symlink, as udev makes
    /dev/serial/by-id/...), so that unplugging and plugging in again can be played."""

    def __init__(self, path: Path) -> None:
        self.path, self.peer = path, EscposPeer()
        self._plug()

    def _plug(self) -> None:
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)  # pyserial sets raw mode too; until it opens, nothing must be echoed
        if self.path.is_symlink():
            self.path.unlink()
        self.path.symlink_to(os.ttyname(self._slave))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(self.master, self._stop), name="pty-printer",
                                        daemon=True)
        self._thread.start()

    def _serve(self, master: int, stop: threading.Event) -> None:
        # Our own slave fd stays open, so the master never reads EIO between the driver's opens.
        while not stop.is_set():
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if answer := self.peer.feed(data):
                os.write(master, answer)

    def unplug(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        os.close(self.master)
        os.close(self._slave)
        self.path.unlink()

    def replug(self) -> None:
        """A new tty behind the same path: the driver's open port is dead and must be opened again."""
        self.unplug()
        self._plug()


# -- one rig per backend: the printer under test, and how to tell it what to be -------------------------

class Rig:
    backend: str
    printer: Printer

    def set(self, condition: str) -> None:
        raise NotImplementedError

    def mark(self) -> int:
        """Where the next ticket's bytes will start."""
        raise NotImplementedError

    def bytes_since(self, start: int, n: int) -> bytes:
        raise NotImplementedError

    def drop(self) -> None:
        """The connection is lost while the printer itself is fine (no-op where there is no connection)."""

    def close(self) -> None:
        self.printer.close()


class FileRig(Rig):
    backend = "file"

    def __init__(self, tmp: Path) -> None:
        self.dir = tmp / "spool"
        self.dir.mkdir()
        self.path = self.dir / "tickets.bin"
        self.printer = open_printer(f"file:{self.path}")

    def set(self, condition: str) -> None:
        if condition == "gone":
            shutil.rmtree(self.dir)  # the USB stick or the lp device node is gone
        elif not self.dir.exists():
            self.dir.mkdir()

    def mark(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0

    def bytes_since(self, start: int, n: int) -> bytes:
        return self.path.read_bytes()[start:]


class SimRig(Rig):
    backend = "sim"

    def __init__(self, tmp: Path) -> None:
        self.path = tmp / "sim.bin"
        self.printer = open_printer(f"sim:{self.path}")

    def set(self, condition: str) -> None:
        control = self.path.with_name(self.path.name + ".fault")  # as `jiaohao up` is told, by hand
        if condition == "ok":
            control.unlink(missing_ok=True)
        else:
            control.write_text(SIM_FAULT[condition] + "\n")

    def mark(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0

    def bytes_since(self, start: int, n: int) -> bytes:
        return self.path.read_bytes()[start:]


class WireRig(Rig):
    """net: and serial: share the printer; only the wire differs."""

    peer: EscposPeer

    def set(self, condition: str) -> None:
        self.peer.condition = condition if condition != "gone" else "ok"
        if condition == "gone":
            self._go()
        elif self._gone:
            self._come_back()
        self._gone = condition == "gone"

    def mark(self) -> int:
        return len(self.peer.received)

    def bytes_since(self, start: int, n: int) -> bytes:
        return self.peer.bytes_after(start, n)


class NetRig(WireRig):
    backend = "net"

    def __init__(self, tmp: Path) -> None:
        self.fake = TcpPrinter()
        self.peer, self._gone = self.fake.peer, False
        self.printer = open_printer(f"net:127.0.0.1:{self.fake.port}")
        assert isinstance(self.printer, EscposPrinter)
        self.printer.timeout_s = 1.5  # a silent printer: not a real one's 5 s; an answering one is far quicker

    def _go(self) -> None:
        self.fake.go()

    def _come_back(self) -> None:
        self.fake.come_back()

    def drop(self) -> None:
        self.fake.drop_connections()

    def close(self) -> None:
        super().close()
        self.fake.go()


class SerialRig(WireRig):
    backend = "serial"

    def __init__(self, tmp: Path) -> None:
        self.fake = PtyPrinter(tmp / "ttyPRINTER")
        self.peer, self._gone = self.fake.peer, False
        self.printer = open_printer(f"serial:{self.fake.path}:19200")
        assert isinstance(self.printer, EscposPrinter)
        self.printer.timeout_s = 1.5

    def _go(self) -> None:
        self.fake.unplug()

    def _come_back(self) -> None:
        self.fake._plug()

    def drop(self) -> None:
        self.fake.replug()

    def close(self) -> None:
        super().close()
        if not self._gone:
            self.fake.unplug()


class UsbRig(Rig):
    """A real printer: it prints, and says what state it is in; it cannot be told to run out of paper."""

    backend = "usb"

    def __init__(self, spec: str) -> None:
        self.printer = open_printer(spec)

    def set(self, condition: str) -> None:
        if condition != "ok":
            pytest.skip(f"a real printer is not put in {condition!r} by a test: try it by hand")

    def mark(self) -> int:
        return 0

    def bytes_since(self, start: int, n: int) -> bytes:
        pytest.skip("a USB printer's bytes cannot be read back: the ticket is on the paper, look at it")


@pytest.fixture(params=BACKENDS)
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    backend = request.param
    if backend == "usb":
        spec = os.environ.get("JIAOHAO_TEST_PRINTER", "")
        if not spec.startswith("usb:"):
            pytest.skip("no real printer: set JIAOHAO_TEST_PRINTER=usb:VID:PID to run the contract on one")
        pytest.importorskip("usb.core", reason="usb printers need pyusb (pip install 'jiaohao[hardware]')")
        # One test run at a time on the real printer (gpiozero's test_real_pins.py lock, for paper).
        lock = open("/tmp/jiaohao-test-printer.lock", "w")  # noqa: SIM115 - held for the whole test
        fcntl.flock(lock, fcntl.LOCK_EX)
        made: Rig = UsbRig(spec)
    else:
        made = {"file": FileRig, "net": NetRig, "serial": SerialRig, "sim": SimRig}[backend](tmp_path)
    try:
        yield made
    finally:
        made.close()
        if backend == "usb":
            lock.close()


# -- the contract ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tickets() -> tuple[Image.Image, Image.Image]:
    """The ticket for B023, and one that differs only in its number."""
    return render_ticket(ticket(number="B023"), 576), render_ticket(ticket(number="B024"), 576)


def same(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and ImageChops.difference(a.convert("L"), b.convert("L")).getbbox() is None


def print_and_read_back(rig: Rig, image: Image.Image) -> bytes:
    start = rig.mark()
    rig.printer.print_ticket(image)
    return rig.bytes_since(start, len(ticket_bytes(image)))


def assert_is_the_ticket(raw: bytes, image: Image.Image, other: Image.Image) -> None:
    assert raw == ticket_bytes(image)  # byte for byte what every other backend gets
    d = decode(raw)
    assert "unknown" not in [e[0] for e in d.events]
    assert len(d.tickets) == 1
    paper = d.tickets[0]
    assert paper.cut and [e[0] for e in paper.events][-2:] == ["feed", "cut"]  # cut after the whole ticket
    assert same(paper.image, image) and not same(paper.image, other)  # B023, not B024
    assert qr_modules(paper.image) == expected_qr(URL)  # the phone link a scanner would read


def test_a_ticket_comes_out_as_it_was_drawn(rig: Rig, tickets: tuple[Image.Image, Image.Image]) -> None:
    assert rig.printer.status() == PrinterStatus.OK
    assert_is_the_ticket(print_and_read_back(rig, tickets[0]), *tickets)


@pytest.mark.parametrize("condition", CONDITIONS)
def test_status_says_what_the_printer_is_in_and_heals(rig: Rig, condition: str,
                                                      tickets: tuple[Image.Image, Image.Image]) -> None:
    blind = BLIND.get(rig.backend, {})
    rig.set(condition)
    if condition in blind:
        assert rig.printer.status() == blind[condition]  # this backend cannot know; it says so honestly
    else:
        assert rig.printer.status() == EXPECTED[condition]
    rig.set("ok")
    assert rig.printer.status() == PrinterStatus.OK  # no restart of the kiosk needed
    assert_is_the_ticket(print_and_read_back(rig, tickets[0]), *tickets)


def test_a_lost_connection_is_opened_again_without_a_fault(rig: Rig,
                                                           tickets: tuple[Image.Image, Image.Image]) -> None:
    # A network printer closes a connection left idle; a USB-serial adapter is replugged. The printer
    # is fine, so the kiosk must not show a fault for it, nor send a ticket into the dead connection.
    assert rig.printer.status() == PrinterStatus.OK
    rig.drop()
    assert rig.printer.status() == PrinterStatus.OK
    rig.drop()
    assert_is_the_ticket(print_and_read_back(rig, tickets[0]), *tickets)


def test_a_late_answer_is_not_taken_for_the_next_one(rig: Rig) -> None:
    if not isinstance(rig, WireRig):
        pytest.skip(f"{rig.backend}: no wire, no answers to mix up")
    # An answer to a query nobody waits for any more (it came after the read timed out) sits in the
    # input. Read as the reply to the next query, a cover-open printer would look merely near its end.
    rig.set("ok")
    assert rig.printer.status() == PrinterStatus.OK
    rig.set("cover_open")
    stale = bytes([rig.peer.status_byte(1) & ~0x08, 0x12])  # "online", "paper fine": from before
    if isinstance(rig, NetRig):
        rig.fake._conns[-1].sendall(stale)
    else:
        assert isinstance(rig, SerialRig)
        os.write(rig.fake.master, stale)
    port = rig.printer._driver.device  # type: ignore[attr-defined]  # the socket or the pyserial port
    assert select.select([port], [], [], 10)[0], "the stale answer never reached the driver"
    assert rig.printer.status() == PrinterStatus.OFFLINE
