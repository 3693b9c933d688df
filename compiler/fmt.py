"""``followup fmt``: rewrite the YAML sources to the house conventions of the layout settings.

Its one job: make every string value of every source file follow the house
style chosen in ``layouts/settings.yaml`` (``house_style``), without changing
anything else. Comments, key order, quoting and the indentation style each
file already uses are kept (ruamel.yaml round trip); formatting twice is the
same as formatting once; ``--check`` only reports (for CI).

Rules, applied to string values (never to keys):

* half-width katakana (U+FF61–U+FF9F) → full width (NFKC on that range only;
  NFKC is never applied to a whole string, so ①②, （）, 【】, ※, ○ stay);
* Unicode NFC;
* digits to the configured width; with ``digits: half`` also full-width Latin
  letters → ASCII, and a full-width ．/， between two digits → ./,;
* FULLWIDTH TILDE ～ (and an ASCII ~ between digits/kanji) → the configured
  tilde (WAVE DASH 〜);
* tabs → one space, no trailing spaces on any line of a value;
* bidi controls, zero-width characters, soft hyphens, U+FFFC and BOMs inside
  text are removed, no-break spaces become spaces (U+2028/2029 are left for a
  person: check reports them);
* marks the compiler adds itself, typed into the text, are removed
  (``textrules.strip_typed_marks``: 【】 around a category or budget, ○ before a
  project, ※ before a note, bullets and ①… before a list entry, （①－1） before a
  commitment, ① before a principle or policy title, 1. before a pillar title);
* ministry tags (values of ``ministry`` keys) carry no brackets: ［経産省］,
  [経産省], 〔経産省〕 → 経産省 (``ministry: [経産省]``, which YAML reads as a
  list, becomes the string 経産省).

Values of ``original`` (in ``corrections/*.yaml``: what the published text
said, kept as a record) are left verbatim. The file as a whole ends with one
newline, has no trailing spaces, no tabs and no BOM.

Files are found and read exactly as the compiler reads them (``loader.walk_sources``: never through a
link, never outside the sources folder) and parsed by the compiler's reader first: a file it cannot
read or parse (or one with a tag such as ``!!int``) is reported with file:line:col and left alone, and
the command then exits 1, with or without ``--check``.
"""

from __future__ import annotations

import io
import re
import sys
import unicodedata
from pathlib import Path
from typing import Any, Callable

import click

from compiler.diagnostics import Diagnostics, Span
from compiler.frontend.textrules import BIDI_CONTROLS, INVISIBLE, NO_BREAK_SPACES, field_kind, file_kind, strip_typed_marks
from compiler.output import write_all
from compiler.theme import SOURCES_DIR, load_theme

# Keys whose values are records of someone else's text: never rewritten.
VERBATIM_KEYS = frozenset({"original"})
# Keys whose values are identifiers or paths: never widened to full-width digits.
IDENTIFIER_KEYS = frozenset({"id", "reprint", "file", "output_name"})
MINISTRY_KEY = "ministry"

# Indentation styles found in sources/: (mapping, sequence, dash offset).
# Item files nest "  - " under their key; corrections/*.yaml are root lists with "- " at column 0.
INDENT_STYLES = ((2, 4, 2), (2, 2, 0))

_HALFWIDTH_KATAKANA_RE = re.compile(r"[\uff61-\uff9f]+")
_FULL_DIGITS = "０１２３４５６７８９"
_HALF_DIGITS = "0123456789"
_TO_HALF = str.maketrans(
    _FULL_DIGITS + "".join(chr(c) for c in range(0xFF21, 0xFF3B)) + "".join(chr(c) for c in range(0xFF41, 0xFF5B)),
    _HALF_DIGITS + "".join(chr(c) for c in range(0x41, 0x5B)) + "".join(chr(c) for c in range(0x61, 0x7B)),
)
_TO_FULL_DIGITS = str.maketrans(_HALF_DIGITS, _FULL_DIGITS)
_NUMBER_PUNCT_RE = re.compile(r"(?<=[0-9])([．，])(?=[0-9])")
# ASCII ~ standing for a range: between digits (either width) or kanji.
_RANGE_CHAR = r"[0-9０-９\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff々〇]"
_ASCII_TILDE_RE = re.compile(rf"(?<={_RANGE_CHAR})~(?={_RANGE_CHAR})")
_TRAILING = " \t\u3000"

