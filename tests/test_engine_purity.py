"""The engine is plain Python: importing it pulls in no web, database, GPIO, printer or pygame module."""

import subprocess
import sys

BANNED = ["flask", "flask_socketio", "socketio", "engineio", "werkzeug", "sqlite3", "sqlite_utils", "pygame",
          "gpiozero", "escpos", "requests", "gevent", "PIL"]


def test_engine_imports_nothing_banned():
    code = (
        "import sys, server.engine.queue, server.engine.estimate, server.engine.policy, server.config\n"
        f"bad = [m for m in {BANNED!r} if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"the engine imported {out}"


def test_cli_subcommands_are_lazy():
    """`jiaohao display` never imports Flask, `jiaohao kiosk` never pygame."""
    code = (
        "import sys\nfrom server import cli\np = cli.parser()\n"
        "print(','.join(m for m in ['flask', 'pygame', 'gevent'] if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
