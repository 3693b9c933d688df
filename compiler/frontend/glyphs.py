"""Glyph coverage: every character the document will print must be in a shipped font.

Reads only the ``cmap`` tables of the fonts in ``fonts/`` (fontTools, lazily)
and remembers them in a small cache file keyed by the fonts' sizes and
modification times, so ``followup check`` stays fast.
"""

from __future__ import annotations

import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path

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


def cache_dir() -> Path:
    """The user's cache folder of followup (glyph coverage here, font subsets in the DOCX writer)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "followup"


def _read_cache(cache: Path, key: str) -> frozenset[int] | None:
    """The cached code points for ``key``; ``None`` when the file is missing, stale, or not what we wrote
    (garbage, wrong types, out-of-range numbers): the caller then rebuilds it."""
    try:
        cached = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(cached, dict) or cached.get("key") != key:
        return None
    points = cached.get("codepoints")
    if not isinstance(points, list) or not points:
        return None
    if not all(type(p) is int and 0 <= p <= 0x10FFFF for p in points):
        return None
    return frozenset(points)


@lru_cache(maxsize=None)
def coverage(files: tuple[str, ...]) -> frozenset[int] | None:
    """Union of the code points of ``files`` (in fonts/); ``None`` if one is missing."""
    paths = [FONTS_DIR / f for f in files]
    if not all(p.is_file() for p in paths):
        return None
    key = "|".join(f"{p.name}:{p.stat().st_size}:{int(p.stat().st_mtime)}" for p in paths)
    cache = cache_dir() / "coverage.json"
    cached = _read_cache(cache, key)
    if cached is not None:
        return cached
    from fontTools.ttLib import TTFont

    points: set[int] = set()
    for p in paths:
        font = TTFont(str(p), lazy=True)
        points.update(font.getBestCmap().keys())
        font.close()
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=cache.parent, delete=False) as fh:
            json.dump({"key": key, "codepoints": sorted(points)}, fh)
        os.replace(fh.name, cache)
    except OSError:
        pass
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
