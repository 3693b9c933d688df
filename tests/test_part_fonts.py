"""part_fonts: the one program the merge makes from the stubs of a shipped font."""

from __future__ import annotations

import io
import json

import pytest
from fontTools.ttLib import TTFont

from compiler.writers import part_fonts

GLYPHS = [(3, 40, 41), (41, 900, 2001)]  # two parts' glyph ids (one in common)


def _stubs(sha: str) -> list[bytes]:
    return [part_fonts.STUB + json.dumps({"sha256": sha, "index": 0, "hinting": False, "glyphs": list(g)}).encode()
            for g in GLYPHS]


@pytest.fixture(scope="module")
def mincho() -> str:
    from compiler.theme import FONTS_DIR

    return next(sha for sha, path in part_fonts.shipped().items() if path == FONTS_DIR / "BIZUDMincho-Regular.ttf")


def _outlined(program: bytes) -> set[int]:
    font = TTFont(io.BytesIO(program))
    glyf, order = font["glyf"], font.getGlyphOrder()
    return {gid for gid, name in enumerate(order) if glyf[name].numberOfContours != 0}


@pytest.mark.parametrize("subsetter", ["harfbuzz", "fonttools"])
def test_the_program_has_every_glyph_of_every_stub_at_its_own_id(mincho, subsetter, monkeypatch):
    if subsetter == "fonttools":
        def unavailable():
            raise OSError("no HarfBuzz")
        monkeypatch.setattr(part_fonts, "_harfbuzz", unavailable)
    program = part_fonts.program(_stubs(mincho))
    wanted = {gid for g in GLYPHS for gid in g}
    font = TTFont(io.BytesIO(program))
    assert font["maxp"].numGlyphs == max(wanted) + 1  # ids kept; none past the last one used
    assert wanted <= _outlined(program)
    assert _outlined(program) - wanted <= {0}  # nothing else but .notdef
    assert len(program) < 100_000  # a subset, not the 6 MB file


def test_stubs_of_different_fonts_are_refused(mincho):
    other = next(sha for sha in part_fonts.shipped() if sha != mincho)
    with pytest.raises(ValueError):
        part_fonts.program(_stubs(mincho)[:1] + _stubs(other)[:1])
