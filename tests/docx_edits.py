"""Editing DOCX files for the import tests: LibreOffice through UNO (tests/uno_edit.py) and python-docx.

``libreoffice_edit`` runs many jobs in one LibreOffice (one start-up), with a private profile in its
own folder, in a new process group that is killed as a whole when the run ends (tests can run in
parallel). The python-docx helpers stand for what LibreOffice cannot do headless here (comments) or
what a person does in Word by hand (Enter, indenting, deleting a marked paragraph, moving a row).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

from tests.helpers import require_libreoffice

UNO_EDIT = Path(__file__).with_name("uno_edit.py")


def libreoffice_edit(jobs: dict[str, tuple[Path, list[dict]]], work: Path) -> dict[str, Path]:
    """{name: (input DOCX, operations)} → {name: the DOCX LibreOffice saved}."""
    from compiler.paging import libreoffice as lopages

    require_libreoffice()
    work.mkdir(parents=True, exist_ok=True)
    out = {name: work / f"{name}.docx" for name in jobs}
    spec = work / "jobs.json"
    spec.write_text(json.dumps([{"in": str(src), "out": str(out[name]), "ops": ops}
                                for name, (src, ops) in jobs.items()], ensure_ascii=False), encoding="utf-8")
    env = dict(os.environ, HOME=str(work), TMPDIR=str(work),
               FONTCONFIG_FILE=str(lopages.fontconfig_file(work)))
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    proc = subprocess.Popen([lopages.SYSTEM_PYTHON, str(UNO_EDIT), str(spec), (work / "profile").as_uri()], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # soffice and anything it left behind
        except ProcessLookupError:
            pass
    assert proc.returncode == 0, f"uno_edit.py failed ({proc.returncode}): {stderr[-2000:]}"
    for path in out.values():
        assert path.exists(), path
    return out


# --- python-docx -------------------------------------------------------------------------------

def _w(tag: str) -> str:
    from docx.oxml.ns import qn

    return qn(f"w:{tag}")


def paragraph_text(p) -> str:
    return "".join(t.text or "" for t in p.iter(_w("t")))


def find_paragraph(document, text: str, nth: int = 0):
    """The first (``nth``) body paragraph (table cells included) whose text holds ``text``."""
    found = [p for p in document.element.body.iter(_w("p")) if text in paragraph_text(p)]
    assert len(found) > nth, f"no paragraph {nth} holds {text!r}"
    return found[nth]


def edit(src: Path, dst: Path, change) -> Path:
    """Open ``src`` with python-docx, ``change(document)``, save as ``dst``."""
    import docx

    document = docx.Document(str(src))
    change(document)
    document.save(str(dst))
    return dst


def press_enter(document, after: str, text: str, style_like=None, nth: int = 0) -> None:
    """A new paragraph after the one holding ``after``, with its style (or ``style_like``'s), no bookmark."""
    import copy

    p = find_paragraph(document, after, nth)
    new = copy.deepcopy(p)
    for child in list(new):
        if child.tag != _w("pPr"):
            new.remove(child)
    if style_like is not None:
        new.remove(new.find(_w("pPr")))
        new.insert(0, copy.deepcopy(find_paragraph(document, style_like).find(_w("pPr"))))
    run = new.makeelement(_w("r"), {})
    t = run.makeelement(_w("t"), {})
    t.text = text
    run.append(t)
    new.append(run)
    p.addnext(new)


def replace_text(document, old: str, new: str) -> None:
    """Replace ``old`` inside the one run that holds it."""
    for t in document.element.body.iter(_w("t")):
        if t.text and old in t.text:
            t.text = t.text.replace(old, new)
            return
    raise AssertionError(f"no run holds {old!r}")


def retype(document, contains: str, old: str, new: str) -> None:
    """Replace ``old`` in the text of the paragraph holding ``contains``, across its runs."""
    p = find_paragraph(document, contains)
    ts = list(p.iter(_w("t")))
    whole = "".join(t.text or "" for t in ts)
    assert old in whole, (old, whole)
    ts[0].text = whole.replace(old, new)
    for t in ts[1:]:
        t.text = ""


def restyle(document, text: str, style_id: str) -> None:
    p = find_paragraph(document, text)
    p.find(_w("pPr")).find(_w("pStyle")).set(_w("val"), style_id)


def delete_paragraph(document, text: str) -> None:
    p = find_paragraph(document, text)
    p.getparent().remove(p)


def move_after(document, text: str, anchor: str) -> None:
    p = find_paragraph(document, text)
    find_paragraph(document, anchor).addnext(p)


def comment(document, text: str, note: str, author: str) -> None:
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                for para in cell.paragraphs:
                    if text in para.text:
                        document.add_comment(para.runs, text=note, author=author)
                        return
    raise AssertionError(f"no cell paragraph holds {text!r}")


def swap_rows(document, first: str, second: str) -> None:
    """Move the table row holding ``second`` before the row holding ``first``."""
    def row_of(text):
        node = find_paragraph(document, text)
        while node.tag != _w("tr"):
            node = node.getparent()
        return node

    row_of(first).addprevious(row_of(second))
