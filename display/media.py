"""Media on the TV (issue 9, seeds/004 多媒體輪播): the office's images and videos, in rotation, in a region
of the board.

What plays on a Pi, and why: images, decoded by Pillow in a thread of their own and shown by the board's
one drawing thread as ready-scaled pygame Surfaces (a blit per frame: well under a millisecond); and
videos, decoded with PyAV in a thread per video into pictures already scaled to the region, their sound on
a mixer channel of their own that is silent while a call is spoken (display/video.py says why PyAV, not
mpv beside pygame, and how a call never waits for a video).

Safety: the list and the files come from the hub with the board's token. Each file is read with a size
limit (MAX_BYTES for an image, MAX_VIDEO_BYTES for a video, streamed, cut off beyond it). An image must
open as a PNG, JPEG, GIF or WebP with Pillow (its first frame is taken) and not exceed MAX_PIXELS (a
decompression bomb is refused before decoding); it is kept in memory only. A video is written to a
private temporary directory (0700, removed when the board stops), never executed, and must open as an MP4
or WebM whose first picture decodes (display/video.py: probe) before it joins the rotation.

Threads: `MediaLibrary` fetches GET /api/v1/media every REFRESH_S and prepares each image scaled to the
size the board last asked for; the drawing thread only calls `MediaLibrary.surface(now, size)`, which never
blocks: while an image is not ready for that size it shows the next one that is, or nothing; a video's
slot starts its player and shows the newest picture it has decoded (none yet: the region stays dark).
"""

from __future__ import annotations

import dataclasses
import io
import logging
import math
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import requests
from PIL import Image

from . import video as videomod

log = logging.getLogger("jiaohao.display.media")

MAX_BYTES = 10 * 2**20  # an image for a TV needs no more; a larger file is refused, not truncated
MAX_VIDEO_BYTES = 64 * 2**20  # the hub's own limit for a video (server/media.py)
MAX_PIXELS = 40_000_000  # about 8000x5000: beyond that Pillow would spend seconds and memory decoding
FORMATS = frozenset({"PNG", "JPEG", "GIF", "WEBP"})
DEFAULT_DURATION_S = 8.0
MIN_DURATION_S, MAX_DURATION_S = 3.0, 300.0  # too short flickers; too long hides the rest
REFRESH_S = 60.0
MAX_ITEMS = 20  # each ready image is a screen-format Surface of the region (about 1 MB on 1080p)
KINDS = ("image", "video")


@dataclass(frozen=True)
class MediaItem:
    id: str
    kind: str  # "image" | "video"
    url: str
    duration_s: float = DEFAULT_DURATION_S
    # False when the hub gave no duration_s: an image shows DEFAULT_DURATION_S, a video its own length.
    duration_given: bool = True


class MediaRefused(ValueError):
    """A file the board will not show; str() is the log line's reason."""


def parse_media(data: Any) -> list[MediaItem]:
    """GET /api/v1/media's body → its items, in order. Entries without an id or a url, or of a kind this
    board does not know, are left out (CONTRACT.md: clients tolerate what they do not know)."""
    items = data.get("media") if isinstance(data, dict) else None
    out: list[MediaItem] = []
    for m in items if isinstance(items, list) else []:
        if not isinstance(m, dict):
            continue
        mid, kind, url = m.get("id"), m.get("kind"), m.get("url")
        if not isinstance(mid, str | int) or isinstance(mid, bool) or not isinstance(url, str) or not url:
            continue
        if kind not in KINDS:
            continue
        d = m.get("duration_s")
        given = isinstance(d, int | float) and not isinstance(d, bool)
        out.append(MediaItem(str(mid), kind, url, clamp_duration(float(d) if given else DEFAULT_DURATION_S),
                             given))
    return out


def clamp_duration(seconds: float) -> float:
    return min(MAX_DURATION_S, max(MIN_DURATION_S, seconds))


