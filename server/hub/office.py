"""The office at run time (CONTRACT.md; docs/configuration.md says which wins): the admins' changes over the
office file, the `[[schedule]]` windows, counters changed at run time, announcements."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..commit import Pending
from ..engine import runtime
from ..engine.errors import Invalid, NotFound
from ..engine.model import Event, Override
from ..engine.office import Office
from ..wire.text import Text
from .core import HubCore

log = logging.getLogger("jiaohao.hub")
# The schedule window in force, kept with the admins' changes so that it is stored with its edge's change.
WINDOW_KEY = "schedule.window"
ANNOUNCEMENT_CHARS = 500


class OfficeRuntime(HubCore):
    """This area of the façade (see the module's docstring); its state is loaded with the hub's."""

    def _load_runtime(self, office: Office, now: datetime) -> None:
        self._overrides: dict[str, dict[str, Any]] = self.store.overrides()
        window = self._overrides.get(WINDOW_KEY, {}).get("value") or None
        self._window: dict[str, Any] | None = window if isinstance(window, dict) else None
        self._announcements = self._load_announcements(office)
        self._active = runtime.active_ids(self._announcements, now)
        self._load_devices()
        self.on_revoke: list[Callable[[str], None]] = []

    def _load_announcements(self, office: Office) -> list[runtime.Announcement]:
        stored = {r["id"]: r for r in self.store.announcements()}
        out = []
        for a in runtime.file_announcements(office):
            r = stored.pop(a.id, None)
            out.append(a if r is None else _announcement(r))
        out += [_announcement(r) for r in stored.values()]
        return [a for a in out if a.text.zh]  # a deleted one is kept as a row with no text

    def _office_now(self) -> Office:
        admin = runtime.overlay(self.file_office, {k: v["value"] for k, v in self._overrides.items()})
        w = self._window
        if w is None or not 0 <= w["index"] < len(self.file_office.schedule):
            return admin
        since = {_counter_key(k)[0]: datetime.fromisoformat(v["set_at"]) for k, v in self._overrides.items()
                 if k.startswith("counters.") and k.endswith(".services")}
        return runtime.scheduled(admin, self.file_office.schedule[w["index"]], since,
                                 datetime.fromisoformat(w["started"]))


    def _tick_office(self, now: datetime) -> Pending | None:
        pending = None
        local = now.astimezone(self.office.tz)
        index = runtime.window_at(self.file_office, local)
        day = local.date().isoformat()
        old = self._window
        was = (old["date"], old["index"]) if old else None
        if was != ((day, index) if index is not None else None):
            ended = self.file_office.schedule[old["index"]] if old and old["index"] < len(self.file_office.schedule) \
                else None
            starts = self.file_office.schedule[index] if index is not None else None
            close = list(starts.close) if starts else []
            reopen = [c for c in (ended.close if ended else ()) if c not in close]
            new = {"date": day, "index": index, "started": now.isoformat()} if index is not None else None
            self._window = new
            office = self._office_now()
            self._window = old
            kind = "schedule_started" if new else "schedule_ended"
            change = self.engine.schedule_edge(office, close, reopen, now, kind, index if new else old["index"])
            change.overrides.append(Override(WINDOW_KEY, new, now, "schedule"))
            pending = self._commit(change, now)
            self._window = new
            self._overrides[WINDOW_KEY] = {"value": new, "set_at": now.isoformat(), "set_by": "schedule"}
        self._announce_if_changed(now)
        return pending

    def _announce_if_changed(self, now: datetime) -> None:
        active = runtime.active_ids(self._announcements, now)
        if active != self._active:
            self._active = active
            self._emit([("announcements", {"announcements": self._active_json(now)})])

    def _active_json(self, now: datetime) -> list[dict[str, Any]]:
        return [a.as_json(now) for a in self._announcements if a.active(now)]

    def office_json(self) -> dict[str, Any]:
        """GET /office: the office file's keys as the hub runs them now, without tokens, and what admins changed."""
        with self._reading() as now:
            o = self.office
            file_counters = {c.id: c for c in self.file_office.counters}
            overridden, ignored = [], []
            for key, v in sorted(self._overrides.items()):
                if key == WINDOW_KEY:
                    continue
                cid, name = _counter_key(key)
                fc = file_counters.get(cid)
                entry = {"key": key, "value": v["value"], "set_at": v["set_at"], "set_by": v["set_by"],
                         "file": None if fc is None else _counter_file_value(fc, name)}
                (overridden if fc is not None else ignored).append(entry)
            w = self._window
            return {
                "office": {"name": o.name.as_json(), "timezone": o.timezone, "public_url": o.public_url or None,
                           "ticket_footer": o.ticket_footer.as_json() if o.ticket_footer else None, "demo": o.demo},
                "services": [{"id": s.id, "name": s.name.as_json(), "prefix": s.prefix, "first": s.first,
                              "last": s.last, "default_minutes": s.default_minutes, "private": s.private}
                             for s in o.services],
                "lanes": [{"id": lane.id, "name": lane.name.as_json(), "weight": lane.weight} for lane in o.lanes],
                "policy": {"mode": o.policy.mode, "priority_run": o.policy.priority_run,
                           "max_wait_minutes": o.policy.max_wait_minutes},
                "counters": [{"id": c.id, "name": c.name.as_json(), "services": list(c.services),
                              "lanes": list(c.lanes), "open": self.engine.state.counters[c.id].open}
                             for c in o.counters],
                "devices": self._devices_json(),
                "announcements": [a.as_json(now) for a in self._announcements],
                "schedule": [{"from": x.starts.strftime("%H:%M"), "to": x.ends.strftime("%H:%M"),
                              "close": list(x.close), "serves": {k: list(v) for k, v in x.serves.items()},
                              "days": list(x.days)} for x in self.file_office.schedule],
                "schedule_now": None if w is None else {"index": w["index"], "since": w["started"]},
                "overridden": overridden,
                "ignored": ignored,
            }

    def configure_counter(self, cid: str, data: dict[str, Any], actor: str) -> dict[str, Any]:
        """PUT /counters/{id}: name, services, lanes; used from the counter's next call on."""
        with self.lock:
            now = self._changing()
            waits = [self._commit(self.engine.roll_day(now), now)]
            if self.office.counter(cid) is None:
                raise NotFound(f"No counter '{cid}' in this office. 沒有這個櫃台。", code="unknown_counter")
            name = _text_field(data, "name") if "name" in data else None
            services = _ids_field(data, "services")
            lanes = _ids_field(data, "lanes")
            runtime.check_counter(self.office, cid, name, services, lanes)
            values = {"name": name.as_json() if name else None, "services": services, "lanes": lanes}
            overrides = [Override(f"counters.{cid}.{k}", v, now, actor) for k, v in values.items() if v is not None]
            if not overrides:  # nothing to change: nothing stored, logged or sent
                view = self._counter_json(cid)
                view["lanes"] = list(self.office.counter(cid).lanes)  # type: ignore[union-attr]
                return view
            old = dict(self._overrides)
            for o in overrides:
                self._overrides[o.key] = {"value": o.value, "set_at": now.isoformat(), "set_by": actor}
            try:
                office = self._office_now()
            finally:
                self._overrides = old
            change = self.engine.configure_counter(cid, office, overrides, now, actor)
            waits.append(self._commit(change, now))
            for o in overrides:
                self._overrides[o.key] = {"value": o.value, "set_at": now.isoformat(), "set_by": actor}
            view = self._counter_json(cid)
            view["lanes"] = list(office.counter(cid).lanes)  # type: ignore[union-attr]
        self._wait(waits)
        return view

    def announcements(self) -> list[dict[str, Any]]:
        with self.lock:
            now = self.clock()
            return [a.as_json(now) for a in self._announcements]

    def put_announcement(self, aid: str | None, data: dict[str, Any], actor: str) -> tuple[dict[str, Any], bool]:
        """POST (aid None: a new one, True) or PUT /announcements/{id}; the active set goes out if it changed."""
        with self.lock:
            now = self.clock()
            existing = {a.id: (i, a) for i, a in enumerate(self._announcements)}
            if aid is not None and aid not in existing:
                raise NotFound(f"No announcement '{aid}'. 沒有這則公告。", code="unknown_announcement")
            text = _text_field(data, "text", limit=ANNOUNCEMENT_CHARS)
            starts, ends = _when(data, "starts_at", self.office), _when(data, "ends_at", self.office)
            if starts and ends and ends <= starts:
                raise Invalid("ends_at must be after starts_at. 結束時間必須晚於開始時間。", code="invalid_schedule")
            new = aid is None
            aid = aid or f"a-{secrets.token_hex(4)}"
            position = existing[aid][0] if aid in existing else len(self._announcements)
            a = runtime.Announcement(aid, text, starts, ends)
            self.store.put_announcement(_announcement_row(a, position, now, actor), Event(
                kind="announcement_added" if new else "announcement_changed", at=now,
                business_date=self.engine.state.business_date, actor=actor, outcome=aid,
                detail={"text": text.as_json(), "starts_at": _iso(starts), "ends_at": _iso(ends)}))
            if aid in existing:
                self._announcements[position] = a
            else:
                self._announcements.append(a)
            self._announce_if_changed(now)
            return a.as_json(now), new

    def delete_announcement(self, aid: str, actor: str) -> None:
        with self.lock:
            now = self.clock()
            found = [i for i, a in enumerate(self._announcements) if a.id == aid]
            if not found:
                raise NotFound(f"No announcement '{aid}'. 沒有這則公告。", code="unknown_announcement")
            gone = runtime.Announcement(aid, Text("", ""))
            self.store.put_announcement(
                {**_announcement_row(gone, found[0], now, actor), "deleted": 1},
                Event(kind="announcement_deleted", at=now, business_date=self.engine.state.business_date,
                      actor=actor, outcome=aid))
            del self._announcements[found[0]]
            self._announce_if_changed(now)


def _iso(d: datetime | None) -> str | None:
    return d.isoformat() if d else None


def _announcement(r: dict[str, Any]) -> runtime.Announcement:
    if r["deleted"]:
        return runtime.Announcement(r["id"], Text("", ""))
    return runtime.Announcement(r["id"], Text(r["text_zh"], r["text_en"]),
                                datetime.fromisoformat(r["starts_at"]) if r["starts_at"] else None,
                                datetime.fromisoformat(r["ends_at"]) if r["ends_at"] else None)


def _announcement_row(a: runtime.Announcement, position: int, now: datetime, actor: str) -> dict[str, Any]:
    return {"id": a.id, "text_zh": a.text.zh, "text_en": a.text.en, "starts_at": _iso(a.starts_at),
            "ends_at": _iso(a.ends_at), "position": position, "deleted": 0, "updated_at": now.isoformat(),
            "updated_by": actor}


def _counter_key(key: str) -> tuple[str, str]:
    """`counters.3.1.services` -> ("3.1", "services"): a counter id may hold dots."""
    cid, _, name = key.removeprefix("counters.").rpartition(".")
    return cid, name


def _counter_file_value(c: Any, name: str) -> Any:
    return c.name.as_json() if name == "name" else list(getattr(c, name, ()))


def _text_field(data: dict[str, Any], key: str, limit: int = 100) -> Text:
    """`{"zh-TW": ..., "en": ...}`, both non-empty: 422 otherwise (a board shows both)."""
    value = data.get(key)
    if value is None:
        raise Invalid(f"'{key}' is required: {{\"zh-TW\": ..., \"en\": ...}}. 缺少中英文內容。", code="missing_text")
    zh = value.get("zh-TW") if isinstance(value, dict) else None
    en = value.get("en") if isinstance(value, dict) else None
    if not (isinstance(zh, str) and zh.strip() and isinstance(en, str) and en.strip()):
        raise Invalid(f"'{key}' needs a non-empty zh-TW and en text. 中英文內容都必須填寫。", code="missing_text")
    if len(zh) > limit or len(en) > limit:
        raise Invalid(f"'{key}' is longer than {limit} characters. 內容過長。", code="text_too_long")
    return Text(zh.strip(), en.strip())


def _ids_field(data: dict[str, Any], key: str) -> list[str] | None:
    if key not in data or data[key] is None:
        return None
    value = data[key]
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise Invalid(f"'{key}' must be a list of ids. 欄位 {key} 必須是代號清單。", code="invalid_field")
    return list(dict.fromkeys(value))


def _when(data: dict[str, Any], key: str, office: Office) -> datetime | None:
    """ISO-8601; without an offset, office-local time."""
    value = data.get(key)
    if value is None or value == "":
        return None
    try:
        d = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        d = None
    if d is None:
        raise Invalid(f"'{key}' must be an ISO-8601 time like 2026-12-01T08:00:00+08:00. 時間格式錯誤。",
                      code="invalid_time")
    return d if d.tzinfo else d.replace(tzinfo=office.tz)
