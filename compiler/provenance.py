"""Provenance: what shaped a release's bytes.

This module's one job is to name everything besides the sources that decides the bytes of
a release, so another machine can check it builds with the same things:

* ``library_versions()`` lists the versions of Python, the Python libraries that lay out
  and write the documents, the C libraries WeasyPrint really loaded (Pango, HarfBuzz,
  fontconfig), and LibreOffice, which numbers the DOCX table of contents. It imports
  WeasyPrint (about 0.4 s) and runs ``soffice --version``, so call it only at release time.
* ``input_hashes(root)`` gives the sha256 of every file under the project's ``fonts/`` and
  ``layouts/``.
* ``compare(expected, actual)`` names the first key where two such dicts disagree, for the
  command that checks a release against its record.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import stat
import subprocess
import sys
from importlib import metadata
from pathlib import Path

# Distribution names on the package index, as keys of library_versions().
PYTHON_DISTRIBUTIONS = ("weasyprint", "pydyf", "python-docx", "pydantic", "jinja2", "fonttools")
C_LIBRARIES = ("pango", "harfbuzz", "fontconfig")
INPUT_DIRECTORIES = ("fonts", "layouts")

# WeasyPrint 70 declares only pango_version() and hb_version_atleast() in its cffi
# bindings, so the version strings of HarfBuzz and fontconfig are read through a private
# declaration from the very shared objects WeasyPrint opened (found in the process's
# memory map; opening an already loaded object again gives the same one).
_C_DECLARATIONS = """
const char *hb_version_string (void);
int FcGetVersion (void);
"""
# File name prefixes of the shared objects (Linux, then macOS), and the names WeasyPrint
# tries when the memory map cannot be read.
_SHARED_OBJECTS = {
    "harfbuzz": (("libharfbuzz.so", "libharfbuzz.0.dylib"),
                 ("libharfbuzz.so.0", "libharfbuzz-0", "harfbuzz", "libharfbuzz.0.dylib")),
    "fontconfig": (("libfontconfig.so", "libfontconfig.1.dylib"),
                   ("libfontconfig.so.1", "libfontconfig-1", "fontconfig", "libfontconfig.1.dylib")),
}
LIBREOFFICE_PACKAGES = ("libreoffice-core", "libreoffice-core-nogui")


def library_versions() -> dict[str, str]:
    """Versions of everything that lays out or writes a release, keyed by lower-case name.

    Keys: ``python``, the distributions of ``PYTHON_DISTRIBUTIONS``, the C libraries of
    ``C_LIBRARIES`` and ``libreoffice``. A Python distribution that is not installed, and
    LibreOffice when it is not installed, have ``""``. The C libraries are those WeasyPrint
    loads; if WeasyPrint cannot load them, importing it raises as it would in a build.
    """
    versions = {"python": platform.python_version()}
    for name in PYTHON_DISTRIBUTIONS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = ""
    versions.update(_c_library_versions())
    versions["libreoffice"] = libreoffice_version()
    return dict(sorted(versions.items()))


def _c_library_versions() -> dict[str, str]:
    import cffi

    from compiler.writers import engine

    engine.load()  # opens the libraries the way a build does
    from weasyprint.text import ffi as weasy

    pango = weasy.pango.pango_version()  # major * 10000 + minor * 100 + micro
    own = cffi.FFI()
    own.cdef(_C_DECLARATIONS)
    harfbuzz = own.dlopen(_loaded_object("harfbuzz"))
    fontconfig = own.dlopen(_loaded_object("fontconfig"))
    return {
        "pango": _dotted(pango),
        "harfbuzz": own.string(harfbuzz.hb_version_string()).decode("ascii"),
        "fontconfig": _dotted(fontconfig.FcGetVersion()),
    }


def _dotted(number: int) -> str:
    return f"{number // 10000}.{number // 100 % 100}.{number % 100}"


def _loaded_object(library: str) -> str:
    """Path of the loaded shared object of ``library``, or the first name that opens."""
    prefixes, names = _SHARED_OBJECTS[library]
    try:
        with open(f"/proc/{os.getpid()}/maps", encoding="utf-8", errors="replace") as maps:
            for line in maps:
                path = line.rstrip("\n").split(None, 5)[-1]
                if path.startswith("/") and os.path.basename(path).startswith(prefixes):
                    return path
    except OSError:
        pass
    import ctypes
    for name in names:
        try:
            ctypes.CDLL(name)
            return name
        except OSError:
            continue
    return names[0]


def libreoffice_version() -> str:
    """LibreOffice's version as ``soffice --version`` prints it (``7.4.7.2``), else the
    Debian package version of ``libreoffice-core``, else ``""`` when it is not installed."""
    soffice = shutil.which("soffice")
    if soffice:
        try:
            out = subprocess.run([soffice, "--version"], capture_output=True, text=True,
                                 timeout=60, stdin=subprocess.DEVNULL).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        match = re.search(r"LibreOffice\s+(\d+(?:\.\d+)+)", out)
        if match:
            return match.group(1)
    if shutil.which("dpkg-query"):
        for package in LIBREOFFICE_PACKAGES:
            r = subprocess.run(["dpkg-query", "-W", "-f=${Status}\t${Version}", package],
                               capture_output=True, text=True)
            status, _, version = r.stdout.partition("\t")
            if r.returncode == 0 and status.endswith("ok installed") and version:
                return version
    return ""


def input_hashes(root: Path) -> dict[str, str]:
    """sha256 (hex) of every regular file under ``fonts/`` and ``layouts/`` of ``root``.

    Keyed by POSIX path relative to ``root`` (``"fonts/BIZUDMincho-Regular.ttf"``), in
    sorted order. A directory that does not exist contributes nothing. Symbolic links and
    other special files are refused with ``ValueError``: what they point at lies outside
    the project, so a record of the link would not say which bytes were used.
    """
    root = Path(root)
    hashes: dict[str, str] = {}
    for top in INPUT_DIRECTORIES:
        base = root / top
        if not os.path.lexists(base):
            continue
        _refuse_unless(base, stat.S_ISDIR, root)
        for directory, dirnames, filenames in os.walk(base, followlinks=False):
            here = Path(directory)
            for name in dirnames:
                _refuse_unless(here / name, stat.S_ISDIR, root)
            for name in filenames:
                path = here / name
                _refuse_unless(path, stat.S_ISREG, root)
                hashes[path.relative_to(root).as_posix()] = _sha256(path)
    return dict(sorted(hashes.items()))


def _refuse_unless(path: Path, is_kind, root: Path) -> None:
    mode = os.lstat(path).st_mode
    if not is_kind(mode):
        what = "a symbolic link" if stat.S_ISLNK(mode) else "not a regular file or directory"
        raise ValueError(f"{path.relative_to(root).as_posix()} is {what}; "
                         "provenance covers only files inside the project")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def compare(expected: dict, actual: dict) -> str | None:
    """The first key, in sorted order, whose value differs or that one side lacks; ``None``
    when both dicts have the same keys with equal values."""
    for key in sorted(set(expected) | set(actual)):
        if key not in expected or key not in actual or expected[key] != actual[key]:
            return key
    return None


if __name__ == "__main__":  # python -m compiler.provenance: print both records
    import json
    json.dump({"libraries": library_versions(),
               "inputs": input_hashes(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())},
              sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
