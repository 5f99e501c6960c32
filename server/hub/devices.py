"""Devices: their tokens (the office file's and those issued here), health reports and when each was last seen."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from datetime import datetime
from typing import Any

from .. import protocol
from ..engine.errors import Invalid, NotFound, WrongState
from ..engine.model import Event
from ..engine.office import COUNTER_ROLES, ROLES, Device
from ..store import StorageUnavailable
from .core import HubCore

log = logging.getLogger("jiaohao.hub")
DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
SEEN_WRITE_S = 60.0  # at most this often a device's last_seen is written (docs/api.md, GET /devices)


class Devices(HubCore):
    """This area of the façade (see the module's docstring); its state is loaded with the hub's."""

    def _load_devices(self) -> None:
        """The devices issued and revoked here, and when each was last seen, as the disk has them."""
        self._issued: dict[str, Device] = {}  # sha256 of the token -> device
        self._revoked: dict[str, str] = {}  # device id -> when
        self._issued_at: dict[str, str] = {}
        for r in self.store.issued_devices():
            if r["revoked_at"]:
                self._revoked[r["id"]] = r["revoked_at"]
            elif r["token_sha256"]:
                self._issued[r["token_sha256"]] = Device(r["id"], r["role"], "", r["counter"])
                self._issued_at[r["id"]] = r["created_at"]
        # When each device last used its token: in memory on every request, on disk from the tick at most
        # once a minute per device (SEEN_WRITE_S), so a restart keeps it and no request waits for a write.
        # A reload after a failed commit keeps what memory saw since the last write.
        self._seen: dict[str, str] = {**self.store.device_seen(), **getattr(self, "_seen", {})}
        self._seen_dirty: set[str] = getattr(self, "_seen_dirty", set())
        self._seen_written: dict[str, datetime] = getattr(self, "_seen_written", {})

    def devices(self) -> list[dict[str, Any]]:
        """Every device: where it comes from, when it was last seen, its last health report."""
        with self.lock:
            return self._devices_json()

    def report_device(self, device_id: str, state: str, code: str, message: dict[str, str]) -> dict[str, Any]:
        """A device's own health (a kiosk's paper running low): kept, logged, and shown to staff.

        Sent as a `device` event without a `seq`: `seq` counts only call, queue and counter events.
        """
        with self.lock:
            now = self.clock()
            entry = {"id": device_id, "state": state, "code": code, "message": message,
                     "at": protocol.iso(now, self.office)}
            changed = self._devices.get(device_id, {}).get("code") != code
            self._devices[device_id] = entry
            if changed:
                self.store.add_event(Event(kind="device_status", at=now, business_date=self.engine.state.business_date,
                                           actor=device_id, outcome=code, detail={"state": state}))
        if changed:
            self._emit([("device", dict(entry))])
        return entry


    def device_for_token(self, token: str) -> Device | None:
        """The device behind a token: the office file's (unless revoked) or one issued here (by its hash)."""
        dev = self.office.device_for_token(token)
        if dev is not None and dev.id in self._revoked:
            dev = None
        if dev is None:
            dev = self._issued.get(_token_hash(token))
        if dev is not None:
            self._seen[dev.id] = protocol.iso(self.clock(), self.office) or ""
            self._seen_dirty.add(dev.id)  # written by the next tick (store_seen), not on this request
        return dev

    def store_seen(self, everything: bool = False) -> None:
        """Write when devices were last seen: each one seen since its last write, if that was SEEN_WRITE_S
        ago or more (or never since the hub started), in one transaction; `everything` at a clean stop.
        From the tick: a board asking every few seconds costs one small write a minute, not one a request."""
        with self.lock:
            now = self.clock()
            due = {d: self._seen[d] for d in list(self._seen_dirty)  # a copy: requests add to it meanwhile
                   if everything or d not in self._seen_written
                   or not 0 <= (now - self._seen_written[d]).total_seconds() < SEEN_WRITE_S}  # a clock set back too
            if not due:
                return
            try:
                self.store.put_device_seen(due)
            except StorageUnavailable as e:  # kept in memory and tried again at the next tick
                log.error("could not store when devices were last seen: %s", e)
                return
            # Without the lock, device_for_token may have seen one again meanwhile: that one stays due.
            self._seen_dirty -= {d for d, at in due.items() if self._seen.get(d) == at}
            self._seen_written.update(dict.fromkeys(due, now))


    def issue_device(self, did: str, role: str, counter: str | None, actor: str) -> tuple[dict[str, Any], str]:
        """POST /devices: a new device and its token, shown this once (only its hash is kept)."""
        if role not in ROLES:
            raise Invalid(f"role must be one of {', '.join(ROLES)}. 裝置角色錯誤。", code="invalid_role")
        if not DEVICE_ID.match(did):
            raise Invalid("id must be letters, digits, '-', '_' or '.', at most 40. 裝置代號格式錯誤。",
                          code="invalid_device_id")
        with self.lock:
            now = self.clock()
            if role in COUNTER_ROLES and (counter is None or self.office.counter(counter) is None):
                raise Invalid("A counter or tablet device names a counter of this office. 請指定本所的櫃台。",
                              code="unknown_counter")
            if role not in COUNTER_ROLES and counter is not None:
                raise Invalid("Only a counter or tablet device names a counter. 只有櫃台裝置需要指定櫃台。",
                              code="invalid_field")
            if self._device_known(did):
                raise WrongState(f"A device '{did}' exists already; revoke it first. 此裝置代號已存在。",
                                 code="device_exists")
            token = secrets.token_urlsafe(24)
            digest = _token_hash(token)
            at = now.isoformat()
            self.store.put_device({"id": did, "role": role, "counter": counter, "token_sha256": digest,
                                   "created_at": at, "created_by": actor, "revoked_at": None, "revoked_by": None},
                                  Event(kind="device_issued", at=now, business_date=self.engine.state.business_date,
                                        actor=actor, counter=counter, outcome=did, detail={"role": role}))
            dev = Device(did, role, "", counter)
            self._issued[digest] = dev
            self._issued_at[did] = at
            self._revoked.pop(did, None)
            return self._device_json(dev, "api"), token

    def revoke_device(self, did: str, actor: str) -> None:
        """DELETE /devices/{id}: its token is refused from the next request on; its sockets are closed."""
        with self.lock:
            now = self.clock()
            issued = [(h, d) for h, d in self._issued.items() if d.id == did]
            file_dev = next((d for d in self.file_office.devices if d.id == did and did not in self._revoked), None)
            if not issued and file_dev is None:
                raise NotFound(f"No device '{did}'. 沒有這個裝置。", code="unknown_device")
            dev = issued[0][1] if issued else file_dev
            assert dev is not None
            at = now.isoformat()
            self.store.put_device({"id": did, "role": dev.role, "counter": dev.counter, "token_sha256": None,
                                   "created_at": self._issued_at.get(did, at), "created_by": None,
                                   "revoked_at": at, "revoked_by": actor},
                                  Event(kind="device_revoked", at=now, business_date=self.engine.state.business_date,
                                        actor=actor, outcome=did))
            for h, _ in issued:
                del self._issued[h]
            self._revoked[did] = at
        for close in list(self.on_revoke):
            try:
                close(did)
            except Exception:
                log.exception("closing the connections of %s failed", did)

    def _device_known(self, did: str) -> bool:
        # An office file's device keeps its id even when revoked: issuing it again would bring back the
        # file's token too (it is in the file), so a replacement gets an id of its own.
        return any(d.id == did for d in self._issued.values()) or any(d.id == did for d in self.file_office.devices)

    def _devices_json(self) -> list[dict[str, Any]]:
        out = [self._device_json(d, "office_file") for d in self.file_office.devices if d.id not in self._revoked]
        out += [self._device_json(d, "api") for d in self._issued.values()]
        return out

    def _device_json(self, d: Device, source: str) -> dict[str, Any]:
        report = self._devices.get(d.id) or {}
        return {"id": d.id, "role": d.role, "counter": d.counter, "source": source,
                "last_seen": self._seen.get(d.id), "state": report.get("state"), "code": report.get("code"),
                "message": report.get("message"), "at": report.get("at")}


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
