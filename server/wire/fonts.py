"""Where Noto Sans CJK is, and which face of it draws Traditional Chinese (TC).

The .ttc holds several faces; face 0 is Japanese and draws 請號櫃台戶 with Japanese glyph shapes.
The TC face is index 3 in Debian's fonts-noto-cjk (JP, KR, SC, TC, HK). The board (pygame) and the
ticket (Pillow) open the face this module finds; this module opens nothing itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import FontMissing

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
FONT_ENV = "JIAOHAO_FONT"  # /path/font.ttc[:index]: an office's own font, for every weight
DIR_ENV = "JIAOHAO_CJK_FONT_DIR"  # a folder searched before the usual ones


@dataclass(frozen=True)
class FontSpec:
    path: str
    index: int  # the face within a .ttc; 0 for a single-face file


def _env_spec() -> FontSpec | None:
    value = os.environ.get(FONT_ENV)
    if not value:
        return None
    path, _, index = value.rpartition(":") if value.rsplit(":", 1)[-1].isdigit() else (value, "", "")
    if not Path(path).is_file():
        raise FontMissing(f"{FONT_ENV}={value}: no such file")
    return FontSpec(path, int(index) if index else 0)


def find(weight: str = "bold") -> FontSpec:
    """The font file and face for `weight` ("bold" or "regular"; regular falls back to bold)."""
    spec = _env_spec()
    if spec:
        return spec
    extra = os.environ.get(DIR_ENV)
    for d in ([extra] if extra else []) + list(SEARCH):
        for name in FILES[weight]:
            p = Path(d) / name
            if p.is_file():
                return FontSpec(str(p), TC_INDEX if p.suffix == ".ttc" else 0)
    if weight != "bold":
        return find("bold")
    raise FontMissing("Noto Sans CJK is not installed (jiaohao draws Traditional Chinese with its TC face): "
                      f"sudo apt install fonts-noto-cjk, or set {FONT_ENV}=/path/to/font.ttc:INDEX")
