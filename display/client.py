"""The board's link to the hub: Socket.IO events and GET /state, fed into one thread-safe queue.

Nothing here touches the screen and nothing blocks the main loop: socket handlers and the resync
fetcher only put (event_name, data) pairs on `events`; the main loop drains it every frame.
Besides the hub's events the queue carries `link_up`, `link_down`, `link_error` and
`token_refused` (the hub answered 401: the token is wrong, which no retry will fix).

Reconnection: python-socketio retries a dropped transport by itself with a doubling, jittered delay
(reconnection_delay .. reconnection_delay_max, ± randomization_factor). It does not retry a refused
first connection, nor after the server closes the namespace; the supervisor thread below covers both
with the same kind of backoff, so the board keeps trying for as long as it runs.

Event order: python-engineio's client starts every message's handler on a new thread, so two events
that arrive back to back can be handled the other way round (a board saw `call` 416 before 415 and
read the whole state again for nothing). Neither library has a public way to change that: the
server's `async_handlers=False` has no client counterpart (the maintainer, python-socketio#257: "the
client does not have the option"), and the advice to use a lock (#382) serialises handlers without
ordering them. Reordering by `seq` in our own handlers would have to wait an unknown time for a gap
to fill, and events such as `device` carry no `seq`. So `in_arrival_order` keeps its small patch of
python-engineio's private `_trigger_event`, with the version pinned in pyproject.toml and
tests/test_engineio_patch.py failing loudly when the method's shape or engineio's threading changes.
"""

from __future__ import annotations

import inspect
import logging
import queue
import random
import threading
from typing import Any

import requests
import socketio

log = logging.getLogger("jiaohao.display.client")

Event = tuple[str, Any]


def jittered(delay: float, factor: float = 0.5) -> float:
    """`delay` ± factor·delay, so a hall full of boards does not reconnect in lockstep after a hub restart."""
    return max(0.05, delay * (1 + factor * (2 * random.random() - 1)))


def in_arrival_order(sio: socketio.Client) -> socketio.Client:
    """Run this client's handlers in the order frames arrive.

    python-engineio runs each message's handler on a thread of its own, so under load a board saw
    `call` 416 before 415 and read the whole state again for nothing. Our handlers only put the
    event on a queue, so running them on the reading thread costs nothing. Raises RuntimeError at
    once, not a reordering later, if python-engineio no longer has the method this relies on.
    """
    trigger = getattr(sio.eio, "_trigger_event", None)
    kinds = [p.kind for p in inspect.signature(trigger).parameters.values()] if callable(trigger) else []
    if kinds != [inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.VAR_POSITIONAL,
                 inspect.Parameter.VAR_KEYWORD]:
        raise RuntimeError("python-engineio's Client._trigger_event(event, *args, run_async=...) has changed: "
                           "see display/client.py and tests/test_engineio_patch.py before upgrading it")

    def ordered(event: str, *args: Any, **kwargs: Any) -> Any:
        kwargs["run_async"] = False
        return trigger(event, *args, **kwargs)

    sio.eio._trigger_event = ordered
    return sio


class HubLink:
    def __init__(
        self,
        server: str,
        token: str,
        events: queue.Queue[Event],
        *,
        delay: float = 1.0,
        delay_max: float = 5.0,
        http_timeout: float = 5.0,
    ) -> None:
        self.server = server.rstrip("/")
        self.token = token
        self.events = events
        self.delay, self.delay_max = delay, delay_max
        self.http_timeout = http_timeout
        self._stop = threading.Event()
        self._final = threading.Event()
        self._want_state = threading.Event()
        self._threads: list[threading.Thread] = []
        self.sio = socketio.Client(
            reconnection=True,
            reconnection_attempts=0,  # forever: a board on the wall never gives up
            reconnection_delay=delay,
            reconnection_delay_max=delay_max,
            randomization_factor=0.5,
            logger=False,
            engineio_logger=False,
        )
        in_arrival_order(self.sio)
        self._register()

    # -- socket handlers: they only enqueue --

    def _register(self) -> None:
        sio, put = self.sio, self.events.put
        sio.on("connect", lambda: put(("link_up", {})))
        sio.on("disconnect", lambda reason=None: put(("link_down", {"reason": str(reason)})))
        sio.on("connect_error", lambda data=None: put(("link_error", {"message": _message(data)})))
        sio.on("__disconnect_final", self._final.set)
        for name in ("state", "call", "queue", "counter", "announcements", "hub"):
            sio.on(name, lambda data=None, _n=name: put((_n, data)))

    def _auth(self) -> dict[str, str]:
        # A callable: python-socketio evaluates it again on every reconnect.
        return {"token": self.token}

    # -- lifecycle --

    def start(self) -> HubLink:
        for target, name in ((self._supervise, "hub-link"), (self._fetcher, "hub-state")):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)
        self.resync()  # read the state over HTTP as well: it also tells a wrong token from a dead hub
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._final.set()
        self._want_state.set()
        try:
            self.sio.shutdown()
        except Exception:  # stopping must never fail the exit
            log.debug("socket shutdown", exc_info=True)
        for t in self._threads:
            t.join(timeout)

    def resync(self) -> None:
        """Ask for GET /state; coalesced, retried until it succeeds. Never blocks."""
        self._want_state.set()

    # -- threads --

    def _supervise(self) -> None:
        delay = self.delay
        while not self._stop.is_set():
            self._final.clear()
            try:
                self.sio.connect(self.server, auth=self._auth, wait_timeout=5, retry=True)
            except (socketio.exceptions.ConnectionError, ValueError) as e:
                if self._stop.is_set():
                    return
                log.info("hub %s: %s; again in about %.0f s", self.server, e, delay)
                self.events.put(("link_error", {"message": str(e)}))
                self._stop.wait(jittered(delay))
                delay = min(delay * 2, self.delay_max)
                continue
            delay = self.delay
            # Connected. python-socketio reconnects dropped transports itself; `__disconnect_final`
            # says it has stopped trying (the server closed the namespace), so this loop takes over.
            self._final.wait()
            if not self._stop.is_set():
                self._stop.wait(jittered(delay))

    def _fetcher(self) -> None:
        delay = self.delay
        session = requests.Session()
        while not self._stop.is_set():
            self._want_state.wait()
            if self._stop.is_set():
                return
            self._want_state.clear()
            try:
                r = session.get(f"{self.server}/api/v1/state", timeout=self.http_timeout,
                                headers={"Authorization": f"Bearer {self.token}"})
            except requests.RequestException as e:
                log.info("GET /state: %s", e)
                self._retry_later(delay)
                delay = min(delay * 2, self.delay_max)
                continue
            if r.status_code == 401:
                self.events.put(("token_refused", {"message": _error_message(r)}))
                self._retry_later(self.delay_max * 6)  # a fixed token in the office file is picked up later
                continue
            if not r.ok:
                log.warning("GET /state answered %s: %s", r.status_code, _error_message(r))
                self._retry_later(delay)
                delay = min(delay * 2, self.delay_max)
                continue
            try:
                body = r.json()
            except ValueError:
                self._retry_later(delay)
                continue
            delay = self.delay
            self.events.put(("state", body))

    def _retry_later(self, delay: float) -> None:
        if not self._stop.wait(jittered(delay)):
            self._want_state.set()


def _message(data: Any) -> str:
    if isinstance(data, dict):
        return str(data.get("message") or data)
    return str(data or "connection failed")


def _error_message(r: requests.Response) -> str:
    try:
        return str(r.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {r.status_code}"
