"""part_fonts: the one program the merge makes from the stubs of a shipped font."""

from __future__ import annotations

import io
import json

import pytest
from fontTools.ttLib import TTFont

from compiler.writers import part_fonts

GLYPHS = [(3, 40, 41), (41, 900, 2001)]  # two parts' glyph ids (one in common)


def _stubs(file: str) -> list[bytes]:
    return [part_fonts.STUB + json.dumps({"file": file, "index": 0, "hinting": False, "glyphs": list(g)}).encode()
            for g in GLYPHS]


@pytest.fixture(scope="module")
def mincho() -> str:
    assert "BIZUDMincho-Regular.ttf" in part_fonts.shipped()
    return "BIZUDMincho-Regular.ttf"


def _outlined(program: bytes) -> set[int]:
    font = TTFont(io.BytesIO(program))
    glyf, order = font["glyf"], font.getGlyphOrder()
    return {gid for gid, name in enumerate(order) if glyf[name].numberOfContours != 0}


@pytest.mark.parametrize("subsetter", ["harfbuzz", "fonttools"])
def test_the_program_has_every_glyph_of_every_stub_at_its_own_id(mincho, subsetter, monkeypatch):
    if subsetter == "fonttools":
        def unavailable():
            raise OSError("no HarfBuzz")
        monkeypatch.setattr(part_fonts, "subsetter", unavailable)
    part_fonts._subset.cache_clear()  # subset again, by the subsetter under test
    program = part_fonts.program(_stubs(mincho))
    part_fonts._subset.cache_clear()
    wanted = {gid for g in GLYPHS for gid in g}
    font = TTFont(io.BytesIO(program))
    assert font["maxp"].numGlyphs == max(wanted) + 1  # ids kept; none past the last one used
    assert wanted <= _outlined(program)
    assert _outlined(program) - wanted <= {0}  # nothing else but .notdef
    assert len(program) < 100_000  # a subset, not the 6 MB file


def test_stubs_of_different_fonts_are_refused(mincho):
    other = next(name for name in part_fonts.shipped() if name != mincho)
    with pytest.raises(ValueError):
        part_fonts.program(_stubs(mincho)[:1] + _stubs(other)[:1])


def test_no_shipped_face_is_copied_out_of_harfbuzz_and_the_stubs_name_the_files(monkeypatch):
    """Two parts written one after the other in one process, as a worker does: neither copies a shipped
    face's data out of HarfBuzz (each part sees the face's own data), and both name the same shipped files."""
    from weasyprint.pdf import fonts

    from compiler.diagnostics import Diagnostics
    from compiler.paging import parts
    from compiler.pipeline import compile_sources
    from compiler.theme import load_theme
    from compiler.writers import pdf, pdf_parts
    from tests.helpers import MINI

    compiled = compile_sources(MINI, Diagnostics())
    part = parts.body_parts(compiled.document)[0]
    copies = []
    original = fonts.get_hb_object_data
    monkeypatch.setattr(fonts, "get_hb_object_data",
                        lambda *args: (copies.append(args) if len(args) == 1 else None) or original(*args))

    def stub_records(data: bytes) -> list[dict]:
        import pikepdf

        with pikepdf.open(io.BytesIO(data)) as pdf:
            programs = [obj.read_bytes() for obj in pdf.objects if isinstance(obj, pikepdf.Stream) and "/Length1" in obj]
        return sorted((json.loads(p[len(part_fonts.STUB):]) for p in programs if part_fonts.is_stub(p)),
                      key=lambda r: r["file"])

    monkeypatch.setattr(part_fonts, "_FACES", {})
    monkeypatch.setattr(pdf_parts, "_fonts", pdf.fonts())  # one font configuration, as in a worker
    try:
        first = stub_records(pdf_parts.lay_out(part, load_theme(), None, None).pdf)
        second = stub_records(pdf_parts.lay_out(part, load_theme(), None, None).pdf)
    finally:
        pdf.close_fonts(pdf_parts._fonts)
    assert len(first) >= 2 and copies == []  # the mini fixture uses both Japanese faces, none copied
    assert second == first
    assert {r["file"] for r in first} <= set(part_fonts.shipped())


def test_a_font_is_known_for_a_shipped_file_by_its_bytes(tmp_path):
    from compiler.theme import FONTS_DIR

    data = (FONTS_DIR / "BIZUDGothic-Bold.ttf").read_bytes()
    assert part_fonts.shipped_name(data) == "BIZUDGothic-Bold.ttf"
    assert part_fonts.shipped_name(memoryview(bytearray(data))) == "BIZUDGothic-Bold.ttf"  # a view, as of a face
    changed = bytearray(data)
    changed[len(changed) // 2] ^= 1  # the same length, one bit different
    assert part_fonts.shipped_name(bytes(changed)) is None
    assert part_fonts.shipped_name(data[:-4]) is None


def test_the_merge_subsets_again_only_a_font_whose_glyphs_changed(mincho):
    part_fonts._subset.cache_clear()
    first = part_fonts.program(_stubs(mincho))
    again = part_fonts.program(list(reversed(_stubs(mincho))))  # the same glyphs: the same subset, kept
    assert again is first and part_fonts._subset.cache_info().misses == 1
    more = part_fonts.program(_stubs(mincho) + [part_fonts.STUB + json.dumps(
        {"file": mincho, "index": 0, "hinting": False, "glyphs": [5]}).encode()])
    assert 5 in _outlined(more) and 5 not in _outlined(first)
