"""Reading a TOML file into checked values, where every mistake is one line naming the key path.

`read_toml` opens and parses; `Reader` walks the tables: `r.get("prefix", str)` either returns the
value or raises the file's own ConfigError subclass with `services[2].prefix: must be a string
(got 3)`. `r.unknown(KEYS)` refuses keys outside a table's schema, so a typo never falls back to a
default silently; each reader keeps its schema as a constant (server/config.py OFFICE_KEYS, ...) that
the docs tests read too.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .text import Text

ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")  # service, lane, counter, device and button ids

_WORDS = {int: "a whole number", float: "a number", str: "a string", bool: "true or false", list: "a list",
          dict: "a table"}


def read_toml(path: str | Path, what: str, error: type[ConfigError] = ConfigError) -> dict[str, Any]:
    """A TOML file as a dict, or `error` with one line: missing, unreadable, or not TOML."""
    p = Path(path)
    try:
        raw = p.read_text("utf-8")
    except FileNotFoundError:
        raise error(f"{p}: no such {what}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise error(f"{p}: cannot read it ({e})") from None
    try:
        return tomllib.loads(raw)
    except tomllib.TOMLDecodeError as e:
        raise error(f"{p}: not valid TOML ({e})") from None


def kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def kind_words(kind: type | tuple[type, ...]) -> str:
    """`a whole number`, `a table or a string`: what a key must be, in words."""
    return " or ".join(_WORDS.get(k, k.__name__) for k in kinds(kind))


class Reader:
    """One table of a TOML document at a key path (`""` for the top, `services[2]`, `kiosk`)."""

    def __init__(self, data: dict[str, Any], path: str = "", error: type[ConfigError] = ConfigError) -> None:
        self.data, self.path, self.error = data, path, error

    def where(self, key: str | None) -> str:
        if key and self.path:
            return f"{self.path}.{key}"
        return key or self.path or "(top)"

    def fail(self, key: str | None, message: str) -> ConfigError:
        return self.error(f"{self.where(key)}: {message}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        """The value of `key`, which must be of `kind`; `default` when absent, else `is required`."""
        if key not in self.data:
            if default is ...:
                raise self.fail(key, "is required")
            return default
        value = self.data[key]
        # TOML true is a bool, and bool is an int in Python: refuse it where a number is meant.
        if (isinstance(value, bool) and bool not in kinds(kind)) or not isinstance(value, kind):
            raise self.fail(key, f"must be {kind_words(kind)} (got {value!r})")
        return value

    def ident(self, key: str) -> str:
        value = self.get(key, str)
        if not ID.match(value):
            raise self.fail(key, f"must be letters, digits, '-', '_' or '.', at most 40 (got {value!r})")
        return value

    def text(self, key: str, default: Any = ...) -> Any:
        """A Text: `{ zh-TW = "…", en = "…" }` (both non-empty), or one string for both languages."""
        value = self.get(key, (dict, str), default)
        if value is None or isinstance(value, Text):
            return value
        if isinstance(value, str):
            return Text(value, value)
        zh, en = value.get("zh-TW"), value.get("en")
        if not isinstance(zh, str) or not zh.strip():
            raise self.fail(key, "needs a non-empty zh-TW text")
        if not isinstance(en, str) or not en.strip():
            raise self.fail(key, "needs a non-empty en text")
        return Text(zh, en)

    def table(self, key: str) -> Reader:
        """The sub-table `key` (empty when absent)."""
        return Reader(self.get(key, dict, {}), self.where(key) if self.path else key, self.error)

    def items(self, key: str, required: bool = False) -> list[Reader]:
        """The array of tables `key` (`[[services]]`), each at its own path `services[i]`."""
        value = self.get(key, list, ... if required else [])
        out = []
        for i, item in enumerate(value):
            path = f"{key}[{i}]"
            if not isinstance(item, dict):
                raise self.fail(path, "must be a table")
            out.append(Reader(item, self.where(path) if self.path else path, self.error))
        return out

    def unknown(self, known: Iterable[str]) -> None:
        """Refuse any key outside `known`: a misspelt key must not leave its default in place silently."""
        known = set(known)
        extra = sorted(set(self.data) - known)
        if extra:
            raise self.fail(extra[0], f"is not a known key (known: {', '.join(sorted(known))})")
