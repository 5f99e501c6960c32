"""The TV board (issue #4): frame render time, idle CPU and RSS, and call-to-frame latency.

    .venv/bin/python scripts/bench_display.py [--calls 60] [--idle 20] [--latency-calls 30] [--hub-rev REV]

One hub (`python -m server.cli serve`, fresh temp DB, demo office: 16 counters, 6 services, 3
announcements in the marquee) serves all four parts. Everything is headless (SDL's dummy video
and audio drivers, set before pygame is imported) and talks to 127.0.0.1 only; every process
started here is stopped here.

(a) Render time of a 1080p frame in which something changed. A python-socketio client with the
    display token records the hub's real events (`state`, then a `queue` per issued ticket, then
    `call`, `queue`, `counter` per call) while --calls tickets are issued and called. The events are
    then replayed in this process through display.state.reduce on a simulated clock, and
    display.render.render draws the board into the dummy driver's 1920x1080 display surface, as
    display/app.py does (one Painter, caches warm after the first frame). Timed with
    time.perf_counter around render() (and, apart, pygame.display.flip(), which costs nothing on the
    dummy driver). Kinds of frame: a new call (its first frame: new number, badge, recent list, the
    call sentence in the marquee), the `queue` and `counter` update that follows it, a flash phase
    change (0.5 s and 1.0 s after the call), an issued ticket (a waiting count changes), and the idle
    board's marquee moving (300 frames at 30 fps, 16 s after the last call, the clock ticking too).
    Two frames per call where nothing changed (the loop draws those too) are shown apart.
(b) CPU of the idle board: the real `python -m server.cli display` process with the marquee running
    and nothing called, user+sys CPU (psutil) over --idle seconds, starting 3 s after it printed
    "connected" (start-up excluded). Twice: with --headless (the loop caps itself at 10 fps when
    headless) and as a real board draws, --windowed --no-sound at its 30 fps with SDL_VIDEODRIVER=dummy.
(c) RSS of the same processes: sampled every 0.5 s over the window (end and peak), USS at the end.
(d) From POST /counters/{id}/next to the first frame that shows the call. The real loop
    (display.app.run) runs in a spawned process, with three wrappers installed before it starts: the
    Socket.IO handler's put on the event queue (received), display.state.reduce (reduced: the call is
    in the board's state) and pygame.display.flip (the first flip after a render whose state holds
    the call: shown). The driver reads time.monotonic() just before the POST; CLOCK_MONOTONIC is
    system-wide, so the child's stamps compare with it. --latency-calls calls at random gaps of
    0.25-0.6 s (so they land anywhere in the frame period), at 10 fps (headless) and 30 fps. The
    board's reads of GET /state are counted with their reasons, and calls that first appeared
    through such a re-read (after the reducer saw a seq gap) are also shown apart.

(e) The replay of (a) again with the office's images rotating in the media region (display/media.py).
(f) The replay of (a) again with a video playing in the media region (display/video.py): a --video-size
    H.264 clip with AAC sound made by scripts/make_video.py (moving grain: every picture differs), alone
    in the rotation, so it plays round and round. The player paces itself by the wall clock, so this
    replay runs in real time: before each frame the bench sleeps until the wall clock reaches the
    frame's time (about two minutes). Its baseline is the same replay in real time without media, run
    just before it: a frame drawn after a sleep costs more than one drawn back to back as in (a)
    (cold caches), so (a) is not the comparison for (f). Its decoding thread (two FFmpeg threads) and the sound (SDL's
    dummy audio driver, resampled and handed to the mixer as on a board) run beside the frames. Each
    frame is timed as in (a); the media region's share and the pictures shown and dropped by the
    player are reported too. The video frames are the (a) kinds, and the idle marquee frames are also
    the frames where only the video's picture changed. Besides the wall time of each frame, the drawing
    thread's own CPU time in it (time.thread_time) is shown for (f) and its baseline: on a loaded machine the wall
    time also holds the waits for a core and for the GIL, the CPU time only the frame's own work.

Percentiles are nearest rank. No timing here is asserted by any test.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ["SDL_VIDEODRIVER"] = "dummy"  # before pygame is imported, here and in every child
os.environ["SDL_AUDIODRIVER"] = "dummy"
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from bench_common import (  # noqa: E402
    DISPLAY_TOKEN,
    HOST,
    KIOSK_TOKENS,
    ROOT,
    Server,
    _die_with_parent,
    auth,
    counter_token,
    cpu_s,
    fmt,
    median,
    nearest_rank,
    print_machine,
    run_with_cleanup,
    table,
)
from bench_kiosk import hub_source, start_hub_at  # noqa: E402

COUNTERS = [str(c) for c in range(3, 11)]  # demo counters 3..10 serve "general"
SIZE = (1920, 1080)


def stats_row(name: str, values: list[float], digits: int = 2) -> list[str]:
    return [name, str(len(values)), fmt(median(values), digits), fmt(nearest_rank(values, 95), digits),
            fmt(max(values) if values else None, digits)]


def issue_tickets(url: str, n: int) -> None:
    import requests

    with requests.Session() as http:
        for i in range(n):
            r = http.post(f"{url}/api/v1/tickets", json={"service": "general"}, headers=auth(KIOSK_TOKENS[i % 2]),
                          timeout=10)
            r.raise_for_status()


def call_next(http: Any, url: str, cid: str) -> str:
    r = http.post(f"{url}/api/v1/counters/{cid}/next", headers=auth(counter_token(cid)), timeout=10)
    r.raise_for_status()
    ticket = r.json()["ticket"]
    if ticket is None:
        raise RuntimeError(f"counter {cid} had nothing to call")
    return str(ticket["number"])


# -- (a) render time ----------------------------------------------------------------------------

def record_events(url: str, calls: int) -> list[tuple[str, Any]]:
    """The hub's own events, as a board receives them, for `calls` issued and called tickets."""
    import requests
    import socketio

    events: list[tuple[str, Any]] = []
    lock = threading.Lock()
    got_state = threading.Event()
    sio = socketio.Client(reconnection=False)

    def handler(name: str) -> Any:
        def on(data: Any = None) -> None:
            with lock:
                events.append((name, data))
            if name == "state":
                got_state.set()
        return on

    for name in ("state", "call", "queue", "counter"):
        sio.on(name, handler(name))
    sio.connect(url, auth={"token": DISPLAY_TOKEN}, transports=["websocket"], wait_timeout=10)
    try:
        if not got_state.wait(10):
            raise RuntimeError("no state from the hub")
        issue_tickets(url, calls)
        with requests.Session() as http:
            for i in range(calls):
                call_next(http, url, COUNTERS[i % len(COUNTERS)])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with lock:
                if sum(1 for n, _ in events if n == "call") >= calls and events[-1][0] != "call":
                    break
            time.sleep(0.05)
        time.sleep(0.3)  # the last call's queue and counter
    finally:
        sio.disconnect()
    with lock:
        return list(events)


