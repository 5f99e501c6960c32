"""Citizens' ratings of a counter's latest visit (the satisfaction tablet and the status page)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .. import ratings
from ..engine.errors import WrongState
from ..engine.model import Event
from .core import HubCore


class Satisfaction(HubCore):
    """This area of the façade (see the module's docstring); its state is loaded with the hub's."""

    def rating_visit(self, cid: str) -> dict[str, Any] | None:
        """The visit a citizen at this counter may rate now (its number and end), or None."""
        with self._reading() as now:
            visit = self._rateable(cid, now)
            if visit is None:
                return None
            t = self.engine.ticket(visit["ticket"]) or self.store.ticket(visit["ticket"])
            return {"number": t.number if t else None, "finished_at": visit["at"]}

    def rate(self, cid: str, score: int, comment: str | None, source: str) -> dict[str, Any]:
        """Store a rating of the counter's latest visit, against the visit, the counter and the clerk."""
        with self.lock:
            now = self._changing()
            visit = self._rateable(cid, now)
            if visit is None:
                raise WrongState("There is no finished visit at this counter to rate now. 目前沒有可評分的服務。",
                                 code="nothing_to_rate")
            ticket = self.engine.ticket(visit["ticket"]) or self.store.ticket(visit["ticket"])
            day = self.engine.business_date(now)
            row = {"ticket": visit["ticket"], "at": now.isoformat(timespec="milliseconds"), "business_date": day,
                   "counter": cid, "clerk": visit["actor"], "service": visit["service"] or "", "score": score,
                   "comment": comment, "source": source}
            event = Event(kind="rated", at=now, business_date=day, ticket=visit["ticket"], actor=source, counter=cid,
                          service=visit["service"], lane=ticket.lane if ticket else None,
                          open_counters=sum(1 for c in self.engine.state.counters.values() if c.open),
                          outcome=str(score), detail={"clerk": visit["actor"]})
            self.store.add_rating(row, event)
        return {"ticket_number": ticket.number if ticket else None, "counter": cid, "score": score, "at": row["at"]}

    def _rateable(self, cid: str, now: datetime) -> dict[str, Any] | None:
        visit = self.store.last_visit_at(cid, self.engine.business_date(now))
        if visit is None or visit["rated"]:
            return None
        if now - datetime.fromisoformat(visit["at"]) > timedelta(seconds=ratings.RATE_WINDOW_S):
            return None
        return visit



