"""Fonts embedded in the DOCX: the shipped files, subset to the characters used, obfuscated.

ECMA-376 Part 1 §17.8 (font embedding): every embedded font is a part of
content type ``application/vnd.openxmlformats-officedocument.obfuscatedFont``
(``.odttf``), reached from ``word/fontTable.xml`` through a ``font``
relationship, named by ``w:embedRegular`` / ``w:embedBold`` with a
``w:fontKey`` GUID. The part holds the font file with its first 32 bytes
XOR-ed with the key: the GUID's 16 bytes in reverse order (the order of its
hexadecimal digits, dashes removed), twice over.

Every font is named in the DOCX exactly as its own ``name`` table says (its
family, nameID 1), so that Word and LibreOffice match the embedded file to
the name the styles ask for. Subsets keep every name, the glyph names and
the layout features that horizontal and vertical Japanese text uses; they are deterministic (no timestamp is rewritten, the
key is a hash of the subset), so equal documents give equal bytes.

Each subset also keeps printable ASCII whatever the document uses: digits
and Latin letters typed later render in the same font, and no subset is so
small that LibreOffice drops it (tdf#162002).
"""

from __future__ import annotations

import hashlib
import io
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from compiler import font_facts, user_cache
from compiler.theme import FONTS_DIR, Theme

ODTTF_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.obfuscatedFont"
FONT_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/font"
ALWAYS = "".join(chr(c) for c in range(0x20, 0x7F))
KEY_NAMESPACE = uuid.UUID("6f1c7f52-6a39-4d5e-9a39-8a8f3f0b6d10")  # fixed: keys depend on the font bytes only


@dataclass(frozen=True)
class FontFace:
    """One file of the theme as the DOCX names it."""

    file: str
    family: str  # the font's own family name (nameID 1)
    bold: bool


@dataclass(frozen=True)
class Embedded:
    face: FontFace
    part_name: str  # "word/fonts/font1.odttf"
    key: str  # "{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}"
    data: bytes  # obfuscated


def face(file: str) -> FontFace:
    found = font_facts.facts(file)
    return FontFace(file, found.family, found.bold)


def faces(theme: Theme) -> dict[str, FontFace]:
    """Role (text, heading, heading_bold, fallback) → the face the DOCX names for it."""
    f = theme.fonts
    return {role: face(getattr(f, role)) for role in ("text", "heading", "heading_bold", "fallback")}


def covered(file: str):
    """The code points ``file`` has glyphs for (a mapping: ``in`` is what to ask of it)."""
    return font_facts.facts(file).advances


def covers(file: str, char: str) -> bool:
    return ord(char) in covered(file)


def _cache_file(file: str, chars: frozenset[str]) -> Path:
    """Where a subset is kept between runs: named by the font's bytes, the characters and fontTools' version."""
    import fontTools

    from compiler.cache import file_sha256

    key = hashlib.sha256()
    key.update(bytes.fromhex(file_sha256(FONTS_DIR / file)))  # read once a process (the part cache's key hashes it too)
    key.update("".join(sorted(chars)).encode("utf-8"))
    key.update(fontTools.version.encode())
    return user_cache.folder() / "subsets" / f"{key.hexdigest()}.ttf"


@lru_cache(maxsize=16)
def subset(file: str, chars: frozenset[str]) -> bytes:
    """The font file reduced to ``chars`` (plus printable ASCII), same names, deterministic bytes.

    Subsetting a CJK font takes about half a second, so the result is also kept in the user's
    cache folder; a cached file is used only if it still has the checksum written beside it."""
    cached = _cache_file(file, chars)
    try:
        data = cached.read_bytes()
        if hashlib.sha256(data).hexdigest() == cached.with_suffix(".sha256").read_text().strip():
            return data
    except OSError:
        pass
    data = _subset(file, chars)
    try:
        import os
        import tempfile

        cached.parent.mkdir(parents=True, exist_ok=True)
        for target, content in ((cached, data), (cached.with_suffix(".sha256"), hashlib.sha256(data).hexdigest().encode())):
            fd, tmp = tempfile.mkstemp(dir=cached.parent)
            with os.fdopen(fd, "wb") as fh:
                fh.write(content)
            os.replace(tmp, target)
    except OSError:
        pass  # no cache folder: subset every time
    return data


def _subset(file: str, chars: frozenset[str]) -> bytes:
    import logging

    from fontTools import subset as ftsubset
    from fontTools.ttLib import TTFont

    logging.getLogger("fontTools.subset").setLevel(logging.ERROR)
    options = ftsubset.Options()
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.name_legacy = True
    options.glyph_names = True
    options.hinting = False  # instructions are most of a CJK subset; both clients render well without them
    options.layout_features = ["vert", "vrt2", "kern", "liga", "ccmp", "locl"]
    options.notdef_outline = True
    options.recalc_timestamp = False
    options.drop_tables = [t for t in options.drop_tables if t != "DSIG"] + ["DSIG"]  # a signature no longer matches
    font = TTFont(str(FONTS_DIR / file), recalcTimestamp=False, lazy=True)
    subsetter = ftsubset.Subsetter(options)
    wanted = sorted({ord(c) for c in chars} | {ord(c) for c in ALWAYS})
    subsetter.populate(unicodes=wanted)
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out, reorderTables=True)
    return out.getvalue()


def obfuscate(data: bytes, key: str) -> bytes:
    """ECMA-376 §17.8.1: XOR the first 32 bytes with the key's bytes, last first (the operation is its own inverse)."""
    digits = key.strip("{}").replace("-", "")
    mask = bytes.fromhex(digits)[::-1]
    head = bytes(b ^ mask[i % 16] for i, b in enumerate(data[:32]))
    return head + data[32:]


def embed(theme: Theme, chars: dict[str, set[str]]) -> list[Embedded]:
    """Every font of the theme (role → file), subset to the characters set in it, as package parts."""
    out = []
    for n, (role, fc) in enumerate(faces(theme).items(), 1):
        data = subset(fc.file, frozenset(chars.get(role, ())) - frozenset(ALWAYS))
        key = "{" + str(uuid.uuid5(KEY_NAMESPACE, hashlib.sha256(data).hexdigest())).upper() + "}"
        out.append(Embedded(fc, f"word/fonts/font{n}.odttf", key, obfuscate(data, key)))
    return out


@lru_cache(maxsize=None)
def advance(file: str, text: str) -> float:
    """Advance width of ``text`` in ems (the sum of its characters' advances)."""
    found = font_facts.facts(file)
    return sum(found.advances.get(ord(c), 0) for c in text) / found.units_per_em
