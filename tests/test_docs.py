"""The docs cannot drift: every route, error code, event, command, option and file key is documented.

Each list comes from the code that uses it (the readers' key schemas, the emitter, argparse), never
from a copy kept here, so a new key, event or option without docs fails at once.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import ADMIN, DISPLAY, KIOSK, ROOT, counter_auth

from display.signs_config import SIGNS_KEYS
from kiosk.config import KIOSK_KEYS
from server.config import OFFICE_KEYS
from server.wire.shapes import EVENTS

API_DOC = (ROOT / "docs" / "api.md").read_text("utf-8")
API = "/api/v1"


def _all_docs() -> str:
    return (ROOT / "README.md").read_text("utf-8") + "".join(
        p.read_text("utf-8") for p in sorted((ROOT / "docs").glob("*.md")))


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


def _socketio_section() -> str:
    return API_DOC.split("## Socket.IO", 1)[1].split("\n## ", 1)[0]


def test_every_socketio_event_is_in_docs():
    section = _socketio_section()
    rows = set(re.findall(r"^\| `(\w+)` \|", section, re.M))
    for name in EVENTS:
        assert name in rows or (name == "state" and "emits\n`state`" in section), f"event {name!r} not in docs/api.md"
    assert rows <= set(EVENTS), f"docs/api.md lists events the hub does not emit: {sorted(rows - set(EVENTS))}"


def test_every_event_name_the_realtime_module_emits_is_in_events():
    source = (ROOT / "server" / "realtime.py").read_text("utf-8")
    literal = set(re.findall(r"\bemit\(\s*[\"'](\w+)[\"']", source))
    assert "state" in literal  # the scan sees the emits
    assert literal <= set(EVENTS), sorted(literal - set(EVENTS))


def test_every_event_the_hub_emits_is_in_events(app):
    """Drive each kind of change through the API and read what a connected board receives."""
    board = app.extensions["socketio"].test_client(app, auth={"token": DISPLAY["Authorization"].split()[1]})
    client = app.test_client()
    assert client.post(f"{API}/tickets", json={"service": "general"}, headers=KIOSK).status_code == 201
    assert client.post(f"{API}/counters/1/next", headers=counter_auth("1")).status_code == 200
    assert client.post(f"{API}/counters/1/finish", headers=counter_auth("1")).status_code == 200
    assert client.post(f"{API}/counters/1/close", headers=ADMIN).status_code == 200
    assert client.post(f"{API}/devices/self/status", json={"state": "warn", "code": "paper_near_end"},
                       headers=KIOSK).status_code == 200
    names = [m["name"] for m in board.get_received()]
    assert {"state", "call", "queue", "counter", "device"} <= set(names), names
    assert set(names) <= set(EVENTS), sorted(set(names) - set(EVENTS))


def _documented(doc: str, table: str, key: str) -> bool:
    """`table.key` or `table[].key` in a table row (or `key` in a row of that table), or `key = ` in a TOML example."""
    if not table:
        toml_line = re.search(rf"^\s*(\[\[?{key}\]\]?|{key}\s*=)", doc, re.M)
        return bool(re.search(rf"`{key}(\.|\[\]\.|`)", doc)) or bool(toml_line)
    for line in doc.splitlines():
        if not line.startswith("|"):
            continue
        if f"`{table}.{key}`" in line or f"`{table}[].{key}`" in line or f"`{table}.{key}." in line:
            return True  # `simulation.arrivals.SERVICE.LANE` documents the table `arrivals`
        first = line.split("|")[1]
        if (f"`{table}." in first or f"`{table}[]." in first) and f"`{key}`" in first:
            return True  # | `services[].first`, `last` |
    toml = "\n".join(re.findall(r"```toml\n(.*?)```", doc, re.S))
    return bool(re.search(rf"^{key}\s*=", toml, re.M))


@pytest.mark.parametrize(("schema", "doc"), [
    (OFFICE_KEYS, "docs/configuration.md"),
    (KIOSK_KEYS, "docs/kiosk.md"),
    (SIGNS_KEYS, "docs/signs.md"),
], ids=["office", "kiosk", "signs"])
def test_every_key_a_reader_accepts_is_documented(schema: dict[str, tuple[str, ...]], doc: str):
    text = (ROOT / doc).read_text("utf-8")
    missing = [f"{t}.{k}" if t else k for t, keys in schema.items() for k in keys if not _documented(text, t, k)]
    assert not missing, f"keys missing from {doc}: {missing}"


@pytest.mark.parametrize(("schema", "example", "parse"), [
    (OFFICE_KEYS, "server/demo_office.toml", "server.config:parse_office"),
    (KIOSK_KEYS, "firmware_config/kiosk.example.toml", "kiosk.config:parse_kiosk"),
    (SIGNS_KEYS, "firmware_config/signs.example.toml", "display.signs_config:parse_signs"),
], ids=["office", "kiosk", "signs"])
def test_the_schemas_are_what_the_readers_enforce(schema: dict[str, tuple[str, ...]], example: str, parse: str):
    """A key outside a table's schema is refused, naming exactly that schema; the example file uses every table."""
    import importlib
    import tomllib

    from server.wire.errors import ConfigError

    module, _, name = parse.partition(":")
    reader = getattr(importlib.import_module(module), name)
    example_data = tomllib.loads((ROOT / example).read_text("utf-8"))
    for table, keys in schema.items():
        if table.startswith("simulation"):
            continue  # read by its own reader: test_simulation_keys_are_what_parse_arrivals_enforces
        data = tomllib.loads((ROOT / example).read_text("utf-8"))
        assert not table or table in example_data, f"{example} has no {table}: the check would not run"
        target = data if not table else data[table]
        target = target[0] if isinstance(target, list) else target
        assert set(target) <= set(keys)  # the schema covers the example
        target["colour"] = 1
        with pytest.raises(ConfigError) as e:
            reader(data)
        assert f"colour: is not a known key (known: {', '.join(sorted(keys))})" in str(e.value), (table, str(e.value))


