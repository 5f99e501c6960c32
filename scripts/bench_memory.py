"""Hub memory: RSS (psutil) idle, and with 200 displays connected.

    .venv/bin/python scripts/bench_memory.py [--displays 200]

A fresh hub (`python -m server.cli serve`, fresh temp DB) is started and left alone for 2 s: "idle".
Then N python-socketio clients connect with the display token (websocket transport, spread over 4
spawned processes, as in bench_fanout.py) and every one has its `state`: 2 s later, "connected".
Then, with all of them still connected, 300 tickets are issued and 30 of them called (each call
fanned out to all N, waited for): "after traffic". A sampler reads the RSS every 100 ms throughout;
"peak" is the largest it saw. USS (memory only this process uses) is shown beside RSS.
Only 127.0.0.1 is used; every process started here is stopped here.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from bench_common import (
    DISPLAY_TOKEN,
    KIOSK_TOKENS,
    SERVICES,
    ClientFleet,
    auth,
    counter_token,
    fmt,
    print_machine,
    run_with_cleanup,
    start_hub,
    table,
)

GOAL_MB = 120.0


def mem(pid: int) -> tuple[float, float]:
    import psutil

    info = psutil.Process(pid).memory_full_info()
    return info.rss / 2**20, info.uss / 2**20


def main() -> int:
    import requests

    p = argparse.ArgumentParser(description="hub RSS idle and with N displays connected")
    p.add_argument("--displays", type=int, default=200)
    p.add_argument("--procs", type=int, default=4, help="client processes")
    args = p.parse_args()
    n = args.displays

    print_machine()
    rows: list[list[str]] = []
    peak = [0.0]
    stop = threading.Event()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="jiaohao-bench-") as d:
        server = start_hub(Path(d), "memory")

        def sample() -> None:
            while not stop.is_set():
                try:
                    peak[0] = max(peak[0], mem(server.pid)[0])
                except Exception:
                    return
                stop.wait(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        fleet = None
        http = requests.Session()
        try:
            time.sleep(2)
            rss, uss = mem(server.pid)
            rows.append(["idle (just started, no client)", "0", fmt(rss), fmt(uss)])

            fleet = ClientFleet(server.url, DISPLAY_TOKEN, n, procs=args.procs)
            fleet.start()
            time.sleep(2)
            rss, uss = mem(server.pid)
            rows.append([f"{n} displays connected", str(fleet.connected), fmt(rss), fmt(uss)])

            for i in range(300):
                svc = SERVICES[i % 2]  # general and quick: what counters 3..10 call
                http.post(f"{server.url}/api/v1/tickets", json={"service": svc}, headers=auth(KIOSK_TOKENS[i % 2]),
                          timeout=10).raise_for_status()
            for r in range(30):
                cid = str(3 + r % 8)
                t0 = time.monotonic()
                resp = http.post(f"{server.url}/api/v1/counters/{cid}/next", headers=auth(counter_token(cid)),
                                 timeout=10)
                resp.raise_for_status()
                fleet.wait_round(str(resp.json()["ticket"]["number"]), t0 + 3)
                time.sleep(0.05)
            time.sleep(2)
            rss, uss = mem(server.pid)
            rows.append([f"{n} displays, after 300 tickets and 30 calls", str(fleet.connected), fmt(rss), fmt(uss)])
        finally:
            stop.set()
            http.close()
            if fleet is not None:
                fleet.close()
            server.stop()
            sampler.join(timeout=2)
    rows.append(["peak RSS seen (every 100 ms)", "", fmt(peak[0]), ""])
    print()
    print(table(["hub state", "displays", "RSS MB", "USS MB"], rows))
    worst = max(float(r[2]) for r in rows[1:])
    print()
    print(table(["goal", "measured (worst with displays)", "verdict"],
                [[f"RSS < {GOAL_MB:.0f} MB with {n} displays", f"{worst:.1f} MB",
                  "met" if worst < GOAL_MB else "NOT met"]]))
    print(f"\ntotal time {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    run_with_cleanup(main)
