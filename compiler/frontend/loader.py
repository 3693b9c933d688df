"""Load stage: find the source files, read them as UTF-8 YAML and keep positions.

YAML is only *composed* (PyYAML with libyaml: a node tree with marks, about 25×
faster than a pure-Python round-trip parse); scalars are then typed by the YAML
1.2 core schema here, so ``no`` stays text and no tag can construct an object.

Produces plain Python values (dict/list/str/…) plus, for every value, the
1-based line and column where it was written, so that later stages can point
at the exact spot. Order comes from the numeric prefixes of file and folder
names (``010-…``), so inserting or moving an item touches one file only.
No Python objects are ever constructed from YAML tags.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compiler.diagnostics import Diagnostics, Span

Path_ = tuple  # a path into the data: keys and list indexes

ORDER_RE = re.compile(r"^(\d+(?:\.\d+)?)-[^/]+$")
DOCUMENT_FILE = "document.yaml"
PILLAR_FILE = "pillar.yaml"
POLICY_FILE = "policy.yaml"
SKIPPED_DIRS = {"corrections"}
# tags the composer gives plain nodes by itself; anything else was written by hand (``!!python/…``)
CORE_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "seq", "map", "timestamp", "merge", "value")}


@dataclass
class SourceFile:
    """One parsed YAML file: its data and where each value stands."""

    rel: str
    data: Any
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def span(self, path: Path_ = (), key: bool = False) -> Span:
        """Span of the value at ``path`` (or of its key), falling back to the nearest parent."""
        table = self.key_positions if key else self.positions
        p = tuple(path)
        while p:
            if p in table:
                line, col = table[p]
                return Span(self.rel, line, col)
            if not key and p in self.key_positions:
                line, col = self.key_positions[p]
                return Span(self.rel, line, col)
            p = p[:-1]
        line, col = self.positions.get((), (1, 1))
        return Span(self.rel, line, col)


@dataclass
class PolicyDir:
    rel: str
    order: float
    file: SourceFile | None
    items: list[SourceFile] = field(default_factory=list)


@dataclass
class PillarDir:
    rel: str
    order: float
    file: SourceFile | None
    policies: list[PolicyDir] = field(default_factory=list)


@dataclass
class LoadedSources:
    root: Path
    document: SourceFile | None
    pillars: list[PillarDir] = field(default_factory=list)

    def all_files(self):
        if self.document:
            yield self.document
        for pillar in self.pillars:
            if pillar.file:
                yield pillar.file
            for policy in pillar.policies:
                if policy.file:
                    yield policy.file
                yield from policy.items


def _scalar(node) -> Any:
    """YAML 1.2 core schema for plain scalars; quoted scalars are always strings."""
    value = node.value
    if node.style:  # quoted or block scalar (plain is "" with libyaml, None without)
        return value
    if _NULL_RE.match(value):
        return None
    if _BOOL_RE.match(value):
        return value.lower() == "true"
    if _INT_RE.match(value):
        return int(value)
    if _FLOAT_RE.match(value):
        return float(value)
    return value


_NULL_RE = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL_RE = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT_RE = re.compile(r"^[-+]?[0-9]+$")
_FLOAT_RE = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")


class _AliasError(Exception):
    def __init__(self, path):
        self.path = path


_EXPLICIT_TAG_RE = re.compile(r"(?:&[^ \n]+[ \n]+)?!")  # a node written with a tag (``!!int 本文``), core ones included
_PROSE_KEY_RE = re.compile(r"[^\x00-\x7f]")  # keys of the source format are ASCII; Japanese text before ": " is prose


def _prose_mapping(node, text: str) -> bool:
    """``- 予算: 1億円`` in a list: a one-line mapping whose key is Japanese prose, not a key of the format."""
    import yaml

    if not isinstance(node, yaml.MappingNode) or len(node.value) != 1:
        return False
    knode, vnode = node.value[0]
    return (isinstance(knode, yaml.ScalarNode) and not knode.style and isinstance(vnode, yaml.ScalarNode)
            and knode.start_mark.line == vnode.end_mark.line and bool(_PROSE_KEY_RE.search(knode.value)))


def _convert(node: Any, path: Path_, sf: SourceFile, diags: Diagnostics, seen: set[int], text: str = "") -> Any:
    """Composed YAML nodes → plain values, recording 1-based positions; no objects constructed."""
    import yaml

    if id(node) in seen:
        raise _AliasError(path)
    seen.add(id(node))
    if node.tag not in CORE_TAGS or (text and _EXPLICIT_TAG_RE.match(text, node.start_mark.index)):
        diags.error("E012", f"YAML のタグ {node.tag.replace('tag:yaml.org,2002:', '!!')} は使えません。", sf.span(path), "タグ（! で始まる記号）を消して、値だけを書いてください。")
        return None
    if isinstance(node, yaml.MappingNode):
        out: dict = {}
        for knode, vnode in node.value:
            key = _convert(knode, path, sf, diags, seen, text) if isinstance(knode, yaml.ScalarNode) else None
            kspan = Span(sf.rel, knode.start_mark.line + 1, knode.start_mark.column + 1)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                diags.error("E012", "項目名には文字列を書いてください。", kspan)
                continue
            key = str(key) if not isinstance(key, str) else key
            if key.startswith("\u3000"):
                diags.error("E017", "字下げに全角スペースが使われています。", kspan, "字下げは半角スペース（2 個ずつ）にしてください。")
            if key in out:
                diags.error("E001", "同じ項目名が 2 回書かれています。", kspan, "どちらか一方を消してください。")
                continue
            sf.key_positions[path + (key,)] = (knode.start_mark.line + 1, knode.start_mark.column + 1)
            sf.positions[path + (key,)] = (vnode.start_mark.line + 1, vnode.start_mark.column + 1)
            out[key] = _convert(vnode, path + (key,), sf, diags, seen, text)
        return out
    if isinstance(node, yaml.SequenceNode):
        out_list = []
        for i, vnode in enumerate(node.value):
            sf.positions[path + (i,)] = (vnode.start_mark.line + 1, vnode.start_mark.column + 1)
            if text and _prose_mapping(vnode, text):
                knode = vnode.value[0][0]
                diags.error("E018", f"「{knode.value}」の後の「: 」で、文章が「項目: 値」の組として読まれました。",
                            Span(sf.rel, knode.end_mark.line + 1, knode.end_mark.column + 1), HINT_QUOTE_VALUE)
                out_list.append(text[vnode.start_mark.index: vnode.value[0][1].end_mark.index])  # the text as written: no errors that follow from it
                continue
            if isinstance(vnode, yaml.ScalarNode) and not vnode.style and vnode.tag in CORE_TAGS:
                m = _FULLWIDTH_COLON_KEY_RE.match(vnode.value)
                if m:  # ``- project：甲事業``: read as the pair it was meant to be, after saying so
                    line, col = vnode.start_mark.line + 1, vnode.start_mark.column + 1
                    diags.error("E017", "項目名の後のコロンが全角の「：」になっています。", Span(sf.rel, line, col + m.start(1)),
                                "項目名の後は半角のコロンと空白「: 」にしてください。")
                    key, value = vnode.value[: m.start(1)].strip(), vnode.value[m.end(1):].strip()
                    sf.key_positions[path + (i, key)] = (line, col)
                    sf.positions[path + (i, key)] = (line, col + m.end(1))
                    out_list.append({key: value})
                    continue
            out_list.append(_convert(vnode, path + (i,), sf, diags, seen, text))
        return out_list
    return _scalar(node)


def decode_source(raw: bytes, rel: str, diags: Diagnostics) -> str | None:
    """UTF-8 (a BOM is accepted) or a clear error naming the encoding found."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        guess = None
        for enc, label in (("cp932", "Shift_JIS（CP932）"), ("euc_jp", "EUC-JP"), ("utf-16", "UTF-16")):
            try:
                raw.decode(enc)
                guess = label
                break
            except UnicodeDecodeError:
                continue
        what = f"{guess} で保存されているようです" if guess else "UTF-8 ではありません"
        diags.error(
            "E003",
            f"ファイルの文字コードが UTF-8 ではありません（{what}）。",
            Span(rel, line, 1),
            "エディタで「UTF-8」を選んで保存し直してください（メモ帳なら「名前を付けて保存」→ 文字コード UTF-8）。",
        )
        return None


