"""Group commit: one transaction, and one fsync, for every change decided while the last one was on disk.

Under a rush, sixteen kiosks' tickets share one fsync instead of queuing for sixteen. A change is
answered and announced only once its transaction is committed. If a commit fails (a full disk, a
read-only file), memory is ahead of the disk: every change of the batch, and every one decided on
top of it since, is refused (503 `storage_unavailable`), and the hub reloads its memory from the
disk before it takes the next change. No exit, so no crash loop: the next change that can be
written is taken (CONTRACT.md, "When things go wrong").
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .engine.errors import JiaohaoError
from .engine.model import Change, Ticket
from .store import StorageUnavailable, Store, storage_message

log = logging.getLogger("jiaohao.commit")

Messages = list[tuple[str, dict[str, Any]]]
Idempotency = tuple[str, str, str, str, str]


def stamp_seq(change: Change, before: dict[str, Ticket], seq: int) -> tuple[bool, int]:
    """Number one Change's events as CONTRACT.md's `seq` does: its calls, its queue event, its counters.

    Each call's log row gets the seq of its `call` event, so that the recent calls keep it across
    a restart. Returns whether the change emits a `queue` event and the seq after its events, which
    is stored with it. The hub and `jiaohao simulate --db` both number with this, so that a hub
    started on a simulated history goes on from the right number.
    """
    queue_changed = change.queue_changed(before)
    calls = [e for e in change.events if e.kind in ("called", "recalled")]
    for k, e in enumerate(calls):
        e.detail["seq"] = seq + 1 + k
    return queue_changed, seq + len(change.calls) + int(queue_changed) + len(change.counters)


@dataclass
class Pending:
    """A change decided and applied in memory, waiting for its group commit."""

    change: Change
    before: dict[str, Ticket]
    day: str
    seq: int
    idempotency: Idempotency | None
    messages: Messages
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None

    def wait(self) -> None:
        self.done.wait()
        if isinstance(self.error, JiaohaoError):
            raise self.error
        if self.error is not None:
            raise StorageUnavailable(storage_message(self.error)) from self.error


class GroupCommit:
    def __init__(self, store: Store, emit: Callable[[Messages], None],
                 offload: Callable[[Callable[[], None]], Any] | None, seq: int,
                 on_failure: Callable[[BaseException], None] = lambda e: None) -> None:
        """`on_failure`: the hub puts its memory back to what is on disk, then calls `resume`."""
        self.store, self.emit, self.on_failure = store, emit, on_failure
        self.offload = offload or (lambda fn: fn())
        self.failed: BaseException | None = None
        self._lock = threading.Lock()
        self._pending: list[Pending] = []
        self._wake = threading.Event()
        self.emitted_seq = seq
        self._emitted = threading.Condition()
        threading.Thread(target=self._loop, name="group-commit", daemon=True).start()

    def submit(self, p: Pending) -> None:
        with self._lock:
            if self.failed is None:
                self._pending.append(p)
                self._wake.set()
                return
        # Decided on a memory that the reload is about to replace: refused like the batch it built on.
        p.error = self.failed
        p.done.set()

    def _loop(self) -> None:
        while True:
            self._wake.wait()
            with self._lock:
                batch, self._pending = self._pending, []
                self._wake.clear()
            if not batch:
                continue
            rows = [(p.change, p.before, p.day, p.seq, p.idempotency) for p in batch]
            try:
                self.offload(functools.partial(self.store.commit_batch, rows))
            except Exception as e:
                self._fail(batch, e)
                continue
            for p in batch:
                self.emit(p.messages)
                p.done.set()
            with self._emitted:
                self.emitted_seq = batch[-1].seq
                self._emitted.notify_all()
            del batch, rows, p  # the last batch's changes must not stay in memory until the next one

    def _fail(self, batch: list[Pending], e: BaseException) -> None:
        log.error("could not store %d changes (%s); refused, memory goes back to the disk", len(batch), e)
        with self._lock:
            self.failed = e
            queued, self._pending = self._pending, []
            self._wake.clear()
        for p in batch + queued:
            p.error = e
            p.done.set()
        with self._emitted:
            self._emitted.notify_all()
        try:
            self.on_failure(e)
        except Exception:
            log.exception("could not reload the hub's memory from disk; it tries again at the next change")

    def resume(self, seq: int) -> None:
        """The hub's memory is what is on disk again (its seq `seq`): take changes again."""
        with self._emitted:
            self.emitted_seq = seq
            self._emitted.notify_all()
        with self._lock:
            self.failed = None

    def settle(self, seq: int, timeout: float = 10.0) -> None:
        """Wait until every event up to `seq` has gone out (the caller holds the hub's lock)."""
        with self._emitted:
            self._emitted.wait_for(lambda: self.emitted_seq >= seq or self.failed is not None, timeout)
