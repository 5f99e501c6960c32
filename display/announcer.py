"""Spoken calls: a player that speaks one call at a time, in order, through pygame's mixer.

Which clips say a call is the rule in server/wire/speech.py, shared with the web board; this
module only splices and plays them.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from server.wire.speech import LANGUAGES, ZH_PHRASES, clip_names, sequence

from .state import Call

log = logging.getLogger("jiaohao.display.announcer")
# The mixer's one format: clips of any rate are converted to it on loading; videos' sound is resampled to it.
MIXER = {"frequency": 22050, "size": -16, "channels": 1, "buffer": 1024}
MIXER_CHANNELS = 8


def open_mixer(reserved: int = 0) -> tuple[int, int, int]:
    """Opens the mixer in MIXER's format if nobody has, keeping its first `reserved` channels out of
    Sound.play's reach (the video's, display/video.py) from the start: a call that began on such a
    channel would be muted with the video. Raises pygame.error without a sound device."""
    import pygame

    if not pygame.mixer.get_init():
        pygame.mixer.init(**MIXER)
    init = pygame.mixer.get_init()
    if init is None:
        raise pygame.error("the mixer did not open")
    if reserved:
        if pygame.mixer.get_num_channels() <= reserved:
            pygame.mixer.set_num_channels(MIXER_CHANNELS)
        pygame.mixer.set_reserved(reserved)
    return init


@dataclass
class Played:
    """One announcement as the player handled it, for logs and tests."""

    seq: int
    number: str
    clips: list[str]
    missing: list[str] = field(default_factory=list)
    seconds: float = 0.0


class Announcer:
    """Speaks calls one at a time, in the order `announce` was called, never overlapping, never dropping.

    A single worker thread takes calls from a FIFO queue and waits for each to finish before the
    next, so three calls made in the same second are spoken one after another. Without a sound
    device, or with clips missing, it logs a clear warning; the board shows the call regardless.
    """

    retry_sound_s = 10.0  # at most this often a call tries to open a missing sound device again

    def __init__(
        self,
        clip_dir: Path,
        languages: Sequence[str] = LANGUAGES,
        volume: float = 0.8,
        zh_phrase: str = "qing",
        on_played: Callable[[Played], None] | None = None,
        on_busy: Callable[[bool], None] | None = None,
        reserved: int = 0,
    ) -> None:
        """`reserved`: the mixer's first channels kept for others (the video's), never spoken on.
        `on_busy(True)` when a call is handed over while none was waiting, `on_busy(False)` once every
        call handed over has been spoken: a video's sound is silent in between (display/video.py). Called
        from the thread that announces and from the announcer's; it must not block."""
        for lang in languages:
            if lang not in LANGUAGES:
                raise ValueError(f"unknown language {lang!r}; choose from {', '.join(LANGUAGES)}")
        if zh_phrase not in ZH_PHRASES:
            raise ValueError(f"unknown zh phrase {zh_phrase!r}; choose from {', '.join(ZH_PHRASES)}")
        self.clip_dir = Path(clip_dir)
        self.languages = tuple(languages)
        self.volume = max(0.0, min(1.0, volume))
        self.zh_phrase = zh_phrase
        self.on_played = on_played
        self.on_busy = on_busy
        self.reserved = reserved
        self._queue: queue.Queue[Call | None] = queue.Queue()
        self._raw: dict[str, bytes | None] = {}
        self._warned: set[str] = set()
        self._idle = threading.Event()
        self._idle.set()
        self._pending = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._mixer_ok = False
        self._format: tuple[int, int, int] = (22050, -16, 1)
        # A TV switched on after the Pi, or a USB speaker plugged in later: the device may come later.
        self._mixer_tried = float("-inf")
        self._mixer_error = ""

    def start(self) -> Announcer:
        """Opens the sound device; if there is none, says so once and tries again at later calls."""
        if not self._open_mixer():
            log.warning("no sound device (%s): calls are shown but not spoken until one is found",
                        self._mixer_error)
        if self._mixer_ok and not self.clip_dir.is_dir():
            log.warning("clip directory %s does not exist: calls are shown but not spoken. "
                        "Make placeholder clips with: python scripts/make_clips.py --out %s",
                        self.clip_dir, self.clip_dir)
        self._thread = threading.Thread(target=self._run, name="announcer", daemon=True)
        self._thread.start()
        return self

    def _open_mixer(self) -> bool:
        import pygame

        self._mixer_tried = time.monotonic()
        try:
            self._format = open_mixer(self.reserved)
            self._mixer_ok = True
        except pygame.error as e:
            self._mixer_error = str(e)
        return self._mixer_ok

    @property
    def sound(self) -> bool:
        return self._mixer_ok

    def announce(self, call: Call) -> None:
        with self._lock:
            self._pending += 1
            self._idle.clear()
            if self._pending == 1 and self.on_busy:
                self.on_busy(True)  # before the call is queued: the video is silent before the chime starts
        self._queue.put(call)

    @property
    def busy(self) -> bool:
        """A call is waiting to be spoken or being spoken."""
        return not self._idle.is_set()

    def wait_idle(self, timeout: float) -> bool:
        """True once every call handed over so far has been spoken (or skipped for lack of sound)."""
        return self._idle.wait(timeout)

    def close(self, timeout: float = 2.0) -> None:
        self._queue.put(None)
        if self._thread:
            self._thread.join(timeout)

    # -- worker --

    def _run(self) -> None:
        while True:
            call = self._queue.get()
            if call is None:
                return
            try:
                played = self._speak(call)
                if self.on_played:
                    self.on_played(played)
            except Exception:  # one bad clip must not silence every later call
                log.exception("announcing %s failed", call.number)
            finally:
                with self._lock:
                    self._pending -= 1
                    if self._pending == 0:
                        if self.on_busy:
                            try:
                                self.on_busy(False)  # the video is heard again
                            except Exception:
                                log.exception("on_busy failed")
                        self._idle.set()

    def _clip(self, name: str) -> bytes | None:
        if name not in self._raw:
            import pygame

            path = self.clip_dir / f"{name}.wav"
            try:
                # Loading through the mixer converts any rate or channel count to one format, so
                # studio clips recorded at 44.1 or 48 kHz splice with the placeholders.
                self._raw[name] = pygame.mixer.Sound(str(path)).get_raw()
            except (pygame.error, FileNotFoundError, OSError) as e:
                self._raw[name] = None
                if name not in self._warned:
                    self._warned.add(name)
                    log.warning("clip %s missing or unreadable (%s): that word is left out. "
                                "Record it or run scripts/make_clips.py", path, e)
        return self._raw[name]

    def _silence(self, seconds: float) -> bytes:
        freq, size, channels = self._format
        return b"\x00" * (abs(size) // 8) * channels * int(freq * seconds)

    def _speak(self, call: Call) -> Played:
        tokens = sequence(call, self.languages, self.zh_phrase)
        played = Played(call.seq, call.number, clip_names(tokens))
        if not self._mixer_ok and time.monotonic() - self._mixer_tried >= self.retry_sound_s:
            if self._open_mixer():
                log.warning("sound device found: calls are spoken again")
        if not self._mixer_ok:
            return played
        import pygame

        parts: list[bytes] = []
        for t in tokens:
            if isinstance(t, str):
                raw = self._clip(t)
                if raw is None:
                    played.missing.append(t)
                else:
                    parts.append(raw)
            else:
                parts.append(self._silence(t))
        if len(played.missing) == len(played.clips):
            log.warning("call %s at counter %s not spoken: no clips in %s", call.number, call.counter_id,
                        self.clip_dir)
            return played
        sound = pygame.mixer.Sound(buffer=b"".join(parts))
        played.seconds = sound.get_length()
        channel = sound.play()
        if channel is None:
            log.warning("no free sound channel for call %s", call.number)
            return played
        channel.set_volume(self.volume)
        # Wait for the end before the next call; the bound guards against a driver that never reports it.
        deadline = time.monotonic() + played.seconds + 5.0
        while channel.get_busy() and time.monotonic() < deadline:
            time.sleep(0.02)
        log.info("announced %s -> counter %s (%.1f s)", call.number, call.counter_id, played.seconds)
        return played
