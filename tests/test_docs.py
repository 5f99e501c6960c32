"""The docs cannot drift: every route, error code and command is documented."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import ROOT

API_DOC = (ROOT / "docs" / "api.md").read_text("utf-8")


def test_every_api_route_is_in_docs(app):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:\w+:)?\w+>", "{id}", rule.rule.removeprefix("/api/v1"))
        assert f"`{path}" in API_DOC or f"{path}`" in API_DOC, f"{path} is not in docs/api.md"


def test_every_error_code_is_in_docs():
    codes: set[str] = set()
    for f in (ROOT / "server").rglob("*.py"):
        if f.name != "errors.py":  # its class defaults are fallbacks; every raise names its own code
            codes |= set(re.findall(r'code\s*=\s*"([a-z_]+)"', f.read_text("utf-8")))
    codes |= {"not_found", "method_not_allowed", "body_too_large", "malformed_request", "internal_error",
              "rate_limited"}
    assert len(codes) > 15
    missing = sorted(c for c in codes if f"`{c}`" not in API_DOC)
    assert not missing, f"error codes missing from docs/api.md: {missing}"


def test_every_socketio_event_is_in_docs():
    for name in ("state", "call", "queue", "counter"):
        assert f"`{name}`" in API_DOC


def test_every_cli_command_is_in_readme_or_docs():
    from server.cli import parser

    text = (ROOT / "README.md").read_text("utf-8") + "".join(
        p.read_text("utf-8") for p in Path(ROOT / "docs").glob("*.md"))
    sub = next(a for a in parser()._actions if a.dest == "command")
    for name in sub.choices:
        assert f"jiaohao {name}" in text, f"'jiaohao {name}' is not documented"


def test_readme_starts_with_the_two_commands():
    head = (ROOT / "README.md").read_text("utf-8").splitlines()[:8]
    assert any(line.startswith("scripts/up") for line in head)
    assert any(line.startswith("scripts/test") for line in head)
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text("utf-8")
