"""The digits recipe draws its source domain only with fonts whose digits look like digits."""

from __future__ import annotations

from pathlib import Path

import pytest

from transferkit.adaptation import recipes

pytest.importorskip("fontTools")
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen

BOX = [(50, 0, 550, 700), (100, 50, 500, 650)]  # the empty box a font without digit glyphs draws
SYMBOLS = [  # ten distinct shapes that are not digits, as a symbol font maps onto 0-9
    [(50, 300, 550, 400)],
    [(50, 0, 550, 100), (50, 600, 550, 700)],
    [(250, 0, 350, 700), (50, 300, 550, 400)],
    [(50, 0, 150, 700), (450, 0, 550, 700)],
    [(50, 0, 550, 100), (250, 0, 350, 700)],
    [(50, 0, 150, 700), (50, 0, 550, 100), (450, 0, 550, 700), (50, 600, 550, 700), (250, 250, 350, 450)],
    [(50, 0, 550, 700)],
    [(50, 0, 300, 350), (300, 350, 550, 700)],
    [(50, 0, 150, 700), (50, 300, 550, 400), (450, 0, 550, 700)],
    [(50, 600, 550, 700), (50, 0, 150, 700), (450, 0, 550, 700)],
]


def _glyph(rects):
    pen = TTGlyphPen(None)
    for x0, y0, x1, y1 in rects:
        pen.moveTo((x0, y0))
        pen.lineTo((x0, y1))
        pen.lineTo((x1, y1))
        pen.lineTo((x1, y0))
        pen.closePath()
    return pen.glyph()


def _font(path: Path, digit_glyphs) -> Path:
    """A real TrueType file whose characters 0-9 draw the given shapes."""
    names = [".notdef"] + [f"g{d}" for d in range(10)]
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder(names)
    builder.setupCharacterMap({ord(str(d)): f"g{d}" for d in range(10)})
    builder.setupGlyf({".notdef": _glyph(BOX)} | {f"g{d}": _glyph(digit_glyphs[d]) for d in range(10)})
    builder.setupHorizontalMetrics(dict.fromkeys(names, (600, 0)))
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    builder.setupNameTable({"familyName": "Test", "styleName": "Regular"})
    builder.setupOS2()
    builder.setupPost()
    builder.save(str(path))
    return path


def test_fonts_that_draw_boxes_or_symbols_for_digits_are_left_out(tmp_path, monkeypatch) -> None:
    boxes = _font(tmp_path / "Fallback.ttf", [BOX] * 10)
    symbols = _font(tmp_path / "Ornaments.ttf", SYMBOLS)
    (tmp_path / "broken.ttf").write_bytes(b"not a font")
    assert not recipes.draws_digits(boxes)
    assert not recipes.draws_digits(symbols)
    assert not recipes.draws_digits(tmp_path / "broken.ttf")
    monkeypatch.setattr(recipes, "FONT_ROOTS", (tmp_path,))
    assert recipes.system_fonts() == []  # so the recipe falls back to Pillow's own font, not to mislabelled images


DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


@pytest.mark.skipif(not DEJAVU.exists(), reason="DejaVu Sans is not installed")
def test_an_ordinary_font_is_kept(tmp_path, monkeypatch) -> None:
    assert recipes.draws_digits(DEJAVU)
    monkeypatch.setattr(recipes, "FONT_ROOTS", (DEJAVU.parent,))
    assert DEJAVU in recipes.system_fonts()
