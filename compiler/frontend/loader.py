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


def _convert(node: Any, path: Path_, sf: SourceFile, diags: Diagnostics, seen: set[int]) -> Any:
    """Composed YAML nodes → plain values, recording 1-based positions; no objects constructed."""
    import yaml

    if id(node) in seen:
        raise _AliasError(path)
    seen.add(id(node))
    if node.tag not in CORE_TAGS:
        diags.error("E012", f"YAML のタグ {node.tag} は使えません。", sf.span(path), "タグ（! で始まる記号）を消して、値だけを書いてください。")
        return None
    if isinstance(node, yaml.MappingNode):
        out: dict = {}
        for knode, vnode in node.value:
            key = _convert(knode, path, sf, diags, seen) if isinstance(knode, yaml.ScalarNode) else None
            if not isinstance(key, (str, int, float, bool)) or key is None:
                diags.error("E012", "項目名には文字列を書いてください。", Span(sf.rel, knode.start_mark.line + 1, knode.start_mark.column + 1))
                continue
            key = str(key) if not isinstance(key, str) else key
            if key in out:
                diags.error("E001", "同じ項目名が 2 回書かれています。", Span(sf.rel, knode.start_mark.line + 1, knode.start_mark.column + 1),
                            "どちらか一方を消してください。")
                continue
            sf.key_positions[path + (key,)] = (knode.start_mark.line + 1, knode.start_mark.column + 1)
            sf.positions[path + (key,)] = (vnode.start_mark.line + 1, vnode.start_mark.column + 1)
            out[key] = _convert(vnode, path + (key,), sf, diags, seen)
        return out
    if isinstance(node, yaml.SequenceNode):
        out_list = []
        for i, vnode in enumerate(node.value):
            sf.positions[path + (i,)] = (vnode.start_mark.line + 1, vnode.start_mark.column + 1)
            out_list.append(_convert(vnode, path + (i,), sf, diags, seen))
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


def parse_yaml(text: str, rel: str, diags: Diagnostics) -> SourceFile | None:
    """Parse one YAML text; tab indentation and syntax errors become diagnostics."""
    bad_tab = False
    for n, line in enumerate(text.splitlines(), 1):
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
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = (exc.problem or exc.context or "").strip()
        diags.error("E001", f"YAML の書き方に誤りがあります（{problem}）。", Span(rel, line, col),
                    "コロン「: 」の後の空白、字下げ、引用符の閉じ忘れを確認してください。")
        return None
    except (yaml.YAMLError, RecursionError) as exc:
        diags.error("E001", f"YAML を読めません（{type(exc).__name__}）。", Span(rel, 1, 1))
        return None
    sf.positions[()] = (1, 1)
    if node is None:
        return sf
    try:
        sf.data = _convert(node, (), sf, diags, set())
    except _AliasError as exc:
        diags.error("E001", "アンカーとエイリアス（& と *）は使えません。", sf.span(exc.path, key=True),
                    "同じ内容をもう一度書くか、事業なら reprint を使ってください。")
        return None
    except RecursionError:
        diags.error("E001", "YAML の入れ子が深すぎます。", Span(rel, 1, 1))
        return None
    return sf


def read_source(path: Path, root: Path, diags: Diagnostics) -> SourceFile | None:
    rel = path.relative_to(root).as_posix()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        diags.error("E008", f"ファイルを読めません（{exc.strerror}）。", Span(rel))
        return None
    text = decode_source(raw, rel, diags)
    if text is None:
        return None
    return parse_yaml(text, rel, diags)


def _order(path: Path, root: Path, diags: Diagnostics) -> float | None:
    m = ORDER_RE.match(path.stem if path.is_file() else path.name)
    if not m:
        diags.error("E006", "ファイル名・フォルダ名の先頭に並び順の数字がありません。",
                    Span(path.relative_to(root).as_posix()),
                    "「030-名前.yaml」のように、数字とハイフンで始まる名前にしてください。")
        return None
    return float(m.group(1))


