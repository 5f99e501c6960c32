"""A year of one office's history, for the report benchmarks: the real engine on a simulated clock.

    .venv/bin/python scripts/gen_history.py --db /tmp/year.db [--start 2025-11-03] [--days 365] [--seed 1]

Every business day (Monday to Friday, 08:00-17:00 in the office's time zone) citizens arrive by an
hourly profile (busier mid-morning and mid-afternoon), in every service and lane of the demo office;
clerks log in at their counters, call the next number when they are free, often call again
(recall), start, finish after a handling time around the service's `default_minutes`, sometimes
transfer or mark a no-show; some citizens rate the visit. Each day's Changes go to the database
through Store.commit_batch, the way the hub stores them, and each rating through Store.add_rating.
The default makes about 120,000 tickets and 620,000 events (`--per-day 800`: a million). This is a data generator for
benchmarks, not `jiaohao simulate` (issue #11).
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.config import load_office  # noqa: E402
from server.engine.model import Change, Event  # noqa: E402
from server.engine.queue import QueueEngine  # noqa: E402
from server.store import Store  # noqa: E402

# Share of a day's arrivals per local hour (08:00-16:00 starts), busier at 9-11 and 14-16.
PROFILE = {8: 0.09, 9: 0.15, 10: 0.16, 11: 0.12, 12: 0.06, 13: 0.10, 14: 0.13, 15: 0.12, 16: 0.07}
MIX = {"general": 0.50, "quick": 0.22, "appointment": 0.08, "english": 0.05, "certificate": 0.10, "private": 0.05}
LANES = {"normal": 0.85, "elderly": 0.12, "disability": 0.03}
PER_DAY = 460


class Day:
    def __init__(self, engine: QueueEngine, store: Store, rng: random.Random, day: date, per_day: int) -> None:
        self.engine, self.store, self.rng, self.day, self.per_day = engine, store, rng, day, per_day
        self.batch: list = []
        self.ratings: list[tuple[dict, Event]] = []
        self.heap: list[tuple[datetime, int, str, str]] = []
        self.n = itertools.count()
        self.tz = engine.office.tz

    def at(self, hour: float) -> datetime:
        local = datetime(self.day.year, self.day.month, self.day.day, tzinfo=self.tz) + timedelta(hours=hour)
        return local.astimezone(UTC)

    def push(self, when: datetime, what: str, arg: str = "") -> None:
        heapq.heappush(self.heap, (when, next(self.n), what, arg))

    def do(self, change: Change) -> Change:
        state = self.engine.state
        before = {tid: state.tickets[tid] for tid in change.tickets if tid in state.tickets}
        if not change.empty:
            self.batch.append((change, before, state.business_date, None, None))
        self.engine.apply(change)
        return change

    def run(self) -> None:
        e, rng = self.engine, self.rng
        start = self.at(8)
        self.do(e.roll_day(start))
        counters = [c.id for c in e.office.counters]
        for cid in counters:
            self.do(e.note(cid, "login", start, f"user:clerk{int(cid):02d}"))
            self.push(start + timedelta(seconds=rng.uniform(0, 120)), "free", cid)
        total = max(1, int(rng.gauss(self.per_day, self.per_day * 0.12)))
        for _ in range(total):
            hour = rng.choices(list(PROFILE), weights=list(PROFILE.values()))[0]
            self.push(self.at(hour + rng.random()), "arrive")
        close = self.at(17)
        while self.heap:
            now, _, what, cid = heapq.heappop(self.heap)
            getattr(self, what)(now, cid, close)
        for cid in counters:
            self.do(e.note(cid, "logout", self.at(17.2), f"user:clerk{int(cid):02d}"))

    def arrive(self, now: datetime, _: str, close: datetime) -> None:
        rng = self.rng
        service = rng.choices(list(MIX), weights=list(MIX.values()))[0]
        lane = rng.choices(list(LANES), weights=list(LANES.values()))[0]
        self.do(self.engine.issue(service, lane, now, "kiosk-1"))

    def free(self, now: datetime, cid: str, close: datetime) -> None:
        """The clerk at `cid` is free: call the next, or look again in a minute."""
        e, rng = self.engine, self.rng
        if now > close + timedelta(hours=1):
            return
        # Half the counters' clerks press the console's buttons; the others the counter's keypad.
        actor = f"user:clerk{int(cid):02d}" if int(cid) % 2 else f"counter-{cid}"
        change = self.do(e.call_next(cid, now, actor))
        if change.ticket is None:
            self.push(now + timedelta(seconds=60), "free", cid)
            return
        t = e.state.tickets[change.ticket]
        now += timedelta(seconds=rng.uniform(10, 40))
        while rng.random() < 0.45:  # a citizen who does not hear the first call
            self.do(e.recall(cid, now, actor))
            now += timedelta(seconds=rng.uniform(20, 60))
        if rng.random() < 0.04:
            self.do(e.no_show(cid, now, actor))
            self.push(now, "free", cid)
            return
        self.do(e.start(cid, now, actor))
        minutes = e.office.service(t.service).default_minutes
        now += timedelta(seconds=max(45.0, rng.lognormvariate(0, 0.45) * minutes * 60))
        if rng.random() < 0.03:
            target = "general" if t.service != "general" else "quick"
            self.do(e.transfer(cid, target, now, actor))
        else:
            self.do(e.finish(cid, now, actor))
            if rng.random() < 0.3:
                score = rng.choices([4, 3, 2, 1], weights=[60, 30, 7, 3])[0]
                self.rate(t.id, cid, t.service, now + timedelta(seconds=20), score, actor)
        self.push(now + timedelta(seconds=rng.uniform(5, 30)), "free", cid)

    def rate(self, tid: str, cid: str, service: str, at: datetime, score: int, actor: str) -> None:
        day = self.engine.state.business_date
        clerk = actor if actor.startswith("user:") else f"user:clerk{int(cid):02d}"
        row = {"ticket": tid, "at": at.isoformat(timespec="milliseconds"), "business_date": day, "counter": cid,
               "clerk": clerk, "service": service, "score": score,
               "comment": "謝謝您的耐心說明" if self.rng.random() < 0.05 else None, "source": f"tablet-{cid}"}
        event = Event(kind="rated", at=at, business_date=day, ticket=tid, actor=f"tablet-{cid}", counter=cid,
                      service=service, outcome=str(score), detail={"clerk": clerk})
        self.ratings.append((row, event))

    def save(self) -> None:
        self.store.commit_batch(self.batch)
        for row, event in self.ratings:
            self.store.add_rating(row, event)


def generate(db: str, start: date, days: int, seed: int, per_day: int = PER_DAY) -> dict[str, int]:
    office = load_office(None)
    store = Store(db)
    # A generator, not the hub: nothing here must survive a power cut, and a year is a million rows.
    for conn in (store.db, store.writer):
        conn.execute("PRAGMA synchronous = OFF")
    rng = random.Random(seed)
    engine = QueueEngine(office, store.load(start.isoformat()))
    d = start
    for _ in range(days):
        if d.isoweekday() <= 5:
            day = Day(engine, store, rng, d, per_day)
            day.run()
            day.save()
        d += timedelta(days=1)
    counts = {t: store.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("tickets", "events",
                                                                                         "ratings")}
    store.close()
    return counts


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", required=True, help="the database to write (made if missing)")
    p.add_argument("--start", default="2025-11-03", help="the first day, YYYY-MM-DD")
    p.add_argument("--days", type=int, default=365, help="calendar days (weekends are closed)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--per-day", type=int, default=PER_DAY, help="mean tickets a business day")
    a = p.parse_args()
    t0 = time.perf_counter()
    counts = generate(a.db, date.fromisoformat(a.start), a.days, a.seed, a.per_day)
    print(f"{a.db}: {counts['tickets']} tickets, {counts['events']} events, {counts['ratings']} ratings "
          f"in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
