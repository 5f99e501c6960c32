"""`jiaohao up`: every part that exists, on one machine, with the demo office and simulated hardware.

The hub, and a simulated kiosk (mock pins, a `sim:` printer writing ESC/POS bytes to a file, each
ticket also kept as a PNG) whose buttons are pressed by typing their number and Enter here. The TV
board (issue #4) joins when it is built.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

KIOSK_FILE = Path(__file__).resolve().parent.parent / "firmware_config" / "kiosk.example.toml"
BUTTONS = ["綜合業務 general", "快速案件 quick", "網路預約報到 appointment", "樂齡 seniors", "愛心 priority"]


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


def _forward_keys(kiosk: subprocess.Popen[bytes]) -> None:
    """Lines typed here go to the kiosk's key presses; the kiosk's own output shows the result."""
    assert kiosk.stdin is not None
    for line in sys.stdin:
        try:
            kiosk.stdin.write(line.encode())
            kiosk.stdin.flush()
        except (BrokenPipeError, ValueError):
            return


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


def up(db: str, port: int, out: str = "out") -> int:
    base = f"http://127.0.0.1:{port}"
    cli = [sys.executable, "-m", "server.cli"]
    procs: list[subprocess.Popen[bytes]] = []
    hub = subprocess.Popen([*cli, "serve", "--db", db, "--port", str(port)])
    procs.append(hub)
    try:
        if not _wait_ready(f"{base}/api/v1/health", hub):
            print(f"jiaohao: the hub did not start on port {port} (is the port in use?)", file=sys.stderr)
            return 1
        tickets = Path(out).resolve()
        kiosk = None
        if KIOSK_FILE.exists():
            tickets.mkdir(parents=True, exist_ok=True)
            kiosk = subprocess.Popen(
                [*cli, "kiosk", "--config", str(KIOSK_FILE), "--server", base, "--token", "demo-kiosk-1-token",
                 "--printer", f"sim:{tickets / 'printer.bin'}", "--pins", "mock", "--keys",
                 "--save-png", str(tickets)],
                stdin=subprocess.PIPE,
            )
            procs.append(kiosk)
        print()
        print("jiaohao is up with the demo office.")
        if kiosk is not None:
            print("  the kiosk: type a button's number and Enter to press it; the ticket is saved as a PNG in "
                  f"{tickets}/")
            for i, name in enumerate(BUTTONS, 1):
                print(f"      {i}  {name}")
        else:
            print(f"  the kiosk: not started ({KIOSK_FILE} is missing)")
        print(f"  call the next number:  curl -X POST -H 'Authorization: Bearer demo-counter-3-token' "
              f"{base}/api/v1/counters/3/next")
        print(f"  what phones see:       {base}/status")
        print("  not yet here:          the TV board (issue #4) is not built.")
        print("Ctrl-C stops everything.")
        sys.stdout.flush()
        if kiosk is not None:
            threading.Thread(target=_forward_keys, args=(kiosk,), name="keys", daemon=True).start()
        return hub.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        for p in reversed(procs):
            _stop(p)
