"""Page map from LibreOffice: lay a DOCX out in headless LibreOffice and read its bookmarks' pages.

Used by release builds (and ``--libreoffice-pages``): LibreOffice reports the
page of every bookmark, which the DOCX writer's public ``toc_bookmarks`` maps
back to anchors, so the DOCX can be written again with true numbers in its
table of contents. The DOCX carries its fonts (embedded, under the shipped
files' own family names); LibreOffice also sees fonts/ through a private
fontconfig file, so a DOCX written without embedded fonts lays out the same.

The page pass runs in its own process group (``start_new_session``), which
``Job.stop`` kills as a whole (the script, soffice and soffice.bin) and which
also goes when the parent dies: the script receives SIGTERM then
(``PR_SET_PDEATHSIG``) and kills its group.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from compiler import interrupt
from compiler.paging import PageMap
from compiler.theme import FONTS_DIR, Theme

UNO_SCRIPT = Path(__file__).with_name("uno_pages.py")
SYSTEM_PYTHON = "/usr/bin/python3"
PACKAGES = "libreoffice-writer-nogui python3-uno"


class LibreOfficeMissing(RuntimeError):
    pass


def available() -> bool:
    if not shutil.which("soffice"):
        return False
    r = subprocess.run([SYSTEM_PYTHON, "-c", "import uno"], capture_output=True)
    return r.returncode == 0


def fontconfig_file(directory: Path, theme: Theme | None = None, fonts_dir: Path | None = FONTS_DIR,
                    system: bool = True) -> Path:
    """A fontconfig file seeing ``fonts_dir`` (the shipped fonts), and the system's fonts unless ``system`` is false."""
    include = '<include ignore_missing="yes">/etc/fonts/fonts.conf</include>' if system else ""
    folder = f"<dir>{fonts_dir}</dir>" if fonts_dir else ""
    conf = directory / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        f"{include}{folder}<cachedir>{directory / 'fc-cache'}</cachedir></fontconfig>",
        encoding="utf-8",
    )
    return conf


class Job:
    """One LibreOffice layout running in the background (so the PDF can be laid out meanwhile)."""

    def __init__(self, docx: bytes, theme: Theme, pdf_out: Path | None = None, fontconfig: Path | None = None):
        """``fontconfig``: the fontconfig file LibreOffice runs with (default: the system's fonts and fonts/)."""
        if not available():
            raise LibreOfficeMissing(PACKAGES)
        self._tmp = tempfile.TemporaryDirectory(prefix="followup-lo-")
        tmpdir = Path(self._tmp.name)
        src = tmpdir / "in.docx"
        src.write_bytes(docx)
        self._out = tmpdir / "pages.json"
        env = dict(os.environ, FONTCONFIG_FILE=str(fontconfig or fontconfig_file(tmpdir, theme)), HOME=str(tmpdir),
                   TMPDIR=str(tmpdir))  # LibreOffice's own temporary files go where stop() removes them
        env["FOLLOWUP_PARENT_PID"] = str(os.getpid())
        env.pop("PYTHONPATH", None)
        env.pop("VIRTUAL_ENV", None)
        args = [SYSTEM_PYTHON, str(UNO_SCRIPT), str(src), str(self._out), (tmpdir / "profile").as_uri()]
        if pdf_out is not None:
            args.append(str(pdf_out))
        self._proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                      start_new_session=True, preexec_fn=_die_with_parent)

    def stop(self) -> None:
        """Kill the page pass's whole process group if it still runs, remove its folder (idempotent)."""
        if self._proc.returncode is None:
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self._proc.communicate()
        self._tmp.cleanup()

    def wait(self, timeout: float = 600) -> dict[str, int]:
        """Physical page (1-based) of every bookmark; the page count under ``""``."""
        try:
            try:
                stdout, stderr = self._proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.stop()
                raise RuntimeError(f"LibreOffice did not finish within {timeout:.0f} s")
            if self._proc.returncode != 0 or not self._out.exists():
                raise RuntimeError((stderr or stdout or "LibreOffice failed").strip()[-2000:])
            return json.loads(self._out.read_text(encoding="utf-8"))
        finally:
            self.stop()


def _die_with_parent() -> None:
    interrupt.die_with_parent(signal.SIGTERM)  # uno_pages.py then kills its process group


def page_map(job: Job, bookmarks: dict[str, str], body_anchor: str | None) -> PageMap:
    """Wait for ``job``; ``bookmarks`` maps anchors to the bookmark names written in the DOCX."""
    physical = job.wait()
    by_anchor = {anchor: physical[name] for anchor, name in bookmarks.items() if name in physical}
    return PageMap.from_physical(by_anchor, body_anchor, "libreoffice", physical.get(""))
