"""The simulated dot-matrix sign: the 5x7 font, the dot grid of a text, and the PNG read back dot by dot."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from display.dotmatrix import (
    FONT,
    GLYPH_H,
    GLYPH_W,
    LIT,
    PITCH,
    SimulatedSign,
    dot_centre,
    dot_grid,
    grid_of_image,
    grid_size,
    read_grid,
    render,
)
from display.sign_bus import SignError
from display.sign_mapping import OFFLINE_TEXT, SIGN_CHARS


def test_the_font_has_every_sign_character_once_and_no_two_alike() -> None:
    assert set(FONT) == SIGN_CHARS
    for ch, glyph in FONT.items():
        assert len(glyph) == GLYPH_H and all(len(row) == GLYPH_W and set(row) <= {"#", "."} for row in glyph), ch
    assert len({g for g in FONT.values()}) == len(FONT)  # 0 and O, 8 and B, 5 and S all differ


@pytest.mark.parametrize("text", ["A023", "B999", "P001", "C100", OFFLINE_TEXT, "", "7", "ABC1234"])
def test_a_grid_reads_back_as_its_text(text: str) -> None:
    assert read_grid(dot_grid(text)) == text


def test_a_short_text_is_centred_and_a_long_one_widens_the_sign() -> None:
    assert grid_size(4) == (25, 9)
    assert len(dot_grid("7")[0]) == 25 and len(dot_grid("ABC1234")[0]) == grid_size(7)[0]
    lit_cols = [x for x in range(25) if any(row[x] for row in dot_grid("7"))]
    assert lit_cols and min(lit_cols) >= 6 and max(lit_cols) <= 18  # in the middle cells, not at an edge
    assert not any(any(row) for row in dot_grid(""))


def test_the_png_is_amber_dots_on_black_and_its_lit_dots_spell_the_number(tmp_path: Path) -> None:
    sign = SimulatedSign(tmp_path / "counter-3.png")
    sign.show("A023", blink=True)
    img = Image.open(tmp_path / "counter-3.png")
    assert img.format == "PNG" and img.size == (25 * PITCH, 9 * PITCH)
    grid = grid_of_image(img)
    assert grid == dot_grid("A023")
    assert read_grid(grid) == "A023"
    rgb = img.convert("RGB")
    assert rgb.getpixel((0, 0)) == (0, 0, 0)  # between the dots: black
    lit = next((x, y) for y, row in enumerate(grid) for x, on in enumerate(row) if on)
    assert rgb.getpixel(dot_centre(*lit)) == LIT
    assert sign.text == "A023" and sign.blinks == 1


def test_a_redrawn_sign_shows_the_new_text_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    sign = SimulatedSign(tmp_path / "counter-4.png")
    sign.show("A001")
    sign.show("")
    sign.show(OFFLINE_TEXT)
    assert read_grid(grid_of_image(Image.open(tmp_path / "counter-4.png"))) == OFFLINE_TEXT
    assert [p.name for p in tmp_path.iterdir()] == ["counter-4.png"]


def test_a_character_the_font_lacks_is_a_box_not_a_blank() -> None:
    grid = dot_grid("A?")
    assert read_grid(grid) == "A?"  # '?' here is read_grid's "no glyph matches"
    assert grid_of_image(render(grid)) == grid


def test_an_unwritable_picture_is_a_sign_error(tmp_path: Path) -> None:
    with pytest.raises(SignError, match="cannot write"):
        SimulatedSign(tmp_path / "no-such-dir" / "counter-3.png").show("A001")
