"""The BARE baseline for scripts/bench_fanout.py: the least a hub must do per call, nothing more.

A minimal Flask-SocketIO app in threading mode, served by `socketio.run(app, allow_unsafe_werkzeug=True)`
(Werkzeug, WebSockets through simple-websocket), as in the "werkzeug-threading" setup of
shared/reference/fanout.md. Its POST /api/v1/counters/<id>/next does the work the contract requires of
a call: one durable SQLite write (WAL, synchronous=FULL, autocommit, under a lock), then `call` and
`queue` to every connected client, then a JSON answer. Payloads have the contract's shapes and about
the hub's size (a Call with a Ticket, six services). No auth, no engine, no estimates.

    .venv/bin/python scripts/bench_baseline_app.py --db /tmp/x.db --port 8700

Started and stopped by bench_fanout.py; it listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import logging
import secrets
import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

from flask import Flask, jsonify
from flask_socketio import SocketIO, emit

TZ = timezone(timedelta(hours=8))
SERVICES = [
    ("general", "綜合業務", "General registration"),
    ("quick", "快速案件（謄本・印鑑證明）", "Quick cases (transcripts, seal certificates)"),
    ("appointment", "網路預約報到", "Online appointment check-in"),
    ("english", "英語・新住民服務", "English & new-resident service"),
    ("certificate", "自然人憑證", "Citizen digital certificate"),
    ("private", "專屬服務", "Personal service"),
]


def create(db_path: str) -> tuple[Flask, SocketIO]:
    app = Flask(__name__)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    sio = SocketIO(app, async_mode="threading", cors_allowed_origins="*")
    conn = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE IF NOT EXISTS calls (id INTEGER PRIMARY KEY, number TEXT, counter TEXT, at TEXT)")
    lock = threading.Lock()
    st = {"seq": 0, "n": 0, "waiting": 500}

    def now() -> str:
        return datetime.now(TZ).isoformat(timespec="seconds")

    def services() -> list[dict[str, Any]]:
        return [
            {"id": sid, "name": {"zh-TW": zh, "en": en}, "waiting": st["waiting"] if sid == "general" else 0,
             "estimated_wait_s": 600, "open": True}
            for sid, zh, en in SERVICES
        ]

    @app.get("/api/v1/health")
    def health() -> Any:
        return jsonify({"status": "ok", "version": "baseline"})

    @app.post("/api/v1/counters/<cid>/next")
    def call_next(cid: str) -> Any:
        with lock:
            st["n"] += 1
            number = f"A{st['n']:03d}"
            at = now()
            conn.execute("INSERT INTO calls (number, counter, at) VALUES (?, ?, ?)", (number, cid, at))
            st["waiting"] -= 1
            ticket = {
                "id": secrets.token_urlsafe(12), "number": number, "service": "general", "lane": "normal",
                "status": "called", "issued_at": at, "called_at": at, "counter": cid, "ahead": None,
                "estimated_wait_s": None,
            }
            st["seq"] += 1
            sio.emit("call", {"seq": st["seq"], "counter": {"id": cid, "name": {"zh-TW": f"{cid}號櫃台",
                     "en": f"Counter {cid}"}}, "ticket": ticket, "recall": False, "at": at})
            st["seq"] += 1
            sio.emit("queue", {"seq": st["seq"], "services": services()})
        return jsonify({"ticket": ticket})

    @sio.on("connect")
    def connect(auth: Any = None) -> None:
        with lock:
            emit("state", {"seq": st["seq"], "counters": [], "recent_calls": [], "services": services()})

    return app, sio


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", required=True)
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app, sio = create(args.db)
    print("baseline ready", flush=True)
    sio.run(app, host="127.0.0.1", port=args.port, allow_unsafe_werkzeug=True)


if __name__ == "__main__":
    main()
