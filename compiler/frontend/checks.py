"""Validate stage: pydantic models per file, then rules across files.

Turns loaded files into typed, ordered sources (``ValidSources``) and reports
every problem found, not only the first: unknown keys with the nearest valid
key, missing fields, wrong types, duplicate ids, unknown 再掲 targets, unknown
ministries, non-contiguous categories, empty status columns, and the text
rules of ``textrules``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from compiler.diagnostics import Diagnostics, Span, nearest
from compiler.frontend import schema as models
from compiler.frontend.loader import LoadedSources, SourceFile


@dataclass
class VItem:
    model: models.ItemFile
    sf: SourceFile


@dataclass
class VPolicy:
    model: models.PolicyFile
    sf: SourceFile
    items: list[VItem] = field(default_factory=list)


@dataclass
class VPillar:
    model: models.PillarFile
    sf: SourceFile
    policies: list[VPolicy] = field(default_factory=list)


def nfc(text: str) -> str:
    """The comparison form of names, keys and categories (NFC: an NFD 経済産業省 is 経済産業省)."""
    return unicodedata.normalize("NFC", text)


MINISTRY_SUFFIXES = "省庁府"


def _stem(name: str) -> str:
    """A ministry name without its common ending (省・庁・府), so 法務省 is not "close" to 外務省."""
    return name[:-1] if len(name) > 1 and name[-1] in MINISTRY_SUFFIXES else name


@dataclass
class Registry:
    """Ministry registry: canonical short names and their aliases (compared in NFC)."""

    canonical: dict[str, str]  # any accepted name (NFC) → canonical name
    ministries: list[models.Ministry]

    @classmethod
    def from_document(cls, doc: models.DocumentFile, sf: SourceFile | None = None,
                      diags: Diagnostics | None = None) -> "Registry":
        """The registry; with ``diags``, a name, full name or alias claimed by two ministries is E042."""
        table: dict[str, str] = {}
        owner: dict[str, tuple] = {}
        # names and full names first, so that an alias can never take over another ministry's name
        for i, m in enumerate(doc.ministries):
            for field_name in ("name", "full_name"):
                value = getattr(m, field_name)
                if value:
                    _claim(table, owner, nfc(value), m.name, ("ministries", i, field_name), sf, diags)
        for i, m in enumerate(doc.ministries):
            for k, alias in enumerate(m.aliases):
                _claim(table, owner, nfc(alias), m.name, ("ministries", i, "aliases", k), sf, diags)
        return cls(table, list(doc.ministries))

    def lookup(self, name: str) -> str | None:
        return self.canonical.get(nfc(strip_brackets(name.strip(SPACES))))

    def span_of(self, name: str, document_sf: SourceFile) -> Span | None:
        """Where ministry ``name`` (canonical) is registered in document.yaml."""
        for i, m in enumerate(self.ministries):
            if m.name == name:
                return document_sf.span(("ministries", i, "name"))
        return None

    def suggest(self, name: str) -> str | None:
        """The registered ministry a mistyped ``name`` plausibly means (ignoring 省・庁・府), or ``None``."""
        stems: dict[str, str] = {}
        for known, canonical in self.canonical.items():
            stems.setdefault(_stem(known), canonical)
        found = nearest(_stem(nfc(name.strip(SPACES))), stems.keys(), cutoff=0.6)
        return stems[found] if found else None


def _claim(table, owner, key, canonical, path, sf, diags) -> None:
    if key in table and table[key] != canonical:
        if diags is not None and sf is not None:
            diags.error("E042", f"「{key}」は府省庁「{table[key]}」の名前として既に登録されています（{sf.span(owner[key])}）。",
                        sf.span(path), "別名（aliases）・正式名称（full_name）は府省庁ごとに別の名前にしてください。")
        return
    if key not in table:
        table[key], owner[key] = canonical, path


REGISTER_HINT = ("府省庁を登録するには document.yaml の ministries に「- name: 略称」「full_name: 正式名称」"
                 "「aliases: [別名]」を書き足してください。")


@dataclass
class ValidSources:
    document: models.DocumentFile
    document_sf: SourceFile
    registry: Registry
    pillars: list[VPillar]
    root: Path | None = None  # the sources folder, for columns inside values

    def items(self):
        for pillar in self.pillars:
            for policy in pillar.policies:
                yield from policy.items


# --- pydantic errors → diagnostics -------------------------------------------

def _data_path(data: Any, loc: tuple) -> tuple:
    """Follow a pydantic ``loc`` through the data, skipping union tags."""
    path: list = []
    cur = data
    for part in loc:
        if isinstance(cur, dict) and part in cur:
            path.append(part)
            cur = cur[part]
        elif isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            path.append(part)
            cur = cur[part]
    return tuple(path)


BLOCK_MODELS = {
    "project": models.ProjectBlock, "reprint": models.ReprintBlock, "bullets": models.BulletsBlock,
    "numbered": models.NumberedBlock, "text": models.TextBlock, "note": models.NoteBlock,
    "ministry": models.MinistryBlock,
}
NESTED_MODELS = {"columns": models.Columns, "ministries": models.Ministry}


def _allowed_keys(model: type[BaseModel], loc: tuple, data: Any) -> list[str]:
    """Field names valid in the mapping that holds an unknown key (for the nearest-key hint)."""
    parent = _data_path(data, loc)[:-1]
    if not parent:
        return list(model.model_fields)
    if parent[0] == "status":
        if len(parent) == 2:
            value = data["status"][parent[1]]
            block = BLOCK_MODELS.get(models._block_kind(value) or "")
            return list(block.model_fields) if block else list(BLOCK_MODELS)
        return list(models.ListEntry.model_fields)  # an entry of bullets/numbered, at any depth
    nested = NESTED_MODELS.get(parent[0])
    return list(nested.model_fields) if nested else []


def report_validation_error(exc: ValidationError, model: type[BaseModel], sf: SourceFile, diags: Diagnostics) -> None:
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        path = _data_path(sf.data, loc)
        etype = err["type"]
        field_name = next((p for p in reversed(loc) if isinstance(p, str)), "")
        if etype == "extra_forbidden":
            key = loc[-1]
            path = _data_path(sf.data, loc)[:-1]
            allowed = _allowed_keys(model, loc, sf.data)
            guess = nearest(str(key), allowed, cutoff=0.4)
            if key in models.BLOCK_KINDS:
                hint = "ブロックごとに行頭を「- 」で始めてください（1 つのブロックには種類を 1 つだけ書きます）。"
            elif guess:
                hint = f"もしかして：{guess}"
            else:
                hint = f"使える項目：{', '.join(allowed)}" if allowed else None
            diags.error("E010", f"不明な項目「{key}」があります。", sf.span(path + (key,), key=True), hint)
        elif etype == "missing":
            diags.error("E011", f"必須の項目「{loc[-1]}」がありません。", sf.span(path),
                        f"「{loc[-1]}: …」を書き足してください。")
        elif etype == "union_tag_not_found" or etype == "union_tag_invalid":
            diags.error("E015", "ブロックの種類が分かりません。", sf.span(path),
                        "project, reprint, bullets, numbered, text, note, ministry のどれか 1 つで始めてください。")
        elif etype == "empty_text" or (etype == "string_too_short"):
            diags.error("E013", f"「{field_name}」が空です。", sf.span(path), "文章を書くか、この行を消してください。")
        elif etype == "too_short":
            diags.error("E013", f"「{field_name}」に 1 つ以上書いてください。", sf.span(path))
        elif etype == "string_pattern_mismatch":
            if field_name == "output_name":
                diags.error("E014", "出力ファイル名には半角英数字と . _ - だけが使えます。", sf.span(path),
                            "例: output_name: followup")
            else:
                diags.error("E014", f"id「{err.get('input')}」に使えない文字があります。", sf.span(path),
                            "id は半角の英小文字・数字・ハイフンで書いてください（例: revic-support）。")
        elif etype == "two_lists":
            diags.error("E015", "bullets と numbered は同時に書けません。", sf.span(path), "どちらか一方にしてください。")
        elif etype in ("string_type", "list_type", "model_type", "model_attributes_type", "dict_type"):
            want = {"string_type": "文字列", "list_type": "リスト（行頭が「- 」）", "dict_type": "「項目: 値」の組"}.get(etype, "「項目: 値」の組")
            got = type(err.get("input")).__name__
            extra = "（数字や日付だけの値は引用符 \" \" で囲んでください）" if got in ("int", "float", "date", "datetime", "bool") else ""
            diags.error("E012", f"「{field_name or '値'}」には{want}を書いてください{extra}。", sf.span(path))
        else:
            diags.error("E012", f"「{field_name or '値'}」の値が正しくありません（{err['msg']}）。", sf.span(path))


def validate_file(model: type[BaseModel], sf: SourceFile | None, diags: Diagnostics):
    if sf is None:
        return None
    if not isinstance(sf.data, dict):
        diags.error("E004", "ファイルの中身が「項目: 値」の形になっていません。", sf.span(),
                    "docs/source-format.md の例のように書いてください。" if sf.data is not None else "ファイルが空です。")
        return None
    try:
        return model.model_validate(sf.data)
    except ValidationError as exc:
        report_validation_error(exc, model, sf, diags)
        return None


# --- cross-file rules -----------------------------------------------------------

SPACES = " \u3000"
MINISTRY_BRACKETS = "[［〔]］〕"
# separators between ministry names: 、 and ・ are printed as written (the published document has both,
# ［文科省、農水省］ and ［内閣官房・内閣府］); commas, slashes and spaces (half or full width) become 、
_MINISTRY_SEP_RE = re.compile(r"[ \u3000]*([・、，,／/])[ \u3000]*|[ \u3000]+")
KEPT_SEPARATORS = "、・"
JOINER = "、"


def strip_brackets(name: str) -> str:
    return name.strip(MINISTRY_BRACKETS + SPACES)


def ministry_parts(text: str) -> list[tuple[str, str, str]]:
    """「内閣官房・内閣府、経産省等」 → [("", "内閣官房", ""), ("・", "内閣府", ""), ("、", "経産省", "等")]:
    (separator before, name, 等 after) of every name, brackets typed around names dropped."""
    parts = []
    pos, sep = 0, ""
    text = text.strip(SPACES)
    for m in list(_MINISTRY_SEP_RE.finditer(text)) + [None]:
        chunk = text[pos:m.start()] if m else text[pos:]
        name = strip_brackets(chunk)
        suffix = ""
        if name == "等" and parts:  # 「経産省 等」
            parts[-1] = (*parts[-1][:2], "等")
            name = ""
        elif name.endswith("等") and len(name) > 1:
            name, suffix = name[:-1], "等"
        if name:
            parts.append((sep if parts else "", name, suffix))
            sep = ""
        if m:
            found = m.group(1) or " "
            sep = found if found in KEPT_SEPARATORS else (sep or JOINER)
            pos = m.end()
    return [(s if s in KEPT_SEPARATORS or not i else JOINER, n, x) for i, (s, n, x) in enumerate(parts)]


def split_ministries(text: str) -> list[str]:
    """「内閣官房・内閣府、経産省等」 → ["内閣官房", "内閣府", "経産省"]."""
    return [name for _, name, _ in ministry_parts(text)]


def _check_ministries(sf: SourceFile, path: tuple, valid: "ValidSources", diags: Diagnostics) -> None:
    from compiler.frontend.textrules import Locator

    text = sf.data
    for p in path:
        text = text[p]
    registry, locator, pos = valid.registry, Locator(sf, valid.root), 0
    for name in split_ministries(text):
        at = text.find(name, pos)
        pos = max(at, pos)
        if registry.lookup(name) is None:
            guess = registry.suggest(name)
            diags.error("E023", f"府省庁名「{name}」は document.yaml の登録簿にありません。", locator.span(path, text, max(at, 0)),
                        (f"もしかして：{guess}。" if guess else "") + REGISTER_HINT)


def _check_cross(valid: ValidSources, diags: Diagnostics) -> None:
    seen_ids: dict[str, Span] = {}

    def claim(ident: str, span: Span, what: str) -> None:
        if ident in seen_ids:
            diags.error("E020", f"{what}の id「{ident}」が重複しています（最初は {seen_ids[ident]}）。", span,
                        "id は文書全体で一意にしてください。")
        else:
            seen_ids[ident] = span

    for pillar in valid.pillars:
        claim(pillar.model.id, pillar.sf.span(("id",)), "柱")
        for policy in pillar.policies:
            claim(policy.model.id, policy.sf.span(("id",)), "政策")
    projects: dict[str, Span] = {}
    item_ids: set[str] = set()
    for item in valid.items():
        claim(item.model.id, item.sf.span(("id",)), "取組方針")
        item_ids.add(item.model.id)
        for i, block in enumerate(item.model.status):
            if isinstance(block, models.ProjectBlock) and block.id:
                claim(block.id, item.sf.span(("status", i, "id")), "事業")
                projects[block.id] = item.sf.span(("status", i, "id"))

    first_seen: dict[tuple, Span] = {}
    for pillar in valid.pillars:
        for policy in pillar.policies:
            categories_done: set[str] = set()
            previous = None
            for item in policy.items:
                m, sf = item.model, item.sf
                _check_ministries(sf, ("ministry",), valid, diags)
                category = nfc(m.category)
                if category != previous:
                    if category in categories_done:
                        diags.warning("W104", f"分類【{m.category}】の取組方針が連続していません。", sf.span(("category",)),
                                      "同じ分類の取組方針が並ぶようにファイル名の番号を付け直してください。")
                    categories_done.add(category)
                    previous = category
                if not m.status:
                    diags.warning("W101", "取組状況（status）がまだ書かれていません。", sf.span(("status",), key=True) if "status" in sf.data else sf.span(),
                                  "status に事業名や取組状況を書いてください（リリースビルドではエラーになります）。")
                for i, block in enumerate(m.status):
                    span = sf.span(("status", i))
                    if isinstance(block, models.MinistryBlock):
                        _check_ministries(sf, ("status", i, "ministry"), valid, diags)
                    elif isinstance(block, models.ReprintBlock):
                        if block.reprint not in projects:
                            hint = "再掲する事業の project ブロックに id: を付け、その id を書いてください。"
                            if block.reprint in item_ids:
                                diags.error("E022", f"再掲の参照先「{block.reprint}」は取組方針の id です。", sf.span(("status", i, "reprint")),
                                            "再掲できるのは事業（project ブロック）だけです。" + hint)
                            else:
                                guess = nearest(block.reprint, projects.keys())
                                diags.error("E021", f"再掲の参照先「{block.reprint}」という事業がありません。", sf.span(("status", i, "reprint")),
                                            f"もしかして：{guess}" if guess else hint)
                    elif isinstance(block, models.ProjectBlock):
                        key = (block.project, tuple(block.budget))
                        if key in first_seen and first_seen[key] != span:
                            diags.warning("W105", f"事業「{block.project}」は {first_seen[key]} と同じ名前・予算で既に出ています。", span,
                                          "再掲なら、最初の事業に id: を付けて「- reprint: その id」と書いてください。")
                        first_seen.setdefault(key, span)


def _check_lists(valid: ValidSources, theme, diags: Diagnostics) -> None:
    """Lists the layout can print: nesting up to the number of bullet levels of the theme, numbered
    lists up to the number of numbered markers (①…㊿)."""
    depth = len(theme.markers.bullets)
    count = len(theme.markers.numbered)

    def walk(entries, numbered: bool, level: int, sf: SourceFile, path: tuple) -> None:
        if numbered and len(entries) > count:
            diags.error("E038", f"番号付きの項目が {len(entries)} 個あります（{theme.markers.numbered[-1]}の {count} 個までです）。",
                        sf.span(path + (count,)), "リストを分けるか、bullets にしてください。")
        for k, e in enumerate(entries):
            if level > depth:
                diags.error("E039", f"箇条書きの入れ子が深すぎます（{depth} 段までです）。", sf.span(path + (k,)),
                            f"{depth} 段目より深い項目は、上の段にまとめてください。")
                return
            if isinstance(e, models.ListEntry):
                for kind in ("bullets", "numbered"):
                    children = getattr(e, kind)
                    if children:
                        walk(children, kind == "numbered", level + 1, sf, path + (k, kind))

    for item in valid.items():
        for i, block in enumerate(item.model.status):
            for kind in ("bullets", "numbered"):
                entries = getattr(block, kind, None)
                if entries:
                    walk(entries, kind == "numbered", 1, item.sf, ("status", i, kind))


def check_environment(diags: Diagnostics) -> None:
    """``SOURCE_DATE_EPOCH`` (the creation date of reproducible builds) must be a representable integer."""
    import os
    from datetime import datetime, timezone

    raw = os.environ.get("SOURCE_DATE_EPOCH")
    if raw is None or not raw.strip():
        return
    hint = "SOURCE_DATE_EPOCH には 1970年1月1日からの秒数を半角の整数で指定してください（例: 1675209600）。"
    if not re.fullmatch(r"[0-9]+", raw.strip()):
        diags.error("E036", f"環境変数 SOURCE_DATE_EPOCH「{raw[:40]}」が整数ではありません。", None, hint)
        return
    try:
        datetime.fromtimestamp(int(raw.strip()), tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        diags.error("E036", f"環境変数 SOURCE_DATE_EPOCH「{raw.strip()[:40]}」は扱える日時（{9999}年まで）の範囲外です。", None, hint)


def _check_properties(valid: ValidSources, diags: Diagnostics) -> None:
    """Limits of the file formats' metadata (python-docx refuses core properties over 255 characters)."""
    from compiler.document import CORE_PROPERTY_LIMIT, core_properties

    doc, sf = valid.document, valid.document_sf
    fields = {"title": ("title",), "subject": ("as_of",), "author": ("author",)}  # subject = title（as_of）
    for name, value in core_properties(doc.title, doc.as_of, doc.author).items():
        if len(value) > CORE_PROPERTY_LIMIT and name in fields:
            what = "表題と時点（as_of）を合わせて" if name == "subject" else ""
            diags.error("E037", f"DOCX の文書情報（{name}）が {len(value)} 文字になります（{what}{CORE_PROPERTY_LIMIT} 文字までです）。",
                        sf.span(fields[name]), "短くしてください。")


