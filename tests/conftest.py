"""Shared fixtures: a fake clock, the demo office, an in-memory hub, a Flask client, a real hub process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from server.config import load_office
from server.engine.office import Office

ROOT = Path(__file__).resolve().parent.parent
KIOSK = {"Authorization": "Bearer demo-kiosk-1-token"}
ADMIN = {"Authorization": "Bearer demo-admin-token"}
DISPLAY = {"Authorization": "Bearer demo-display-lobby-token"}


def counter_auth(cid: str) -> dict[str, str]:
    return {"Authorization": f"Bearer demo-counter-{cid}-token"}


class FakeClock:
    """Time that moves only when a test says so. Starts on a weekday morning in Taipei."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 09:00 in Asia/Taipei

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> datetime:
        self.now += timedelta(**kw)
        return self.now


def assert_error(resp: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The one error shape of CONTRACT.md, on every error path."""
    assert resp.status_code == status, (resp.status_code, getattr(resp, "text", None) or resp.get_data(as_text=True))
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json() if callable(getattr(resp, "json", None)) else resp.get_json()
    assert set(body) == {"error"}
    err = body["error"]
    assert set(err) == {"code", "message"}
    assert err["code"].replace("_", "").isalnum() and err["code"] == err["code"].lower()
    assert len(err["message"]) > 10
    if code is not None:
        assert err["code"] == code
    return err


@pytest.fixture
def office() -> Office:
    return load_office(None)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(office: Office, clock: FakeClock, tmp_path: Path) -> Iterator[Any]:
    from server.app import create_app

    application = create_app(office, tmp_path / "hub.db", clock=clock)
    yield application
    application.extensions["jiaohao"].store.close()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


def ordered_client(**kwargs: Any) -> Any:
    """A python-socketio client whose handlers run in the order frames arrive.

    python-socketio runs each message's handler on a thread of its own, so under load handlers can
    run out of wire order; tests about event order handle each frame on the reading thread instead.
    """
    import socketio

    from display.client import in_arrival_order

    return in_arrival_order(socketio.Client(**kwargs))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class HubProcess:
    """A real `jiaohao serve` on loopback, as an office would run it."""

    def __init__(self, db: Path, config: Path | None = None, port: int | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.db, self.config = db, config
        self.env = env or {}  # more environment for the hub alone (e.g. libfaketime's, tests/test_hub_time.py)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[str] | None = None
        # A file, not a pipe: nobody reads a pipe while the hub runs, and a full one would freeze it.
        self.log_path = db.parent / f"hub-{self.port}.log"

    def start(self, timeout: float = 30) -> HubProcess:
        cmd = [sys.executable, "-m", "server.cli", "serve", "--db", str(self.db), "--port", str(self.port)]
        if self.config:
            cmd += ["--config", str(self.config)]
        with open(self.log_path, "a", encoding="utf-8") as log:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True,
                                         env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hub exited: {self.output()}")
            try:
                if requests.get(self.url + "/api/v1/health", timeout=1).ok:
                    return self
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError("hub did not become ready")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._close()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._close()

    def _close(self) -> None:
        pass

    def output(self) -> str:
        """Everything the hub printed so far."""
        return self.log_path.read_text("utf-8", errors="replace") if self.log_path.exists() else ""


@pytest.fixture
def hub_process(tmp_path: Path) -> Iterator[HubProcess]:
    hp = HubProcess(tmp_path / "live.db").start()
    yield hp
    hp.stop()
