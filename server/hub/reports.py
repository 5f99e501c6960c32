"""Reports (issue #10): read from the History off the event loop, never under the hub's lock."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ..engine.office import Office
from ..store import History
from .core import HubCore

T = TypeVar("T")


class Reports(HubCore):
    """This area of the façade (see the module's docstring)."""

    def read_history(self, read: Callable[[History, Office], T]) -> T:
        """`read(history, office)` where it holds up nothing: `jiaohao serve` runs it on a thread of its own.

        A report that reads months of the log runs for a while (a cold year's waits is about a second of
        CPU here). On the event loop it would hold up every call, issue and board for that long; on the
        thread, SQLite reads without the GIL and the loop goes on. One thread: reports queue behind each
        other, and only that thread uses the History's connection and what it keeps of settled days.
        """
        office = self.office
        return self._report_offload(lambda: read(self.history, office))

    def warm_reports(self) -> int:
        """Keep the settled days a year's report reads (server/reports/settled.py), on the reports' thread.

        `jiaohao serve` asks for it once, WARM_AFTER_S after it starts: the first year's report after a
        restart is then as quick as the next. Answers how many days are kept."""
        from ..reports import settled

        today = self.clock().astimezone(self.office.tz).date().isoformat()
        return self.read_history(lambda history, office: settled.warm(history, office, today))