def decode_image(data: bytes, size: tuple[int, int]) -> Image.Image:
    """The image in `data`, fitted inside `size` (aspect kept), as RGB. Raises MediaRefused."""
    if len(data) > MAX_BYTES:
        raise MediaRefused(f"{len(data)} bytes, more than {MAX_BYTES}")
    try:
        img = Image.open(io.BytesIO(data))
        if img.format not in FORMATS:
            raise MediaRefused(f"not an image the board shows ({img.format}); PNG, JPEG, GIF or WebP")
        if img.width * img.height > MAX_PIXELS:
            raise MediaRefused(f"{img.width}x{img.height} pixels, more than {MAX_PIXELS}")
        img.draft("RGB", size)  # a JPEG is decoded at a fraction of its size when that is enough
        img = img.convert("RGB")
    except MediaRefused:
        raise
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError) as e:
        raise MediaRefused(f"not an image: {e}") from None
    scale = min(size[0] / img.width, size[1] / img.height)
    target = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return img.resize(target, Image.Resampling.LANCZOS) if target != img.size else img


def slot(items: list[MediaItem], now: float) -> int:
    """Which of `items` is due at `now` (epoch seconds): each shows for its duration_s, in turn, round and
    round. The clock, not a counter, decides, so two boards side by side show the same picture."""
    return slot_span(items, now)[0]


def slot_span(items: list[MediaItem], now: float) -> tuple[int, float, float]:
    """The item due at `now`, and when its slot started and ends (epoch seconds): a video plays from its
    start at the slot's start."""
    total = sum(i.duration_s for i in items)
    t = now % total
    start = now - t
    for n, i in enumerate(items):
        if t < i.duration_s:
            return n, start, start + i.duration_s
        t -= i.duration_s
        start += i.duration_s
    return len(items) - 1, start - items[-1].duration_s, start


def _fetch(session: requests.Session, url: str, token: str, timeout: float) -> bytes:
    buf = io.BytesIO()
    _download(session, url, token, timeout, MAX_BYTES, buf)
    return buf.getvalue()


def _download(session: requests.Session, url: str, token: str, timeout: float, limit: int, out: BinaryIO) -> None:
    """The file at `url` into `out`, streamed: a video is never whole in memory. MediaRefused beyond `limit`."""
    with session.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout, stream=True) as r:
        if not r.ok:
            raise MediaRefused(f"HTTP {r.status_code}")
        declared = r.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise MediaRefused(f"{declared} bytes, more than {limit}")
        size = 0
        for chunk in r.iter_content(64 * 1024):
            size += len(chunk)
            if size > limit:
                raise MediaRefused(f"more than {limit} bytes")
            out.write(chunk)


