"""Live preview: ``followup serve`` — the document as one continuous HTML page that follows the sources.

* **Page.** The HTML writer's page (``writers.html.render_html``) with the
  print stylesheet of the PDF, the same fonts (served from ``fonts/``), and a
  screen override (``layouts/serve.css.j2``: one column as wide as the page,
  no page breaks, no printed page numbers in the contents). With ``-m`` it is
  that ministry's preview, numbers as in the full document.
* **Watch.** ``watchfiles`` watches ``sources/`` and ``layouts/``; each save
  recompiles (front end, transforms, preview selection — no WeasyPrint) and
  pushes one server-sent event to every open page (``/events``). The page's
  script (``layouts/serve.js``) swaps the document in place and puts the
  scroll position back: no reload.
* **Diagnostics** go to the terminal (the long text form) and to the page
  (code, message, file:line:col, the source line, the hint). While there are
  errors the last good content stays on the page.
* **PDF and DOCX** are built in the background by one worker process that
  keeps WeasyPrint imported, through the ordinary pipeline
  (``pipeline.run``) into a private folder (``output/serve/`` by default); the
  page links to them once built, and the links change after each rebuild.
  Saves made during a build are coalesced into one next build.
* **What is served:** ``/``, ``/events``, ``/fonts/<file>`` for the theme's
  font files only (real path inside ``fonts/``, as ``writers.pdf.resolve_allowed``),
  ``/output/<name>`` for the two files just built. Nothing else: no listing,
  no path resolution of what the client asks. It binds 127.0.0.1 by default
  and, when bound to a loopback address, answers only requests addressed to
  it (no DNS rebinding). Ctrl-C or SIGTERM stop it cleanly.
"""

from __future__ import annotations

import json
import secrets
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

from compiler.diagnostics import Diagnostic, Diagnostics, Severity, format_text, source_line
from compiler.theme import FONTS_DIR, LAYOUTS_DIR

