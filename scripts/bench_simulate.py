"""`jiaohao simulate` (issue #12): how the time of a simulated day grows with citizens and counters.

    .venv/bin/python scripts/bench_simulate.py [--repeat 3]

(a) Generated offices of C counters (2 to 32) that all serve two services, general (10 min) and
    quick (4 min), one of them kept for the priority lanes from 4 counters on, for a day of H
    opening hours (4, 9 or 16). The built-in profile brings 85 % of what the counters can serve, so
    citizens grow with C x H: at fixed C the number of citizens alone grows, at fixed H both do.
(b) The demo office (server/demo_office.toml) and the test office with one priority counter
    (tests/fixtures/priority_office.toml), one day each, and the demo office with --db (SQLite in a
    temp dir, every Change committed in batches).

Each figure is the fastest of --repeat runs of server.simulate.run in this process
(time.perf_counter around the call, and time.process_time: this process's CPU in that run; the
machine is shared, the fastest run is the one least disturbed). Nothing here is asserted by a test.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.config import load_office, parse_office  # noqa: E402
from server.engine.office import Office  # noqa: E402
from server.simulate import DEFAULT_HOURS, builtin_profile, run  # noqa: E402

DAY = date(2026, 11, 2)


def office(counters: int) -> Office:
    rows: list[dict[str, Any]] = []
    for i in range(1, counters + 1):
        row: dict[str, Any] = {"id": str(i), "name": f"{i}號櫃台", "services": ["general", "quick"]}
        if counters >= 4 and i == counters:
            row["lanes"] = ["elderly", "disability"]
        rows.append(row)
    return parse_office({
        "office": {"name": "測試", "timezone": "Asia/Taipei"},
        "services": [{"id": "general", "name": "綜合", "prefix": "A", "last": 9999, "default_minutes": 10},
                     {"id": "quick", "name": "快速", "prefix": "B", "last": 9999, "default_minutes": 4}],
        "lanes": [{"id": "elderly", "name": "樂齡", "weight": 10}, {"id": "disability", "name": "愛心", "weight": 10}],
        "policy": {"mode": "interleave", "priority_run": 2},
        "counters": rows,
    })


def timed(repeat: int, fn: Any) -> tuple[float, float, dict[str, Any]]:
    """The fastest of `repeat` runs: wall seconds, and this process's CPU seconds in that run."""
    best, cpu, out = float("inf"), 0.0, {}
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall = time.perf_counter() - t0
        if wall < best:
            best, cpu = wall, time.process_time() - c0
    return best, cpu, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    print(f"commit {commit}, Python {platform.python_version()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}\n")
    print("| counters | hours | citizens | seconds | CPU s | ms per citizen | within range % |")
    print("|---|---|---|---|---|---|---|")
    for counters in (2, 4, 8, 16, 32):
        o = office(counters)
        for hours in (4, 9, 16):
            base = builtin_profile(o)
            # The same load over a longer or shorter day: the 9-hour shape, repeated or cut.
            shape = [base.per_hour[k] for k in base.per_hour]
            per_hour = {k: tuple(v[i % len(DEFAULT_HOURS)] for i in range(hours))
                        for k, v in zip(base.per_hour, shape, strict=True)}
            profile = type(base)(tuple(range(6, 6 + hours)), per_hour, base.no_show_pct)
            seconds, cpu, fig = timed(args.repeat, lambda o=o, p=profile: run(o, [DAY], 1, p))
            print(f"| {counters} | {hours} | {fig['tickets']} | {seconds:.2f} | {cpu:.2f} "
                  f"| {1000 * seconds / fig['tickets']:.2f} | {fig['estimate']['within_range_pct']} |")
    print("\n| office | citizens | seconds | CPU s | ms per citizen |")
    print("|---|---|---|---|---|")
    demo = load_office(None)
    for name, o in (("demo office", demo),
                    ("priority office", load_office(ROOT / "tests" / "fixtures" / "priority_office.toml"))):
        seconds, cpu, fig = timed(args.repeat, lambda o=o: run(o, [DAY], 1))
        print(f"| {name} | {fig['tickets']} | {seconds:.2f} | {cpu:.2f} | {1000 * seconds / fig['tickets']:.2f} |")

    def with_db() -> dict[str, Any]:
        from server.store import Store

        with tempfile.TemporaryDirectory() as tmp:
            store = Store(Path(tmp) / "sim.db")
            try:
                return run(demo, [DAY], 1, store=store)
            finally:
                store.close()

    seconds, cpu, fig = timed(args.repeat, with_db)
    per = 1000 * seconds / fig["tickets"]
    print(f"| demo office, --db | {fig['tickets']} | {seconds:.2f} | {cpu:.2f} | {per:.2f} |")


if __name__ == "__main__":
    main()
