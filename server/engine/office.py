"""The office as the engine sees it: typed, frozen, validated once at start (see server/config.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from zoneinfo import ZoneInfo

from ..wire.text import Text

ROLES = ("kiosk", "display", "counter", "admin", "tablet")
# Roles that belong to one counter (`counter = "3"`); a tablet may only rate its counter's visits.
COUNTER_ROLES = ("counter", "tablet")
POLICY_MODES = ("strict", "interleave")


@dataclass(frozen=True)
class Service:
    id: str
    name: Text
    prefix: str
    first: int
    last: int
    # Minutes a visit takes before the office has any history of its own.
    default_minutes: float = 8.0
    # Sensitive services (疼您: death, divorce) are never announced or shown by name.
    private: bool = False
    # What screens and tickets show instead of the name of a private service.
    public_name: Text | None = None
    # What one finished visit counts in the monthly ranking of clerks (計點).
    points: float = 1.0

    @property
    def digits(self) -> int:
        return len(str(self.last))

    def shown_name(self) -> Text:
        """The name that may appear on a board, a ticket or a phone."""
        if self.private:
            return self.public_name or Text("服務櫃台", "Service counter")
        return self.name

    def number(self, n: int) -> str:
        return f"{self.prefix}{n:0{self.digits}d}"


@dataclass(frozen=True)
class Lane:
    id: str
    name: Text
    weight: int


@dataclass(frozen=True)
class Policy:
    mode: str = "strict"
    priority_run: int = 2
    max_wait_minutes: int = 0


@dataclass(frozen=True)
class Alerts:
    """When the supervisor's view and the counter console warn, and what Erlang C advice aims at."""

    wait_minutes: int = 30  # a citizen has waited longer than this
    idle_minutes: int = 5  # an open counter has called nobody this long while its queue grew
    target_wait_minutes: int = 10  # advice: this share of citizens called within this many minutes
    service_level_pct: int = 80


@dataclass(frozen=True)
class Counter:
    id: str
    name: Text
    services: tuple[str, ...]
    lanes: tuple[str, ...]
    open_at_start: bool = True


@dataclass(frozen=True)
class Device:
    id: str
    role: str
    token: str
    counter: str | None = None


@dataclass(frozen=True)
class OnlySession:
    """A time when only booked appointments are served (weekend marriage registration)."""

    days: tuple[str, ...]  # "mon" .. "sun"; empty with `dates` set: only those dates
    start: str  # "HH:MM", office-local
    end: str
    dates: tuple[str, ...] = ()  # "YYYY-MM-DD"
    services: tuple[str, ...] = ()  # empty: every service

    def covers(self, local: datetime, service_id: str) -> bool:
        if self.services and service_id not in self.services:
            return False
        day_ok = local.date().isoformat() in self.dates or WEEKDAYS[local.weekday()] in self.days
        return day_ok and self.start <= local.strftime("%H:%M") < self.end


@dataclass(frozen=True)
class AppointmentRules:
    """The office file's [appointments]: the check-in window and the sessions that take only bookings."""

    early_minutes: int = 30
    late_minutes: int = 15
    only: tuple[OnlySession, ...] = ()

    def only_session(self, local: datetime, service_id: str) -> OnlySession | None:
        return next((s for s in self.only if s.covers(local, service_id)), None)


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class CounterSet:
    """A `[[schedule]]` window of the office file: from `starts` to `ends` (office-local) on `days`
    (ISO weekdays, 1 = Monday), the counters in `close` close and those in `serves` serve those services."""

    starts: time
    ends: time
    close: tuple[str, ...] = ()
    serves: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    days: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)


@dataclass(frozen=True)
class Office:
    name: Text
    timezone: str
    services: tuple[Service, ...]
    lanes: tuple[Lane, ...]
    policy: Policy
    counters: tuple[Counter, ...]
    devices: tuple[Device, ...]
    announcements: tuple[Text, ...] = ()
    ticket_footer: Text | None = None
    public_url: str = ""
    demo: bool = False
    appointments: AppointmentRules = AppointmentRules()
    alerts: Alerts = Alerts()
    schedule: tuple[CounterSet, ...] = ()
    secure_cookies: bool = False  # [web]: the login cookie only over HTTPS (a hub behind TLS)
    _by_id: dict[str, dict[str, object]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id["services"] = {s.id: s for s in self.services}
        self._by_id["lanes"] = {lane.id: lane for lane in self.lanes}
        self._by_id["counters"] = {c.id: c for c in self.counters}
        self._by_id["tokens"] = {d.token: d for d in self.devices}

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def service(self, service_id: str) -> Service | None:
        return self._by_id["services"].get(service_id)  # type: ignore[return-value]

    def lane(self, lane_id: str) -> Lane | None:
        return self._by_id["lanes"].get(lane_id)  # type: ignore[return-value]

    def counter(self, counter_id: str) -> Counter | None:
        return self._by_id["counters"].get(counter_id)  # type: ignore[return-value]

    def device_for_token(self, token: str) -> Device | None:
        return self._by_id["tokens"].get(token)  # type: ignore[return-value]

    def weight(self, lane_id: str) -> int:
        lane = self.lane(lane_id)
        return lane.weight if lane else 0
