"""Media on the TV (issue 9, seeds/004 多媒體輪播): the office's images, in rotation, in a region of the board.

What plays on a Pi, and why: images only, decoded by Pillow in a thread of their own and shown by the
board's one drawing thread as ready-scaled pygame Surfaces (a blit per frame: well under a millisecond).
pygame-ce decodes no video. A player beside it (mpv --wid) needs a window system to embed into, and a
Pi board runs on KMS/DRM without one: mpv would take the whole screen from SDL, and the call panel with
it. Decoding video ourselves (PyAV, or an ffmpeg process piping frames) would put a decoder's CPU on the
same two or four cores that must draw a call within a frame, and neither ffmpeg nor PyAV is on the boards
today. So a `video` item is skipped, with one log line per item, until that is measured on a real Pi;
the board never plays sound of its own but the calls, so there is no video sound to mute.

Safety: the list and the files come from the hub with the board's token. Each file is read with a size
limit (MAX_BYTES, streamed, cut off beyond it), must open as a PNG, JPEG, GIF or WebP with Pillow (its
first frame is taken), and must not exceed MAX_PIXELS (a decompression bomb is refused before decoding).
Nothing downloaded is written to disk or executed.

Threads: `MediaLibrary` fetches GET /api/v1/media every REFRESH_S and prepares each image scaled to the
size the board last asked for; the drawing thread only calls `MediaLibrary.surface(now, size)`, which never
blocks: while an image is not ready for that size it shows the next one that is, or nothing.
"""

from __future__ import annotations

import io
import logging
import threading
from dataclasses import dataclass
from typing import Any

import requests
from PIL import Image

log = logging.getLogger("jiaohao.display.media")

MAX_BYTES = 10 * 2**20  # an image for a TV needs no more; a larger file is refused, not truncated
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
        dur = float(d) if isinstance(d, int | float) and not isinstance(d, bool) else DEFAULT_DURATION_S
        out.append(MediaItem(str(mid), kind, url, min(MAX_DURATION_S, max(MIN_DURATION_S, dur))))
    return out


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
    total = sum(i.duration_s for i in items)
    t = now % total
    for n, i in enumerate(items):
        if t < i.duration_s:
            return n
        t -= i.duration_s
    return len(items) - 1


def _fetch(session: requests.Session, url: str, token: str, timeout: float) -> bytes:
    with session.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout, stream=True) as r:
        if not r.ok:
            raise MediaRefused(f"HTTP {r.status_code}")
        declared = r.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > MAX_BYTES:
            raise MediaRefused(f"{declared} bytes, more than {MAX_BYTES}")
        buf = bytearray()
        for chunk in r.iter_content(64 * 1024):
            buf += chunk
            if len(buf) > MAX_BYTES:
                raise MediaRefused(f"more than {MAX_BYTES} bytes")
        return bytes(buf)


class MediaLibrary:
    """The hub's media list and the images ready to show. One fetcher thread; `surface` for the drawer."""

    def __init__(self, server: str, token: str, *, refresh_s: float = REFRESH_S, timeout: float = 10.0) -> None:
        self.server = server.rstrip("/")
        self.token = token
        self.refresh_s = refresh_s
        self.timeout = timeout
        self._lock = threading.Lock()
        self._items: list[MediaItem] = []  # showable (images that decoded), in the hub's order
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
            ready = [i for i in self._items if i.id in self._images or i.id in self._surfaces]
            if not ready:
                return None
            item = ready[slot(ready, now)]
            surf = self._surfaces.get(item.id)
            if surf is None:
                img = self._images.pop(item.id)
                surf = pygame.image.frombytes(img.tobytes(), img.size, "RGB")
                if pygame.display.get_surface() is not None:
                    surf = surf.convert()  # the screen's format: every blit after this is a plain copy
                self._surfaces[item.id] = surf
            return surf

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
        if self._thread:
            self._thread.join(timeout)

    def _run(self) -> None:
        session = requests.Session()
        while not self._stop.is_set():
            try:
                self.refresh(session)
            except Exception:  # the board must keep drawing calls whatever the media do
                log.exception("media: refresh failed")
            self._wake.wait(self.refresh_s)
            self._wake.clear()

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
            if item.kind != "image":
                self._skip(item, "video is not played on this board (display/media.py says why)")
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
            self._items = keep
            size = self._size
            for gone in set(self._surfaces) - ids:
                del self._surfaces[gone]
            todo = [i for i in keep if i.id not in self._images and i.id not in self._surfaces]
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

    def _skip(self, item: MediaItem, reason: str) -> None:
        key = f"{item.id}:{item.url}"
        if key not in self._skipped:
            self._skipped.add(key)
            log.warning("media %s (%s, %s) is not shown: %s", item.id, item.kind, item.url, reason)
