"""Images and videos for the boards: checked by their first bytes and size, kept as files beside the database."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from .. import media
from ..engine.errors import Invalid, NotFound, TooLarge, WrongState
from ..engine.model import Event
from .core import HubCore

log = logging.getLogger("jiaohao.hub")

class MediaFiles(HubCore):
    """This area of the façade (see the module's docstring); its state is loaded with the hub's."""

    def add_media(self, name: str, data: bytes, actor: str) -> dict[str, Any]:
        """An image or video for the boards: checked by its first bytes and its size, then kept as a file."""
        fmt = media.sniff(data[:16])
        if fmt is None:
            raise Invalid("This file is not a PNG, JPEG, GIF or WebP image, nor an MP4 or WebM video. "
                          "僅接受 PNG、JPEG、GIF、WebP 圖片或 MP4、WebM 影片。", code="unsupported_media")
        limit = media.MAX_BYTES[fmt.kind]
        if len(data) > limit:
            raise TooLarge(f"A{'n' if fmt.kind == 'image' else ''} {fmt.kind} may be at most {limit // media.MIB} MiB. "
                           "檔案過大。", code="media_too_large")
        directory = media.media_dir(self.store.path)
        if directory is None:
            raise WrongState("This hub keeps no files (its database is in memory). 此主機無法儲存檔案。",
                             code="media_unavailable")
        mid = f"m-{secrets.token_hex(6)}"
        media.write(directory, mid + fmt.ext, data)  # outside the lock: a big file's fsync never stalls the queue
        with self.lock:
            now = self.clock()
            row = {"id": mid, "kind": fmt.kind, "mime": fmt.mime, "file": mid + fmt.ext, "size": len(data),
                   "name": (name or mid)[:200], "uploaded_at": now.isoformat(), "uploaded_by": actor, "deleted": 0}
            self.store.put_media(row, Event(kind="media_added", at=now, business_date=self.engine.state.business_date,
                                            actor=actor, outcome=mid, detail={"kind": fmt.kind, "size": len(data)}))
        return _media_json(row)

    def media(self) -> list[dict[str, Any]]:
        with self.lock:
            return [_media_json(r) for r in self.store.media()]

    def media_file(self, mid: str) -> tuple[Any, str]:
        """The stored file's path and type, for serving it back."""
        with self.lock:
            row = next((r for r in self.store.media() if r["id"] == mid), None)
        directory = media.media_dir(self.store.path)
        if row is None or directory is None or not (directory / row["file"]).is_file():
            raise NotFound(f"No media '{mid}'. 沒有這個檔案。", code="unknown_media")
        return directory / row["file"], row["mime"]

    def delete_media(self, mid: str, actor: str) -> None:
        with self.lock:
            now = self.clock()
            event = Event(kind="media_deleted", at=now, business_date=self.engine.state.business_date, actor=actor,
                          outcome=mid)
            rows = [r for r in self.store.media() if r["id"] == mid]
            if not rows or not self.store.delete_media(mid, event):
                raise NotFound(f"No media '{mid}'. 沒有這個檔案。", code="unknown_media")
        directory = media.media_dir(self.store.path)
        if directory is not None:
            (directory / rows[0]["file"]).unlink(missing_ok=True)


def _media_json(r: dict[str, Any]) -> dict[str, Any]:
    return {"id": r["id"], "kind": r["kind"], "type": r["mime"], "size": r["size"], "name": r["name"],
            "uploaded_at": r["uploaded_at"], "url": f"/api/v1/media/{r['id']}"}
