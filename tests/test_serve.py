"""followup serve: the live page in Debian's Chromium (Playwright), and what the server refuses to serve."""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.helpers import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
ITEM = "10-alpha/10-first/010-first-a.yaml"


def start_serve(sources: Path, out: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    """``followup serve`` on a free port in a subprocess; returns it and its address."""
    proc = subprocess.Popen([sys.executable, "-m", "compiler", "serve", "--sources", str(sources), "--port", "0",
                             "--out", str(out), *extra], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    line = proc.stdout.readline()
    match = re.search(r"http://[\d.]+:\d+", line)
    if not match:
        proc.kill()
        raise AssertionError(f"serve did not start: {line!r} {proc.stderr.read()}")
    threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep the pipe drained
    return proc, match.group(0)


def stop_serve(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_live_page_follows_edits_without_reload(mini, tmp_path):
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import expect, sync_playwright

    assert Path(CHROMIUM).exists(), "Chromium is required: apt-get install chromium (scripts/deps.sh --test installs it)"
    item = mini / ITEM
    original = item.read_text(encoding="utf-8")
    proc, url = start_serve(mini, tmp_path / "out")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 900, "height": 400})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(url + "/")
            expect(page.locator("#fu-bar .fu-state")).to_be_visible()
            assert "甲の一つ目の状況。" in page.locator("#fu-doc").inner_text()
            page.evaluate("window.fuMarker = 'loaded-once'; window.scrollTo(0, 300)")
            assert page.evaluate("window.scrollY") == 300

            # an edit appears without a reload, at the same scroll position
            item.write_text(original.replace("甲の一つ目の状況。", "ライブで書き換えた状況。"), encoding="utf-8")
            expect(page.locator("#fu-doc")).to_contain_text("ライブで書き換えた状況。")
            assert page.evaluate("window.fuMarker") == "loaded-once"
            assert page.evaluate("window.scrollY") == 300

            # a broken file: the diagnostic with file:line in the page, the last good content kept
            broken = original.replace("category:", "categroy:")
            line = next(n for n, text in enumerate(broken.splitlines(), 1) if text.startswith("categroy:"))
            item.write_text(broken, encoding="utf-8")
            diagnostic = page.locator("#fu-diags li[data-code='E010']")
            expect(diagnostic).to_be_visible()
            assert f"{ITEM}:{line}:1" in diagnostic.inner_text()
            assert "categroy" in diagnostic.locator("pre").inner_text()
            assert "ライブで書き換えた状況。" in page.locator("#fu-doc").inner_text()

            # fixed: the diagnostic goes, the new content comes, still no reload
            item.write_text(original.replace("甲の一つ目の状況。", "直した後の状況。"), encoding="utf-8")
            expect(page.locator("#fu-doc")).to_contain_text("直した後の状況。")
            expect(page.locator("#fu-diags li")).to_have_count(0)
            expect(page.locator("#fu-diags")).to_be_hidden()
            assert page.evaluate("window.fuMarker") == "loaded-once"

            # the PDF and DOCX built in the background are linked and served
            for fmt, mime in (("pdf", "application/pdf"), ("docx", "application/vnd.openxml")):
                link = page.locator(f"#fu-bar a[data-format='{fmt}']")
                expect(link).to_be_visible(timeout=60_000)
                response = page.request.get(url + link.get_attribute("href"))
                assert response.status == 200 and response.headers["content-type"].startswith(mime)
            assert not errors, errors
            browser.close()
    finally:
        status = stop_serve(proc)
    assert status == 0
    assert not list((tmp_path / "out").rglob("*.tmp"))


# --- what is served, in process ----------------------------------------------------------

@pytest.fixture
def server(mini, tmp_path):
    """A preview server on a free port with a private fonts folder holding one (fake) shipped font."""
    from compiler.serve import Preview, make_server
    from compiler.theme import load_theme

    fonts = tmp_path / "fonts"
    fonts.mkdir()
    theme = load_theme()
    (fonts / theme.fonts.text).write_bytes(b"not really a font")
    (tmp_path / "secret.txt").write_text("secret", encoding="utf-8")
    os.symlink(tmp_path / "secret.txt", fonts / theme.fonts.heading)  # a shipped name leading outside fonts/
    built = tmp_path / "built"
    built.mkdir()
    (built / "mini.pdf").write_bytes(b"%PDF-1.7 test")
    preview = Preview(mini, fonts_dir=fonts, log=lambda message: None)
    assert preview.compile()
    preview.built([built / "mini.pdf"], [], 0.0)
    stopping = threading.Event()
    httpd = make_server(preview, "127.0.0.1", 0, stopping)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1], theme
    stopping.set()
    httpd.shutdown()
    httpd.server_close()


