"""`jiaohao serve` holds at least 300 open Socket.IO connections, and every one gets every call."""

from __future__ import annotations

import asyncio

import requests
import socketio
from conftest import KIOSK, counter_auth

N = 300


async def _connect_all(url: str, n: int, got: list[asyncio.Event]) -> list[socketio.AsyncClient]:
    clients: list[socketio.AsyncClient] = []
    sem = asyncio.Semaphore(40)

    async def one(i: int) -> None:
        c = socketio.AsyncClient(reconnection=False)

        @c.on("call")
        async def _call(data: dict) -> None:
            got[i].set()

        async with sem:
            await c.connect(url, auth={"token": "demo-display-lobby-token"}, transports=["websocket"],
                            wait_timeout=30)
        clients.append(c)

    await asyncio.gather(*(one(i) for i in range(n)))
    return clients


def test_three_hundred_boards_connected_all_get_the_call(hub_process):
    url = hub_process.url

    async def main() -> int:
        got = [asyncio.Event() for _ in range(N)]
        clients = await _connect_all(url, N, got)
        try:
            assert len(clients) == N and all(c.connected for c in clients)
            loop = asyncio.get_running_loop()

            def issue_and_call() -> None:
                assert requests.post(url + "/api/v1/tickets", json={"service": "general"}, headers=KIOSK,
                                     timeout=10).status_code == 201
                r = requests.post(url + "/api/v1/counters/3/next", headers=counter_auth("3"), timeout=30)
                assert r.json()["ticket"]["number"] == "A001"

            await loop.run_in_executor(None, issue_and_call)
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in got)), timeout=60)
            return sum(e.is_set() for e in got)
        finally:
            await asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True)

    assert asyncio.run(main()) == N