@dataclass
class Frames:
    render_ms: dict[str, list[float]] = field(default_factory=dict)
    flip_ms: list[float] = field(default_factory=list)
    media_ms: list[float] = field(default_factory=list)  # (e): the media region alone, per frame
    cold_ms: float = 0.0
    video: tuple[int, int, tuple[int, int], str | None] | None = None  # (f): pictures shown, dropped, size, error
    cpu_ms: dict[str, list[float]] = field(default_factory=dict)  # the drawing thread's CPU time per frame

    def add(self, kind: str, ms: float) -> None:
        self.render_ms.setdefault(kind, []).append(ms)


NEW_CALL = "a new call: its first frame"
UPDATE = "the queue and counter update after it"
FLASH = "flash phase change (+0.5 s, +1.0 s)"
ISSUED = "a ticket issued: a waiting count changes"
MARQUEE = "idle: the marquee moves (and the clock)"
SAME = "nothing changed (the loop draws anyway)"
CHANGED = (NEW_CALL, UPDATE, FLASH, ISSUED, MARQUEE)


class MediaServer:
    """A local stand-in for the hub's GET /api/v1/media: MEDIA_IMAGES photo-sized JPEGs, MEDIA_S each."""

    def __init__(self, video: bytes | None = None) -> None:
        """`video`: instead of the images, this one video file (an MP4), alone in the rotation."""
        import io
        import json
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from PIL import Image, ImageDraw

        files: dict[str, bytes] = {}
        if video is not None:
            files["/files/film.mp4"] = video
            listing = json.dumps({"media": [{"id": "film", "kind": "video", "url": "/files/film.mp4"}]}).encode()
        for i in range(MEDIA_IMAGES if video is None else 0):
            img = Image.effect_noise((1920, 1080), 60 + 20 * i).convert("RGB")  # busy, as a photo is
            ImageDraw.Draw(img).ellipse((400 + 200 * i, 200, 1500, 900), fill=(40 * i, 120, 200))
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=85)
            files[f"/files/{i}.jpg"] = buf.getvalue()
        if video is None:
            listing = json.dumps({"media": [{"id": f"m{i}", "kind": "image", "url": f"/files/{i}.jpg",
                                             "duration_s": MEDIA_S} for i in range(MEDIA_IMAGES)]}).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                body = listing if self.path == "/api/v1/media" else files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