# invisible characters removed from text (U+2028/2029 are not: check asks a person), no-break spaces → spaces
_INVISIBLE_TABLE = {cp: None for cp in (*BIDI_CONTROLS, *(c for c in INVISIBLE if c not in (0x2028, 0x2029)))}
_INVISIBLE_TABLE.update({cp: " " for cp in NO_BREAK_SPACES})

_OPEN = "[［〔"
_CLOSE = "]］〕"
_SEPARATORS = "、・，,／/"


class FormatError(Exception):
    """A file that cannot be formatted (not YAML, or formatting would change its data)."""

    def __init__(self, message: str, diagnostics: list | None = None):
        super().__init__(message)
        self.diagnostics = diagnostics or []


# --- string rules -------------------------------------------------------------

def _brackets(settings) -> tuple[str, str]:
    pair = tuple(settings.markers.ministry)
    opens = "".join(dict.fromkeys(_OPEN + pair[0]))
    closes = "".join(dict.fromkeys(_CLOSE + pair[1]))
    return opens, closes


def _bracketed_names(s: str, opens: str, closes: str) -> tuple[list[str], list[str]] | None:
    """``［文科省］［農水省］`` / ``［文科省］・［農水省］`` → names and the separators between them (``""``
    where there is none), when ``s`` is only bracketed names; else ``None``. One pass, linear in ``len(s)``."""
    names: list[str] = []
    seps: list[str] = []
    i, n = 0, len(s)
    while True:
        while i < n and s[i].isspace():
            i += 1
        if i == n:
            break
        sep = ""
        if names and s[i] in _SEPARATORS:
            sep = s[i]
            i += 1
            while i < n and s[i].isspace():
                i += 1
        if i == n or s[i] not in opens:
            return None
        j = i + 1
        while j < n and s[j] not in opens and s[j] not in closes:
            j += 1
        if j == n or s[j] not in closes:
            return None
        if names:
            seps.append(sep)
        names.append(s[i + 1: j].strip())
        i = j + 1
    return (names, seps) if names else None


def strip_ministry_brackets(value: str, settings) -> str:
    """［経産省］ → 経産省; ［文科省］［農水省］ → 文科省、農水省; unbalanced brackets at the ends are dropped."""
    opens, closes = _brackets(settings)
    s = value.strip(_TRAILING)
    if not any(ch in opens or ch in closes for ch in s):
        return s
    found = _bracketed_names(s, opens, closes)
    if found:
        names, seps = found
        out = names[0]
        for name, sep in zip(names[1:], seps):
            out += (sep or "、") + name
        return out.strip(_TRAILING)
    return s.lstrip(opens + _TRAILING).rstrip(closes + _TRAILING)


def _apply_rules(s: str, settings, key: Any) -> str:
    style = settings.house_style
    s = _HALFWIDTH_KATAKANA_RE.sub(lambda m: unicodedata.normalize("NFKC", m.group(0)), s)
    if style.digits == "half":
        s = s.translate(_TO_HALF)
        s = _NUMBER_PUNCT_RE.sub(lambda m: "." if m.group(1) == "．" else ",", s)
    elif style.digits == "full":
        if key not in IDENTIFIER_KEYS:
            s = s.translate(_TO_FULL_DIGITS)
    else:
        raise ValueError(f"house_style.digits は half か full です（{style.digits!r}）")
    tilde = style.tilde
    for other in ("～", "〜"):
        if other != tilde:
            s = s.replace(other, tilde)
    s = _ASCII_TILDE_RE.sub(tilde, s)
    s = s.replace("\t", " ").translate(_INVISIBLE_TABLE)
    s = unicodedata.normalize("NFC", s)  # after the width changes: Ａ + U+0301 only composes once it is A
    s = "\n".join(line.rstrip(_TRAILING) for line in s.split("\n"))
    if key == MINISTRY_KEY:
        s = strip_ministry_brackets(s, settings)
    return s


