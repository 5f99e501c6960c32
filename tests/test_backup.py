"""`jiaohao backup`: a consistent copy while a real hub issues tickets, and a restore that serves it."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

import requests
from conftest import DISPLAY, KIOSK, ROOT, HubProcess

from server.store.backup import BackupError, backup, backups


def jiaohao(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "server.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_backup_while_the_hub_issues_then_restore_and_serve_it(tmp_path: Path) -> None:
    hub = HubProcess(tmp_path / "hub.db").start()
    issued: list[dict] = []
    stop = threading.Event()

    def issue() -> None:
        with requests.Session() as s:
            while not stop.is_set():
                r = s.post(f"{hub.url}/api/v1/tickets", json={"service": "general"}, headers=KIOSK, timeout=30)
                assert r.status_code == 201, r.text
                issued.append(r.json()["ticket"])

    try:
        worker = threading.Thread(target=issue)
        worker.start()
        while len(issued) < 20:
            worker.join(0.05)
        r = jiaohao("backup", "--db", str(hub.db), "--to", str(tmp_path / "backups"), "--keep", "3")
        at_backup = len(issued)
        while len(issued) < at_backup + 20:  # the hub went on issuing during and after the backup
            worker.join(0.05)
        stop.set()
        worker.join(30)
    finally:
        stop.set()
        hub.stop()
    assert r.returncode == 0, r.stderr
    [copy] = backups(tmp_path / "backups")
    assert r.stdout.strip() == f"backed up {hub.db} to {copy}"
    assert sqlite3.connect(copy).execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    # Restore as the docs say: the hub stopped, the backup copied over the database (its -wal and -shm
    # removed), the hub started on it.
    restored = tmp_path / "restored.db"
    restored.write_bytes(copy.read_bytes())
    again = HubProcess(restored).start()
    try:
        numbers = {t["id"]: t["number"] for t in issued}
        found = {}
        for tid in numbers:
            got = requests.get(f"{again.url}/api/v1/tickets/{tid}", headers=DISPLAY, timeout=30)
            if got.status_code == 200:
                found[tid] = got.json()["ticket"]["number"]
            else:
                assert got.status_code == 404, got.text
    finally:
        again.stop()
    # Every ticket issued before the backup began is in it, each with its own number; the ones after are not.
    first = [t["id"] for t in issued[:20]]
    assert all(found.get(tid) == numbers[tid] for tid in first)
    assert len(found) < len(issued)
    # The backup is one moment: the tickets in it are exactly the first N issued, no gaps.
    in_copy = [t["id"] in found for t in issued]
    assert in_copy == sorted(in_copy, reverse=True)


def test_keeps_the_newest_n(tmp_path: Path) -> None:
    db = tmp_path / "hub.db"
    sqlite3.connect(db).execute("CREATE TABLE t (x)").connection.commit()
    out = tmp_path / "b"
    made = [backup(db, out, keep=2, now=datetime(2026, 12, day, 2, 30)) for day in (1, 2, 3)]
    made.append(backup(db, out, keep=2, now=datetime(2026, 12, 3, 2, 30)))  # same second: kept apart
    assert [p.name for p in backups(out)] == ["jiaohao-20261203-023000.db", "jiaohao-20261203-023000-1.db"]
    assert not made[0].exists() and not made[1].exists()
    assert not list(out.glob(".*partial"))


def test_what_cannot_be_backed_up_is_one_line_and_exit_1(tmp_path: Path) -> None:
    r = jiaohao("backup", "--db", str(tmp_path / "missing.db"), "--to", str(tmp_path / "b"))
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "no such database" in r.stderr
    assert not (tmp_path / "missing.db").exists()  # never an empty database made in its place
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database at all" * 100)
    r = jiaohao("backup", "--db", str(garbage), "--to", str(tmp_path / "b"))
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "cannot back up" in r.stderr, r.stderr
    assert list((tmp_path / "b").iterdir()) == []
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = jiaohao("backup", "--db", str(garbage), "--to", str(blocker / "sub"))
    assert r.returncode == 1 and "cannot make" in r.stderr
    try:
        backup(garbage, tmp_path / "b", keep=0)
    except BackupError as e:
        assert "--keep" in str(e)
    else:
        raise AssertionError("keep=0 accepted")
