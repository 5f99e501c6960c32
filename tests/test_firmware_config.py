"""What turns a Pi into a hub, kiosk, board or sign driver: every command line in it is one jiaohao takes."""

from __future__ import annotations

import configparser
import re
import shlex
import subprocess

import pytest
from conftest import ROOT

from server.cli import parser

UNITS = sorted((ROOT / "firmware_config" / "systemd").glob("*.service"))


def exec_lines(unit):
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.read(unit, encoding="utf-8")
    return [v for k, v in cp["Service"].items() if k in ("execstart", "execstartpre")]


@pytest.mark.parametrize("unit", UNITS, ids=[u.stem for u in UNITS])
def test_unit_command_lines_parse(unit):
    lines = exec_lines(unit)
    assert lines, f"{unit.name} starts nothing"
    for line in lines:
        argv = shlex.split(re.sub(r"\$\{(\w+)\}", "http://hub.local:8600", line))
        if argv[0].endswith("/jiaohao"):
            args = parser().parse_args(argv[1:])  # a mistake would exit 1 here
            assert args.command == unit.stem.removeprefix("jiaohao-").replace("hub", "serve")
        else:
            assert argv[1].startswith("/opt/jiaohao/scripts/")
            assert (ROOT / argv[1].removeprefix("/opt/jiaohao/")).exists()


def test_units_keep_tokens_out_of_command_lines():
    for unit in UNITS:
        text = unit.read_text("utf-8")
        assert "--token" not in text and "demo-" not in text


def test_install_script_refuses_a_bad_role_in_one_line():
    r = subprocess.run(["bash", str(ROOT / "scripts" / "install-pi"), "toaster"], capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "usage" in r.stderr
