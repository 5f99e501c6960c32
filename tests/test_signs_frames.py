"""The sign bus frame (docs/signs.md): encoder and decoder, checksum, refused payloads, a stream reader
that recovers from noise, and SerialSign writing exact bytes to a pyserial loop:// port."""

from __future__ import annotations

import re

import pytest
import serial
from conftest import ROOT
from hypothesis import given
from hypothesis import strategies as st

from display.sign_bus import SerialBus, SerialSign, SignError
from display.sign_frame import (
    BROADCAST,
    ETX,
    MAX_FRAME,
    MAX_TEXT,
    STX,
    Frame,
    FrameError,
    FrameReader,
    crc8,
    decode_frame,
    encode_frame,
)

addresses = st.integers(min_value=1, max_value=255)
commands = st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
texts = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=MAX_TEXT)


def test_crc8_is_crc8_smbus() -> None:
    # The catalogue check value of CRC-8/SMBUS, so a firmware author can test their own routine.
    assert crc8(b"123456789") == 0xF4
    assert crc8(b"") == 0


def test_the_worked_example_in_the_docs_is_what_the_encoder_sends() -> None:
    assert encode_frame(3, "S", "A023") == b"\x0203SA023D6\x03"
    assert encode_frame(3, "B", "A023") == b"\x0203BA02386\x03"
    assert encode_frame(3, "S", "") == b"\x0203S99\x03"
    assert encode_frame(BROADCAST, "S", "----") == b"\x02FFS----33\x03"
    doc = (ROOT / "docs" / "signs.md").read_text("utf-8")
    for example in ("03SA023D6", "03BA02386", "03S99", "FFS----33"):
        assert example in doc, f"docs/signs.md does not show {example}"


@given(addresses, commands, texts)
def test_round_trip(address: int, command: str, text: str) -> None:
    raw = encode_frame(address, command, text)
    assert decode_frame(raw) == Frame(address, command, text)
    assert raw[0] == STX and raw[-1] == ETX and len(raw) <= MAX_FRAME
    # Between STX and ETX only printable ASCII: a receiver finds frame edges without unescaping.
    assert all(0x20 <= b <= 0x7E for b in raw[1:-1])


@given(addresses, commands, texts, st.data())
def test_any_changed_byte_is_refused(address: int, command: str, text: str, data: st.DataObject) -> None:
    raw = bytearray(encode_frame(address, command, text))
    i = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    new = data.draw(st.integers(min_value=0, max_value=255).filter(lambda b: b != raw[i]))
    raw[i] = new
    with pytest.raises(FrameError):
        decode_frame(bytes(raw))


@given(st.lists(st.tuples(addresses, commands, texts), min_size=1, max_size=5), st.binary(max_size=40))
def test_stream_reader_recovers_after_noise(frames: list[tuple[int, str, str]], noise: bytes) -> None:
    """Noise (a half frame, a sign switched on mid-frame) costs at most the frame it cut into."""
    reader = FrameReader()
    got = reader.feed(noise + b"".join(encode_frame(*f) for f in frames))
    assert got[-len(frames):] == [Frame(*f) for f in frames]


def test_stream_reader_drops_overlong_and_control_bytes() -> None:
    reader = FrameReader()
    good = encode_frame(7, "S", "B012")
    overlong = b"\x0207S" + b"X" * 40 + b"00\x03"
    with_newline = b"\x0207SA0\n1200\x03"
    assert reader.feed(overlong + with_newline + good) == [Frame(7, "S", "B012")]
    assert reader.dropped == 2


@pytest.mark.parametrize("text", ["A\x03", "A\x02", "A\n", "\x7f", "號", "é", "X" * (MAX_TEXT + 1)])
def test_bad_payloads_are_refused(text: str) -> None:
    with pytest.raises(FrameError):
        encode_frame(3, "S", text)


@pytest.mark.parametrize("address, command", [(0, "S"), (256, "S"), (-1, "S"), (True, "S"), (3, "s"), (3, "SS"),
                                              (3, ""), (3, "1")])
def test_bad_addresses_and_commands_are_refused(address: int, command: str) -> None:
    with pytest.raises(FrameError):
        encode_frame(address, command, "A001")