def validate(loaded: LoadedSources, diags: Diagnostics, theme=None) -> ValidSources | None:
    """Validate all files; ``None`` when the sources cannot be resolved."""
    from compiler.frontend import textrules

    if theme is None:
        from compiler.theme import load_theme

        theme = load_theme()
    check_environment(diags)

    document = validate_file(models.DocumentFile, loaded.document, diags)
    pillars: list[VPillar] = []
    for pdir in loaded.pillars:
        pmodel = validate_file(models.PillarFile, pdir.file, diags)
        vpillar = VPillar(pmodel, pdir.file) if pmodel else None
        for poldir in pdir.policies:
            polmodel = validate_file(models.PolicyFile, poldir.file, diags)
            vpolicy = VPolicy(polmodel, poldir.file) if polmodel else None
            for sf in poldir.items:
                imodel = validate_file(models.ItemFile, sf, diags)
                if imodel and vpolicy:
                    vpolicy.items.append(VItem(imodel, sf))
            if vpillar and vpolicy:
                vpillar.policies.append(vpolicy)
        if vpillar:
            pillars.append(vpillar)
    for sf in loaded.all_files():
        textrules.check_file(sf, diags, theme, loaded.root)
    if document is None:
        return None
    valid = ValidSources(document, loaded.document, Registry.from_document(document, loaded.document, diags), pillars,
                         loaded.root)
    _check_cross(valid, diags)
    _check_lists(valid, theme, diags)
    _check_properties(valid, diags)
    return valid
