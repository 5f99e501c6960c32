"""Staff accounts: clerks, supervisors and admins who log in to the counter console.

Passwords are kept only as slow scrypt hashes (werkzeug). Names are login names chosen by the
office (e.g. staff numbers); per-clerk statistics are reported against them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from werkzeug.security import check_password_hash, generate_password_hash

from .engine.model import Event
from .store import Store
from .wire.errors import FixableError

ROLES = ("clerk", "supervisor", "admin")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,39}$")
# The contract's floor for the API (CONTRACT.md, POST /users); the CLI keeps the same one.
MIN_PASSWORD = 10
# Checked against when the name is unknown, so that a wrong name costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="scrypt")


class UserError(FixableError, ValueError):
    """A mistake in a user command: one line for the person."""


@dataclass(frozen=True)
class User:
    name: str
    role: str


def check(name: str, role: str, password: str) -> None:
    """UserError for a name, role or password that no account may have."""
    if not _NAME.match(name):
        raise UserError(f"name '{name}' must be 2-40 letters, digits, '-', '_' or '.'")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)} (got '{role}')")
    check_password(password)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must be at least {MIN_PASSWORD} characters")


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def add_user(store: Store, name: str, role: str, password: str, event: Event | None = None) -> User:
    check(name, role, password)
    at = event.at if event is not None else datetime.now(UTC)
    if not store.add_user(name, role, hash_password(password), at, event):
        raise UserError(f"a user '{name}' already exists")
    return User(name, role)


def fetch(store: Store, name: str) -> dict[str, str] | None:
    """The account row; read under the hub's lock (the connection is shared), checked outside it."""
    return store.user(name)


def verify(row: dict[str, str] | None, password: str) -> User | None:
    """The slow part of a login: never under the hub's lock."""
    if row is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(row["password_hash"], password):
        return None
    return User(row["name"], row["role"])
