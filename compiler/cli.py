"""Command line (click): turns arguments into a pipeline request, prints diagnostics, sets the exit status.

Commands: build, verify, preview, check, dump, ministries, fmt. Exit status: 0 success,
1 errors in the sources, 2 wrong usage, 3 an internal failure of the tool.
Messages are Japanese; no traceback reaches the user.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from compiler import __version__
from compiler.diagnostics import Diagnostics, format_github, format_json, format_text
from compiler.theme import OUTPUT_DIR, SOURCES_DIR

USAGE_CODES = {"E024"}  # problems with the command line, not the sources: exit status 2
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _report(diags: Diagnostics, fmt: str, sources: Path) -> None:
    items = diags.sorted()
    if fmt == "json":
        click.echo(format_json(items))
    elif fmt == "github":
        if items:
            prefix = ""
            try:
                prefix = sources.resolve().relative_to(Path.cwd().resolve()).as_posix() + "/"
            except ValueError:
                pass
            click.echo(format_github(items, prefix))
    elif items:
        click.echo(format_text(items, sources), err=True)


def _progress(quiet: bool):
    if quiet or not sys.stderr.isatty():
        return lambda msg: None
    return lambda msg: click.echo(f"… {msg}", err=True)


sources_option = click.option("--sources", "sources", type=click.Path(path_type=Path, file_okay=False),
                              default=SOURCES_DIR, show_default="sources/", help="原稿のフォルダ")
out_option = click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False), default=None,
                          help="出力先のフォルダ（既定は output/）")
format_option = click.option("--format", "fmt", type=click.Choice(["text", "json", "github"]), default="text",
                             show_default=True, help="エラー・警告の出し方（github はワークフローの注釈）")


class _Guarded(click.Group):
    """Any unexpected failure becomes a short Japanese message and exit status 3, not a traceback.

    ``FOLLOWUP_DEBUG=1`` shows the traceback for the developers."""

    def invoke(self, ctx):
        import os

        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("中断しました（出力は書き換えていません）。", err=True)
            sys.exit(130)
        except Exception as exc:
            if os.environ.get("FOLLOWUP_DEBUG"):
                raise
            click.echo(f"内部エラー: {type(exc).__name__}: {exc}", err=True)
            click.echo("原稿の誤りではなく、このツールの不具合です。前回の出力はそのままです。"
                       "FOLLOWUP_DEBUG=1 を付けて実行した結果を添えて、開発担当に知らせてください。", err=True)
            sys.exit(3)


@click.group(cls=_Guarded, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="followup")
def main() -> None:
    """重点3本柱の取組方針のフォローアップを、原稿（YAML）から PDF と DOCX に組み立てます。"""


@main.command(context_settings=CONTEXT)
@sources_option
@format_option
@click.option("--strict", is_flag=True, help="警告もエラーとして扱う")
def check(sources: Path, fmt: str, strict: bool) -> None:
    """原稿を検査します（組版はしません）。"""
    from compiler.pipeline import compile_sources

    diags = Diagnostics(strict=strict)
    compiled = compile_sources(sources, diags)
    _report(diags, fmt, sources)
    if diags.has_errors:
        sys.exit(1)
    if fmt == "text":
        doc = compiled.document
        n = sum(1 for _ in doc.rows())
        click.echo(f"OK: 取組方針 {n} 件、政策 {sum(len(p.policies) for p in doc.pillars)} 件、柱 {len(doc.pillars)} 件", err=True)


@main.command(context_settings=CONTEXT)
@sources_option
@format_option
@click.option("--json", "as_json", is_flag=True, help="JSON（docs/document-json.md）で出す。無ければ読みやすいテキスト")
def dump(sources: Path, fmt: str, as_json: bool) -> None:
    """番号・再掲・目次を解決した中間文書を標準出力に出します（比較・確認用）。"""
    import json

    from compiler.document import dump as dump_text, to_json
    from compiler.pipeline import compile_sources

    diags = Diagnostics()
    compiled = compile_sources(sources, diags)
    _report(diags, fmt, sources)
    if compiled.document is None:
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(to_json(compiled.document), ensure_ascii=False, indent=1))
    else:
        click.echo(dump_text(compiled.document), nl=False)


def _output_options(fn):
    """Options shared by build and preview: sources, output folder, diagnostics format, formats, quiet."""
    for option in reversed((
        sources_option, out_option, format_option,
        click.option("--pdf/--no-pdf", "want_pdf", default=True, help="PDF を作る"),
        click.option("--docx/--no-docx", "want_docx", default=True, help="DOCX を作る"),
        click.option("-q", "--quiet", is_flag=True, help="進行状況と注意書きを表示しない"),
    )):
        fn = option(fn)
    return fn


def _run(sources: Path, out: Path | None, fmt: str, want_pdf: bool, want_docx: bool, quiet: bool, strict: bool,
         **request) -> None:
    """Build a request, run the pipeline, write the files all or nothing, report."""
    from compiler.pipeline import Request, run

    if not (want_pdf or want_docx):
        raise click.UsageError("--no-pdf と --no-docx を同時には指定できません。")
    formats = frozenset(f for f, on in (("pdf", want_pdf), ("docx", want_docx)) if on)
    diags = Diagnostics(strict=strict)
    built, written = run(Request(sources=sources, formats=formats, progress=_progress(quiet), **request),
                         Path(out) if out else OUTPUT_DIR, diags)
    _report(diags, fmt, sources)
    if diags.has_errors or not written:
        click.echo("エラーがあるため、何も出力していません（前回の出力はそのままです）。", err=True)
        sys.exit(2 if any(d.code in USAGE_CODES for d in diags.items) else 1)
    if not quiet:
        for note in built.notes:
            click.echo(f"注: {note}", err=True)
    for path in written:
        click.echo(f"出力: {path}（{path.stat().st_size:,} バイト）", err=True)


@main.command(context_settings=CONTEXT)
@_output_options
@click.option("--release", is_flag=True,
              help="リリースビルド：警告もエラーにし、再現可能な PDF/UA と LibreOffice で確かめた目次の DOCX、manifest.json を作る")
@click.option("--libreoffice-pages", is_flag=True, help="DOCX の目次のページ番号を LibreOffice の組版で確定する")
@click.option("--pdf-variant", type=click.Choice(["default", "ua-1", "a-2b", "plain"]), default="default", show_default=True,
              help="PDF の規格：ua-1（PDF/UA-1、リリースの既定）、a-2b（PDF/A-2b、長期保存用）、plain（タグ付き PDF 1.7、通常の既定）")
@click.option("--allow-dirty", is_flag=True,
              help="リリースビルドを、コミットしていない変更がある原稿や git にない原稿からも作る（manifest.json に記録）")
def build(release: bool, libreoffice_pages: bool, pdf_variant: str, allow_dirty: bool, **options) -> None:
    """原稿から output/<名前>.pdf と output/<名前>.docx を作ります。"""
    _run(strict=release, release=release, libreoffice_pages=libreoffice_pages, pdf_variant=pdf_variant,
         allow_dirty=allow_dirty, **options)


@main.command(context_settings=CONTEXT)
@click.argument("manifest", type=click.Path(path_type=Path, dir_okay=False))
@sources_option
@format_option
def verify(manifest: Path, sources: Path, fmt: str) -> None:
    """リリースを同じ指定で作り直し、manifest.json の記録（版・フォント・レイアウト・原稿・出力）と比べます。"""
    from compiler import release

    diags = Diagnostics(strict=True)
    try:
        inputs, outputs = release.verify(manifest, sources, diags)
    except release.Unreadable as exc:
        click.echo(f"エラー: {exc}", err=True)
        sys.exit(2)
    _report(diags, fmt, sources)
    for problem in inputs:
        click.echo(f"入力の違い: {problem}", err=True)
    for problem in outputs:
        click.echo(f"出力の違い: {problem}", err=True)
    if inputs or outputs:
        click.echo("検証に失敗しました: このリリースは記録どおりには再現できません。", err=True)
        sys.exit(1)
    click.echo(f"OK: {manifest} の記録どおりにバイト単位で再現できました。", err=True)


@main.command(context_settings=CONTEXT)
@click.option("--ministry", "-m", "ministries", multiple=True, required=True,
              help="府省庁名（略称・正式名称のどちらでも。繰り返し指定できます）")
@_output_options
def preview(ministries: tuple[str, ...], **options) -> None:
    """府省庁ごとのプレビュー（番号は完成版と同じ）を output/preview/<府省庁>.pdf/.docx に作ります。"""
    _run(strict=False, ministries=tuple(ministries), **options)


@main.command(context_settings=CONTEXT)
@sources_option
@format_option
def ministries(sources: Path, fmt: str) -> None:
    """登録されている府省庁と、担当・言及している取組方針の件数を一覧にします。"""
    import json

    from compiler.pipeline import compile_sources
    from compiler.transforms.preview import ministry_counts

    diags = Diagnostics()
    compiled = compile_sources(sources, diags)
    if compiled.document is None:
        _report(diags, fmt, sources)
        sys.exit(1)
    table = ministry_counts(compiled.document, compiled.valid.registry)
    if fmt == "json":
        click.echo(json.dumps(table, ensure_ascii=False, indent=2))
        return
    click.echo("略称\t正式名称\t担当\tプレビュー収録\t別名")
    for t in table:
        click.echo(f"{t['name']}\t{t['full_name']}\t{t['responsible']}\t{t['included']}\t{'、'.join(t['aliases'])}")


def _register_fmt() -> None:
    from compiler.fmt import fmt_command

    main.add_command(fmt_command)


_register_fmt()
