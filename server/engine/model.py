"""The queue's nouns: tickets, counters, the log entries every transition leaves, and a Change."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .office import Office


class Status(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    DONE = "done"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


OPEN_STATUSES = frozenset({Status.WAITING, Status.CALLED, Status.SERVING})
AT_COUNTER = frozenset({Status.CALLED, Status.SERVING})


@dataclass(frozen=True)
class AppointmentRef:
    """What an appointment ticket knows of its booking: the code and the slot it is called from."""

    code: str
    slot: datetime


@dataclass(frozen=True)
class Ticket:
    id: str
    business_date: str
    service: str
    lane: str
    number: str
    n: int
    status: Status
    issued_at: datetime
    order: int
    called_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    counter: str | None = None
    outcome: str | None = None
    device: str | None = None
    walk_in: bool = False
    transferred_from: str | None = None
    appointment: AppointmentRef | None = None

    def evolve(self, **changes: object) -> Ticket:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass(frozen=True)
class CounterState:
    id: str
    open: bool
    ticket: str | None = None
    # Consecutive calls from lanes of weight > 0: what the interleave rule counts.
    streak: int = 0

    def evolve(self, **changes: object) -> CounterState:
        return replace(self, **changes)  # type: ignore[arg-type]


class BookingStatus(StrEnum):
    BOOKED = "booked"
    CHECKED_IN = "checked_in"
    LAPSED = "lapsed"
    NO_SHOW = "no_show"
    SERVED = "served"


@dataclass(frozen=True)
class Appointment:
    """A booking (網路預約) for one slot of one service; `ticket` once it is checked in."""

    code: str
    service: str
    slot: datetime
    business_date: str
    status: BookingStatus = BookingStatus.BOOKED
    ticket: str | None = None
    checked_in_at: datetime | None = None
    booked_at: datetime | None = None
    source: str | None = None

    def evolve(self, **changes: object) -> Appointment:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Event:
    """One row of the append-only event log: what reports and appeals are answered from."""

    kind: str
    at: datetime
    business_date: str
    ticket: str | None = None
    actor: str | None = None
    counter: str | None = None
    service: str | None = None
    lane: str | None = None
    open_counters: int = 0
    outcome: str | None = None
    detail: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class ServiceStat:
    """Recent handling time of a service: an exponentially weighted mean of finished visits, and
    their spread (the exponentially weighted variance, `var_s2`; None for a store written before it
    was kept: then the default spread, engine/estimate.py DEFAULT_CV)."""

    service: str
    mean_s: float
    visits: int
    var_s2: float | None = None


@dataclass(frozen=True)
class CallNotice:
    """A call to announce: the ticket as it stands, the counter, and whether it is a recall."""

    counter: str
    ticket: str
    recall: bool
    at: datetime


@dataclass(frozen=True)
class Override:
    """An admin's change to a key of the office file (`counters.3.services`), kept beside the file."""

    key: str
    value: object
    at: datetime
    actor: str | None


@dataclass
class Change:
    """Everything one operation changes: stored in one transaction, then applied, then announced."""

    tickets: dict[str, Ticket] = field(default_factory=dict)
    counters: dict[str, CounterState] = field(default_factory=dict)
    numbering: dict[str, int] = field(default_factory=dict)
    stats: dict[str, ServiceStat] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    calls: list[CallNotice] = field(default_factory=list)
    appointments: dict[str, Appointment] = field(default_factory=dict)
    business_date: str | None = None
    # The office from this change on (an admin's edit, a schedule's edge), and the stored keys that make it.
    office: Office | None = None
    overrides: list[Override] = field(default_factory=list)
    # The ticket or counter the caller asked about.
    ticket: str | None = None
    counter: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.tickets or self.counters or self.events or self.business_date or self.appointments
                    or self.office)

    def queue_changed(self, before: dict[str, Ticket]) -> bool:
        """Whether any waiting count moves: a ticket entered or left `waiting`."""
        for tid, t in self.tickets.items():
            old = before.get(tid)
            was = old is not None and old.status == Status.WAITING
            if was != (t.status == Status.WAITING) or (was and old is not None and old.service != t.service):
                return True
        return self.business_date is not None

    def counters_touched(self) -> list[str]:
        return list(self.counters)
