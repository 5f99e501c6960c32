"""Shared by the scripts/bench_*.py benchmarks: servers, Socket.IO client processes, statistics.

Everything here talks to 127.0.0.1 only, and every process it starts is stopped by the same
script (servers in `finally`, client processes after their results are in).
"""

from __future__ import annotations

import collections
import math
import multiprocessing as mp
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
KIOSK_TOKENS = ("demo-kiosk-1-token", "demo-kiosk-2-token")
DISPLAY_TOKEN = "demo-display-lobby-token"
ADMIN_TOKEN = "demo-admin-token"
SERVICES = ("general", "quick", "appointment", "english", "certificate", "private")


def counter_token(cid: str | int) -> str:
    return f"demo-counter-{cid}-token"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- statistics -------------------------------------------------------------------------------

def nearest_rank(values: Sequence[float], pct: float) -> float:
    """The nearest-rank percentile: p95 of 30 values is the 29th smallest (the second worst)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def fmt(x: float | None, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.{digits}f}"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A Markdown table, so the output can go into docs/benchmarks.md as it is."""
    rows = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"  # noqa: E731
    out = [line(list(headers)), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in rows]
    return "\n".join(out)


# -- the machine ------------------------------------------------------------------------------

def machine() -> dict[str, str]:
    model = "?"
    try:
        for ln in Path("/proc/cpuinfo").read_text().splitlines():
            if ln.startswith("model name"):
                model = ln.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             timeout=10).stdout.strip() or "?"
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "server"], cwd=ROOT, capture_output=True,
                               text=True, timeout=10).stdout.strip()
        rev += " (server/ has uncommitted changes)" if dirty else ""
    except (OSError, subprocess.SubprocessError):
        rev = "?"
    return {
        "commit": rev,
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "loadavg": load,
    }


def print_machine() -> None:
    m = machine()
    print(f"date {m['date']}; nproc {m['nproc']}; CPU {m['cpu']}; Python {m['python']}; "
          f"kernel {m['kernel']}; load average {m['loadavg']}; commit {m['commit']}")


# -- servers ----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


SERVER_CPUS: set[int] | None = None  # --pin: the servers run on these CPUs only


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the benchmark dies, even by SIGKILL (Linux prctl)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if SERVER_CPUS:
        os.sched_setaffinity(0, SERVER_CPUS)


def pin(server_cpus: set[int], own_cpus: set[int]) -> None:
    """Servers started from now on run on server_cpus; this process and its children on own_cpus."""
    global SERVER_CPUS
    SERVER_CPUS = server_cpus
    os.sched_setaffinity(0, own_cpus)


def start_server(name: str, cmd: list[str], port: int, log: Path, ready_text: str | None = None,
                 timeout: float = 30.0) -> Server:
    """Start a server process and wait until GET /api/v1/health answers 200 (and ready_text is logged)."""
    import requests

    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, preexec_fn=_die_with_parent)
    server = Server(name, proc, port, log)
    deadline = time.monotonic() + timeout
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} not ready after {timeout} s:\n{log.read_text(errors='replace')}")
            if ready_text is None or ready_text in log.read_text(errors="replace"):
                try:
                    if requests.get(f"{server.url}/api/v1/health", timeout=1).status_code == 200:
                        return server
                except requests.RequestException:
                    pass
            time.sleep(0.05)
    except BaseException:
        server.stop()
        raise


def start_hub(tmp: Path, tag: str = "hub") -> Server:
    port = free_port()
    db = tmp / f"{tag}.db"
    cmd = [sys.executable, "-m", "server.cli", "serve", "--db", str(db), "--host", HOST, "--port", str(port)]
    return start_server(tag, cmd, port, tmp / f"{tag}.log", ready_text="jiaohao hub ready")


def start_baseline(tmp: Path, tag: str = "baseline") -> Server:
    port = free_port()
    db = tmp / f"{tag}.db"
    cmd = [sys.executable, str(ROOT / "scripts" / "bench_baseline_app.py"), "--db", str(db), "--port", str(port)]
    return start_server(tag, cmd, port, tmp / f"{tag}.log", ready_text="baseline ready")


