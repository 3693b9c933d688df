"""Command line: exit codes, messages, outputs, and that a failed build loses nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from compiler.cli import main
from tests.helpers import ROOT


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def break_item(sources: Path) -> Path:
    f = sources / "10-alpha/10-first/010-first-a.yaml"
    f.write_text(f.read_text(encoding="utf-8").replace("category:", "categroy:"), encoding="utf-8")
    return f


def test_help_is_japanese():
    r = invoke("--help")
    assert r.exit_code == 0 and "原稿" in r.output
    for cmd in ("build", "check", "preview", "ministries"):
        assert invoke(cmd, "--help").exit_code == 0


def test_check_ok_and_errors(mini):
    r = invoke("check", "--sources", mini)
    assert r.exit_code == 0 and "取組方針 6 件" in r.stderr
    break_item(mini)
    r = invoke("check", "--sources", mini)
    assert r.exit_code == 1
    assert "10-alpha/10-first/010-first-a.yaml:2:1: エラー[E010]" in r.stderr
    assert "categroy: 分類甲" in r.stderr and "^" in r.stderr and "もしかして：category" in r.stderr
    assert "Traceback" not in r.output


def test_build_writes_named_outputs_and_a_failed_build_keeps_them(mini, tmp_path):
    out = tmp_path / "out"
    r = invoke("build", "--sources", mini, "--out", out, "-q")
    assert r.exit_code == 0, r.output
    files = sorted(p.name for p in out.iterdir())
    assert files == ["mini.docx", "mini.pdf"]
    before = {p: p.read_bytes() for p in out.iterdir()}
    break_item(mini)
    r = invoke("build", "--sources", mini, "--out", out)
    assert r.exit_code == 1 and "前回の出力はそのまま" in r.stderr
    assert {p: p.read_bytes() for p in out.iterdir()} == before  # untouched, no temporary files left


def test_usage_errors_exit_2(mini):
    assert invoke("build", "--sources", mini, "--no-pdf", "--no-docx").exit_code == 2
    assert invoke("frobnicate").exit_code == 2
    r = invoke("preview", "--sources", mini, "-m", "経産")
    assert r.exit_code == 2 and "もしかして：経産省" in r.stderr and "厚労省" in r.stderr


def test_preview_names_files_after_the_canonical_ministry(mini, tmp_path):
    r = invoke("preview", "--sources", mini, "--out", tmp_path, "-m", "経済産業省", "-m", "内閣府", "-q")
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "preview").iterdir()) == ["内閣府.docx", "内閣府.pdf", "経産省.docx", "経産省.pdf"]


def test_preview_name_cannot_escape_the_output_folder(mini, tmp_path):
    doc = mini / "document.yaml"
    doc.write_text(doc.read_text(encoding="utf-8").replace("  - name: 内閣府", "  - name: ../../escaped"), encoding="utf-8")
    r = invoke("preview", "--sources", mini, "--out", tmp_path / "out", "-m", "../../escaped", "-q")
    assert r.exit_code != 0
    assert not list(tmp_path.rglob("escaped*"))


def test_output_name_is_checked(mini, tmp_path):
    doc = mini / "document.yaml"
    doc.write_text(doc.read_text(encoding="utf-8").replace("output_name: mini", "output_name: ../evil"), encoding="utf-8")
    r = invoke("build", "--sources", mini, "--out", tmp_path / "out")
    assert r.exit_code == 1 and "E014" in r.stderr
    assert not list(tmp_path.rglob("evil*"))


def test_ministries_lists_counts(mini):
    r = invoke("ministries", "--sources", mini, "--format", "json")
    table = {m["name"]: m for m in json.loads(r.output)}
    assert table["経産省"]["responsible"] == 3 and table["厚労省"]["included"] == 3 and table["内閣府"]["responsible"] == 1


def test_diagnostic_formats(mini):
    break_item(mini)
    r = invoke("check", "--sources", mini, "--format", "json")
    data = json.loads(r.stdout)
    assert r.exit_code == 1
    assert {(d["code"], d["span"]["file"], d["span"]["line"]) for d in data} >= {("E010", "10-alpha/10-first/010-first-a.yaml", 2)}
    assert all(d["severity"] in ("error", "warning") for d in data)
    r = invoke("check", "--sources", mini, "--format", "github")
    lines = r.stdout.splitlines()
    assert any(line.startswith("::error file=") and "010-first-a.yaml,line=2,col=1,title=E010::" in line for line in lines)


def test_release_turns_warnings_into_errors(mini, tmp_path):
    f = mini / "20-beta/10-third/020-third-b.yaml"
    f.write_text(f.read_text(encoding="utf-8").split("status:")[0], encoding="utf-8")
    assert invoke("check", "--sources", mini).exit_code == 0
    r = invoke("build", "--sources", mini, "--out", tmp_path, "--release", "--allow-dirty")
    assert r.exit_code == 1 and "W101" in r.stderr


def test_python_m_compiler_and_console_script():
    r = subprocess.run([sys.executable, "-m", "compiler", "--version"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0 and "followup" in r.stdout
    script = Path(sys.executable).parent / "followup"
    assert subprocess.run([str(script), "--version"], capture_output=True).returncode == 0


def test_check_does_not_import_the_renderers(mini):
    code = ("import sys; from compiler.cli import main\n"
            "try:\n    main(['check', '--sources', sys.argv[1]])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('weasyprint', 'docx', 'jinja2')))")
    r = subprocess.run([sys.executable, "-c", code, str(mini)], capture_output=True, text=True, cwd=ROOT,
                       env=dict(os.environ))
    assert r.stdout.strip().splitlines()[-1] == "[]"


def test_pdf_variant_option(mini, tmp_path):
    import pikepdf

    r = invoke("build", "--sources", mini, "--out", tmp_path, "--no-docx", "--pdf-variant", "a-2b", "-q")
    assert r.exit_code == 0, r.output
    with pikepdf.open(tmp_path / "mini.pdf") as pdf:
        meta = pdf.open_metadata()
        assert meta.get("pdfaid:part") == "2" and meta.get("pdfaid:conformance") == "B"
    assert invoke("build", "--sources", mini, "--pdf-variant", "x-1").exit_code == 2


def test_broken_layout_settings_are_a_message_not_a_traceback(mini, tmp_path, monkeypatch):
    from compiler import pipeline as build_module

    def broken():
        raise ValueError("page.size: field required")

    monkeypatch.setattr(build_module, "load_theme", broken)
    r = invoke("build", "--sources", mini, "--out", tmp_path)
    assert r.exit_code == 1 and "E041" in r.stderr and "layouts/settings.yaml" in r.stderr


def test_preview_of_a_ministry_without_items_warns(mini, tmp_path):
    doc = mini / "document.yaml"
    doc.write_text(doc.read_text(encoding="utf-8") + "  - name: 総務省\n", encoding="utf-8")
    r = invoke("preview", "--sources", mini, "--out", tmp_path, "-m", "総務省", "-q")
    assert r.exit_code == 0 and "W106" in r.stderr


def test_internal_failure_is_a_message_with_exit_3(mini, tmp_path, monkeypatch):
    from compiler import pipeline as build_module

    def boom(*args, **kwargs):
        raise RuntimeError("simulated renderer failure")

    monkeypatch.setattr(build_module, "render", boom)
    monkeypatch.delenv("FOLLOWUP_DEBUG", raising=False)
    r = CliRunner().invoke(main, ["build", "--sources", str(mini), "--out", str(tmp_path / "out")])
    assert r.exit_code == 3 and "内部エラー" in r.stderr and "Traceback" not in r.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_an_interrupt_that_python_wrapped_in_another_exception_still_stops_the_build(mini, tmp_path, monkeypatch, signum):
    """A signal that lands while a class is being made (pydantic's models, as they are imported) is
    re-raised by CPython 3.11 as ``RuntimeError: Error calling __set_name__``: still an interrupt."""
    from compiler import pipeline as build_module
    from compiler.interrupt import Interrupted

    class Landing:
        def __set_name__(self, owner, name):
            raise Interrupted(signum) if signum == signal.SIGTERM else KeyboardInterrupt()

    def boom(*args, **kwargs):
        type("Model", (), {"field": Landing()})

    monkeypatch.setattr(build_module, "render", boom)
    monkeypatch.delenv("FOLLOWUP_DEBUG", raising=False)
    r = CliRunner().invoke(main, ["build", "--sources", str(mini), "--out", str(tmp_path / "out")])
    assert r.exit_code == 128 + signum and "内部エラー" not in r.stderr and "Traceback" not in r.output
    assert not (tmp_path / "out").exists()


def _swallowed_sigterm() -> None:
    """A SIGTERM whose ``Interrupted`` is raised in a finaliser: CPython prints "Exception ignored" and goes on."""
    class Finaliser:
        def __del__(self):
            signal.raise_signal(signal.SIGTERM)

    Finaliser()


def test_a_dropped_interrupt_is_recorded_not_printed_and_other_dropped_errors_still_are(monkeypatch):
    from compiler import interrupt

    seen = []
    monkeypatch.setattr(sys, "unraisablehook", lambda info: seen.append(type(info.exc_value)))

    class Broken:
        def __del__(self):
            raise ValueError("a finaliser's own bug")

    with interrupt.handled():
        _swallowed_sigterm()
        Broken()
        with pytest.raises(interrupt.Interrupted) as raised:
            interrupt.check()
    assert seen == [ValueError] and raised.value.signum == signal.SIGTERM
    interrupt.check()  # the block is over: nothing left received
    with interrupt.handled():
        interrupt.check()


@pytest.mark.parametrize("stage", ["checks", "layout"])
def test_an_interrupt_that_was_swallowed_still_stops_the_build_before_it_reports_or_writes(mini, tmp_path, monkeypatch, stage):
    """Where the signal's exception is dropped, the run goes on with what it had, possibly wrong (pydantic
    then reported a valid id as E014): neither that report nor the outputs may come out."""
    from compiler import pipeline
    from compiler.diagnostics import Span

    real_compile, real_render = pipeline.compile_sources, pipeline.render

    def compile_sources(sources, diags):
        compiled = real_compile(sources, diags)
        if stage == "checks":
            _swallowed_sigterm()
            diags.error("E014", "a wrong result of the interrupted check", Span("document.yaml"), "")
        return compiled

    def render(*args, **kwargs):
        out = real_render(*args, **kwargs)
        if stage == "layout":
            _swallowed_sigterm()
        return out

    monkeypatch.setattr(pipeline, "compile_sources", compile_sources)
    monkeypatch.setattr(pipeline, "render", render)
    r = CliRunner().invoke(main, ["build", "--sources", str(mini), "--out", str(tmp_path / "out"), "--no-docx", "-q"])
    assert r.exit_code == 143 and "E014" not in r.output and "内部エラー" not in r.stderr
    assert not (tmp_path / "out").exists()


def test_every_diagnostic_code_is_documented():
    from compiler.diagnostics import CODES

    doc = (ROOT / "docs" / "source-format.md").read_text(encoding="utf-8")
    assert [c for c in CODES if f"| {c} |" not in doc] == []


def test_no_embed_fonts_writes_a_docx_without_font_parts(mini, tmp_path):
    import zipfile

    for flag, out in (("--no-embed-fonts", tmp_path / "plain"), (None, tmp_path / "embedded")):
        args = ["build", "--sources", mini, "--out", out, "--no-pdf", "-q"] + ([flag] if flag else [])
        assert invoke(*args).exit_code == 0
    fonts = {out.name: [n for n in zipfile.ZipFile(next(out.glob("*.docx"))).namelist() if n.endswith(".odttf")]
             for out in (tmp_path / "plain", tmp_path / "embedded")}
    assert fonts["plain"] == [] and len(fonts["embedded"]) == 4


# --- the layout host started before the command runs (cli.entry) -------------------------------------

EARLY = [(["build", "-q"], True), (["preview", "-m", "経産省", "-q"], True), (["build", "--no-pdf"], True),
         (["build", "--sources", "x", "--out", "y"], True),
         (["build", "--single-pass"], False), (["build", "--pdf-variant", "a-2b"], False),
         (["build", "--no-pdf", "--release"], False), (["build", "--no-pdf", "--libreoffice-pages"], False),
         (["build", "-h"], False), (["preview", "--help"], False), (["check"], False), (["serve"], False),
         (["fmt", "--check"], False), ([], False), (["--version"], False), (["nonsense"], False)]


@pytest.mark.parametrize("args, early", EARLY, ids=[" ".join(a) or "(none)" for a, _ in EARLY])
def test_the_layout_host_is_started_first_only_for_a_build_by_parts(args, early):
    from compiler import cli
    from compiler.writers import pdf_parts

    layouts = cli._early_layouts(args)
    try:
        assert (layouts is not None) == early
        if early:
            assert layouts.pool is not None and Path(layouts.scratch).is_dir()
            assert pdf_parts.Layouts.take(layouts.size) is layouts  # the build takes these
            again = pdf_parts.Layouts.take(layouts.size)
            try:
                assert again is not layouts  # once
            finally:
                again.close()
    finally:
        if layouts is not None:
            scratch = layouts.scratch
            layouts.close()
            assert not Path(scratch).exists()


@pytest.mark.parametrize("case, status", [("broken-sources", 1), ("unknown-option", 2)])
def test_layouts_started_early_that_no_build_takes_are_closed_by_the_command(tmp_path, case, status):
    """A build that stops before its layout (sources with an error: the build took the layouts and
    stops them) or before it starts (an unknown option: ``main`` refuses the command line, no build
    takes them) leaves no host, no worker and no scratch folder."""
    import shutil

    from tests.helpers import MINI
    from tests.test_output_safety import _ours

    sources = tmp_path / "sources"
    shutil.copytree(MINI, sources)
    if case == "broken-sources":
        break_item(sources)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    extra = ["--no-such-option"] if case == "unknown-option" else []
    env = dict(os.environ, TMPDIR=str(tmp))
    r = subprocess.run([sys.executable, "-m", "compiler", "build", "--sources", str(sources), "--out", str(tmp_path / "out"),
                        *extra], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert r.returncode == status, r.stderr
    assert "Traceback" not in r.stderr
    assert _ours(tmp) == {}
    assert [p.name for p in tmp.iterdir() if p.name.startswith("followup-parts-")] == []


_END_PROBE = r"""
import atexit, sys, threading, time
from compiler.cli import _end
atexit.register(lambda: print("exit function ran"))
if sys.argv[1] == "thread":
    threading.Thread(target=lambda: (time.sleep(0.3), print("thread finished", flush=True))).start()
