"""Issuing throughput: durable tickets per second, and p50/p99 latency, with 1 and 16 kiosks.

    .venv/bin/python scripts/bench_issue.py [--duration 10] [--kiosks 1,16] [--no-extra]

Each kiosk is its own spawned process with one requests.Session (keep-alive, as a real kiosk
keeps its connection), POSTing /api/v1/tickets back to back for a fixed time, rotating over the six
demo services (every tenth ticket in the "elderly" lane). Every run gets a fresh hub process and a
fresh temp DB; nobody calls tickets meanwhile, so the waiting queue only grows. All kiosks start at
once (after they have all imported and connected) and stop at the deadline or after their share of
4,800 tickets (the demo office holds 6 × 999 open numbers a day).

Also measured in the same run, for context: one durable SQLite commit alone (WAL, synchronous=FULL,
autocommit INSERT of a ticket-sized row, one thread, 3 s), in the same temp directory, before and
after the hub runs (the two differ when something else on the machine is using the disk). With the extra
runs (default on) the same kiosks also run with a new TCP connection per request ("new conn"), which
shows how much of the keep-alive latency is the server's own work.

Latency is time.monotonic() around each requests.post; p99 is nearest rank. Only 127.0.0.1 is used;
every process started here is stopped here.
"""

from __future__ import annotations

import argparse
import collections
import math
import sqlite3
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench_common import (
    KIOSK_TOKENS,
    SERVICES,
    auth,
    cpu_s,
    fmt,
    median,
    nearest_rank,
    print_machine,
    run_with_cleanup,
    start_hub,
    table,
)

MAX_TICKETS = 4800


def kiosk_worker(kid: int, url: str, token: str, duration: float, quota: int, keepalive: bool,
                 ready: Any, go: Any, out: Any) -> None:
    import requests

    session = requests.Session()
    headers = auth(token)
    # One request first so the connection exists and every import is done before the clock starts.
    session.get(f"{url}/api/v1/health", timeout=10)
    ready.put(kid)
    go.wait(30)
    start = time.monotonic()
    end = start + duration
    results: list[tuple[float, float, int | str]] = []
    i = 0
    while time.monotonic() < end and len(results) < quota:
        body = {"service": SERVICES[(kid + i) % len(SERVICES)], "lane": "elderly" if i % 10 == 9 else "normal"}
        t0 = time.monotonic()
        try:
            if keepalive:
                status = session.post(f"{url}/api/v1/tickets", json=body, headers=headers, timeout=10).status_code
            else:  # a new session, so a new TCP connection, for every ticket
                with requests.Session() as once:
                    status = once.post(f"{url}/api/v1/tickets", json=body, headers=headers, timeout=10).status_code
        except requests.RequestException as e:
            status = type(e).__name__
        t1 = time.monotonic()
        results.append((t1, t1 - t0, status))
        i += 1
    session.close()
    out.put((kid, start, results))


@dataclass
class Run:
    name: str
    kiosks: int
    ok: int = 0
    errors: int = 0
    elapsed: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    done: list[tuple[float, float]] = field(default_factory=list)  # (completion time, latency ms), ok only
    cpu_ms_per_ticket: float = math.nan
    error_kinds: collections.Counter[str] = field(default_factory=collections.Counter)

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def row(self) -> list[str]:
        lat = self.latencies_ms
        return [self.name, str(self.kiosks), str(self.ok), str(self.errors), fmt(self.elapsed), fmt(self.rate, 0),
                fmt(median(lat), 2), fmt(nearest_rank(lat, 99), 2), fmt(max(lat) if lat else None, 1),
                fmt(self.cpu_ms_per_ticket, 2)]


HEADERS = ["what", "kiosks", "tickets", "errors", "seconds", "tickets/s", "p50 ms", "p99 ms", "max ms",
           "hub CPU ms/ticket"]


def sqlite_alone(tmp: Path, when: str, seconds: float = 3.0) -> Run:
    """One durable commit at a time: the floor under any durable ticket."""
    conn = sqlite3.connect(tmp / f"sqlite-alone-{when}.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE tickets (id TEXT PRIMARY KEY, service TEXT, lane TEXT, number TEXT, issued_at TEXT, "
                 "detail TEXT)")
    run = Run(f"SQLite commit alone, {when}", 1)
    start = time.monotonic()
    n = 0
    while time.monotonic() - start < seconds:
        t0 = time.monotonic()
        conn.execute("INSERT INTO tickets VALUES (?, ?, ?, ?, ?, ?)",
                     (f"id-{n:08d}-abcdefghijkl", "general", "normal", f"A{n % 999 + 1:03d}",
                      "2026-11-23T09:00:00.000+08:00", "x" * 200))
        t1 = time.monotonic()
        run.latencies_ms.append((t1 - t0) * 1000)
        n += 1
    run.elapsed = time.monotonic() - start
    run.ok = n
    conn.close()
    return run


