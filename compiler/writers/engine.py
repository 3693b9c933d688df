"""The PDF engine: WeasyPrint, imported once the way every PDF writer needs it.

Its one job is ``load()``, the single place WeasyPrint is first imported:

* fontconfig reads ``layouts/fonts.conf`` (fonts/ only, ``pdf.project_fonts_only``);
* an interrupt waits for the import to finish (``interrupt.deferred``);
* its C libraries are found without starting a compiler. WeasyPrint tries
  several names for each library (``libgobject-2.0-0``, ``gobject-2.0-0``,
  ``gobject-2.0``, ``libgobject-2.0.so.0``…); cffi hands each name that does
  not open to ``ctypes.util.find_library``, which on Linux runs ``ldconfig -p``
  and then ``gcc`` and ``ld`` (about 40 programs, a third of a second, and
  temporary files). During the import that lookup stops after ``ldconfig -p``,
  its first step, which finds every library ``gcc`` and ``ld`` would on Debian
  and Ubuntu (they search the same folders).
"""

from __future__ import annotations

import contextlib

_loaded = None


def load():
    """The ``weasyprint`` module, imported on first call (see the module docstring)."""
    global _loaded
    if _loaded is None:
        from compiler.interrupt import deferred
        from compiler.writers.pdf import project_fonts_only

        with deferred(), project_fonts_only(), _quick_library_lookup():
            import weasyprint
            import weasyprint.text.fonts  # noqa: F401  (FontConfiguration, used by every writer)
        _loaded = weasyprint
    return _loaded


@contextlib.contextmanager
def _quick_library_lookup():
    """Within the block, ``ctypes.util.find_library`` asks ``ldconfig -p`` only (CPython's own first step)."""
    import ctypes.util

    original = ctypes.util.find_library
    ldconfig_only = getattr(ctypes.util, "_findSoname_ldconfig", None)  # Linux with glibc
    if ldconfig_only is not None:
        ctypes.util.find_library = ldconfig_only
    try:
        yield
    finally:
        ctypes.util.find_library = original
