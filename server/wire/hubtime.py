"""The hub's time as a kiosk or a board keeps it: the hub's last reading plus monotonic time since.

A Raspberry Pi has no real-time clock: a kiosk's or a board's own wall clock may be hours or days
off (before NTP, or on an office network without it). So what they show as the time is never their
own clock. The hub sends its time, `server_time` (ISO-8601 with the office's offset), in `state`
(GET /state and the Socket.IO snapshot), in every `hub` event (also once a minute) and in GET
/services; the client takes it with `sync()` and shows `now()`: that reading plus the monotonic
seconds since it arrived, which a step of the local wall clock cannot bend. `server_time` is null
while the hub's own clock is behind (`clock_behind`): then nobody knows the time, and nothing shows one.

Our own few lines rather than NTP: the clients only show the time (to the minute), and a network
delay of milliseconds between the hub's reading and its arrival is far below that.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any


def parse_server_time(value: Any) -> float | None:
    """Epoch seconds of an ISO-8601 `server_time` with its offset; None for null or anything unreadable."""
    if not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        return None
    return t.timestamp() if t.tzinfo is not None else None  # without an offset it names no instant


class HubTime:
    """`sync(server_time)` whenever the hub says its time; `now()`: the hub's time now, or None if unknown.

    `timeline()` is for timers (a call's flash, how long the link has been down), never for showing:
    the hub's time when known, else the last one known carried on by the monotonic clock, and before the
    hub has said anything the local clock as it read at start, carried on the same way.
    """

    def __init__(self, monotonic: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time) -> None:
        self._mono = monotonic
        self._lock = threading.Lock()  # the kiosk's poll syncs while its screen reads
        self._base = (wall(), monotonic())  # (epoch seconds, our monotonic then): the last reading
        self._known = False

    def sync(self, server_time: Any) -> float:
        """Take the hub's reading; null (the hub's clock is behind) forgets the time (timers go on).

        Returns how far `timeline()` moved (seconds; the first reading moves it from the local clock to
        the hub's), so that a caller can move the times it stamped on the old line by as much.
        """
        epoch = parse_server_time(server_time)
        with self._lock:
            if epoch is None:
                self._known = False
                return 0.0
            before = self._since_base()
            self._base, self._known = (epoch, self._mono()), True
            return epoch - before

    def take(self, data: Any) -> float:
        """Sync from a message that may carry `server_time` (a state, a `hub` event, GET /services).

        A message without the key (a hub from before it, or another event) changes nothing (returns 0).
        """
        if isinstance(data, dict) and "server_time" in data:
            return self.sync(data["server_time"])
        return 0.0

    @property
    def known(self) -> bool:
        with self._lock:
            return self._known

    def now(self) -> float | None:
        """The hub's time now, in epoch seconds, or None while the hub has not said (or does not know)."""
        with self._lock:
            return self._since_base() if self._known else None

    def timeline(self) -> float:
        """Epoch seconds that a step of the local clock never moves: for timers, never for showing."""
        with self._lock:
            return self._since_base()

    def _since_base(self) -> float:
        epoch, mono = self._base
        return epoch + max(0.0, self._mono() - mono)
