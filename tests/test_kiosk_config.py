"""The kiosk file: the example loads, and every mistake is one line that names its key path."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from kiosk.config import KioskConfigError, load_kiosk, parse_kiosk
from server.config import load_office
from server.wire.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "firmware_config" / "kiosk.example.toml"


def test_example_file_matches_the_demo_office() -> None:
    cfg = load_kiosk(EXAMPLE)
    office = load_office(None)
    assert [b.id for b in cfg.buttons] == ["general", "quick", "appointment", "elderly", "disability"]
    assert {(b.service, b.lane) for b in cfg.buttons} == {
        ("general", "normal"), ("quick", "normal"), ("appointment", "normal"),
        ("general", "elderly"), ("general", "disability")}
    for b in cfg.buttons:
        assert office.service(b.service) is not None and office.lane(b.lane) is not None
        assert b.lamp is not None
    assert cfg.fault_lamp == 22 and cfg.paper_mm == 80 and cfg.width_px == 576
    assert cfg.footer is not None and office.ticket_footer is not None
    assert cfg.footer.zh == office.ticket_footer.zh  # the copy of the office's footer is the same words


def _base() -> dict:
    return tomllib.loads(EXAMPLE.read_text("utf-8"))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["buttons"][1].__setitem__("pin", 40), "buttons[1].pin: must be a BCM GPIO number from 2 to 27"),
        (lambda d: d["buttons"][1].__setitem__("pin", True), "buttons[1].pin: must be a whole number"),
        (lambda d: d["buttons"][2].__setitem__("lamp", 17),
         "buttons[2].lamp: GPIO 17 is already used by buttons[0].pin"),
        (lambda d: d["buttons"][0].__setitem__("pin", 22),
         "buttons[0].pin: GPIO 22 is already used by kiosk.fault_lamp"),
        (lambda d: d["buttons"][3].__setitem__("id", "general"), "buttons[3].id: 'general' is used twice"),
        (lambda d: d["buttons"][0].pop("service"), "buttons[0].service: is required"),
        (lambda d: d["buttons"][0].__setitem__("colour", "red"), "buttons[0].colour: is not a known key"),
        (lambda d: d["kiosk"].__setitem__("paper_mm", 57), "kiosk.paper_mm: must be 58 or 80"),
        (lambda d: d["kiosk"].__setitem__("cooldown_s", 0), "kiosk.cooldown_s: must be from 0.2 to 30"),
        (lambda d: d["kiosk"].__setitem__("public_url", "queue.gov.tw"), "kiosk.public_url: must start with http"),
        (lambda d: d["kiosk"].__setitem__("printer", "lpt:1"), "kiosk.printer: 'lpt:1': printer SPEC must be"),
        (lambda d: d["kiosk"].__setitem__("footer", {"zh-TW": "只有中文"}), "kiosk.footer: needs non-empty texts"),
        (lambda d: d.__setitem__("buttons", []), "buttons: must list at least one button"),
        (lambda d: d.__setitem__("screen", {}), "screen: is not a known key"),
    ],
)
def test_each_mistake_is_one_line_naming_the_key(change, expected: str) -> None:
    data = _base()
    change(data)
    with pytest.raises(KioskConfigError) as e:
        parse_kiosk(data)
    assert str(e.value).startswith(expected), str(e.value)
    assert "\n" not in str(e.value)
    assert isinstance(e.value, ValueError) and isinstance(e.value, ConfigError)


def test_lane_defaults_to_normal_and_lamps_are_optional() -> None:
    cfg = parse_kiosk({"buttons": [{"id": "a", "service": "general", "pin": 4}]})
    assert cfg.buttons[0].lane == "normal" and cfg.buttons[0].lamp is None and cfg.fault_lamp is None


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(KioskConfigError, match="no such kiosk file"):
        load_kiosk(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[[buttons]]\nid = \"a\"\nservice = \"general\"\npin = 99\n", "utf-8")
    with pytest.raises(KioskConfigError, match=r"bad\.toml: buttons\[0\]\.pin: must be a BCM"):
        load_kiosk(bad)
    bad.write_text("[kiosk\n", "utf-8")
    with pytest.raises(KioskConfigError, match="not valid TOML"):
        load_kiosk(bad)


def test_cli_reports_a_bad_kiosk_file_in_one_line_and_exit_1(tmp_path: Path) -> None:
    bad = tmp_path / "kiosk.toml"
    bad.write_text("[[buttons]]\nid = \"a\"\nservice = \"general\"\npin = 1\n", "utf-8")
    r = subprocess.run([sys.executable, "-m", "server.cli", "kiosk", "press", "a", "--config", str(bad),
                        "--server", "http://127.0.0.1:9", "--token", "x", "--printer", f"file:{tmp_path}/t.bin"],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "buttons[0].pin" in lines[0], r.stderr
    assert not (tmp_path / "t.bin").exists()
