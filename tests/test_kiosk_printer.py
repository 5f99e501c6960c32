"""Printers and the decoder: SPECs, raw bytes, DLE EOT status from a fake network printer, round trips."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops

from kiosk.escpos_decode import DecodeError, decode
from kiosk.printer import (
    EscposPrinter,
    FilePrinter,
    PrintError,
    PrinterSpecError,
    PrinterStatus,
    SimulatedPrinter,
    open_printer,
    parse_spec,
    ticket_bytes,
)


def same(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and ImageChops.difference(a.convert("L"), b.convert("L")).getbbox() is None


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("usb:0416:5011", ("usb", ["0416", "5011"])),
        ("net:192.168.1.50", ("net", ["192.168.1.50", "9100"])),
        ("net:printer.local:9101", ("net", ["printer.local", "9101"])),
        ("serial:/dev/ttyUSB0", ("serial", ["/dev/ttyUSB0", "9600"])),
        ("serial:/dev/ttyUSB0:19200", ("serial", ["/dev/ttyUSB0", "19200"])),
        ("file:/tmp/t.bin", ("file", ["/tmp/t.bin"])),
        ("sim:", ("sim", [""])),
    ],
)
def test_specs(spec: str, parsed: tuple) -> None:
    assert parse_spec(spec) == parsed


@pytest.mark.parametrize("spec", ["usb:0416", "usb:zz:11", "net:", "net:host:99999", "file:", "lpt:1", "", "sim"])
def test_bad_specs_say_what_is_wrong(spec: str) -> None:
    with pytest.raises(PrinterSpecError) as e:
        parse_spec(spec)
    assert repr(spec) in str(e.value) and "\n" not in str(e.value)


def test_ticket_bytes_are_init_raster_feed_cut() -> None:
    img = Image.new("1", (384, 1500), 1)
    ImageDraw_rect(img)
    data = ticket_bytes(img)
    d = decode(data)
    kinds = [e[0] for e in d.events]
    assert kinds[0] == "init" and kinds[-2:] == ["feed", "cut"]
    assert kinds.count("raster") == 2  # python-escpos sends tall images in 960-row fragments
    assert "unknown" not in kinds
    assert len(d.tickets) == 1 and d.tickets[0].cut
    assert same(d.tickets[0].image, img)


def ImageDraw_rect(img: Image.Image) -> None:  # noqa: N802 - a drawing helper, named for what it does
    from PIL import ImageDraw

    ImageDraw.Draw(img).rectangle((10, 10, 100, 1400), fill=0)
    ImageDraw.Draw(img).ellipse((150, 900, 300, 1100), fill=0)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 40), st.integers(1, 60), st.binary(min_size=40 * 60, max_size=40 * 60))
def test_decoder_round_trip_is_pixel_identical(wbytes: int, height: int, noise: bytes) -> None:
    img = Image.frombytes("1", (wbytes * 8, height), noise[: wbytes * height])
    d = decode(ticket_bytes(img))
    assert same(d.tickets[0].image, img)


def test_decoder_refuses_truncated_rasters() -> None:
    data = ticket_bytes(Image.new("1", (64, 64), 0))
    with pytest.raises(DecodeError, match="truncated raster"):
        decode(data[:100])


def test_two_tickets_in_one_file_are_two_pieces_of_paper(tmp_path: Path) -> None:
    p = open_printer(f"file:{tmp_path}/out.bin")
    assert isinstance(p, FilePrinter) and p.status() == PrinterStatus.OK
    a, b = Image.new("1", (576, 50), 1), Image.new("1", (576, 70), 0)
    p.print_ticket(a)
    p.print_ticket(b)
    d = decode((tmp_path / "out.bin").read_bytes())
    assert [t.image.size for t in d.tickets] == [(576, 50), (576, 70)]
    assert same(d.tickets[1].image, b) and all(t.cut for t in d.tickets)


def test_file_printer_in_a_missing_directory_is_offline(tmp_path: Path) -> None:
    p = open_printer(f"file:{tmp_path}/no/such/dir/out.bin")
    assert p.status() == PrinterStatus.OFFLINE
    with pytest.raises(PrintError):
        p.print_ticket(Image.new("1", (384, 8), 1))


def test_simulated_printer_faults_from_a_control_file(tmp_path: Path) -> None:
    p = open_printer(f"sim:{tmp_path}/t.bin")
    assert isinstance(p, SimulatedPrinter) and p.status() == PrinterStatus.OK
    (tmp_path / "t.bin.fault").write_text("paper_out\n")
    assert p.status() == PrinterStatus.PAPER_OUT
    with pytest.raises(PrintError):
        p.print_ticket(Image.new("1", (384, 8), 1))
    (tmp_path / "t.bin.fault").write_text("near_end")
    assert p.status() == PrinterStatus.NEAR_END
    p.print_ticket(Image.new("1", (384, 8), 1))
    assert len(decode((tmp_path / "t.bin").read_bytes()).tickets) == 1


class FakeNetworkPrinter:
    """A printer on loopback that answers DLE EOT like an Epson, or says nothing at all."""

    def __init__(self, online: int | None = 0x12, paper: int | None = 0x12, port: int = 0) -> None:
        self.online, self.paper = online, paper
        self.received = bytearray()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.got_data = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._conn, args=(conn,), daemon=True).start()

    def _conn(self, conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(65536):
                self.received += data
                self.got_data.set()
                i = data.find(b"\x10\x04")
                while i != -1 and i + 2 < len(data):
                    answer = self.paper if data[i + 2] == 4 else self.online
                    if answer is not None:
                        conn.sendall(bytes([answer]))
                    i = data.find(b"\x10\x04", i + 3)

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(), or the port stays open
        except OSError:
            pass
        self.sock.close()


@pytest.mark.parametrize(
    ("online", "paper", "expected"),
    [
        (0x12, 0x12, PrinterStatus.OK),
        (0x12, 0x1E, PrinterStatus.NEAR_END),
        (0x1A, 0x72, PrinterStatus.PAPER_OUT),  # paper end also takes the printer offline
        (0x1A, 0x12, PrinterStatus.OFFLINE),  # cover open
        (None, None, PrinterStatus.OFFLINE),  # silent: python-escpos would say "paper adequate"
        (0xFF, 0x12, PrinterStatus.OFFLINE),  # garbage is not an answer
    ],
)
def test_network_printer_status(online, paper, expected) -> None:
    fake = FakeNetworkPrinter(online, paper)
    p = open_printer(f"net:127.0.0.1:{fake.port}")
    assert isinstance(p, EscposPrinter)
    if online is None:
        p._open().device.settimeout(0.5)  # a silent printer: do not wait the full 5 s socket timeout
    try:
        assert p.status() == expected
    finally:
        p.close()
        fake.close()


def test_network_printer_receives_the_same_bytes_as_a_file(tmp_path: Path) -> None:
    fake = FakeNetworkPrinter()
    p = open_printer(f"net:127.0.0.1:{fake.port}")
    img = Image.new("1", (576, 40), 1)
    try:
        p.print_ticket(img)
        expected = ticket_bytes(img)
        assert fake.got_data.wait(10)
        for _ in range(100):
            if len(fake.received) >= len(expected):
                break
            fake.got_data.clear()
            fake.got_data.wait(0.1)
        assert bytes(fake.received) == expected
    finally:
        p.close()
        fake.close()


def test_network_printer_that_is_gone_is_offline_and_print_raises() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    p = open_printer(f"net:127.0.0.1:{port}")
    assert p.status() == PrinterStatus.OFFLINE
    with pytest.raises(PrintError):
        p.print_ticket(Image.new("1", (576, 8), 1))


def test_network_printer_recovers_when_it_comes_back() -> None:
    fake = FakeNetworkPrinter()
    port = fake.port
    fake.close()
    p = open_printer(f"net:127.0.0.1:{port}")
    assert p.status() == PrinterStatus.OFFLINE
    revived = FakeNetworkPrinter(port=port)
    try:
        assert p.status() == PrinterStatus.OK  # a new connection, not the dead driver
    finally:
        p.close()
        revived.close()
