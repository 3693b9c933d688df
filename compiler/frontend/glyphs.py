"""Glyph coverage: every character the document will print must be in a shipped font.

The fonts' code points come from ``compiler.font_facts``, which reads them once and keeps them
in the user's cache folder, so ``followup check`` stays fast.
"""

from __future__ import annotations

from functools import lru_cache

from compiler import font_facts
from compiler.diagnostics import Diagnostics, Span
from compiler.frontend.loader import LoadedSources
from compiler.frontend.textrules import string_values
from compiler.theme import FONTS_DIR, Theme

IGNORED = {"\n", "\r", "\t"}


def _reported_by_textrules(ch: str) -> bool:
    """Characters the text rules already report with a code of their own (controls, bidi, invisible)."""
    from compiler.frontend.textrules import BIDI_CONTROLS, INVISIBLE, NO_BREAK_SPACES, is_xml_invalid

    cp = ord(ch)
    return is_xml_invalid(ch) or cp in BIDI_CONTROLS or cp in INVISIBLE or cp in NO_BREAK_SPACES


@lru_cache(maxsize=None)
def coverage(files: tuple[str, ...]) -> frozenset[int] | None:
    """Union of the code points of ``files`` (in fonts/); ``None`` if one is missing."""
    paths = [FONTS_DIR / f for f in files]
    if not all(p.is_file() for p in paths):
        return None
    points: set[int] = set()
    for f in files:
        points.update(font_facts.facts(f, FONTS_DIR).advances)
    return frozenset(points)


def check_fonts(settings: Theme, diags: Diagnostics) -> frozenset[int] | None:
    missing = [f for f in settings.fonts.files() if not (FONTS_DIR / f).is_file()]
    for f in missing:
        diags.error("E040", f"フォントファイル fonts/{f} がありません。", Span(f"fonts/{f}"),
                    "リポジトリから fonts/ を取り直すか、layouts/settings.yaml の fonts を確かめてください。")
    if missing:
        return None
    return coverage(tuple(settings.fonts.files()))


def check_glyphs(loaded: LoadedSources, settings: Theme, diags: Diagnostics) -> None:
    points = check_fonts(settings, diags)
    if points is None:
        return
    labels = settings.labels
    generated = settings.markers.generated() + settings.numbering.policies + "（）－0123456789." \
        + labels.principle + labels.toc_title + labels.preview_mark + labels.preview_revision
    for ch in sorted(set(generated)):
        if ord(ch) not in points:
            diags.error("E032", f"layouts/settings.yaml の記号「{ch}」（U+{ord(ch):04X}）がフォントにありません。", Span("layouts/settings.yaml"))
    for sf in loaded.all_files():
        reported: set[str] = set()
        for path, text in string_values(sf.data):
            for ch in text:
                if ch in IGNORED or ch in reported or ord(ch) in points or _reported_by_textrules(ch):
                    continue
                reported.add(ch)
                diags.error("E032", f"文字「{ch}」（U+{ord(ch):04X}）は同梱のフォントにないため印刷できません。", sf.span(path),
                            "別の文字に置き換えてください（例：環境依存文字や絵文字は使えません）。")
