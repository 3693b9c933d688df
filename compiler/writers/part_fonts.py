"""Fonts of the PDF by parts: a part names the shipped font and the glyphs it uses; the merge subsets each font once.

Laid out alone, every part would subset every font it uses (HarfBuzz reads the whole font each
time: about 0.1 s a part, 1 s of a build), and the merge would then have to join the subsets.
Instead, while a part is written (``stubs()``), each font that is one of the files in fonts/ is
embedded as a *stub*: a few bytes naming the file, its face index and the glyph ids the part
uses. A font is known for a shipped file by its bytes, compared with those of the files of fonts/
of the same length (``shipped_name``: quicker than hashing the face). A stub in the part cache is
never read with other fonts: the cache key covers the fonts' digests (``cache``). The merge gives
every stub of one font the same program (``program``): the shipped file
subset once to the union of the glyphs of every part, with the flags WeasyPrint 70 uses in one
pass (glyph ids kept, so no content stream changes; ids past the last one used dropped; no
hinting), so the program is the one a single pass would embed for the same glyphs.

A part PDF with stubs is not a usable PDF on its own: only the part cache and the merge see one.
Fonts that are not shipped files, or that WeasyPrint handles specially (glyphs missing from the
font, colour or bitmap glyphs, variable fonts), are subset by WeasyPrint as usual.
"""

from __future__ import annotations

import contextlib
import json
from functools import lru_cache
from pathlib import Path

from compiler.theme import FONTS_DIR

STUB = b"%followup-font-stub/2\n"
_WEASYPRINT = "70."  # the version whose Font.clean this wraps (stubs are not made with any other)
_DROPPED_TABLES = (b"BASE", b"DSIG", b"EBDT", b"EBLC", b"EBSC", b"GPOS", b"GSUB", b"JSTF", b"LTSH", b"PCLT", b"SVG ")


@lru_cache(maxsize=None)
def shipped() -> dict[str, Path]:
    """File name → font file of fonts/."""
    return {path.name: path for path in sorted(FONTS_DIR.iterdir()) if path.suffix.lower() in (".ttf", ".otf")}


@lru_cache(maxsize=None)
def _lengths() -> dict[int, tuple[Path, ...]]:
    by_length: dict[int, list[Path]] = {}
    for path in shipped().values():
        by_length.setdefault(path.stat().st_size, []).append(path)
    return {length: tuple(paths) for length, paths in by_length.items()}


def shipped_name(data) -> str | None:
    """The name of the file of fonts/ whose bytes ``data`` (bytes, or a buffer) are, if one is."""
    view = memoryview(data)
    candidates = _lengths().get(view.nbytes, ())
    if not candidates:
        return None
    content = view.tobytes() if not isinstance(data, bytes) else data  # (bytes compare with memcmp; a view by item)
    for path in candidates:
        if content == path.read_bytes():
            return path.name
    return None


def is_stub(data: bytes) -> bool:
    return data.startswith(STUB)


# A HarfBuzz face of a shipped font, by its address → a view of the face's data (no copy) and the
# shipped file's name. WeasyPrint copies a font's whole data out of its face for every PDF it writes
# (``Font.__init__``), 5 to 6 MB a font, and the stub needs to know the file: for three fonts, a
# comparison with the files each part, and 15 MB of copies beside each large part's layout. A worker's parts share their faces (one
# font configuration a build), and a face's data is the font file as HarfBuzz mapped it: so each
# part is given a view of that mapping (shared by every process, in no process's own memory), and the
# file is found once in the process that first writes the face (the pool's host, warming up: its
# workers inherit it). The face and its data are referenced, so that they outlive every part and the
# address names no other face.
_FACES: dict[int, tuple[object, str]] = {}


