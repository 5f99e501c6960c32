"""The board's fonts: the Noto Sans CJK TC face that server/wire/fonts.py finds, opened with pygame.freetype.

pygame.freetype can pick a face (font_index); pygame.font cannot, so the board uses freetype only.
Other packagings order a .ttc's faces differently from Debian, so the face is checked by its name,
not trusted by number.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from server.wire.fonts import FONT_ENV, FontSpec, find


def open_font(spec: FontSpec) -> Any:
    """A pygame.freetype.Font on the TC face (searched by name if the usual index is not TC)."""
    import pygame.freetype

    if not pygame.freetype.get_init():
        pygame.freetype.init()
    font = pygame.freetype.Font(spec.path, 48, font_index=spec.index)
    if spec.path.endswith(".ttc") and " TC" not in font.name and not os.environ.get(FONT_ENV):
        for i in range(12):
            try:
                f = pygame.freetype.Font(spec.path, 48, font_index=i)
            except (OSError, pygame.error):
                break
            if " TC" in f.name:
                return f
    return font


@dataclass
class Fonts:
    bold: Any
    regular: Any


def load() -> Fonts:
    """Both weights; FontMissing (a FixableError: one line, exit 1) when Noto Sans CJK is not installed."""
    return Fonts(bold=open_font(find("bold")), regular=open_font(find("regular")))
