"""Issue #14, items 5 and 6: a refused Socket.IO connection says why, and only the hub's own pages
may connect with a browser's cookie (no `*` origins)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests
import socketio

from tests.conftest import DISPLAY, HubProcess


@pytest.mark.parametrize(("auth", "word"), [({"token": "not-a-real-token"}, "token"), ({}, "token")])
def test_a_refused_connection_carries_its_reason(hub_process: HubProcess, auth: dict[str, str], word: str) -> None:
    client = socketio.Client(reconnection=False)
    errors: list[Any] = []
    got = threading.Event()

    @client.on("connect_error")
    def _error(data: Any = None) -> None:
        errors.append(data)
        got.set()

    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(hub_process.url, auth=auth, transports=["websocket"], wait_timeout=10)
    assert got.wait(10)
    message = errors[0]["message"]
    assert word in message and "Connection refused by server" not in message
    assert "存取權杖" in message


def _poll(url: str, origin: str | None) -> requests.Response:
    headers = {"Origin": origin} if origin else {}
    return requests.get(url + "/socket.io/", params={"EIO": "4", "transport": "polling"}, headers=headers,
                        timeout=10)


def test_only_the_hubs_own_origin_may_poll(hub_process: HubProcess) -> None:
    evil = _poll(hub_process.url, "http://evil.example")
    assert evil.status_code >= 400
    assert evil.headers.get("Access-Control-Allow-Origin") != "http://evil.example"
    own = _poll(hub_process.url, hub_process.url)
    assert own.status_code == 200
    assert _poll(hub_process.url, None).status_code == 200  # devices send no Origin at all


def test_a_good_token_still_connects(hub_process: HubProcess) -> None:
    client = socketio.Client(reconnection=False)
    states: list[Any] = []
    got = threading.Event()
    client.on("state", lambda data: (states.append(data), got.set()))
    client.connect(hub_process.url, auth={"token": DISPLAY["Authorization"].split()[1]}, transports=["websocket"])
    try:
        assert got.wait(10)
        assert states[0]["hub"]["status"] == "ok"
    finally:
        client.disconnect()


def test_a_tablet_token_may_not_connect(hub_process: HubProcess) -> None:
    client = socketio.Client(reconnection=False)
    errors: list[Any] = []
    client.on("connect_error", lambda data=None: errors.append(data))
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(hub_process.url, auth={"token": "demo-tablet-3-token"}, transports=["websocket"],
                       wait_timeout=10)
    assert errors and "tablet" in errors[0]["message"]