MEDIA_IMAGES = 4
MEDIA_S = 3.0  # short, so that the replayed calls cross many changes of picture


def render_frames(events: list[tuple[str, Any]], idle_frames: int, with_media: bool = False,
                  video: bytes | None = None, real_time: bool = False) -> Frames:
    """(a) in process. `with_media`: the office's images rotate in their region (display/media.py), read
    from a local MediaServer by the board's own MediaLibrary, prepared before the frames are timed as the
    library's thread would have done; a change of picture (the Surface made from the prepared image) falls
    in the timed frame. `video` (with with_media): (f), this video plays there instead, in real time.
    `real_time` without media: (f)'s baseline, the same pacing with the region empty."""
    real_time = real_time or video is not None
    import pygame

    from display import fonts
    from display.layout import layout
    from display.render import Painter, render
    from display.state import initial, reduce

    pygame.display.init()
    screen = pygame.display.set_mode(SIZE)
    painter = Painter(fonts.load())
    out = Frames()
    now = time.time()
    board = initial(now)
    board, _ = reduce(board, "link_up", {}, now=now)
    library = media_server = None
    if with_media:
        import display.render as render_mod
        from display.media import MediaLibrary

        media_server = MediaServer(video)
        sound = None
        if video is not None:
            from display.video import VideoSound

            sound = VideoSound(0.5)  # the sound decoded and mixed as on a board (SDL's dummy driver)
        library = MediaLibrary(media_server.url, DISPLAY_TOKEN, sound=sound)
        real_media = render_mod._media

        def timed_media(*a: Any) -> None:  # the media region's own share of each frame
            t0 = time.perf_counter()
            real_media(*a)
            out.media_ms.append((time.perf_counter() - t0) * 1000)

        render_mod._media = timed_media

    def frame(kind: str | None) -> None:
        if real_time:  # the player keeps to the wall clock: so does this replay
            time.sleep(max(0.0, now - time.time()))
        t0, c0 = time.perf_counter(), time.thread_time()
        render(board, now, screen, painter, media=library)
        t1, c1 = time.perf_counter(), time.thread_time()
        pygame.display.flip()
        t2 = time.perf_counter()
        if kind is None:
            out.cold_ms = (t1 - t0) * 1000
        else:
            out.add(kind, (t1 - t0) * 1000)
            out.cpu_ms.setdefault(kind, []).append((c1 - c0) * 1000)
            out.flip_ms.append((t2 - t1) * 1000)

    first, rest = events[0], events[1:]
    assert first[0] == "state", first[0]
    board, _ = reduce(board, "state", first[1], now=now)
    if library is not None and media_server is not None:
        library.refresh()  # the list and the files
        box = layout(*SIZE, len(board.counters), len(board.services), media=True).media
        library.surface(now, (box.w, box.h))  # asks for this size, as the first frame would
        library.refresh()  # the library's thread scales every image for it
        media_server.close()
        assert len(library.showable()) == (1 if video is not None else MEDIA_IMAGES)
        if video is not None:
            now = time.time() + 0.5  # the player has started: its first pictures before the first frame
    frame(None)  # the first frame: fonts rasterise everything for the first time
    i = 0
    while i < len(rest):
        name, data = rest[i]
        if name == "queue" and board.hero is None:
            now += 0.2
            board, _ = reduce(board, name, data, now=now)
            frame(ISSUED)
            i += 1
            continue
        if name != "call":
            now += 0.2
            board, _ = reduce(board, name, data, now=now)
            frame(UPDATE)
            i += 1
            continue
        now += 1 / 30
        t_call = now
        board, _ = reduce(board, name, data, now=now)
        frame(NEW_CALL)
        i += 1
        now += 1 / 30
        while i < len(rest) and rest[i][0] != "call":  # this call's queue and counter
            board, _ = reduce(board, rest[i][0], rest[i][1], now=now)
            i += 1
        frame(UPDATE)
        for k in (3, 15, 16, 30):  # frames 3..30 of the first second at 30 fps: the flash turns at 15 and 30
            now = t_call + (k - 1) / 30
            frame(FLASH if k in (15, 30) else SAME)
    now += 16.0  # the call has left the marquee: announcements scroll again
    frame(SAME)
    for _ in range(idle_frames):
        now += 1 / 30
        frame(MARQUEE)
    if library is not None:
        player = library.player
        if player is not None:
            out.video = (player.shown, player.dropped, player.size, player.error)
        library.stop()
    pygame.display.quit()
    if with_media:
        render_mod._media = real_media
    return out


