"""Staff accounts and their login sessions, kept on the hub so that logout and disabling an account end them at once."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta
from typing import Any

from .. import users
from ..engine.errors import Invalid, NotFound, WrongState
from ..engine.model import Event
from .core import HubCore

log = logging.getLogger("jiaohao.hub")

class Staff(HubCore):
    """This area of the façade (see the module's docstring); its state is loaded with the hub's."""

    def authenticate(self, name: str, password: str) -> users.User | None:
        """A staff login. The slow hash (about 100 ms of scrypt) runs outside the lock and off the event
        loop: a storm of wrong logins never stalls issuing and calling."""
        with self.lock:
            row = self.store.user(name)
        user: users.User | None = self._hash_offload(lambda: users.verify(row, password))
        return user

    # -- staff sessions: on the hub, so that logout and disabling an account end them at once ----

    def open_session(self, user: users.User, counter: str | None, hours: float) -> str:
        """A new login session; the id goes into the cookie, only its hash into the database."""
        sid = secrets.token_urlsafe(32)
        with self.lock:
            now = self.clock()
            self.store.add_session(_session_hash(sid), user.name, counter, now, now + timedelta(hours=hours))
        return sid

    def staff_session(self, sid: object) -> dict[str, Any] | None:
        """`{"user", "role", "counter"}` of a live session, or None (logged out, expired, account disabled)."""
        if not isinstance(sid, str) or not sid:
            return None
        with self.lock:
            return self.store.session(_session_hash(sid), self.clock())

    def close_session(self, sid: object) -> None:
        if isinstance(sid, str) and sid:
            with self.lock:
                self.store.delete_session(_session_hash(sid))
            self._sessions_ended(None, sid)

    def _sessions_ended(self, user: str | None, sid: str | None) -> None:
        """Outside the lock: whatever was opened with the ended sessions (a console's socket) is closed now."""
        for hook in list(self.on_sessions_end):
            try:
                hook(user, sid)
            except Exception:
                log.exception("closing what the ended sessions of %s had opened failed", user or "a logout")

    def disable_user(self, name: str, actor: str) -> dict[str, Any]:
        """Disable a staff account (POST /users/{id}/disable): its sessions end now, it cannot log in again."""
        self.set_user(name, actor, active=False)
        with self.lock:
            row = self.store.user_row(name)
        assert row is not None
        return {"name": row["name"], "role": row["role"], "active": bool(row["active"])}

    def secret(self, name: str) -> str:
        """A secret kept in the database (the session key), made on first use."""
        with self.lock:
            value = self.store.meta(name)
            if not value:
                value = secrets.token_hex(32)
                self.store.set_meta(name, value)
            return value


    def add_user(self, name: str, role: str, password: str, actor: str) -> dict[str, Any]:
        """POST /users. The slow hash is made outside the lock."""
        try:
            users.check(name, role, password)
        except users.UserError as e:
            code = "password_too_short" if "password" in str(e) else "invalid_user"
            raise Invalid(f"{e}. 帳號資料錯誤。", code=code) from None
        digest = users.hash_password(password)
        with self.lock:
            now = self.clock()
            event = Event(kind="user_added", at=now, business_date=self.engine.state.business_date, actor=actor,
                          outcome=name, detail={"role": role})
            if not self.store.add_user(name, role, digest, now, event):
                raise WrongState(f"A user '{name}' exists already. 此帳號已存在。", code="user_exists")
        return {"name": name, "role": role, "active": True}

    def set_user(self, name: str, actor: str, *, active: bool | None = None, password: str | None = None) -> None:
        """Disable or enable an account, or give it a new password (never shown afterwards)."""
        digest = None
        if password is not None:
            try:
                users.check_password(password)
            except users.UserError as e:
                raise Invalid(f"{e}. 密碼太短。", code="password_too_short") from None
            digest = users.hash_password(password)
        with self.lock:
            now = self.clock()
            kind = "user_password_reset" if password is not None else ("user_enabled" if active else "user_disabled")
            event = Event(kind=kind, at=now, business_date=self.engine.state.business_date, actor=actor, outcome=name)
            if not self.store.set_user(name, event, active=active, password_hash=digest):
                raise NotFound(f"No user '{name}'. 沒有這個帳號。", code="unknown_user")
        if active is False or password is not None:
            self._sessions_ended(name, None)  # the store ended every session of the account

    def users(self) -> list[dict[str, Any]]:
        with self.lock:
            return self.store.users()


def _session_hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()
