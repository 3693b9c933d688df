"""Run by LibreOffice's own Python (python3-uno), not imported by the package.

Usage: python3 uno_pages.py IN.docx OUT.json PROFILE_URL [PDF_OUT]
Loads the DOCX in a headless LibreOffice, lets it lay the document out, and
writes the physical page (1-based) of every bookmark to OUT.json, with the
page count under the empty name "".
With PDF_OUT it also exports that layout to PDF (used by the tests).
"""

import json
import os
import signal
import subprocess
import sys
import time

import uno
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException


def prop(name, value):
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def _stop_group(signum, frame):
    """Killed (or the parent died, see PR_SET_PDEATHSIG in libreoffice.py): take soffice along.

    Only when this script leads its own process group (as libreoffice.Job starts it)."""
    if os.getpgrp() == os.getpid():
        os.killpg(0, signal.SIGKILL)
    raise SystemExit(128 + (signum or signal.SIGTERM))


def start(profile):
    """soffice with the private profile ``profile`` (a file URL), and a UNO connection to it:
    (process, component context, desktop). Shared with the tests' editing script."""
    pipe = f"followup_{os.getpid()}"
    proc = subprocess.Popen(
        ["soffice", f"-env:UserInstallation={profile}", "--headless", "--invisible", "--nologo",
         "--norestore", "--nodefault", "--nolockcheck", f"--accept=pipe,name={pipe};urp;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    ctx = None
    deadline = time.time() + 60
    while ctx is None:
        try:
            ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
        except NoConnectException:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                raise SystemExit("LibreOffice did not start")
            time.sleep(0.05)
    return proc, ctx, ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)


def stop(proc, desktop):
    """Ask LibreOffice to quit; kill it if it does not within 20 s."""
    try:
        desktop.terminate()
    except Exception:
        pass
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def main():
    signal.signal(signal.SIGTERM, _stop_group)
    signal.signal(signal.SIGHUP, _stop_group)
    if os.environ.get("FOLLOWUP_PARENT_PID", str(os.getppid())) != str(os.getppid()):  # died before the signal was armed
        _stop_group(None, None)
    docx, out, profile = sys.argv[1:4]
    pdf_out = sys.argv[4] if len(sys.argv) > 4 else None
    proc, ctx, desktop = start(profile)
    try:
        doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(os.path.abspath(docx)), "_blank", 0,
                                           (prop("Hidden", True),))
        cursor = doc.getCurrentController().getViewCursor()
        bookmarks = doc.getBookmarks()
        pages = {}
        for name in bookmarks.getElementNames():
            if name.startswith("fu_"):  # the DOCX writer's field handles: no page needed
                continue
            cursor.gotoRange(bookmarks.getByName(name).getAnchor(), False)
            pages[name] = cursor.getPage()
        cursor.jumpToLastPage()
        pages[""] = cursor.getPage()
        if pdf_out:
            doc.storeToURL(uno.systemPathToFileUrl(os.path.abspath(pdf_out)),
                           (prop("FilterName", "writer_pdf_Export"),))
        doc.close(True)
        with open(out, "w", encoding="utf-8") as fh:
            json.dump(pages, fh)
    finally:
        stop(proc, desktop)


if __name__ == "__main__":
    main()
