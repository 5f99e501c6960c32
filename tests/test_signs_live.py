"""`jiaohao signs` against a real hub process: simulated signs drawn to PNG, real frames on a pseudo
terminal, "----" while the hub is away, and the mistakes that are one line and exit 1.
No timing assertions: every wait is on a condition, with a generous timeout."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import ROOT, HubProcess, counter_auth, free_port
from PIL import Image
from test_display_live import call_next, issue

from display.dotmatrix import dot_grid, grid_of_image, read_grid
from display.sign_frame import Frame, FrameReader
from display.sign_mapping import OFFLINE_TEXT

TOKEN = "demo-display-lobby-token"
EXAMPLE = ROOT / "firmware_config" / "signs.example.toml"
WAIT = 40.0  # beyond the 10 s offline rule plus reconnect backoff


def signs_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "server.cli", "signs", *args]


@contextmanager
def running(*args: str) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(signs_cmd(*args), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(20)


def wait_for(pred: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def shown(directory: Path, counter: str) -> str | None:
    """The text a simulated sign's PNG spells, read dot by dot; None while it is not drawn yet."""
    path = directory / f"counter-{counter}.png"
    if not path.exists():
        return None
    with Image.open(path) as img:
        return read_grid(grid_of_image(img))


def test_simulated_signs_show_each_counters_number(hub_process: HubProcess, tmp_path: Path) -> None:
    out = tmp_path / "signs"
    url = hub_process.url
    with running("--server", url, "--token", TOKEN, "--config", str(EXAMPLE), "--simulate", str(out)) as proc:
        wait_for(lambda: all(shown(out, str(c)) == "" for c in range(1, 17)), "sixteen dark signs")
        issue(url)
        issue(url)
        first = call_next(url, "3")
        second = call_next(url, "4")
        assert (first["number"], second["number"]) == ("A001", "A002")
        wait_for(lambda: shown(out, "3") == "A001" and shown(out, "4") == "A002", "A001 at 3 and A002 at 4")
        # Dot for dot what the pure renderer draws for that number.
        with Image.open(out / "counter-3.png") as img:
            assert grid_of_image(img) == dot_grid("A001")
        assert all(shown(out, str(c)) == "" for c in range(1, 17) if c not in (3, 4))

        # Private service: the number, as on the board.
        issue(url, "private")
        assert call_next(url, "16")["number"] == "P001"
        wait_for(lambda: shown(out, "16") == "P001", "P001 at the private counter")

        # Finish and close: dark.
        r = requests.post(f"{url}/api/v1/counters/3/finish", headers=counter_auth("3"), timeout=10)
        assert r.status_code == 200, r.text
        r = requests.post(f"{url}/api/v1/counters/4/close", headers=counter_auth("4"), timeout=10)
        assert r.status_code == 200, r.text
        wait_for(lambda: shown(out, "3") == "" and shown(out, "4") == "", "finished and closed counters dark")
        assert shown(out, "16") == "P001"

        assert stop(proc) == 0
        assert all(shown(out, str(c)) == OFFLINE_TEXT for c in range(1, 17))  # nothing left standing
        assert "connected to" in (proc.stdout.read() if proc.stdout else "")


def test_dashes_while_the_hub_is_away_and_numbers_when_it_is_back(tmp_path: Path) -> None:
    db, out, cfg = tmp_path / "hub.db", tmp_path / "signs", tmp_path / "signs.toml"
    cfg.write_text('[[signs]]\ncounter = "3"\naddress = 3\n\n[[signs]]\ncounter = "5"\naddress = 5\n', "utf-8")
    hub = HubProcess(db).start()
    try:
        with running("--server", hub.url, "--token", TOKEN, "--config", str(cfg), "--simulate", str(out)) as proc:
            issue(hub.url)
            issue(hub.url)
            call_next(hub.url, "3")
            wait_for(lambda: shown(out, "3") == "A001", "A001 at 3")
            hub.kill()
            wait_for(lambda: shown(out, "3") == OFFLINE_TEXT and shown(out, "5") == OFFLINE_TEXT, "----")
            hub = HubProcess(db, port=hub.port).start()  # same database, same port
            call_next(hub.url, "5")  # called while the signs may not be connected yet: the snapshot has it
            wait_for(lambda: shown(out, "3") == "A001" and shown(out, "5") == "A002", "numbers again")
            assert stop(proc) == 0
    finally:
        hub.stop()


