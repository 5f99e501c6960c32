"""systemd's notify protocol (server/wire/sdnotify.py): READY once serving, WATCHDOG from the work loop.

The live test gives a real `jiaohao serve` a real NOTIFY_SOCKET (a unix datagram socket bound here),
as systemd does for a `Type=notify` unit with `WatchdogSec=`.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import requests
from conftest import HubProcess

from server.wire.sdnotify import Notifier


@pytest.fixture
def notify_socket(tmp_path: Path):
    path = tmp_path / "notify"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(str(path))
    s.settimeout(30)
    yield path, s
    s.close()


def test_a_real_hub_says_ready_once_it_serves_and_then_pings(tmp_path, notify_socket, monkeypatch):
    path, sock = notify_socket
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.setenv("WATCHDOG_USEC", "2000000")  # 2 s: a ping at least every 0.5 s
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    hub = HubProcess(tmp_path / "hub.db")
    hub.start()
    try:
        first = sock.recv(4096).decode()
        assert first.startswith("READY=1\n") and "STATUS=serving" in first, first
        # READY came after the server was listening: the hub answers now.
        assert requests.get(hub.url + "/api/v1/health", timeout=5).ok
        pings = [sock.recv(4096).decode() for _ in range(3)]
        assert pings == ["WATCHDOG=1"] * 3
        hub.stop()
        sock.settimeout(0)  # the hub has exited: everything it sent is queued here
        rest = []
        while (m := sock.recv(4096).decode()) != "STOPPING=1":
            rest.append(m)
        assert set(rest) <= {"WATCHDOG=1"}
    finally:
        hub.stop()


def test_without_notify_socket_nothing_is_sent():
    n = Notifier({})
    assert not n.ready() and not n.ping() and n.ping_every_s is None


def test_abstract_socket_names_and_throttled_pings(notify_socket):
    path, sock = notify_socket
    now = [100.0]
    n = Notifier({"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "8000000"}, clock=lambda: now[0])
    assert n.ping_every_s == 2.0
    assert n.ready("up")
    assert sock.recv(100) == b"READY=1\nSTATUS=up"
    sent = [100.0]  # READY counts as the first sign of life
    for _ in range(40):  # a loop turning every 0.25 s for 10 s
        now[0] += 0.25
        if n.ping():
            sent.append(now[0])
    assert len(sent) == 6 and len(sock.recv(100)) == len(b"WATCHDOG=1")
    assert max(b - a for a, b in zip(sent, sent[1:], strict=False)) <= 4.0  # half of WatchdogSec
    assert Notifier({"NOTIFY_SOCKET": "@jiaohao-test"}).address == "\0jiaohao-test"


def test_a_child_that_inherited_the_watchdog_stays_quiet(notify_socket):
    path, _ = notify_socket
    n = Notifier({"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "8000000", "WATCHDOG_PID": str(os.getpid() + 1)})
    assert n.watchdog_s is None and not n.ping()


def test_a_broken_socket_is_one_warning_not_a_crash(tmp_path, caplog):
    n = Notifier({"NOTIFY_SOCKET": str(tmp_path / "nobody-listens"), "WATCHDOG_USEC": "1000"})
    assert not n.ready()
    assert not n.send("WATCHDOG=1")
    assert len([r for r in caplog.records if "cannot notify systemd" in r.message]) == 1