# --- raw text: characters YAML must never see -------------------------------------------------

# Pasted from Word or Excel: C0 controls but tab/LF/CR, DEL, C1 controls (NEL included), lone
# surrogates, non-characters (the XML-invalid code points of ``textrules.is_xml_invalid``) and
# U+2028/U+2029, which YAML would read as line breaks (shifting every line number after them).
_RAW_BAD_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff\u2028\u2029]")
_CHAR_NAMES = {0x00: "NUL", 0x07: "ベル", 0x08: "バックスペース", 0x0B: "垂直タブ", 0x0C: "改ページ", 0x1B: "エスケープ",
               0x7F: "DEL", 0x85: "次行（NEL）", 0x2028: "行区切り", 0x2029: "段落区切り"}
MAX_CHARACTER_REPORTS = 20


def _char_label(ch: str) -> str:
    name = _CHAR_NAMES.get(ord(ch))
    return f"U+{ord(ch):04X}（{name}）" if name else f"U+{ord(ch):04X}"


def scan_characters(text: str, rel: str, diags: Diagnostics) -> str:
    """Report each control character at its own line and column (lines counted on LF only) and
    blank it out, same length, so that parsing goes on and every later position stays right."""
    if not _RAW_BAD_RE.search(text):
        return text
    reported = 0
    for n, line in enumerate(text.split("\n"), 1):
        for m in _RAW_BAD_RE.finditer(line):
            if reported < MAX_CHARACTER_REPORTS:
                diags.error("E031", f"使えない制御文字 {_char_label(m.group(0))} が含まれています。", Span(rel, n, m.start() + 1),
                            "Excel や Word から貼り付けたときに入ることがあります。その文字を消してください。")
            reported += 1
    if reported > MAX_CHARACTER_REPORTS:
        diags.error("E031", f"ほかにも制御文字が {reported - MAX_CHARACTER_REPORTS} 個あります。", Span(rel),
                    "ファイルをテキストエディタで開き、制御文字を消してください。")
    return _RAW_BAD_RE.sub(" ", text)


