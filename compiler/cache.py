"""Part cache: laid-out PDF parts kept between builds, keyed by everything that shapes their bytes.

A key (``part_key``) is the sha256 of the part's HTML and stylesheet as rendered, the PDF variant and
identifier, the files under fonts/ and layouts/, the versions of WeasyPrint and its writer, and the
source files of this package (so that a changed writer or layout rule never reuses an old part).
Each entry is one file ``<key>.part``: a JSON header line (page count, anchors, bookmark levels,
sha256 and length of the PDF) followed by the PDF bytes.

Entries are never trusted blindly: a header that does not parse, a PDF whose length or sha256 does
not match, is treated as absent (and removed), so the part is laid out again. Entries are written
to a temporary file in the same folder, then renamed into place: a reader sees a whole entry or
none, and two builds writing the same entry at once both leave a whole one. They are not synced
to disk (a sync per part cost a build more than the write): after a crash of the machine an entry
may be torn, and then fails its length or sha256 check like any damaged entry.

The folder: ``$FOLLOWUP_CACHE_DIR`` if set (empty: no cache), else ``$XDG_CACHE_HOME/followup/parts``,
else ``~/.cache/followup/parts``. At most ``MAX_ENTRIES`` entries are kept (the least recently used go).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from compiler import user_cache

FORMAT = "followup-part/1"
MAX_ENTRIES = 400
SUFFIX = ".part"


@dataclass(frozen=True)
class PartResult:
    """A laid-out part: its PDF and what the merge needs to know about its pages."""

    pdf: bytes
    pages: int
    anchors: dict[str, int]  # anchor → 0-based page index in the part (first occurrence)
    levels: tuple[int, ...]  # bookmark level of each outline entry, in document order


def default_folder() -> Path | None:
    chosen = os.environ.get("FOLLOWUP_CACHE_DIR")
    if chosen is not None:
        return Path(chosen) if chosen else None
    return user_cache.folder() / "parts"


@lru_cache(maxsize=None)
def file_sha256(path: Path) -> str:
    """The sha256 of a file of the project (fonts, layouts, sources of this package), read once a process:
    the key's fingerprint and the merge's font stubs (``part_fonts.shipped``) both name the fonts by it."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


@lru_cache(maxsize=1)
def _fingerprint() -> str:
    """Versions of the layout libraries, and the project's fonts, layouts and own source files."""
    from importlib import metadata

    from compiler import __version__
    from compiler.theme import PROJECT_ROOT

    digest = hashlib.sha256(f"followup {__version__}".encode())
    for name in ("weasyprint", "pydyf", "fonttools", "pikepdf"):
        try:
            digest.update(f"\0{name} {metadata.version(name)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"\0{name} -".encode())
    package = Path(__file__).resolve().parent
    files = [p for folder in (PROJECT_ROOT / "fonts", PROJECT_ROOT / "layouts") if folder.is_dir()
             for p in folder.rglob("*") if p.is_file()]
    files += [p for p in package.rglob("*.py")]
    for path in sorted(files):
        digest.update(b"\0" + path.name.encode() + b"\0" + bytes.fromhex(file_sha256(path)))
    return digest.hexdigest()


def part_key(*pieces: str | bytes | None) -> str:
    """The cache key of a part from what it is made of (its HTML, its stylesheet, the variant…)."""
    digest = hashlib.sha256(_fingerprint().encode())
    for piece in pieces:
        data = b"\xff" if piece is None else piece if isinstance(piece, bytes) else piece.encode("utf-8")
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


class PartCache:
    """Laid-out parts on disk (``folder`` ``None``: nothing is kept, every part is laid out)."""

    def __init__(self, folder: Path | None):
        self.folder = Path(folder) if folder is not None else None

    def fingerprint(self) -> None:
        """Hash the project's files for the keys now (once a process), e.g. before forking a helper that reads
        them too; nothing without a folder, where no key is made."""
        if self.folder is not None:
            _fingerprint()

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}{SUFFIX}"

    def get(self, key: str) -> PartResult | None:
        if self.folder is None:
            return None
        path = self._path(key)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        try:
            head, _, pdf = data.partition(b"\n")
            meta = json.loads(head)
            if (meta.get("format") != FORMAT or len(pdf) != meta["length"]
                    or hashlib.sha256(pdf).hexdigest() != meta["sha256"] or not pdf.startswith(b"%PDF-")):
                raise ValueError("damaged entry")
            result = PartResult(pdf, int(meta["pages"]), {str(k): int(v) for k, v in meta["anchors"].items()},
                                tuple(int(v) for v in meta["levels"]))
        except (ValueError, KeyError, TypeError, AttributeError):
            self.discard(key)
            return None
        try:
            os.utime(path)  # recently used
        except OSError:
            pass
        return result

    def discard(self, key: str) -> None:
        if self.folder is not None:
            try:
                self._path(key).unlink()
            except OSError:
                pass

    def put(self, key: str, result: PartResult) -> None:
        """Store ``result`` (best effort: a cache that cannot be written only makes the next build slower)."""
        if self.folder is None:
            return
        meta = {"format": FORMAT, "pages": result.pages, "anchors": result.anchors, "levels": list(result.levels),
                "length": len(result.pdf), "sha256": hashlib.sha256(result.pdf).hexdigest()}
        head = json.dumps(meta, ensure_ascii=False, sort_keys=True).encode("utf-8")
        tmp = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=self.folder)
            with os.fdopen(fd, "wb") as fh:
                fh.write(head + b"\n" + result.pdf)  # not synced: a torn entry fails its sha256 and is laid out again
            os.replace(tmp, self._path(key))
            tmp = None
        except OSError:
            pass
        finally:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass

    def prune(self, keep: int = MAX_ENTRIES) -> None:
        """Remove the least recently used entries beyond ``keep``."""
        if self.folder is None:
            return
        try:
            entries = sorted(self.folder.glob(f"*{SUFFIX}"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        except OSError:
            return
        for path in entries[keep:]:
            try:
                path.unlink()
            except OSError:
                pass
