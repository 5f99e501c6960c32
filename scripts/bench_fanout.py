"""Call-to-display latency: from just before POST /counters/{id}/next until ALL N clients have the `call`.

    .venv/bin/python scripts/bench_fanout.py [--sizes 1,50,200] [--rounds 30] [--warmup 2]

For each N, the hub (`python -m server.cli serve`, fresh temp DB) and the BARE baseline
(scripts/bench_baseline_app.py: Flask-SocketIO threading mode on Werkzeug, one durable SQLite write,
`call` + `queue` to everyone) are each started fresh and measured the same way, following the
Setup section of shared/reference/fanout.md:

* N python-socketio clients (`transports=["websocket"]`, no reconnection) spread over 4 spawned
  processes, at most 40 handshakes at once; the hub's clients use the display token. The client
  processes are gevent-patched and skip websocket-client's pure-Python UTF-8 check (see
  bench_common.client_worker): the reference used asyncio clients on aiohttp, which jiaohao does
  not install, and plain threaded clients cost several times the CPU on this 2-core machine.
* The hub gets enough tickets first (POST /tickets, general) so every round calls one; rounds rotate
  over counters 3..10 with each counter's own token.
* Each round: t0 = time.monotonic() just before the POST; the first statement of every client's `call`
  handler reads time.monotonic() (system-wide clock); latency = max over the N clients of (receive − t0).
  A worker tells the driver over a multiprocessing pipe when all its clients have the round's call
  (matched by ticket number); a round waits at most 3 s (clients still missing then count as lost),
  then sleeps 200 ms. 2 warm-up rounds are not counted.
* p95 is nearest rank (of 30 values: the 29th, the second worst).

Also shown: POST round trip, server CPU per call (user+sys over the measured rounds / rounds),
client CPU per call (all client processes), server RSS with N connected, time to connect all N, and
the fewest `queue` events any client received (every round causes one, warm-up included).
--pin puts the servers on CPU 0 and the driver and clients on CPU 1.
Everything runs on 127.0.0.1; every process started here is stopped here.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench_common import (
    DISPLAY_TOKEN,
    KIOSK_TOKENS,
    ClientFleet,
    Server,
    auth,
    counter_token,
    cpu_s,
    fmt,
    median,
    nearest_rank,
    pin,
    print_machine,
    rss_mb,
    run_with_cleanup,
    start_baseline,
    start_hub,
    table,
)

COUNTERS = [str(c) for c in range(3, 11)]  # demo counters 3..10 serve "general"


@dataclass
class Run:
    server: str
    n: int
    latencies_ms: list[float] = field(default_factory=list)
    post_ms: list[float] = field(default_factory=list)
    lost: int = 0
    timeouts: int = 0
    server_cpu_ms: float = 0.0
    client_cpu_ms: float = 0.0
    rss_mb: float = 0.0
    connect_s: float = 0.0
    queue_min: int = 0
    offsets_s: list[float] = field(default_factory=list)  # each measured round's t0, from the first one

    def row(self) -> list[str]:
        lat = self.latencies_ms
        return [self.server, str(self.n), fmt(median(lat)), fmt(nearest_rank(lat, 95)), fmt(max(lat) if lat else None),
                str(self.lost), fmt(median(self.post_ms)), fmt(self.server_cpu_ms), fmt(self.client_cpu_ms),
                fmt(self.rss_mb, 0), fmt(self.connect_s, 2), str(self.queue_min)]


HEADERS = ["server", "N", "median ms", "p95 ms", "max ms", "lost", "POST ms (median)", "server CPU ms/call",
           "client CPU ms/call", "server RSS MB", "connect all s", "queue events (fewest)"]


def measure(server: Server, kind: str, n: int, rounds: int, warmup: int, gap: float, timeout: float,
            procs: int) -> Run:
    import requests  # here, not at the top: the client processes import this module before gevent patches

    run = Run(kind, n)
    http = requests.Session()
    total = rounds + warmup
    if kind == "hub":
        # One waiting ticket for every round, and a few spare.
        for i in range(total + len(COUNTERS)):
            r = http.post(f"{server.url}/api/v1/tickets", json={"service": "general"},
                          headers=auth(KIOSK_TOKENS[i % 2]), timeout=10)
            r.raise_for_status()
    fleet = ClientFleet(server.url, DISPLAY_TOKEN, n, procs=procs)
    try:
        fleet.start()
        run.connect_s = fleet.connect_s
        time.sleep(1.0)
        run.rss_mb = rss_mb(server.pid)
        starts: list[tuple[str, float]] = []
        cpu0 = cpu1 = cl0 = cl1 = 0.0
        for r in range(total):
            if r == warmup:
                cpu0, cl0 = cpu_s([server.pid]), cpu_s(fleet.pids)
            cid = COUNTERS[r % len(COUNTERS)]
            t0 = time.monotonic()
            resp = http.post(f"{server.url}/api/v1/counters/{cid}/next", headers=auth(counter_token(cid)), timeout=10)
            post = time.monotonic() - t0
            resp.raise_for_status()
            ticket = resp.json()["ticket"]
            if ticket is None:
                raise RuntimeError(f"{kind}: counter {cid} had nothing to call in round {r}")
            key = str(ticket["number"])
            if not fleet.wait_round(key, t0 + timeout):
                run.timeouts += r >= warmup
            if r >= warmup:
                starts.append((key, t0))
                run.post_ms.append(post * 1000)
            if r == total - 1:
                cpu1, cl1 = cpu_s([server.pid]), cpu_s(fleet.pids)
            time.sleep(gap)
        received = fleet.finish()
        for key, t0 in starts:
            run.offsets_s.append(t0 - starts[0][1])
            times = [c[key] for c in received if key in c]
            run.lost += n - len(times)
            if times:
                run.latencies_ms.append((max(times) - t0) * 1000)
        qc = fleet.queue_counts()
        run.queue_min = min(qc) if qc else 0
        run.server_cpu_ms = (cpu1 - cpu0) * 1000 / rounds
        run.client_cpu_ms = (cl1 - cl0) * 1000 / rounds
    finally:
        fleet.close()
        http.close()
    return run


def main() -> int:
    p = argparse.ArgumentParser(description="call-to-display latency: hub vs a bare Flask-SocketIO baseline")
    p.add_argument("--sizes", default="1,50,200", help="numbers of clients (default 1,50,200)")
    p.add_argument("--rounds", type=int, default=30)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--gap", type=float, default=0.2, help="seconds between rounds")
    p.add_argument("--timeout", type=float, default=3.0, help="seconds a round waits before counting loss")
    p.add_argument("--procs", type=int, default=4, help="client processes")
    p.add_argument("--only", choices=["hub", "baseline"], help="measure one server only")
    p.add_argument("--pin", action="store_true",
                   help="server on CPU 0, driver and clients on CPU 1 (displays on other machines, roughly)")
    p.add_argument("--verbose", action="store_true", help="print every round: its start (s) and latency (ms)")
    args = p.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    print_machine()
    if args.pin:
        pin({0}, {1})
        print("pinned: servers on CPU 0; driver and client processes on CPU 1")
    print(f"rounds {args.rounds} (+{args.warmup} warm-up), gap {args.gap} s, {args.procs} client processes, "
          f"sizes {sizes}")
    runs: list[Run] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="jiaohao-bench-") as d:
        tmp = Path(d)
        for i, n in enumerate(sizes):
            kinds = ["hub", "baseline"] if i % 2 == 0 else ["baseline", "hub"]  # alternate who goes first
            if args.only:
                kinds = [args.only]
            for kind in kinds:
                tag = f"{kind}-{n}"
                server = start_hub(tmp, tag) if kind == "hub" else start_baseline(tmp, tag)
                try:
                    run = measure(server, kind, n, args.rounds, args.warmup, args.gap, args.timeout, args.procs)
                finally:
                    server.stop()
                runs.append(run)
                print(f"  {kind:8} N={n:<4} median {fmt(median(run.latencies_ms))} ms, "
                      f"p95 {fmt(nearest_rank(run.latencies_ms, 95))} ms, lost {run.lost}", flush=True)
                if args.verbose:
                    print("    " + " ".join(f"{t:.1f}s:{x:.0f}" for t, x in zip(run.offsets_s, run.latencies_ms,
                                                                                  strict=False)), flush=True)
    runs.sort(key=lambda r: (r.n, r.server != "hub"))
    print()
    print(table(HEADERS, [r.row() for r in runs]))
    by = {(r.server, r.n): r for r in runs}
    print()
    rows = []
    for n, what, pct, goal in ((50, "median", 50, 1.2), (200, "p95", 95, 0.7)):
        hub, base = by.get(("hub", n)), by.get(("baseline", n))
        if not hub or not base:
            continue
        stat = median if pct == 50 else (lambda v: nearest_rank(v, 95))
        h, b = stat(hub.latencies_ms), stat(base.latencies_ms)
        ratio = h / b if b else float("nan")
        rows.append([f"{what} at N={n}", fmt(h), fmt(b), fmt(ratio, 2) + "×", f"≤ {goal}×",
                     "met" if ratio <= goal else "NOT met"])
    if rows:
        print(table(["hub/baseline", "hub ms", "baseline ms", "ratio", "goal", "verdict"], rows))
    lost = sum(r.lost for r in runs)
    print(f"\nlost events: {lost}; total time {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    run_with_cleanup(main)
