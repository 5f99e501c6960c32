"""Video in the board's media region (issue 9, seeds/004 多媒體輪播), decoded with PyAV, sound included.

What plays, and why PyAV: pygame-ce decodes no video, and a player beside the board (mpv --wid) needs a
window system that a Pi board on KMS/DRM does not have (mpv would take the whole screen, the call panel
with it). PyAV's wheels carry FFmpeg, so `pip install` brings the decoders (H.264, VP8/9, AV1, AAC, Opus)
with nothing from apt; there is an aarch64 wheel (64-bit Raspberry Pi OS) but none for 32-bit Pi OS,
where the board runs without it and skips each video with a log line saying so (`available()`).

Threads: a `VideoPlayer` per video slot, with a thread of its own: demux, decode (FFmpeg's own threads,
DECODE_THREADS of them, without the GIL; not niced: a niced thread that holds the GIL when it is preempted
would hold up the drawing thread instead), scale to the size fitted in the media region with swscale (one
thread, without the GIL), and wrap the picture as a pygame Surface (no copy). Each picture goes with the
time it is due (on the board's time line) into a deque of at most QUEUED; when it is full the oldest is dropped, so the
decoder never waits for the screen. A picture already late when decoded is dropped before it is scaled
(the costly part on a Pi): a slow decoder shows fewer pictures, never old ones, and never slows a frame.
The drawing thread only calls `VideoPlayer.frame(now)`: the newest picture due, or the one it showed last.

Time: the rotation gives each video a slot of time (display/media.py) on the board's time line, the hub's
time (server/wire/hubtime.py; a Pi's own clock may be off). Picture t of the clip is due at slot start + t,
so two boards side by side show the same picture and a board started mid-slot seeks into the clip; a clip
shorter than its slot plays again from its start, and the slot's end stops it. When the line steps (the
hub's first reading moves it from the Pi's clock), a playing film goes on from where it is (STEP_S).

Sound: the audio stream is read by a second demuxer of its own on the same file (`_SoundAhead`), decoded
SOUND_AHEAD_S ahead of the clock (the pictures are only LEAD_S ahead), resampled to the mixer's format and
handed over in CHUNK_S pieces, each before it is due, to a mixer channel kept for video (`VideoSound`): the
first piece starts when its picture is due, the next is queued on the channel behind the one playing, so
pieces follow back to back. While the announcer has a call to
speak or is speaking one, that channel's volume is 0: the film goes on, silent, and is heard again after
the call (`VideoSound.hush`, called by display/announcer.py). `--no-sound` and `--video-volume 0` play
videos silently.

Safety: only MP4 and WebM (the formats the hub takes, server/media.py) are opened, from a file the board
wrote itself (display/media.py); at most MAX_PIXELS per picture; FFmpeg reads nothing else (no network).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("jiaohao.display.video")

DEMUXERS = frozenset({"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"})  # FFmpeg's names for MP4 and WebM
MAX_PIXELS = 1920 * 1088  # 1080p (coded height 1088): a Pi 4 decodes that in software; 4K it cannot
# FFmpeg's decoding threads: two cores are left to the drawing thread and the rest (a Pi 4 decodes with two,
# a two-core machine with one).
DECODE_THREADS = max(1, min(2, (os.cpu_count() or 1) - 2))
QUEUED = 3  # pictures waiting for the screen; more only costs memory
LEAD_S = 0.02  # a picture is scaled this long before it is due
LATE_S = 0.1  # a picture decoded later than this after its time is dropped unscaled
CHUNK_S = 0.2  # sound is handed to the mixer in pieces this long
# Sound is decoded this far ahead of the clock: a piece is handed over at least this less CHUNK_S before it
# is due, so the channel always has the next one queued behind the one it plays.
SOUND_AHEAD_S = 0.6
WAIT_SLICE_S = 0.02  # the player wakes this often while it waits, to feed the sound and to see a stop
UNWATCHED_S = 2.0  # a player whose pictures nobody asked for this long stops (the region went away)
STEP_S = 1.0  # a picture this far from its time once playing: the clock's line stepped, the film follows


class VideoUnavailable(RuntimeError):
    """PyAV cannot be imported here (a 32-bit Pi OS has no wheel): videos are skipped."""


def available() -> str | None:
    """None if PyAV imports, else why not (one line, for the log)."""
    try:
        import av  # noqa: F401
    except ImportError as e:
        return (f"PyAV is not installed ({e}); it has wheels for 64-bit Pi OS (aarch64) and PCs, not for "
                "32-bit Pi OS: video is not played on this board")
    return None


@dataclass(frozen=True)
class Clip:
    """What the board learnt of a video file before playing it."""

    path: Path
    width: int
    height: int
    seconds: float  # its length, as the container says (or the last picture's time)
    sound: bool  # it has an audio stream


def probe(path: Path) -> Clip:
    """Opens the file as the player will and decodes its first picture. Raises ValueError (the reason)."""
    try:
        import av
    except ImportError:
        raise VideoUnavailable(available() or "PyAV is not installed") from None
    try:
        with av.open(str(path), mode="r") as c:
            if c.format.name not in DEMUXERS:
                raise ValueError(f"not an MP4 or WebM video ({c.format.name})")
            if not c.streams.video:
                raise ValueError("no picture in it (an audio file?)")
            v = c.streams.video[0]
            v.codec_context.thread_count = 1  # one picture: no need to take every core for it
            w, h = v.codec_context.width, v.codec_context.height
            if w <= 0 or h <= 0:
                raise ValueError("its picture has no size")
            if w * h > MAX_PIXELS:
                raise ValueError(f"{w}x{h} pictures, more than 1920x1080: a board cannot decode them in time; "
                                 "make it 1280x720 or 1920x1080")
            first = next(iter(c.decode(v)), None)
            if first is None:
                raise ValueError("no picture in it decodes")
            seconds = 0.0
            if c.duration:
                seconds = c.duration / 1_000_000  # AV_TIME_BASE
            elif v.duration and v.time_base:
                seconds = float(v.duration * v.time_base)
            return Clip(Path(path), w, h, seconds, bool(c.streams.audio))
    except av.FFmpegError as e:  # before ValueError: FFmpeg's InvalidDataError is both
        raise ValueError(f"not a video the board can play: {e.strerror or e}") from None
    except ValueError:
        raise
    except (OSError, IndexError) as e:
        raise ValueError(f"not a video the board can play: {e}") from None


def fit(w: int, h: int, box: tuple[int, int]) -> tuple[int, int]:
    """w×h scaled to fit inside box, aspect kept, even sizes (swscale's chroma is subsampled by 2)."""
    scale = min(box[0] / w, box[1] / h)
    return max(2, int(w * scale) // 2 * 2), max(2, int(h * scale) // 2 * 2)


class VideoSound:
    """The one mixer channel that videos play on, and whether a call keeps it silent now.

    Thread-safe: `hush` comes from the announcer's thread (and the drawing thread), `feed`/`pump` from the
    player's. The channel is reserved by whoever opens the mixer first (the announcer is told to with
    `reserved=RESERVED`), so a call's Sound.play never lands on it, not even one begun before a video.
    """

    CHANNEL = 0
    RESERVED = CHANNEL + 1  # channels the announcer keeps off from the mixer's opening (Announcer(reserved=))

    def __init__(self, volume: float = 0.5, clock: Callable[[], float] = time.time) -> None:
        """`clock`: the time line the players' `due` times are on (the board's: the hub's time)."""
        self.volume = max(0.0, min(1.0, volume))
        self.clock = clock
        self._lock = threading.Lock()
        self._hushed = False
        self._channel: Any = None
        self._pending: collections.deque[tuple[float, Any]] = collections.deque()  # (due, Sound)
        self._warned = False
        self._owner: object = None  # the player whose sound this is: one that is stopping never cuts the next

    def claim(self, owner: object) -> None:
        """From now on the sound is `owner`'s: what another player had queued is dropped."""
        with self._lock:
            if self._owner is not owner:
                self._owner = owner
                self._pending.clear()
                if self._channel is not None:
                    self._channel.stop()

    @property
    def hushed(self) -> bool:
        return self._hushed

    def hush(self, quiet: bool) -> None:
        """True while a call is to be spoken or is being spoken: the video plays on, silent."""
        with self._lock:
            self._hushed = quiet
            self._apply()

    def _apply(self) -> None:
        if self._channel is not None:
            self._channel.set_volume(0.0 if self._hushed else self.volume)

    def open(self) -> tuple[int, int] | None:
        """The mixer's (frequency, channels), opening it as the announcer does if nobody has; None without
        a sound device (videos then play silently, said once)."""
        import pygame

        from .announcer import open_mixer

        try:
            init = open_mixer(self.RESERVED)
            if init[1] != -16:
                raise pygame.error(f"the mixer is {init}, not 16-bit")
            with self._lock:
                self._channel = pygame.mixer.Channel(self.CHANNEL)
                self._apply()
            return init[0], init[2]
        except pygame.error as e:
            if not self._warned:
                self._warned = True
                log.warning("no sound device for videos (%s): they play silently", e)
            return None

    def feed(self, owner: object, pcm: bytes, due: float) -> None:
        """A piece of `owner`'s sound, in the mixer's format, to be heard from time `due` on (the clock's line)."""
        import pygame

        snd = pygame.mixer.Sound(buffer=pcm)
        with self._lock:
            if self._owner is not owner:
                return  # a player that has been replaced
            self._pending.append((due, snd))
        self.pump()

    def pump(self, now: float | None = None) -> None:
        """Hands the next piece to the channel when it has room: the first when it is due, then back to back."""
        with self._lock:
            ch = self._channel
            if ch is None or not self._pending:
                return
            now = self.clock() if now is None else now
            if not ch.get_busy():
                due, snd = self._pending[0]
                if due > now:
                    return
                self._pending.popleft()
                ch.play(snd)
                self._apply()  # play() may set the volume back to full
            elif ch.get_queue() is None:
                ch.queue(self._pending.popleft()[1])
                self._apply()

    def shift(self, owner: object, delta: float) -> None:
        """The clock's line stepped by `delta` under `owner`'s film: what it queued is due that much later."""
        with self._lock:
            if self._owner is owner:
                self._pending = collections.deque((due + delta, snd) for due, snd in self._pending)

    def stop(self, owner: object) -> None:
        """`owner` has stopped: its sound with it, unless another player has the channel by now."""
        with self._lock:
            if self._owner is not owner:
                return
            self._owner = None
            self._pending.clear()
            if self._channel is not None:
                self._channel.stop()


class VideoPlayer:
    """One video slot: decodes `clip` in its own thread for the time [start, end) on `clock`'s line, pictures fitted in
    `box`. `frame(now)` never waits. `on_error(reason)` once if the file turns out not to play."""

    def __init__(self, clip: Clip, box: tuple[int, int], start: float, end: float,
                 sound: VideoSound | None = None, on_error: Callable[[str], None] | None = None,
                 name: str = "video", clock: Callable[[], float] = time.time) -> None:
        """`start`, `end` and `frame(now)` are on `clock`'s line: the board's is the hub's time (a Pi's own
        clock may be off), which a first reading from the hub moves; the player follows such a step."""
        self.clock = clock
        self.clip = clip
        self.box = box
        self.size = fit(clip.width, clip.height, box)
        self.start_at, self.end_at = start, end
        self.sound = sound if clip.sound else None
        self.on_error = on_error
        self.name = name
        self.shown = 0  # pictures handed to the screen
        self.dropped = 0  # decoded too late, never scaled
        self.error: str | None = None
        self._queue: collections.deque[tuple[float, Any, Any]] = collections.deque(maxlen=QUEUED)
        self._current: tuple[float, Any, Any] | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._asked = time.monotonic()
        self._ahead: _SoundAhead | None = None

    # -- the drawing thread --

    def frame(self, now: float) -> Any | None:
        """The newest picture due at `now` (a pygame Surface of self.size), else the last one, else None."""
        self._asked = time.monotonic()
        with self._lock:
            while self._queue and self._queue[0][0] <= now:
                self._current = self._queue.popleft()
            current = self._current
        return current[1] if current else None

    def start(self) -> VideoPlayer:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Never waits: the thread sees the flag within WAIT_SLICE_S or one decoded packet."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        if self._thread:
            self._thread.join(timeout)
        return not (self._thread and self._thread.is_alive())

    @property
    def running(self) -> bool:
        return bool(self._thread and self._thread.is_alive())

    # -- the player's thread --

    def _run(self) -> None:
        try:
            self._play()
        except Exception as e:  # a file that opened but does not decode: skipped, the board goes on
            self.error = str(e) or type(e).__name__
            log.debug("video %s stopped: %s", self.clip.path, e, exc_info=True)
            if self.on_error and not self._stop.is_set():
                self.on_error(f"it stopped playing: {self.error}")
        finally:
            if self.sound:
                self.sound.stop(self)

    def _play(self) -> None:
        import av
        from av.video.reformatter import VideoReformatter

        with contextlib.ExitStack() as stack:
            c = stack.enter_context(av.open(str(self.clip.path), mode="r"))
            if c.format.name not in DEMUXERS:
                raise ValueError(f"not an MP4 or WebM video ({c.format.name})")
            v = c.streams.video[0]
            v.thread_type = "AUTO"
            v.codec_context.thread_count = DECODE_THREADS
            has_sound = bool(self.sound and c.streams.audio)
            if self.sound and has_sound:
                self.sound.claim(self)
            fmt = self.sound.open() if (self.sound and has_sound) else None
            if fmt is not None and fmt[1] not in (1, 2):
                log.warning("the mixer has %d channels: videos play silently", fmt[1])
                fmt = None
            scaler = VideoReformatter()
            length = self.clip.seconds if self.clip.seconds > 0.2 else 0.0
            now = self.clock()
            base = self.start_at  # the time (on the clock's line) of the clip's time 0 in this pass
            if length:
                base += ((now - self.start_at) // length) * length if now > self.start_at else 0
            seek = now - base
            self._ahead = None
            if fmt is not None and self.sound is not None:
                # The sound's own demuxer on the same file: it runs SOUND_AHEAD_S ahead of the pictures.
                self._ahead = _SoundAhead(self, stack.enter_context(av.open(str(self.clip.path), mode="r")),
                                          fmt, base, seek, length)
            while not self._stop.is_set() and self.clock() < self.end_at:
                if seek > 0.5:  # started late (a board switched on mid-slot): to the keyframe before
                    c.seek(int(seek / v.time_base), stream=v, backward=True)
                last = 0.0
                for packet in c.demux(v):
                    if self._stop.is_set() or self.clock() >= self.end_at or self._unwatched():
                        return
                    for f in packet.decode():
                        t = f.time
                        if t is None:
                            continue
                        last = max(last, t + (float(1 / v.average_rate) if v.average_rate else 0.04))
                        due, now = base + t, self.clock()
                        if self.shown and not -STEP_S < due - now < STEP_S:
                            # The line stepped (the hub's time arrived) or the decoder fell far behind:
                            # go on from this picture now rather than drop or wait for seconds.
                            base += now - due
                            if self._ahead is not None:
                                self._ahead.shift(now - due)
                            due = now
                        if not self._picture(f, due, scaler):
                            return
                    self._tick()
                # The end of the clip: once more from its start while the slot lasts.
                played = length or last
                if played <= 0.2:
                    raise ValueError("the clip has no length")
                base += played
                seek = 0.0
                if self._ahead is not None:
                    self._ahead.next_pass(base)
                c.seek(0, stream=v, backward=True)

    def _tick(self) -> None:
        """Between pictures: the sound decoded up to SOUND_AHEAD_S ahead, the next piece to the channel."""
        if self._ahead is not None:
            self._ahead.fill(self.clock() + SOUND_AHEAD_S)
        if self.sound:
            self.sound.pump()

    def _unwatched(self) -> bool:
        """Nobody has asked for a picture for UNWATCHED_S: the board no longer shows the region (the list
        emptied, the window shrank); the library starts a player again if it asks again."""
        return time.monotonic() - self._asked > UNWATCHED_S

    def _picture(self, f: Any, due: float, scaler: Any) -> bool:
        """Scales one decoded picture and queues it for `due`; False once the player should stop."""
        import pygame

        if due < self.clock() - LATE_S:
            self.dropped += 1
            return True
        if due >= self.end_at:
            return False
        while (wait := due - LEAD_S - self.clock()) > 0:
            if wait > STEP_S:
                break  # the line stepped back while waiting: shown now, the next picture follows the step
            if self._stop.wait(min(wait, WAIT_SLICE_S)) or self._unwatched():
                return False
            self._tick()
        w, h = self.size
        img = scaler.reformat(f, w, h, "rgb24", interpolation="BILINEAR", threads=1)
        plane = img.planes[0]
        surf = pygame.image.frombuffer(memoryview(plane), (w, h), "RGB", pitch=plane.line_size)
        with self._lock:
            self._queue.append((due, surf, img))  # img keeps the pixels the Surface points at alive
        self.shown += 1
        return True


class _SoundAhead:
    """A clip's sound, read by a demuxer of its own so that it runs ahead of the pictures.

    One demuxer for both gives the sound only as far as the pictures have come (LEAD_S ahead of the clock):
    a CHUNK_S piece would reach the mixer up to CHUNK_S after it is due, and the channel, with nothing queued
    behind the piece it plays, could run dry. Runs in the player's thread (`fill` between pictures).
    """

    def __init__(self, player: VideoPlayer, container: Any, fmt: tuple[int, int], base: float, seek: float,
                 length: float) -> None:
        import av

        assert player.sound is not None
        self.player, self.sound, self.c = player, player.sound, container
        self.a = container.streams.audio[0]
        self.channels = fmt[1]
        self.resampler = av.AudioResampler(format="s16", layout="mono" if fmt[1] == 1 else "stereo", rate=fmt[0])
        self.chunk = int(fmt[0] * CHUNK_S) * 2 * fmt[1]
        self.pcm, self.pcm_due = bytearray(), 0.0
        self.base, self.length = base, length
        self.decoded_to = -math.inf  # the time (on the clock's line) up to which the sound is decoded
        self.done = False  # this pass is all decoded; the next waits for `next_pass` (a clip of unknown length)
        self._packets: Iterator[Any] = iter(())
        self._start(seek)

    def _start(self, seek: float) -> None:
        if seek > 0.5:
            self.c.seek(int(seek / self.a.time_base), stream=self.a, backward=True)
        elif self.decoded_to > -math.inf:  # a pass after the first: from the start again
            self.c.seek(0, stream=self.a, backward=True)
        self._packets = iter(self.c.demux(self.a))
        self.done = False

    def fill(self, until: float) -> None:
        """Decodes the sound up to `until`, handing each CHUNK_S piece over as soon as it is whole."""
        while not self.done and self.decoded_to < until:
            packet = next(self._packets, None)
            if packet is None:  # the end of this pass
                self._hand_over()
                if self.length:
                    self.base += self.length
                    self._start(0.0)
                else:
                    self.done = True
                continue
            for f in packet.decode():
                self._frame(f)

    def _frame(self, f: Any) -> None:
        t = f.time
        if t is None:
            return
        due = self.base + t
        self.decoded_to = max(self.decoded_to, due + f.samples / (f.sample_rate or 1))
        if due < self.player.clock() - LATE_S:
            return  # before a seek's target, or late: not heard at all
        if self.length and t >= self.length:
            return  # past the pictures' end: the next pass starts there
        if not self.pcm:
            self.pcm_due = due
        for out in self.resampler.resample(f):
            self.pcm += bytes(out.planes[0])[:out.samples * 2 * self.channels]
        if len(self.pcm) >= self.chunk:
            self._hand_over()

    def _hand_over(self) -> None:
        if self.pcm:
            self.sound.feed(self.player, bytes(self.pcm), self.pcm_due)
            self.pcm.clear()

    def next_pass(self, base: float) -> None:
        """The pictures start over at `base`: so does a sound that waited for them (its clip's length unknown)."""
        if self.done:
            self.base = base
            self._start(0.0)

    def shift(self, delta: float) -> None:
        """The clock's line stepped: the sound follows the pictures, what it queued with it."""
        self.base += delta
        self.pcm_due += delta
        self.decoded_to += delta
        self.sound.shift(self.player, delta)
