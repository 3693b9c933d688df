"""The PDF engine: WeasyPrint, imported once the way every PDF writer needs it.

Its one job is ``load()``, the single place WeasyPrint is first imported, the
``HTML`` class every writer reads its documents with, and ``extend()``, the one way
the PDF writer's small extensions (``justify``, ``pdf_rows``, ``leaders``) replace a
WeasyPrint function:

* fontconfig reads ``layouts/fonts.conf`` (fonts/ only, ``pdf.project_fonts_only``);
* an interrupt waits for the import to finish (``interrupt.deferred``);
* its C libraries are found without starting a compiler. WeasyPrint tries
  several names for each library (``libgobject-2.0-0``, ``gobject-2.0-0``,
  ``gobject-2.0``, ``libgobject-2.0.so.0``…); cffi hands each name that does
  not open to ``ctypes.util.find_library``, which on Linux runs ``ldconfig -p``
  and then ``gcc`` and ``ld`` (about 40 programs, a third of a second, and
  temporary files). During the import that lookup stops after ``ldconfig -p``,
  its first step, which finds every library ``gcc`` and ``ld`` would on Debian
  and Ubuntu (they search the same folders); and ``ldconfig -p`` is run once,
  its listing searched for every name;
* cffi reads a C type written as text (``ffi.new("unsigned int *")``, once per
  text and process) by handing pycparser a source that first declares, as
  ``typedef int``, every typedef name it knows: 65 for WeasyPrint's declarations,
  2 ms a type, and laying out and writing a document meets 16 types (0.03 s a
  process). Whether a name is a type only matters where the text uses it, so the
  parser is handed the declarations of the names the text uses
  (``_typedefs_used_only``): 0.3 ms a type, and the same types (``tests/test_engine.py``).

* three fontTools modules that WeasyPrint imports, and uses only for fonts this
  project does not lay out (WOFF, variable, colour or bitmap fonts) or where
  HarfBuzz cannot subset, are imported the first time one of their names is used
  (``_font_tools_on_first_use``): ``fontTools.subset``, ``fontTools.varLib.instancer``
  (which imports most of fontTools) and ``fontTools.ttLib.woff2``, 0.07 s of the
  0.29 s import. ``fontTools.ttLib``, whose error class WeasyPrint catches, is
  imported as usual.

* WeasyPrint's import parses its three user-agent stylesheets (0.04 s): the
  stylesheet, which ``HTML`` replaces with a lean one (below), the forms' and the
  presentational hints', which no layout of this project uses. They are parsed
  the first time they are used instead (``_user_agent_sheets_on_first_use``).

``HTML`` is WeasyPrint's, with a leaner user-agent stylesheet (``lean_user_agent``).
WeasyPrint's own gives every element of the document six pseudo-elements
(``::marker``, ``::footnote-call``, ``::footnote-marker``, ``::note-call``,
``::note-marker``, ``::note-callback``), and computes a style for each whether or
not the element ever makes such a box: six in seven of the styles of a body part,
a fifth of its layout time and a third of its layout memory. The lean sheet keeps
``::marker`` for the elements that are list items (``li``, ``summary``) and drops the
footnote and note rules, which only elements floated to footnotes or notes use:
no stylesheet of this project floats anything there. Otherwise it is WeasyPrint's
sheet, read from the installed package, so that the printed result is unchanged
(``tests/test_engine.py`` compares the PDF bytes both ways).
"""

from __future__ import annotations

import contextlib
import re
import types

_loaded = None
HTML = None  # weasyprint.HTML with the lean user-agent stylesheet, set by ``load()``

# The user-agent rules that give every element a pseudo-element (see the module docstring).
_NOTE_RULE = re.compile(r"^::(?:footnote-call|footnote-marker|note-call|note-marker|note-callback) \{[^}]*\}\n", re.M)
_MARKER_RULE = "\n::marker {"
_LIST_ITEM_MARKER_RULE = "\n:is(li, summary)::marker {"


def extend(module, name: str, supported: tuple[str, ...], make, keep_as: str) -> bool:
    """Replace ``module.name`` with ``make(original)``, once, on a WeasyPrint whose version starts with one
    of ``supported``; ``False`` (and nothing changed) on any other. The replacement keeps WeasyPrint's own
    function as its attribute ``keep_as`` (the tests lay out with it, to compare)."""
    import weasyprint

    if not weasyprint.__version__.startswith(supported):
        return False
    original = getattr(module, name)
    if getattr(original, "_fu_extension", False):
        return True
    replacement = make(original)
    replacement._fu_extension = True
    setattr(replacement, keep_as, original)
    setattr(module, name, replacement)
    return True