def _get(port: int, path: str, host: str | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest("GET", path, skip_host=host is not None)
    if host is not None:
        conn.putheader("Host", host)
    conn.endheaders()
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body


def test_serves_only_the_build(server):
    port, theme = server
    assert _get(port, "/")[0] == 200
    assert _get(port, f"/fonts/{theme.fonts.text}") == (200, b"not really a font")
    assert _get(port, "/output/mini.pdf") == (200, b"%PDF-1.7 test")
    refused = [
        f"/fonts/{theme.fonts.heading}",  # a symlink out of fonts/
        "/fonts/../secret.txt", "/fonts/..%2fsecret.txt", "/fonts/%2e%2e/secret.txt", "/fonts/%2e%2e%2fsecret.txt",
        "/fonts/%252e%252e%252fsecret.txt", "/fonts//etc/passwd", "/fonts/%2fetc%2fpasswd", "/fonts/..\\secret.txt",
        "/fonts/", "/fonts", "/output/", "/output/../fonts/" + theme.fonts.text, "/output/mini.docx",
        "/output/%2e%2e%2fmini.pdf", "/output/mini.pdf%00.txt", "/etc/passwd", "//etc/passwd", "/index.html",
        "/layouts/serve.js", "/sources/document.yaml", "/document.yaml", "/fonts/OFL-BIZUD.txt",
        "/fonts/%ff%fe", "/..", "/%2e%2e/pyproject.toml",
    ]
    for path in refused:
        status, body = _get(port, path)
        assert status == 404, path
        assert b"secret" not in body and b"root:" not in body, path


def test_refuses_requests_for_other_hosts(server):
    port, _ = server
    assert _get(port, "/", host="evil.example")[0] == 403
    assert _get(port, "/", host=f"evil.example:{port}")[0] == 403
    assert _get(port, "/", host=f"localhost:{port}")[0] == 200
    assert _get(port, "/", host=f"127.0.0.1:{port}")[0] == 200


def test_ctrl_c_stops_cleanly(mini, tmp_path):
    proc, url = start_serve(mini, tmp_path / "out")
    assert _get(int(url.rsplit(":", 1)[1]), "/")[0] == 200
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=20) == 0