# --- YAML syntax errors, explained in Japanese ------------------------------------------------------

# An ASCII key followed by a full-width colon (``category：特定技能``): the separator was typed in full width.
_FULLWIDTH_COLON_KEY_RE = re.compile(r"^[ \u3000]*(?:-[ \u3000]+)?[A-Za-z_][A-Za-z0-9_]*[ \u3000]*(：)")
_FULLWIDTH_COLON_BLOCK_KEY_RE = re.compile(r"^ *(?:- +)?[A-Za-z_][A-Za-z0-9_]*(：) *$")
# Indentation with an ideographic space (U+3000) before the content.
_FULLWIDTH_INDENT_RE = re.compile(r"^ *(\u3000)[ \u3000]*[^ \u3000]")
_KEY_LINE_RE = re.compile(r"^ *(?:- |-$|[^ #][^#]*?(?::(?: |$)|：))")  # a line with a key, or a list item
_ASCII_KEY_RE = re.compile(r"^ *(?:- +)?[A-Za-z_][A-Za-z0-9_]*: ")
# ``key: [重要] 表題`` / ``key: "甲" 乙``: a flow collection or a quoted value followed by more text
_FLOW_START_RE = re.compile(r"^ *(?:- +)?(?:[^ #:][^:#]*: +)?([\[{])")
_QUOTED_START_RE = re.compile(r"^ *(?:- +)?(?:[^ #:][^:#]*: +)?([\"'])")
HINT_GENERAL = "コロン「: 」の後の空白、字下げ、引用符の閉じ忘れを確かめてください。"
HINT_QUOTE_VALUE = "値の中の「: 」は引用符で囲むか（例: \"予算: 1億円\"）、全角の「：」にしてください。"


