"""Load stage: find the source files, read them as UTF-8 YAML and keep positions.

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
CORE_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "seq", "map")}


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


def _yaml():
    from ruamel.yaml import YAML

    y = YAML(typ="rt", pure=True)
    y.allow_duplicate_keys = False
    return y


def _position(getter, key, sf: SourceFile, parent: Path_) -> tuple[int, int]:
    """1-based (line, column) from ruamel's 0-based marks; the parent's when ruamel has none."""
    try:
        line, col = getter(key)
        return line + 1, col + 1
    except (TypeError, KeyError, IndexError):
        return sf.positions.get(parent, (1, 1))


def _convert(node: Any, path: Path_, sf: SourceFile, diags: Diagnostics) -> Any:
    """ruamel round-trip nodes → plain values, recording positions."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    tag = getattr(node, "tag", None)
    tag_value = getattr(tag, "value", None) if tag is not None else None
    if tag_value and str(tag_value) not in CORE_TAGS:
        diags.error("E012", f"YAML のタグ {tag_value} は使えません。", sf.span(path), "タグ（! で始まる記号）を消して、値だけを書いてください。")
        return None
    if isinstance(node, CommentedMap):
        out = {}
        for k in node:
            sf.key_positions[path + (k,)] = _position(node.lc.key, k, sf, path)
            sf.positions[path + (k,)] = _position(node.lc.value, k, sf, path)
            out[str(k) if not isinstance(k, (int, float, bool)) else k] = _convert(node[k], path + (k,), sf, diags)
        return out
    if isinstance(node, CommentedSeq):
        out_list = []
        for i, v in enumerate(node):
            sf.positions[path + (i,)] = _position(node.lc.item, i, sf, path)
            out_list.append(_convert(v, path + (i,), sf, diags))
        return out_list
    if isinstance(node, str):
        return str(node)
    if node is None or isinstance(node, (bool, int, float)):
        return node
    # dates, timestamps and other scalars stay as they are; validation reports their type
    return node


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
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    bad_tab = False
    for n, line in enumerate(text.splitlines(), 1):
        stripped = line.lstrip(" ")
        if stripped.startswith("\t"):
            diags.error("E002", "字下げにタブ文字が使われています。", Span(rel, n, len(line) - len(stripped) + 1),
                        "字下げは半角スペース（2 個ずつ）にしてください。")
            bad_tab = True
    if bad_tab:
        return None
    sf = SourceFile(rel=rel, data=None)
    try:
        node = _yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = (exc.problem or exc.context or "").strip()
        if "duplicate key" in str(exc):
            diags.error("E001", "同じ項目名が 2 回書かれています。", Span(rel, line, col), "どちらか一方を消してください。")
        else:
            diags.error("E001", f"YAML の書き方に誤りがあります（{problem}）。", Span(rel, line, col),
                        "コロン「: 」の後の空白、字下げ、引用符の閉じ忘れを確認してください。")
        return None
    except YAMLError as exc:  # pragma: no cover - unmarked YAML errors are rare
        diags.error("E001", f"YAML を読めません（{exc}）。", Span(rel, 1, 1))
        return None
    except RecursionError:
        diags.error("E001", "YAML の入れ子が深すぎます。", Span(rel, 1, 1))
        return None
    sf.positions[()] = (1, 1)
    sf.data = _convert(node, (), sf, diags)
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


def _yaml_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in (".yaml", ".yml"))


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

    for p in _yaml_files(root):
        if p.name != DOCUMENT_FILE:
            diags.error("E007", "原稿フォルダの直下に置けるのは document.yaml だけです。", Span(p.relative_to(root).as_posix()),
                        "取組方針のファイルは柱・政策のフォルダの中に置いてください。")
    pillar_dirs = [d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".") and d.name not in SKIPPED_DIRS]
    for order, pdir in _ordered(pillar_dirs, root, diags):
        pfile = pdir / PILLAR_FILE
        pillar = PillarDir(pdir.relative_to(root).as_posix(), order,
                           read_source(pfile, root, diags) if pfile.is_file() else None)
        if not pfile.is_file():
            diags.error("E011", f"柱のフォルダに {PILLAR_FILE} がありません。", Span(pillar.rel), "柱の表題を書いた pillar.yaml を作ってください。")
        for p in _yaml_files(pdir):
            if p.name != PILLAR_FILE:
                diags.error("E007", "柱のフォルダに置けるのは pillar.yaml と政策のフォルダだけです。", Span(p.relative_to(root).as_posix()),
                            "取組方針のファイルは政策のフォルダの中に置いてください。")
        policy_dirs = [d for d in pdir.iterdir() if d.is_dir() and not d.name.startswith(".")]
        for porder, poldir in _ordered(policy_dirs, root, diags):
            polfile = poldir / POLICY_FILE
            policy = PolicyDir(poldir.relative_to(root).as_posix(), porder,
                               read_source(polfile, root, diags) if polfile.is_file() else None)
            if not polfile.is_file():
                diags.error("E011", f"政策のフォルダに {POLICY_FILE} がありません。", Span(policy.rel), "政策の表題と大方針を書いた policy.yaml を作ってください。")
            item_paths = [p for p in _yaml_files(poldir) if p.name != POLICY_FILE]
            for _, ipath in _ordered(item_paths, root, diags):
                sf = read_source(ipath, root, diags)
                if sf is not None:
                    policy.items.append(sf)
            pillar.policies.append(policy)
        loaded.pillars.append(pillar)
    if not loaded.pillars and document is not None:
        diags.error("E005", "原稿フォルダに柱のフォルダが 1 つもありません。", Span(DOCUMENT_FILE), "「10-名前/pillar.yaml」のように柱のフォルダを作ってください。")
    return loaded
