"""The signs file: the example loads, and every mistake is one line naming the key path."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT

from display.signs_config import SignsConfigError, SignSpec, load_signs, parse_signs
from server.config import load_office
from server.wire.errors import ConfigError


def test_the_example_covers_every_counter_of_the_demo_office() -> None:
    cfg = load_signs(ROOT / "firmware_config" / "signs.example.toml")
    assert (cfg.port, cfg.baud, cfg.chars) == ("/dev/ttyUSB0", 9600, 4)
    office = load_office(None)
    assert cfg.counter_ids == [c.id for c in office.counters]
    assert SignSpec("3", 3) in cfg.signs


def test_defaults() -> None:
    cfg = parse_signs({"signs": [{"counter": "3", "address": 3}]})
    assert (cfg.port, cfg.baud, cfg.chars, cfg.refresh_s) == (None, 9600, 4, 20.0)
    assert cfg.signs[0].text is False and cfg.text_counter_ids == set()
    cfg = parse_signs({"chars": 16, "signs": [{"counter": "3", "address": 3, "text": True},
                                              {"counter": "4", "address": 4}]})
    assert [s.text for s in cfg.signs] == [True, False] and cfg.text_counter_ids == {"3"}


@pytest.mark.parametrize("data, message", [
    ({}, "signs: is required"),
    ({"signs": []}, "signs: must list at least one sign"),
    ({"signs": [{"counter": 3, "address": 3}]}, 'signs[0].counter: must be a string in quotes, e.g. "3"'),
    ({"signs": [{"counter": "3"}]}, "signs[0].address: is required"),
    ({"signs": [{"counter": "3", "address": 0}]}, "signs[0].address: must be from 1 to 254"),
    ({"signs": [{"counter": "3", "address": 255}]}, "signs[0].address: must be from 1 to 254"),
    ({"signs": [{"counter": "3", "address": True}]}, "signs[0].address: must be a whole number"),
    ({"signs": [{"counter": "3", "address": 3}, {"counter": "4", "address": 3}]},
     "signs[1].address: 3 is already used by signs[0] (counter 3)"),
    ({"signs": [{"counter": "3", "address": 3, "adress": 4}]}, "signs[0].adress: is not a known key"),
    ({"signs": [{"counter": "3 ", "address": 3}]}, "signs[0].counter: must be a counter id"),
    ({"signs": ["3"]}, "signs[0]: must be a table"),
    ({"baud": 9601, "signs": [{"counter": "3", "address": 3}]}, "baud: must be one of"),
    ({"baud": "9600", "signs": [{"counter": "3", "address": 3}]}, "baud: must be a whole number"),
    ({"port": "", "signs": [{"counter": "3", "address": 3}]}, "port: must name the serial device"),
    ({"chars": 0, "signs": [{"counter": "3", "address": 3}]}, "chars: must be from 1 to 16"),
    ({"refresh_s": 0, "signs": [{"counter": "3", "address": 3}]}, "refresh_s: must be a number of seconds"),
    ({"signs": [{"counter": "3", "address": 3, "text": "yes"}]}, "signs[0].text: must be"),
    ({"parity": "E", "signs": [{"counter": "3", "address": 3}]}, "parity: is not a known key"),
])
def test_mistakes_name_the_key(data: dict, message: str) -> None:
    with pytest.raises(SignsConfigError) as e:
        parse_signs(data)
    assert str(e.value).startswith(message.split(":")[0] + ":"), str(e.value)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_file_mistakes_are_one_line_with_the_file_name(tmp_path: Path) -> None:
    with pytest.raises(SignsConfigError, match="no such signs file"):
        load_signs(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("port = \n", "utf-8")
    with pytest.raises(SignsConfigError, match=r"bad\.toml: not valid TOML"):
        load_signs(bad)
    bad.write_text('[[signs]]\ncounter = "3"\naddress = 300\n', "utf-8")
    with pytest.raises(ConfigError, match=r"bad\.toml: signs\[0\]\.address: must be from 1 to 254 \(got 300\)"):
        load_signs(bad)
