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


def _metrics(tables, count: int, header: str, table: str) -> list[bytes]:
    """The 4-byte (advance, side bearing) record of every glyph id, from ``hhea``/``hmtx`` or ``vhea``/``vmtx``."""
    long_metrics = struct.unpack(">H", tables[header][34:36])[0]
    data = tables[table]
    records = [data[4 * i:4 * i + 4] for i in range(long_metrics)]
    last_advance = records[-1][:2] if records else b"\0\0"
    for i in range(count - long_metrics):
        start = 4 * long_metrics + 2 * i
        records.append(last_advance + data[start:start + 2])
    return records


def _merged_metrics(tables, glyphs, chosen: list[int | None], count: int, header: str, table: str) -> tuple[bytes, bytes]:
    """(header, table) of the union: each glyph's metrics from the subset its outline came from."""
    metrics = [_metrics(t, len(g), header, table) for t, g in zip(tables, glyphs)]
    records = []
    for gid in range(count):
        if chosen[gid] is not None:
            records.append(metrics[chosen[gid]][gid])
        else:  # no outline anywhere (a space, or unused): the widest advance any subset gives it
            records.append(max((m[gid] for m in metrics if gid < len(m)), key=lambda r: r[:2]))
    base = max(range(len(tables)), key=lambda i: len(glyphs[i]))
    head = bytearray(tables[base][header])
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


def union(programs: list[bytes]) -> bytes | None:
    """One font program with every glyph of ``programs`` (subsets of one font, glyph ids kept)."""
    from fontTools.ttLib import TTFont
    from fontTools.ttLib.tables.DefaultTable import DefaultTable

    try:
        fonts = [TTFont(io.BytesIO(data), lazy=True, recalcBBoxes=False, recalcTimestamp=False) for data in programs]
        tables = [_tables(font) for font in fonts]
    except Exception:  # not a font fontTools can read: keep the programs as they are
        return None
    if any(not {"glyf", "loca", "head", "hhea", "hmtx", "maxp"} <= set(t) for t in tables):
        return None
    base = max(range(len(tables)), key=lambda i: struct.unpack(">H", tables[i]["maxp"][4:6])[0])
    if any(set(t) != set(tables[base]) for t in tables):
        return None
    glyphs = [_glyphs(t) for t in tables]
    count = max(len(g) for g in glyphs)
    outlines: list[bytes] = [b""] * count
    chosen: list[int | None] = [None] * count  # the subset each glyph's outline comes from
    for index, part_glyphs in enumerate(glyphs):
        for gid, outline in enumerate(part_glyphs):
            if outline and not outlines[gid]:
                outlines[gid], chosen[gid] = outline, index
    glyf, offsets = bytearray(), []
    for outline in outlines:
        offsets.append(len(glyf))
        glyf += outline + b"\0" * (-len(outline) % 4)
    offsets.append(len(glyf))
    out = TTFont(recalcBBoxes=False, recalcTimestamp=False)
    raw = dict(tables[base])
    head = bytearray(raw["head"])
    head[50:52] = struct.pack(">h", 1)  # long loca offsets
    _extremes(head, [t["head"] for t in tables], min_at=(36, 38), max_at=(40, 42), fmt=">h")  # bounding box
    maxp = bytearray(raw["maxp"])
    maxp[4:6] = struct.pack(">H", count)
    _extremes(maxp, [t["maxp"] for t in tables], max_at=range(6, len(maxp) - 1, 2), fmt=">H")  # maxPoints…
    raw.update(head=bytes(head), maxp=bytes(maxp), glyf=bytes(glyf), loca=struct.pack(f">{len(offsets)}I", *offsets))
    for header, table in (("hhea", "hmtx"), ("vhea", "vmtx")):
        if header in raw and table in raw:
            raw[header], raw[table] = _merged_metrics(tables, glyphs, chosen, count, header, table)
    for tag, data in raw.items():
        table = DefaultTable(tag)
        table.data = data  # raw bytes: written as they are
        out[tag] = table
    buffer = io.BytesIO()
    out.save(buffer, reorderTables=False)
    return buffer.getvalue()
