"""A simulated LED sign: a 5x7 dot-matrix font, the dot grid of a text, and that grid drawn as amber
dots on black to a PNG (Pillow, imported only when a picture is drawn).

The grid is the pure part: `dot_grid(text, chars)` is what a real sign with this font would light,
so tests compare a PNG with it dot by dot, and `read_grid` turns a grid back into text.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from .sign_bus import SignError

log = logging.getLogger("jiaohao.signs")

GLYPH_W, GLYPH_H = 5, 7
GAP = 1  # dark columns between characters
BORDER = 1  # dark dots around the text, as on a real sign's frame
PITCH = 12  # pixels from one dot's centre to the next
RADIUS = 4.5
LIT = (255, 176, 0)  # amber LEDs
UNLIT = (48, 30, 0)  # an unlit LED behind a tinted window is still faintly visible
BACKGROUND = (0, 0, 0)

# The classic 5x7 shapes (as in an HD44780 character ROM): A-Z, 0-9, space and dash, which is every
# character a ticket number or "----" can have. Zero is slashed so that it never reads as O.
FONT: dict[str, tuple[str, ...]] = {
    "0": (".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."),
    "1": ("..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."),
    "2": (".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"),
    "3": ("#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."),
    "4": ("...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."),
    "5": ("#####", "#....", "####.", "....#", "....#", "#...#", ".###."),
    "6": ("..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."),
    "7": ("#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."),
    "8": (".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."),
    "9": (".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."),
    "A": (".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"),
    "B": ("####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."),
    "C": (".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."),
    "D": ("###..", "#..#.", "#...#", "#...#", "#...#", "#..#.", "###.."),
    "E": ("#####", "#....", "#....", "####.", "#....", "#....", "#####"),
    "F": ("#####", "#....", "#....", "####.", "#....", "#....", "#...."),
    "G": (".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####"),
    "H": ("#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"),
    "I": (".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."),
    "J": ("..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."),
    "K": ("#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"),
    "L": ("#....", "#....", "#....", "#....", "#....", "#....", "#####"),
    "M": ("#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"),
    "N": ("#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#"),
    "O": (".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."),
    "P": ("####.", "#...#", "#...#", "####.", "#....", "#....", "#...."),
    "Q": (".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#"),
    "R": ("####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"),
    "S": (".####", "#....", "#....", ".###.", "....#", "....#", "####."),
    "T": ("#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."),
    "U": ("#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."),
    "V": ("#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.."),
    "W": ("#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#."),
    "X": ("#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"),
    "Y": ("#...#", "#...#", "#...#", ".#.#.", "..#..", "..#..", "..#.."),
    "Z": ("#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"),
    " ": (".....",) * 7,
    "-": (".....", ".....", ".....", "#####", ".....", ".....", "....."),
}
# A character the font lacks is drawn as a hollow box: visibly wrong rather than silently a space.
MISSING = ("#####", "#...#", "#...#", "#...#", "#...#", "#...#", "#####")

Grid = tuple[tuple[bool, ...], ...]  # rows of dots, True = lit


def grid_size(chars: int) -> tuple[int, int]:
    """(columns, rows) of dots on a sign `chars` characters wide."""
    return 2 * BORDER + chars * (GLYPH_W + GAP) - GAP, 2 * BORDER + GLYPH_H


def _cells(text: str, chars: int) -> str:
    # Centred in whole character cells (not dots), so every character sits in a fixed cell and the
    # grid can be read back cell by cell; a longer text widens the sign (a real one would scroll).
    width = max(chars, len(text))
    left = (width - len(text)) // 2
    return (" " * left + text).ljust(width)


def dot_grid(text: str, chars: int = 4) -> Grid:
    cells = _cells(text, chars)
    cols, rows = grid_size(len(cells))
    grid = [[False] * cols for _ in range(rows)]
    for i, ch in enumerate(cells):
        glyph = FONT.get(ch, MISSING)
        x0 = BORDER + i * (GLYPH_W + GAP)
        for y, line in enumerate(glyph):
            for x, dot in enumerate(line):
                grid[BORDER + y][x0 + x] = dot == "#"
    return tuple(tuple(r) for r in grid)


def read_grid(grid: Grid) -> str:
    """The text a grid spells, cell by cell, without the centring spaces; '?' for a cell no glyph matches."""
    shapes = {glyph: ch for ch, glyph in FONT.items()}
    cols = len(grid[0]) if grid else 0
    chars = (cols - 2 * BORDER + GAP) // (GLYPH_W + GAP)
    out = []
    for i in range(chars):
        x0 = BORDER + i * (GLYPH_W + GAP)
        glyph = tuple("".join("#" if grid[BORDER + y][x0 + x] else "." for x in range(GLYPH_W))
                      for y in range(GLYPH_H))
        out.append(shapes.get(glyph, "?"))
    return "".join(out).strip(" ")


def dot_centre(col: int, row: int) -> tuple[int, int]:
    """The pixel at the centre of a dot in the PNG (for reading a picture back)."""
    return col * PITCH + PITCH // 2, row * PITCH + PITCH // 2


def render(grid: Grid) -> Any:
    """The grid as a PIL image: one round LED per dot."""
    from PIL import Image, ImageDraw

    rows, cols = len(grid), len(grid[0])
    img = Image.new("RGB", (cols * PITCH, rows * PITCH), BACKGROUND)
    draw = ImageDraw.Draw(img)
    for y, row in enumerate(grid):
        for x, lit in enumerate(row):
            cx, cy = dot_centre(x, y)
            draw.ellipse((cx - RADIUS, cy - RADIUS, cx + RADIUS, cy + RADIUS), fill=LIT if lit else UNLIT)
    return img


def grid_of_image(img: Any) -> Grid:
    """A rendered picture back into dots: lit where the dot's centre is bright (for tests and tools)."""
    rgb = img.convert("RGB")
    cols, rows = rgb.width // PITCH, rgb.height // PITCH
    return tuple(tuple(rgb.getpixel(dot_centre(x, y))[0] > 128 for x in range(cols)) for y in range(rows))


class SimulatedSign:
    """A sign that is a PNG file: redrawn on every `show`, replaced atomically so that a viewer or a test
    never reads half a picture. A blink is not animated; `blinks` counts them for whoever is curious."""

    def __init__(self, path: Path, chars: int = 4) -> None:
        self.path, self.chars = Path(path), chars
        self.text: str | None = None
        self.blinks = 0

    def show(self, text: str, blink: bool = False) -> None:
        img = render(dot_grid(text, self.chars))
        try:
            fd, tmp = tempfile.mkstemp(prefix=".sign-", suffix=".png", dir=self.path.parent)
            try:
                with os.fdopen(fd, "wb") as f:
                    img.save(f, "PNG")
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as e:
            raise SignError(f"cannot write {self.path}: {e}") from None
        self.text = text
        self.blinks += blink
        log.debug("%s: %r%s", self.path.name, text, " (blink)" if blink else "")

    def close(self) -> None:
        pass
