"""One root for the mistakes a person can fix: a bad file, option, font or device name.

`jiaohao` (server/cli.py `main`) catches `FixableError` once, prints `jiaohao COMMAND: <str(e)>`
as one line and exits 1 (CONTRACT.md). So str() of every subclass is one line that says what is
wrong and how to put it right. Each also inherits the matching built-in (ValueError, LookupError),
as gpiozero's errors do, so `except ValueError` around a parser keeps working.

The hub's HTTP errors are the other family (server/engine/errors.py, `JiaohaoError`): they carry
an HTTP status and a stable code and are answered as JSON, never printed.
"""

from __future__ import annotations


class FixableError(Exception):
    """A mistake a person can fix; str() is the one line shown to them."""


class ConfigError(FixableError, ValueError):
    """A mistake in an office, kiosk or signs file, naming the file and the key path."""


class UsageError(FixableError, ValueError):
    """A command-line option missing, malformed or contradicting another."""


class FontMissing(FixableError, LookupError):
    """No usable Noto Sans CJK font: Traditional Chinese cannot be drawn or printed."""
