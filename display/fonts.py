"""Find Noto Sans CJK and open its Traditional Chinese (TC) face.

The .ttc holds several faces; face 0 is Japanese and draws 請號櫃台戶 with Japanese glyph shapes.
pygame.freetype can pick a face (font_index); pygame.font cannot, so the board uses freetype only.
The TC face is index 3 in Debian's fonts-noto-cjk, but other packagings order faces differently, so
the face is chosen by its name, not trusted by number.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SEARCH = (
    "/usr/share/fonts/opentype/noto",  # Debian, Raspberry Pi OS
    "/usr/share/fonts/noto-cjk",  # Arch
    "/usr/share/fonts/google-noto-cjk",  # Fedora
    "/usr/share/fonts/truetype/noto",
    "/usr/local/share/fonts",
    str(Path.home() / ".local/share/fonts"),
)
FILES = {"bold": ("NotoSansCJK-Bold.ttc", "NotoSansCJKtc-Bold.otf"),
         "regular": ("NotoSansCJK-Regular.ttc", "NotoSansCJKtc-Regular.otf")}
TC_INDEX = 3  # Debian's order: JP, KR, SC, TC, HK


class FontMissing(Exception):
    """No usable Noto Sans CJK TC font: the board cannot draw Traditional Chinese."""


@dataclass(frozen=True)
class FontSpec:
    path: str
    index: int


def _env_spec() -> FontSpec | None:
    # JIAOHAO_FONT=/path/font.ttc[:index] for offices with their own font.
    value = os.environ.get("JIAOHAO_FONT")
    if not value:
        return None
    path, _, index = value.rpartition(":") if value.rsplit(":", 1)[-1].isdigit() else (value, "", "")
    if not Path(path).is_file():
        raise FontMissing(f"JIAOHAO_FONT={value}: no such file")
    return FontSpec(path, int(index) if index else 0)


def find(weight: str = "bold") -> FontSpec:
    spec = _env_spec()
    if spec:
        return spec
    for d in SEARCH:
        for name in FILES[weight]:
            p = Path(d) / name
            if p.is_file():
                return FontSpec(str(p), TC_INDEX if p.suffix == ".ttc" else 0)
    if weight != "bold":
        return find("bold")
    raise FontMissing("Noto Sans CJK is not installed (the board needs its Traditional Chinese face): "
                      "sudo apt install fonts-noto-cjk, or set JIAOHAO_FONT=/path/to/font.ttc:INDEX")


def open_font(spec: FontSpec) -> Any:
    """A pygame.freetype.Font on the TC face (searched by name if the usual index is not TC)."""
    import pygame.freetype

    if not pygame.freetype.get_init():
        pygame.freetype.init()
    font = pygame.freetype.Font(spec.path, 48, font_index=spec.index)
    if spec.path.endswith(".ttc") and " TC" not in font.name and not os.environ.get("JIAOHAO_FONT"):
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
    return Fonts(bold=open_font(find("bold")), regular=open_font(find("regular")))
