"""Small tools for whoever edits the sources: ``where``, ``new`` and ``status``.

All three read the resolved document (final numbers, as printed) and the
validated sources behind it; none of them changes an existing file.

* ``find`` — from what someone quotes to the rows: an item number in any
  width or bracket style （⑤－3）, ⑤－３, ⑤-3, 5-3, (5-3), ⑤ー3; an item id;
  a project name (exact, or a substring that names one project only).
* ``new_item`` — a new item file after a given row or at the end of a policy:
  an order prefix between its neighbours' (030 and 040 → 035; 030 and 031 →
  030.5, which the loader's ``ORDER_RE`` accepts), an id no file uses, a
  commented skeleton; never overwrites.
* ``status_report`` — per ministry, the items it answers for whose 取組状況 is
  empty (no status block) or stale: every year the status mentions (令和4年,
  令和4年度, 2022年…) is older than the fiscal year of the document's 時点
  (令和5年2月時点 → 令和4年度), so the text was not brought up to date. A
  status that mentions no year at all is not called stale.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from compiler import document as d
from compiler.frontend import schema as models
from compiler.frontend.checks import ValidSources, VItem
from compiler.diagnostics import Diagnostics
from compiler.frontend.loader import ORDER_RE, POLICY_FILE, YAML_SUFFIXES, list_folder

_DASHES = re.compile(r"[\-‐‑‒–—―−ー－ｰ─━]")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def label_key(text: str) -> str:
    """Comparison key of an item or policy number: （⑤－3）, ⑤－３, ⑤-3, 5-3 → ``5-3``; ⑤ → ``5``."""
    key = unicodedata.normalize("NFKC", text)
    key = _DASHES.sub("-", re.sub(r"\s+", "", key))
    while len(key) > 2 and key[0] in "([" and key[-1] in ")]":
        key = key[1:-1]
    return key


@dataclass(frozen=True)
class Match:
    row: d.Row
    policy: d.Policy
    line: int  # where in the file (1: the file itself; a project's line when found by its name)
    project: str | None = None  # the project name that matched

    @property
    def title(self) -> str:
        return self.row.commitment[0].splitlines()[0] if self.row.commitment else ""


class Ambiguous(LookupError):
    def __init__(self, candidates: list[Match]):
        super().__init__(len(candidates))
        self.candidates = candidates


class NotFound(LookupError):
    pass


def _items_by_id(valid: ValidSources) -> dict[str, VItem]:
    return {item.model.id: item for item in valid.items()}


def _project_names(row: d.Row):
    for i, block in enumerate(row.status):
        if isinstance(block, d.ProjectBlock):
            yield i, block


def find(doc: d.Document, valid: ValidSources, query: str) -> list[Match]:
    """The rows ``query`` names (several only for one project printed more than once). Raises
    ``Ambiguous`` (several candidates) or ``NotFound``."""
    placed = [(policy, row) for _, policy, row in doc.placed_rows()]
    items = _items_by_id(valid)
    key = label_key(query)
    by_label = [Match(row, policy, 1) for policy, row in placed if label_key(row.label) == key]
    if by_label:
        return by_label
    by_id = [Match(row, policy, 1) for policy, row in placed if row.item_id == query.strip()]
    if by_id:
        return by_id
    wanted = unicodedata.normalize("NFKC", query.strip())
    exact: list[tuple[Match, str]] = []
    partial: list[tuple[Match, str]] = []
    for policy, row in placed:
        sf = items[row.item_id].sf if row.item_id in items else None
        for i, block in _project_names(row):
            name = unicodedata.normalize("NFKC", block.name)
            line = sf.span(("status", i)).line if sf else 1
            if name == wanted:
                exact.append((Match(row, policy, line, block.name), block.project_key))
            elif wanted and wanted in name:
                partial.append((Match(row, policy, line, block.name), block.project_key))
    for found in (exact, partial):
        if found:
            if len({project_key for _, project_key in found}) > 1:
                raise Ambiguous([m for m, _ in found])
            return [m for m, _ in found]
    raise NotFound(query)


# --- new -----------------------------------------------------------------------------

def all_ids(sources: Path) -> set[str]:
    """Every id written in any source file, valid or not (a file with errors still holds its id)."""
    from compiler.diagnostics import Diagnostics
    from compiler.frontend.loader import load_sources

    ids: set[str] = set()
    for sf in load_sources(Path(sources), Diagnostics()).all_files():
        data = sf.data if isinstance(sf.data, dict) else {}
        if isinstance(data.get("id"), str):
            ids.add(data["id"])
        for block in data.get("status") or [] if isinstance(data.get("status"), list) else []:
            if isinstance(block, dict) and isinstance(block.get("id"), str):
                ids.add(block["id"])
    return ids


def _prefix(text: str) -> tuple[Decimal, int]:
    """Order prefix of a file name → (value, width of its integer part)."""
    m = ORDER_RE.match(Path(text).stem)
    number = m.group(1)
    return Decimal(number), len(number.split(".")[0])


def _format_order(value: Decimal, width: int) -> str:
    whole, _, frac = format(value.normalize(), "f").partition(".")
    return whole.zfill(width) + (f".{frac}" if frac else "")


def order_between(lo: Decimal | None, hi: Decimal | None, width: int = 3, step: int = 10) -> str:
    """An order prefix after ``lo`` and before ``hi`` (either may be missing): the next multiple of
    ``step`` at the end, else a whole number between them, else the shortest decimal between them."""
    if hi is None:
        base = Decimal(0) if lo is None else lo
        return _format_order((base // step + 1) * step, width)
    lo = Decimal(0) if lo is None else lo
    if not lo < hi:
        raise ValueError(f"no order between {lo} and {hi}")
    middle = ((lo + hi) / 2).to_integral_value(rounding="ROUND_FLOOR")
    if lo < middle < hi:
        return _format_order(middle, width)
    places = 1
    while True:
        quantum = Decimal(1).scaleb(-places)
        middle = ((lo + hi) / 2).quantize(quantum, rounding="ROUND_FLOOR")
        if lo < middle < hi:
            return _format_order(middle, width)
        places += 1


def unique_id(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _yaml_text(value: str) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid YAML scalar


def skeleton(item_id: str, category: str | None, ministry: str | None, where: str) -> str:
    category_line = f"category: {_yaml_text(category)}" if category else "category:  # 例: 中小機構"
    ministry_line = f"ministry: {_yaml_text(ministry)}" if ministry else "ministry:  # 例: 経産省"
    return f"""# 新しい取組方針（{where}）。書き方は docs/source-format.md にあります。
