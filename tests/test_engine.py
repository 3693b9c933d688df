"""WeasyPrint is imported once, by ``writers.engine.load``, without starting a compiler to find its libraries."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

FAKE_TOOL = "#!/bin/sh\necho \"$0\" >> \"$FOLLOWUP_TEST_SPY\"\nexit 1\n"


def _import_with_spies(tmp_path: Path, code: str) -> list[str]:
    """Run ``code`` with ``gcc``, ``cc`` and ``ld`` on PATH replaced by programs that record being run."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("gcc", "cc", "ld", "x86_64-linux-gnu-gcc"):
        path = bin_dir / tool
        path.write_text(FAKE_TOOL)
        path.chmod(0o755)
    spy = tmp_path / "spy.log"
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", FOLLOWUP_TEST_SPY=str(spy))
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
    return spy.read_text().split() if spy.exists() else []


@pytest.mark.parametrize("code, compilers_run", [
    ("from compiler.writers import engine; engine.load(); from weasyprint import HTML", False),
    ("import weasyprint", True),  # the control: WeasyPrint's own import does start them
], ids=["engine", "plain-import"])
def test_loading_weasyprint_starts_no_compiler(tmp_path, code, compilers_run):
    assert bool(_import_with_spies(tmp_path, code)) is compilers_run


@pytest.mark.parametrize("name", ["gobject-2.0", "pango-1.0", "harfbuzz", "harfbuzz-subset", "fontconfig", "pangoft2-1.0",
                                  "c", "libgobject-2.0-0", "gobject-2.0-0", "harfbuzz-vector", "no-such-library-here"])
def test_the_one_listing_lookup_answers_as_cpython_s_first_step(name):
    """``find_library`` during the import searches one ``ldconfig -p`` listing; its answer for each name
    (found or not) is the one CPython's own ldconfig step gives."""
    import ctypes.util

    from compiler.writers import engine

    lookup = engine._ldconfig_lookup()
    assert lookup is not None
    assert lookup(name) == ctypes.util._findSoname_ldconfig(name)


_LDCONFIG_RUNS = """
import subprocess
runs = []
original = subprocess.Popen.__init__
def counting(self, args, *rest, **options):
    runs.append(list(args) if isinstance(args, (list, tuple)) else [args])
    original(self, args, *rest, **options)
subprocess.Popen.__init__ = counting
from compiler.writers import engine
engine.load()
print(sum(1 for args in runs if str(args[0]).endswith("ldconfig")))
"""


def test_loading_weasyprint_runs_ldconfig_once():
    """Every library name WeasyPrint tries is looked up in one ``ldconfig -p`` listing (it was one run a name)."""
    out = subprocess.run([sys.executable, "-c", _LDCONFIG_RUNS], cwd=ROOT, check=True, capture_output=True,
                         text=True, timeout=120)
    assert int(out.stdout.split()[-1]) == 1


# The C types WeasyPrint's and the merge's code write as text, and every typedef name WeasyPrint declares,
# with and without a pointer: each printed with its size.
_CFFI_TYPES = """
import sys
{setup}
import weasyprint.text.ffi as wffi
ffi = wffi.ffi
names = sorted(key[8:] for key in ffi._parser._declarations if key.startswith("typedef "))
texts = ["unsigned int *", "FcChar8 **", "PangoFcFontMap *", "hb_codepoint_t[]", "char[]", "FcResult *",
         "uintptr_t", "PangoRectangle *", "int[3]"]
texts += [t for name in names for t in (name, name + " *")]
for text in texts:
    try:
        ctype = ffi.typeof(text)
        print(text, "=", ffi.getctype(ctype), ffi.sizeof(ctype) if ctype.kind not in ("function", "void") else "-")
    except Exception as exc:  # an opaque struct has no size: the same error either way
        print(text, "!", type(exc).__name__)
print(len(names), file=sys.stderr)
"""


