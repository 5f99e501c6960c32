"""Errors have two roots (docs/design.md, Errors): mistakes a person can fix, and the HTTP API's.

- `server.wire.errors.FixableError`: a bad file, option, font, pin or printer name. `jiaohao`'s main
  catches it once, prints one line `jiaohao COMMAND: ...` and exits 1; no subcommand catches it itself.
- `server.engine.errors.JiaohaoError`: what the API answers as JSON with a status and a code.
Every other exception class is a run-time fault that its own module handles (listed below, with why).
"""

from __future__ import annotations

import ast
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from server.cli import main

ROOT = Path(__file__).resolve().parent.parent

# Faults of the running system, not mistakes in what a person typed: each is handled where it occurs.
RUNTIME = {
    "kiosk.printer.PrintError": "a print failed: the kiosk retries once, then cancels the ticket",
    "kiosk.hub_client.HubError": "the hub is away or refused: lamps and screen say so, the kiosk retries",
    "kiosk.hub_client.HubUnreachable": "a HubError",
    "kiosk.hub_client.HubRefused": "a HubError",
    "kiosk.scanner.ScannerError": "the USB scanner cannot be read: said once, the kiosk goes on without it",
    "kiosk.escpos_decode.DecodeError": "the tests' ESC/POS decoder met bytes it does not know",
    "display.sign_frame.FrameError": "a malformed frame from the sign bus",
    "display.sign_bus.SignError": "a sign's serial port failed: opened again every 2 s",
    "server.wire.shapes.WireError": "a peer sent JSON without an id: the board reads the state again",
    "display.media.MediaRefused": "a media file the board will not show: skipped, with one log line",
    "display.video.VideoUnavailable": "PyAV is missing (32-bit Pi OS): videos are skipped, said once in the log",
}


_CLASSIFY = """
import importlib, json, sys
from server.engine.errors import JiaohaoError
from server.wire.errors import FixableError
out = {}
for module, names in json.loads(sys.argv[1]).items():
    m = importlib.import_module(module)
    for name in names:
        cls = getattr(m, name, None)
        if isinstance(cls, type) and issubclass(cls, BaseException):
            out[f"{module}.{name}"] = [issubclass(cls, FixableError), issubclass(cls, JiaohaoError)]
print(json.dumps(out))
"""


def _exception_classes() -> dict[str, tuple[bool, bool]]:
    """Every exception class defined in server/, kiosk/ and display/: name -> (fixable?, API error?).

    Found by reading every file with `ast`, classified in a fresh interpreter (server/serve.py
    monkey-patches with gevent when imported).
    """
    classes: dict[str, list[str]] = {}
    for package in ("server", "kiosk", "display"):
        for f in sorted((ROOT / package).rglob("*.py")):
            names = [n.name for n in ast.walk(ast.parse(f.read_text("utf-8"))) if isinstance(n, ast.ClassDef)]
            if names:
                parts = list(f.relative_to(ROOT).with_suffix("").parts)
                classes[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = names
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "PYGAME_HIDE_SUPPORT_PROMPT": "1"}
    r = subprocess.run([sys.executable, "-c", _CLASSIFY, json.dumps(classes)], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return {k: (v[0], v[1]) for k, v in json.loads(r.stdout.strip().splitlines()[-1]).items()}


CLASSES = _exception_classes()


def test_every_exception_class_has_one_of_the_two_roots_or_is_a_listed_runtime_fault() -> None:
    assert len(CLASSES) > 20  # the scan found the classes
    loose = sorted(name for name, (fixable, api) in CLASSES.items() if not (fixable or api) and name not in RUNTIME)
    assert not loose, f"a new root: derive from FixableError or JiaohaoError, or list it in RUNTIME: {loose}"
    assert not [n for n, (fixable, api) in CLASSES.items() if fixable and api]
    assert CLASSES["server.engine.errors.NotFound"] == (False, True)
    assert not [n for n in RUNTIME if n not in CLASSES], "RUNTIME names a class that no longer exists"


def test_the_mistakes_a_person_can_fix_are_fixable_errors() -> None:
    for name in ("server.wire.errors.ConfigError", "server.wire.errors.UsageError", "server.wire.errors.FontMissing",
                 "kiosk.config.KioskConfigError", "display.signs_config.SignsConfigError",
                 "kiosk.printer.PrinterSpecError", "kiosk.buttons.PinsError", "server.users.UserError",
                 "server.store.store.StoreLocked"):
        assert CLASSES[name] == (True, False), name
    assert len([n for n in CLASSES if n.endswith(".FontMissing")]) == 1  # the board's and the ticket's are one


CLI_MODULES = ("server/cli.py", "server/serve.py", "server/up.py", "kiosk/cli.py", "kiosk/app.py",
               "display/cli.py", "display/app.py", "display/signs_cli.py")


def test_only_main_catches_them() -> None:
    fixable = {name.rsplit(".", 1)[1] for name, (is_fixable, _) in CLASSES.items() if is_fixable}
    catches = []
    for rel in CLI_MODULES:
        tree = ast.parse((ROOT / rel).read_text("utf-8"))
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.ExceptHandler) and node.type is not None:
                    types = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
                    for t in types:
                        name = t.attr if isinstance(t, ast.Attribute) else getattr(t, "id", "")
                        if name in fixable:
                            catches.append((rel, fn.name, name))
    assert catches == [("server/cli.py", "main", "FixableError")], catches


@pytest.mark.parametrize(("argv", "expected"), [
    (["check-config", "no-such-office.toml"], "jiaohao check-config: no-such-office.toml: no such office file"),
    (["display"], "jiaohao display: --server URL is required"),
    (["kiosk", "press", "general"], "jiaohao kiosk: --config FILE (the kiosk file) is required"),
    (["kiosk", "--config", "firmware_config/kiosk.example.toml", "--server", "http://127.0.0.1:9", "--token", "t",
      "--printer", "lpt:1"], "jiaohao kiosk: 'lpt:1': "),
    (["signs", "--server", "http://127.0.0.1:9", "--token", "t", "--config", "no-such-signs.toml"],
     "jiaohao signs: no-such-signs.toml: no such signs file"),
    (["user", "add", "x", "--role", "clerk", "--password-stdin", "--db", "{tmp}/j.db"],
     "jiaohao user: name 'x' must be"),
])
def test_a_mistake_is_one_line_and_exit_1(argv: list[str], expected: str, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(sys, "stdin", io.StringIO("a long enough password\n"))
    assert main([a.replace("{tmp}", str(tmp_path)) for a in argv]) == 1
    err = capsys.readouterr().err
    assert err.startswith(expected) and err.count("\n") == 1, err


@pytest.mark.parametrize("argv", [
    ["kiosk", "preview", "--out", "{tmp}/t.png"],
    ["display", "--server", "http://127.0.0.1:9", "--token", "t", "--headless", "--snapshot", "{tmp}/b.png"],
])
def test_a_missing_font_is_one_line_for_the_ticket_and_the_board_alike(argv: list[str], tmp_path: Path) -> None:
    env = {**os.environ, "JIAOHAO_FONT": str(tmp_path / "no-such-font.ttc"), "SDL_VIDEODRIVER": "dummy"}
    r = subprocess.run([sys.executable, "-m", "server.cli", *[a.replace("{tmp}", str(tmp_path)) for a in argv]],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert r.stderr.splitlines() == [f"jiaohao {argv[0]}: JIAOHAO_FONT={tmp_path}/no-such-font.ttc: no such file"]