KEEPALIVE_S = 15.0
FONT_TYPES = {".ttf": "font/ttf", ".otf": "font/otf", ".woff": "font/woff", ".woff2": "font/woff2"}
OUTPUT_TYPES = {".pdf": "application/pdf",
                ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _json_for_script(value) -> str:
    """JSON that can sit inside a <script> element (no ``<`` to close it)."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c")


@dataclass
class Content:
    """One good rendering of the document: what the page shows."""

    version: str
    title: str
    head: str  # the writer's <head> contents, print stylesheet included
    css: str  # the print stylesheet alone (sent in updates)
    screen_css: str
    body: str  # the writer's <body> contents

    def as_update(self) -> dict:
        return {"version": self.version, "title": self.title, "css": self.css, "screen_css": self.screen_css,
                "body": self.body}


@dataclass
class Artifacts:
    """The PDF and DOCX of the last background build, and whether one is under way."""

    files: dict[str, Path] = field(default_factory=dict)  # URL name → file in the private folder
    generation: int = 0
    building: bool = False
    failed: str | None = None


def _diagnostic_view(d: Diagnostic, root: Path) -> dict:
    src = source_line(root, d.span)
    return {"code": d.code, "severity": d.severity.value, "label": "エラー" if d.severity is Severity.ERROR else "警告",
            "message": d.message, "where": str(d.span) if d.span else "", "line": d.span.line if d.span else 0,
            "source": src, "hint": d.hint}


def split_page(html: str) -> tuple[str, str]:
    """The writer's page → (head contents, body contents)."""
    head = html.split("<head>", 1)[1].split("</head>", 1)[0]
    body = html.split("<body>", 1)[1].rsplit("</body>", 1)[0]
    return head, body


# --- background builds: one warm worker process ------------------------------------------

def _worker_main(conn, out_dir: str, temp_dir: str | None = None) -> None:
    """Worker process: import WeasyPrint once, then build each request with ``pipeline.run``. Its
    temporary files go to ``temp_dir``, the command's own folder (``compiler.tempdir``), which goes
    with the command: a build stopped midway leaves its layouts' font copies there."""
    import os
    import tempfile

    if temp_dir is not None:
        tempfile.tempdir = temp_dir
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    os.setpgrp()  # its own group: stopping it mid-build also stops the DOCX writer it forks
    from compiler.writers import engine

    engine.load()  # warm: the import is paid once, not per build

    from compiler import theme as theme_module
    from compiler.pipeline import Request, run

    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        sources, ministries = message
        theme_module.load_theme.cache_clear()  # layouts/settings.yaml may have changed
        diags = Diagnostics()
        try:
            _, written = run(Request(sources=Path(sources), ministries=ministries), Path(out_dir), diags)
            reply = {"written": [str(p) for p in written],
                     "errors": [f"{d.span}: [{d.code}] {d.message}" if d.span else f"[{d.code}] {d.message}"
                                for d in diags.sorted() if d.severity is Severity.ERROR]}
        except Exception as exc:  # a tool failure must not end the preview
            reply = {"written": [], "errors": [f"{type(exc).__name__}: {exc}"]}
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return


class Builder:
    """Builds the PDF and DOCX in the worker, one build at a time; requests made meanwhile coalesce."""

    def __init__(self, preview: "Preview", out_dir: Path):
        import multiprocessing

        self.preview = preview
        ctx = multiprocessing.get_context("spawn")  # a clean process: the server's threads are not copied
        self.conn, child = ctx.Pipe()
        import tempfile

        self.process = ctx.Process(target=_worker_main, args=(child, str(out_dir), tempfile.gettempdir()),
                                   name="followup-serve-builder")
        self.process.start()
        child.close()
        self.wanted = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="followup-serve-builds", daemon=True)
        self.thread.start()

    def request(self) -> None:
        self.wanted.set()

    def _loop(self) -> None:
        while not self.stopping.is_set():
            if not self.wanted.wait(0.2):
                continue
            self.wanted.clear()
            if self.stopping.is_set():
                return
            self.preview.set_building(True)
            started = time.perf_counter()
            try:
                self.conn.send((str(self.preview.sources), self.preview.ministries))
                reply = self.conn.recv()
            except (EOFError, OSError, BrokenPipeError):
                if not self.stopping.is_set():
                    self.preview.built([], ["PDF・DOCX を作る処理が止まりました。serve を起動し直してください。"], 0.0)
                return
            self.preview.built([Path(p) for p in reply["written"]], reply["errors"], time.perf_counter() - started)

    def stop(self) -> None:
        self.stopping.set()
        self.wanted.set()
        try:
            self.conn.send(None)
        except (OSError, BrokenPipeError):
            pass
        self.process.join(timeout=1.0)
        if self.process.is_alive():  # in the middle of a build: output is written all or nothing
            import os

            try:
                os.killpg(self.process.pid, signal.SIGTERM)  # the worker and the DOCX writer it forked
            except (ProcessLookupError, PermissionError):
                self.process.terminate()
            self.process.join(timeout=5.0)
        self.conn.close()


# --- the preview's state ---------------------------------------------------------------