def test_cffi_reads_every_type_the_same_from_the_typedefs_a_text_uses():
    """The types cffi makes of text are the ones it makes when pycparser is handed every typedef name."""
    def types(setup: str) -> str:
        out = subprocess.run([sys.executable, "-c", _CFFI_TYPES.format(setup=setup)], cwd=ROOT, check=True,
                             capture_output=True, text=True, timeout=300)
        assert int(out.stderr.split()[-1]) > 50  # WeasyPrint's typedefs were read (65 in WeasyPrint 70)
        return out.stdout

    assert types("from compiler.writers import engine; engine.load()") == types("import weasyprint")


_TYPEDEF_LINES = """
import pycparser
from compiler.writers import engine
weasyprint = engine.load()
seen = []
original = pycparser.CParser.parse
def recording(self, text, *args, **kwargs):
    seen.append(text.count("typedef int "))
    return original(self, text, *args, **kwargs)
pycparser.CParser.parse = recording
weasyprint.text.ffi.ffi.typeof("unsigned int * *")
print(seen)
"""


def test_cffi_hands_the_parser_only_the_typedefs_a_text_uses():
    """Reading ``unsigned int * *`` declares none of WeasyPrint's typedef names (all 65 of them before)."""
    out = subprocess.run([sys.executable, "-c", _TYPEDEF_LINES], cwd=ROOT, check=True, capture_output=True,
                         text=True, timeout=120)
    assert out.stdout.split() == ["[1]"]  # one parse, and only cffi's own ``typedef int __dotdotdot…`` line


def test_the_typedef_filter_keeps_what_the_text_uses_and_the_text_itself():
    from compiler.writers import engine

    source = ('# 1 "<cdef automatic initialization code>"\ntypedef int FcChar8;\ntypedef int hb_face_t;\n'
              'typedef int __dotdotdotint__, __dotdotdotfloat__, __dotdotdot__;\n# 1 "<cdef source string>"\n'
              'void __dummy(\nFcChar8 **\n);\n')
    kept = engine.used_typedefs_only(source)
    assert "typedef int FcChar8;" in kept and "hb_face_t" not in kept and "__dotdotdot__;" in kept
    assert kept.endswith('# 1 "<cdef source string>"\nvoid __dummy(\nFcChar8 **\n);\n')
    assert engine.used_typedefs_only("int x;") == "int x;"  # not cffi's: unchanged


def test_the_library_lookup_is_restored_after_loading():
    import ctypes.util

    from compiler.writers import engine

    before = ctypes.util.find_library
    engine.load()
    assert ctypes.util.find_library is before


def test_the_lean_user_agent_sheet_prints_the_same_pdf_as_weasyprint_s_own(monkeypatch):
    """Documents are read with a user-agent sheet that makes no pseudo-element of every element;
    the PDF it gives is byte for byte the one WeasyPrint's own sheet gives."""
    from compiler.diagnostics import Diagnostics
    from compiler.pipeline import compile_sources
    from compiler.writers import engine, pdf
    from tests.helpers import MINI

    weasyprint = engine.load()
    assert engine.HTML is not weasyprint.HTML  # the lean sheet is in use (WeasyPrint's sheet had rules to drop)
    compiled = compile_sources(MINI, Diagnostics())
    lean = pdf.write(compiled.document, compiled.theme)
    monkeypatch.setattr(engine, "HTML", weasyprint.HTML)
    assert pdf.write(compiled.document, compiled.theme) == lean


def test_the_lean_user_agent_sheet_keeps_list_markers_and_drops_note_rules():
    from compiler.writers import engine

    stock = engine.load().html.UA
    lean = engine.lean_user_agent(stock)
    assert "::footnote-call" in stock and "::footnote-call" not in lean and "::note-callback" not in lean
    assert ":is(li, summary)::marker" in lean
    assert engine.lean_user_agent("p { color: red }\n") == "p { color: red }\n"  # nothing to drop: unchanged


_PARENT_PROBE = """
import sys
from pathlib import Path
from compiler.diagnostics import Diagnostics
from compiler.pipeline import Request, build
built = build(Request(sources=Path(sys.argv[1])), Diagnostics())
assert built.files, "nothing was built"
print("weasyprint" in sys.modules)
"""


