"""Images and short videos for the TV boards (多媒體輪播): checked by their first bytes, kept as files.

A file is taken only when its first bytes say it is one of the formats below (the name and the
Content-Type the browser sent are not trusted), up to a size per kind. It is stored under the
database's directory (`media/` beside `--db`), named by its id and the format's extension, never
with an execute bit, and served back with its own type and `X-Content-Type-Options: nosniff`, so
that nothing uploaded is ever run or read as a page.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

MIB = 1024 * 1024
# What a Pi's SD card and a board's decoder can take: a poster, and a short clip (a minute or two).
MAX_BYTES = {"image": 8 * MIB, "video": 64 * MIB}
MAX_UPLOAD = max(MAX_BYTES.values()) + MIB  # the request: the file and its form fields


@dataclass(frozen=True)
class Format:
    kind: str  # image | video
    mime: str
    ext: str


def sniff(head: bytes) -> Format | None:
    """The format that a file's first bytes say it is, or None for anything else (SVG and HTML included)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Format("image", "image/png", ".png")
    if head.startswith(b"\xff\xd8\xff"):
        return Format("image", "image/jpeg", ".jpg")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return Format("image", "image/gif", ".gif")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Format("image", "image/webp", ".webp")
    if head[4:8] == b"ftyp" and head[8:12] not in (b"qt  ",):
        return Format("video", "video/mp4", ".mp4")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return Format("video", "video/webm", ".webm")
    return None


def media_dir(db_path: str) -> Path | None:
    """`media/` beside the database; None for an in-memory database (nothing to keep files beside)."""
    if db_path == ":memory:":
        return None
    return Path(os.path.realpath(db_path)).parent / "media"


def write(directory: Path, name: str, data: bytes) -> Path:
    """Write atomically (a board never reads half a file), readable, not executable."""
    directory.mkdir(mode=0o755, parents=True, exist_ok=True)
    path = directory / name
    tmp = directory / f".{name}.part"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
