"""`jiaohao simulate` (server/cli.py registers its options; main turns SimulationError into one line)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime
from typing import Any

from .day import run
from .figures import table
from .what_if import SimulationError, business_days, default_first_day, parse_counters, with_policy


def command(args: Any) -> int:
    from ..config import load_arrivals, load_office

    office = with_policy(load_office(args.config), args.policy, args.max_wait)
    wanted = parse_counters(args.counters, office) if args.counters else None
    if args.days < 1:
        raise SimulationError(f"--days must be 1 or more (got {args.days})")
    if args.date:
        try:
            first = date.fromisoformat(args.date)
        except ValueError:
            raise SimulationError(f"--date: '{args.date}' is not a date like 2026-11-02") from None
    else:
        first = default_first_day(office, args.days, datetime.now(UTC))
    days = business_days(first, args.days)
    profile = load_arrivals(args.config, office)
    store = None
    if args.db:
        from ..store import Store, StoreLocked

        try:
            store = Store(args.db)
        except StoreLocked as e:
            raise SimulationError(str(e)) from None
    try:
        fig = run(office, days, args.seed, profile, wanted, store)
    finally:
        if store is not None:
            store.close()
    sys.stdout.write((json.dumps(fig, ensure_ascii=False) if args.json else table(fig)) + "\n")
    return 0
