"""Issue #14, item 4: a database that cannot be written. Every change is a 503 `storage_unavailable`
saying what, nothing is acknowledged that is not on disk, reads go on, and the hub takes changes
again by itself; at start, a database it cannot use is one line and exit 1."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from server.app import create_app
from server.engine.office import Office
from server.hub import Hub
from server.store import Store, storage_message
from tests.conftest import KIOSK, ROOT, FakeClock, HubProcess, assert_error, counter_auth


class FlakyStore(Store):
    """A store whose disk fills up when the test says so (SQLite's own error, raised mid-transaction)."""

    full = False

    def _write(self, *args: Any) -> None:
        super()._write(*args)
        if self.full:
            raise sqlite3.OperationalError("database or disk is full")


@pytest.fixture(params=[False, True], ids=["direct", "group_commit"])
def flaky(request: Any, office: Office, tmp_path: Path) -> Iterator[tuple[Any, FlakyStore]]:
    store = FlakyStore(tmp_path / "hub.db")
    hub = Hub(office, store, clock=FakeClock(), group_commit=request.param)
    app = create_app(office, hub=hub)
    yield app, store
    store.close()


def _waiting(client: Any) -> int:
    services = client.get("/api/v1/services", headers=KIOSK).get_json()["services"]
    return sum(s["waiting"] for s in services if s["id"] == "general")


def test_a_full_disk_refuses_every_change_and_the_hub_goes_on_by_itself(flaky: tuple[Any, FlakyStore]) -> None:
    app, store = flaky
    client = app.test_client()
    assert client.post("/api/v1/tickets", json={"service": "general"}, headers=KIOSK).status_code == 201
    store.full = True
    for _ in range(3):
        r = client.post("/api/v1/tickets", json={"service": "general"}, headers={**KIOSK, "Idempotency-Key": "k1"})
        err = assert_error(r, 503, "storage_unavailable")
        assert "儲存空間已滿" in err["message"] and "disk is full" in err["message"]
    assert_error(client.post("/api/v1/counters/3/next", headers=counter_auth("3")), 503, "storage_unavailable")
    # Reads go on, and show only what is on disk: the refused tickets and the refused call are nowhere.
    state = client.get("/api/v1/state", headers=KIOSK)
    assert state.status_code == 200
    assert _waiting(client) == 1
    assert all(c["ticket"] is None for c in state.get_json()["counters"])
    assert state.get_json()["hub"]["status"] == "storage_unavailable"

    store.full = False  # space freed: the very next change is taken, no restart
    r = client.post("/api/v1/tickets", json={"service": "general"}, headers={**KIOSK, "Idempotency-Key": "k1"})
    assert r.status_code == 201
    assert r.get_json()["ticket"]["number"] == "A002"  # the refused ones never took a number
    assert _waiting(client) == 2
    assert client.get("/api/v1/state", headers=KIOSK).get_json()["hub"]["status"] == "ok"
    assert [t["number"] for t in _stored(store)] == ["A001", "A002"]


def _stored(store: Store) -> list[dict[str, Any]]:
    return list(store.db.query("SELECT number FROM tickets ORDER BY ord"))


def test_the_message_says_what_is_wrong(tmp_path: Path) -> None:
    db = tmp_path / "ro.db"
    sqlite3.connect(db).execute("CREATE TABLE t (x)").connection.commit()
    ro = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError) as e:
        ro.execute("INSERT INTO t VALUES (1)")
    assert "read-only" in storage_message(e.value)
    assert "I/O error" in storage_message(sqlite3.OperationalError("disk I/O error"))
    assert "儲存空間已滿" in storage_message(sqlite3.OperationalError("database or disk is full"))


def _serve(db: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "server.cli", "serve", "--db", str(db), "--port", "1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


def _one_line(result: subprocess.CompletedProcess[str], db: Path) -> str:
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and str(db) in lines[0]
    return lines[0]


def test_a_corrupt_database_is_one_line_and_exit_1(tmp_path: Path) -> None:
    db = tmp_path / "corrupt.db"
    db.write_bytes(b"this is not a database at all, only some text " * 100)
    assert "damaged" in _one_line(_serve(db, tmp_path), db)


def test_a_truncated_database_is_one_line_and_exit_1(tmp_path: Path) -> None:
    db = tmp_path / "cut.db"
    Store(db).close()
    whole = db.read_bytes()
    db.write_bytes(whole[: len(whole) // 3 + 100])
    _one_line(_serve(db, tmp_path), db)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB filesystem of its own (tmpfs, as root); skipped where it cannot be mounted."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mnt)],
                                           capture_output=True).returncode != 0:
        pytest.skip("needs root to mount a small tmpfs; the full disk is simulated in the test above")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _fill(path: Path) -> None:
    with open(path, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass


def test_a_read_only_database_is_one_line_and_exit_1(tmp_path: Path) -> None:
    db = tmp_path / "ro.db"
    Store(db).close()
    if os.geteuid() == 0:
        # root writes a 0444 file anyway: a read-only filesystem is what stops it.
        mnt = tmp_path / "ro"
        mnt.mkdir()
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mnt)]).returncode != 0:
            pytest.skip("cannot mount a tmpfs")
        try:
            target = mnt / "ro.db"
            target.write_bytes(db.read_bytes())
            (mnt / "ro.db.lock").touch()
            subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
            line = _one_line(_serve(target, tmp_path), target)
        finally:
            subprocess.run(["umount", "-l", str(mnt)], check=False)
    else:
        db.chmod(0o444)
        line = _one_line(_serve(db, tmp_path), db)
    assert "read-only" in line or "Read-only" in line