@contextlib.contextmanager
def stubs():
    """While the block writes a PDF, shipped TrueType fonts are embedded as stubs (see the module docstring)."""
    import weasyprint
    from weasyprint.pdf import fonts
    from weasyprint.text.ffi import ffi, harfbuzz

    if not weasyprint.__version__.startswith(_WEASYPRINT):
        yield
        return
    original_clean, original_data = fonts.Font.clean, fonts.get_hb_object_data

    def face_data(hb_object, ot_color=None, glyph=None):
        if ot_color is not None or glyph is not None:
            return original_data(hb_object, ot_color, glyph)
        address = int(ffi.cast("uintptr_t", hb_object))
        known = _FACES.get(address)
        if known is None:
            blob = harfbuzz.hb_face_reference_blob(hb_object)
            length = harfbuzz.hb_blob_get_length(blob)
            pointer = harfbuzz.hb_blob_get_data(blob, ffi.NULL)
            view = ffi.buffer(pointer, length) if pointer != ffi.NULL and length else b""
            name = shipped_name(view)
            if name is None:
                harfbuzz.hb_blob_destroy(blob)
                return original_data(hb_object)
            harfbuzz.hb_face_reference(hb_object)  # the blob stays referenced too: the view stays valid
            known = _FACES[address] = (view, name)
        return known[0]

    def clean(font, to_unicode, hinting):
        plain = to_unicode and not (font.missing or font.png or font.svg or font.colr or font.bitmap)
        if plain and "fvar" not in font.tables and font.type == "ttf":
            known = _FACES.get(int(ffi.cast("uintptr_t", font.hb_face)))
            if known is not None and known[0] is font.file_content:
                name = known[1]
            else:
                name = shipped_name(font.file_content)
            if name is not None:
                record = {"file": name, "index": font.index, "hinting": bool(hinting), "glyphs": sorted(to_unicode)}
                font.file_content = STUB + json.dumps(record, separators=(",", ":")).encode("ascii")
                return
        if not isinstance(font.file_content, bytes):  # a view of a shipped face: WeasyPrint's own ways want bytes
            font.file_content = bytes(font.file_content)
        original_clean(font, to_unicode, hinting)

    fonts.Font.clean, fonts.get_hb_object_data = clean, face_data
    try:
        yield
    finally:
        fonts.Font.clean, fonts.get_hb_object_data = original_clean, original_data


def program(stub_programs: list[bytes]) -> bytes:
    """The one font program that serves every stub of ``stub_programs`` (all of one shipped font)."""
    records = [json.loads(data[len(STUB):]) for data in stub_programs]
    first = records[0]
    if any((r["file"], r["index"], r["hinting"]) != (first["file"], first["index"], first["hinting"]) for r in records):
        raise ValueError("stubs of different fonts were given one program")
    glyphs = tuple(sorted({gid for r in records for gid in r["glyphs"]}))
    return _subset(first["file"], first["index"], first["hinting"], glyphs)


@lru_cache(maxsize=16)
def _subset(file: str, index: int, hinting: bool, glyphs: tuple[int, ...]) -> bytes:
    """A shipped font subset to ``glyphs``, kept for this process: the merge asks for it once the body
    is in (``pdf_merge.Merger.prepare_fonts``) and again, usually with the same glyphs, at its end."""
    data = shipped()[file].read_bytes()
    try:
        return _harfbuzz_subset(data, index, list(glyphs), hinting)
    except OSError:  # no HarfBuzz subsetter here: fontTools gives the same glyphs, more slowly
        return _fonttools_subset(data, index, list(glyphs), hinting)


_HARFBUZZ_DECLARATIONS = """
    typedef struct hb_blob_t hb_blob_t;
    typedef struct hb_face_t hb_face_t;
    typedef struct hb_set_t hb_set_t;
    typedef struct hb_subset_input_t hb_subset_input_t;
    typedef uint32_t hb_tag_t;
    typedef uint32_t hb_codepoint_t;
    hb_blob_t * hb_blob_create (const char *data, unsigned int length, int mode, void *user_data, void *destroy);
    void hb_blob_destroy (hb_blob_t *blob);
    const char * hb_blob_get_data (hb_blob_t *blob, unsigned int *length);
    hb_face_t * hb_face_create (hb_blob_t *blob, unsigned int index);
    void hb_face_destroy (hb_face_t *face);
    hb_blob_t * hb_face_reference_blob (hb_face_t *face);
    hb_tag_t hb_tag_from_string (const char *str, int len);
    void hb_set_add_sorted_array (hb_set_t *set, const hb_codepoint_t *sorted_codepoints, unsigned int num_codepoints);
    hb_subset_input_t * hb_subset_input_create_or_fail (void);
    void hb_subset_input_destroy (hb_subset_input_t *input);
    hb_set_t * hb_subset_input_glyph_set (hb_subset_input_t *input);
    hb_set_t * hb_subset_input_set (hb_subset_input_t *input, int set_type);
    void hb_subset_input_set_flags (hb_subset_input_t *input, unsigned int value);
    hb_face_t * hb_subset_or_fail (hb_face_t *source, const hb_subset_input_t *input);
"""
_MEMORY_MODE_READONLY, _SETS_DROP_TABLE_TAG = 1, 3
_NO_HINTING, _RETAIN_GIDS, _DESUBROUTINIZE, _PASSTHROUGH_UNRECOGNIZED = 0x1, 0x2, 0x4, 0x20


