"""`jiaohao kiosk`, `jiaohao kiosk press` and `jiaohao kiosk preview` as an installer would run them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from PIL import Image

from kiosk.escpos_decode import decode, qr_modules

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = str(ROOT / "firmware_config" / "kiosk.example.toml")
AUTH = {"Authorization": "Bearer demo-kiosk-1-token"}


def jiaohao(*args: str, timeout: float = 90, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "server.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_press_prints_one_ticket_and_exits_0(hub_process, tmp_path: Path) -> None:
    out = tmp_path / "t.bin"
    r = jiaohao("kiosk", "press", "elderly", "--config", EXAMPLE, "--server", hub_process.url,
                "--token", "demo-kiosk-1-token", "--printer", f"file:{out}")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("printed A001 (elderly)")
    d = decode(out.read_bytes())
    assert len(d.tickets) == 1 and d.tickets[0].cut and d.tickets[0].image.width == 576
    state = requests.get(f"{hub_process.url}/api/v1/services", headers=AUTH, timeout=5).json()
    assert sum(s["waiting"] for s in state["services"]) == 1
    assert len(qr_modules(d.tickets[0].image)) >= 21  # a QR code is on it


def test_press_options_may_come_before_the_action_and_token_from_env(hub_process, tmp_path: Path) -> None:
    out = tmp_path / "t.bin"
    r = jiaohao("kiosk", "--config", EXAMPLE, "--server", hub_process.url, "--printer", f"file:{out}",
                "press", "quick", env={"JIAOHAO_KIOSK_TOKEN": "demo-kiosk-1-token"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("printed B001")


def test_press_without_a_hub_exits_1_and_prints_nothing(tmp_path: Path) -> None:
    out = tmp_path / "t.bin"
    r = jiaohao("kiosk", "press", "general", "--config", EXAMPLE, "--server", f"http://127.0.0.1:{closed_port()}",
                "--token", "demo-kiosk-1-token", "--printer", f"file:{out}")
    assert r.returncode == 1
    last = r.stderr.strip().splitlines()[-1]
    assert "no ticket (hub_unreachable)" in last and "queue server" in last and "叫號主機" in last
    assert not out.exists()


def test_press_with_a_wrong_token_exits_1_with_the_reason(hub_process, tmp_path: Path) -> None:
    r = jiaohao("kiosk", "press", "general", "--config", EXAMPLE, "--server", hub_process.url,
                "--token", "not-a-token", "--printer", f"file:{tmp_path}/t.bin")
    assert r.returncode == 1 and "token is not known" in r.stderr


def test_press_out_of_paper_exits_1(hub_process, tmp_path: Path) -> None:
    (tmp_path / "sim.bin.fault").write_text("paper_out")
    r = jiaohao("kiosk", "press", "general", "--config", EXAMPLE, "--server", hub_process.url,
                "--token", "demo-kiosk-1-token", "--printer", f"sim:{tmp_path}/sim.bin")
    assert r.returncode == 1 and "out of paper" in r.stderr and "缺紙" in r.stderr
    services = requests.get(f"{hub_process.url}/api/v1/services", headers=AUTH, timeout=5).json()["services"]
    assert sum(s["waiting"] for s in services) == 0


def test_missing_options_are_one_line(tmp_path: Path) -> None:
    for args, words in [
        (("kiosk", "press", "general"), "--config FILE"),
        (("kiosk", "press", "general", "--config", EXAMPLE), "--server URL"),
        (("kiosk", "press", "general", "--config", EXAMPLE, "--server", "http://h", "--token", "t"), "--printer SPEC"),
        (("kiosk", "press", "general", "--config", EXAMPLE, "--server", "http://h", "--token", "t",
          "--printer", "lpt:1"), "printer SPEC must be"),
        (("kiosk", "--config", EXAMPLE, "--server", "http://h", "--token", "t", "--printer", "sim:",
          "--pins", "wrong"), "invalid choice"),
    ]:
        r = jiaohao(*args, env={"JIAOHAO_KIOSK_TOKEN": ""})
        assert r.returncode == 1, (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and words in r.stderr, (args, r.stderr)


def test_preview_writes_the_ticket_png(tmp_path: Path) -> None:
    out = tmp_path / "ticket.png"
    r = jiaohao("kiosk", "preview", "--config", EXAMPLE, "--button", "disability", "--out", str(out))
    assert r.returncode == 0, r.stderr
    img = Image.open(out)
    assert img.width == 576 and img.height > 600
    r = jiaohao("kiosk", "preview", "--paper", "58", "--out", str(tmp_path / "small.png"))
    assert r.returncode == 0 and Image.open(tmp_path / "small.png").width == 384
    r = jiaohao("kiosk", "preview", "--out", str(tmp_path / "no" / "dir" / "t.png"))
    assert r.returncode == 1 and "cannot write" in r.stderr


def test_the_kiosk_command_imports_neither_flask_nor_pygame() -> None:
    code = ("import sys\nfrom server.cli import parser\n"
            "parser().parse_args(['kiosk', 'press', 'general'])\n"
            "import kiosk.app, kiosk.cli, kiosk.controller, kiosk.printer, kiosk.ticket_image\n"
            "bad = [m for m in ('flask', 'flask_socketio', 'pygame', 'gevent') if m in sys.modules]\n"
            "assert not bad, bad\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def test_long_running_kiosk_on_mock_pins_says_it_is_ready_and_stops_on_sigterm(hub_process, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "kiosk", "--config", EXAMPLE, "--server", hub_process.url,
         "--token", "demo-kiosk-1-token", "--printer", f"sim:{tmp_path}/sim.bin", "--pins", "mock"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "請按按鈕取號" in line:
                break
        assert any("[info] 請按按鈕取號 / Press a button for your number" in x for x in lines), lines
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
