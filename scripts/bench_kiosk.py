"""The kiosk (issue #3): from a button press to the last byte of its ticket in a `file:` printer.

    .venv/bin/python scripts/bench_kiosk.py [--presses 50] [--paper 80,58] [--renders 50] [--hub-rev REV]

(a) Press to printed. A hub (`python -m server.cli serve`, fresh temp DB, demo office) on 127.0.0.1,
    and in this process the kiosk as tests/test_kiosk_live.py runs it: kiosk.app.KioskApp with the
    buttons and lamps of firmware_config/kiosk.example.toml (five buttons, cooldown_s 2) on gpiozero's
    MockFactory pins, kiosk.hub_client.HubClient (default timeouts, one keep-alive session, the
    demo kiosk token) and kiosk.printer.open_printer("file:PATH"). Its poll runs as in production
    (every 2 s: printer status and GET /services). Presses rotate over the five buttons, one ticket at
    a time, 0.5 s after the previous ticket is out and never within a button's cooldown (the kiosk
    would ignore it). t0 = time.monotonic() just before the button's pin.drive_low(); t1 = when the
    FilePrinter's print_ticket returns: its `with open(PATH, "ab")` block has written, flushed and
    closed the file, so the last byte is in the file (in the page cache; nothing fsyncs a printer).
    The printer instance's method is wrapped for this; at t1 the script also checks with os.stat
    that the file has grown by exactly that ticket's bytes, and reads time.process_time() (this
    process's CPU, all threads) at t0 and t1: a press whose wall time is far above its CPU time
    waited for a core. Every press must print (the file is decoded at the end with
    kiosk.escpos_decode: one ticket per press). Phases come from wrapping HubClient.issue, the
    controller's render and kiosk.printer.ticket_bytes on the same clock. Each run's first press is
    shown apart (in the first run the process opens its fonts then).
(b) The parts alone: kiosk.ticket_image.render_ticket for 80 mm (576 dots) and 58 mm (384 dots), over
    the contents of the tickets printed in (a) (the five buttons' in turn: two have the priority
    banner), and kiosk.printer.ticket_bytes (python-escpos raster, ESC/POS) of those images;
    time.perf_counter, after one warm-up call each.

Percentiles are nearest rank. --hub-rev REV runs the hub from `git archive REV` instead of the working
tree (the kiosk code measured is always the working tree's). Every process started here is stopped here;
no timing here is asserted by any test.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench_common import (
    HOST,
    KIOSK_TOKENS,
    ROOT,
    Server,
    fmt,
    free_port,
    median,
    nearest_rank,
    print_machine,
    run_with_cleanup,
    start_hub,
    start_server,
    table,
)

EXAMPLE = ROOT / "firmware_config" / "kiosk.example.toml"
GAP_S = 0.5
BOOT = "import sys; sys.path.insert(0, sys.argv.pop(1)); from server.cli import main; sys.exit(main())"


def start_hub_at(tmp: Path, tag: str, rev: str | None) -> Server:
    """bench_common.start_hub, or the same hub from `git archive REV` (the working tree's may be mid-change)."""
    if rev is None:
        return start_hub(tmp, tag)
    src = tmp / f"src-{rev}"
    if not src.exists():
        tar = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True, timeout=60).stdout
        with tarfile.open(fileobj=io.BytesIO(tar)) as t:
            t.extractall(src, filter="data")
    port = free_port()
    cmd = [sys.executable, "-c", BOOT, str(src), "serve", "--db", str(tmp / f"{tag}.db"), "--host", HOST,
           "--port", str(port)]
    return start_server(tag, cmd, port, tmp / f"{tag}.log", ready_text="jiaohao hub ready")


def hub_source(rev: str | None) -> str:
    if rev is None:
        return "the working tree"
    full = subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True,
                          timeout=10).stdout.strip()
    return f"git archive {rev} ({full or '?'})"


def stats_row(name: str, values: list[float], digits: int = 1) -> list[str]:
    return [name, str(len(values)), fmt(median(values), digits), fmt(nearest_rank(values, 95), digits),
            fmt(max(values) if values else None, digits)]


@dataclass
class Press:
    button: str
    t0: float = 0.0
    issue: tuple[float, float] = (0.0, 0.0)
    render: tuple[float, float] = (0.0, 0.0)
    encode: tuple[float, float] = (0.0, 0.0)
    written: float = 0.0
    cpu_ms: float = 0.0  # this process's CPU time (all threads) from t0 to t1 (process_time at t0 until then)
    size_ok: bool = False
    number: str = ""

    @property
    def total_ms(self) -> float:
        return (self.written - self.t0) * 1000


