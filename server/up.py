"""`jiaohao up`: every part that exists, on one machine, with the demo office and simulated hardware.

The hub; a simulated kiosk (mock pins, a `sim:` printer writing ESC/POS bytes to a file, each ticket
also kept as a PNG) whose buttons are pressed by typing their number and Enter here; and the TV
board, in a window when there is a desktop, else as a PNG redrawn after every call. The first time
(no database yet), the two weeks of weekdays before today are simulated into the database first
(`jiaohao simulate`, seed 1), so that a newcomer's /reports have something to show; today's queue
starts empty.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

KIOSK_FILE = Path(__file__).resolve().parent.parent / "firmware_config" / "kiosk.example.toml"
# The history written the first time: two weeks of weekdays, about a second each to simulate.
HISTORY_DAYS = 10
BUTTONS = ["綜合業務 general", "快速案件 quick", "網路預約報到 appointment", "樂齡 seniors", "愛心 priority"]


def _die_with_parent() -> None:
    """In each child before exec: SIGTERM when `jiaohao up` dies, even by SIGKILL (Linux only)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: Ctrl-C and SIGTERM still stop the children through `finally`


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


def _has_screen() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _ensure_clips() -> None:
    """Placeholder voices (espeak-ng) the first time, so the windowed board can speak."""
    script = Path(__file__).resolve().parent.parent / "scripts" / "make_clips.py"
    if script.exists():
        subprocess.run([sys.executable, str(script)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=300, check=False, preexec_fn=_die_with_parent)


def _board_snapshots(base: str, png: Path, cli: list[str], stop: threading.Event) -> None:
    """No screen: redraw the board into a PNG after every call, with the real renderer."""
    import socketio

    def snap() -> None:
        r = subprocess.run([*cli, "display", "--server", base, "--token", "demo-display-lobby-token", "--headless",
                            "--snapshot", str(png), "--after", "0", "--timeout", "30"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
        if r.returncode == 0:
            print(f"board: {png}", flush=True)

    pending = threading.Event()
    client = socketio.Client(reconnection=True)
    client.on("call", lambda data: pending.set())
    try:
        client.connect(base, auth={"token": "demo-display-lobby-token"}, transports=["websocket"], wait_timeout=10)
    except Exception:
        return
    pending.set()
    while not stop.is_set():
        if pending.wait(0.5):
            pending.clear()
            snap()
    client.disconnect()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


def write_history(db: str, days: int = HISTORY_DAYS) -> str | None:
    """Simulated weekdays before today into a database that does not exist yet; what was written, or None.

    The demo office as `jiaohao serve` runs it (no --config), the office file's [simulation]
    settings, seed 1: the same history for everyone who starts on the same day.
    """
    if days <= 0 or Path(db).exists():
        return None
    from .config import load_arrivals, load_office
    from .simulate import business_days, default_first_day, run
    from .store import Store

    office = load_office(None)
    dates = business_days(default_first_day(office, days, datetime.now(UTC)), days)
    store = Store(db)
    try:
        fig = run(office, dates, 1, load_arrivals(None, office), None, store)
    finally:
        store.close()
    return f"{len(dates)} simulated weekdays, {dates[0]} to {dates[-1]}: {fig['tickets']} tickets"


def up(db: str, port: int, out: str = "out", history: bool = True, headless: bool = False) -> int:
    base = f"http://127.0.0.1:{port}"
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Taipei")).date()  # the demo office's day
    since = today - timedelta(days=14)
    cli = [sys.executable, "-m", "server.cli"]
    procs: list[subprocess.Popen[bytes]] = []
    if history and not Path(db).exists():
        print(f"First start: simulating the two weeks before today into {db} for /reports "
              "(about ten seconds; --no-history skips it) ...", flush=True)
        print(f"  history: {write_history(db)}", flush=True)
    hub = subprocess.Popen([*cli, "serve", "--db", db, "--port", str(port)], preexec_fn=_die_with_parent)
    procs.append(hub)
    try:
        if not _wait_ready(f"{base}/api/v1/health", hub):
            print(f"jiaohao: the hub did not start on port {port} (is the port in use?)", file=sys.stderr)
            return 1
        tickets = Path(out).resolve()
        tickets.mkdir(parents=True, exist_ok=True)
        kiosk = None
        if KIOSK_FILE.exists():
            kiosk = subprocess.Popen(
                [*cli, "kiosk", "--config", str(KIOSK_FILE), "--server", base, "--token", "demo-kiosk-1-token",
                 "--printer", f"sim:{tickets / 'printer.bin'}", "--pins", "mock", "--keys",
                 "--save-png", str(tickets)],
                stdin=subprocess.PIPE,
                preexec_fn=_die_with_parent,
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
        stop = threading.Event()
        if _has_screen() and not headless:
            _ensure_clips()
            procs.append(subprocess.Popen([*cli, "display", "--server", base, "--token",
                                           "demo-display-lobby-token", "--windowed"], preexec_fn=_die_with_parent))
            print("  the board: in its own window (Esc closes it)")
        else:
            # The board in a browser speaks with the same clips: made in the background, never holding up the hub.
            threading.Thread(target=_ensure_clips, name="clips", daemon=True).start()
            threading.Thread(target=_board_snapshots, args=(base, tickets / "board.png", cli, stop),
                             name="board", daemon=True).start()
            why = "--headless" if headless else "no screen here"
            print(f"  the board: {why}, so it is drawn to {tickets / 'board.png'} after every call")
        print(f"  call the next number:  curl -X POST -H 'Authorization: Bearer demo-counter-3-token' "
              f"{base}/api/v1/counters/3/next")
        print(f"  what phones see:       {base}/status")
        print(f"  the reports:           {base}/reports, as an admin made by: jiaohao user add NAME --role admin "
              f"--db {db}")
        print(f"                         or: curl -H 'Authorization: Bearer demo-admin-token' "
              f"'{base}/api/v1/reports/waits?from={since}&to={today}'")
        print(f"  the board in a browser: {base}/board?token=demo-display-lobby-token")
        print(f"  staff pages:           {base}/login (the counter console), {base}/admin, {base}/supervisor "
              "(the same accounts)")
        print("Ctrl-C stops everything.")
        sys.stdout.flush()
        if kiosk is not None:
            threading.Thread(target=_forward_keys, args=(kiosk,), name="keys", daemon=True).start()
        return hub.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if "stop" in locals():
            stop.set()
        for p in reversed(procs):
            _stop(p)
