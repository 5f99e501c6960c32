"""The kiosk's optional screen (issue #3), beside or above the buttons: `jiaohao kiosk --screen`.

Three modules, so that each can be tested alone:
- kiosk/screen_model.py, `build_model(controller)` -> `ScreenModel`: what to show. Pure data, no pygame.
- kiosk/screen_layout.py, `screen_layout(w, h, ...)`: where everything goes, pure arithmetic.
- here, `KioskScreen.draw(model, surface)`: pygame-ce draws it with the Noto Sans CJK TC face (display/fonts.py),
  through the board's `Painter`, which shrinks a text to fit its box and ellipsizes it below a minimum size;
  and `run_screen`, the loop that redraws on change.

High contrast: white and yellow on black, a fault banner in black on yellow. Nothing is said by colour
alone: a lit lamp is a filled circle with 請按 / Press, an unlit one a hollow circle with the reason in
words, a fault banner carries the word 故障 / Fault. pygame is imported only when something is drawn, so
importing this module stays cheap.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from display.layout import Box
from server.wire.text import Text

from .controller import Lamp, Message
from .screen_layout import (
    DEFAULT_SIZE,
    KeypadLayout,
    RowBoxes,
    ScreenLayout,
    box_at,
    keypad_layout,
    screen_layout,
    two_lines,
)
from .screen_model import NO_DATA, ButtonView, IssuedView, ScreenModel, build_model

if TYPE_CHECKING:
    import pygame

    from display.render import Drawn, Painter

    from .app import KioskApp

log = logging.getLogger("jiaohao.kiosk.screen")

Color = tuple[int, int, int]
BLACK: Color = (0, 0, 0)
WHITE: Color = (255, 255, 255)
YELLOW: Color = (255, 214, 0)
DIM: Color = (165, 165, 165)  # 8.9:1 on black: readable, and a grey row also says 暫停 in words
LINE: Color = (96, 96, 96)


@dataclass
class Frame:
    """What one draw put where: every text with its box (for tests and for a look by eye)."""

    layout: ScreenLayout | KeypadLayout
    drawn: list[Drawn]

    def key_at(self, x: float, y: float) -> str | None:
        """The keypad key under a touch at screen pixel (x, y), when the keypad is shown."""
        return self.layout.key_at(x, y) if isinstance(self.layout, KeypadLayout) else None

    def named(self, name: str) -> Drawn | None:
        return next((d for d in self.drawn if d.name == name), None)


class KioskScreen:
    """Draws a ScreenModel on any surface; `open()` gives it a window or the whole display."""

    def __init__(self, size: tuple[int, int] = DEFAULT_SIZE, painter: Painter | None = None) -> None:
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        from display import fonts
        from display.render import Painter

        self.size = size
        self.painter = painter or Painter(fonts.load())
        self.window: pygame.Surface | None = None

    # The one drawing function.
    def draw(self, model: ScreenModel, surface: pygame.Surface) -> Frame:
        import pygame

        w, h = surface.get_size()
        if model.keypad is not None:
            return self._keypad(model, surface)
        L = screen_layout(w, h, len(model.buttons), issued=model.issued is not None, level=model.banner.level)
        d: list[Drawn] = []
        surface.fill(BLACK)
        if L.header and L.office and L.office_en:
            office = model.office or Text("取號機", "Ticket kiosk")
            self._t(surface, office.zh, L.office, WHITE, "office", d)
            self._t(surface, office.en, L.office_en, WHITE, "office_en", d, face="regular")
            pygame.draw.line(surface, LINE, (0, L.header.h - 1), (w, L.header.h - 1), max(1, h // 240))
        if L.clock and L.clock_date:  # the hub's time, never this Pi's own; "--:--" while the hub has not said
            self._t(surface, model.time or "--:--", L.clock, YELLOW if model.time else DIM, "clock", d,
                    align="right", min_ratio=0.3)
            self._t(surface, model.date or "—", L.clock_date, WHITE if model.date else DIM, "clock_date", d,
                    face="regular", align="right", min_ratio=0.3)
        if model.issued and L.hero and L.hero_number:
            self._hero(surface, L, model.issued, d)
        for row, b in zip(L.rows, model.buttons, strict=False):
            self._row(surface, row, b, L.compact, d)
        self._banner(surface, L, model.banner, d)
        return Frame(L, d)

    def _keypad(self, model: ScreenModel, surface: pygame.Surface) -> Frame:
        """The booking keypad: what was typed, big keys with zh-TW and English, the banner below."""
        import pygame

        w, h = surface.get_size()
        K = keypad_layout(w, h, level=model.banner.level)
        d: list[Drawn] = []
        surface.fill(BLACK)
        self._t(surface, "預約報到：請輸入預約代碼", K.prompt, WHITE, "keypad_prompt", d)
        self._t(surface, "Appointment check-in: your booking code", K.prompt_en, WHITE, "keypad_prompt_en", d,
                face="regular")
        line = max(2, h // 160)
        pygame.draw.rect(surface, YELLOW, pygame.Rect(*K.entry), width=line, border_radius=line * 2)
        shown = model.keypad or ""
        self._t(surface, shown or "＿", K.entry.inset(line * 3), YELLOW if shown else DIM, "keypad_entry", d,
                align="center", min_ratio=0.3)
        for key, box in K.keys:
            label = KEY_LABELS.get(key)
            ok = key == "ok"
            bg = YELLOW if ok else BLACK
            fg = BLACK if ok else WHITE
            pygame.draw.rect(surface, bg, pygame.Rect(*box), border_radius=line * 3)
            pygame.draw.rect(surface, YELLOW if ok else WHITE, pygame.Rect(*box), width=line, border_radius=line * 3)
            inner = box.inset(max(3, box.h // 10))
            if label:
                zh, en = two_lines(inner, 0.55, 0.38)
                self._t(surface, label.zh, zh, fg, f"key_{key}", d, align="center", min_ratio=0.3)
                self._t(surface, label.en, en, fg, f"key_{key}_en", d, face="regular", align="center", min_ratio=0.3)
            else:
                # A dash's ink is a thin line: fitted by its ink it would be scaled up past the key.
                self._t(surface, key, inner, fg, f"key_{key}", d, align="center", ink=key != "-", min_ratio=0.3)
        self._banner(surface, K, model.banner, d)  # type: ignore[arg-type]
        return Frame(K, d)

    def _t(self, s: pygame.Surface, text: str, box: Box, color: Color, name: str, d: list[Drawn],
           **kw: Any) -> Box | None:
        return self.painter.text(s, text, box, color, name=name, drawn=d, **kw)

    def _hero(self, s: pygame.Surface, L: ScreenLayout, t: IssuedView, d: list[Drawn]) -> None:
        import pygame

        assert L.hero and L.hero_number
        pygame.draw.rect(s, YELLOW, pygame.Rect(*L.hero), width=max(3, L.height // 120))
        self._t(s, t.number, L.hero_number, YELLOW, "issued_number", d, align="center", ink=True, min_ratio=0.15)
        # Four pairs beside the number: (your number,) service, (lane,) people ahead, wait.
        pairs: list[tuple[str, Text, Color]] = [("service", t.service, WHITE)]
        if t.lane:
            pairs.append(("lane", t.lane, YELLOW))
        else:
            pairs.insert(0, ("label", Text("您的號碼", "Your number"), WHITE))
        if t.ahead == 0:
            pairs.append(("ahead", Text("下一位就是您", "You are next"), WHITE))
        elif t.ahead is not None:
            pairs.append(("ahead", Text(f"前面 {t.ahead} 人", f"{t.ahead} ahead of you"), WHITE))
        if t.wait and t.ahead:
            pairs.append(("wait", t.wait, WHITE))
        for i, (name, text, color) in enumerate(pairs[:4]):
            zh, en = L.hero_side[2 * i], L.hero_side[2 * i + 1]
            self._t(s, text.zh, zh, color, f"issued_{name}", d)
            self._t(s, text.en, en, color, f"issued_{name}_en", d, face="regular")

    def _row(self, s: pygame.Surface, r: RowBoxes, b: ButtonView, compact: bool, d: list[Drawn]) -> None:
        import pygame

        fg = WHITE if b.lit else DIM
        line = max(2, r.box.h // 30)
        pygame.draw.rect(s, WHITE if b.lit else LINE, pygame.Rect(*r.box), width=line, border_radius=line * 3)
        # The lamp: a filled circle when lit (yellow while printing), a hollow one when not.
        c = r.lamp
        centre, radius = (c.x + c.w // 2, c.y + c.h // 2), c.w // 2
        if b.lit:
            pygame.draw.circle(s, YELLOW if b.lamp == Lamp.BLINK else WHITE, centre, radius)
        else:
            pygame.draw.circle(s, DIM, centre, radius, width=max(2, radius // 8))
        self._t(s, str(b.key), c.inset(round(c.w * 0.25)), BLACK if b.lit else DIM, f"{b.id}_key", d,
                align="center", ink=True)
        name, name_en = b.name.zh, b.name.en
        if compact and b.lane:
            name, name_en = f"{b.lane.zh}・{name}", f"{b.lane.en} · {name_en}"
        name_box, name_en_box = r.name, r.name_en
        if r.lane and not b.lane:  # no lane mark: the name may use its room
            wider = r.lane.x + r.lane.w - r.name.x
            name_box, name_en_box = name_box._replace(w=wider), name_en_box._replace(w=wider)
        self._t(s, name, name_box, fg, f"{b.id}_name", d)
        self._t(s, name_en, name_en_box, fg, f"{b.id}_name_en", d, face="regular")
        if r.lane and b.lane:
            pygame.draw.rect(s, YELLOW if b.lit else DIM, pygame.Rect(*r.lane), width=line, border_radius=line * 3)
            inner = r.lane.inset(max(3, r.lane.h // 12))
            zh, en = two_lines(inner, 0.55, 0.38)
            self._t(s, b.lane.zh, zh, YELLOW if b.lit else DIM, f"{b.id}_lane", d, align="center", min_ratio=0.3)
            self._t(s, b.lane.en, en, YELLOW if b.lit else DIM, f"{b.id}_lane_en", d, face="regular",
                    align="center", min_ratio=0.3)
        waiting = f"{b.waiting} 人" if b.waiting is not None else "—"
        num = {"align": "right", "min_ratio": 0.3}  # numbers and words of state shrink, never cut
        self._t(s, waiting, r.waiting, fg, f"{b.id}_waiting", d, **num)
        self._t(s, "waiting" if b.waiting is not None else "", r.waiting_en, fg, f"{b.id}_waiting_en", d,
                face="regular", **num)
        wait = NO_DATA if b.state == "closed" and r.status else b.wait  # full rows say Closed once, as status
        self._t(s, wait.zh, r.wait, YELLOW if b.lit else fg, f"{b.id}_wait", d, **num)
        self._t(s, wait.en, r.wait_en, fg, f"{b.id}_wait_en", d, face="regular", **num)
        if r.status and r.status_en:
            self._t(s, b.status.zh, r.status, YELLOW if b.state == "ready" else fg, f"{b.id}_status", d, **num)
            self._t(s, b.status.en, r.status_en, fg, f"{b.id}_status_en", d, face="regular", **num)

    def _banner(self, s: pygame.Surface, L: ScreenLayout, m: Message, d: list[Drawn]) -> None:
        import pygame

        b = L.banner
        if m.level == "error":
            bg, fg = YELLOW, BLACK
            pygame.draw.rect(s, YELLOW, pygame.Rect(*b))
        else:
            bg, fg = BLACK, WHITE
            pygame.draw.rect(s, YELLOW if m.level == "warning" else WHITE, pygame.Rect(*b),
                             width=max(2, b.h // (12 if m.level == "warning" else 30)))
        if L.banner_tag:
            t = L.banner_tag
            pygame.draw.rect(s, fg, pygame.Rect(*t))  # the tag in reverse: black on yellow becomes yellow on black
            zh, en = ("故障", "Fault") if m.level == "error" else ("注意", "Notice")
            top, bottom = two_lines(t.inset(max(2, t.w // 12)), 0.55, 0.38)
            self._t(s, zh, top, bg, "banner_tag", d, align="center")
            self._t(s, en, bottom, bg, "banner_tag_en", d, face="regular", align="center")
        zh, en = two_lines(L.banner_text, 0.55, 0.40)
        self._wrapped(s, m.zh, zh, fg, "banner", d)
        self._wrapped(s, m.en, en, fg, "banner_en", d, face="regular")

    def _wrapped(self, s: pygame.Surface, text: str, box: Box, color: Color, name: str, d: list[Drawn],
                 face: str = "bold") -> None:
        """One line if it stays readable, else two (a fault message is never cut when two lines hold it)."""
        size, shown = self.painter.fit(text, box.w, box.h, face)
        natural, _ = self.painter.fit("國", 10_000, box.h, face)
        if shown == text and size >= natural * 0.7:
            self._t(s, text, box, color, name, d, face=face, align="center")
            return
        first, second = _halves(text)
        top, bottom = box_at(box.x, box.y, box.w, box.h / 2), box_at(box.x, box.y + box.h / 2, box.w, box.h / 2)
        self._t(s, first, top, color, name, d, face=face, align="center")
        self._t(s, second, bottom, color, f"{name}_2", d, face=face, align="center")

    # -- on a real screen --------------------------------------------------------------------------

    def open(self, fullscreen: bool) -> pygame.Surface:
        """A window (or the whole display); raises pygame.error when there is no display."""
        import pygame

        pygame.display.init()
        if fullscreen:
            self.window = pygame.display.set_mode((0, 0), pygame.FULLSCREEN)
            pygame.mouse.set_visible(False)
        else:
            self.window = pygame.display.set_mode(self.size)
            pygame.display.set_caption("jiaohao 取號機 kiosk")
        return self.window

    def save(self, model: ScreenModel, path: Path, surface: pygame.Surface | None = None) -> Frame:
        """Draws off-screen at this screen's size (or on `surface`) and writes a PNG, atomically."""
        import pygame

        surf = surface or pygame.Surface(self.size)
        frame = self.draw(model, surf)
        tmp = path.with_name(f".{path.name}.tmp.png")
        pygame.image.save(surf, str(tmp))
        os.replace(tmp, path)
        return frame