def load():
    """The ``weasyprint`` module, imported on first call (see the module docstring)."""
    global _loaded, HTML
    if _loaded is None:
        from compiler.interrupt import deferred
        from compiler.writers.pdf import project_fonts_only

        _typedefs_used_only()
        with deferred(), project_fonts_only(), _quick_library_lookup(), _font_tools_on_first_use(), \
                _user_agent_sheets_on_first_use():
            import weasyprint
            import weasyprint.html
            import weasyprint.text.fonts  # noqa: F401  (FontConfiguration, used by every writer)

            HTML = _lean_html_class(weasyprint)
        _loaded = weasyprint
    return _loaded


def lean_user_agent(text: str) -> str:
    """WeasyPrint's user-agent stylesheet ``text`` without the rules that make a pseudo-element of every
    element (see the module docstring); ``text`` itself where it has none of them (another version)."""
    lean = _NOTE_RULE.sub("", text)
    if _MARKER_RULE in lean:
        lean = lean.replace(_MARKER_RULE, _LIST_ITEM_MARKER_RULE, 1)
    return lean


def _lean_html_class(weasyprint):
    stock = weasyprint.html
    lean_text = lean_user_agent(stock.UA)
    if lean_text == stock.UA:
        return weasyprint.HTML
    sheet = weasyprint.CSS(string=lean_text, counter_style=stock.UA_COUNTER_STYLE)

    class LeanHTML(weasyprint.HTML):
        """``weasyprint.HTML`` read with the lean user-agent stylesheet."""

        def _ua_stylesheets(self, forms=False):
            return [sheet, stock.UA_FORM_STYLESHEET] if forms else [sheet]

    return LeanHTML


# cffi's parse source: its own declarations of every typedef name it knows, then the text to parse
# (``cffi.cparser.Parser._parse``, cffi 1.x and 2.x).
_CFFI_SUPPORTED = ("1.", "2.")
_TYPEDEF_LINE = re.compile(r"typedef int (\w+);")
_SOURCE_MARK = '# 1 "<cdef source string>"'
_WORD = re.compile(r"\w+")


def used_typedefs_only(source: str) -> str:
    """The parse source cffi made, without its ``typedef int NAME;`` lines for names its text never uses."""
    head, mark, text = source.partition(_SOURCE_MARK)
    if not mark:
        return source
    used = set(_WORD.findall(text))
    lines = [line for line in head.split("\n")
             if (found := _TYPEDEF_LINE.fullmatch(line)) is None or found.group(1) in used]
    return "\n".join(lines) + mark + text


class _UsedTypedefsParser:
    """cffi's one pycparser parser, handed each source without the typedefs it does not use."""

    def __init__(self, parser):
        self.parser = parser

    def parse(self, text, *args, **kwargs):
        return self.parser.parse(used_typedefs_only(text), *args, **kwargs)


def _typedefs_used_only() -> None:
    """From now on, cffi's parser gets only the typedef declarations a text uses (see the module docstring);
    nothing changes on a cffi whose parsing this does not know."""
    import cffi
    from cffi import cparser

    original = getattr(cparser, "_get_parser", None)
    if original is None or not cffi.__version__.startswith(_CFFI_SUPPORTED) or getattr(original, "_fu_extension", False):
        return

    def get_parser():
        return _UsedTypedefsParser(original())

    get_parser._fu_extension = True
    cparser._get_parser = get_parser


# glibc's name, in ``ldconfig -p``, of the ABI of each machine (``uname -m``, pointer bits) whose name differs
# from plain "libc6": CPython's table (``ctypes.util._findSoname_ldconfig``).
_LDCONFIG_ABI = {"x86_64-64": "libc6,x86-64", "ppc64-64": "libc6,64bit", "sparc64-64": "libc6,64bit",
                 "s390x-64": "libc6,64bit", "ia64-64": "libc6,IA-64"}


