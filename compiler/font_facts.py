"""Facts of the shipped fonts, read once and kept: each file's family name, bold flag, units per em,
and its code points with their advance widths.

The glyph check (``frontend.glyphs``) asks which characters a font has; the DOCX writer asks the
names it must give the fonts and the widths of list markers. Reading them with fontTools takes
about 0.2 s for the shipped CJK fonts (mostly their cmap tables), every build; so each file's
facts are kept in the user's cache folder (``user_cache.folder()/fonts/``), one JSON file per font file,
keyed by its name, size and modification time. A build with the facts cached imports no fontTools.
A cache file that is missing, stale or not what this module writes (garbage, wrong types,
out-of-range numbers) is read again from the font and rewritten; without a writable cache folder
the font is read every time.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from compiler import user_cache
from compiler.theme import FONTS_DIR

FORMAT = "followup-font-facts/1"


@dataclass(frozen=True)
class FontFacts:
    family: str  # the font's family name as its name table gives it (nameID 16, else 1)
    bold: bool
    units_per_em: int
    advances: dict[int, int]  # code point → advance width in font units (every code point of its cmap)


def _key(path: Path) -> str:
    stat = path.stat()
    return f"{path.name}:{stat.st_size}:{int(stat.st_mtime)}"


def _read_cached(cache: Path, key: str) -> FontFacts | None:
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("key") != key:
        return None
    family, bold, upem = data.get("family"), data.get("bold"), data.get("units_per_em")
    points, widths = data.get("codepoints"), data.get("advances")
    if not (isinstance(family, str) and family and type(bold) is bool and type(upem) is int and upem > 0):
        return None
    if not (isinstance(points, list) and isinstance(widths, list) and points and len(points) == len(widths)):
        return None
    if not all(type(p) is int and 0 <= p <= 0x10FFFF for p in points) or not all(type(w) is int and w >= 0 for w in widths):
        return None
    return FontFacts(family, bold, upem, dict(zip(points, widths)))


def _read_font(path: Path) -> FontFacts:
    from fontTools.ttLib import TTFont

    font = TTFont(str(path), lazy=True)
    try:
        # Plain glyph names before the tables are read: left to itself, fontTools derives every
        # glyph's name from the cmap and post tables, most of the time of reading them.
        font.setGlyphOrder([f"g{gid}" for gid in range(font["maxp"].numGlyphs)])
        name = font["name"]
        family = name.getDebugName(16) or name.getDebugName(1) or path.stem
        bold = bool(font["OS/2"].fsSelection & 0x20) or font["head"].macStyle & 1 == 1
        hmtx = font["hmtx"]
        advances = {cp: hmtx[glyph][0] for cp, glyph in font.getBestCmap().items()}
        return FontFacts(family, bold, font["head"].unitsPerEm, advances)
    finally:
        font.close()


def _write_cached(cache: Path, key: str, facts: FontFacts) -> None:
    points = sorted(facts.advances)
    data = {"format": FORMAT, "key": key, "family": facts.family, "bold": facts.bold,
            "units_per_em": facts.units_per_em, "codepoints": points, "advances": [facts.advances[p] for p in points]}
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, separators=(",", ":"))
        os.replace(tmp, cache)
    except OSError:
        pass  # no cache folder: the font is read again next time


def facts(file: str, fonts_dir: Path = FONTS_DIR) -> FontFacts:
    """The facts of ``fonts_dir/file`` (cached in this process and in the user's cache folder);
    ``OSError`` if the file cannot be read. A font is read once a process however it is asked for
    (the source checks pass the folder, the DOCX writer does not), and a worker forked after the
    checks has the facts they read."""
    return _facts(file, str(fonts_dir))  # (keyed by text: a DOCX asks 3,000 times, and a path hashes slowly)


@lru_cache(maxsize=None)
def _facts(file: str, fonts_dir: str) -> FontFacts:
    path = Path(fonts_dir) / file
    key = _key(path)
    cache = user_cache.folder() / "fonts" / f"{file}.json"
    cached = _read_cached(cache, key)
    if cached is not None:
        return cached
    found = _read_font(path)
    _write_cached(cache, key, found)
    return found