class Preview:
    """Compiles on demand and holds what the page shows; notifies the open pages of changes."""

    def __init__(self, sources: Path, ministry: str | None = None, fonts_dir: Path = FONTS_DIR,
                 log=lambda message: print(message, file=sys.stderr, flush=True)):
        self.sources = Path(sources)
        self.ministries = (ministry,) if ministry else None
        self.fonts_dir = Path(fonts_dir)
        self.log = log
        self.token = secrets.token_hex(4)  # versions of one server never match another's
        self.counter = 0
        self.content: Content | None = None
        self.diagnostics: list[dict] = []
        self.errors = 0
        self.summary = "準備中"
        self.font_files: frozenset[str] = frozenset()
        self.artifacts = Artifacts()
        self.builder: Builder | None = None
        self.generation = 0  # bumps on every change an open page should hear of
        self.changed = threading.Condition()
        self.lock = threading.Lock()  # one compilation at a time

    # -- compiling --
    def compile(self) -> bool:
        """Recompile; a good result replaces the content, errors keep the last good one. True when good."""
        from compiler.pipeline import compile_sources, source_revision
        from compiler.theme import load_theme
        from compiler.writers.html import render_html, screen_stylesheet, stylesheet

        with self.lock:
            started = time.perf_counter()
            load_theme.cache_clear()  # layouts/ may have changed
            diags = Diagnostics()
            compiled = compile_sources(self.sources, diags)
            doc, theme = compiled.document, compiled.theme
            if doc is not None and self.ministries:
                from compiler.transforms.preview import views

                chosen = views(doc, compiled.valid, list(self.ministries), theme, source_revision(self.sources), diags)
                doc = chosen[0].document if chosen and not diags.has_errors else None
            content = None
            if doc is not None and not diags.has_errors:
                try:
                    page = render_html(doc, theme, inline_css=True)
                    screen = screen_stylesheet(theme)
                except Exception as exc:  # a broken layout template: say so, keep the last good page
                    diags.error("E041", f"レイアウトのテンプレートを読めません（{type(exc).__name__}: {str(exc)[:200]}）。",
                                None, "layouts/ の直前の変更を確かめてください。")
                else:
                    head, body = split_page(page)
                    self.counter += 1
                    content = Content(f"{self.token}-{self.counter}", doc.title, head, stylesheet(theme), screen, body)
                    self.font_files = frozenset(theme.fonts.files())
            items = diags.sorted()
            elapsed = time.perf_counter() - started
            if items:
                self.log(format_text(items, self.sources))
            errors = sum(1 for d in items if d.severity is Severity.ERROR)
            stamp = time.strftime("%H:%M:%S")
            if content is not None:
                rows = sum(1 for _ in doc.rows())
                summary = f"{stamp} 更新（取組方針 {rows} 件、{elapsed:.2f} 秒）"
            else:
                summary = f"{stamp} エラー {errors} 件：" + ("直前の正しい版を表示しています" if self.content else "表示できる版がまだありません")
            self.log(summary)
            with self.changed:
                if content is not None:
                    self.content = content
                self.diagnostics = [_diagnostic_view(d, self.sources) for d in items]
                self.errors = errors
                self.summary = summary
                self._notify()
        if content is not None and self.builder is not None:
            self.builder.request()
        return content is not None

    # -- background builds --
    def set_building(self, on: bool) -> None:
        with self.changed:
            self.artifacts.building = on
            self._notify()

    def built(self, written: list[Path], errors: list[str], seconds: float) -> None:
        with self.changed:
            self.artifacts.building = self.builder is not None and self.builder.wanted.is_set()
            if written:
                self.artifacts.files = {p.name: p for p in written if p.suffix in OUTPUT_TYPES}
                self.artifacts.generation += 1
                self.artifacts.failed = None
                self.log(f"PDF・DOCX を更新しました（{seconds:.1f} 秒）: " + "、".join(p.name for p in written))
            else:
                self.artifacts.failed = "；".join(errors)[:300] or "PDF・DOCX を作れませんでした。"
                self.log(f"PDF・DOCX を作れませんでした: {self.artifacts.failed}")
            self._notify()

    def _notify(self) -> None:  # with self.changed held
        self.generation += 1
        self.changed.notify_all()

    # -- what the page gets --
    def state(self, client_version: str | None) -> dict:
        """The event for a page that shows ``client_version``: content only when it differs."""
        with self.changed:
            content = self.content
            art = self.artifacts
            links = [{"format": p.suffix[1:], "label": p.suffix[1:].upper(),
                      "href": f"/output/{quote(name)}?v={art.generation}"} for name, p in sorted(
                          art.files.items(), key=lambda kv: kv[1].suffix != ".pdf")]
            building = "PDF・DOCX を作成中…" if art.building else (f"PDF・DOCX を作れませんでした（{art.failed}）" if art.failed else "")
            return {"content": content.as_update() if content and content.version != client_version else None,
                    "version": content.version if content else None,
                    "diagnostics": self.diagnostics, "errors": self.errors, "summary": self.summary,
                    "links": links, "building": building}

    def page(self, nonce: str) -> str:
        with self.changed:
            content = self.content
        state = self.state(content.version if content else None)
        script = (LAYOUTS_DIR / "serve.js").read_text(encoding="utf-8").replace("</", "<\\/")
        if content is None:
            head = '<meta charset="utf-8"><title>followup serve</title><style></style>'
            body, screen = '<p style="margin:2em">表示できる版がまだありません。下のエラーを直して保存してください。</p>', ""
        else:
            head, body, screen = content.head, content.body, content.screen_css
        return ("<!DOCTYPE html>\n<html lang=\"ja\"" + (f' data-fu-version="{content.version}"' if content else "") + ">\n<head>"
                + head + '\n<link rel="icon" href="data:,">' + f'\n<style id="fu-screen-css">{screen}</style>'
                + f'\n<script type="application/json" id="fu-state">{_json_for_script(state)}</script>'
                + f'\n<script nonce="{nonce}">{script}</script>\n</head>\n<body>\n'
                + '<div id="fu-bar" role="status"></div>\n<ol id="fu-diags" aria-label="エラーと警告" hidden></ol>\n'
                + f'<div id="fu-doc">{body}</div>\n</body>\n</html>\n')

    def font(self, name: str) -> Path | None:
        """A shipped font file the stylesheet names, by its real path inside fonts/, else ``None``."""
        from compiler.writers.pdf import BlockedURL, resolve_allowed

        if name not in self.font_files or Path(name).suffix not in FONT_TYPES:
            return None
        try:
            return resolve_allowed((self.fonts_dir / name).as_uri(), (self.fonts_dir,))
        except BlockedURL:
            return None

    def output(self, name: str) -> Path | None:
        with self.changed:
            path = self.artifacts.files.get(name)
        return path if path is not None and path.is_file() else None