# -- (b), (c) idle CPU and RSS --------------------------------------------------------------------

@dataclass
class Idle:
    mode: str
    fps: int
    seconds: float = 0.0
    cpu_pct: float = 0.0
    rss_end: float = 0.0
    rss_peak: float = 0.0
    uss_end: float = 0.0
    startup_s: float = 0.0


def start_board(tmp: Path, url: str, tag: str, extra: list[str], env: dict[str, str]) -> tuple[Server, float]:
    cmd = [sys.executable, "-m", "server.cli", "display", "--server", url, *extra]
    log = tmp / f"{tag}.log"
    t0 = time.monotonic()
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True, preexec_fn=_die_with_parent)
    server = Server(tag, proc, 0, log)
    try:
        deadline = t0 + 60
        while "connected to" not in log.read_text(errors="replace"):
            if proc.poll() is not None:
                raise RuntimeError(f"{tag} exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{tag} did not connect:\n{log.read_text(errors='replace')}")
            time.sleep(0.05)
    except BaseException:
        server.stop()
        raise
    return server, time.monotonic() - t0


def idle_board(tmp: Path, url: str, mode: str, seconds: float) -> Idle:
    import psutil

    env = dict(os.environ, JIAOHAO_DISPLAY_TOKEN=DISPLAY_TOKEN, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    if mode == "headless":
        extra, fps = ["--headless"], 10
    else:
        extra, fps = ["--windowed", "--no-sound", "--size", f"{SIZE[0]}x{SIZE[1]}"], 30
    result = Idle(mode, fps)
    board, result.startup_s = start_board(tmp, url, f"board-{mode}", extra, env)
    try:
        time.sleep(3.0)  # past start-up: fonts loaded, every text of the board rasterised once
        proc = psutil.Process(board.pid)
        c0, t0 = cpu_s([board.pid]), time.monotonic()
        peak = 0.0
        while time.monotonic() - t0 < seconds:
            peak = max(peak, proc.memory_info().rss / 2**20)
            time.sleep(0.5)
        c1, t1 = cpu_s([board.pid]), time.monotonic()
        if board.proc.poll() is not None:
            raise RuntimeError(f"the board exited during the window:\n{board.log.read_text(errors='replace')}")
        result.seconds = t1 - t0
        result.cpu_pct = (c1 - c0) / (t1 - t0) * 100
        mem = proc.memory_full_info()
        result.rss_end, result.uss_end = mem.rss / 2**20, mem.uss / 2**20
        result.rss_peak = max(peak, result.rss_end)
    finally:
        board.stop()
    return result


# -- (d) call to frame ----------------------------------------------------------------------------

def board_child(url: str, headless: bool, fps: int, conn: Any) -> None:
    """The real display loop (display.app.run), with time stamps at the queue, the reducer and the flip."""
    _die_with_parent()
    os.environ["SDL_VIDEODRIVER"] = "dummy"
    os.environ["SDL_AUDIODRIVER"] = "dummy"
    os.environ.pop("DISPLAY", None)
    os.environ.pop("WAYLAND_DISPLAY", None)
    import pygame

    import display.client as client
    import display.render as render_mod
    import display.state as state_mod
    from display.app import Options, run

    send_lock = threading.Lock()

    def send(msg: tuple[Any, ...]) -> None:
        with send_lock:
            conn.send(msg)

    class Stamping:
        def __init__(self, q: Any) -> None:
            self.q, self.last = q, 0

        def put(self, item: Any, *a: Any, **kw: Any) -> None:
            data = item[1]
            if item[0] == "call" and isinstance(data, dict):
                send(("received", str(data["ticket"]["number"]), time.monotonic()))
            if item[0] in ("call", "queue", "counter") and isinstance(data, dict):
                with send_lock:
                    seq, last = data.get("seq", 0), self.last
                    self.last = max(self.last, seq)
                if seq < last:  # python-engineio runs each message's handler in a thread of its own
                    send(("disorder", f"{item[0]} {seq} after {last}", time.monotonic()))
            self.q.put(item, *a, **kw)

    class StampedLink(client.HubLink):
        def __init__(self, server: str, token: str, events: Any, **kw: Any) -> None:
            super().__init__(server, token, Stamping(events), **kw)  # type: ignore[arg-type]

    client.HubLink = StampedLink  # type: ignore[misc]
    real_reduce, real_render, real_flip = state_mod.reduce, render_mod.render, pygame.display.flip
    pending: dict[int, str] = {}  # call seq -> number: reduced, not shown yet
    in_frame: list[int] = []
    frames: list[float] = []
    ready = [False]

    known: set[int] = set()  # call seqs already in the board's state

    def reduce(state: Any, name: str, data: Any, now: float | None = None) -> Any:
        out = real_reduce(state, name, data, now=now)
        new = [c for c in out[0].recent if c.seq not in known]
        known.update(c.seq for c in new)
        if ready[0]:  # a call from an event, or from a snapshot read after a gap
            t = time.monotonic()
            for c in new:
                pending[c.seq] = c.number
                send(("reduced", c.number, t, name))
        elif out[0].seq is not None:
            ready[0] = True
            send(("ready",))
        resyncs = [e for e in out[1] if isinstance(e, state_mod.Resync)]
        if resyncs and ready[0]:
            send(("resync", resyncs[0].reason, time.monotonic()))
        return out

    def render(state: Any, now: float, surface: Any, painter: Any = None, media: Any = None) -> Any:
        t0 = time.perf_counter()
        drawn = real_render(state, now, surface, painter, media=media)
        frames.append((time.perf_counter() - t0) * 1000)
        shown = {c.seq for c in state.recent}
        in_frame[:] = [s for s in pending if s in shown]
        return drawn

    def flip() -> None:
        real_flip()
        t = time.monotonic()
        for s in in_frame:
            send(("shown", pending.pop(s), t))
        in_frame.clear()

    state_mod.reduce = reduce
    render_mod.render = render
    pygame.display.flip = flip
    opts = Options(server=url, token=DISPLAY_TOKEN, headless=headless, fullscreen=False, size=SIZE, sound=False,
                   fps=fps)
    signal.signal(signal.SIGTERM, lambda *_: opts.stop_flag.append(True))
    try:
        run(opts, out=open(os.devnull, "w"))  # noqa: SIM115
    finally:
        send(("frames", frames))
        conn.close()


@dataclass
class Latency:
    mode: str
    fps: int
    post_ms: list[float] = field(default_factory=list)
    received_ms: list[float] = field(default_factory=list)  # POST -> the board's socket handler
    wait_ms: list[float] = field(default_factory=list)  # received -> reduced (the loop's next turn)
    frame_ms: list[float] = field(default_factory=list)  # reduced -> flipped (render + flip)
    total_ms: list[float] = field(default_factory=list)  # POST -> flipped
    direct_ms: list[float] = field(default_factory=list)  # the same, calls applied from their own event only
    loop_render_ms: list[float] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    resyncs: list[str] = field(default_factory=list)
    via_snapshot: list[str] = field(default_factory=list)  # calls first applied from a re-read GET /state
    disorder: list[str] = field(default_factory=list)  # hub events put on the board's queue after a later seq


LABELS = {"headless": "`--headless`, 10 fps", "30fps": "`--windowed`, 30 fps"}


def call_latency(url: str, mode: str, calls: int, seed: int) -> Latency:
    import multiprocessing as mp

    import requests

    headless = mode == "headless"
    fps = 10 if headless else 30
    out = Latency(mode, fps)
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=board_child, args=(url, headless, fps, child), daemon=True)
    proc.start()
    child.close()
    stamps: dict[str, dict[str, float]] = {}
    frames: list[float] = []

    def pump(until: float, number: str | None = None) -> bool:
        while time.monotonic() < until:
            if number is not None and "shown" in stamps.get(number, {}):
                return True
            if not parent.poll(max(0.0, min(0.05, until - time.monotonic()))):
                if not proc.is_alive():
                    raise RuntimeError(f"the board process exited ({proc.exitcode})")
                continue
            try:
                msg = parent.recv()
            except EOFError:
                return False
            if msg[0] == "ready":
                if number is None:
                    return True
            elif msg[0] == "frames":
                frames.extend(msg[1])
            elif msg[0] == "resync":
                out.resyncs.append(msg[1])
            elif msg[0] == "disorder":
                out.disorder.append(msg[1])
            else:
                stamps.setdefault(msg[1], {})[msg[0]] = msg[2]
                if msg[0] == "reduced" and msg[3] != "call":
                    out.via_snapshot.append(msg[1])
        return number is not None and "shown" in stamps.get(number, {})

    rng = random.Random(seed)
    try:
        if not pump(time.monotonic() + 60):
            raise RuntimeError("the board did not get the hub's state")
        time.sleep(2.0)  # first frames drawn, caches warm
        with requests.Session() as http:
            http.get(f"{url}/api/v1/health", timeout=5)
            for i in range(calls):
                time.sleep(rng.uniform(0.25, 0.6))
                cid = COUNTERS[i % len(COUNTERS)]
                t0 = time.monotonic()
                number = call_next(http, url, cid)
                out.post_ms.append((time.monotonic() - t0) * 1000)
                if not pump(t0 + 5.0, number) or not {"received", "reduced"} <= stamps[number].keys():
                    out.lost.append(f"{number}: {sorted(stamps.get(number, {}))}")
                    continue
                s = stamps[number]
                out.received_ms.append((s["received"] - t0) * 1000)
                out.wait_ms.append((s["reduced"] - s["received"]) * 1000)
                out.frame_ms.append((s["shown"] - s["reduced"]) * 1000)
                out.total_ms.append((s["shown"] - t0) * 1000)
                if number not in out.via_snapshot:
                    out.direct_ms.append((s["shown"] - t0) * 1000)
    finally:
        if proc.is_alive():
            proc.terminate()  # SIGTERM: the loop ends, run() cleans up, the child sends its frame times
        try:
            pump(time.monotonic() + 10)
        except RuntimeError:
            pass
        proc.join(timeout=10)
        if proc.is_alive():
            proc.kill()
            proc.join()
        parent.close()
    out.loop_render_ms = frames
    return out