def test_serve_keeps_the_part_cache_warm(mini, tmp_path):
    """The background builds of ``serve`` use the part cache: after an edit of one item's status,
    only that item's part is laid out again (one new cache entry; the others are reused)."""
    import time

    from tests.helpers import read_pdf

    cache, out = tmp_path / "cache", tmp_path / "out"
    item = mini / ITEM
    original = item.read_text(encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "compiler", "serve", "--sources", str(mini), "--port", "0",
                             "--out", str(out)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1", FOLLOWUP_CACHE_DIR=str(cache)))

    def built_with(text: str) -> bool:
        pdf = out / "mini.pdf"
        try:
            return pdf.exists() and any(text in page for page in read_pdf(pdf).pages)
        except Exception:  # being replaced right now
            return False

    def wait_for(condition, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert proc.poll() is None, "serve stopped"
            assert time.monotonic() < deadline, "the background build did not come"
            time.sleep(0.2)

    try:
        proc.stdout.readline()
        wait_for(lambda: built_with("甲の一つ目の状況。"))
        first = {entry.name for entry in cache.glob("*.part")}
        item.write_text(original.replace("甲の一つ目の状況。", "甲の一つ目の様子。"), encoding="utf-8")  # same length
        wait_for(lambda: built_with("甲の一つ目の様子。"))
        second = {entry.name for entry in cache.glob("*.part")}
    finally:
        stop_serve(proc)
    assert len(first) >= 3  # the body parts, the front and the stamp of the first build
    assert first <= second and len(second - first) == 1


def test_a_signal_at_any_moment_of_the_start_stops_it_and_everything_it_started(mini, tmp_path):
    """SIGINT 0.3 s to 1.5 s after the start: before the page is served, while the first compile and the
    background builder start, and after. It always ends, without a traceback, leaving no process."""
    import time

    from tests.test_output_safety import _ours

    for n, delay in enumerate((0.3, 0.5, 0.7, 0.9, 1.1, 1.5)):
        tmpdir = tmp_path / f"tmp{n}"
        tmpdir.mkdir()
        proc = subprocess.Popen([sys.executable, "-m", "compiler", "serve", "--sources", str(mini), "--port", "0",
                                 "--out", str(tmp_path / f"out{n}")], cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, env=dict(os.environ, TMPDIR=str(tmpdir)))
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        try:
            _, stderr = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode in (0, 130), (delay, proc.returncode, stderr)
        assert "Traceback" not in stderr, (delay, stderr)
        deadline = time.monotonic() + 10
        while _ours(tmpdir) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _ours(tmpdir) == {}, f"a process outlived serve stopped after {delay} s"


def test_a_signal_while_the_builder_starts_stops_the_builder(mini, tmp_path, monkeypatch):
    """The signal comes the moment the background builder process exists (here: sent by its start):
    serve ends normally and the builder is stopped, instead of outliving the command."""
    from compiler import serve as serve_module

    started = []

    class SignalledBuilder(serve_module.Builder):
        def __init__(self, *args):
            super().__init__(*args)
            started.append(self)
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(serve_module, "Builder", SignalledBuilder)
    assert serve_module.serve(mini, "127.0.0.1", 0, None, tmp_path / "out") == 0
    assert started and not started[0].process.is_alive()


def test_a_build_killed_midway_leaves_nothing_in_the_temporary_folder(mini, tmp_path):
    """The background builder killed (SIGKILL, its whole group) while its layouts are at work, with
    their scratch folder and its font copies in place: once serve has ended, its temporary folder holds
    nothing (the builder's temporaries are in the command's own folder, which goes with it)."""
    import time

    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    item = mini / ITEM
    original = item.read_text(encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "compiler", "serve", "--sources", str(mini), "--port", "0",
                             "--out", str(tmp_path / "out")], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1", TMPDIR=str(tmpdir), FOLLOWUP_CACHE_DIR=""))
    try:
        proc.stdout.readline()
        seen = False
        for n in range(60):  # edit until a build is caught with its layouts' font copies in place
            item.write_text(original.replace("甲の一つ目の状況。", f"甲の一つ目の状況{n}。"), encoding="utf-8")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not seen:
                seen = any(folder.is_dir() and any(folder.glob("weasyprint-*"))
                           for folder in tmpdir.rglob("followup-parts-*"))
                time.sleep(0.01)
            if seen:
                break
        assert seen, "no build was seen laying out"
        builders = [int(pid) for pid in (Path("/proc") / str(proc.pid) / "task" / str(proc.pid) / "children")
                    .read_text().split()]
        leaders = [pid for pid in builders if os.getpgid(pid) == pid]  # the builder: a group of its own
        assert leaders and os.getpgid(0) not in leaders
        for pid in leaders:
            os.killpg(pid, signal.SIGKILL)
    finally:
        code = stop_serve(proc)
    assert code in (0, 143)
    deadline = time.monotonic() + 10
    while list(tmpdir.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(tmpdir.iterdir()) == []
