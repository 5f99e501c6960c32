"""Issue #14, item 3: a storm of wrong logins under made-up names. The scrypt hash runs off the event
loop, the storm is limited per address, and a kiosk goes on issuing meanwhile."""

from __future__ import annotations

import re
import secrets
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import requests

from server.engine.office import Office
from server.hub import Hub
from server.store import Store
from tests.conftest import KIOSK, HubProcess


def test_the_password_hash_runs_where_the_hub_is_told(office: Office) -> None:
    ran: list[str] = []

    def offload(fn: Callable[[], Any]) -> Any:
        ran.append(threading.current_thread().name)
        return fn()

    hub = Hub(office, Store(":memory:"), hash_offload=offload)
    assert hub.authenticate("nobody-at-all", "wrong password") is None
    assert len(ran) == 1


def _storm(url: str, tries: int, out: Counter[int]) -> None:
    s = requests.Session()
    html = s.get(url + "/login", timeout=30).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', html)
    assert csrf
    for _ in range(tries):
        r = s.post(url + "/login", data={"csrf": csrf.group(1), "name": f"x{secrets.token_hex(4)}",
                                         "password": "not the password", "counter": "3"}, timeout=60)
        out[r.status_code] += 1


def test_issuing_goes_on_during_a_login_storm(hub_process: HubProcess) -> None:
    url = hub_process.url
    statuses: list[Counter[int]] = [Counter() for _ in range(8)]
    threads = [threading.Thread(target=_storm, args=(url, 12, c)) for c in statuses]
    for t in threads:
        t.start()
    issued = Counter[int]()
    kiosk = requests.Session()
    for i in range(40):
        r = kiosk.post(url + "/api/v1/tickets", json={"service": "general"},
                       headers={**KIOSK, "Idempotency-Key": f"storm-{i}"}, timeout=30)
        issued[r.status_code] += 1
    for t in threads:
        t.join(120)
    storm = sum(statuses, Counter[int]())
    assert issued == {201: 40}
    assert set(storm) <= {401, 429}, storm
    assert storm[401] >= 1 and storm[429] >= 1  # the address limit took over from the hash
    assert sum(storm.values()) == 8 * 12