def hub_run(tmp: Path, name: str, kiosks: int, duration: float, keepalive: bool) -> Run:
    import multiprocessing as mp
    import queue

    ctx = mp.get_context("spawn")
    server = start_hub(tmp, f"issue-{kiosks}-{'ka' if keepalive else 'nc'}")
    procs: list[Any] = []
    run = Run(name, kiosks)
    try:
        ready, out, go = ctx.Queue(), ctx.Queue(), ctx.Event()
        quota = MAX_TICKETS // kiosks
        for k in range(kiosks):
            p = ctx.Process(target=kiosk_worker, daemon=True, args=(
                k, server.url, KIOSK_TOKENS[k % len(KIOSK_TOKENS)], duration, quota, keepalive, ready, go, out))
            p.start()
            procs.append(p)
        for _ in range(kiosks):
            ready.get(timeout=60)
        cpu0 = cpu_s([server.pid])
        t_go = time.monotonic()
        go.set()
        last = t_go
        for _ in range(kiosks):
            try:
                _kid, _start, results = out.get(timeout=duration + 60)
            except queue.Empty:
                raise RuntimeError("a kiosk process did not report") from None
            for t_done, lat, status in results:
                last = max(last, t_done)
                if status == 201:
                    run.ok += 1
                    run.latencies_ms.append(lat * 1000)
                    run.done.append((t_done, lat * 1000))
                else:
                    run.errors += 1
                    run.error_kinds[str(status)] += 1
        run.elapsed = last - t_go
        run.cpu_ms_per_ticket = (cpu_s([server.pid]) - cpu0) * 1000 / max(1, run.ok)
    finally:
        for p in procs:
            p.join(timeout=2)  # they have reported by now, unless we are interrupted
            if p.is_alive():
                p.terminate()
                p.join(timeout=5)
        server.stop()
    return run


def by_depth(run: Run, step: int = 1000) -> list[list[str]]:
    """The same run cut by how many tickets were already waiting: the hub's cost grows with the queue."""
    done = sorted(run.done)
    rows = []
    for lo in range(0, len(done), step):
        part = done[lo:lo + step]
        if len(part) < 50:
            break
        span = part[-1][0] - part[0][0]
        lat = [x[1] for x in part]
        rows.append([run.name, f"{lo}–{lo + len(part)}", fmt(len(part) / span if span else None, 0),
                     fmt(median(lat), 2), fmt(nearest_rank(lat, 99), 2)])
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description="ticket issuing throughput and latency")
    p.add_argument("--duration", type=float, default=10.0, help="seconds per run (default 10)")
    p.add_argument("--kiosks", default="1,16", help="concurrent kiosks per run (default 1,16)")
    p.add_argument("--no-extra", action="store_true", help="skip the new-connection-per-request runs")
    args = p.parse_args()
    counts = [int(k) for k in args.kiosks.split(",")]

    print_machine()
    started = time.monotonic()
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="jiaohao-bench-") as d:
        tmp = Path(d)
        runs.append(sqlite_alone(tmp, "before"))
        modes = [True] if args.no_extra else [True, False]
        for keepalive in modes:
            for k in counts:
                name = "hub, keep-alive" if keepalive else "hub, new conn per request"
                run = hub_run(tmp, name, k, args.duration, keepalive)
                runs.append(run)
                lat = run.latencies_ms
                print(f"  {name:28} kiosks={k:<3} {fmt(run.rate, 0)} tickets/s, p50 {fmt(median(lat), 1)} ms, "
                      f"p99 {fmt(nearest_rank(lat, 99), 1)} ms, errors {run.errors} {dict(run.error_kinds)}",
                      flush=True)
        runs.append(sqlite_alone(tmp, "after"))
    print()
    print(table(HEADERS, [r.row() for r in runs]))
    print()
    depth_rows = [row for r in runs if r.name.startswith("hub") and r.kiosks == max(counts) for row in by_depth(r)]
    if depth_rows:
        print(table(["run (most kiosks)", "tickets already issued", "tickets/s", "p50 ms", "p99 ms"], depth_rows))
        print()
    goal = next((r for r in runs if r.kiosks == 16 and r.name == "hub, keep-alive"), None)
    if goal:
        p99 = nearest_rank(goal.latencies_ms, 99)
        rate_ok, p99_ok = goal.rate >= 500, p99 < 50
        print(table(["goal (16 kiosks, keep-alive)", "measured", "verdict"], [
            ["≥ 500 tickets/s", fmt(goal.rate, 0), "met" if rate_ok else "NOT met"],
            ["p99 < 50 ms", fmt(p99, 1), "met" if p99_ok else "NOT met"],
        ]))
    print(f"\ntotal time {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    run_with_cleanup(main)