# 番号（（①－1）など）は書きません。並び順はファイル名の先頭の数字で決まります。
id: {item_id}
# 分類（【】は付けません）。同じ分類の取組方針が続くようにします。
{category_line}
# 新たな取組方針の文章。段落ごとに「- 」で始めます（次の行の # を消して書きます）。
# 書くまでは check がエラー（E013）を出します。
commitment:
#  - ここに取組方針を書きます。
# 担当の府省庁（［］は付けません。document.yaml の登録簿の名前。複数なら「・」でつなぎます）。
{ministry_line}
# 事業名・取組状況等。まだ無ければ空のまま（警告 W101。リリースビルドではエラー）。
status:
#  - project: 事業名
#    budget:
#      - 令和5年度予算案：10億円
#  - bullets:
#      - 取組状況を書きます。
#  - ministry: 経産省
"""


class NewItemError(ValueError):
    pass


def find_policy(doc: d.Document, query: str) -> d.Policy:
    key = label_key(query)
    for pillar in doc.pillars:
        for policy in pillar.policies:
            if policy.id == query.strip() or label_key(policy.number) == key:
                return policy
    raise NotFound(query)


def new_item(doc: d.Document, valid: ValidSources, sources: Path, after: str | None = None,
             policy_query: str | None = None, item_id: str | None = None) -> Path:
    """Create the new item file and return its path; raises NotFound, Ambiguous or NewItemError."""
    sources = Path(sources)
    items = _items_by_id(valid)
    if after is not None:
        matches = find(doc, valid, after)
        if len({m.row.item_id for m in matches}) > 1:
            raise Ambiguous(matches)
        row = matches[0].row
        folder = (sources / row.span.file).parent
        neighbour = items[row.item_id].model
        anchor = Path(row.span.file).name
        where = f"{row.number}の次"
    else:
        policy = find_policy(doc, policy_query or "")
        folder = (sources / policy.span.file).parent
        last = next((r for r in reversed(policy.rows) if isinstance(r, d.Row)), None)
        neighbour = items[last.item_id].model if last else None
        anchor = None
        where = f"{policy.heading}の最後"
    entries = list_folder(folder, "", Diagnostics())  # the loader's own listing: no links, no special files
    files = [folder / e.name for e in entries if not e.is_dir and e.name.endswith(YAML_SUFFIXES)
             and e.name != POLICY_FILE and ORDER_RE.match(Path(e.name).stem)]
    files.sort(key=lambda p: (_prefix(p.name)[0], p.name))
    names = [p.name for p in files]
    if after is None and names:
        anchor = names[-1]  # after every file of the policy, valid or not
    if anchor is not None:
        i = names.index(anchor)
        lo, width = _prefix(anchor)
        hi = _prefix(names[i + 1])[0] if i + 1 < len(names) else None
        if hi is not None and hi == lo:  # two files share the prefix: go after both
            later = [n for n in names[i + 1:] if _prefix(n)[0] > lo]
            hi = _prefix(later[0])[0] if later else None
    else:
        lo, hi, width = None, None, 3
    order = order_between(lo, hi, width)
    taken = all_ids(sources)
    if item_id is not None:
        if not ID_RE.match(item_id) or len(item_id) > 80:
            raise NewItemError(f"id「{item_id}」に使えない文字があります。半角の英小文字・数字・ハイフンで書いてください。")
        if item_id in taken:
            raise NewItemError(f"id「{item_id}」は既に使われています。別の id を指定してください（省略すると自動で決めます）。")
    else:
        policy_id = Path(folder / POLICY_FILE)
        base = next((pol.model.id for pil in valid.pillars for pol in pil.policies
                     if (sources / pol.sf.rel).resolve() == policy_id.resolve()), "item")
        item_id = unique_id(f"{base}-new", taken)
    path = folder / f"{order}-{item_id}.yaml"
    text = skeleton(item_id, neighbour.category if neighbour else None, neighbour.ministry if neighbour else None, where)
    try:
        with open(path, "x", encoding="utf-8") as fh:  # never overwrite
            fh.write(text)
    except FileExistsError:
        raise NewItemError(f"{path} は既にあります（上書きしません）。") from None
    return path


# --- status ------------------------------------------------------------------------------

_YEAR_RE = re.compile(r"(明治|大正|昭和|平成|令和)\s*(元|[0-9０-９]+)\s*年|((?:19|20)[0-9]{2}|(?:１９|２０)[０-９]{2})\s*年")


def years_mentioned(text: str) -> list[int]:
    """Gregorian years written in ``text`` as 令和4年(度), 平成31年, 2022年(度)."""
    from compiler.frontend.textrules import ERAS

    years = []
    for m in _YEAR_RE.finditer(text):
        if m.group(1):
            n = 1 if m.group(2) == "元" else int(unicodedata.normalize("NFKC", m.group(2)))
            years.append(ERAS[m.group(1)][0].year + n - 1)
        else:
            years.append(int(unicodedata.normalize("NFKC", m.group(3))))
    return years


def fiscal_year(day: date) -> int:
    """Japanese fiscal year (April to March) of ``day``: 2023-02-01 → 2022 (令和4年度)."""
    return day.year if day.month >= 4 else day.year - 1


def status_text(row: d.Row) -> str:
    parts: list[str] = []

    def entries(items):
        for it in items:
            parts.append(it.text)
            entries(it.children)

    for block in row.status:
        if isinstance(block, d.ProjectBlock):
            parts.extend((block.name, *block.budget))
        elif isinstance(block, d.ListBlock):
            entries(block.items)
        elif isinstance(block, (d.ParagraphBlock, d.NoteBlock)):
            parts.append(block.text)
    return "\n".join(parts)


@dataclass(frozen=True)
class StatusEntry:
    row: d.Row
    state: str  # "empty" or "stale"
    latest: int | None = None  # the latest year mentioned (stale)


def as_of_date(doc: d.Document) -> date:
    from compiler.frontend.textrules import ERA_DATE_RE, era_date_problem, era_to_date

    m = ERA_DATE_RE.search(doc.as_of)
    if m and era_date_problem(*m.groups()) is None:
        return era_to_date(*m.groups())
    return doc.created.date()


def status_report(doc: d.Document, ministries: list[str]) -> dict[str, list[StatusEntry]]:
    """Per canonical ministry name: its rows (as responsible ministry) with an empty or stale status."""
    current = fiscal_year(as_of_date(doc))
    out: dict[str, list[StatusEntry]] = {m: [] for m in ministries}
    for row in doc.rows():
        entry = None
        if not any(not isinstance(b, d.MinistryTagBlock) for b in row.status):
            entry = StatusEntry(row, "empty")
        else:
            years = years_mentioned(status_text(row))
            if years and max(years) < current:
                entry = StatusEntry(row, "stale", max(years))
        if entry is None:
            continue
        for ministry in ministries:
            if ministry in row.responsible:
                out[ministry].append(entry)
    return out
