"""The hub of the application handling the current request: how every blueprint reaches the façade."""

from __future__ import annotations

from flask import current_app

from .hub import Hub


def current_hub() -> Hub:
    return current_app.extensions["jiaohao"]  # type: ignore[no-any-return]
