"""display/client.py's `in_arrival_order` patches python-engineio's private Client._trigger_event (no
public way exists; the module docstring says why). These tests fail loudly when an upgrade changes
what the patch relies on, instead of boards quietly handling events out of order again."""

from __future__ import annotations

import inspect
import threading

import engineio
import pytest
import socketio
from engineio import packet

from display.client import in_arrival_order


def frames(n: int) -> list[packet.Packet]:
    """What the reading thread hands on: Socket.IO EVENT frames `call` 0..n-1, inside Engine.IO MESSAGEs."""
    return [packet.Packet(packet.MESSAGE, f'2["call",{{"seq":{i}}}]') for i in range(n)]


def test_the_private_method_has_the_shape_the_patch_expects() -> None:
    sig = inspect.signature(engineio.Client._trigger_event)
    assert [(p.name, p.kind) for p in sig.parameters.values()] == [
        ("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        ("event", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        ("args", inspect.Parameter.VAR_POSITIONAL),
        ("kwargs", inspect.Parameter.VAR_KEYWORD),
    ]
    assert "run_async" in inspect.getsource(engineio.Client._trigger_event)


def test_unpatched_engineio_still_runs_each_message_on_a_thread_of_its_own() -> None:
    # If this fails, engineio handles messages in order by itself: drop the patch and the pin.
    sio = socketio.Client()
    ran_on: list[threading.Thread] = []
    done = threading.Event()
    sio.on("call", lambda data: (ran_on.append(threading.current_thread()), done.set()))
    sio.eio._receive_packet(frames(1)[0])
    assert done.wait(10)
    assert ran_on[0] is not threading.current_thread()


def test_patched_client_handles_every_frame_on_the_reading_thread_in_order() -> None:
    sio = in_arrival_order(socketio.Client())
    seen: list[tuple[int, threading.Thread]] = []
    sio.on("call", lambda data: seen.append((data["seq"], threading.current_thread())))
    for frame in frames(50):
        sio.eio._receive_packet(frame)
    # No waiting: each handler has run before _receive_packet returned, on this thread, in wire order.
    assert seen == [(i, threading.current_thread()) for i in range(50)]


def test_a_changed_method_is_refused_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    sio = socketio.Client()
    monkeypatch.setattr(sio.eio, "_trigger_event", lambda event, data, run_async: None)
    with pytest.raises(RuntimeError, match="_trigger_event"):
        in_arrival_order(sio)
