"""`jiaohao up`: the try-it-now command starts the hub with the demo office and says where to look."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import requests
from conftest import ROOT, free_port


def test_up_starts_the_demo_hub_and_stops_cleanly(tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "server.cli", "up", "--db", str(tmp_path / "demo.db"),
                             "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, "jiaohao up exited early: " + "".join(lines)
            lines.append(line)
            if line.startswith("Ctrl-C stops everything"):
                break
        out = "".join(lines)
        assert "jiaohao is up with the demo office" in out and f"127.0.0.1:{port}" in out
        status = requests.get(f"http://127.0.0.1:{port}/api/v1/public/status", timeout=5).json()
        assert status["office"]["zh-TW"] == "臺中市南屯區戶政事務所"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) in (0, 130)
        # The hub went with it.
        try:
            requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2)
            raise AssertionError("the hub is still answering after jiaohao up stopped")
        except requests.ConnectionError:
            pass
    finally:
        if proc.poll() is None:
            proc.kill()