def rss_mb(pid: int) -> float:
    import psutil

    return float(psutil.Process(pid).memory_info().rss) / 2**20


def cpu_s(pids: Iterable[int]) -> float:
    """User + system CPU seconds of these processes so far (threads included)."""
    import psutil

    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system
    return total


# -- Socket.IO client processes ---------------------------------------------------------------

def spread(n: int, parts: int) -> list[int]:
    """n clients over `parts` processes, as evenly as possible; processes with none are left out."""
    sizes = [n // parts + (1 if i < n % parts else 0) for i in range(parts)]
    return [s for s in sizes if s > 0]


def client_worker(wid: int, url: str, token: str, n: int, handshakes: int, conn: Any) -> None:
    """One client process: n python-socketio clients (websocket transport only, no reconnection).

    The process is gevent-patched first, so python-socketio's sync Client runs its reader, writer and
    per-message handler "threads" as greenlets: 50 clients cost what 50 asyncio clients would, not 150
    OS threads fighting over the GIL (shared/reference/fanout.md used AsyncClient + aiohttp, which
    the project does not install). The first statement of the `call` handler reads time.monotonic()
    (CLOCK_MONOTONIC is system-wide, so it compares with the driver's clock). When all n clients have
    a call (keyed by ticket number) the worker tells the driver ("round", wid, number) over its pipe.
    At "stop" it sends every client's receive times back ("result", wid, ...), disconnects and exits.
    """
    from gevent import monkey

    monkey.patch_all()
    import gevent
    import gevent.event
    import gevent.pool
    import gevent.socket
    import socketio

    def send(msg: tuple[Any, ...]) -> None:
        conn.send(msg)  # a plain blocking pipe write: greenlets never interleave inside it

    calls: list[dict[str, float]] = [{} for _ in range(n)]
    queues = [0] * n
    counts: collections.Counter[str] = collections.Counter()
    got_state = [gevent.event.Event() for _ in range(n)]

    def make(i: int) -> Any:
        # websocket-client checks UTF-8 of every text frame in pure Python unless wsaccel is installed;
        # that alone was about 70 % of the client CPU (a browser board does it natively), so skip it.
        sio = socketio.Client(reconnection=False, websocket_extra_options={"skip_utf8_validation": True})

        def on_call(data: Any) -> None:
            t = time.monotonic()
            try:
                key = str(data["ticket"]["number"])
            except (KeyError, TypeError):
                return
            if key in calls[i]:
                return
            calls[i][key] = t
            counts[key] += 1
            if counts[key] == n:
                send(("round", wid, key))

        def on_queue(data: Any) -> None:
            queues[i] += 1

        def on_state(data: Any) -> None:
            got_state[i].set()

        sio.on("call", on_call)
        sio.on("queue", on_queue)
        sio.on("state", on_state)
        return sio

    clients = [make(i) for i in range(n)]
    errors: list[str] = []

    def connect(i: int) -> None:
        try:
            clients[i].connect(url, transports=["websocket"], auth={"token": token}, wait_timeout=10)
        except Exception as e:  # counted and reported; the driver decides what it means
            errors.append(f"{type(e).__name__}: {e}")

    t0 = time.monotonic()
    gevent.pool.Pool(max(1, handshakes)).map(connect, range(n))
    deadline = time.monotonic() + 10
    for i, ev in enumerate(got_state):
        if clients[i].connected:
            ev.wait(max(0.0, deadline - time.monotonic()))
    ready = sum(1 for i in range(n) if clients[i].connected and got_state[i].is_set())
    send(("ready", wid, ready, time.monotonic() - t0, errors[:3], len(errors)))

    while True:
        gevent.socket.wait_read(conn.fileno())  # cooperative: the clients keep running meanwhile
        if conn.recv() == "stop":
            break
    send(("result", wid, [dict(c) for c in calls], list(queues)))
    gevent.joinall([gevent.spawn(c.disconnect) for c in clients], timeout=5)
    conn.close()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # skip interpreter shutdown: threading was patched after import


@dataclass
class ClientFleet:
    """N Socket.IO clients spread over a few spawned processes, each talking to the driver over a pipe."""

    url: str
    token: str
    n: int
    procs: int = 4
    handshakes: int = 40  # concurrent handshakes in all
    ctx: Any = field(default_factory=lambda: mp.get_context("spawn"))
    workers: list[Any] = field(default_factory=list)
    conns: list[Any] = field(default_factory=list)
    connect_s: float = 0.0
    connected: int = 0
    errors: list[str] = field(default_factory=list)
    pending: dict[str, set[int]] = field(default_factory=lambda: collections.defaultdict(set))
    results: dict[int, tuple[list[dict[str, float]], list[int]]] = field(default_factory=dict)
    ready: int = 0

    def start(self, timeout: float = 60.0) -> None:
        sizes = spread(self.n, self.procs)
        per = max(1, self.handshakes // len(sizes))
        for wid, size in enumerate(sizes):
            mine, theirs = self.ctx.Pipe()
            p = self.ctx.Process(target=client_worker, args=(wid, self.url, self.token, size, per, theirs),
                                 daemon=True)
            p.start()
            theirs.close()
            self.workers.append(p)
            self.conns.append(mine)
        deadline = time.monotonic() + timeout
        while self.ready < len(sizes):
            if time.monotonic() > deadline:
                raise RuntimeError("client processes did not report ready in time")
            dead = [p.exitcode for p in self.workers if p.exitcode is not None]
            if dead:
                raise RuntimeError(f"a client process exited early (exit code {dead[0]}); see its traceback above")
            self._poll(min(deadline, time.monotonic() + 0.5))
        if self.connected != self.n:
            raise RuntimeError(f"only {self.connected} of {self.n} clients connected: {self.errors[:3]}")

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.workers]

    def _poll(self, deadline: float) -> bool:
        """Read whatever the workers sent until the deadline; False if nothing came."""
        from multiprocessing.connection import wait

        live = [c for c in self.conns if not c.closed]
        if not live:
            return False
        ready = wait(live, timeout=max(0.0, deadline - time.monotonic()))
        for c in ready:
            try:
                msg = c.recv()
            except (EOFError, OSError):
                c.close()
                continue
            if msg[0] == "round":
                self.pending[msg[2]].add(msg[1])
            elif msg[0] == "ready":
                self.ready += 1
                self.connected += msg[2]
                self.connect_s = max(self.connect_s, msg[3])
                self.errors += msg[4]
            elif msg[0] == "result":
                self.results[msg[1]] = (msg[2], msg[3])
        return bool(ready)

    def wait_round(self, key: str, deadline: float) -> bool:
        """True once every worker says all its clients have the call with ticket number `key`."""
        while len(self.pending[key]) < len(self.workers):
            if not self._poll(deadline):
                return False
        return True

    def finish(self, timeout: float = 20.0) -> list[dict[str, float]]:
        """Stop the clients and return every client's {ticket number: receive time}."""
        for c in self.conns:
            c.send("stop")
        deadline = time.monotonic() + timeout
        while len(self.results) < len(self.workers) and time.monotonic() < deadline:
            self._poll(deadline)
        self.close()
        out: list[dict[str, float]] = []
        for wid in sorted(self.results):
            out += self.results[wid][0]
        return out

    def queue_counts(self) -> list[int]:
        out: list[int] = []
        for wid in sorted(self.results):
            out += self.results[wid][1]
        return out

    def close(self) -> None:
        for c in self.conns:
            if not c.closed:
                try:
                    c.send("stop")
                except OSError:
                    pass
        for p in self.workers:
            p.join(timeout=10)
            if p.is_alive():
                p.terminate()
                p.join(timeout=5)
            if p.is_alive():
                p.kill()
                p.join()
        for c in self.conns:
            c.close()


def run_with_cleanup(main: Callable[[], int]) -> None:
    """Run main(); SIGTERM is turned into KeyboardInterrupt so that every `finally` runs."""

    def _term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _term)
    try:
        code = main()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        code = 130
    sys.exit(code)
