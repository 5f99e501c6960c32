"""Spoken calls: which clips say a call (pure), and a player that speaks one call at a time, in order.

A call is a chime, then the sentence in each chosen language, built from short recorded clips
(digits, letters, words) so an office can replace the placeholder voice with studio recordings that
have the same file names (docs/display.md lists them; scripts/make_clips.py makes placeholders).

Zh (default, the Taiwanese office idiom): 「A023號來賓，請到3號櫃台」
Zh (`qing`, the short form):              「請 A023 號 到 3 號櫃台」
En:                                        "Number A023, please proceed to counter 3"
Ticket numbers are read character by character (A, 零, 二, 三); counter numbers below 100 as whole
numbers (十六號櫃台, counter sixteen), since that is how people say them.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .state import Call

log = logging.getLogger("jiaohao.display.announcer")

Token = str | float  # a clip name, or seconds of silence
LANGUAGES = ("zh", "en")
ZH_PHRASES = ("laibin", "qing")

_ZH_DIGITS = "零一二三四五六七八九"
_EN_SMALL = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
             "fifteen sixteen seventeen eighteen nineteen").split()
_EN_TENS = {20: "twenty", 30: "thirty", 40: "forty", 50: "fifty", 60: "sixty", 70: "seventy", 80: "eighty",
            90: "ninety"}

# Every clip the announcer may ask for: name -> (language of the recording, what it says).
# Names are the contract with recorded clips: <name>.wav in the clip directory.
CLIPS: dict[str, tuple[str, str]] = {
    "chime": ("", "a two-tone chime (ding-dong) before every call"),
    **{f"zh_{d}": ("zh", _ZH_DIGITS[d]) for d in range(10)},
    "zh_10": ("zh", "十"),
    "zh_hao": ("zh", "號"),
    "zh_laibin": ("zh", "來賓"),
    "zh_qing": ("zh", "請"),
    "zh_dao": ("zh", "到"),
    "zh_guitai": ("zh", "櫃台"),
    **{f"en_{n}": ("en", _EN_SMALL[n]) for n in range(20)},
    **{f"en_{n}": ("en", w) for n, w in _EN_TENS.items()},
    "en_number": ("en", "Number"),
    "en_please_proceed_to_counter": ("en", "please proceed to counter"),
    # Letters are said the English way in both languages, as people in Taiwan say ticket prefixes.
    **{f"letter_{c}": ("en", c) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
}

GAP_WORD = 0.06  # between clips: spliced words need a breath to stay intelligible
GAP_PHRASE = 0.25  # at the comma
GAP_LANGUAGE = 0.6  # between the Mandarin and the English sentence
GAP_CHIME = 0.3


def _chars(text: str, lang: str) -> list[Token]:
    out: list[Token] = []
    for ch in text.upper():
        if ch.isdigit() and ch.isascii():
            out.append(f"{lang}_{ch}")
        elif "A" <= ch <= "Z":
            out.append(f"letter_{ch}")
        # anything else (a dash, a space) is not spoken: the screen shows it
    return out


def _counter_zh(cid: str) -> list[Token]:
    if not (cid.isascii() and cid.isdigit()) or int(cid) >= 100:
        return _chars(cid, "zh")
    n = int(cid)
    if n < 10:
        return [f"zh_{n}"]
    tens, ones = divmod(n, 10)
    head: list[Token] = [] if tens == 1 else [f"zh_{tens}"]  # 十六, not 一十六
    return head + ["zh_10"] + ([f"zh_{ones}"] if ones else [])


def _counter_en(cid: str) -> list[Token]:
    if not (cid.isascii() and cid.isdigit()) or int(cid) >= 100:
        return _chars(cid, "en")
    n = int(cid)
    if n < 20:
        return [f"en_{n}"]
    tens, ones = divmod(n, 10)
    return [f"en_{tens * 10}"] + ([f"en_{ones}"] if ones else [])


def _spaced(tokens: list[Token]) -> list[Token]:
    out: list[Token] = []
    for t in tokens:
        if out and isinstance(t, str) and isinstance(out[-1], str):
            out.append(GAP_WORD)
        out.append(t)
    return out


def sentence(number: str, counter_id: str, lang: str, zh_phrase: str = "qing") -> list[Token]:
    if lang == "zh":
        num, ctr = _chars(number, "zh"), _counter_zh(counter_id)
        if zh_phrase == "qing":
            return _spaced(["zh_qing", *num, "zh_hao", "zh_dao", *ctr, "zh_hao", "zh_guitai"])
        return _spaced([*num, "zh_hao", "zh_laibin"]) + [GAP_PHRASE] + _spaced(
            ["zh_qing", "zh_dao", *ctr, "zh_hao", "zh_guitai"])
    if lang == "en":
        return _spaced(["en_number", *_chars(number, "en")]) + [GAP_PHRASE] + _spaced(
            ["en_please_proceed_to_counter", *_counter_en(counter_id)])
    raise ValueError(f"unknown language {lang!r}; choose from {', '.join(LANGUAGES)}")


def sequence(call: Call, languages: Sequence[str] = LANGUAGES, zh_phrase: str = "qing") -> list[Token]:
    """The whole announcement of one call: chime, then each language in the order given."""
    out: list[Token] = ["chime", GAP_CHIME]
    for i, lang in enumerate(languages):
        if i:
            out.append(GAP_LANGUAGE)
        out += sentence(call.number, call.counter_id, lang, zh_phrase)
    return out


def clip_names(tokens: Sequence[Token]) -> list[str]:
    return [t for t in tokens if isinstance(t, str)]


def default_clip_dir() -> Path:
    """$JIAOHAO_CLIPS, else $XDG_DATA_HOME/jiaohao/clips (~/.local/share/jiaohao/clips)."""
    if os.environ.get("JIAOHAO_CLIPS"):
        return Path(os.environ["JIAOHAO_CLIPS"])
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "jiaohao" / "clips"


# -- the player ------------------------------------------------------------------------------------


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

    def __init__(
        self,
        clip_dir: Path,
        languages: Sequence[str] = LANGUAGES,
        volume: float = 0.8,
        zh_phrase: str = "qing",
        on_played: Callable[[Played], None] | None = None,
    ) -> None:
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

    def start(self) -> Announcer:
        """Opens the sound device; if there is none, says so once and carries on silently."""
        import pygame

        try:
            if not pygame.mixer.get_init():
                pygame.mixer.init(frequency=22050, size=-16, channels=1, buffer=1024)
            init = pygame.mixer.get_init()
            assert init is not None
            self._format = init
            self._mixer_ok = True
        except pygame.error as e:
            log.warning("no sound device (%s): calls are shown but not spoken", e)
        if self._mixer_ok and not self.clip_dir.is_dir():
            log.warning("clip directory %s does not exist: calls are shown but not spoken. "
                        "Make placeholder clips with: python scripts/make_clips.py --out %s",
                        self.clip_dir, self.clip_dir)
        self._thread = threading.Thread(target=self._run, name="announcer", daemon=True)
        self._thread.start()
        return self

    @property
    def sound(self) -> bool:
        return self._mixer_ok

    def announce(self, call: Call) -> None:
        with self._lock:
            self._pending += 1
            self._idle.clear()
        self._queue.put(call)

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
