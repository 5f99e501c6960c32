"""`jiaohao up`: every part that exists, on one machine, with the demo office.

Today that is the hub alone; the kiosk (issue #3) and the board (issue #4) join it here when built.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request


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


def up(db: str, port: int) -> int:
    base = f"http://127.0.0.1:{port}"
    hub = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--db", db, "--port", str(port)])
    try:
        if not _wait_ready(f"{base}/api/v1/health", hub):
            print(f"jiaohao: the hub did not start on port {port} (is the port in use?)", file=sys.stderr)
            return 1
        print()
        print("jiaohao is up with the demo office. Try it:")
        print(f"  take a ticket:   curl -X POST -H 'Authorization: Bearer demo-kiosk-1-token' "
              f"-H 'Content-Type: application/json' -d '{{\"service\":\"general\"}}' {base}/api/v1/tickets")
        print(f"  call it:         curl -X POST -H 'Authorization: Bearer demo-counter-3-token' "
              f"{base}/api/v1/counters/3/next")
        print(f"  what phones see: {base}/api/v1/public/status")
        print("  not yet here:    the kiosk (issue #3) and the TV board (issue #4) are not built.")
        print("Ctrl-C stops everything.")
        sys.stdout.flush()
        return hub.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if hub.poll() is None:
            hub.send_signal(signal.SIGTERM)
            try:
                hub.wait(timeout=5)
            except subprocess.TimeoutExpired:
                hub.kill()
        os.environ.pop("JIAOHAO_UP", None)