def _fullwidth_slip(lines: list[str], first: int, last: int, rel: str) -> tuple | None:
    """A full-width colon used as the key separator, or full-width-space indentation, on lines first…last."""
    for n in range(max(first, 1), min(last, len(lines)) + 1):
        line = lines[n - 1]
        m = _FULLWIDTH_COLON_KEY_RE.match(line)
        if m:
            return ("E017", "項目名の後のコロンが全角の「：」になっています。", Span(rel, n, m.start(1) + 1),
                    "項目名の後は半角のコロンと空白「: 」にしてください。")
        m = _FULLWIDTH_INDENT_RE.match(line)
        if m:
            return ("E017", "字下げに全角スペースが使われています。", Span(rel, n, m.start(1) + 1),
                    "字下げは半角スペース（2 個ずつ）にしてください。")
    return None


def explain_yaml_error(exc, text: str, rel: str) -> tuple[str, str, Span, str]:
    """(code, Japanese message, span at the actual slip, hint) for a PyYAML syntax error."""
    problem = exc.problem or ""
    context = exc.context or ""
    pmark, cmark = exc.problem_mark, exc.context_mark
    pline, pcol = (pmark.line + 1, pmark.column + 1) if pmark else (1, 1)
    cline = cmark.line + 1 if cmark else pline
    lines = text.split("\n")
    slip = _fullwidth_slip(lines, min(cline, pline - 1), pline, rel)
    if slip:
        return slip
    for n in range(pline - 1, max(pline - 30, 0), -1):  # ``bullets：`` above: its list was read as one long text
        m = _FULLWIDTH_COLON_BLOCK_KEY_RE.match(lines[n - 1]) if n <= len(lines) else None
        if m:
            return ("E017", "項目名の後のコロンが全角の「：」になっています。", Span(rel, n, m.start(1) + 1),
                    "項目名の後は半角のコロン「:」にしてください。")

    def line_text(n: int) -> str:
        return lines[n - 1] if 0 < n <= len(lines) else ""

    if "quoted scalar" in context and "end of stream" in problem and cmark:
        quote = line_text(cline)[cmark.column: cmark.column + 1] or "\""
        return ("E019", f"引用符 {quote} が閉じられていません。", Span(rel, cline, cmark.column + 1),
                f"値の終わりにもう一つ {quote} を書いてください。")
    if "mapping values are not allowed" in problem:
        before = line_text(pline)[: pcol - 1]
        if re.search(r":(?: |$)", before):
            return ("E018", "値の中の「: 」が項目の区切りとして読まれました。", Span(rel, pline, pcol), HINT_QUOTE_VALUE)
        line = line_text(pline)
        if _ASCII_KEY_RE.match(line):  # ``  title: x`` under ``id: a``: read as the rest of the value above
            return ("E001", "字下げが深すぎるため、上の行の値の続きとして読まれました。", Span(rel, pline, len(line) - len(line.lstrip()) + 1),
                    "同じ階層の項目は同じ数の半角スペースで字下げしてください。")
        for n in range(pline - 1, 0, -1):  # the key line above lost its colon: ``title 表題`` then this line
            prev = line_text(n)
            if prev.strip() and not prev.lstrip().startswith("#"):
                if not _KEY_LINE_RE.match(prev):
                    return ("E001", "項目名の後のコロン「: 」が抜けています。", Span(rel, n, len(prev) - len(prev.lstrip()) + 1),
                            "「項目名: 値」のように、項目名の後に半角のコロンと空白を書いてください。")
                break
        return ("E018", "値の中の「: 」が項目の区切りとして読まれました。", Span(rel, pline, pcol), HINT_QUOTE_VALUE)
    if "could not find expected ':'" in problem:
        n = cline
        line = line_text(n)
        return ("E001", "項目名の後のコロン「: 」が抜けています。", Span(rel, n, len(line) - len(line.lstrip(" ")) + 1),
                "「項目名: 値」のように、項目名の後に半角のコロンと空白を書いてください。続きの文なら字下げを深くしてください。")
    if "cannot start any token" in problem:
        ch = line_text(pline)[pcol - 1: pcol]
        return ("E001", f"「{ch}」は値の先頭に書けません。", Span(rel, pline, pcol),
                "「{ch}」で始まる値は引用符 \" \" で囲んでください。".replace("{ch}", ch))
    if "anchor" in context or "alias" in context:
        return ("E001", "「&」や「*」で始まる値は書けません。", Span(rel, pline, pcol), "値を引用符 \" \" で囲んでください。")
    if "escape" in problem:
        return ("E001", "\" \" で囲んだ値の中に使えない「\\」があります。", Span(rel, pline, pcol),
                "「\\」を消すか、値を ' ' で囲んでください。")
    if "flow" in context:
        start = Span(rel, cline, cmark.column + 1) if cmark else Span(rel, pline, pcol)
        return ("E001", "「[」や「{」で始まる値が閉じられていません。", start,
                "[ ] や { } で始まる文章は引用符 \" \" で囲んでください。")
    if "tab" in problem:
        return ("E002", "字下げにタブ文字が使われています。", Span(rel, pline, pcol), "字下げは半角スペース（2 個ずつ）にしてください。")
    if "expected <block end>" in problem or "expected key" in problem or "'-' indicator" in problem or "expected ',' or" in problem:
        line = line_text(pline)
        m = _FLOW_START_RE.match(line)
        if m:
            return ("E001", f"「{m.group(1)}」で始まる値の後に文字が続いています。", Span(rel, pline, m.start(1) + 1),
                    "[ ] や { } で始まる文章は、全体を引用符 \" \" で囲んでください。")
        m = _QUOTED_START_RE.match(line)
        if m:
            return ("E001", "引用符で囲んだ値の後に文字が続いています。", Span(rel, pline, m.start(1) + 1),
                    "値全体を引用符で囲むか、引用符を消してください。値の中の \" は ' ' で囲むと書けます。")
    if "block" in context or "indentation" in problem or "expected <block end>" in problem or "'-' indicator" in problem:
        return ("E001", "字下げがそろっていません。", Span(rel, pline, pcol),
                "同じ階層の項目は同じ数の半角スペースで字下げしてください。上の行も確かめてください。")
    if "document" in problem or "directive" in context:
        return ("E001", "YAML の書き方に誤りがあります（「---」「%」などの行）。", Span(rel, pline, pcol), HINT_GENERAL)
    return ("E001", "YAML の書き方に誤りがあります。", Span(rel, pline, pcol), HINT_GENERAL)