KEY_LABELS = {"back": Text("刪除", "Delete"), "clear": Text("清除", "Clear"), "cancel": Text("取消", "Cancel"),
              "ok": Text("確定", "OK")}


def touched(event: Any, frame: Frame | None, size: tuple[int, int]) -> str | None:
    """The keypad key a pygame FINGERDOWN (x, y from 0 to 1) or MOUSEBUTTONDOWN (pixels) event landed on."""
    import pygame

    if frame is None:
        return None
    if event.type == pygame.FINGERDOWN:
        return frame.key_at(event.x * size[0], event.y * size[1])
    # SDL also turns each touch into a mouse click (`touch` set): counted once, as the finger.
    if event.type == pygame.MOUSEBUTTONDOWN and getattr(event, "button", 1) == 1 and not getattr(event, "touch", False):
        return frame.key_at(*event.pos)
    return None


def on_touch(app: KioskApp, event: Any, frame: Frame | None, size: tuple[int, int]) -> str | None:
    """A touch on the keypad: typed into the entry, or (確定 OK) the code checked in on its own thread."""
    key = touched(event, frame, size)
    if key is None:
        return None
    code = app.controller.keypad_key(key)
    if code is not None:
        app.check_in(code)
    return key


def _halves(text: str) -> tuple[str, str]:
    """Split at the separator nearest the middle: a space (English) or a Chinese comma or colon."""
    mid = len(text) / 2
    cuts = [i for i, ch in enumerate(text) if ch in " ，：、。；"]
    if not cuts:
        i = len(text) // 2
        return text[:i], text[i:]
    i = min(cuts, key=lambda k: abs(k - mid))
    keep = text[i] if text[i] in "，：、。；" else ""
    return text[:i] + keep, text[i + 1:].lstrip()