def test_a_fresh_database_on_a_full_disk_is_one_line_and_exit_1(small_disk: Path, tmp_path: Path) -> None:
    _fill(small_disk / "filler")
    db = small_disk / "new.db"
    assert "full" in _one_line(_serve(db, tmp_path), db)


def test_a_real_hub_on_a_disk_that_fills_up(small_disk: Path, tmp_path: Path) -> None:
    hub = HubProcess(small_disk / "hub.db")
    hub.log_path = tmp_path / "hub.log"  # the log must not share the full disk
    hub.start()
    try:
        s = requests.Session()
        acknowledged = []
        for _ in range(5):
            r = s.post(hub.url + "/api/v1/tickets", json={"service": "general"}, headers=KIOSK, timeout=10)
            assert r.status_code == 201
            acknowledged.append(r.json()["ticket"]["id"])
        _fill(small_disk / "filler")
        refused = None
        for _ in range(400):  # the WAL has some room left; soon it has none
            r = s.post(hub.url + "/api/v1/tickets", json={"service": "general"}, headers=KIOSK, timeout=10)
            if r.status_code == 201:
                acknowledged.append(r.json()["ticket"]["id"])
                continue
            refused = r
            break
        assert refused is not None, "the disk never filled up"
        err = assert_error(refused, 503, "storage_unavailable")
        assert "儲存空間已滿" in err["message"]
        assert s.get(hub.url + "/api/v1/state", headers=KIOSK, timeout=10).status_code == 200  # reads go on
        assert hub.proc is not None and hub.proc.poll() is None  # no exit, no crash loop

        (small_disk / "filler").unlink()
        r = s.post(hub.url + "/api/v1/tickets", json={"service": "general"}, headers=KIOSK, timeout=10)
        assert r.status_code == 201, r.text
        acknowledged.append(r.json()["ticket"]["id"])
        hub.kill()  # SIGKILL: everything acknowledged must be on disk
        hub.start()
        for tid in acknowledged:
            assert s.get(f"{hub.url}/api/v1/tickets/{tid}", headers=KIOSK, timeout=10).status_code == 200
    finally:
        hub.stop()


def test_a_disk_that_fails_a_read_is_a_503_that_says_so(office: Office, tmp_path: Path, monkeypatch: Any) -> None:
    """Issue #14's gap: a read the disk fails (an I/O error on the SD card) was a 500 `internal_error`."""
    store = Store(tmp_path / "hub.db")
    app = create_app(office, hub=Hub(office, store, clock=FakeClock()))
    client = app.test_client()
    tid = client.post("/api/v1/tickets", json={"service": "general"}, headers=KIOSK).get_json()["ticket"]["id"]

    def failing(*_: Any) -> Any:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(store, "ticket", failing)
    err = assert_error(client.get("/api/v1/tickets/not-in-memory", headers=KIOSK), 503, "storage_unavailable")
    assert "磁碟讀寫錯誤" in err["message"] and "I/O error" in err["message"]
    # What memory holds is still answered, and the hub takes changes (it is a read that failed).
    assert client.get(f"/api/v1/tickets/{tid}", headers=KIOSK).status_code == 200
    assert client.post("/api/v1/tickets", json={"service": "general"}, headers=KIOSK).status_code == 201
    store.close()


def test_a_programming_error_of_sqlite_stays_a_500(office: Office, tmp_path: Path, monkeypatch: Any) -> None:
    """Only the disk's errors are 503: an IntegrityError is a bug, and a kiosk must not blame the disk for it."""
    store = Store(tmp_path / "hub.db")
    app = create_app(office, hub=Hub(office, store, clock=FakeClock()))

    def failing(*_: Any) -> Any:
        raise sqlite3.IntegrityError("UNIQUE constraint failed: tickets.id")

    monkeypatch.setattr(store, "ticket", failing)
    assert_error(app.test_client().get("/api/v1/tickets/not-in-memory", headers=KIOSK), 500, "internal_error")
    store.close()