# --- HTTP ---------------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    server_version = "followup-serve"
    sys_version = ""
    preview: Preview  # set on the subclass made by make_server
    stopping: threading.Event

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass  # the terminal is for diagnostics

    def do_GET(self):
        self._route(head=False)

    def do_HEAD(self):
        self._route(head=True)

    def _refuse(self, status: HTTPStatus) -> None:
        body = f"{status.value} {status.phrase}\n".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _host_allowed(self) -> bool:
        bound = self.server.server_address[0]
        if bound not in LOOPBACK:
            return True
        host = (self.headers.get("Host") or "").strip()
        if host.startswith("["):
            name = host[1:].split("]", 1)[0]
        else:
            name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        return name in LOOPBACK

    def _route(self, head: bool) -> None:
        if not self._host_allowed():
            return self._refuse(HTTPStatus.FORBIDDEN)
        parts = urlsplit(self.path)
        path = parts.path
        if path == "/":
            return self._send_page(head)
        if path == "/events":
            return self._send_events(parse_qs(parts.query).get("v", [None])[0], head)
        for prefix, lookup, types in (("/fonts/", self.preview.font, FONT_TYPES),
                                      ("/output/", self.preview.output, OUTPUT_TYPES)):
            if path.startswith(prefix):
                try:
                    name = unquote(path[len(prefix):], errors="strict")
                except UnicodeDecodeError:
                    return self._refuse(HTTPStatus.NOT_FOUND)
                # one plain file name, compared with a known list: no separators, no dot segments
                if not name or "/" in name or "\\" in name or "\x00" in name or name.startswith("."):
                    return self._refuse(HTTPStatus.NOT_FOUND)
                file = lookup(name)
                if file is None:
                    return self._refuse(HTTPStatus.NOT_FOUND)
                return self._send_file(file, types[file.suffix], head)
        return self._refuse(HTTPStatus.NOT_FOUND)

    def _common_headers(self, content_type: str, length: int | None) -> None:
        self.send_header("Content-Type", content_type)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")

    def _send_page(self, head: bool) -> None:
        nonce = secrets.token_urlsafe(12)
        data = self.preview.page(nonce).encode("utf-8")
        self.send_response(HTTPStatus.OK)
        self._common_headers("text/html; charset=utf-8", len(data))
        self.send_header("Content-Security-Policy",
                         f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; "
                         "font-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'")
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def _send_file(self, file: Path, content_type: str, head: bool) -> None:
        try:
            data = file.read_bytes()
        except OSError:
            return self._refuse(HTTPStatus.NOT_FOUND)
        self.send_response(HTTPStatus.OK)
        self._common_headers(content_type, len(data))
        if content_type in OUTPUT_TYPES.values():
            self.send_header("Content-Disposition", f"inline; filename*=UTF-8''{quote(file.name)}")
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def _send_events(self, have: str | None, head: bool) -> None:
        """Server-sent events: the state now, then one event per change, comments as keep-alive."""
        have = self.headers.get("Last-Event-ID") or have
        self.send_response(HTTPStatus.OK)
        self._common_headers("text/event-stream; charset=utf-8", None)
        self.end_headers()
        if head:
            return
        preview, seen = self.preview, -1
        try:
            while not self.stopping.is_set():
                with preview.changed:
                    if seen == preview.generation:
                        preview.changed.wait_for(lambda: preview.generation != seen or self.stopping.is_set(),
                                                 timeout=KEEPALIVE_S)
                    if self.stopping.is_set():
                        return
                    fresh = preview.generation != seen
                    seen = preview.generation
                if not fresh:
                    self.wfile.write(b": keep-alive\n\n")
                    self.wfile.flush()
                    continue
                state = preview.state(have)
                if state["version"]:
                    have = state["version"]
                message = f"event: state\nid: {have or ''}\ndata: {json.dumps(state, ensure_ascii=False)}\n\n"
                self.wfile.write(message.encode("utf-8"))
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False


