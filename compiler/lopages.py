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


def layout(docx: bytes, settings: Settings, pdf_out: Path | None = None) -> dict[str, int]:
    """Physical page (1-based) of every ``_Toc`` bookmark as LibreOffice lays the DOCX out."""
    if not available():
        raise LibreOfficeMissing(PACKAGES)
    with tempfile.TemporaryDirectory(prefix="followup-lo-") as tmp:
        tmpdir = Path(tmp)
        src = tmpdir / "in.docx"
        src.write_bytes(docx)
        out = tmpdir / "pages.json"
        env = dict(os.environ, FONTCONFIG_FILE=str(fontconfig_file(tmpdir, settings)), HOME=str(tmpdir))
        env.pop("PYTHONPATH", None)
        env.pop("VIRTUAL_ENV", None)
        args = [SYSTEM_PYTHON, str(UNO_SCRIPT), str(src), str(out), (tmpdir / "profile").as_uri()]
        if pdf_out is not None:
            args.append(str(pdf_out))
        r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
        if r.returncode != 0 or not out.exists():
            raise RuntimeError((r.stderr or r.stdout or "LibreOffice failed").strip()[-2000:])
        return json.loads(out.read_text(encoding="utf-8"))


def printed_pages(doc: Document, physical: dict[str, int]) -> dict[str, int]:
    """Bookmark pages → printed numbers: the first pillar heading opens page 1."""
    from compiler.render.docx import bookmark_names

    names = bookmark_names(doc)
    first = physical.get(names[doc.pillars[0].anchor], 1) if doc.pillars else 1
    return {anchor: physical[name] - first + 1 for anchor, name in names.items() if name in physical}


def fix_toc_pages(doc: Document, settings: Settings, docx: bytes, diags: Diagnostics) -> bytes | None:
    from compiler.render.docx import render_docx

    try:
        physical = layout(docx, settings)
    except LibreOfficeMissing as exc:
        diags.error("E050", "DOCX の目次のページ番号を確定するには LibreOffice が必要です。", None,
                    f"sudo apt-get install {exc} を実行してください。")
        return None
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        diags.error("E051", f"LibreOffice での組版に失敗しました（{exc}）。", None)
        return None
    return render_docx(doc, settings, printed_pages(doc, physical))
