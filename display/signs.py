"""LED counter signs (issue #4): `SignDriver` pushes what each sign shows (display/sign_mapping.py) to the
signs (display/sign_bus.py, display/dotmatrix.py), sending only what changed, plus a periodic refresh.

The parts, one module each: the frame (display/sign_frame.py: `encode_frame`, `decode_frame`,
`FrameReader`, `crc8`), the bus and the `Sign` interface (display/sign_bus.py), the pure mapping from the
board state (display/sign_mapping.py), and this driver. No pygame, no Flask.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from .sign_bus import Sign, SignError
from .sign_frame import FrameError
from .sign_mapping import SignView

log = logging.getLogger("jiaohao.signs")


class SignDriver:
    """Pushes views to signs: on a change, on a blink, and every `refresh_s` to every sign (a sign that
    was switched off, or missed a frame to noise, catches up; its firmware blanks itself to "----" when
    it hears nothing for a while, which covers a driver that died). A failed sign is tried again on the
    next update; one log line per sign when it starts failing and when it recovers."""

    def __init__(self, signs: Sequence[tuple[str, Sign]], refresh_s: float = 20.0,
                 text: Sequence[bool] | None = None) -> None:
        self.signs = list(signs)
        self.refresh_s = refresh_s
        self.text = list(text) if text is not None else [False] * len(self.signs)  # per sign: shows announcements
        self._last: list[str | None] = [None] * len(self.signs)
        self._failing = [False] * len(self.signs)
        self._refreshed: float | None = None

    @property
    def counter_ids(self) -> list[str]:
        return list(dict.fromkeys(cid for cid, _ in self.signs))

    def update(self, views: Mapping[str, SignView], now: float,
               text_views: Mapping[str, SignView] | None = None) -> None:
        """`now`: a monotonic clock, for the refresh. `text_views`: what the text signs show
        (sign_mapping.with_announcements); without it they show `views` like the others."""
        refresh = self._refreshed is None or now - self._refreshed >= self.refresh_s
        if refresh:
            self._refreshed = now
        for i, (cid, sign) in enumerate(self.signs):
            view = (text_views if text_views is not None and self.text[i] else views).get(cid, SignView(""))
            if not (refresh or view.blink or view.text != self._last[i]):
                continue
            try:
                sign.show(view.text, view.blink)
            except (SignError, FrameError, OSError) as e:
                if not self._failing[i]:
                    log.warning("sign of counter %s: %s", cid, e)
                self._failing[i] = True
                self._last[i] = None  # unknown now: sent again on the next update
                continue
            if self._failing[i]:
                log.info("sign of counter %s works again", cid)
                self._failing[i] = False
            self._last[i] = view.text

    def show_all(self, text: str) -> None:
        """Every sign the same text, steadily, now (at exit: "----", so no number is left standing)."""
        for i, (cid, sign) in enumerate(self.signs):
            try:
                sign.show(text, False)
                self._last[i] = text
            except (SignError, FrameError, OSError) as e:
                log.warning("sign of counter %s: %s", cid, e)

    def close(self) -> None:
        for _, sign in self.signs:
            try:
                sign.close()
            except (SignError, OSError) as e:
                log.debug("closing a sign: %s", e)