@dataclass
class PressRun:
    paper: int
    presses: list[Press] = field(default_factory=list)
    contents: list[Any] = field(default_factory=list)  # TicketContent of each printed ticket
    decoded: int = 0
    failures: list[str] = field(default_factory=list)


def kiosk_config(paper: int) -> Any:
    from kiosk.config import parse_kiosk

    data = tomllib.loads(EXAMPLE.read_text("utf-8"))
    data["kiosk"]["paper_mm"] = paper  # the only change to the example file
    return parse_kiosk(data)


def press_run(url: str, tmp: Path, paper: int, presses: int) -> PressRun:
    from gpiozero.pins.mock import MockFactory

    import kiosk.printer as printer_mod
    from kiosk.app import KioskApp
    from kiosk.controller import Outcome
    from kiosk.escpos_decode import decode
    from kiosk.hub_client import HubClient

    out = PressRun(paper)
    path = tmp / f"tickets-{paper}mm.bin"
    config = kiosk_config(paper)
    factory = MockFactory()
    hub = HubClient(url, KIOSK_TOKENS[0])
    printer = printer_mod.open_printer(f"file:{path}")
    app = KioskApp(config, hub, printer, factory, server_url=url)
    current: list[Press] = []
    sizes = [0]

    real_issue, real_print = hub.issue, printer.print_ticket
    real_render, real_bytes = app.controller.render, printer_mod.ticket_bytes

    def issue(*a: Any, **kw: Any) -> Any:
        t = time.monotonic()
        r = real_issue(*a, **kw)
        if current:
            current[-1].issue = (t, time.monotonic())
            current[-1].number = str(r[0]["number"])
        return r

    def render(content: Any, width: int) -> Any:
        t = time.monotonic()
        image = real_render(content, width)
        if current:
            current[-1].render = (t, time.monotonic())
            out.contents.append(content)
        return image

    def ticket_bytes(image: Any) -> bytes:
        t = time.monotonic()
        data = real_bytes(image)
        if current:
            current[-1].encode = (t, time.monotonic())
            sizes.append(sizes[-1] + len(data))
        return data

    def print_ticket(image: Any) -> None:
        real_print(image)
        t = time.monotonic()
        if current:
            current[-1].written = t
            current[-1].cpu_ms = time.process_time() * 1000 - current[-1].cpu_ms
            current[-1].size_ok = path.stat().st_size == sizes[-1]

    hub.issue = issue  # type: ignore[method-assign]
    printer.print_ticket = print_ticket  # type: ignore[method-assign]
    app.controller.render = render
    printer_mod.ticket_bytes = ticket_bytes
    poll = threading.Thread(target=app.run, name="kiosk-poll", daemon=True)
    poll.start()
    try:
        deadline = time.monotonic() + 20
        while not app.controller.can_print:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the kiosk is not ready: {app.controller.status()}")
            time.sleep(0.02)
        buttons = [b.id for b in config.buttons]
        for i in range(presses + 1):  # the first press is the cold one
            bid = buttons[i % len(buttons)]
            quiet = app.controller.quiet_until.get(bid, 0.0)
            time.sleep(max(GAP_S, quiet - time.monotonic() + 0.05))
            pin = app.panel.buttons[bid].pin
            press = Press(bid)
            current.append(press)
            press.cpu_ms = time.process_time() * 1000
            press.t0 = time.monotonic()
            pin.drive_low()
            pin.drive_high()
            for t in list(app.presses):
                t.join(timeout=30)
            result = app.controller.last_result
            if result is None or result.outcome != Outcome.PRINTED or not press.written:
                out.failures.append(f"press {i} ({bid}): {result.outcome if result else 'nothing'}")
            out.presses.append(press)
        out.decoded = len(decode(path.read_bytes()).tickets)
    finally:
        printer_mod.ticket_bytes = real_bytes
        app.close()
        poll.join(timeout=10)
        factory.reset()
    return out