def format_string(value: str, settings, key: Any = None, field: str = "") -> str:
    """The house-style form of one string value (``key`` is the mapping key it belongs to, if any;
    ``field`` what it becomes in the document, ``textrules.field_kind``, for the typed marks)."""
    if key in VERBATIM_KEYS:
        return value
    s = value
    for _ in range(8):  # the rules are applied until nothing changes, so that twice = once
        new = _apply_rules(s, settings, key)
        if field:
            new = strip_typed_marks(new, settings, field)
        if new == s:
            break
        s = new
    return s


# --- YAML ---------------------------------------------------------------------

def _yaml(style=INDENT_STYLES[0], explicit_start: bool = False):
    from ruamel.yaml import YAML

    y = YAML(typ="rt", pure=True)
    y.allow_duplicate_keys = False
    y.preserve_quotes = True
    y.allow_unicode = True
    y.width = 1_000_000  # never fold long Japanese lines
    y.indent(mapping=style[0], sequence=style[1], offset=style[2])
    y.explicit_start = explicit_start
    return y


def _dump(data: Any, style, explicit_start: bool) -> str:
    buf = io.StringIO()
    _yaml(style, explicit_start).dump(data, buf)
    return buf.getvalue()


def _with_value(old: Any, new: str) -> Any:
    """``new`` as the same kind of scalar as ``old`` (keeps quotes, | and > styles, anchors)."""
    if type(old) is str:
        return new
    anchor = getattr(getattr(old, "anchor", None), "value", None)
    try:
        out = type(old)(new, anchor=anchor)
    except TypeError:
        return new
    if hasattr(old, "comment"):
        out.comment = old.comment  # type: ignore[attr-defined]
    return out