def _ordered(entries: list[Path], root: Path, diags: Diagnostics) -> list[tuple[float, Path]]:
    out = []
    for p in entries:
        order = _order(p, root, diags)
        if order is not None:
            out.append((order, p))
    out.sort(key=lambda t: (t[0], t[1].name))
    return out


YAML_SUFFIXES = (".yaml", ".yml")


def yaml_files(folder: Path, recursive: bool = False) -> list[Path]:
    """The YAML files of ``folder`` (with ``recursive``, of every folder below it not starting with a dot), sorted."""
    if not recursive:
        return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in YAML_SUFFIXES)
    return sorted(p for p in folder.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def _folder_file(folder: Path, name: str, root: Path, diags: Diagnostics, what: str, content: str) -> SourceFile | None:
    """The pillar's or policy's own file (``pillar.yaml``/``policy.yaml``), or a diagnostic that it is missing."""
    path = folder / name
    if path.is_file():
        return read_source(path, root, diags)
    diags.error("E011", f"{what}のフォルダに {name} がありません。", Span(folder.relative_to(root).as_posix()),
                f"{content} {name} を作ってください。")
    return None


def load_sources(root: Path, diags: Diagnostics) -> LoadedSources:
    """Walk ``root`` and parse every source file, in document order."""
    root = Path(root)
    if not root.is_dir():
        diags.error("E005", f"原稿のフォルダ {root} がありません。", None, "--sources で原稿のフォルダを指定してください。")
        return LoadedSources(root=root, document=None)
    doc_path = root / DOCUMENT_FILE
    document = read_source(doc_path, root, diags) if doc_path.is_file() else None
    if not doc_path.is_file():
        diags.error("E005", f"{DOCUMENT_FILE} がありません。", Span(root.name), "文書全体の設定ファイル document.yaml を作ってください。")
    loaded = LoadedSources(root=root, document=document)

    for p in yaml_files(root):
        if p.name != DOCUMENT_FILE:
            diags.error("E007", "原稿フォルダの直下に置けるのは document.yaml だけです。", Span(p.relative_to(root).as_posix()),
                        "取組方針のファイルは柱・政策のフォルダの中に置いてください。")
    pillar_dirs = [d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".") and d.name not in SKIPPED_DIRS]
    for order, pdir in _ordered(pillar_dirs, root, diags):
        pillar = PillarDir(pdir.relative_to(root).as_posix(), order,
                           _folder_file(pdir, PILLAR_FILE, root, diags, "柱", "柱の表題を書いた"))
        for p in yaml_files(pdir):
            if p.name != PILLAR_FILE:
                diags.error("E007", "柱のフォルダに置けるのは pillar.yaml と政策のフォルダだけです。", Span(p.relative_to(root).as_posix()),
                            "取組方針のファイルは政策のフォルダの中に置いてください。")
        policy_dirs = [d for d in pdir.iterdir() if d.is_dir() and not d.name.startswith(".")]
        for porder, poldir in _ordered(policy_dirs, root, diags):
            policy = PolicyDir(poldir.relative_to(root).as_posix(), porder,
                               _folder_file(poldir, POLICY_FILE, root, diags, "政策", "政策の表題と大方針を書いた"))
            item_paths = [p for p in yaml_files(poldir) if p.name != POLICY_FILE]
            for _, ipath in _ordered(item_paths, root, diags):
                sf = read_source(ipath, root, diags)
                if sf is not None:
                    policy.items.append(sf)
            pillar.policies.append(policy)
        loaded.pillars.append(pillar)
    if not loaded.pillars and document is not None:
        diags.error("E005", "原稿フォルダに柱のフォルダが 1 つもありません。", Span(DOCUMENT_FILE), "「10-名前/pillar.yaml」のように柱のフォルダを作ってください。")
    return loaded