def video_env(headless: bool, fullscreen: bool | None) -> bool:
    """Chooses the SDL video driver before pygame opens a display; returns whether to go full screen.

    Headless (tests, snapshots): the dummy driver. A Linux console without a desktop (a Pi kiosk):
    KMS/DRM, full screen. A desktop: a window.
    """
    if headless:
        os.environ["SDL_VIDEODRIVER"] = "dummy"
        return False
    console = (sys.platform.startswith("linux") and not os.environ.get("DISPLAY")
               and not os.environ.get("WAYLAND_DISPLAY"))
    if console and not os.environ.get("SDL_VIDEODRIVER"):
        os.environ["SDL_VIDEODRIVER"] = "kmsdrm"
    return fullscreen if fullscreen is not None else console


def run_screen(app: KioskApp, *, size: tuple[int, int] = DEFAULT_SIZE, window: bool = True,
               fullscreen: bool | None = None, snapshot: Path | None = None, err: TextIO = sys.stderr,
               fps: int = 10) -> int:
    """The kiosk with its screen: polling on a thread, drawing in this (the main) thread, until app.stop().

    Without a display the kiosk goes on without its screen (buttons, lamps and stdout still work): a
    screen that cannot start must not stop people from getting numbers. `snapshot` also keeps the
    screen as a PNG, written whenever it changes.
    """
    full = video_env(headless=not window, fullscreen=fullscreen)
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    import pygame

    screen = KioskScreen(size)
    surface: pygame.Surface | None = None
    if window:
        try:
            surface = screen.open(full)
        except pygame.error as e:
            print(f"jiaohao kiosk: warning: cannot open the screen ({os.environ.get('SDL_VIDEODRIVER', 'default')}"
                  f" video driver): {e}; going on without it", file=err, flush=True)
            if snapshot is None:
                return app.run()
    off = pygame.Surface(size) if surface is None else None
    # Touches come only through a real screen; off-screen, the 預約報到 button prints as before.
    app.controller.keypad_available = surface is not None
    frame: Frame | None = None
    poll = threading.Thread(target=app.run, name="poll", daemon=True)
    poll.start()
    last: ScreenModel | None = None
    tick = pygame.time.Clock()
    try:
        while not app.stop_event.is_set():
            if surface is not None:
                for e in pygame.event.get():
                    if e.type == pygame.QUIT:
                        app.stop()
                    else:
                        on_touch(app, e, frame, surface.get_size())
            model = build_model(app.controller)
            if model != last:
                if surface is not None:
                    frame = screen.draw(model, surface)
                    pygame.display.flip()
                if snapshot is not None:
                    screen.save(model, snapshot, surface=off if surface is None else None)
                last = model
            tick.tick(fps)
    finally:
        app.stop()
        poll.join(timeout=15)
        if surface is not None:
            pygame.display.quit()
    return 0
