"""The supervisor's floor (issue #10): read once under the lock, built outside it (server/reports/live.py)."""

from __future__ import annotations

from typing import Any

from .core import HubCore


class Floor(HubCore):
    """This area of the façade (see the module's docstring); its state is loaded with the hub's."""

    def floor(self) -> dict[str, Any]:
        """Queues, counters, alerts and Erlang C advice now (server/reports/live.py)."""
        from ..reports.live import floor

        return floor(self._floor_snapshot(), self.office)

    def floor_alerts(self) -> list[dict[str, Any]]:
        """The floor's alerts only: what the counter console shows beside its own queue."""
        return self.floor()["alerts"]

    def _floor_snapshot(self) -> Any:
        from ..reports.live import Snapshot

        with self._reading() as now:
            state = self.engine.state
            return Snapshot(now=now, business_date=state.business_date, tickets=list(state.tickets.values()),
                            counters=dict(state.counters),
                            handling_s={s.id: self.engine.mean_seconds(s.id) for s in self.office.services},
                            devices=[dict(d) for d in self._devices.values()])



