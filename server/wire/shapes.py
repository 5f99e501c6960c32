"""The JSON of CONTRACT.md, once: what the hub sends and what the kiosk and the boards read.

Each shape is a frozen dataclass whose fields are the JSON keys, in the order they go out:
`to_json()` is the dict the hub answers and emits (server/protocol.py builds the shapes from engine
objects), `from_json(data)` reads what a peer sent. Reading is tolerant, as CONTRACT.md asks of
clients: fields it does not know are kept aside in `extra` (and sent on again by `to_json`), fields
missing or of the wrong type read as their default. Only what a shape cannot be without (a ticket's
id, a counter's id) raises WireError, a ValueError, so that a reducer can drop a malformed event.

Times stay ISO-8601 strings with the office's offset, exactly as on the wire.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from .text import Text

# Every Socket.IO event the hub emits (CONTRACT.md, docs/api.md). `state` is the snapshot sent on
# connect; the others go to every connected client. `seq` counts only call, queue and counter
# (`device`, `announcements` and `hub` carry none).
EVENTS = ("state", "call", "queue", "counter", "device", "announcements", "hub", "floor")
SEQ_EVENTS = ("call", "queue", "counter")


class WireError(ValueError):
    """Data from a peer that lacks what a shape cannot be without."""


_PLAIN = (str, int, float, bool, type(None))


def _json(value: Any) -> Any:
    if type(value) in _PLAIN:  # most values: the call path builds these for every event
        return value
    if isinstance(value, Text):
        return value.as_json()
    if isinstance(value, Shape):
        return value.to_json()
    if isinstance(value, tuple | list):
        return [_json(v) for v in value]
    return value


def _dict(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise WireError(f"{what} must be an object (got {type(data).__name__})")
    return data


def _id(data: dict[str, Any], what: str) -> str:
    value = data.get("id")
    if not isinstance(value, str | int) or isinstance(value, bool) or value == "":
        raise WireError(f"{what} has no id")
    return str(value)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: Any) -> int | float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _range(value: Any) -> tuple[int, int] | None:
    if isinstance(value, list | tuple) and len(value) == 2 and all(_number(v) is not None for v in value):
        return (value[0], value[1])
    return None


class Shape:
    """A wire shape: a dataclass whose fields are its JSON keys, plus `extra` for keys it does not know."""

    extra: dict[str, Any]

    @classmethod
    def _keys(cls) -> tuple[str, ...]:
        keys = cls.__dict__.get("_json_keys")
        if keys is None:  # once per class: the fields do not change
            keys = tuple(f.name for f in fields(cls) if f.name != "extra")  # type: ignore[arg-type]
            cls._json_keys, cls._key_set = keys, frozenset(keys)  # type: ignore[attr-defined]
        return keys

    def to_json(self) -> dict[str, Any]:
        out = {k: _json(getattr(self, k)) for k in self._keys()}
        if self.extra:
            out.update((k, v) for k, v in self.extra.items() if k not in out)
        return out

    @classmethod
    def _extra(cls, data: dict[str, Any]) -> dict[str, Any]:
        cls._keys()
        known: frozenset[str] = cls._key_set  # type: ignore[attr-defined]
        return {k: v for k, v in data.items() if k not in known}


@dataclass(frozen=True)
class Ticket(Shape):
    """A Ticket object (CONTRACT.md), with the hub's additions after `estimated_wait_s`."""

    id: str
    number: str
    service: str
    lane: str
    status: str
    issued_at: str | None
    called_at: str | None
    counter: str | None
    ahead: int | None
    estimated_wait_s: int | float | None
    # Extensions (CONTRACT.md allows adding fields).
    estimated_wait_range_s: tuple[int, int] | None = None
    service_name: Text | None = None  # the neutral public name for a private service
    lane_name: Text | None = None
    priority: bool = False
    private: bool = False
    walk_in: bool = False
    business_date: str | None = None
    finished_at: str | None = None
    outcome: str | None = None
    # Checked in for a booking (預約): boards mark it. The booking code itself, `appointment`, is only
    # in answers to the device that asked, so it rides in `extra` and is absent everywhere else.
    by_appointment: bool = False
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> Ticket:
        d = _dict(data, "ticket")
        return cls(
            id=_id(d, "ticket"),
            number=str(d.get("number") or ""),
            service=str(d.get("service") or ""),
            lane=str(d.get("lane") or "normal"),
            status=str(d.get("status") or ""),
            issued_at=_str(d.get("issued_at")),
            called_at=_str(d.get("called_at")),
            counter=_str(d.get("counter")),
            ahead=_int(d.get("ahead")),
            estimated_wait_s=_number(d.get("estimated_wait_s")),
            estimated_wait_range_s=_range(d.get("estimated_wait_range_s")),
            service_name=Text.maybe(d.get("service_name")),
            lane_name=Text.maybe(d.get("lane_name")),
            priority=bool(d.get("priority")),
            private=bool(d.get("private")),
            walk_in=bool(d.get("walk_in")),
            business_date=_str(d.get("business_date")),
            finished_at=_str(d.get("finished_at")),
            outcome=_str(d.get("outcome")),
            by_appointment=bool(d.get("by_appointment")),
            extra=cls._extra(d),
        )


@dataclass(frozen=True)
class CounterRef(Shape):
    """A counter as a call names it: `{"id", "name"}`."""

    id: str
    name: Text
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> CounterRef:
        d = _dict(data, "counter")
        cid = _id(d, "counter")
        return cls(cid, Text.maybe(d.get("name")) or Text(cid, cid), cls._extra(d))


