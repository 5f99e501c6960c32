"""The board's main loop: full screen on a Pi console (KMS/DRM), a window on a desktop, or headless.

One thread draws. The hub link and the announcer run in their own threads and talk to this loop
only through a queue (events in) and method calls that never block (effects out), so a slow hub,
a long announcement or a reconnect never freezes the screen.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import time
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

log = logging.getLogger("jiaohao.display")

DEFAULT_WINDOW = (1280, 720)
DEFAULT_HEADLESS = (1920, 1080)


@dataclass
class Options:
    server: str
    token: str
    headless: bool = False
    snapshot: Path | None = None
    after: int = 0
    timeout: float | None = None
    size: tuple[int, int] | None = None
    fullscreen: bool | None = None  # None: full screen on a console without a desktop, else a window
    rotate: int = 0
    sound: bool = True
    volume: float = 0.8
    languages: tuple[str, ...] = ("zh", "en")
    zh_phrase: str = "qing"
    clip_dir: Path | None = None
    fps: int = 30
    media: bool = True  # the office's images and videos in rotation (display/media.py)
    video_sound: bool = False  # videos heard (display/video.py), silent while a call is spoken
    video_volume: float = 0.5
    stop_flag: list[bool] = field(default_factory=list)  # set by a signal handler: [True] ends the loop


def _video_env(opts: Options) -> bool:
    """Chooses the SDL video driver before pygame starts; returns whether to go full screen."""
    if opts.headless:
        os.environ["SDL_VIDEODRIVER"] = "dummy"
        return False
    console = (sys.platform.startswith("linux") and not os.environ.get("DISPLAY")
               and not os.environ.get("WAYLAND_DISPLAY"))
    if console and not os.environ.get("SDL_VIDEODRIVER"):
        # A Pi without a desktop: draw straight to the screen through KMS/DRM (pygame-ce's wheel has it).
        os.environ["SDL_VIDEODRIVER"] = "kmsdrm"
    return opts.fullscreen if opts.fullscreen is not None else console


# JIAOHAO_AUDIO (in /etc/jiaohao/display.env) -> the ALSA device SDL opens. The names are Raspberry Pi OS
# Bookworm's cards with the KMS driver; a Pi 5 has no headphone jack. Anything with a colon is an ALSA
# device name as `aplay -L` lists it (e.g. a USB speaker's sysdefault:CARD=Device).
AUDIO_OUTPUTS = {
    "hdmi": "sysdefault:CARD=vc4hdmi0",
    "hdmi0": "sysdefault:CARD=vc4hdmi0",
    "hdmi1": "sysdefault:CARD=vc4hdmi1",
    "headphones": "sysdefault:CARD=Headphones",
}


def _audio_env(environ: MutableMapping[str, str] = os.environ) -> str | None:
    """Chooses the sound output from JIAOHAO_AUDIO before pygame starts; returns the ALSA device, if any."""
    choice = environ.get("JIAOHAO_AUDIO", "").strip()
    if choice in ("", "auto"):
        return None
    device = choice if ":" in choice else AUDIO_OUTPUTS.get(choice.lower())
    if device is None:
        log.warning("JIAOHAO_AUDIO=%s is not one of auto, %s or an ALSA device name: using the default output",
                    choice, ", ".join(AUDIO_OUTPUTS))
        return None
    environ["AUDIODEV"] = device  # SDL's ALSA driver opens this device instead of "default"
    return device


def run(opts: Options, out: TextIO = sys.stdout) -> int:
    fullscreen = _video_env(opts)
    _audio_env()
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame

    from server.wire.hubtime import HubTime
    from server.wire.sdnotify import notifier
    from server.wire.speech import default_clip_dir

    from . import fonts
    from .announcer import Announcer
    from .client import HubLink
    from .render import Painter, render
    from .state import Announce, Resync, initial, on_new_time_line, reduce

    painter = Painter(fonts.load())  # FontMissing: one line and exit 1, from `jiaohao`'s main
    try:
        pygame.display.init()
        if fullscreen:
            screen = pygame.display.set_mode((0, 0), pygame.FULLSCREEN)
            pygame.mouse.set_visible(False)
        else:
            size = opts.size or (DEFAULT_HEADLESS if opts.headless else DEFAULT_WINDOW)
            if opts.rotate in (90, 270):
                size = (size[1], size[0])
            screen = pygame.display.set_mode(size, 0 if opts.headless else pygame.RESIZABLE)
            pygame.display.set_caption("jiaohao 叫號")
    except pygame.error as e:
        print(f"jiaohao display: cannot open the screen ({os.environ.get('SDL_VIDEODRIVER', 'default')} "
              f"video driver): {e}", file=sys.stderr)
        return 1

    events: queue.Queue[tuple[str, object]] = queue.Queue()
    # The time shown is the hub's (its `server_time`) plus monotonic time since, never this Pi's own clock;
    # flashes and outages are timed on the same line (server/wire/hubtime.py), and so are the videos.
    hub_time = HubTime()
    video_sound = None
    if opts.media and opts.video_sound:
        from .video import VideoSound

        video_sound = VideoSound(opts.video_volume, clock=hub_time.timeline)
    announcer = None
    if opts.sound:
        # While a call waits to be spoken or is spoken, a video's sound is silent (the film goes on).
        announcer = Announcer(opts.clip_dir or default_clip_dir(), opts.languages, opts.volume,
                              opts.zh_phrase, on_busy=video_sound.hush if video_sound else None,
                              reserved=video_sound.RESERVED if video_sound else 0).start()
    link = HubLink(opts.server, opts.token, events).start()
    library = None
    if opts.media:
        from .media import MediaLibrary

        # Its own threads (the list and files; one per video playing): a call never waits for them.
        library = MediaLibrary(opts.server, opts.token, sound=video_sound, clock=hub_time.timeline).start()
    board = initial(hub_time.timeline())
    calls_seen, last_call_seq, said_connected = 0, 0, False
    # READY after the first frame, then a watchdog ping from every frame: a frozen screen loop stops the
    # pings and systemd restarts the board (firmware_config/systemd/jiaohao-display.service).
    notify, frames = notifier(), 0
    deadline = time.monotonic() + opts.timeout if opts.timeout else None
    tick = pygame.time.Clock()
    fps = min(opts.fps, 10) if opts.headless else opts.fps
    try:
        while not opts.stop_flag:
            for e in pygame.event.get():
                if e.type == pygame.QUIT or (e.type == pygame.KEYDOWN and e.key in (pygame.K_ESCAPE, pygame.K_q)):
                    return 0
            for _ in range(500):  # bounded: a burst of events never starves the screen
                try:
                    name, data = events.get_nowait()
                except queue.Empty:
                    break
                if name == "token_refused":
                    msg = data.get("message") if isinstance(data, dict) else data
                    if board.seq is None:
                        print(f"jiaohao display: the hub at {opts.server} refused the token: {msg}", file=sys.stderr)
                        return 1
                    name, data = "link_error", {"message": "token refused 憑證被拒"}
                if name == "call":
                    calls_seen += 1
                    if isinstance(data, dict) and isinstance(data.get("seq"), int):
                        last_call_seq = max(last_call_seq, data["seq"])
                if name in ("state", "hub"):
                    # The time line moves with the hub's reading (from this Pi's clock to the hub's, the first
                    # time): what was stamped on it moves as much, so an outage or a flash keeps its length.
                    moved = hub_time.take(data)
                    if moved:
                        board = on_new_time_line(board, moved)
                board, effects = reduce(board, name, data, now=hub_time.timeline())
                for eff in effects:
                    if isinstance(eff, Announce):
                        log.info("call %s -> counter %s%s", eff.call.number, eff.call.counter_id,
                                 " (recall)" if eff.call.recall else "")
                        if announcer:
                            announcer.announce(eff.call)
                    elif isinstance(eff, Resync):
                        log.info("reading the state again: %s", eff.reason)
                        link.resync()
                # Connected means the socket is in the hub's room (its connect callback has run), not only
                # that GET /state answered: until then a call is missed as an event, and whoever waits for
                # this line before calling (tests, an installer's check) would wait for --after forever.
                if board.seq is not None and board.connected and not said_connected:
                    said_connected = True
                    print(f"jiaohao display: connected to {opts.server} "
                          f"({len(board.counters)} counters, seq {board.seq})", file=out, flush=True)
            now = hub_time.timeline()
            screen = pygame.display.get_surface()
            canvas = screen if opts.rotate == 0 else pygame.Surface(
                (screen.get_height(), screen.get_width()) if opts.rotate in (90, 270) else screen.get_size())
            drawn = render(board, now, canvas, painter, media=library)
            if (opts.snapshot and board.seq is not None and not board.resyncing and calls_seen >= opts.after
                    and board.seq >= last_call_seq):
                # Written aside, then renamed: whoever watches for the file never reads half a PNG.
                partial = opts.snapshot.with_name(f".{opts.snapshot.stem}.partial{opts.snapshot.suffix or '.png'}")
                try:
                    pygame.image.save(canvas, str(partial))
                    os.replace(partial, opts.snapshot)
                except (pygame.error, OSError) as e:
                    print(f"jiaohao display: cannot write {opts.snapshot}: {e}", file=sys.stderr)
                    return 1
                shown = {x.name: x.text for x in drawn if x.name in ("date", "time")}
                print(f"jiaohao display: wrote {opts.snapshot} ({canvas.get_width()}x{canvas.get_height()}, "
                      f"{calls_seen} calls, seq {board.seq}, showing {shown.get('date', '')} {shown.get('time', '')})",
                      file=out, flush=True)
                return 0
            if deadline and time.monotonic() > deadline:
                print(f"jiaohao display: no snapshot within {opts.timeout:g} s "
                      f"({calls_seen} of {opts.after} calls, {'connected' if board.connected else 'not connected'})",
                      file=sys.stderr)
                return 1
            if canvas is not screen:
                screen.blit(pygame.transform.rotate(canvas, -opts.rotate), (0, 0))
            pygame.display.flip()
            frames += 1
            if frames == 1:
                notify.ready("showing the board")
            notify.ping()
            tick.tick(fps)
        return 0
    finally:
        link.stop()
        if library:
            library.stop()
        if announcer:
            announcer.close()
        pygame.quit()