def test_simulation_keys_are_what_parse_arrivals_enforces(office):
    from server.config import parse_arrivals
    from server.wire.errors import ConfigError

    booked = {"slots": ["09:00"], "per_slot": {"general": 2}, "missed_pct": 10, "late_pct": 5}
    table = {"hours": [9, 10], "arrivals": {"general": {"normal": [3, 4]}}, "no_show_pct": 3, "transfer_pct": 2,
             "walk_in_pct": 5, "appointments": booked}
    assert set(table) == set(OFFICE_KEYS["simulation"])
    assert set(booked) == set(OFFICE_KEYS["simulation.appointments"])
    assert parse_arrivals(table, office).hours == (9, 10)
    assert parse_arrivals(table, office).bookings.per_slot == {"general": 2.0}
    with pytest.raises(ConfigError, match=re.escape(
            f"simulation.colour: is not a known key (known: {', '.join(sorted(OFFICE_KEYS['simulation']))})")):
        parse_arrivals({**table, "colour": 1}, office)
    known = ", ".join(sorted(OFFICE_KEYS["simulation.appointments"]))
    words = f"simulation.appointments.colour: is not a known key (known: {known})"
    with pytest.raises(ConfigError, match=re.escape(words)):
        parse_arrivals({**table, "appointments": {**booked, "colour": 1}}, office)


def _options(p: argparse.ArgumentParser, path: str) -> Iterator[tuple[str, Any]]:
    for a in p._actions:
        if isinstance(a, argparse._SubParsersAction):
            for name, sub in a.choices.items():
                yield from _options(sub, f"{path} {name}")
        elif a.option_strings and a.help != argparse.SUPPRESS and not isinstance(a, argparse._HelpAction):
            yield path, a


def test_every_cli_option_is_in_readme_or_docs():
    from server.cli import parser

    text = _all_docs()
    found = list(_options(parser(), "jiaohao"))
    assert len(found) > 40 and ("jiaohao kiosk preview", "--number") in [(p, a.option_strings[-1]) for p, a in found]
    missing = [f"{path} {opt}" for path, a in found for opt in a.option_strings
               if opt.startswith("--") and not re.search(re.escape(opt) + r"(?![\w-])", text)]
    assert not missing, f"options missing from README.md and docs/*.md: {missing}"


def test_every_cli_command_is_in_readme_or_docs():
    from server.cli import parser

    text = _all_docs()
    sub = next(a for a in parser()._actions if a.dest == "command")
    for name in sub.choices:
        assert f"jiaohao {name}" in text, f"'jiaohao {name}' is not documented"


def test_readme_starts_with_the_two_commands():
    head = (ROOT / "README.md").read_text("utf-8").splitlines()[:8]
    assert any(line.startswith("scripts/up") for line in head)
    assert any(line.startswith("scripts/test") for line in head)
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text("utf-8")
