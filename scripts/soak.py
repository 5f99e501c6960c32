"""Soak: hours of an office compressed into minutes, against a real `jiaohao serve` on loopback.

    .venv/bin/python scripts/soak.py [--tickets 4000] [--boards 100] [--kiosks 4] [--counters 8] [--max-s 900]

Kiosks issue tickets as fast as the counters keep the queue short (each with an Idempotency-Key, and
one press in ten retried with the same key, as a kiosk does after a lost answer); counters call the
next number, recall now and then, and finish; 100 boards (python-socketio, websocket, in 4 client
processes) receive every event. Every 250 tickets the hub's RSS, its open file descriptors and the
size of the database's WAL are sampled. It stops by itself after --tickets tickets or --max-s
seconds, whichever comes first, and stops everything it started. Only 127.0.0.1 is used.

The verdict: RSS after the first thousand tickets stays within 10 % of its value at the thousandth
(issue #14: memory must not grow for the life of the process); descriptors and WAL stay bounded.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import threading
import time
import uuid
from pathlib import Path

from bench_common import (
    DISPLAY_TOKEN,
    KIOSK_TOKENS,
    ClientFleet,
    auth,
    counter_token,
    fmt,
    print_machine,
    run_with_cleanup,
    start_hub,
    table,
)

SAMPLE_EVERY = 250
WARM_TICKETS = 1000
FLAT_PCT = 10.0
MAX_WAITING = 40  # kiosks pause while this many wait: the queue of a busy morning, not an ever-longer one


def main() -> int:
    import psutil
    import requests

    p = argparse.ArgumentParser(description="compressed hours of kiosks, counters and boards against one hub")
    p.add_argument("--tickets", type=int, default=4000)
    p.add_argument("--boards", type=int, default=100)
    p.add_argument("--kiosks", type=int, default=4)
    p.add_argument("--counters", type=int, default=8)
    p.add_argument("--max-s", type=float, default=900.0, help="stop after this many seconds in any case")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()

    print_machine()
    started = time.monotonic()
    deadline = started + args.max_s
    stop = threading.Event()
    lock = threading.Lock()
    issued = [0]
    errors: list[str] = []
    samples: list[list[str]] = []
    rss_at: dict[int, float] = {}

    with tempfile.TemporaryDirectory(prefix="jiaohao-soak-") as d:
        server = start_hub(Path(d), "soak")
        proc = psutil.Process(server.pid)
        wal = Path(d) / "soak.db-wal"
        fleet = None

        def sample(n: int) -> None:
            rss = proc.memory_info().rss / 2**20
            rss_at[n] = rss
            size = wal.stat().st_size / 1024 if wal.exists() else 0.0
            samples.append([str(n), fmt(time.monotonic() - started, 0), fmt(rss), str(proc.num_fds()), fmt(size, 0)])

        def waiting(http: requests.Session) -> int:
            r = http.get(f"{server.url}/api/v1/services", headers=auth(DISPLAY_TOKEN), timeout=10)
            r.raise_for_status()
            return sum(s["waiting"] for s in r.json()["services"])

        def kiosk(k: int) -> None:
            http = requests.Session()
            token = KIOSK_TOKENS[k % len(KIOSK_TOKENS)]
            local = random.Random(args.seed * 100 + k)
            while not stop.is_set() and time.monotonic() < deadline:
                if waiting(http) >= MAX_WAITING:
                    time.sleep(0.05)
                    continue
                key = str(uuid.uuid4())
                body = {"service": local.choice(("general", "quick")),
                        "lane": local.choice(("normal",) * 8 + ("elderly", "disability"))}
                for _ in range(2 if local.random() < 0.1 else 1):  # a lost answer, retried with the same key
                    r = http.post(f"{server.url}/api/v1/tickets", json=body,
                                  headers={**auth(token), "Idempotency-Key": key}, timeout=30)
                    if r.status_code not in (200, 201):
                        with lock:
                            errors.append(f"issue {r.status_code} {r.text[:100]}")
                with lock:
                    issued[0] += 1
                    n = issued[0]
                if n % SAMPLE_EVERY == 0:
                    sample(n)
                if n >= args.tickets:
                    stop.set()

        def counter(cid: str) -> None:
            http = requests.Session()
            local = random.Random(args.seed * 1000 + int(cid))
            while not stop.is_set() and time.monotonic() < deadline:
                r = http.post(f"{server.url}/api/v1/counters/{cid}/next", headers=auth(counter_token(cid)), timeout=30)
                if r.status_code != 200:
                    with lock:
                        errors.append(f"next {r.status_code} {r.text[:100]}")
                    continue
                if r.json()["ticket"] is None:
                    time.sleep(0.05)
                    continue
                if local.random() < 0.1:
                    http.post(f"{server.url}/api/v1/counters/{cid}/recall", headers=auth(counter_token(cid)),
                              timeout=30)

        try:
            fleet = ClientFleet(server.url, DISPLAY_TOKEN, args.boards, procs=4)
            fleet.start()
            sample(0)
            workers = [threading.Thread(target=kiosk, args=(k,)) for k in range(args.kiosks)]
            workers += [threading.Thread(target=counter, args=(str(3 + i),)) for i in range(args.counters)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            stopped_by = "tickets" if issued[0] >= args.tickets else "time"
        finally:
            stop.set()
            if fleet is not None:
                fleet.close()
            server.stop()

    print()
    print(table(["tickets", "s", "RSS MB", "fds", "WAL KiB"], samples))
    print(f"\n{issued[0]} tickets, stopped by {stopped_by}, {len(errors)} errors {errors[:3]}")
    warm = min((n for n in rss_at if n >= WARM_TICKETS), default=None)
    if warm is None:
        print(f"fewer than {WARM_TICKETS} tickets: no verdict")
        return 1
    later = [rss for n, rss in rss_at.items() if n >= warm]
    growth = (max(later) - rss_at[warm]) / rss_at[warm] * 100
    verdict = "met" if growth <= FLAT_PCT and not errors else "NOT met"
    print(table(["goal", "measured", "verdict"],
                [[f"RSS within {FLAT_PCT:.0f} % after the first {WARM_TICKETS} tickets",
                  f"{rss_at[warm]:.1f} -> max {max(later):.1f} MB ({growth:+.1f} %)", verdict]]))
    print(f"\ntotal time {time.monotonic() - started:.0f} s")
    return 0 if verdict == "met" else 1


if __name__ == "__main__":
    run_with_cleanup(main)
