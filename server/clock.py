"""The hub's time: the wall clock, made safe for a Raspberry Pi that has no real-time clock.

CONTRACT.md ("Raspberry Pi appliances"): the hub's time never goes backwards. A clock that steps
back while the hub runs counts as no time passing (the hub goes on from where it was, at the pace
of the monotonic clock) and is logged; a step forward is taken (the date must be right) but kept in
`steps`, so that the engine measures waits without it and `max_wait_minutes` does not fire because
of it. If the hub starts on a clock earlier than the newest event in its database, it is `behind`:
it changes nothing until the wall clock has caught up, and then goes on by itself.

A step is a difference between the wall clock and the monotonic clock of more than `TOLERANCE_S`
between two readings: NTP slews small errors at 0.5 ms/s, far below it, and steps only large ones.
Without a monotonic source (tests drive the wall clock by hand) the wall clock is trusted, and
only kept from going backwards.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from .engine.errors import JiaohaoError
from .engine.policy import ClockSteps

log = logging.getLogger("jiaohao.clock")

TOLERANCE_S = 2.0
MAX_STEPS = 32  # the newest forward steps; older ones are far behind every waiting ticket


def utcnow() -> datetime:
    return datetime.now(UTC)


class ClockBehind(JiaohaoError):
    status = 503
    code = "clock_behind"


class HubClock:
    def __init__(
        self,
        wall: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] | None = time.monotonic,
        floor: datetime | None = None,
    ) -> None:
        """`floor`: the newest event in the database; the hub's time never goes below it."""
        self._wall, self._mono = wall, monotonic
        self.floor = floor
        self._lock = threading.Lock()
        self._last: datetime | None = None
        self._last_mono = 0.0
        self._offset = timedelta(0)  # how far the hub's time runs ahead of the wall since a step back
        self._steps: deque[tuple[datetime, float]] = deque(maxlen=MAX_STEPS)
        self.steps = ClockSteps()
        self.behind = False

    def __call__(self) -> datetime:
        with self._lock:
            return self._read()

    def check(self) -> None:
        """Raise ClockBehind while the clock reads earlier than the newest event stored."""
        self()
        if self.behind:
            floor = self.floor.isoformat(timespec="seconds") if self.floor else "?"
            raise ClockBehind(
                f"The hub's clock reads earlier than its newest record ({floor}); it issues and calls nothing "
                "until the clock is right (check the network time). "
                "主機時間早於最後一筆紀錄，時間校正前暫停取號與叫號。"
            )

    def _read(self) -> datetime:
        wall = self._wall()
        mono = self._mono() if self._mono is not None else 0.0
        if self._last is None:
            return self._start(wall, mono)
        if self._mono is None:
            now = max(wall, self._last)
        else:
            expected = self._last + timedelta(seconds=mono - self._last_mono)
            candidate = wall + self._offset
            drift = (candidate - expected).total_seconds()
            if drift < -TOLERANCE_S:
                log.warning("the wall clock stepped back %.1f s; counted as no time passing", -drift)
                self._offset += expected - candidate
                now = expected
            elif drift > TOLERANCE_S:
                # The wall catching up with an earlier step back is no step; only the rest is.
                caught_up = min(self._offset, timedelta(seconds=drift))
                self._offset -= caught_up
                jumped = drift - caught_up.total_seconds()
                now = wall + self._offset
                if jumped > TOLERANCE_S:
                    log.warning("the wall clock stepped forward %.1f s; waits do not count the step", jumped)
                    self._steps.append((now, jumped))
                    self.steps = ClockSteps(tuple(self._steps))
            else:
                now = max(candidate, self._last)
        self._last, self._last_mono = now, mono
        return now

    def _start(self, wall: datetime, mono: float) -> datetime:
        floor = self.floor
        if floor is not None and wall < floor - timedelta(seconds=TOLERANCE_S):
            if not self.behind:
                log.error("the clock reads %s, earlier than the newest event in the database (%s): "
                          "issuing and calling nothing until it has caught up", wall.isoformat(), floor.isoformat())
            self.behind = True
            return floor  # reads go on at the last time known; nothing is anchored to a wrong clock
        if self.behind:
            log.warning("the clock has caught up (%s): the hub takes changes again", wall.isoformat())
        self.behind = False
        self._last, self._last_mono = max(wall, floor or wall), mono
        self._offset = max(timedelta(0), self._last - wall)
        return self._last