@lru_cache(maxsize=1)
def subsetter():
    """HarfBuzz and its subsetter, opened once (``OSError`` where they cannot be)."""
    import cffi

    ffi = cffi.FFI()
    ffi.cdef(_HARFBUZZ_DECLARATIONS)
    for core, subset in (("libharfbuzz.so.0", "libharfbuzz-subset.so.0"),
                         ("libharfbuzz.0.dylib", "libharfbuzz-subset.0.dylib")):
        try:
            return ffi, ffi.dlopen(core), ffi.dlopen(subset)
        except OSError:
            continue
    raise OSError("HarfBuzz and its subsetter cannot be opened")


def _harfbuzz_subset(data: bytes, index: int, glyphs: list[int], hinting: bool) -> bytes:
    """WeasyPrint 70's two HarfBuzz passes (``Font._harfbuzz_subset``) on the shipped file."""
    ffi, hb, hb_subset = subsetter()
    keep_alive = ffi.from_buffer(data)
    blob = hb.hb_blob_create(keep_alive, len(data), _MEMORY_MODE_READONLY, ffi.NULL, ffi.NULL)
    face = hb.hb_face_create(blob, index)
    hb.hb_blob_destroy(blob)
    faces = [face]
    try:
        passes = (
            (glyphs, _RETAIN_GIDS | _PASSTHROUGH_UNRECOGNIZED | _DESUBROUTINIZE, True),
            (list(range(max(glyphs) + 1)), _PASSTHROUGH_UNRECOGNIZED | _DESUBROUTINIZE | (0 if hinting else _NO_HINTING), False),
        )
        for wanted, flags, drop in passes:
            request = ffi.gc(hb_subset.hb_subset_input_create_or_fail(), hb_subset.hb_subset_input_destroy)
            if request == ffi.NULL:
                raise OSError("HarfBuzz could not start a subset")
            ids = ffi.new("hb_codepoint_t[]", wanted)  # an open array: cffi parses a sized type per size (15 ms)
            hb.hb_set_add_sorted_array(hb_subset.hb_subset_input_glyph_set(request), ids, len(wanted))
            hb_subset.hb_subset_input_set_flags(request, flags)
            if drop:
                tags = sorted(hb.hb_tag_from_string(tag, -1) for tag in _DROPPED_TABLES)
                hb.hb_set_add_sorted_array(hb_subset.hb_subset_input_set(request, _SETS_DROP_TABLE_TAG),
                                           ffi.new("hb_codepoint_t[]", tags), len(tags))
            face = hb_subset.hb_subset_or_fail(faces[-1], request)
            if face == ffi.NULL:
                raise OSError("HarfBuzz could not subset the font")
            faces.append(face)
        out = hb.hb_face_reference_blob(faces[-1])
        length = ffi.new("unsigned int *")
        pointer = hb.hb_blob_get_data(out, length)
        program = bytes(ffi.buffer(pointer, length[0]))
        hb.hb_blob_destroy(out)
        if not program:
            raise OSError("HarfBuzz gave an empty font")
        return program
    finally:
        for f in faces:
            hb.hb_face_destroy(f)


def _fonttools_subset(data: bytes, index: int, glyphs: list[int], hinting: bool) -> bytes:
    import io

    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options(retain_gids=True, passthrough_tables=True, ignore_missing_glyphs=True,
                             hinting=hinting, desubroutinize=True)
    options.drop_tables += ["GSUB", "GPOS", "SVG"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(gids=glyphs)
    font = TTFont(io.BytesIO(data), fontNumber=index)
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()