def main() -> int:
    p = argparse.ArgumentParser(description="the TV board: render time, idle CPU and RSS, call-to-frame latency")
    p.add_argument("--calls", type=int, default=60, help="calls replayed for the render times (default 60)")
    p.add_argument("--marquee-frames", type=int, default=300, help="idle frames with the marquee (default 300)")
    p.add_argument("--idle", type=float, default=20.0, help="seconds of idle CPU per board (default 20)")
    p.add_argument("--latency-calls", type=int, default=30, help="calls timed end to end per frame rate (default 30)")
    p.add_argument("--seed", type=int, default=4)
    p.add_argument("--hub-rev", metavar="REV", help="run the hub from this commit instead of the working tree")
    p.add_argument("--frames-only", action="store_true",
                   help="only (a), (e) and (f): render times without media, with images, with a video; "
                        "no idle boards, no latency")
    p.add_argument("--video-size", metavar="WxH", default="1280x720",
                   help="the video of (f), H.264 at 30 fps (default 1280x720)")
    p.add_argument("--no-video", action="store_true", help="leave out (f)")
    args = p.parse_args()

    print_machine()
    print(f"hub from {hub_source(args.hub_rev)}")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="jiaohao-bench-") as d:
        tmp = Path(d)
        hub = start_hub_at(tmp, "hub", args.hub_rev)
        try:
            assert hub.url.startswith(f"http://{HOST}:")
            events = record_events(hub.url, args.calls)
            fr = render_frames(events, args.marquee_frames)
            print(f"  (a) {sum(len(v) for v in fr.render_ms.values())} frames rendered", flush=True)
            load_media = os.getloadavg()
            fm = render_frames(events, args.marquee_frames, with_media=True)
            print(f"  (e) {sum(len(v) for v in fm.render_ms.values())} frames rendered with media", flush=True)
            fv = f0 = None
            load_video = os.getloadavg()
            if not args.no_video:
                sys.path.insert(0, str(ROOT / "scripts"))
                from make_video import make_clip

                vw, vh = (int(x) for x in args.video_size.lower().split("x"))
                clip = make_clip(tmp / "film.mp4", (vw, vh), 20.0, 30, "h264").read_bytes()
                load_video = os.getloadavg()
                f0 = render_frames(events, args.marquee_frames, real_time=True)
                print(f"  (f) {sum(len(v) for v in f0.render_ms.values())} frames rendered in real time, no media",
                      flush=True)
                load_video = (*load_video, *os.getloadavg())
                fv = render_frames(events, args.marquee_frames, with_media=True, video=clip)
                print(f"  (f) {sum(len(v) for v in fv.render_ms.values())} frames rendered with a video",
                      flush=True)
            idles = []
            for mode in () if args.frames_only else ("headless", "30fps"):
                idles.append(idle_board(tmp, hub.url, mode, args.idle))
                print(f"  (b) {mode}: {fmt(idles[-1].cpu_pct)} % CPU", flush=True)
            if not args.frames_only:
                issue_tickets(hub.url, 2 * args.latency_calls + 5)
            lats = []
            for i, mode in enumerate(() if args.frames_only else ("headless", "30fps")):
                lats.append(call_latency(hub.url, mode, args.latency_calls, args.seed + i))
                print(f"  (d) {mode}: median {fmt(median(lats[-1].total_ms))} ms", flush=True)
        finally:
            hub.stop()

    print()
    print(f"(a) render time of one {SIZE[0]}x{SIZE[1]} frame, ms (display.render.render, in process, "
          f"{args.calls} calls replayed)\n")
    rows = [stats_row(k, fr.render_ms.get(k, [])) for k in CHANGED]
    changed = [x for k in CHANGED for x in fr.render_ms.get(k, [])]
    rows.append(stats_row("**every changed frame**", changed))
    rows.append(stats_row(SAME, fr.render_ms.get(SAME, [])))
    rows.append(stats_row("pygame.display.flip() (dummy driver)", fr.flip_ms, 3))
    print(table(["frame", "frames", "median ms", "p95 ms", "max ms"], rows))
    print(f"\nthe very first frame (cold: every text rasterised): {fmt(fr.cold_ms)} ms")

    print(f"\n(e) the same replay with media: {MEDIA_IMAGES} 1920x1080 JPEGs, {MEDIA_S:g} s each, in the media region "
          f"(display/media.py), same run as (a); load average at its start "
          f"{' '.join(f'{x:.2f}' for x in load_media)}\n")
    rows_m = [stats_row(k, fm.render_ms.get(k, [])) for k in CHANGED]
    changed_m = [x for k in CHANGED for x in fm.render_ms.get(k, [])]
    rows_m.append(stats_row("**every changed frame, with media**", changed_m))
    rows_m.append(stats_row("**every changed frame, without media (a)**", changed))
    rows_m.append(stats_row(SAME, fm.render_ms.get(SAME, [])))
    rows_m.append(stats_row("of which the media region (fill + blit; a new picture: its Surface)", fm.media_ms, 3))
    print(table(["frame", "frames", "median ms", "p95 ms", "max ms"], rows_m))
    p95_m = nearest_rank(changed_m, 95)
    print(f"\nchanged 1080p frame with media < 8 ms: median {fmt(median(changed_m), 2)}, p95 {fmt(p95_m, 2)} ms: "
          f"{'met' if p95_m < 8 else 'NOT met (p95)'}")
    if fv is not None and f0 is not None:
        shown, dropped, vsize, verror = fv.video or (0, 0, (0, 0), "no player")
        print(f"\n(f) the same replay in real time with a video playing: {args.video_size} H.264 30 fps + AAC, "
              f"20 s, round and round, scaled to {vsize[0]}x{vsize[1]} in the media region (display/video.py), "
              f"against the same real-time replay without media just before it; load average at the start of "
              f"that baseline {' '.join(f'{x:.2f}' for x in load_video[:3])}, of the video's "
              f"{' '.join(f'{x:.2f}' for x in load_video[3:])}\n")
        rows_v = [stats_row(k, fv.render_ms.get(k, [])) for k in CHANGED]
        changed_v = [x for k in CHANGED for x in fv.render_ms.get(k, [])]
        changed_0 = [x for k in CHANGED for x in f0.render_ms.get(k, [])]
        rows_v.append(stats_row("**every changed frame, a video playing**", changed_v))
        rows_v.append(stats_row("**every changed frame, in real time without media**", changed_0))
        rows_v.append(stats_row("every changed frame, without media (a): back to back, not in real time", changed))
        rows_v.append(stats_row(SAME + " (the video's picture may change)", fv.render_ms.get(SAME, [])))
        rows_v.append(stats_row("of which the media region (fill + the newest picture's blit)", fv.media_ms, 3))
        cpu_v = [x for k in CHANGED for x in fv.cpu_ms.get(k, [])]
        cpu_0 = [x for k in CHANGED for x in f0.cpu_ms.get(k, [])]
        rows_v.append(stats_row("every changed frame, a video playing: CPU time of the drawing thread", cpu_v))
        rows_v.append(stats_row("every changed frame, in real time without media: CPU time of the drawing thread",
                                cpu_0))
        print(table(["frame", "frames", "median ms", "p95 ms", "max ms"], rows_v))
        p95_v = nearest_rank(changed_v, 95)
        ratio = (median(changed_v) or 0) / (median(changed_0) or 1)
        error = f", error: {verror}" if verror else ""
        print(f"\nthe video's player: {shown} pictures shown, {dropped} dropped (decoded too late){error}")
        print(f"changed 1080p frame with a video < 8 ms: median {fmt(median(changed_v), 2)} ms "
              f"({ratio:.2f}x the real-time baseline's median, p95 {fmt(nearest_rank(changed_0, 95), 2)} ms there), "
              f"p95 {fmt(p95_v, 2)} ms: {'met' if p95_v < 8 else 'NOT met (p95)'}")
    if args.frames_only:
        print(f"\ntotal time {time.monotonic() - started:.0f} s")
        return 0

    print("\n(b, c) the idle board: the real `python -m server.cli display` process, marquee running, nothing called; "
          "`--windowed` is `--windowed --no-sound --size 1920x1080` on SDL's dummy video driver, so it draws at the "
          "30 fps of a real board (`--headless` caps itself at 10)\n")
    print(table(["board", "frames/s", "start to connected s", "window s", "CPU % of one core", "RSS MB (end)",
                 "RSS MB (peak)", "USS MB (end)"],
                [[LABELS[i.mode], str(i.fps),
                  fmt(i.startup_s), fmt(i.seconds), fmt(i.cpu_pct), fmt(i.rss_end), fmt(i.rss_peak),
                  fmt(i.uss_end)] for i in idles]))

    print(f"\n(d) POST /counters/{{id}}/next to the first frame showing the call, ms ({args.latency_calls} calls "
          "per row)\n")
    rows = []
    for lt in lats:
        label = LABELS[lt.mode]
        rows += [stats_row(f"{label}: POST answered", lt.post_ms),
                 stats_row(f"{label}: POST sent → board's handler has it", lt.received_ms),
                 stats_row(f"{label}: → reduced (waits for the loop's next turn)", lt.wait_ms),
                 stats_row(f"{label}: → frame flipped (render + flip)", lt.frame_ms),
                 stats_row(f"**{label}: POST sent → frame flipped**", lt.total_ms),
                 stats_row(f"{label}: the same, calls not delayed by a re-read of the state", lt.direct_ms),
                 stats_row(f"{label}: render(), every frame of the real loop", lt.loop_render_ms)]
    print(table(["step", "n", "median ms", "p95 ms", "max ms"], rows))
    for lt in lats:
        print(f"\n{LABELS[lt.mode]}: calls not timed (what was seen of them within 5 s): {lt.lost or 'none'}; "
              f"the board read GET /state again {len(lt.resyncs)} times (first reasons: {lt.resyncs[:3]}); "
              f"calls first shown from such a re-read: {len(lt.via_snapshot)}; hub events the Socket.IO client "
              f"handed to the board after a later seq: {len(lt.disorder)} {lt.disorder[:3]}")

    print()
    p95 = nearest_rank(changed, 95)
    rss = max(i.rss_peak for i in idles)
    print(table(["goal", "measured", "verdict"], [
        ["changed 1080p frame renders in < 8 ms", f"median {fmt(median(changed), 2)}, p95 {fmt(p95, 2)} ms",
         "met" if p95 < 8 else "NOT met (p95)"],
        *[[f"idle board < 15 % of one core: {LABELS[i.mode]}", f"{fmt(i.cpu_pct)} %",
           "met" if i.cpu_pct < 15 else "NOT met"] for i in idles],
        ["RSS < 150 MB", f"peak {fmt(rss)} MB (both boards)", "met" if rss < 150 else "NOT met"],
    ]))
    print(f"\ntotal time {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    run_with_cleanup(main)