def _rewrite(node: Any, settings, key: Any = None, path: tuple = (), kind: str = "") -> Any:
    """Rewrite every string value inside ``node`` in place; returns the (possibly new) node."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(node, CommentedMap):
        for k in list(node.keys()):
            v = node[k]
            if k == MINISTRY_KEY and isinstance(v, CommentedSeq) and v and all(isinstance(x, str) for x in v) \
                    and v.fa.flow_style():
                # ministry: [経産省] — brackets typed in YAML, read as a list
                v = "、".join(str(x) for x in v)
            new = _rewrite(v, settings, k, path + (k,), kind)
            if new is not node[k]:
                node[k] = new
        return node
    if isinstance(node, CommentedSeq):
        for i, v in enumerate(node):
            new = _rewrite(v, settings, key if key in VERBATIM_KEYS else None, path + (i,), kind)
            if new is not v:
                node[i] = new
        return node
    if isinstance(node, str):
        new = format_string(str(node), settings, key, field_kind(path, kind) if kind else "")
        return node if new == str(node) else _with_value(node, new)
    return node


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return [(_plain(k), _plain(v)) for k, v in node.items()]
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, str):
        return ("str", str(node))
    return (type(node).__name__, repr(node))


_HEADER_LINE_RE = re.compile(r"^[ \t]*(#.*)?$")


def _split_header(text: str) -> tuple[str, str]:
    """Leading comment and blank lines, and the rest. (ruamel cannot dump a root
    flow collection such as ``[]`` after a comment, so the header is kept aside.)"""
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines) and _HEADER_LINE_RE.match(lines[i]):
        i += 1
    return "".join(lines[:i]), "".join(lines[i:])


def _tidy(text: str) -> str:
    """No tabs, no trailing spaces, one final newline. (Never NFC on the whole text:
    it could merge an escape such as ``\\L`` with a following combining mark.)"""
    text = text.replace("\t", " ")
    lines = [line.rstrip(" ") for line in text.split("\n")]
    return "\n".join(lines).rstrip("\n") + "\n" if any(lines) else ""


def _mismatch(a: str, b: str) -> int:
    la, lb = a.splitlines(), b.splitlines()
    return sum(1 for x, y in zip(la, lb) if x != y) + abs(len(la) - len(lb))


def format_text(text: str, settings, rel: str = "") -> str:
    """The formatted content of one YAML source file. Raises ``FormatError`` if it is not YAML the compiler
    reads (the compiler's own reader decides first, so its located diagnostics are on the exception)."""
    from compiler.frontend.loader import parse_yaml

    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    found = Diagnostics()
    if parse_yaml(text, rel, found) is None or found.has_errors:
        first = next(d for d in found.items if d.severity.value == "error")
        raise FormatError(first.message, [d for d in found.items if d.severity.value == "error"])
    header, body = _split_header(text)
    explicit_start = body.startswith("---")
    try:
        data = _yaml().load(body)
    except Exception as exc:  # ruamel disagrees with libyaml (or meets a tag): never a traceback
        raise FormatError("この YAML は整形できません（書き方を確かめてください）") from exc
    if data is None:
        # comments only, or an empty document: nothing to rewrite
        return _tidy(header + body)
    if isinstance(data, str):
        data = _rewrite(data, settings)
        return _tidy(header + _dump(data, INDENT_STYLES[0], explicit_start))
    # the indentation style this file already uses (fewest changed lines when nothing else changes)
    style = min(INDENT_STYLES, key=lambda st: _mismatch(_dump(data, st, explicit_start), body))
    data = _rewrite(data, settings, kind=file_kind(data))
    out = _tidy(header + _dump(data, style, explicit_start))
    # safety net: the written file must read back as exactly the rewritten data
    _, out_body = _split_header(out)
    try:
        again = _yaml().load(out_body)
    except Exception as exc:  # pragma: no cover - would be a ruamel bug
        raise FormatError("整形結果を YAML として読み直せません") from exc
    if _plain(again) != _plain(data):
        raise FormatError("整形すると内容が変わってしまうため、書き換えません")
    return out


class RoundTrip:
    """One YAML file loaded for editing as ``format_text`` does (ruamel round trip: comments, key order,
    quoting kept; the header of comments aside; the file's own indentation style), and dumped back."""

    def __init__(self, text: str):
        text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
        self.header, body = _split_header(text)
        self.explicit_start = body.startswith("---")
        self.data = _yaml().load(body)
        self.style = min(INDENT_STYLES, key=lambda st: _mismatch(_dump(self.data, st, self.explicit_start), body))
        self.kind = file_kind(self.data)

    def format_value(self, value: str, path: tuple, settings) -> str:
        """``value`` under the house style, as ``fmt`` would write it at ``path`` of this file."""
        key = next((p for p in reversed(path) if isinstance(p, str)), None)
        return format_string(value, settings, key, field_kind(path, self.kind) if self.kind else "")

    def set(self, path: tuple, value) -> None:
        """Replace the value at ``path`` (a text keeps its scalar style: quotes, | and >)."""
        parent = self.data
        for p in path[:-1]:
            parent = parent[p]
        old = parent[path[-1]]
        parent[path[-1]] = _with_value(old, value) if isinstance(value, str) else value

    def dump(self) -> str:
        return _tidy(self.header + _dump(self.data, self.style, self.explicit_start))


# --- files --------------------------------------------------------------------

def format_tree(root: Path, settings, check: bool, diags: Diagnostics | None = None,
                schema_dir: Path | None = None) -> list[Path]:
    """Format every source file of ``root``, read the way the compiler reads them (``walk_sources``:
    never through a link, never outside ``root``), ``corrections/*.yaml`` included.

    With ``schema_dir``, each source file also gets the yaml-language-server
    modeline pointing at its kind's schema there (``compiler.frontend.json_schema``).

    Returns the files that changed (with ``check``: that would change; nothing
    is written then). Files that cannot be read, parsed or formatted are
    reported in ``diags`` (file:line:col) and left as they are.
    """
    from compiler.frontend.loader import read_text, walk_sources

    root = Path(root)
    diags = diags if diags is not None else Diagnostics()
    changed: list[Path] = []
    for rel in walk_sources(root, diags).all_files():
        read = read_text(root, rel, diags)
        if read is None:
            continue
        raw, text = read
        try:
            out = format_text(text, settings, rel)
        except FormatError as exc:
            if exc.diagnostics:
                diags.items.extend(exc.diagnostics)
            else:
                diags.error("E001", f"{exc}。", Span(rel), "followup check で確かめてください。")
            continue
        if schema_dir is not None:
            from compiler.frontend.json_schema import with_modeline

            out = with_modeline(out, root / rel, root, schema_dir)
        new = out.encode("utf-8")
        if new == raw:
            continue
        changed.append(root / rel)
        if not check:
            write_all({root / rel: new}, mode=None)
    return changed


# --- command --------------------------------------------------------------------

def _shown(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


@click.command("fmt", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--sources", "sources", type=click.Path(path_type=Path, file_okay=False, exists=True),
              default=SOURCES_DIR, show_default="sources/", help="原稿のフォルダ")
@click.option("--check", is_flag=True,
              help="書き換えずに確かめるだけ。直すべきファイル、読めない・書き方に誤りのあるファイルがあれば終了コード 1（CI 用）")
@click.option("--schema-modeline", is_flag=True,
              help="各ファイルの 1 行目に「# yaml-language-server: $schema=…」を入れる（エディタの補完用。followup schema で作るスキーマを指します）")
@click.option("--schema-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="--schema-modeline が指すスキーマのフォルダ（既定は output/schema/）")
def fmt_command(sources: Path, check: bool, schema_modeline: bool, schema_dir: Path | None) -> None:
    """原稿を表記のきまり（layouts/settings.yaml の house_style）にそろえて書き換えます。

    数字・英字の幅、〜（波ダッシュ）、半角カタカナ、Unicode NFC、行末の空白、
    府省庁名の括弧を直します。コメントと項目の順序はそのまま残ります。
    """
    from compiler.diagnostics import format_text as format_diagnostics
    from compiler.theme import OUTPUT_DIR

    settings = load_theme()
    diags = Diagnostics()
    changed = format_tree(sources, settings, check, diags,
                          schema_dir=(schema_dir or OUTPUT_DIR / "schema") if schema_modeline else None)
    for path in changed:
        click.echo(f"{'整形が必要です' if check else '整形しました'}: {_shown(path)}")
    if diags.items:
        click.echo(format_diagnostics(diags.sorted(), sources), err=True)
    failed = len({d.span.file for d in diags.items if d.span and d.severity.value == "error"})
    if failed:
        click.echo(f"整形できません: {failed} 件のファイルに上の誤りがあります（直してから、もう一度実行してください）。", err=True)
    if check:
        if changed:
            click.echo(f"表記のきまりに合っていないファイルが {len(changed)} 件あります。"
                       "followup fmt を実行してください。", err=True)
        if changed or failed:
            sys.exit(1)
        click.echo("OK: すべての原稿が表記のきまりに合っています。", err=True)
        return
    if changed:
        click.echo(f"{len(changed)} 件のファイルを整形しました。", err=True)
    elif not failed:
        click.echo("整形が必要なファイルはありませんでした。", err=True)
    if failed:
        sys.exit(1)
