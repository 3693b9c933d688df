"""LibreOffice page pass: lay the DOCX out in headless LibreOffice and cache true page numbers.

Used by release builds (and ``--libreoffice-pages``): LibreOffice reports the
page of every ``_Toc`` bookmark, and the DOCX is written again with those
numbers in its table of contents, so it opens with correct numbers without
updating fields. LibreOffice sees the project's fonts through a private
fontconfig file that maps the Windows family names to the shipped files.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from compiler.diagnostics import Diagnostics
from compiler.document import Document
from compiler.settings import FONTS_DIR, Settings

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


def fontconfig_file(directory: Path, settings: Settings) -> Path:
    """A fontconfig file adding fonts/ and aliasing the Word family names to the shipped fonts."""
    aliases = {settings.fonts.word_text: "BIZ UDMincho", settings.fonts.word_heading: "BIZ UDGothic"}
    rules = "".join(
        f'<alias binding="same"><family>{word}</family><prefer><family>{real}</family></prefer></alias>'
        for word, real in aliases.items() if word != real
    )
    conf = directory / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        '<include ignore_missing="yes">/etc/fonts/fonts.conf</include>'
        f"<dir>{FONTS_DIR}</dir><cachedir>{directory / 'fc-cache'}</cachedir>{rules}</fontconfig>",
        encoding="utf-8",
    )
    return conf


class Job:
    """One LibreOffice layout running in the background (so the PDF can be laid out meanwhile)."""

    def __init__(self, docx: bytes, settings: Settings, pdf_out: Path | None = None):
        if not available():
            raise LibreOfficeMissing(PACKAGES)
        self._tmp = tempfile.TemporaryDirectory(prefix="followup-lo-")
        tmpdir = Path(self._tmp.name)
        src = tmpdir / "in.docx"
        src.write_bytes(docx)
        self._out = tmpdir / "pages.json"
        env = dict(os.environ, FONTCONFIG_FILE=str(fontconfig_file(tmpdir, settings)), HOME=str(tmpdir))
        env.pop("PYTHONPATH", None)
        env.pop("VIRTUAL_ENV", None)
        args = [SYSTEM_PYTHON, str(UNO_SCRIPT), str(src), str(self._out), (tmpdir / "profile").as_uri()]
        if pdf_out is not None:
            args.append(str(pdf_out))
        self._proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def wait(self, timeout: float = 600) -> dict[str, int]:
        """Physical page (1-based) of every ``_Toc`` bookmark."""
        try:
            try:
                stdout, stderr = self._proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.communicate()
                raise RuntimeError(f"LibreOffice did not finish within {timeout:.0f} s")
            if self._proc.returncode != 0 or not self._out.exists():
                raise RuntimeError((stderr or stdout or "LibreOffice failed").strip()[-2000:])
            return json.loads(self._out.read_text(encoding="utf-8"))
        finally:
            self._tmp.cleanup()


def layout(docx: bytes, settings: Settings, pdf_out: Path | None = None) -> dict[str, int]:
    """Physical page (1-based) of every ``_Toc`` bookmark as LibreOffice lays the DOCX out."""
    return Job(docx, settings, pdf_out).wait()


def printed_pages(doc: Document, physical: dict[str, int]) -> dict[str, int]:
    """Bookmark pages → printed numbers: the first pillar heading opens page 1."""
    from compiler.render.docx import bookmark_names

    names = bookmark_names(doc)
    first = physical.get(names[doc.pillars[0].anchor], 1) if doc.pillars else 1
    return {anchor: physical[name] - first + 1 for anchor, name in names.items() if name in physical}


class PagePass:
    """The release DOCX: lay out a first DOCX in LibreOffice, then write it again with true page numbers.

    ``start`` returns at once; ``finish`` waits for LibreOffice. Page numbers only
    fill cached TOC fields on the front pages, so they cannot move the body."""

    def __init__(self, doc: Document, settings: Settings, diags: Diagnostics):
        from compiler.render.docx import render_docx

        self.doc, self.settings, self.diags = doc, settings, diags
        self.job: Job | None = None
        try:
            self.job = Job(render_docx(doc, settings, {}), settings)
        except LibreOfficeMissing as exc:
            diags.error("E050", "DOCX の目次のページ番号を確定するには LibreOffice が必要です。", None,
                        f"sudo apt-get install {exc} を実行してください。")

    def finish(self) -> bytes | None:
        from compiler.render.docx import render_docx

        if self.job is None:
            return None
        try:
            physical = self.job.wait()
        except RuntimeError as exc:
            self.diags.error("E051", f"LibreOffice での組版に失敗しました（{exc}）。", None)
            return None
        return render_docx(self.doc, self.settings, printed_pages(self.doc, physical))
