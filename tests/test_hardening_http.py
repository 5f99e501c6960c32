"""Issue #14, item 9: what the web server itself refuses (gevent's pywsgi, before Flask sees it) has
the API's JSON error shape. Raw sockets against a real `jiaohao serve`."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from tests.conftest import KIOSK, HubProcess


def _raw(hub: HubProcess, data: bytes) -> tuple[int, dict[str, str], Any]:
    with socket.create_connection(("127.0.0.1", hub.port), timeout=30) as s:
        try:
            s.sendall(data)
        except OSError:
            pass  # the hub may answer and close before it has read everything
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, json.loads(body.decode()) if body else None


def _assert_shape(result: tuple[int, dict[str, str], Any], status: int, code: str) -> None:
    got, headers, body = result
    assert got == status, (got, body)
    assert headers["content-type"].startswith("application/json")
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code and len(body["error"]["message"]) > 10


AUTH = KIOSK["Authorization"]


@pytest.mark.parametrize(("request_bytes", "status", "code"), [
    # a 70,000-character Idempotency-Key
    ((f"POST /api/v1/tickets HTTP/1.1\r\nHost: x\r\nAuthorization: {AUTH}\r\nIdempotency-Key: {'k' * 70000}\r\n"
      "Content-Length: 2\r\n\r\n{}").encode(), 431, "headers_too_large"),
    # a 9 KB URL (an oversized request line)
    (f"GET /api/v1/tickets/{'a' * 9000} HTTP/1.1\r\nHost: x\r\n\r\n".encode(), 414, "uri_too_long"),
    # 2,000 headers
    (("GET /api/v1/health HTTP/1.1\r\nHost: x\r\n" + "".join(f"X-H{i}: v\r\n" for i in range(2000))
      + "\r\n").encode(), 431, "headers_too_large"),
    # not HTTP at all
    (b"HELLO THERE\r\n\r\n", 400, "malformed_request"),
], ids=["long_header", "long_url", "many_headers", "garbage"])
def test_the_servers_own_refusals_have_the_json_error_shape(hub_process: HubProcess, request_bytes: bytes,
                                                            status: int, code: str) -> None:
    _assert_shape(_raw(hub_process, request_bytes), status, code)
    # And the hub is none the worse for it.
    assert _raw(hub_process, b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")[0] == 200
    assert "Traceback" not in hub_process.output()


def test_a_broken_chunked_body_has_the_json_error_shape(hub_process: HubProcess) -> None:
    data = (f"POST /api/v1/tickets HTTP/1.1\r\nHost: x\r\nAuthorization: {AUTH}\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n").encode()
    _assert_shape(_raw(hub_process, data), 400, "malformed_request")
