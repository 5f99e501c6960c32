"""Fixes from the review: yesterday's calls after midnight, lone surrogates, chunked bodies, shared connections."""

from __future__ import annotations

import threading

import requests
from conftest import ADMIN, DISPLAY, KIOSK, assert_error, counter_auth

API = "/api/v1"


def test_yesterdays_calls_are_not_today_s_after_midnight(client, clock):
    client.post(f"{API}/tickets", json={"service": "general"}, headers=KIOSK)
    client.post(f"{API}/counters/3/next", headers=ADMIN)
    assert client.get(f"{API}/public/status").get_json()["services"][0]["now_calling"] == "A001"
    clock.advance(days=1)
    state = client.get(f"{API}/state", headers=DISPLAY).get_json()
    assert state["recent_calls"] == []
    assert all(s["now_calling"] is None for s in client.get(f"{API}/public/status").get_json()["services"])


def test_lone_surrogates_are_refused_before_anything_changes(client):
    raw = '{"service": "\\ud800"}'
    assert_error(client.post(f"{API}/tickets", data=raw, headers={**KIOSK, "Content-Type": "application/json"}),
                 400, "invalid_json")
    bad = '{"state": "warn", "code": "x", "message": {"en": "\\ud800"}}'
    assert_error(client.post(f"{API}/devices/self/status", data=bad,
                             headers={**KIOSK, "Content-Type": "application/json"}), 400, "invalid_json")
    assert client.get(f"{API}/state", headers=DISPLAY).status_code == 200
    assert client.get(f"{API}/public/status").status_code == 200


def test_chunked_body_over_16_kib_is_413_on_the_real_server(hub_process):
    def chunks():
        for _ in range(20):
            yield b" " * 1024

    r = requests.post(hub_process.url + f"{API}/tickets", data=chunks(), headers=KIOSK, timeout=10)
    assert_error(r, 413, "body_too_large")
    small = requests.post(hub_process.url + f"{API}/tickets", data=iter([b'{"service": "general"}']),
                          headers=KIOSK, timeout=10)
    assert small.status_code == 201


def test_ratings_and_device_reports_during_a_rush_never_break_the_group_commit(hub_process):
    url, errors = hub_process.url, []

    def kiosk():
        with requests.Session() as s:
            for _ in range(60):
                r = s.post(url + f"{API}/tickets", json={"service": "general"}, headers=KIOSK, timeout=30)
                if r.status_code != 201:
                    errors.append(("issue", r.status_code))

    def counter(cid):
        with requests.Session() as s:
            for _ in range(15):
                for action in ("next", "finish"):
                    r = s.post(url + f"{API}/counters/{cid}/{action}", headers=counter_auth(cid), timeout=30)
                    if r.status_code >= 500:
                        errors.append((action, r.status_code))
                r = s.post(url + f"{API}/counters/{cid}/rating", json={"score": 4}, headers=counter_auth(cid),
                           timeout=30)
                if r.status_code >= 500:
                    errors.append(("rating", r.status_code))

    def reporter():
        with requests.Session() as s:
            for i in range(60):
                body = {"state": "warn" if i % 2 else "ok", "code": "paper_near_end" if i % 2 else "printer_ok"}
                r = s.post(url + f"{API}/devices/self/status", json=body,
                           headers={"Authorization": "Bearer demo-kiosk-2-token"}, timeout=30)
                if r.status_code != 200:
                    errors.append(("device", r.status_code))

    threads = [threading.Thread(target=kiosk) for _ in range(3)]
    threads += [threading.Thread(target=counter, args=(c,)) for c in ("3", "4", "5", "6")]
    threads.append(threading.Thread(target=reporter))
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[:10]
    assert hub_process.proc.poll() is None, "the hub stopped"
    assert "could not store" not in hub_process.output()
