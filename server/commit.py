"""Group commit: one transaction, and one fsync, for every change decided while the last one was on disk.

Under a rush, sixteen kiosks' tickets share one fsync instead of queuing for sixteen. A change is
answered and announced only once its transaction is committed. If a commit fails, memory is ahead
of the disk: the requests get an error and the hub stops, so that it starts again from what is on
disk (a supervisor such as systemd restarts it).
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .engine.model import Change, Ticket
from .store import Store

log = logging.getLogger("jiaohao.commit")

Messages = list[tuple[str, dict[str, Any]]]
Idempotency = tuple[str, str, str, str, str]


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
        if self.error is not None:
            raise RuntimeError("the hub could not store this change; it restarts") from self.error


class GroupCommit:
    def __init__(self, store: Store, emit: Callable[[Messages], None],
                 offload: Callable[[Callable[[], None]], Any] | None, seq: int) -> None:
        self.store, self.emit = store, emit
        self.offload = offload or (lambda fn: fn())
        self.failed: BaseException | None = None
        self._lock = threading.Lock()
        self._pending: list[Pending] = []
        self._wake = threading.Event()
        self.emitted_seq = seq
        self._emitted = threading.Condition()
        threading.Thread(target=self._loop, name="group-commit", daemon=True).start()

    def submit(self, p: Pending) -> None:
        if self.failed is not None:
            p.error = self.failed
            p.done.set()
            return
        with self._lock:
            self._pending.append(p)
            self._wake.set()

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
            except BaseException as e:
                log.critical("could not store %d changes; stopping the hub so it restarts from disk", len(batch),
                             exc_info=True)
                self.failed = e
                for p in batch:
                    p.error = e
                    p.done.set()
                threading.Timer(1.0, os._exit, (70,)).start()
                return
            for p in batch:
                self.emit(p.messages)
                p.done.set()
            with self._emitted:
                self.emitted_seq = batch[-1].seq
                self._emitted.notify_all()

    def settle(self, seq: int, timeout: float = 10.0) -> None:
        """Wait until every event up to `seq` has gone out (the caller holds the hub's lock)."""
        with self._emitted:
            self._emitted.wait_for(lambda: self.emitted_seq >= seq or self.failed is not None, timeout)
