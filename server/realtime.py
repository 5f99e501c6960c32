"""Socket.IO adapter: the only module that emits. `state` on connect, then the hub's events.

Clients with a valid token join the room "board"; every event goes to that room, so a refused
connection never sees a single event. The snapshot is taken under the hub's lock, the same lock
the events are emitted under, so a client's `state` and the events after it fit together by `seq`.

Staff sockets also get `floor`, the supervisor's live floor (issue #10): supervisors and admins
(their login session, or an admin token) the whole view of `Hub.floor()` in the room "floor", a
clerk's console only its alerts in the room "alerts". It is sent on connect, shortly after any
change of a queue, a counter or a device (FLOOR_DELAY_S, one push for a burst of changes), and at
every tick when time alone changed it (a wait grew, a counter sat idle): never when nothing
changed, never computed when nobody is in those rooms, and never under the hub's lock.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import Flask, request, session
from flask_socketio import SocketIO, emit, join_room
from socketio.exceptions import ConnectionRefusedError  # not the builtin: this one carries its message

from .hub import Hub

log = logging.getLogger("jiaohao.realtime")
ROOM = "board"
FLOOR_ROOM, ALERTS_ROOM = "floor", "alerts"
FLOOR_READERS = ("supervisor", "admin")
FLOOR_DELAY_S = 0.3
FLOOR_CAUSES = ("queue", "counter", "device")


def clerk_floor(view: dict[str, Any]) -> dict[str, Any]:
    """What a clerk's console gets of the floor: its alerts (the floor page itself is for supervisors)."""
    return {"at": view["at"], "business_date": view["business_date"], "alerts": view["alerts"]}