def _ldconfig_lookup():
    """``find_library`` as CPython's first step on Linux does it (the first ``lib<name>.*`` of this
    machine's ABI that ``ldconfig -p`` lists), but from one listing for every name; ``None`` where
    ``ldconfig`` cannot be run."""
    import os
    import struct
    import subprocess

    try:
        listing = subprocess.run(["/sbin/ldconfig", "-p"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, env={"LC_ALL": "C", "LANG": "C"}, check=False).stdout
    except OSError:
        return None
    abi = _LDCONFIG_ABI.get(f"{os.uname().machine}-{struct.calcsize('l') * 8}", "libc6")

    def find_library(name):
        found = re.search(rb"\s+(lib%s\.[^\s]+)\s+\(%s" % (re.escape(os.fsencode(name)), re.escape(abi.encode())),
                          listing)
        return os.fsdecode(found.group(1)) if found else None

    return find_library


@contextlib.contextmanager
def _quick_library_lookup():
    """Within the block, ``ctypes.util.find_library`` answers from one ``ldconfig -p`` listing (CPython's
    own first step, run once instead of once for each of WeasyPrint's 22 names: 0.035 s of the import)."""
    import ctypes.util

    original = ctypes.util.find_library
    if getattr(ctypes.util, "_findSoname_ldconfig", None) is not None:  # Linux with glibc
        ctypes.util.find_library = _ldconfig_lookup() or ctypes.util._findSoname_ldconfig
    try:
        yield
    finally:
        ctypes.util.find_library = original


# fontTools modules imported on first use during WeasyPrint's import (see the module docstring): each
# with the names WeasyPrint takes from it by ``from … import name`` (the others are reached as
# attributes of the module, ``subset.Options``).
_ON_FIRST_USE = {"fontTools.subset": (), "fontTools.ttLib.woff2": (), "fontTools.varLib.instancer": ("instantiateVariableFont",)}


class _OnFirstUse(types.ModuleType):
    """Stands for a module not imported yet: the first attribute asked of it imports the module."""

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(_real_module(self), name)


def _real_module(stand_in: _OnFirstUse):
    import importlib
    import sys

    if sys.modules.get(stand_in.__name__) is stand_in:  # asked for while WeasyPrint is still being imported
        del sys.modules[stand_in.__name__]
    return importlib.import_module(stand_in.__name__)


def _forwarder(stand_in: _OnFirstUse, name: str):
    def forward(*args, **kwargs):
        return getattr(_real_module(stand_in), name)(*args, **kwargs)

    forward.__name__ = forward.__qualname__ = name
    return forward


@contextlib.contextmanager
def _font_tools_on_first_use():
    """Within the block, importing a module of ``_ON_FIRST_USE`` gives a stand-in that imports it when
    it is used; afterwards, importing one imports it as usual (the stand-ins stay with WeasyPrint)."""
    import sys

    placed = {}
    for name, names in _ON_FIRST_USE.items():
        if name not in sys.modules:
            stand_in = _OnFirstUse(name)
            for attribute in names:
                setattr(stand_in, attribute, _forwarder(stand_in, attribute))
            placed[name] = sys.modules[name] = stand_in
    try:
        yield
    finally:
        for name, stand_in in placed.items():
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]


class _SheetOnFirstUse:
    """One of WeasyPrint's user-agent stylesheets, parsed (``CSS(*args, **kwargs)``) when first used.
    WeasyPrint only reads attributes of its stylesheets (``matcher``, ``page_rules``, ``layers``)."""

    def __init__(self, css_class, args, kwargs):
        self.__dict__.update(_class=css_class, _args=args, _kwargs=kwargs, _sheet=None)

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        if self._sheet is None:
            self.__dict__["_sheet"] = self._class(*self._args, **self._kwargs)
        return getattr(self._sheet, name)


class _HtmlModuleLoader:
    """Executes ``weasyprint.html`` with ``weasyprint.CSS`` standing for ``_SheetOnFirstUse``: the module
    makes its user-agent stylesheets as it is executed, and nothing else with ``CSS``."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        import sys

        package = sys.modules["weasyprint"]
        css_class = package.CSS
        package.CSS = lambda *args, **kwargs: _SheetOnFirstUse(css_class, args, kwargs)
        try:
            self.loader.exec_module(module)
        finally:
            package.CSS = module.CSS = css_class


class _HtmlModuleFinder:
    """Finds ``weasyprint.html`` as the path finder does, to be executed by ``_HtmlModuleLoader``."""

    @staticmethod
    def find_spec(fullname, path=None, target=None):
        from importlib.machinery import PathFinder

        if fullname != "weasyprint.html":
            return None
        spec = PathFinder.find_spec(fullname, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = _HtmlModuleLoader(spec.loader)
        return spec


@contextlib.contextmanager
def _user_agent_sheets_on_first_use():
    """Within the block, a first import of ``weasyprint.html`` leaves its stylesheets to be parsed when used."""
    import sys

    finder = _HtmlModuleFinder()
    if "weasyprint.html" not in sys.modules:
        sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        if finder in sys.meta_path:
            sys.meta_path.remove(finder)