def parts(contents: list[Any], renders: int) -> list[list[str]]:
    from kiosk.printer import ticket_bytes
    from kiosk.ticket_image import render_ticket

    picks = contents[-5:]  # one of each button, in turn
    rows = []
    for paper, width in ((80, 576), (58, 384)):
        render_ticket(picks[0], width)  # warm-up: fonts opened and cached
        r_ms, e_ms, kb, heights = [], [], [], []
        for i in range(renders):
            t0 = time.perf_counter()
            image = render_ticket(picks[i % len(picks)], width)
            t1 = time.perf_counter()
            data = ticket_bytes(image)
            t2 = time.perf_counter()
            r_ms.append((t1 - t0) * 1000)
            e_ms.append((t2 - t1) * 1000)
            kb.append(len(data) / 1024)
            heights.append(image.height)
        size = f"{width}×{min(heights)}–{max(heights)}"
        rows.append(stats_row(f"render_ticket, {paper} mm ({size} dots)", r_ms))
        rows.append(stats_row(f"ticket_bytes (ESC/POS), {paper} mm ({fmt(median(kb), 0)} KB)", e_ms))
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description="kiosk: press to printed ticket, render and encode times")
    p.add_argument("--presses", type=int, default=50, help="timed presses per paper width (default 50)")
    p.add_argument("--paper", default="80,58", help="paper widths for the presses (default 80,58)")
    p.add_argument("--renders", type=int, default=50, help="renders per width in (b) (default 50)")
    p.add_argument("--hub-rev", metavar="REV", help="run the hub from this commit instead of the working tree")
    args = p.parse_args()
    papers = [int(x) for x in args.paper.split(",")]

    print_machine()
    print(f"hub from {hub_source(args.hub_rev)}")
    started = time.monotonic()
    runs: list[PressRun] = []
    with tempfile.TemporaryDirectory(prefix="jiaohao-bench-") as d:
        tmp = Path(d)
        for paper in papers:
            hub = start_hub_at(tmp, f"hub-{paper}", args.hub_rev)
            try:
                run = press_run(hub.url, tmp, paper, args.presses)
            finally:
                hub.stop()
            runs.append(run)
            timed = run.presses[1:]
            print(f"  {paper} mm: {len(timed)} presses, median {fmt(median([x.total_ms for x in timed]))} ms, "
                  f"{len(run.failures)} failures, {run.decoded} tickets in the file", flush=True)
        part_rows = parts(runs[-1].contents, args.renders)

    print()
    rows = []
    for run in runs:
        cold, timed = run.presses[0], run.presses[1:]
        pfx = f"{run.paper} mm"
        rows += [
            stats_row(f"{pfx}: press → issue sent (press thread, cooldown, printer status)",
                      [(x.issue[0] - x.t0) * 1000 for x in timed]),
            stats_row(f"{pfx}: POST /tickets (HubClient.issue)", [(x.issue[1] - x.issue[0]) * 1000 for x in timed]),
            stats_row(f"{pfx}: render_ticket", [(x.render[1] - x.render[0]) * 1000 for x in timed]),
            stats_row(f"{pfx}: ticket_bytes (ESC/POS)", [(x.encode[1] - x.encode[0]) * 1000 for x in timed]),
            stats_row(f"{pfx}: write to the file", [(x.written - x.encode[1]) * 1000 for x in timed]),
            stats_row(f"**{pfx}: press → last byte in the file**", [x.total_ms for x in timed]),
            stats_row(f"{pfx}: CPU time of this process meanwhile (all threads)", [x.cpu_ms for x in timed]),
            [f"{pfx}: the run's first press (not in the rows above)", "1", fmt(cold.total_ms), "", ""],
        ]
    print("(a) press to printed, ms (hub on loopback, `file:` printer)\n")
    print(table(["step", "presses", "p50 ms", "p95 ms", "max ms"], rows))
    problems = [f for r in runs for f in r.failures]
    bad_size = sum(1 for r in runs for x in r.presses if not x.size_ok)
    print(f"\nevery press printed: {'yes' if not problems else 'NO: ' + '; '.join(problems[:5])}; "
          f"tickets decoded from the files: {', '.join(f'{r.decoded} ({r.paper} mm)' for r in runs)}; "
          f"file size checks failed: {bad_size}")
    print("\n(b) the parts alone, ms\n")
    print(table(["what", "runs", "median ms", "p95 ms", "max ms"], part_rows))
    print()
    verdicts = []
    for run in runs:
        timed = [x.total_ms for x in run.presses[1:]]
        p95 = nearest_rank(timed, 95)
        over = sum(1 for x in timed if x >= 150)
        verdicts.append([f"press → printed, {run.paper} mm: p95 < 150 ms",
                         f"p50 {fmt(median(timed))}, p95 {fmt(p95)} ms ({over} of {len(timed)} presses ≥ 150 ms)",
                         "met" if p95 < 150 else "NOT met"])
    print(table(["goal", "measured", "verdict"], verdicts))
    print(f"\ntotal time {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    run_with_cleanup(main)