def init_realtime(app: Flask, hub: Hub, async_mode: str) -> SocketIO:
    # Short pings: a board notices a dead network within about 10 s (reference/libraries.md §2.5).
    sio = SocketIO(
        app,
        async_mode=async_mode,
        ping_interval=5,
        ping_timeout=5,
        # The hub's own origin only (None: python-engineio's same-origin check): a page elsewhere must not
        # reach a clerk's session through the cookie. Boards on smart TVs load /board from the hub itself,
        # and the pygame board, kiosks and signs send no Origin at all.
        cors_allowed_origins=None,
    )

    by_sid: dict[str, str] = {}  # Socket.IO session -> the device id it connected with
    floor_sids: dict[str, str] = {}  # Socket.IO session -> FLOOR_ROOM or ALERTS_ROOM
    floor = _FloorPush(sio, hub, floor_sids)
    staff_by_sid: dict[str, tuple[str, str]] = {}  # Socket.IO session -> (user, login session) of a console

    @sio.on("connect")
    def _connect(auth: Any = None) -> None:
        token = None
        if isinstance(auth, dict):
            token = auth.get("token")
        token = token or request.args.get("token")
        dev = hub.device_for_token(token) if isinstance(token, str) else None
        if dev is not None and dev.role == "tablet":
            raise ConnectionRefusedError("A tablet token may only rate its counter's visits. 此裝置只能評分。",
                                         {"code": "role_not_allowed"})
        # A clerk's console authenticates with its login session (the cookie) instead of a token.
        staff = hub.staff_session(session.get("sid")) if dev is None else None
        if dev is None and staff is None:
            # The reason reaches the client's connect_error as {"message": ...} (CONTRACT.md).
            if not token:
                raise ConnectionRefusedError(
                    "No token: connect with auth={'token': TOKEN}. 缺少存取權杖。", {"code": "missing_token"})
            raise ConnectionRefusedError(
                "This token is not known to the hub (wrong, or revoked). 存取權杖無效。", {"code": "invalid_token"})
        sid: str = request.sid  # type: ignore[attr-defined]
        if dev is not None:
            by_sid[sid] = dev.id
        elif staff is not None:
            staff_by_sid[sid] = (staff["user"], session["sid"])
        with hub.lock:
            join_room(ROOM)
            emit("state", hub.state())
        room = (FLOOR_ROOM if (dev is not None and dev.role == "admin")
                or (staff is not None and staff["role"] in FLOOR_READERS)
                else ALERTS_ROOM if staff is not None else None)
        if room is not None:
            join_room(room)
            alone = room not in floor_sids.values()
            floor_sids[sid] = room
            try:
                view = hub.floor()
            except Exception:  # the floor is an extra: never a reason to refuse the console its socket
                log.exception("could not read the floor")
                return
            data = view if room == FLOOR_ROOM else clerk_floor(view)
            emit("floor", data)
            if alone:
                floor.sent(room, data)  # the room's first: what it has is what was last sent to the room

    @sio.on("disconnect")
    def _disconnect(*_: Any) -> None:
        by_sid.pop(request.sid, None)  # type: ignore[attr-defined]
        staff_by_sid.pop(request.sid, None)  # type: ignore[attr-defined]
        floor_sids.pop(request.sid, None)  # type: ignore[attr-defined]

    def _revoked(device_id: str) -> None:
        """A revoked device's sockets are closed now: its token is refused when it connects again."""
        for sid, did in list(by_sid.items()):
            if did == device_id:
                by_sid.pop(sid, None)
                sio.server.disconnect(sid)

    hub.on_revoke.append(_revoked)

    def _sessions_ended(user: str | None, login: str | None) -> None:
        """Logout, a disabled account or a reset password: the consoles' sockets of those sessions close now,
        so a clerk whose account was disabled sees no more of the queue (issue #14)."""
        for sid, (name, opened_with) in list(staff_by_sid.items()):
            if (user is not None and name == user) or (login is not None and opened_with == login):
                staff_by_sid.pop(sid, None)
                sio.server.disconnect(sid)

    hub.on_sessions_end.append(_sessions_ended)

    def _sweep() -> None:
        """At every tick: a console whose session ended elsewhere (`jiaohao user disable` in another process,
        or its 12 hours over) is closed too, within a tick."""
        for sid, (_name, login) in list(staff_by_sid.items()):
            if hub.staff_session(login) is None:
                staff_by_sid.pop(sid, None)
                sio.server.disconnect(sid)

    hub.on_tick.append(_sweep)

    hub.on_tick.append(floor.push)

    def _listener(name: str, data: dict[str, Any]) -> None:
        sio.emit(name, data, to=ROOM)
        if name == "call":
            # Let every board's sender put the call on the wire before the queue and counter
            # frames of the same operation queue up behind it: the call is what people wait for.
            sio.sleep(0)
        elif name in FLOOR_CAUSES:
            floor.soon()  # (the listeners run under the hub's lock: the floor is read later, outside it)

    hub.listeners.append(_listener)
    return sio


class _FloorPush:
    """`floor` to the rooms that have somebody in them, when it changed since the last push."""

    def __init__(self, sio: SocketIO, hub: Hub, members: dict[str, str]) -> None:
        self.sio, self.hub, self.members = sio, hub, members
        self._lock = threading.Lock()
        self._pending = False
        self._last: dict[str, Any] = {}  # room -> the view last sent, without its time

    def soon(self) -> None:
        with self._lock:
            if self._pending or not self.members:
                return
            self._pending = True
        self.sio.start_background_task(self._later)

    def _later(self) -> None:
        self.sio.sleep(FLOOR_DELAY_S)
        with self._lock:
            self._pending = False
        self.push()

    def push(self) -> None:
        rooms = set(self.members.values())
        if not rooms:
            self._last.clear()
            return
        try:
            view = self.hub.floor()
        except Exception:
            log.exception("could not read the floor")
            return
        for room in (FLOOR_ROOM, ALERTS_ROOM):
            if room not in rooms:
                self._last.pop(room, None)
                continue
            data = view if room == FLOOR_ROOM else clerk_floor(view)
            if self.sent(room, data):
                self.sio.emit("floor", data, to=room)

    def sent(self, room: str, data: dict[str, Any]) -> bool:
        """Note `data` as the room's last; False if the room had it already (but for its time)."""
        same = {k: v for k, v in data.items() if k != "at"}
        with self._lock:
            if self._last.get(room) == same:
                return False
            self._last[room] = same
            return True
