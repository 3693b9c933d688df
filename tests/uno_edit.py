"""Test helper run by LibreOffice's own Python (python3-uno): edit DOCX files the way a person would.

Usage: python3 tests/uno_edit.py JOBS.json PROFILE_URL

JOBS.json is a list of jobs ``{"in": IN.docx, "out": OUT.docx, "ops": [...]}``; all jobs share one
soffice (started here with the private profile PROFILE_URL, in this script's process group, killed
with it). Each job loads IN, applies its operations in order and stores OUT as "MS Word 2007 XML".
Operations (``find`` is a text searched in the document body; the first match is used):

* ``{"op": "record", "on": true, "author": "経産省 担当"}`` — change recording (変更履歴) on/off, and
  the author recorded for the changes and comments that follow;
* ``{"op": "replace", "find": "…", "with": "…"}`` — select the text and type over it;
* ``{"op": "insert", "after": "…", "text": "…"}`` — type ``text`` right after the found text;
* ``{"op": "delete", "find": "…"}`` — select the text and delete it;
* ``{"op": "enter", "after": "…", "text": "…"}`` — press Enter after the found text, type ``text``;
* ``{"op": "comment", "on": "…", "text": "…"}`` — a comment (コメント) on the found text, by the author set
  with ``record``.

With no operations the job is a plain open-and-save. An operation whose text is not found exits 2.

Comments need LibreOffice's UI files (``libreoffice-writer``; the ``-nogui`` package lacks
``annotation.ui`` and aborts on any comment), which ``scripts/deps.sh --test`` installs.
"""

import json
import os
import signal
import sys
from pathlib import Path

# LibreOffice's own start-up and connection, shared with the page pass (run by this same Python)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "compiler" / "paging"))
import uno  # noqa: E402
from uno_pages import prop, start, stop  # noqa: E402


def _stop_group(signum, frame):
    if os.getpgrp() == os.getpid():
        os.killpg(0, signal.SIGKILL)
    raise SystemExit(128 + (signum or signal.SIGTERM))


def found(doc, text):
    search = doc.createSearchDescriptor()
    search.SearchString = text
    search.SearchRegularExpression = False
    hit = doc.findFirst(search)
    if hit is None:
        sys.stderr.write(f"not found: {text!r}\n")
        raise SystemExit(2)
    return hit


AUTHOR = [""]  # the author named by the last ``record`` operation (comments carry it themselves)


def set_author(ctx, name):
    """The user name LibreOffice records as the author of changes and comments."""
    provider = ctx.ServiceManager.createInstanceWithContext("com.sun.star.configuration.ConfigurationProvider", ctx)
    access = provider.createInstanceWithArguments(
        "com.sun.star.configuration.ConfigurationUpdateAccess",
        (prop("nodepath", "/org.openoffice.UserProfile/Data"),))
    access.setPropertyValue("givenname", name)
    access.setPropertyValue("sn", "")
    access.commitChanges()


def apply(ctx, doc, op):
    kind = op["op"]
    if kind == "record":
        if op.get("author"):
            set_author(ctx, op["author"])
            AUTHOR[0] = op["author"]
        doc.setPropertyValue("RecordChanges", bool(op.get("on", True)))
    elif kind == "replace":
        hit = found(doc, op["find"])
        hit.setString(op["with"])
    elif kind == "insert":
        hit = found(doc, op["after"])
        hit.getText().insertString(hit.getEnd(), op["text"], False)
    elif kind == "delete":
        found(doc, op["find"]).setString("")
    elif kind == "enter":
        hit = found(doc, op["after"])
        cursor = hit.getText().createTextCursorByRange(hit.getEnd())
        from com.sun.star.text.ControlCharacter import PARAGRAPH_BREAK

        cursor.getText().insertControlCharacter(cursor, PARAGRAPH_BREAK, False)
        cursor.getText().insertString(cursor, op.get("text", ""), False)
    elif kind == "comment":
        hit = found(doc, op["on"])
        note = doc.createInstance("com.sun.star.text.textfield.Annotation")
        note.setPropertyValue("Author", op.get("author") or AUTHOR[0])
        note.setPropertyValue("Content", op["text"])
        hit.getText().insertTextContent(hit, note, True)
    else:
        raise SystemExit(f"unknown operation {kind!r}")


def main():
    signal.signal(signal.SIGTERM, _stop_group)
    signal.signal(signal.SIGHUP, _stop_group)
    jobs_file, profile = sys.argv[1:3]
    with open(jobs_file, encoding="utf-8") as fh:
        jobs = json.load(fh)
    proc, ctx, desktop = start(profile)
    try:
        for job in jobs:
            doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(os.path.abspath(job["in"])), "_blank", 0,
                                               (prop("Hidden", True),))
            for op in job.get("ops", []):
                apply(ctx, doc, op)
            doc.storeToURL(uno.systemPathToFileUrl(os.path.abspath(job["out"])),
                           (prop("FilterName", "MS Word 2007 XML"), prop("Overwrite", True)))
            doc.close(True)
    finally:
        stop(proc, desktop)


if __name__ == "__main__":
    main()
