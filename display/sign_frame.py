"""The LED sign bus frame (issue #4, docs/signs.md): encoder, decoder, CRC-8 and a stream reader. Pure bytes.

The frame is all printable ASCII between STX and ETX, so a sign's receiver can find frame boundaries
without escaping and a person can watch the bus with any serial terminal:

    STX  address(2 hex)  command(1 letter)  text(0..16 printable ASCII)  CRC-8(2 hex)  ETX
    0x02 "03"            "S"                "A023"                       "D6"          0x03

The CRC-8 (polynomial 0x07, initial value 0, CRC-8/SMBUS) covers address, command and text as sent.
"""

from __future__ import annotations

from dataclasses import dataclass

STX, ETX = 0x02, 0x03
MAX_TEXT = 16  # characters of text in one frame: a prefix of 3 letters and 4 digits fit twice over
BROADCAST = 0xFF  # every sign acts on it; no sign has this address
CMD_SHOW = "S"  # show the text steadily ("" blanks the sign)
CMD_BLINK = "B"  # show the text, blinking for about 3 s first (a new call or a recall)
MAX_FRAME = 1 + 2 + 1 + MAX_TEXT + 2 + 1  # a receiver's whole buffer: 23 bytes


class FrameError(ValueError):
    """Bytes that are not one well-formed frame, or a frame that cannot be built from these values."""


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