@dataclass(frozen=True)
class Counter(Shape):
    """A counter as `state` and the `counter` event carry it."""

    id: str
    name: Text
    open: bool
    ticket: Ticket | None  # the ticket called here, until it is finished
    services: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> Counter:
        d = _dict(data, "counter")
        cid = _id(d, "counter")
        t = d.get("ticket")
        services = d.get("services")
        return cls(
            id=cid,
            name=Text.maybe(d.get("name")) or Text(cid, cid),
            open=bool(d.get("open", True)),
            ticket=Ticket.from_json(t) if isinstance(t, dict) else None,
            services=tuple(str(s) for s in services) if isinstance(services, list) else (),
            extra=cls._extra(d),
        )


@dataclass(frozen=True)
class Service(Shape):
    """One entry of GET /services, of `queue` and of `state`."""

    id: str
    name: Text
    waiting: int
    estimated_wait_s: int | float | None
    open: bool
    estimated_wait_range_s: tuple[int, int] | None = None
    prefix: str | None = None
    appointments_only: bool = False  # only booked appointments now: walk-up tickets are refused
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> Service:
        d = _dict(data, "service")
        sid = _id(d, "service")
        return cls(
            id=sid,
            name=Text.maybe(d.get("name")) or Text(sid, sid),
            waiting=_int(d.get("waiting")) or 0,
            estimated_wait_s=_number(d.get("estimated_wait_s")),
            open=bool(d.get("open", True)),
            estimated_wait_range_s=_range(d.get("estimated_wait_range_s")),
            prefix=_str(d.get("prefix")),
            appointments_only=bool(d.get("appointments_only")),
            extra=cls._extra(d),
        )


@dataclass(frozen=True)
class Call(Shape):
    """The `call` event, and each of `state.recent_calls`."""

    seq: int
    counter: CounterRef
    ticket: Ticket
    recall: bool
    at: str | None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> Call:
        d = _dict(data, "call")
        return cls(
            seq=_int(d.get("seq")) or 0,
            counter=CounterRef.from_json(d.get("counter")),
            ticket=Ticket.from_json(d.get("ticket")),
            recall=bool(d.get("recall")),
            at=_str(d.get("at")),
            extra=cls._extra(d),
        )


@dataclass(frozen=True)
class OfficeInfo(Shape):
    """`state.office`: what a client shows of the office and puts on a ticket."""

    name: Text
    timezone: str | None = None  # an IANA name, e.g. Asia/Taipei
    public_url: str | None = None
    ticket_footer: Text | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> OfficeInfo:
        d = data if isinstance(data, dict) else {}
        return cls(
            name=Text.from_json(d.get("name")),
            timezone=_str(d.get("timezone")) or None,
            public_url=_str(d.get("public_url")) or None,
            ticket_footer=Text.maybe(d.get("ticket_footer")),
            extra=cls._extra(d),
        )


@dataclass(frozen=True)
class DeviceStatus(Shape):
    """A device's own health (a kiosk's paper running low): the `device` event and `state.devices`."""

    id: str
    state: str
    code: str
    message: Text
    at: str | None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> DeviceStatus:
        d = _dict(data, "device")
        return cls(_id(d, "device"), str(d.get("state") or ""), str(d.get("code") or ""),
                   Text.from_json(d.get("message")), _str(d.get("at")), cls._extra(d))


@dataclass(frozen=True)
class Announcement(Shape):
    """An Announcement (CONTRACT.md, "The office at run time"): GET /announcements, the `announcements`
    event and `state.announcements`. Older hubs sent the bare text: it reads as an active announcement."""

    id: str
    text: Text
    starts_at: str | None = None
    ends_at: str | None = None
    active: bool = True
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> Announcement:
        if not isinstance(data, dict) or "text" not in data:  # an older hub sent the bare text
            return cls("", Text.from_json(data))
        return cls(str(data.get("id") or ""), Text.from_json(data.get("text")), _str(data.get("starts_at")),
                   _str(data.get("ends_at")), data.get("active") is not False, cls._extra(data))


def active_announcements(items: Any) -> tuple[Text, ...]:
    """The texts of the active, non-blank announcements of a list from the wire, in its order."""
    out = []
    for a in items if isinstance(items, list | tuple) else []:
        ann = Announcement.from_json(a)
        if ann.active and not ann.text.blank:
            out.append(ann.text)
    return tuple(out)


@dataclass(frozen=True)
class State(Shape):
    """The body of GET /state and of the `state` event: the board's snapshot."""

    seq: int
    counters: tuple[Counter, ...]
    recent_calls: tuple[Call, ...]  # newest first
    services: tuple[Service, ...]
    business_date: str | None = None
    office: OfficeInfo | None = None
    announcements: tuple[Announcement, ...] = ()  # the active ones
    devices: tuple[DeviceStatus, ...] = ()
    # The hub's time when it took the snapshot (server/wire/hubtime.py); None while its clock is behind.
    server_time: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> State:
        d = _dict(data, "state")
        seq = d.get("seq")
        if _int(seq) is None:
            raise WireError("state has no seq")
        office = d.get("office")
        return cls(
            seq=seq,
            counters=tuple(Counter.from_json(c) for c in d.get("counters") or []),
            recent_calls=tuple(Call.from_json(c) for c in d.get("recent_calls") or []),
            services=tuple(Service.from_json(s) for s in d.get("services") or []),
            business_date=_str(d.get("business_date")),
            office=OfficeInfo.from_json(office) if isinstance(office, dict) else None,
            announcements=tuple(Announcement.from_json(a) for a in d.get("announcements") or []),
            devices=tuple(DeviceStatus.from_json(x) for x in d.get("devices") or [] if isinstance(x, dict)),
            server_time=_str(d.get("server_time")),
            extra=cls._extra(d),
        )
