"""systemd's notify protocol: READY=1 once a program serves, WATCHDOG=1 from the loop that does its work.

Every jiaohao unit is `Type=notify` with `WatchdogSec=` (firmware_config/systemd): systemd starts the
next unit only once the hub has said READY, and restarts a program whose work loop stopped pinging
(a hung hub, a frozen board), which a plain `Restart=always` never notices.

Our own few lines rather than the `sdnotify` package from PyPI: that package has had no release since
2017, and the protocol is one datagram to the unix socket named by $NOTIFY_SOCKET ("@name" is in the
abstract namespace). Without $NOTIFY_SOCKET (started by hand, or in a test) every call does nothing.

`ping()` is meant to be called on every turn of the work loop: it sends at most every quarter of
$WATCHDOG_USEC, so a loop that turns at least that often keeps every gap between pings under half of
WatchdogSec, and a loop that hangs stops the pings and is restarted.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping

log = logging.getLogger("jiaohao.sdnotify")


class Notifier:
    def __init__(self, environ: Mapping[str, str] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        env = os.environ if environ is None else environ
        addr = env.get("NOTIFY_SOCKET", "")
        self.address = ("\0" + addr[1:]) if addr.startswith("@") else addr
        usec, pid = env.get("WATCHDOG_USEC", ""), env.get("WATCHDOG_PID", "")
        # WATCHDOG_PID names the process systemd watches; a child that inherited the variables stays quiet.
        mine = not pid or pid == str(os.getpid())
        self.watchdog_s: float | None = int(usec) / 1e6 if usec.isdigit() and int(usec) > 0 and mine else None
        self._clock = clock
        self._last_ping = float("-inf")
        self._warned = False

    @property
    def ping_every_s(self) -> float | None:
        """How often `ping()` actually sends, or None without a watchdog: a work loop turns at least this often."""
        return self.watchdog_s / 4 if self.watchdog_s else None

    def send(self, state: str) -> bool:
        if not self.address:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
                s.sendto(state.encode("utf-8"), self.address)
            return True
        except OSError as e:
            if not self._warned:  # once: a broken socket must not fill the journal every frame
                self._warned = True
                log.warning("cannot notify systemd at %s: %s", self.address.replace("\0", "@"), e)
            return False

    def ready(self, status: str = "") -> bool:
        self._last_ping = self._clock()  # READY counts as the first sign of life
        return self.send("READY=1" + (f"\nSTATUS={status}" if status else ""))

    def ping(self) -> bool:
        if self.watchdog_s is None:
            return False
        now = self._clock()
        if now - self._last_ping < self.watchdog_s / 4:
            return False
        self._last_ping = now
        return self.send("WATCHDOG=1")

    def stopping(self) -> bool:
        return self.send("STOPPING=1")


_notifier: Notifier | None = None


def notifier() -> Notifier:
    """The process's one Notifier, made from the environment systemd gave it."""
    global _notifier
    if _notifier is None:
        _notifier = Notifier()
    return _notifier