# --- YAML text → SourceFile ------------------------------------------------------------------


def parse_yaml(text: str, rel: str, diags: Diagnostics) -> SourceFile | None:
    """Parse one YAML text; control characters, tabs and syntax errors become located diagnostics."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # a lone CR is a line break in every editor
    text = scan_characters(text, rel, diags)
    bad_tab = False
    for n, line in enumerate(text.split("\n"), 1):
        stripped = line.lstrip(" ")
        if stripped.startswith("\t"):
            diags.error("E002", "字下げにタブ文字が使われています。", Span(rel, n, len(line) - len(stripped) + 1),
                        "字下げは半角スペース（2 個ずつ）にしてください。")
            bad_tab = True
    if bad_tab:
        return None
    import yaml  # libyaml's composer: positions of every node, and nothing is ever constructed

    sf = SourceFile(rel=rel, data=None)
    try:
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        diags.error(*explain_yaml_error(exc, text, rel))
        return None
    except (yaml.YAMLError, RecursionError):
        diags.error("E001", "YAML として読めません（入れ子が深すぎるか、読めない文字があります）。", Span(rel, 1, 1), HINT_GENERAL)
        return None
    sf.positions[()] = (1, 1)
    if node is None:
        return sf
    try:
        sf.data = _convert(node, (), sf, diags, set(), text)
    except _AliasError as exc:
        diags.error("E001", "アンカーとエイリアス（& と *）は使えません。", sf.span(exc.path, key=True),
                    "同じ内容をもう一度書くか、事業なら reprint を使ってください。")
        return None
    except RecursionError:
        diags.error("E001", "YAML の入れ子が深すぎます。", Span(rel, 1, 1))
        return None
    return sf


# --- the one reader: what is in the sources folder, found without following any link ----------------

class Refused(OSError):
    """A path that is a link, or not a regular file/folder, somewhere inside the sources."""


IGNORED_NAMES = frozenset({"Thumbs.db", "desktop.ini"})
BACKUP_SUFFIXES = ("~", ".bak", ".orig", ".swp", ".tmp")


def ignored(name: str) -> bool:
    """Hidden entries (``.git``), editor backups and lock files, OS litter: never read, never reported."""
    return name.startswith((".", "#", "~$")) or name.endswith(BACKUP_SUFFIXES) or name in IGNORED_NAMES


def _reason(exc: OSError) -> str:
    import errno

    return {errno.EACCES: "読み取りの権限がありません", errno.EPERM: "読み取りの権限がありません",
            errno.ENOENT: "見つかりません"}.get(exc.errno, exc.strerror or type(exc).__name__)


def read_bytes_inside(root: Path, rel: str) -> bytes:
    """The bytes of regular file ``root/rel``, opened without following a link at any step.

    Raises ``Refused`` for a link or a non-regular file (device, pipe, socket), ``OSError`` otherwise."""
    import errno
    import os
    import stat

    parts = rel.split("/")
    nofollow = getattr(os, "O_NOFOLLOW", 0)
    flags = os.O_RDONLY | nofollow | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        if os.open in os.supports_dir_fd and hasattr(os, "O_DIRECTORY"):
            fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
            try:
                for part in parts[:-1]:
                    sub = os.open(part, os.O_RDONLY | os.O_DIRECTORY | nofollow, dir_fd=fd)
                    os.close(fd)
                    fd = sub
                ffd = os.open(parts[-1], flags, dir_fd=fd)
            finally:
                os.close(fd)
        else:  # no openat(): check the real path instead
            path = Path(root, *parts)
            real, top = os.path.realpath(path), os.path.realpath(root)
            if os.path.islink(path) or os.path.commonpath([real, top]) != top:
                raise Refused(errno.ELOOP, "link")
            ffd = os.open(path, flags)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
            raise Refused(exc.errno, "link") from exc
        raise
    with os.fdopen(ffd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise Refused(errno.EINVAL, "not a regular file")
        return f.read()


def _refuse(rel: str, what: str, diags: Diagnostics) -> None:
    diags.error("E009", f"{what}は読み込みません。", Span(rel),
                "原稿フォルダの中に、ファイルやフォルダそのもの（リンクではなく）を置いてください。")


@dataclass
class Entry:
    name: str
    rel: str
    is_dir: bool


def list_folder(root: Path, rel: str, diags: Diagnostics) -> list[Entry]:
    """The folders and regular files of ``root/rel``, by name; links and special files are refused (E009)."""
    import os

    try:
        with os.scandir(root / rel if rel else root) as it:
            found = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        diags.error("E008", f"フォルダを読めません（{_reason(exc)}）。", Span(rel or "."),
                    "フォルダの権限を確かめてください（読み取りと実行の権限が必要です）。")
        return []
    out = []
    for e in found:
        if ignored(e.name):
            continue
        erel = f"{rel}/{e.name}" if rel else e.name
        try:
            if e.is_symlink():
                _refuse(erel, "シンボリックリンク（リンク先がどこであっても）", diags)
            elif e.is_dir(follow_symlinks=False):
                out.append(Entry(e.name, erel, True))
            elif e.is_file(follow_symlinks=False):
                out.append(Entry(e.name, erel, False))
            else:
                _refuse(erel, "通常のファイルでないもの（デバイス・名前付きパイプなど）", diags)
        except OSError as exc:
            diags.error("E008", f"読めません（{_reason(exc)}）。", Span(erel), "権限を確かめてください。")
    return out


YAML_SUFFIXES = (".yaml", ".yml")


def _looks_like_source(name: str) -> bool:
    return bool(ORDER_RE.match(name)) or ".yaml" in name.lower() or ".yml" in name.lower()


def _is_source(e: Entry, diags: Diagnostics, only_sources: bool) -> bool:
    """A ``.yaml``/``.yml`` file. Any other file that looks like a source (or any other file at all where
    only sources belong: ``only_sources``) is reported (E016), never skipped silently; a README.md
    beside the pillars is not a source and is left alone."""
    suffix = Path(e.name).suffix
    if suffix in YAML_SUFFIXES:
        return True
    if suffix.lower() in YAML_SUFFIXES:
        diags.error("E016", f"拡張子「{suffix}」は大文字を含むため、原稿として読み込まれません。", Span(e.rel),
                    f"拡張子を小文字の「{suffix.lower()}」にしてください。")
    elif only_sources or _looks_like_source(e.name):
        diags.error("E016", "原稿（.yaml）ではないファイルは読み込まれません。", Span(e.rel),
                    "原稿なら拡張子を .yaml にしてください。メモなどは原稿フォルダの外に置いてください。")
    return False


def _is_folder_ok(e: Entry, diags: Diagnostics, nested: bool = False) -> bool:
    if nested:
        diags.error("E016", "政策のフォルダの中のフォルダは読み込まれません。", Span(e.rel),
                    "取組方針のファイルは政策のフォルダの直下に置いてください（柱/政策/番号-名前.yaml）。")
        return False
    if Path(e.name).suffix.lower() in YAML_SUFFIXES:
        diags.error("E016", "名前が .yaml で終わるフォルダは読み込まれません。", Span(e.rel),
                    "ファイルのつもりなら、フォルダではなくファイルとして作り直してください。")
        return False
    return True


@dataclass
class PolicyListing:
    rel: str
    file: str | None = None
    items: list[str] = field(default_factory=list)


@dataclass
class PillarListing:
    rel: str
    file: str | None = None
    misplaced: list[str] = field(default_factory=list)
    policies: list[PolicyListing] = field(default_factory=list)


@dataclass
class Listing:
    """Every source file of a sources folder (paths relative to it), found without following links."""

    document: str | None = None
    pillars: list[PillarListing] = field(default_factory=list)
    misplaced: list[str] = field(default_factory=list)  # YAML files directly in the sources folder
    extra: list[str] = field(default_factory=list)  # corrections/*.yaml: formatted, never compiled
    reported: set[str] = field(default_factory=set)  # names that got a diagnostic (not "missing" then)

    def all_files(self) -> list[str]:
        out = [self.document] if self.document else []
        out += self.misplaced
        for pillar in self.pillars:
            out += ([pillar.file] if pillar.file else []) + pillar.misplaced
            for policy in pillar.policies:
                out += ([policy.file] if policy.file else []) + policy.items
        return sorted(out + self.extra)


def walk_sources(root: Path, diags: Diagnostics) -> Listing:
    """List ``root`` (the sources folder) the one way every command reads it: regular files and folders
    only, nothing below a policy folder, every file that will not be read reported with a reason."""
    root = Path(root)
    listing = Listing()
    before = len(diags.items)

    def sources_in(folder: str, nested_ok: bool = True) -> tuple[list[Entry], list[Entry]]:
        entries = list_folder(root, folder, diags)
        files = [e for e in entries if not e.is_dir and _is_source(e, diags, only_sources=not nested_ok)]
        dirs = [e for e in entries if e.is_dir and _is_folder_ok(e, diags, nested=not nested_ok)]
        return files, dirs

    def own(files: list[Entry], name: str) -> tuple[str | None, list[str]]:
        """The folder's own file (``name``) and the others."""
        return next((e.rel for e in files if e.name == name), None), [e.rel for e in files if e.name != name]

    files, dirs = sources_in("")
    listing.document, listing.misplaced = own(files, DOCUMENT_FILE)
    for d in dirs:
        if d.name in SKIPPED_DIRS:
            listing.extra += [e.rel for e in sources_in(d.rel, nested_ok=False)[0]]
            continue
        pfiles, pdirs = sources_in(d.rel)
        pillar = PillarListing(d.rel, *own(pfiles, PILLAR_FILE))
        for pd in pdirs:
            pillar.policies.append(PolicyListing(pd.rel, *own(sources_in(pd.rel, nested_ok=False)[0], POLICY_FILE)))
        listing.pillars.append(pillar)
    listing.reported = {d.span.file.lower() for d in diags.items[before:] if d.span}
    return listing