def make_server(preview: Preview, host: str, port: int, stopping: threading.Event) -> ThreadingHTTPServer:
    handler = type("PreviewHandler", (Handler,), {"preview": preview, "stopping": stopping})
    if ":" in host:
        import socket

        server_class = type("_Server6", (_Server,), {"address_family": socket.AF_INET6})
        return server_class((host, port), handler)
    return _Server((host, port), handler)


# --- the command ----------------------------------------------------------------------------

def serve(sources: Path, host: str, port: int, ministry: str | None, out_dir: Path, build_documents: bool = True) -> int:
    """Run the preview until Ctrl-C or SIGTERM; the exit status."""
    from watchfiles import watch

    stopping = threading.Event()
    # Ctrl-C and SIGTERM both stop it, also when started with SIGINT ignored (as by a shell's `&`), and
    # from the first moment: one that comes before the loop below ends it as soon as the loop starts,
    # with the builder stopped (a KeyboardInterrupt before the handlers were set left the builder
    # process running, and the exit waited for it for ever).
    previous = {sig: signal.signal(sig, lambda signum, frame: stopping.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        preview = Preview(sources, ministry)
        preview.compile()
        try:
            server = make_server(preview, host, port, stopping)
        except OSError as exc:
            print(f"{host}:{port} で待ち受けできません（{exc.strerror or exc}）。--port で別の番号を指定してください。",
                  file=sys.stderr)
            return 2
        if build_documents:
            preview.builder = Builder(preview, out_dir)
            if preview.content is not None:
                preview.builder.request()
        try:
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                      name="followup-serve-http", daemon=True)
            thread.start()
            shown_host = f"[{host}]" if ":" in host else host
            print(f"プレビュー: http://{shown_host}:{server.server_address[1]}/", flush=True)
            print(f"{sources} と layouts/ を見ています。止めるには Ctrl-C を押してください。", file=sys.stderr, flush=True)
            for _changes in watch(sources, LAYOUTS_DIR, stop_event=stopping,
                                  raise_interrupt=False, step=20, debounce=400):
                preview.compile()
        finally:
            stopping.set()
            with preview.changed:
                preview.changed.notify_all()
            server.shutdown()
            server.server_close()
            if preview.builder is not None:
                preview.builder.stop()
            print("プレビューを終了しました。", file=sys.stderr, flush=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