def test_real_frames_on_a_serial_line(hub_process: HubProcess, tmp_path: Path) -> None:
    """The serial driver end to end: a pseudo terminal stands in for the USB–RS-485 adapter."""
    master, slave = os.openpty()
    frames: list[Frame] = []
    lock = threading.Lock()
    done = threading.Event()

    def read() -> None:
        reader = FrameReader()
        while not done.is_set():
            try:
                data = os.read(master, 1024)
            except OSError:
                return
            with lock:
                frames.extend(reader.feed(data))

    threading.Thread(target=read, daemon=True).start()
    cfg = tmp_path / "signs.toml"
    cfg.write_text(f'port = "{os.ttyname(slave)}"\n[[signs]]\ncounter = "3"\naddress = 3\n'
                   '[[signs]]\ncounter = "4"\naddress = 4\n', "utf-8")

    def got(frame: Frame, times: int = 1) -> bool:
        with lock:
            return frames.count(frame) >= times

    try:
        with running("--server", hub_process.url, "--token", TOKEN, "--config", str(cfg)) as proc:
            wait_for(lambda: got(Frame(3, "S", "")) and got(Frame(4, "S", "")), "both signs dark at start")
            issue(hub_process.url)
            call_next(hub_process.url, "3")
            wait_for(lambda: got(Frame(3, "B", "A001")), "a blinking A001 for sign 3")
            recall = requests.post(f"{hub_process.url}/api/v1/counters/3/recall", headers=counter_auth("3"),
                                   timeout=10)
            assert recall.status_code == 200, recall.text
            wait_for(lambda: got(Frame(3, "B", "A001"), times=2), "the recall blinks again")
            assert stop(proc) == 0
            wait_for(lambda: got(Frame(3, "S", OFFLINE_TEXT)) and got(Frame(4, "S", OFFLINE_TEXT)), "---- at exit")
        with lock:
            assert not any(f.address == 4 and f.text not in ("", OFFLINE_TEXT) for f in frames)
    finally:
        done.set()
        os.close(slave)
        os.close(master)


def test_a_refused_token_is_one_line_and_exit_1(hub_process: HubProcess, tmp_path: Path) -> None:
    r = subprocess.run(signs_cmd("--server", hub_process.url, "--token", "not-a-token", "--config", str(EXAMPLE),
                                 "--simulate", str(tmp_path / "s")),
                       cwd=ROOT, capture_output=True, text=True, timeout=90)
    assert r.returncode == 1
    lines = [line for line in r.stderr.splitlines() if line.startswith("jiaohao signs:")]
    assert len(lines) == 1 and "refused the token" in lines[0], r.stderr


@pytest.mark.parametrize("args, message", [
    ([], "--server URL is required"),
    (["--server", "http://127.0.0.1:9"], "--token T"),
    (["--server", "http://127.0.0.1:9", "--token", "t"], "--config FILE"),
    (["--server", "http://127.0.0.1:9", "--token", "t", "--config", "/no/such.toml"], "no such signs file"),
    (["--server", "http://127.0.0.1:9", "--token", "t", "--config", "{bad}"], "signs[0].address: is required"),
    (["--server", "http://127.0.0.1:9", "--token", "t", "--config", "{noport}"], "port is required"),
    (["--server", "http://127.0.0.1:9", "--token", "t", "--config", str(EXAMPLE), "--port", "/dev/no-such-tty"],
     "cannot open /dev/no-such-tty"),
])
def test_mistakes_are_one_line_and_exit_1(args: list[str], message: str, tmp_path: Path) -> None:
    bad, noport = tmp_path / "bad.toml", tmp_path / "noport.toml"
    bad.write_text('[[signs]]\ncounter = "3"\n', "utf-8")
    noport.write_text('[[signs]]\ncounter = "3"\naddress = 3\n', "utf-8")
    args = [a.replace("{bad}", str(bad)).replace("{noport}", str(noport)) for a in args]
    r = subprocess.run(signs_cmd(*args), cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert len(r.stderr.strip().splitlines()) == 1 and message in r.stderr, r.stderr


def test_an_unreachable_hub_is_not_a_mistake(tmp_path: Path) -> None:
    out = tmp_path / "signs"
    with running("--server", f"http://127.0.0.1:{free_port()}", "--token", TOKEN, "--config", str(EXAMPLE),
                 "--simulate", str(out)) as proc:
        wait_for(lambda: shown(out, "3") == OFFLINE_TEXT, "---- without a hub")
        assert proc.poll() is None  # still trying
        assert stop(proc) == 0


def test_the_signs_command_imports_neither_flask_nor_pygame() -> None:
    code = ("import sys; from server.cli import parser; parser(); "
            "import display.signs_cli, display.signs, display.sign_frame, display.sign_bus, display.sign_mapping, "
            "display.dotmatrix, display.signs_config, display.client; "
            "bad = [m for m in ('flask', 'pygame', 'serial') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
