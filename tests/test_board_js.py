"""The web board's reducer (server/static/board-state.js) and clock (hub-time.js), under node's built-in runner.

The tests themselves are JavaScript (tests/js/*.test.js); this file runs them so that pytest,
and so CI, runs them too. scripts/test installs Debian's nodejs, so in CI a missing node is a broken
set-up, not a reason to skip.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
from conftest import ROOT

JS_TESTS = ROOT / "tests" / "js" / "board_state.test.js"
HUB_TIME_TESTS = ROOT / "tests" / "js" / "hub_time.test.js"


def node() -> str:
    found = shutil.which("node") or shutil.which("nodejs")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("node is missing although scripts/test installs it (Debian package nodejs): the web board's "
                    "reducer tests in tests/js/ cannot run")
    pytest.skip("node is not installed here (scripts/test installs Debian's nodejs)")


def test_board_state_reducer_passes_its_node_tests() -> None:
    r = subprocess.run([node(), "--test", "--test-reporter=tap", str(JS_TESTS)], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    counts = dict(re.findall(r"^# (tests|pass|fail) (\d+)$", r.stdout, re.MULTILINE))
    assert int(counts.get("tests", 0)) >= 10, r.stdout[-2000:]  # the file ran, all of it
    assert counts.get("pass") == counts["tests"] and counts.get("fail") == "0", r.stdout[-2000:]


def test_the_board_clock_passes_its_node_tests() -> None:
    r = subprocess.run([node(), "--test", "--test-reporter=tap", str(HUB_TIME_TESTS)], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    counts = dict(re.findall(r"^# (tests|pass|fail) (\d+)$", r.stdout, re.MULTILINE))
    assert int(counts.get("tests", 0)) >= 4 and counts.get("pass") == counts["tests"], r.stdout[-2000:]
