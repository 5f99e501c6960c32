"""Dependencies point one way (issue #8): the rule of server/wire/README.md, checked two ways.

1. Every import statement in every .py file of server/, kiosk/ and display/ (also those inside
   functions and `if TYPE_CHECKING:`), read with `ast`, so a new import anywhere fails here.
2. Each package imported in a fresh interpreter, and `sys.modules` read afterwards, so an import
   hidden behind a re-export or an `importlib` call fails too.

The rules:
- kiosk/ and display/ import from server only `server` itself (its __init__: the version) and `server.wire.*`;
- server/ never imports kiosk/ or display/, except server/cli.py inside a function (the lazy
  registration of their subcommands); the hub starts them only as processes (server/up.py);
- server/wire/ imports only the standard library and itself.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("server", "kiosk", "display")
STDLIB = sys.stdlib_module_names


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """(absolute module imported, line, at module level?) for every import in the file."""
    tree = ast.parse(path.read_text("utf-8"), str(path))
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    top_level = {id(n) for n in tree.body}
    for node in tree.body:  # `if TYPE_CHECKING:` and `try:` at module level still run (or type-check) there
        if isinstance(node, ast.If | ast.Try):
            top_level |= {id(n) for n in ast.walk(node)}
    out: list[tuple[str, int, bool]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno, id(node) in top_level) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if node.module is None or not node.level and node.module in PACKAGES:
                # `from . import fonts`, `from server import wire`: each name may be a module
                out += [(f"{target}.{a.name}", node.lineno, id(node) in top_level) for a in node.names]
            else:
                out.append((target, node.lineno, id(node) in top_level))
    return out


def _files(package: str) -> list[Path]:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no .py files in {package}/"
    return files


def _is_server_ok_for_clients(name: str) -> bool:
    """What kiosk/ and display/ may import of server: the package itself (the version) and server.wire."""
    return name in ("server", "server.__version__") or name == "server.wire" or name.startswith("server.wire.")


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_the_scan_sees_imports_of_every_kind() -> None:
    """The scanner itself: relative, aliased, in-function and TYPE_CHECKING imports are all found."""
    found = {name for name, _, _ in _imports(ROOT / "kiosk" / "screen.py")}
    assert "server.wire.text" in found and "kiosk.controller" in found
    assert "display.render" in found  # under `if TYPE_CHECKING:` and inside a method
    found = {(name, top) for name, _, top in _imports(ROOT / "server" / "cli.py")}
    assert ("kiosk.cli", False) in found and ("server.wire.errors", True) in found


@pytest.mark.parametrize("package", ["kiosk", "display"])
def test_clients_import_nothing_of_the_hub_but_the_wire(package: str) -> None:
    bad = [f"{f.relative_to(ROOT)}:{line}: {name}" for f in _files(package) for name, line, _ in _imports(f)
           if _within(name, "server") and not _is_server_ok_for_clients(name)]
    assert not bad, "kiosk/ and display/ may import only server.wire from server:\n" + "\n".join(bad)


def test_the_hub_imports_kiosk_and_display_only_to_register_their_commands() -> None:
    bad = []
    for f in _files("server"):
        for name, line, top in _imports(f):
            if not (_within(name, "kiosk") or _within(name, "display")):
                continue
            if f == ROOT / "server" / "cli.py" and not top:
                continue  # the lazy subcommand registration in parser()
            bad.append(f"{f.relative_to(ROOT)}:{line}: {name}")
    assert not bad, "server/ must not import kiosk or display:\n" + "\n".join(bad)


def test_the_wire_imports_only_the_standard_library() -> None:
    bad = [f"{f.relative_to(ROOT)}:{line}: {name}" for f in _files("server/wire") for name, line, _ in _imports(f)
           if not (name.split(".")[0] in STDLIB or _within(name, "server.wire"))]
    assert not bad, "server/wire/ imports only the standard library:\n" + "\n".join(bad)


def _loaded_after(modules: list[str]) -> list[str]:
    """The modules that importing `modules` in a fresh interpreter added to sys.modules."""
    code = ("import importlib, json, sys\nbefore = set(sys.modules)\n"
            f"for m in {modules!r}:\n    importlib.import_module(m)\n"
            "print(json.dumps(sorted(set(sys.modules) - before)))\n")
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy", "PYGAME_HIDE_SUPPORT_PROMPT": "1"}
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def _modules(package: str, skip: tuple[str, ...] = ()) -> list[str]:
    names = [_module_name(f) for f in _files(package)]
    return [n for n in names if n not in skip]


def test_importing_the_wire_loads_only_the_standard_library() -> None:
    loaded = _loaded_after(_modules("server/wire"))
    foreign = [m for m in loaded if m.split(".")[0] not in STDLIB and not _within(m, "server.wire")
               and m != "server"]
    assert not foreign, f"importing server.wire loaded {foreign}"


@pytest.mark.parametrize("package", ["kiosk", "display"])
def test_importing_a_client_loads_no_hub_module(package: str) -> None:
    loaded = _loaded_after(_modules(package))
    assert f"{package}.cli" in loaded  # the import really happened
    hub = [m for m in loaded if _within(m, "server") and m != "server" and not _within(m, "server.wire")]
    assert not hub, f"importing {package} loaded {hub}"


def test_importing_the_hub_loads_no_client_module() -> None:
    # server.cli registers the clients' subcommands when parser() runs, not when it is imported.
    loaded = _loaded_after(_modules("server"))
    assert "server.app" in loaded and "server.board" in loaded
    clients = [m for m in loaded if _within(m, "kiosk") or _within(m, "display")]
    assert not clients, f"importing the hub loaded {clients}"


def test_the_hubs_areas_never_define_the_same_method() -> None:
    """server/hub/ puts the façade together from one class per area: a name defined in two areas would
    silently hide one of them behind the order of the bases."""
    from server.hub import Hub, HubCore

    owners: dict[str, list[str]] = {}
    for area in Hub.__mro__[1:]:
        if area is object:
            continue
        for name, value in vars(area).items():
            if not name.startswith("__") and (callable(value) or isinstance(value, property)):
                owners.setdefault(name, []).append(area.__name__)
    assert {n: o for n, o in owners.items() if len(o) > 1} == {}
    assert all(issubclass(area, HubCore) for area in Hub.__mro__[1:-1])
    # Every operation the routes call is on the façade: a sample of each area.
    for name in ("call_next", "office_json", "issue_device", "open_session", "rate", "check_in", "add_media",
                 "floor"):
        assert callable(getattr(Hub, name)), name


def test_every_package_is_installed() -> None:
    """install-pi installs the wheel: a subpackage left out of pyproject's list (server/hub/ once was) would
    only fail on the Pi. Every folder with an __init__.py is found by the packaging's own rule."""
    import tomllib

    from setuptools import find_packages

    include = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]["packages"]["find"]
    found = set(find_packages(str(ROOT), include=include["include"]))
    on_disk = {_module_name(p.parent / "__init__.py") for pkg in PACKAGES for p in (ROOT / pkg).rglob("__init__.py")}
    assert on_disk and on_disk <= found