print("x" * 200000)  # more than a pipe holds: all of it is flushed before the process ends
_end(None if sys.argv[1] == "none" else "a message" if sys.argv[1] == "text" else 7)
"""


@pytest.mark.parametrize("case,status", [("code", 7), ("none", 0), ("text", 1), ("thread", 7)])
def test_the_command_ends_with_its_status_its_output_flushed_and_its_exit_functions_run(case, status):
    out = subprocess.run([sys.executable, "-c", _END_PROBE, case], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == status
    lines = out.stdout.splitlines()
    assert lines[0] == "x" * 200000 and "exit function ran" in lines
    assert ("thread finished" in lines) == (case == "thread")  # a running thread is waited for
    assert ("a message" in out.stderr) == (case == "text")


def test_the_command_line_skips_the_interpreter_s_finalisation(mini):
    """``entry`` ends the process itself: an object freed only by finalisation is never freed."""
    code = ("import sys, weakref\nfrom compiler import cli\nclass Witness:\n    def __del__(self): print('finalised')\n"
            "cli.witness = Witness()\nsys.argv = ['followup', 'check', '--sources', sys.argv[1]]\ncli.entry()")
    out = subprocess.run([sys.executable, "-c", code, str(mini)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stderr.startswith("OK")
    assert "finalised" not in out.stdout