@pytest.mark.parametrize("raw", [
    b"",
    b"\x0203SA023D6",                # no ETX
    b"03SA023D6\x03",                # no STX
    b"\x0203SA023d6\x03",            # lower-case hex: one spelling per value
    b"\x0203SA023D7\x03",            # wrong checksum
    b"\x0200S" + b"66\x03",          # address 0 is nobody
    b"\x02" + b"03S" + b"A" * 17 + b"00\x03",  # too long
])
def test_bad_frames_are_refused(raw: bytes) -> None:
    with pytest.raises(FrameError):
        decode_frame(raw)


def test_address_zero_frame_with_a_right_checksum_is_still_refused() -> None:
    body = b"00SA001"
    with pytest.raises(FrameError):
        decode_frame(b"\x02" + body + f"{crc8(body):02X}".encode() + b"\x03")


# -- SerialSign over a real pyserial port ----------------------------------------------------------


def test_serial_signs_share_one_port_and_write_exact_frames() -> None:
    port = serial.serial_for_url("loop://", timeout=1)
    try:
        bus = SerialBus(port)
        three, four = SerialSign(bus, 3), SerialSign(bus, 4)
        three.show("A023")
        four.show("B007", blink=True)
        three.show("")
        expected = encode_frame(3, "S", "A023") + encode_frame(4, "B", "B007") + encode_frame(3, "S", "")
        assert expected == b"\x0203SA023D6\x03" + encode_frame(4, "B", "B007") + b"\x0203S99\x03"
        assert port.read(len(expected)) == expected
        assert port.in_waiting == 0
        three.close()
        bus.close()  # a port handed in is not the bus's to close
        assert port.is_open
    finally:
        port.close()


def test_a_bus_opened_by_url_is_8n1_at_the_given_baud() -> None:
    bus = SerialBus("loop://", 19200).open()
    try:
        p = bus._port
        assert (p.baudrate, p.bytesize, p.parity, p.stopbits) == (19200, 8, "N", 1)
        SerialSign(bus, 9).show("C001")
        assert FrameReader().feed(p.read(p.in_waiting)) == [Frame(9, "S", "C001")]
    finally:
        bus.close()


def test_a_port_that_cannot_be_opened_is_a_sign_error() -> None:
    with pytest.raises(SignError, match="cannot open /dev/no-such-tty"):
        SerialBus("/dev/no-such-tty").open()


class FlakyPort:
    """A serial port whose adapter is pulled out and put back."""

    def __init__(self) -> None:
        self.fail = False
        self.written = b""
        self.closed = False

    def write(self, data: bytes) -> int:
        if self.fail:
            raise serial.SerialException("device reports readiness to read but returned no data")
        self.written += data
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def test_a_failing_write_is_a_sign_error_and_the_next_one_works_again() -> None:
    port = FlakyPort()
    sign = SerialSign(SerialBus(port), 12)
    port.fail = True
    with pytest.raises(SignError, match="cannot write"):
        sign.show("A001")
    port.fail = False
    sign.show("A001")
    assert port.written == encode_frame(12, "S", "A001") and not port.closed


def test_an_owned_port_is_reopened_after_it_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    ports: list[FlakyPort] = []

    def opener(url: str, **kw: object) -> FlakyPort:
        ports.append(FlakyPort())
        return ports[-1]

    monkeypatch.setattr(serial, "serial_for_url", opener)
    bus = SerialBus("/dev/ttyUSB0").open()
    bus.REOPEN_S = 0.0
    sign = SerialSign(bus, 5)
    ports[0].fail = True
    with pytest.raises(SignError):
        sign.show("A001")
    assert ports[0].closed
    sign.show("A002")  # opens a new port
    assert len(ports) == 2 and ports[1].written == encode_frame(5, "S", "A002")


@pytest.mark.parametrize("address", [0, 255, 300])
def test_a_sign_address_is_1_to_254(address: int) -> None:
    with pytest.raises(FrameError):
        SerialSign(SerialBus(FlakyPort()), address)


def test_frame_bytes_in_docs_table_match_constants() -> None:
    doc = (ROOT / "docs" / "signs.md").read_text("utf-8")
    assert re.search(r"9600", doc) and "8N1" in doc
    assert f"{MAX_TEXT}" in doc