def read_text(root: Path, rel: str, diags: Diagnostics) -> tuple[bytes, str] | None:
    """The bytes and decoded text of source file ``root/rel`` (never through a link; see ``read_bytes_inside``)."""
    try:
        raw = read_bytes_inside(root, rel)
    except Refused:
        _refuse(rel, "シンボリックリンクや通常のファイルでないもの", diags)
        return None
    except OSError as exc:
        diags.error("E008", f"ファイルを読めません（{_reason(exc)}）。", Span(rel), "ファイルの読み取り権限を確かめてください。")
        return None
    text = decode_source(raw, rel, diags)
    return None if text is None else (raw, text)


def read_source(root: Path, rel: str, diags: Diagnostics) -> SourceFile | None:
    """Read and parse ``root/rel``."""
    read = read_text(root, rel, diags)
    return None if read is None else parse_yaml(read[1], rel, diags)


def _order(rel: str, is_dir: bool, diags: Diagnostics) -> float | None:
    name = rel.rsplit("/", 1)[-1]
    m = ORDER_RE.match(name if is_dir else Path(name).stem)
    if not m:
        diags.error("E006", "ファイル名・フォルダ名の先頭に並び順の数字がありません。", Span(rel),
                    "「030-名前.yaml」のように、数字とハイフンで始まる名前にしてください。")
        return None
    return float(m.group(1))


