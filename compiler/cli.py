"""Command line (click): turns arguments into a pipeline request, prints diagnostics, sets the exit status.

Commands: build, verify, preview, check, dump, ministries, fmt, diff, serve, where, new, schema, status, import-docx.
Exit status: 0 success, 1 errors in the sources (or the outputs cannot be written),
2 wrong usage, 3 an internal failure of the tool, 130 / 143 interrupted by SIGINT / SIGTERM.
Messages are Japanese; no traceback reaches the user.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from compiler import __version__
from compiler.diagnostics import Diagnostics, format_github, format_json, format_text
from compiler.interrupt import Interrupted
from compiler.theme import OUTPUT_DIR, SOURCES_DIR

USAGE_CODES = {"E024"}  # problems with the command line, not the sources: exit status 2
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _report(diags: Diagnostics, fmt: str, sources: Path) -> None:
    items = diags.sorted()
    if fmt == "json":
        click.echo(format_json(items))
    elif fmt == "github":
        if items:
            click.echo(format_github(items, root=Path(sources)))
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


def _name(param) -> str:
    opts = getattr(param, "opts", None) or []
    return max(opts, key=len) if opts else getattr(param, "name", None) or "値"


def _usage_message(exc: click.UsageError) -> str:
    """A click usage error in Japanese (from the exception's type and fields, not its English text)."""
    from click import exceptions as ce

    message = exc.message or ""
    if isinstance(exc, ce.NoSuchOption):
        guesses = [p for p in (exc.possibilities or []) if p]
        return f"オプション「{exc.option_name}」はありません。" + (f"もしかして：{'、'.join(guesses)}" if guesses else "")
    if isinstance(exc, ce.BadOptionUsage):
        if "requires" in message:
            return f"オプション「{exc.option_name}」の後に値を書いてください。"
        if "does not take" in message:
            return f"オプション「{exc.option_name}」には値を付けられません。"
        return f"オプション「{exc.option_name}」の使い方が正しくありません。"
    if isinstance(exc, ce.MissingParameter):
        return f"オプション「{_name(exc.param)}」を指定してください。"
    if isinstance(exc, ce.BadParameter):
        param_type = getattr(exc.param, "type", None)
        if isinstance(param_type, click.Choice):
            return f"「{_name(exc.param)}」には {'、'.join(map(str, param_type.choices))} のどれかを指定してください。"
        if isinstance(param_type, click.Path):
            return f"「{_name(exc.param)}」に指定したフォルダがないか、使えません。"
        return f"「{_name(exc.param)}」の値が正しくありません。"
    if message.startswith("Got unexpected extra argument"):
        extra = message[message.find("(") + 1:message.rfind(")")] if "(" in message else ""
        return f"余分な引数「{extra}」があります（値に空白を含むときは引用符で囲んでください）。"
    if message.isascii():
        return f"コマンドの使い方に誤りがあります（{message}）。"
    return message  # already ours, in Japanese


class JapaneseUsageError(click.UsageError):
    """A usage error shown in Japanese, with the command's usage line; exit status 2."""

    def __init__(self, message: str, ctx=None):
        super().__init__(message, ctx)

    def show(self, file=None) -> None:
        from compiler.diagnostics import escape_controls

        out = []
        if self.ctx is not None:
            out.append(self.ctx.get_usage().replace("Usage:", "使い方:", 1))
        out.append(f"エラー: {escape_controls(self.message)}")
        if self.ctx is not None:
            out.append(f"「{self.ctx.command_path} -h」で説明を表示します。")
        click.echo("\n".join(out), err=True)


def _in_japanese(exc: click.UsageError) -> click.UsageError:
    if isinstance(exc, (JapaneseUsageError, click.exceptions.NoArgsIsHelpError)):
        return exc
    return JapaneseUsageError(_usage_message(exc), exc.ctx)


def _quiet_broken_pipe() -> None:
    """The reader of our output went away (``followup ministries | head -1``): stop quietly, status 141."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    sys.exit(141)


def _stopped(exc: BaseException) -> None:
    """Say that an interrupt stopped the command, and exit with 128 + its signal (130 for Ctrl-C)."""
    if getattr(exc, "outputs_replaced", False):  # the signal came during the last renames
        click.echo("中断しました（出力はこの回のビルドで置き換え済みです）。", err=True)
    else:
        click.echo("中断しました（出力は書き換えていません）。", err=True)
    sys.exit(exc.exit_status if isinstance(exc, Interrupted) else 130)


def _interrupt_behind(exc: BaseException) -> BaseException | None:
    """The interrupt that ``exc`` wraps, if any: a signal can arrive at any moment, and some of Python's
    machinery re-raises what it meets as another exception (CPython 3.11 turns one raised while a
    class is made into ``RuntimeError: Error calling __set_name__``)."""
    todo, seen = [exc], set()
    while todo:
        exc = todo.pop()
        if exc is None or id(exc) in seen:
            continue
        if isinstance(exc, (KeyboardInterrupt, Interrupted)):
            return exc
        seen.add(id(exc))
        todo += [exc.__context__, exc.__cause__]
    return None


class _Guarded(click.Group):
    """Any unexpected failure becomes a short Japanese message and exit status 3, not a traceback.

    Usage errors (unknown command or option, missing value, bad choice…) are shown in Japanese
    with exit status 2. ``FOLLOWUP_DEBUG=1`` shows the traceback for the developers."""

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            raise _in_japanese(exc) from None

    # Commands defined in modules of their own, imported only when asked for: ``fmt`` imports the source
    # checks, which a build imports only after its layout host has forked (``entry``).
    LAZY = {"fmt": ("compiler.fmt", "fmt_command")}

    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), *self.LAZY})

    def get_command(self, ctx, name):
        if name in self.LAZY and name not in self.commands:
            import importlib

            module, attribute = self.LAZY[name]
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)

    def resolve_command(self, ctx, args):
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            from compiler.diagnostics import nearest

            commands = self.list_commands(ctx)
            guess = nearest(name, commands, cutoff=0.5)
            raise JapaneseUsageError(f"コマンド「{name}」はありません。" + (f"もしかして：{guess}" if guess else
                                     f"使えるコマンド：{'、'.join(commands)}"), ctx)
        return super().resolve_command(ctx, args)

    def invoke(self, ctx):
        import os

        try:
            result = super().invoke(ctx)
            sys.stdout.flush()
            return result
        except click.UsageError as exc:
            raise _in_japanese(exc) from None
        except BrokenPipeError:
            _quiet_broken_pipe()
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            try:
                sys.stdout.flush()
            except BrokenPipeError:
                _quiet_broken_pipe()
            raise
        except (KeyboardInterrupt, Interrupted) as exc:
            _stopped(exc)
        except Exception as exc:
            behind = _interrupt_behind(exc)
            if behind is not None:
                _stopped(behind)
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
        click.option("--no-embed-fonts", "no_embed_fonts", is_flag=True,
                     help="DOCX にフォントを埋め込まない（小さくなるが、BIZ UD フォントの無い環境では表示が崩れる）"),
        click.option("--single-pass", "single_pass", is_flag=True,
                     help="PDF を部分に分けず一度に組版する（並列組版・キャッシュを使わない。比較用・予備）"),
        click.option("-q", "--quiet", is_flag=True, help="進行状況と注意書きを表示しない"),
    )):
        fn = option(fn)
    return fn


def _formats(want_pdf: bool, want_docx: bool) -> frozenset[str]:
    return frozenset(f for f, on in (("pdf", want_pdf), ("docx", want_docx)) if on)


def _run(sources: Path, out: Path | None, fmt: str, want_pdf: bool, want_docx: bool, quiet: bool, strict: bool,
         no_embed_fonts: bool = False, **request) -> None:
    """Build a request, run the pipeline, write the files all or nothing, report."""
    from compiler.pipeline import Request, run

    if not (want_pdf or want_docx):
        raise click.UsageError("--no-pdf と --no-docx を同時には指定できません。")
    formats = _formats(want_pdf, want_docx)
    from compiler import interrupt

    diags = Diagnostics(strict=strict)
    with interrupt.handled():  # SIGTERM/SIGHUP/SIGINT: helpers stopped, temporaries removed, exit 128 + signal
        built, written = run(Request(sources=sources, formats=formats, progress=_progress(quiet),
                                     embed_fonts=not no_embed_fonts, **request),
                             Path(out) if out else OUTPUT_DIR, diags)
        interrupt.check(outputs_replaced=bool(written))  # no report of a run an interrupt may have put wrong
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
@click.option("--ministry", "-m", "ministries", multiple=True,
              help="府省庁名（略称・正式名称のどちらでも。繰り返し指定できます）")
@click.option("--all", "all_ministries", is_flag=True, help="取組方針のある府省庁すべてのプレビューを一度に作る")
@_output_options
def preview(ministries: tuple[str, ...], all_ministries: bool, **options) -> None:
    """府省庁ごとのプレビュー（番号は完成版と同じ）を output/preview/<府省庁>.pdf/.docx に作ります。"""
    if all_ministries == bool(ministries):
        raise click.UsageError("-m（府省庁名）か --all のどちらか一方を指定してください。")
    _run(strict=False, ministries=() if all_ministries else tuple(ministries), **options)


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


@main.command(context_settings=CONTEXT)
@sources_option
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="待ち受けるポート番号（0 なら空いている番号）")
@click.option("--host", default="127.0.0.1", show_default=True, help="待ち受けるアドレス（既定はこの PC からだけ見える）")
@click.option("--ministry", "-m", "ministry", default=None, help="この府省庁のプレビューを表示する（番号は完成版と同じ）")
@click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="裏で作る PDF・DOCX の置き場所（既定は output/serve/）")
@click.option("--no-documents", "no_documents", is_flag=True, help="裏で PDF・DOCX を作らない（HTML だけ）")
def serve(sources: Path, port: int, host: str, ministry: str | None, out: Path | None, no_documents: bool) -> None:
    """原稿を見張り、保存するたびにブラウザの表示を更新します（ライブプレビュー）。"""
    from compiler.serve import serve as run_server

    sys.exit(run_server(sources, host, port, ministry, Path(out) if out else OUTPUT_DIR / "serve", not no_documents))


def _compiled_or_exit(sources: Path, fmt: str = "text"):
    """The resolved document of the files that are valid (a file with errors, such as the skeleton
    ``new`` just made, is left out and said so), or the diagnostics and exit status 1."""
    from compiler.pipeline import Compiled, compile_sources

    diags = Diagnostics()
    compiled = compile_sources(sources, diags)
    if compiled.document is not None:
        return compiled
    if compiled.theme is not None:
        from compiler.frontend.checks import validate
        from compiler.frontend.loader import load_sources
        from compiler.transforms import resolve

        loaded = load_sources(Path(sources), Diagnostics())
        first = Diagnostics()
        validate(loaded, first)
        broken = {d.span.file for d in first.items if d.span and d.severity.value == "error"}
        for pillar in loaded.pillars:  # number what remains once the item files with errors are left out
            for policy in pillar.policies:
                policy.items = [sf for sf in policy.items if sf.rel not in broken]
        valid = validate(loaded, Diagnostics())
        try:
            document = resolve(valid, compiled.theme) if valid is not None else None
        except Exception:  # cross-file errors (e.g. a 再掲 of a missing project): cannot number
            document = None
        if document is not None:
            errors = sum(1 for d in diags.items if d.severity.value == "error")
            click.echo(f"注: 原稿にエラーが {errors} 件あります（followup check で確認できます）。"
                       "エラーのあるファイルは番号に数えていません。", err=True)
            return Compiled(document, compiled.theme, valid)
    _report(diags, fmt, sources)
    click.echo("原稿にエラーがあるため調べられません。先にエラーを直してください。", err=True)
    sys.exit(1)


def _shown_path(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def _echo_candidates(matches) -> None:
    for m in matches:
        what = f"　事業「{m.project}」" if m.project else ""
        click.echo(f"  {m.row.number} {m.row.item_id}{what}", err=True)


@main.command(context_settings=CONTEXT)
@sources_option
@click.argument("query")
def where(sources: Path, query: str) -> None:
    """取組方針の番号（（⑤－3）、⑤-3、5-3 など）・id・事業名から、原稿のファイルと行を示します。"""
    from compiler.editing import Ambiguous, NotFound, find

    compiled = _compiled_or_exit(sources)
    try:
        matches = find(compiled.document, compiled.valid, query)
    except Ambiguous as exc:
        click.echo(f"「{query}」に当たるものが {len(exc.candidates)} 件あります。番号か id で指定してください:", err=True)
        _echo_candidates(exc.candidates)
        sys.exit(1)
    except NotFound:
        click.echo(f"「{query}」に当たる取組方針が見つかりません。番号（例: ⑤－3）、id、事業名で指定してください。", err=True)
        sys.exit(1)
    for m in matches:
        mark = f"　事業「{m.project}」" if m.project else ""
        click.echo(f"{_shown_path(Path(sources) / m.row.span.file)}:{m.line}: {m.row.number} {m.title}{mark}")


@main.command(context_settings=CONTEXT)
@sources_option
@click.option("--after", "after", default=None, help="この取組方針（番号・id・事業名）の次に作る")
@click.option("--policy", "policy", default=None, help="この政策（id か番号 ⑤）の最後に作る")
@click.option("--id", "item_id", default=None, help="新しい取組方針の id（省略すると重ならない id を決めます）")
def new(sources: Path, after: str | None, policy: str | None, item_id: str | None) -> None:
    """新しい取組方針のファイルを、正しい名前・重ならない id・書き方の注釈付きで作ります。"""
    from compiler.editing import Ambiguous, NewItemError, NotFound, new_item

    if (after is None) == (policy is None):
        raise click.UsageError("--after か --policy のどちらか一方を指定してください。")
    compiled = _compiled_or_exit(sources)
    try:
        path = new_item(compiled.document, compiled.valid, sources, after=after, policy_query=policy, item_id=item_id)
    except Ambiguous as exc:
        click.echo(f"「{after}」に当たる取組方針が {len(exc.candidates)} 件あります。番号か id で指定してください:", err=True)
        _echo_candidates(exc.candidates)
        sys.exit(1)
    except NotFound as exc:
        click.echo(f"「{exc}」に当たる{'取組方針' if after else '政策'}が見つかりません。", err=True)
        sys.exit(1)
    except NewItemError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    click.echo(_shown_path(path))
    click.echo("作りました。commitment などを書いてから followup check で確かめてください。", err=True)


@main.command(context_settings=CONTEXT)
@click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="スキーマを書くフォルダ（既定は output/schema/）")
def schema(out: Path | None) -> None:
    """原稿の JSON Schema（document・pillar・policy・item の 4 種類）を書き出します（エディタの補完用）。"""
    from compiler.frontend.json_schema import write

    for path in write(Path(out) if out else OUTPUT_DIR / "schema"):
        click.echo(_shown_path(path))


@main.command(context_settings=CONTEXT)
@sources_option
@format_option
@click.option("--ministry", "-m", "ministries", multiple=True, help="府省庁名（省略するとすべての府省庁）")
def status(sources: Path, fmt: str, ministries: tuple[str, ...]) -> None:
    """府省庁ごとに、取組状況が空の取組方針と、古いままの取組方針（時点の年度より前の年しか書いていない）を一覧にします。"""
    import json

    from compiler.editing import status_report

    compiled = _compiled_or_exit(sources, fmt)
    registry = compiled.valid.registry
    names = []
    for name in ministries:
        canonical = registry.lookup(name)
        if canonical is None:
            guess = registry.suggest(name)
            raise click.UsageError(f"府省庁「{name}」は登録されていません。" + (f"もしかして：{guess}" if guess else ""))
        names.append(canonical)
    report = status_report(compiled.document, names or [m.name for m in registry.ministries])
    if fmt == "json":
        click.echo(json.dumps({m: [{"number": e.row.number, "id": e.row.item_id, "state": e.state, "latest_year": e.latest,
                                    "file": e.row.span.file} for e in entries] for m, entries in report.items()},
                              ensure_ascii=False, indent=2))
        return
    for ministry, entries in report.items():
        empty = sum(1 for e in entries if e.state == "empty")
        click.echo(f"{ministry}: 取組状況が空 {empty} 件、古いまま {len(entries) - empty} 件")
        for e in entries:
            state = "空" if e.state == "empty" else f"古い（最新の年 {e.latest}年）"
            click.echo(f"  {e.row.number} {_shown_path(Path(sources) / e.row.span.file)}:1 {state}")


@main.command(context_settings=CONTEXT)
@click.argument("old")
@click.argument("new")
@click.option("--sources", "sources", type=click.Path(path_type=Path, file_okay=False), default=SOURCES_DIR,
              show_default="sources/", help="版を指定したときに読む原稿（git リポジトリの中のフォルダ）")
@click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="新旧対照表（PDF・DOCX）の出力先（既定は output/diff/）")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text は要約を表示して PDF・DOCX を作る。json は変更一覧を標準出力に出す（ファイルは作らない）")
@click.option("--ministry", "-m", "ministry", default=None, help="この府省庁の取組方針の変更だけにする")
@click.option("--all", "show_all", is_flag=True, help="変更のない取組方針も表に載せる")
@click.option("--pdf/--no-pdf", "want_pdf", default=True, help="PDF を作る")
@click.option("--docx/--no-docx", "want_docx", default=True, help="DOCX を作る")
def diff(old: str, new: str, sources: Path, out: Path | None, fmt: str, ministry: str | None, show_all: bool,
         want_pdf: bool, want_docx: bool) -> None:
    """二つの版（原稿のフォルダまたは git の版）を比べ、新旧対照表を作ります。例: followup diff r5-02 HEAD"""
    import json

    from compiler.diff import load_release
    from compiler.diff.report import Report
    from compiler.diff.revision import RevisionError

    diags = Diagnostics()
    releases = []
    for spec in (old, new):
        try:
            release = load_release(spec, sources, diags)
        except RevisionError as exc:
            click.echo(f"エラー: {exc}", err=True)
            sys.exit(2)
        _report(diags, "text", Path(spec) if Path(spec).is_dir() else sources)
        if release.document is None:
            click.echo(f"「{spec}」の原稿にエラーがあるため比べられません。", err=True)
            sys.exit(1)
        diags = Diagnostics()
        releases.append(release)
    report = Report.build(releases[0].label, releases[1].label, releases[0].document, releases[1].document)
    if not report.verify():
        click.echo("内部エラー: 変更一覧を旧版に当てても新版になりません。開発担当に知らせてください。", err=True)
        sys.exit(3)
    if ministry:
        canonical = releases[1].registry.lookup(ministry) or releases[0].registry.lookup(ministry)
        if canonical is None:
            click.echo(f"府省庁「{ministry}」は登録されていません（followup ministries で一覧できます）。", err=True)
            sys.exit(2)
        report = report.only(canonical)
    if fmt == "json":
        click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=1))
        return
    from compiler.diff.summary import summary

    click.echo(summary(report))
    if not (want_pdf or want_docx):
        return
    from compiler.diff import render
    from compiler.document import from_json
    from compiler.output import UnsafePath, WriteFailed, safe_child, write_all
    from compiler.theme import load_theme

    theme = load_theme()
    model = render.table(report, show_all)
    folder = Path(out) if out else OUTPUT_DIR / "diff"
    stem = f"{report.new['output_name']}_新旧対照表" + (f"_{report.ministry}" if report.ministry else "")
    files = {}
    try:
        if want_pdf:
            files[safe_child(folder, f"{stem}.pdf")] = render.pdf(model, theme)
        if want_docx:
            from compiler.diff import docx as diff_docx

            files[safe_child(folder, f"{stem}.docx")] = diff_docx.write(model, from_json(report.new), theme)
        written = write_all(files)
    except UnsafePath:
        click.echo(f"出力ファイル名「{stem}」はフォルダの外を指すため使えません。", err=True)
        sys.exit(1)
    except WriteFailed as exc:
        click.echo(f"出力を書き込めません（{exc.reason}: {exc.path}）。前回の出力はそのままです。", err=True)
        sys.exit(1)
    for path in written:
        click.echo(f"出力: {path}（{path.stat().st_size:,} バイト）", err=True)


FINDING_LABELS = {
    "conflict": "競合（原稿も DOCX の作成後に変わっています。原稿はそのまま）",
    "number": "番号・記号の変更（番号は自動で付くため取り込めません）",
    "deleted": "目印のある段落の削除（取り込めません）",
    "stray": "どの欄にも属さない文字（目次・見出し語・欄の外・ページの上下。取り込めません）",
    "moved": "行の移動（取り込めません。並び順はファイル名で決まります）",
    "extra": "取り込めない段落の追加",
    "gone": "原稿からなくなった欄への編集",
    "empty": "空になった欄（取り込めません）",
}


def _print_import(result, dry_run: bool) -> None:
    def quote(text: str) -> str:
        from compiler.diagnostics import escape_controls

        return escape_controls(text.replace("\n", "／"))

    def place(file: str, line: int) -> str:
        return f"{file}:{line}" if line else file

    where = f"（{result.preview}）" if result.preview else "（完成版）"
    click.echo(f"取り込み元: {result.docx}{where}、原稿の版 {result.revision or '記録なし'}", err=True)
    if result.base_reason:
        click.echo(f"注: 作成元の原稿を復元できません（{result.base_reason}）。"
                   "DOCX を作った時点から原稿が変わっていない欄だけを取り込みます。", err=True)
    if result.revisions:
        state = "反映しました" if result.accepted else "反映していません。--accept-changes を付けると反映します"
        click.echo(f"変更履歴 {len(result.revisions)} 件（{state}）:")
        for r in result.revisions:
            click.echo(f"  {place(r.file, r.line)}: {r.field or '-'}: {r.kind}「{quote(r.text)}」 {r.author} {r.date}")
    if result.comments:
        click.echo(f"コメント {len(result.comments)} 件（確認してください）:")
        for c in result.comments:
            click.echo(f"  {place(c.file, c.line)}: {c.author}: {quote(c.text)}")
    if result.findings:
        click.echo(f"取り込めなかった編集 {len(result.findings)} 件（原稿はそのままです。内容を確かめて手で直してください）:")
        for f in result.findings:
            click.echo(f"  {place(f.file, f.line)}: {FINDING_LABELS.get(f.kind, f.kind)}: {f.field or '-'}")
            click.echo(f"    DOCX: 「{quote(f.docx_text)}」")
            if f.source_text:
                click.echo(f"    原稿: 「{quote(f.source_text)}」")
    if result.diff:
        click.echo(result.diff, nl=False)
    if not result.changes:
        click.echo("原稿に取り込む変更はありません。", err=True)
    elif dry_run:
        click.echo(f"--dry-run のため書き込んでいません（{len(result.changes)} ファイル）。", err=True)
    elif result.written:
        for path in result.written:
            click.echo(f"書き込みました: {_shown_path(path)}", err=True)


@main.command("import-docx", context_settings=CONTEXT)
@click.argument("docx_file", type=click.Path(path_type=Path))
@sources_option
@click.option("--dry-run", is_flag=True, help="何も書き込まず、取り込む内容と差分を表示するだけ")
@click.option("--accept-changes", is_flag=True, help="DOCX の変更履歴（挿入・削除・移動）を承認して取り込む")
@click.option("--json", "as_json", is_flag=True, help="結果を JSON で標準出力に出す")
def import_docx(docx_file: Path, sources: Path, dry_run: bool, accept_changes: bool, as_json: bool) -> None:
    """府省庁が Word で直したプレビュー（または完成版）の DOCX を、原稿の YAML に取り込みます。"""
    import json

    from compiler import interrupt
    from compiler.docx_import import run

    diags = Diagnostics()
    with interrupt.handled():
        result = run(docx_file, sources, dry_run, accept_changes, diags)
        interrupt.check(outputs_replaced=bool(getattr(result, "written", None)))
    if as_json:
        payload = result.as_dict() if result is not None else {"docx": str(docx_file)}
        payload["diagnostics"] = [d.as_dict() for d in diags.sorted()]
        for d in payload["diagnostics"]:
            if d.get("span"):
                d["span"] = {k: d["span"][k] for k in ("file", "line", "col")}
        click.echo(json.dumps(payload, ensure_ascii=False, indent=1))
    else:
        if result is not None:
            _print_import(result, dry_run)
        if diags.items:
            click.echo(format_text(diags.sorted(), sources), err=True)
    if diags.has_errors or result is None or result.findings:
        sys.exit(1)




# --- entry point ----------------------------------------------------------------

def _early_layouts(args: list[str]):
    """Start the layout workers of a build by parts now (``pdf_parts.Layouts.early``), if ``args`` ask
    for one; ``None`` otherwise, or when they do not parse (``main`` then says why)."""
    if not args or any(a in ("-h", "--help", "--version") for a in args):
        return None
    try:  # only a guess at what ``main`` will do: whatever goes wrong here, ``main`` reports it
        with main.make_context("followup", list(args), resilient_parsing=True) as ctx:
            name, command, rest = main.resolve_command(ctx, list(args))  # ``main``: no options but those turned away above
            if name not in ("build", "preview"):
                return None
            params = command.make_context(name, rest, parent=ctx, resilient_parsing=True).params
    except Exception:
        return None
    from compiler.pipeline import PDF_VARIANTS, Request
    from compiler.writers import pdf_parts

    def flag(key: str, default: bool) -> bool:
        return default if params.get(key) is None else bool(params[key])

    formats = _formats(flag("want_pdf", True), flag("want_docx", True))
    variant = params.get("pdf_variant") or "default"
    request = Request(sources=SOURCES_DIR, formats=formats or frozenset({"pdf"}), release=flag("release", False),
                      libreoffice_pages=flag("libreoffice_pages", False), single_pass=flag("single_pass", False),
                      pdf_variant=variant if variant in PDF_VARIANTS else "default")
    return pdf_parts.Layouts.early(pdf_parts.worker_count()) if request.by_parts else None


def entry() -> None:
    """The ``followup`` command and ``python -m compiler``: ``main``, in a temporary folder of its own that
    goes with it however it ends (``tempdir``), with the layout workers of a build by parts started
    before anything else (see ``pdf_parts.Layouts.early`` for why so early). The process then ends
    at once (``_end``)."""
    from compiler import tempdir

    try:
        with tempdir.command_folder():
            _entry()
    except SystemExit as exc:
        _end(exc.code)
    _end(0)


def _end(code) -> None:
    """End the process with ``code`` (as ``sys.exit`` takes it) once its output is flushed and its exit
    functions have run, without the interpreter's finalisation: freeing every object and module one
    by one takes 0.07 s after a build, and nothing of this program waits for it (its files are
    written and closed, its helpers stopped). With another thread still running (none of the
    commands leaves one), the usual ``sys.exit``, which waits for it."""
    import atexit
    import threading

    if threading.active_count() > 1:
        sys.exit(code)
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"): the message to stderr, status 1
        print(code, file=sys.stderr)
        status = 1
    atexit._run_exitfuncs()  # (the interpreter's own step before finalisation: multiprocessing's, logging's)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: what was written is what the reader got
            status = status or 120  # the status CPython gives when flushing at exit fails
    os._exit(status & 0xFF)


def _entry() -> None:
    from compiler import interrupt

    layouts = None
    try:
        with interrupt.handled():  # an interrupt now stops the early layouts too, as ``_run`` stops a build's helpers
            with interrupt.deferred():  # started and known here, or neither (an interrupt takes effect after)
                layouts = _early_layouts(sys.argv[1:])
            if layouts is not None:
                main()
                return
    except Interrupted as exc:  # one that came before (or after) the command's own handling of it
        _stopped(exc)
    finally:
        if layouts is not None:
            layouts.close()
    main()  # every other command keeps the signal handling it has
