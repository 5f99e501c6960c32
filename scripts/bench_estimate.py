"""The printed wait range against the wait that followed, on simulated days (issue #12).

    .venv/bin/python scripts/bench_estimate.py [--seeds 1-16] [--loads 0.85,0.7,0.95] [--offices demo,priority]
                                               [--z 0.8 --z-few 0.2]

For each office, load and seed: one simulated day (2026-11-02, a Monday) through `server.simulate.run`,
the office file's [simulation] settings (the demo office books its appointment slots) and the
built-in arrival profile at that load (0.85 is the built-in one, `jiaohao simulate`'s day; 0.7 a light
day, 0.95 a busy one). It prints, per day, what `jiaohao simulate --json` says in `estimate` and
the median wait, and whether the goal holds: at least 80 % of tickets inside their range and the
median range no wider than the median wait. A day whose median wait is under a minute cannot meet
the second half (a range is at least a minute wide): the summary counts those apart.

"demo" is the built-in demo office, "priority" tests/fixtures/priority_office.toml (three counters
and one kept for seniors and people with disabilities, strict policy). Nothing here is asserted by a
test; tests/test_simulate.py asserts the goal on seed 1 of both. `--z` and `--z-few` measure other
ranges, the estimate ± (z + z_few / √(n + 1)) x the measured spread (server/engine/estimate.py
RANGE_Z, RANGE_Z_FEW): `--z 0 --z-few 2` is about the old ±1/√(n + 1) at a spread of 0.5.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.config import load_arrivals, load_office  # noqa: E402
from server.engine import estimate  # noqa: E402
from server.simulate import people, run  # noqa: E402

DAY = date(2026, 11, 2)
OFFICES = {"demo": None, "priority": ROOT / "tests" / "fixtures" / "priority_office.toml"}


def seeds(text: str) -> list[int]:
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def day(name: str, load: float, seed: int) -> dict[str, Any]:
    path = OFFICES[name]
    office = load_office(path)
    people.LOAD = load
    fig = run(office, [DAY], seed, load_arrivals(path, office))
    e, wait = fig["estimate"], fig["all"]["median_wait_s"]
    return {**e, "median_wait_s": wait,
            "met": e["within_range_pct"] >= 80 and e["median_range_width_s"] <= wait}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="1-16", help="a seed or a range, e.g. 1-16")
    ap.add_argument("--loads", default="0.85,0.7,0.95")
    ap.add_argument("--offices", default="demo,priority")
    ap.add_argument("--z", type=float, default=estimate.RANGE_Z)
    ap.add_argument("--z-few", type=float, default=estimate.RANGE_Z_FEW)
    args = ap.parse_args()
    estimate.RANGE_Z, estimate.RANGE_Z_FEW = args.z, args.z_few
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    print(f"commit {commit}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, "
          f"range ± ({args.z} + {args.z_few} / √(n + 1)) x spread\n")
    print("| office | load | seed | tickets | within % | below % | above % | median width s | median wait s | goal |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    summary = []
    for load in (float(x) for x in args.loads.split(",")):
        for name in args.offices.split(","):
            rows = [day(name, load, s) for s in seeds(args.seeds)]
            for s, r in zip(seeds(args.seeds), rows, strict=True):
                goal = "met" if r["met"] else ("width not met" if r["within_range_pct"] >= 80 else "not met")
                print(f"| {name} | {load} | {s} | {r['tickets']} | {r['within_range_pct']} | {r['below_range_pct']} "
                      f"| {r['above_range_pct']} | {r['median_range_width_s']} | {r['median_wait_s']} | {goal} |",
                      flush=True)
            able = [r for r in rows if r["median_wait_s"] >= 60]
            summary.append(f"| {name} | {load} | {sum(r['met'] for r in rows)} of {len(rows)} "
                           f"| {sum(r['met'] for r in able)} of {len(able)} "
                           f"| {min(r['within_range_pct'] for r in rows)} "
                           f"| {sum(r['above_range_pct'] <= r['below_range_pct'] + 5 for r in rows)} of {len(rows)} |")
    print("\n| office | load | goal met | ... of the days with a median wait of a minute or more "
          "| least within % | days leaning high |")
    print("|---|---|---|---|---|---|")
    print("\n".join(summary))


if __name__ == "__main__":
    main()
