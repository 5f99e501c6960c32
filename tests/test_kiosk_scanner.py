"""The scanner's line assembling with synthetic evdev key events; the device itself only when one is given."""

from __future__ import annotations

import os
import random
import threading

import pytest

from kiosk.controller import valid_code
from kiosk.scanner import MAX_LINE, LineAssembler, read_scanner


def typed(asm: LineAssembler, keys: list[str], t0: float = 0.0, step: float = 0.004) -> list[str]:
    """Press and release each key (KEY_LEFTSHIFT+X for a shifted one); the lines that came out."""
    out, t = [], t0
    for k in keys:
        shift = k.startswith("KEY_LEFTSHIFT+")
        if shift:
            asm.feed("KEY_LEFTSHIFT", 1, t)
            k = k.split("+", 1)[1]
        for value in (1, 0):
            line = asm.feed(k, value, t)
            if line is not None:
                out.append(line)
        if shift:
            asm.feed("KEY_LEFTSHIFT", 0, t)
        t += step
    return out


def keys_for(code: str) -> list[str]:
    out = []
    for ch in code:
        if ch.isupper():
            out.append(f"KEY_LEFTSHIFT+KEY_{ch}")
        elif ch == "-":
            out.append("KEY_MINUS")
        else:
            out.append(f"KEY_{ch.upper()}")
    return [*out, "KEY_ENTER"]


def test_a_scan_is_one_line_with_capitals_and_dashes() -> None:
    asm = LineAssembler()
    assert typed(asm, keys_for("R1234-ab")) == ["R1234-ab"]
    assert typed(asm, keys_for("X9Y8")) == ["X9Y8"]  # the next scan starts clean


def test_a_partial_read_is_dropped_not_joined_to_the_next_scan() -> None:
    asm = LineAssembler()
    assert typed(asm, keys_for("R1234")[:3], t0=0.0) == []  # "R12", then the scanner stalled
    assert typed(asm, keys_for("R5678"), t0=5.0) == ["R5678"]


def test_non_printable_keys_taint_the_line() -> None:
    asm = LineAssembler()
    [line] = typed(asm, ["KEY_R", "KEY_1", "KEY_F1", "KEY_2", "KEY_3", "KEY_ENTER"])
    assert valid_code(line) is None
    [line] = typed(asm, ["KEY_LEFTCTRL", "KEY_C", "KEY_1", "KEY_2", "KEY_3", "KEY_ENTER"])
    assert valid_code(line) is None


def test_a_long_random_string_is_capped_and_not_a_code() -> None:
    rng = random.Random(7)
    names = [f"KEY_{c}" for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"] + ["KEY_UP", "KEY_TAB", "KEY_ESC"]
    asm = LineAssembler()
    [line] = typed(asm, [rng.choice(names) for _ in range(5000)] + ["KEY_ENTER"])
    assert len(line) <= MAX_LINE + 1 and valid_code(line) is None


def test_key_up_and_repeat_are_not_characters() -> None:
    asm = LineAssembler()
    asm.feed("KEY_A", 1, 0.0)
    asm.feed("KEY_A", 2, 0.01)
    asm.feed("KEY_A", 0, 0.02)
    assert asm.feed("KEY_ENTER", 1, 0.03) == "a"


SCANNER = os.environ.get("JIAOHAO_TEST_SCANNER")  # e.g. /dev/input/by-id/usb-...-event-kbd


@pytest.mark.skipif(not SCANNER, reason="no scanner: set JIAOHAO_TEST_SCANNER=/dev/input/by-id/...-event-kbd "
                                        "and scan a code within 20 s")
def test_a_real_scanner_gives_a_line() -> None:  # pragma: no cover - hardware
    got: list[str] = []
    stop = threading.Event()
    t = threading.Thread(target=read_scanner, args=(SCANNER, lambda c: (got.append(c), stop.set()), stop))
    t.start()
    t.join(timeout=20)
    stop.set()
    assert got and got[0].strip()
