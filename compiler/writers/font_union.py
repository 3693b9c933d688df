"""Font union: one TrueType font program from several subsets of the same font that kept their glyph ids.

WeasyPrint subsets each embedded font with HarfBuzz, keeping glyph ids (``RETAIN_GIDS``: a glyph
left out is an empty entry, and ids past the last one used are dropped) and addressing glyphs by id
(``/CIDToGIDMap /Identity``). The parts of a PDF laid out by parts therefore embed several subsets
of one font whose glyph ids agree, and one program holding every glyph any of them has serves them
all: ``union`` builds it from the raw tables (glyph outlines from ``glyf``/``loca``, metrics from
``hmtx``, counts in ``maxp`` and ``hhea``; every other table is the largest subset's).
``None`` when the programs do not fit that model (not TrueType outlines, differing tables): the
caller then keeps them apart.
"""

from __future__ import annotations

import io
import struct


def _tables(font):
    return {tag: font.reader[tag] for tag in font.reader.keys()}


def _glyphs(tables) -> list[bytes]:
    """The outline bytes of every glyph id (empty for a glyph the subset left out)."""
    long_offsets = struct.unpack(">h", tables["head"][50:52])[0] == 1
    loca = tables["loca"]
    offsets = (struct.unpack(f">{len(loca) // 4}I", loca) if long_offsets
               else [2 * v for v in struct.unpack(f">{len(loca) // 2}H", loca)])
    glyf = tables["glyf"]
    return [glyf[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]


def _metric(tables, gid: int, header: str, table: str) -> bytes:
    """The 4-byte (advance, side bearing) record of glyph ``gid``, from ``hhea``/``hmtx`` or ``vhea``/``vmtx``."""
    long_metrics = struct.unpack(">H", tables[header][34:36])[0]
    data = tables[table]
    if gid < long_metrics:
        return data[4 * gid:4 * gid + 4]
    start = 4 * long_metrics + 2 * (gid - long_metrics)
    return data[4 * long_metrics - 4:4 * long_metrics - 2] + data[start:start + 2]


def _merged_metrics(tables, glyphs, chosen: list[int | None], used: list[set[int]], count: int, header: str,
                    table: str) -> tuple[bytes, bytes]:
    """(header, table) of the union: each glyph's metrics from the subset its outline came from, or for a
    glyph without outline that the content uses (a space), from a subset that uses it; zero otherwise."""
    records = [b"\0\0\0\0"] * count
    for index, ids in enumerate(used):
        for gid in ids:
            if gid < len(glyphs[index]):
                records[gid] = _metric(tables[index], gid, header, table)
    for gid, source in enumerate(chosen):
        if source is not None:
            records[gid] = _metric(tables[source], gid, header, table)
    head = bytearray(tables[0][header])
    head[34:36] = struct.pack(">H", count)
    _extremes(head, [t[header] for t in tables], max_at=(10, 16), fmt=">H")  # largest advance and extent
    _extremes(head, [t[header] for t in tables], min_at=(12, 14), fmt=">h")  # smallest side bearings
    return bytes(head), b"".join(records)


def _extremes(target: bytearray, sources: list[bytes], min_at=(), max_at=(), fmt: str = ">H") -> None:
    """Set the fields of ``target`` at the given offsets to the smallest or largest value among ``sources``."""
    for offsets, pick in ((min_at, min), (max_at, max)):
        for at in offsets:
            values = [struct.unpack(fmt, source[at:at + 2])[0] for source in sources if len(source) >= at + 2]
            if values:
                target[at:at + 2] = struct.pack(fmt, pick(values))


def _components(outline: bytes) -> list[int]:
    """Glyph ids a composite glyph is built from (none for a simple glyph)."""
    if len(outline) < 10 or struct.unpack(">h", outline[:2])[0] >= 0:
        return []
    ids, at, flags = [], 10, 0x20
    while flags & 0x20:  # MORE_COMPONENTS
        flags, gid = struct.unpack(">HH", outline[at:at + 4])
        ids.append(gid)
        at += 4 + (4 if flags & 0x1 else 2)  # ARG_1_AND_2_ARE_WORDS
        at += 2 if flags & 0x8 else 4 if flags & 0x40 else 8 if flags & 0x80 else 0  # the transform
    return ids


def union(programs: list[bytes], used: list[set[int]]) -> bytes | None:
    """One font program with every glyph of ``programs`` (subsets of one font, glyph ids kept).

    ``used[i]``: the glyph ids the content of subset ``i`` uses. Only ids up to the largest are the
    font's own: HarfBuzz's second pass (dropping the empty ids past the last one used) renumbers
    the glyphs its closure added (substitution targets, components) to the ids after it, so those
    differ from subset to subset and are never taken. A composite glyph built from such a glyph
    cannot be carried over: then ``None``."""
    from fontTools.ttLib import TTFont
    from fontTools.ttLib.tables.DefaultTable import DefaultTable

    try:
        fonts = [TTFont(io.BytesIO(data), lazy=True, recalcBBoxes=False, recalcTimestamp=False) for data in programs]
        tables = [_tables(font) for font in fonts]
    except Exception:  # not a font fontTools can read: keep the programs as they are
        return None
    if any(not {"glyf", "loca", "head", "hhea", "hmtx", "maxp"} <= set(t) for t in tables):
        return None
    if any(set(t) != set(tables[0]) for t in tables):
        return None
    glyphs = [_glyphs(t)[:max(ids, default=0) + 1] for t, ids in zip(tables, used)]  # the font's own ids only
    count = max(len(g) for g in glyphs)
    outlines: list[bytes] = [b""] * count
    chosen: list[int | None] = [None] * count  # the subset each glyph's outline comes from
    for index, part_glyphs in enumerate(glyphs):
        for gid, outline in enumerate(part_glyphs):
            if outline and not outlines[gid]:
                if any(c >= len(part_glyphs) for c in _components(outline)):
                    return None
                outlines[gid], chosen[gid] = outline, index
    glyf, offsets = bytearray(), []
    for outline in outlines:
        offsets.append(len(glyf))
        glyf += outline + b"\0" * (-len(outline) % 4)
    offsets.append(len(glyf))
    out = TTFont(recalcBBoxes=False, recalcTimestamp=False)
    raw = dict(tables[0])
    head = bytearray(raw["head"])
    head[50:52] = struct.pack(">h", 1)  # long loca offsets
    _extremes(head, [t["head"] for t in tables], min_at=(36, 38), max_at=(40, 42), fmt=">h")  # bounding box
    maxp = bytearray(raw["maxp"])
    maxp[4:6] = struct.pack(">H", count)
    _extremes(maxp, [t["maxp"] for t in tables], max_at=range(6, len(maxp) - 1, 2), fmt=">H")  # maxPoints…
    raw.update(head=bytes(head), maxp=bytes(maxp), glyf=bytes(glyf), loca=struct.pack(f">{len(offsets)}I", *offsets))
    if "post" in raw:  # glyph names (format 2) are per glyph id: keep the header only (format 3, no names)
        raw["post"] = struct.pack(">I", 0x00030000) + raw["post"][4:32]
    for header, table in (("hhea", "hmtx"), ("vhea", "vmtx")):
        if header in raw and table in raw:
            raw[header], raw[table] = _merged_metrics(tables, glyphs, chosen, used, count, header, table)
    for tag, data in raw.items():
        table = DefaultTable(tag)
        table.data = data  # raw bytes: written as they are
        out[tag] = table
    buffer = io.BytesIO()
    out.save(buffer, reorderTables=False)
    return buffer.getvalue()