class MediaLibrary:
    """The hub's media list, the images ready to show and the video playing. One fetcher thread (and one per
    video playing); `surface` for the drawer."""

    def __init__(self, server: str, token: str, *, refresh_s: float = REFRESH_S, timeout: float = 10.0,
                 sound: videomod.VideoSound | None = None, clock: Callable[[], float] = time.time) -> None:
        """`sound`: where videos are heard (None: they play silently, as with --no-sound). `clock`: the time
        line that `surface(now)` is given (the board's: the hub's time), by which videos keep time."""
        self.clock = clock
        self.server = server.rstrip("/")
        self.token = token
        self.refresh_s = refresh_s
        self.timeout = timeout
        self.sound = sound
        self._clips: dict[str, videomod.Clip] = {}  # id -> a video file that probed well
        self._refused: set[str] = set()  # id:url of videos that will not play: not downloaded again
        self._dir: Path | None = None  # the private directory the videos are written to
        self._made: Path | None = None  # the last one the fetcher made: it removes it too if it outlives stop()
        self._player: videomod.VideoPlayer | None = None
        self._player_key: tuple[str, float, tuple[int, int]] | None = None
        self._lock = threading.Lock()
        self._items: list[MediaItem] = []  # showable (images that decoded, videos that probed), in the hub's order
        self._images: dict[str, Image.Image] = {}  # id -> fitted to self._size
        self._raw: dict[str, bytes] = {}  # id -> the file, kept to scale again when the size changes
        self._size: tuple[int, int] | None = None
        self._surfaces: dict[str, Any] = {}  # id -> pygame Surface, made in the drawing thread only
        self._skipped: set[str] = set()  # ids already logged as not shown
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the drawing thread --

    def surface(self, now: float, size: tuple[int, int]) -> Any | None:
        """The pygame Surface due at `now`, fitted inside `size`, or None. Never blocks on the network."""
        import pygame

        with self._lock:
            if size != self._size:
                self._size = size
                self._images.clear()
                self._surfaces.clear()
                self._wake.set()  # the fetcher scales every image again for this size
            ready = [i for i in self._items
                     if i.id in self._images or i.id in self._surfaces or i.id in self._clips]
            if not ready:
                self._stop_player()
                return None
            n, start, end = slot_span(ready, now)
            item = ready[n]
            if item.kind == "video":
                return self._video_frame(item, start, end, now, size, solo=len(ready) == 1)
            self._stop_player()
            surf = self._surfaces.get(item.id)
            if surf is None:
                img = self._images.pop(item.id)
                surf = pygame.image.frombytes(img.tobytes(), img.size, "RGB")
                if pygame.display.get_surface() is not None:
                    surf = surf.convert()  # the screen's format: every blit after this is a plain copy
                self._surfaces[item.id] = surf
            return surf

    def _video_frame(self, item: MediaItem, start: float, end: float, now: float, size: tuple[int, int],
                     solo: bool) -> Any:
        """Under the lock: the picture of the video due now; its player starts with its slot (`now` is on
        self.clock's line: the player paces itself by that clock). A video alone in the rotation is one player that
        plays it round and round, without a gap at each slot's edge."""
        key = (item.id, 0.0 if solo else start, size)
        p = self._player
        # Again after a player stopped for want of watching (the board did not ask for a while), not after
        # one that failed: that one's video has left the rotation.
        if p is None or self._player_key != key or (not p.running and p.error is None):
            self._stop_player()
            self._player = videomod.VideoPlayer(
                self._clips[item.id], size, start, math.inf if solo else end, self.sound, name=f"video-{item.id}",
                on_error=lambda why, item=item: self._video_failed(item, why), clock=self.clock).start()
            self._player_key = key
        return self._player.frame(now)

    def _stop_player(self) -> None:
        if self._player is not None:
            self._player.stop()  # never waits: its thread ends by itself
            self._player = self._player_key = None

    def _video_failed(self, item: MediaItem, why: str) -> None:
        """From a player's thread: a video that opened but does not play leaves the rotation, said once."""
        self._skip(item, why)
        with self._lock:
            self._refused.add(f"{item.id}:{item.url}")
            self._clips.pop(item.id, None)
            self._items = [i for i in self._items if i.id != item.id]

    @property
    def player(self) -> videomod.VideoPlayer | None:
        """The video playing now, if any (tests, benchmarks)."""
        return self._player

    def showable(self) -> list[MediaItem]:
        with self._lock:
            return list(self._items)

    # -- the fetcher thread --

    def start(self) -> MediaLibrary:
        self._thread = threading.Thread(target=self._run, name="hub-media", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        with self._lock:
            player = self._player
            self._stop_player()
        if self._thread:
            self._thread.join(timeout)
        if player is not None:
            player.join(timeout)
        self._remove_dir()  # a fetcher still downloading removes it again when it ends (_run)

    def _remove_dir(self) -> None:
        with self._lock:
            d, self._dir = self._dir, None
        if d is not None:
            shutil.rmtree(d, ignore_errors=True)

    def _workdir(self) -> Path | None:
        """The fetcher thread: the private directory videos are written to, made once; None once stopping
        (stop() may have given up waiting for a download: no new directory it would never remove)."""
        with self._lock:
            if self._stop.is_set():
                return None
            if self._dir is None:
                self._dir = self._made = Path(tempfile.mkdtemp(prefix="jiaohao-media-"))  # 0700: this user only
            return self._dir

    def _run(self) -> None:
        session = requests.Session()
        try:
            while not self._stop.is_set():
                try:
                    self.refresh(session)
                except Exception:  # the board must keep drawing calls whatever the media do
                    log.exception("media: refresh failed")
                self._wake.wait(self.refresh_s)
                self._wake.clear()
        finally:
            # stop() may have removed the directory while a download went on writing into it (or made a
            # file there after it listed it): what is left is removed by the thread that made it.
            if self._stop.is_set():
                self._remove_dir()
                if self._made is not None:  # stop() removed it while a file was being made in it
                    shutil.rmtree(self._made, ignore_errors=True)

    def refresh(self, session: requests.Session | None = None) -> None:
        """Read the list, download what is new, prepare what is not ready for the current size."""
        session = session or requests.Session()
        try:
            r = session.get(f"{self.server}/api/v1/media", timeout=self.timeout,
                            headers={"Authorization": f"Bearer {self.token}"})
        except requests.RequestException as e:
            log.info("GET /media: %s", e)
            return
        if r.status_code == 404:
            return  # a hub without media: nothing to show, nothing to say every minute
        if not r.ok:
            log.info("GET /media answered %s", r.status_code)
            return
        try:
            listed = parse_media(r.json())
        except ValueError:
            log.info("GET /media: not JSON")
            return
        if len(listed) > MAX_ITEMS:
            log.warning("media: %d items listed, the first %d are shown", len(listed), MAX_ITEMS)
        keep: list[MediaItem] = []
        for item in listed[:MAX_ITEMS]:
            if self._stop.is_set():
                return  # the board is stopping: nothing more downloaded
            if item.kind == "video":
                clip = self._video(session, item)
                if clip is not None and not item.duration_given:  # its own length, within the limits
                    item = dataclasses.replace(item, duration_s=clamp_duration(clip.seconds or DEFAULT_DURATION_S))
                if clip is not None:
                    keep.append(item)
                continue
            raw = self._raw.get(item.id)
            if raw is None:
                try:
                    raw = _fetch(session, requests.compat.urljoin(self.server + "/", item.url), self.token,
                                 self.timeout)
                    decode_image(raw, (64, 36))  # refuses what is not an image before it is kept
                except (MediaRefused, requests.RequestException) as e:
                    self._skip(item, str(e))
                    continue
                self._raw[item.id] = raw
            keep.append(item)
        ids = {i.id for i in keep}
        for gone in set(self._raw) - ids:
            del self._raw[gone]
        with self._lock:
            gone_clips = [self._clips.pop(g) for g in set(self._clips) - ids]
            self._items = keep
            size = self._size
            for gone in set(self._surfaces) - ids:
                del self._surfaces[gone]
            todo = [i for i in keep if i.kind == "image" and i.id not in self._images and i.id not in self._surfaces]
        for clip in gone_clips:  # a player still on it has the file open: its data stays until it stops
            clip.path.unlink(missing_ok=True)
        if size is None:
            return
        for item in todo:
            try:
                img = decode_image(self._raw[item.id], size)
            except MediaRefused as e:
                self._skip(item, str(e))
                continue
            with self._lock:
                if self._size == size:
                    self._images[item.id] = img

    def _video(self, session: requests.Session, item: MediaItem) -> videomod.Clip | None:
        """The fetcher thread: the video downloaded and probed once, or None (said once, why)."""
        key = f"{item.id}:{item.url}"
        with self._lock:
            clip = self._clips.get(item.id)
        if clip is not None or key in self._refused:
            return clip
        why = videomod.available()
        if why:
            self._skip(item, why)
            return None
        try:
            workdir = self._workdir()
            if workdir is None:
                return None  # the board is stopping
            fd, name = tempfile.mkstemp(dir=workdir, suffix=".video")  # 0600, a name of its own
        except OSError as e:  # the board's own disk (full?), or stop() removed the directory meanwhile
            if not self._stop.is_set():
                self._skip(item, f"cannot keep the file: {e}")
            return None
        path = Path(name)
        try:
            with open(fd, "wb") as f:
                _download(session, requests.compat.urljoin(self.server + "/", item.url), self.token, self.timeout,
                          MAX_VIDEO_BYTES, f)
            clip = videomod.probe(path)
        except requests.RequestException as e:
            path.unlink(missing_ok=True)
            self._skip(item, str(e))  # the network: tried again at the next read
            return None
        except (MediaRefused, ValueError) as e:
            path.unlink(missing_ok=True)
            self._skip(item, str(e))
            self._refused.add(key)  # the same file will not play next time either: not downloaded again
            return None
        except OSError as e:  # the board's own disk (full?): tried again at the next read
            path.unlink(missing_ok=True)
            self._skip(item, f"cannot keep the file: {e}")
            return None
        with self._lock:
            self._clips[item.id] = clip
        return clip

    def _skip(self, item: MediaItem, reason: str) -> None:
        key = f"{item.id}:{item.url}"
        if key not in self._skipped:
            self._skipped.add(key)
            log.warning("media %s (%s, %s) is not shown: %s", item.id, item.kind, item.url, reason)