def test_a_build_by_parts_leaves_weasyprint_to_its_workers(tmp_path):
    """The pool's host imports WeasyPrint while the parent reads the sources; the parent (the merge
    included) never imports it."""
    from tests.helpers import MINI

    env = dict(os.environ, FOLLOWUP_CACHE_DIR="")
    out = subprocess.run([sys.executable, "-c", _PARENT_PROBE, str(MINI)], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["False"]


_ON_FIRST_USE_PROBE = r"""
import json, sys
from compiler.writers import engine
engine.load()
import weasyprint.pdf.fonts as pdf_fonts, weasyprint.text.fonts as text_fonts
loaded = {name: name in sys.modules for name in engine._ON_FIRST_USE}
import fontTools.varLib.instancer as instancer
instancer.instantiateVariableFont = lambda *args, **kwargs: ("real", args, kwargs)
forwarded = pdf_fonts.instantiateVariableFont("font", {"wght": 400}, static=True)
import fontTools.subset, fontTools.ttLib.woff2
print(json.dumps({
    "loaded at first": loaded,
    "real modules afterwards": [type(sys.modules[name]).__name__ for name in engine._ON_FIRST_USE],
    "forwarded": list(map(str, forwarded)),
    "same subsetter": pdf_fonts.subset.Subsetter is fontTools.subset.Subsetter,
    "same decompress": text_fonts.woff2.decompress is fontTools.ttLib.woff2.decompress,
}))
"""


def test_weasyprint_s_rarely_used_font_tools_modules_load_when_first_used():
    import json

    out = subprocess.run([sys.executable, "-c", _ON_FIRST_USE_PROBE], cwd=ROOT, check=True, capture_output=True,
                         text=True, timeout=120)
    probe = json.loads(out.stdout)
    assert probe["loaded at first"] == {"fontTools.subset": False, "fontTools.ttLib.woff2": False,
                                        "fontTools.varLib.instancer": False}
    assert probe["real modules afterwards"] == ["module", "module", "module"]
    assert probe["forwarded"] == ["real", "('font', {'wght': 400})", "{'static': True}"]
    assert probe["same subsetter"] and probe["same decompress"]


_SHEETS_PROBE = r"""
import json, sys
if sys.argv[1] == "engine":
    from compiler.writers import engine
    engine.load()
import weasyprint, weasyprint.html
page = '<p align="center">中央</p><form><input value="入力"><select><option>一</option></select></form>'
doc = weasyprint.HTML(string=page).render(presentational_hints=True, pdf_forms=True)

def boxes(box, out):
    out.append([type(box).__name__, round(box.position_x, 3), round(box.position_y, 3), round(box.width, 3),
                round(box.height, 3)])
    for child in getattr(box, "children", ()):
        boxes(child, out)
    return out

parsed = [getattr(s, "_sheet", s) is not None for s in
          (weasyprint.html.UA_STYLESHEET, weasyprint.html.UA_FORM_STYLESHEET, weasyprint.html.PH_STYLESHEET)]
print(json.dumps({"boxes": boxes(doc.pages[0]._page_box, []), "parsed": parsed, "css": weasyprint.html.CSS is weasyprint.CSS}))
"""


def test_weasyprint_s_own_sheets_are_parsed_when_used_and_lay_out_as_before():
    """Forms and presentational hints (which this project does not use) still get WeasyPrint's sheets."""
    import json

    runs = {}
    for mode in ("plain", "engine"):
        out = subprocess.run([sys.executable, "-c", _SHEETS_PROBE, mode], cwd=ROOT, check=True, capture_output=True,
                             text=True, timeout=120)
        runs[mode] = json.loads(out.stdout)
    assert runs["engine"]["boxes"] == runs["plain"]["boxes"]
    assert len(runs["engine"]["boxes"]) > 8
    assert runs["engine"]["parsed"] == [True, True, True]  # all three used by the stock HTML class here
    assert runs["engine"]["css"]


def test_a_layout_parses_none_of_weasyprint_s_own_sheets():
    code = ("from compiler.writers import engine\nengine.load()\nimport weasyprint.html as h\n"
            "engine.HTML(string='<p>本文</p>').render()\n"
            "print([s._sheet is None for s in (h.UA_STYLESHEET, h.UA_FORM_STYLESHEET, h.PH_STYLESHEET)])")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "[True, True, True]"