def _ordered(entries: list, diags: Diagnostics, rel=lambda x: x, is_dir: bool = False) -> list:
    out = []
    for entry in entries:
        order = _order(rel(entry), is_dir, diags)
        if order is not None:
            out.append((order, entry))
    out.sort(key=lambda t: (t[0], rel(t[1]).rsplit("/", 1)[-1]))
    return out


def _own_file(root: Path, folder: str, rel: str | None, name: str, listing: Listing, diags: Diagnostics,
              what: str, content: str) -> SourceFile | None:
    """The pillar's or policy's own file (``pillar.yaml``/``policy.yaml``), or a diagnostic that it is missing."""
    if rel is not None:
        return read_source(root, rel, diags)
    stem = f"{folder}/{Path(name).stem}.".lower()
    if not any(r.startswith(stem) for r in listing.reported):  # refused or ignored: already said why
        diags.error("E011", f"{what}のフォルダに {name} がありません。", Span(folder), f"{content} {name} を作ってください。")
    return None


def load_sources(root: Path, diags: Diagnostics) -> LoadedSources:
    """Walk ``root`` and parse every source file, in document order."""
    root = Path(root)
    if not root.is_dir():
        diags.error("E005", f"原稿のフォルダ {root} がありません。", None, "--sources で原稿のフォルダを指定してください。")
        return LoadedSources(root=root, document=None)
    listing = walk_sources(root, diags)
    document = read_source(root, listing.document, diags) if listing.document else None
    if listing.document is None and not any(r.startswith("document.") for r in listing.reported):
        diags.error("E005", f"{DOCUMENT_FILE} がありません。", Span(root.name), "文書全体の設定ファイル document.yaml を作ってください。")
    loaded = LoadedSources(root=root, document=document)

    for rel in listing.misplaced:
        diags.error("E007", "原稿フォルダの直下に置けるのは document.yaml だけです。", Span(rel),
                    "取組方針のファイルは柱・政策のフォルダの中に置いてください。")
    for order, plist in _ordered(listing.pillars, diags, rel=lambda p: p.rel, is_dir=True):
        pillar = PillarDir(plist.rel, order, _own_file(root, plist.rel, plist.file, PILLAR_FILE, listing, diags, "柱", "柱の表題を書いた"))
        for rel in plist.misplaced:
            diags.error("E007", "柱のフォルダに置けるのは pillar.yaml と政策のフォルダだけです。", Span(rel),
                        "取組方針のファイルは政策のフォルダの中に置いてください。")
        for porder, polist in _ordered(plist.policies, diags, rel=lambda p: p.rel, is_dir=True):
            policy = PolicyDir(polist.rel, porder,
                               _own_file(root, polist.rel, polist.file, POLICY_FILE, listing, diags, "政策", "政策の表題と大方針を書いた"))
            for _, irel in _ordered(polist.items, diags):
                sf = read_source(root, irel, diags)
                if sf is not None:
                    policy.items.append(sf)
            pillar.policies.append(policy)
        loaded.pillars.append(pillar)
    if not loaded.pillars and document is not None:
        diags.error("E005", "原稿フォルダに柱のフォルダが 1 つもありません。", Span(DOCUMENT_FILE), "「10-名前/pillar.yaml」のように柱のフォルダを作ってください。")
    return loaded
