"""`jiaohao up`: the try-it-now command starts the hub with the demo office and says where to look."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import requests
from conftest import ROOT, free_port


def test_up_starts_the_demo_hub_and_stops_cleanly(tmp_path, monkeypatch):
    # A screen is said to be there, and --headless draws the board to a PNG all the same (no window opens).
    monkeypatch.setenv("DISPLAY", ":97")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("JIAOHAO_CLIPS", str(tmp_path / "clips"))  # the clips made for the web board go here
    port = free_port()
    proc, out = _start_up(tmp_path / "demo.db", port, tmp_path / "out", "--no-history", "--headless")
    try:
        assert "jiaohao is up with the demo office" in out and f"127.0.0.1:{port}" in out
        assert "First start" not in out  # --no-history: the database starts empty
        assert "the board: --headless, so it is drawn to" in out
        # Every part it says is there is there: the web board's address, not "not yet here".
        assert f"http://127.0.0.1:{port}/board?token=demo-display-lobby-token" in out and "not yet here" not in out
        assert "jiaohao user add" in out and f"http://127.0.0.1:{port}/admin" in out
        status = requests.get(f"http://127.0.0.1:{port}/api/v1/public/status", timeout=5).json()
        assert status["office"]["zh-TW"] == "臺中市南屯區戶政事務所"
        # A newcomer presses key 4 (樂齡) and gets a ticket the hub knows, kept as a PNG.
        proc.stdin.write("4\n")
        proc.stdin.flush()
        png, printed = tmp_path / "out" / "ticket-A001.png", tmp_path / "out" / "printer.bin"
        deadline = time.monotonic() + 60
        while not (png.exists() and printed.exists() and printed.stat().st_size) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert png.exists(), "no ticket image from the simulated kiosk"
        state = requests.get(f"http://127.0.0.1:{port}/api/v1/state", headers={
            "Authorization": "Bearer demo-display-lobby-token"}, timeout=5).json()
        assert [s["waiting"] for s in state["services"] if s["id"] == "general"] == [1]
        assert printed.stat().st_size > 1000
        # No screen here: the board is drawn to a PNG after the call.
        board = tmp_path / "out" / "board.png"
        board.unlink(missing_ok=True)
        r = requests.post(f"http://127.0.0.1:{port}/api/v1/counters/15/next",
                          headers={"Authorization": "Bearer demo-counter-15-token"}, timeout=10)
        assert r.json()["ticket"]["number"] == "A001"
        deadline = time.monotonic() + 90
        while not board.exists() and time.monotonic() < deadline:
            time.sleep(0.3)
        assert board.exists() and board.stat().st_size > 10000, "the board was not drawn after the call"
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
            proc.wait(10)
        proc.stdin.close()
        proc.stdout.close()


def _start_up(db, port: int, out_dir, *options: str) -> tuple[subprocess.Popen, str]:
    """`jiaohao up` until it says it is up (no screen: the board draws to a PNG); its output so far."""
    proc = subprocess.Popen([sys.executable, "-m", "server.cli", "up", "--db", str(db), "--port", str(port),
                             "--out", str(out_dir), *options], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1)
    lines: list[str] = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        assert line, "jiaohao up exited early: " + "".join(lines)
        lines.append(line)
        if line.startswith("Ctrl-C stops everything"):
            break
    return proc, "".join(lines)


def _stop_up(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    proc.stdin.close()
    proc.stdout.close()


def test_up_starts_with_two_weeks_of_history_the_first_time(tmp_path, monkeypatch):
    """A newcomer's /reports are not empty: the weekdays before today are simulated into the new database."""
    import re

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    db, port = tmp_path / "demo.db", free_port()
    proc, out = _start_up(db, port, tmp_path / "out")
    try:
        m = re.search(r"history: 10 simulated weekdays, (\S+) to (\S+): (\d+) tickets", out)
        assert m, out
        admin = {"Authorization": "Bearer demo-admin-token"}
        base = f"http://127.0.0.1:{port}/api/v1"
        waits = requests.get(f"{base}/reports/waits?from={m[1]}&to={m[2]}", headers=admin, timeout=30).json()
        issued = sum(s["issued"] for s in waits["services"])
        assert issued > 5000 and issued <= int(m[3])  # walk-ins have no number: not in the waits report
        assert {s["service"] for s in waits["services"]} >= {"general", "quick", "appointment"}
        # Today's queue is not simulated: it starts empty, numbered from the first number.
        state = requests.get(f"{base}/state", headers=admin, timeout=10).json()
        assert all(s["waiting"] == 0 for s in state["services"])
        assert all(c["ticket"] is None for c in state["counters"]) and state["recent_calls"] == []
    finally:
        _stop_up(proc)
    # The second time the database is there: nothing is simulated again, and the history is kept.
    proc, out = _start_up(db, free_port(), tmp_path / "out")
    try:
        assert "First start" not in out and "history:" not in out
    finally:
        _stop_up(proc)
