"""Text rules checked on every string value of every source file.

Characters that corrupt a DOCX (control characters, XML-invalid code points),
bidi controls and invisible separators, impossible dates (令和4年13月, 平成32年,
2023年2月30日, 4月31日), a Latin O standing for ○, half-width katakana,
full-width digits (the house style is half-width), text not in NFC, and marks
the compiler adds itself typed into the text (【【…】】, ○○, ※※, （①－1）…),
read from the theme. Every diagnostic points at the offending character: the
column inside the value is found in the source text (``Locator``).
"""

from __future__ import annotations

import bisect
import calendar
import re
import unicodedata
from datetime import date
from pathlib import Path

from compiler.diagnostics import LINE_BREAK_RE, Diagnostics, Span
from compiler.frontend.loader import SourceFile

# Era: (first day, last day or None)
ERAS = {
    "明治": (date(1868, 10, 23), date(1912, 7, 29)),
    "大正": (date(1912, 7, 30), date(1926, 12, 24)),
    "昭和": (date(1926, 12, 25), date(1989, 1, 7)),
    "平成": (date(1989, 1, 8), date(2019, 4, 30)),
    "令和": (date(2019, 5, 1), None),
}
DIGITS = "0-9０-９"
MAX_YEAR = 9999  # datetime's (and the DOCX core properties') last year
ERA_DATE_RE = re.compile(
    rf"(明治|大正|昭和|平成|令和)\s*(元|[{DIGITS}]+)\s*年(?!度)\s*(?:([{DIGITS}]+)\s*月(?:\s*([{DIGITS}]+)\s*日)?)?"
)
WESTERN_DATE_RE = re.compile(
    rf"(?<![{DIGITS}])([{DIGITS}]{{4}})\s*年(?!度)\s*([{DIGITS}]{{1,2}})\s*月(?:\s*([{DIGITS}]{{1,2}})\s*日)?")
YEARLESS_DATE_RE = re.compile(rf"(?<![{DIGITS}])([{DIGITS}]{{1,2}})\s*月\s*([{DIGITS}]{{1,2}})\s*日")
LATIN_O_RE = re.compile(r"(?:^|(?<=[\s。、「（]))[OoＯｏ〇](?=[\u3040-\u30ff\u3400-\u9fffA-ZＡ-Ｚ]{2})")
HALFWIDTH_KATAKANA_RE = re.compile(r"[\uff61-\uff9f]")
FULLWIDTH_DIGIT_RE = re.compile(r"[０-９]")


def _num(text: str) -> int:
    return int("".join(str(int(c)) if c.isdigit() else c for c in text))


def _era_year(year_text: str) -> int:
    return 1 if year_text == "元" else _num(year_text)


def era_to_date(era: str, year_text: str, month_text: str | None, day_text: str | None) -> date:
    """The Gregorian date of 令和5年2月(1日); a missing month or day counts as the first."""
    return date(ERAS[era][0].year + _era_year(year_text) - 1, _num(month_text) if month_text else 1,
                _num(day_text) if day_text else 1)


def era_date_problem(era: str, year_text: str, month_text: str | None, day_text: str | None) -> str | None:
    """Why this era date is impossible, or ``None`` if it exists."""
    year = _era_year(year_text)
    start, end = ERAS[era]
    if year < 1:
        return f"{era}{year}年はありません"
    greg = start.year + year - 1
    if greg > MAX_YEAR:
        return f"{era}{year}年（西暦{greg}年）は扱える年（{MAX_YEAR}年まで）を超えています"
    if month_text is None:
        if end is not None and greg > end.year:
            return f"{era}は{end.year - start.year + 1}年までです"
        return None
    month = _num(month_text)
    if not 1 <= month <= 12:
        return f"{month}月はありません"
    if day_text is None:
        first, last = date(greg, month, 1), date(greg, month, calendar.monthrange(greg, month)[1])
        if last < start or (end is not None and first > end):
            return f"{era}{year_text}年{month}月は{era}の期間外です"
        return None
    day = _num(day_text)
    if not 1 <= day <= calendar.monthrange(greg, month)[1]:
        return f"{month}月{day}日はありません"
    d = date(greg, month, day)
    if d < start or (end is not None and d > end):
        return f"{era}{year_text}年{month}月{day}日は{era}の期間外です"
    return None


def western_date_problem(year_text: str, month_text: str, day_text: str | None) -> str | None:
    """Why 2023年2月30日 / 2023年13月 is impossible, or ``None``."""
    year, month = _num(year_text), _num(month_text)
    if not 1 <= year <= MAX_YEAR:
        return f"{year}年は扱えません"
    if not 1 <= month <= 12:
        return f"{month}月はありません"
    if day_text is not None and not 1 <= _num(day_text) <= calendar.monthrange(year, month)[1]:
        return f"{year}年{month}月{_num(day_text)}日はありません"
    return None


def yearless_date_problem(month_text: str, day_text: str) -> str | None:
    """Why 2月30日 / 4月31日 is impossible in any year, or ``None``."""
    month, day = _num(month_text), _num(day_text)
    if not 1 <= month <= 12:
        return f"{month}月はありません"
    if not 1 <= day <= calendar.monthrange(2024, month)[1]:  # a leap year: 2月29日 exists
        return f"{month}月{day}日はありません"
    return None


def date_problems(text: str):
    """``(offset, written, problem)`` for every impossible date in ``text``: era, Western and year-less."""
    taken: list[tuple[int, int]] = []
    found = []
    for regex, judge in ((ERA_DATE_RE, era_date_problem), (WESTERN_DATE_RE, western_date_problem),
                         (YEARLESS_DATE_RE, yearless_date_problem)):
        for m in regex.finditer(text):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue  # 2月30日 inside 令和5年2月30日 is judged with its year
            taken.append(m.span())
            problem = judge(*m.groups())
            if problem:
                found.append((m.start(), m.group(0), problem))
    return sorted(found)


def is_xml_invalid(ch: str) -> bool:
    cp = ord(ch)
    if cp in (0x9, 0xA, 0xD):
        return False
    return cp < 0x20 or 0x7F <= cp <= 0x9F or 0xD800 <= cp <= 0xDFFF or cp in (0xFFFE, 0xFFFF) or 0xFDD0 <= cp <= 0xFDEF


def string_values(value, path=()):
    """Every string in a loaded YAML value, with its path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from string_values(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from string_values(v, path + (i,))


# --- where a character stands -------------------------------------------------

_BREAKS = "\r\n\x85\u2028\u2029"


class Locator:
    """Spans of single characters inside the values of one source file.

    The loader records where each value starts; the column of the n-th
    character of a value is found by walking the source text from there,
    through quotes, escapes, block-scalar indentation and folded line breaks.
    The file is read only when a diagnostic needs it."""

    def __init__(self, sf: SourceFile, root: Path | None):
        self.sf, self.root = sf, root
        self._text: str | None = None
        self._starts: list[int] = []

    def _load(self) -> str:
        if self._text is None:
            self._text = ""
            if self.root is not None:
                try:
                    from compiler.frontend.loader import read_bytes_inside  # never through a link

                    self._text = read_bytes_inside(Path(self.root), self.sf.rel).decode("utf-8-sig")
                except (OSError, UnicodeDecodeError):
                    pass
            self._starts = [0] + [m.end() for m in LINE_BREAK_RE.finditer(self._text)]
        return self._text

    def span(self, path: tuple, value: str, offset: int) -> Span:
        base = self.sf.span(path)
        text = self._load()
        if not text or offset < 0 or path not in self.sf.positions or base.line > len(self._starts):
            return base
        start = self._starts[base.line - 1] + base.col - 1
        i = _walk(text, start, value, offset)
        if i is None:
            return base
        line = bisect.bisect_right(self._starts, i)
        return Span(self.sf.rel, line, i - self._starts[line - 1] + 1)


def _walk(text: str, i: int, value: str, offset: int) -> int | None:
    """Index in ``text`` of ``value[offset]``, the value's scalar starting at ``text[i]``."""
    n = len(text)
    style = text[i] if i < n else ""
    if style in ("|", ">"):
        m = LINE_BREAK_RE.search(text, i)
        if not m:
            return None
        i = m.end()
    elif style in ('"', "'"):
        i += 1
    else:
        style = ""
    j = 0
    while j < offset:
        if i >= n:
            return None
        c, v = text[i], value[j]
        if style == '"' and c == "\\":
            nxt = text[i + 1:i + 2]
            if nxt and nxt in _BREAKS:  # escaped line break: nothing in the value
                i += 3 if text.startswith("\r\n", i + 1) else 2
                while i < n and text[i] in " \t":
                    i += 1
                continue
            i += 2 + {"x": 2, "u": 4, "U": 8}.get(nxt, 0)
            j += 1
            continue
        if style == "'" and text.startswith("''", i):
            i, j = i + 2, j + 1
            continue
        if c == v:
            i, j = i + 1, j + 1
            continue
        if c in " \t" or c in _BREAKS:
            if c in _BREAKS and v in " \n":  # a line break kept, or folded into a space
                j += 1
            i += 2 if text.startswith("\r\n", i) else 1
            continue
        return None
    return i if i < n else None


# --- marks the compiler adds ------------------------------------------------------

def file_kind(data) -> str:
    """document / pillar / policy / item, from the keys of a file's data."""
    if not isinstance(data, dict):
        return ""
    if "as_of" in data or "ministries" in data:
        return "document"
    if "commitment" in data or "category" in data or "status" in data:
        return "item"
    if "short_title" in data or "principle" in data:
        return "policy"
    return "pillar" if "title" in data else ""


def field_kind(path: tuple, kind: str) -> str:
    """What a string at ``path`` of a ``kind`` file becomes in the document (the marks it gets)."""
    keys = [p for p in path if isinstance(p, str)]
    last = keys[-1] if keys else ""
    if kind == "item":
        if path[:1] == ("status",) and len(path) > 2:
            if "bullets" in keys or "numbered" in keys:
                return "entry"
            return {"project": "project", "budget": "budget", "note": "note", "ministry": "ministry"}.get(last, "")
        return {"category": "category", "commitment": "commitment", "ministry": "ministry"}.get(last, "")
    if kind == "policy":
        if last == "principle" and (len(path) == 1 or path[1] == 0):
            return "principle"
        return {"notes": "note", "short_title": "policy_title"}.get(last, "")
    if kind == "pillar" and path == ("title",):
        return "pillar_title"
    return ""


_SPACES = " \u3000"
_DASHES = "－-‐−ー–—"
_OPEN_MINISTRY, _CLOSE_MINISTRY = "[［〔", "]］〕"


def _variants(ch: str) -> str:
    """``ch`` and the characters typed for it (its NFKC form; the dashes for －)."""
    out = ch + unicodedata.normalize("NFKC", ch)
    if ch in _DASHES:
        out += _DASHES
    return "".join(dict.fromkeys(out))


def _format_regex(fmt: str, fields: dict[str, str]) -> str:
    """A regex for what ``fmt`` (a str.format template of the theme) prints; ``fields`` give the placeholders' regexes."""
    out, pos = "", 0
    for m in re.finditer(r"\{(\w+)\}", fmt):
        out += "".join(f"[{re.escape(_variants(c))}]" for c in fmt[pos:m.start()])
        out += fields.get(m.group(1), ".+?")
        pos = m.end()
    return out + "".join(f"[{re.escape(_variants(c))}]" for c in fmt[pos:])


_MARKS_CACHE: dict[int, tuple] = {}


def _marks(theme) -> dict:
    """Per field kind: (leading marks, trailing marks, regex of a leading computed number), from the theme."""
    cached = _MARKS_CACHE.get(id(theme))
    if cached is None or cached[0] is not theme:
        cached = _MARKS_CACHE[id(theme)] = (theme, _build_marks(theme))
    return cached[1]


def _build_marks(theme) -> dict:
    mk, num = theme.markers, theme.numbering
    policy = f"[{re.escape(num.policies)}]"
    digits = f"[{DIGITS}]+"
    label = _format_regex(num.label, {"policy": policy, "item": digits})
    item = _format_regex(num.item, {"label": label})
    pillar = _format_regex(num.pillar, {"n": digits})
    variants = {"○": "◯"}  # look-alikes typed for the project mark
    typed_bullets = "・●◦▪"  # bullets people type by hand, whatever the theme prints
    project = mk.project + variants.get(mk.project, "")
    return {
        "category": (mk.category[0], mk.category[1], None),
        "budget": (mk.budget[0], mk.budget[1], None),
        "ministry": (mk.ministry[0] + _OPEN_MINISTRY, mk.ministry[1] + _CLOSE_MINISTRY, None),
        "project": (project, "", re.escape(mk.reprint)),
        "note": (mk.note, "", None),
        "entry": ("".join(dict.fromkeys("".join(mk.bullets) + typed_bullets)) + mk.numbered, "", None),
        "commitment": ("", "", f"(?:{item}|{label})"),
        "principle": (num.policies, "", None),
        "policy_title": (num.policies, "", None),
        "pillar_title": ("", "", pillar),
    }


def typed_mark(text: str, theme, kind: str) -> tuple[int, str] | None:
    """``(offset, mark)`` of a mark the compiler adds itself, typed at an end of ``text``; ``None`` if there is none."""
    rule = _marks(theme).get(kind)
    if rule is None:
        return None
    lead, trail, number = rule
    body = text.lstrip(_SPACES)
    offset = len(text) - len(body)
    if number:
        m = re.match(number, body)
        if m:
            return offset, m.group(0)
    if lead and body[:1] and body[0] in lead:
        return offset, body[0]
    tail = text.rstrip(_SPACES)
    if trail and tail[-1:] and tail[-1] in trail:
        return len(tail) - 1, tail[-1]
    if kind == "project" and theme.markers.reprint in text:
        return text.index(theme.markers.reprint), theme.markers.reprint
    return None


def _balanced(text: str, opens: str, closes: str) -> bool:
    depth = 0
    for c in text:
        depth += (c in opens) - (c in closes)
        if depth < 0:
            return False
    return depth == 0


def strip_typed_marks(text: str, theme, kind: str) -> str:
    """``text`` without the marks the compiler adds (for ``followup fmt``); a bracket is removed only
    with its partner or when it has none, so 【特定技能】関連 is left for a person to decide."""
    rule = _marks(theme).get(kind)
    if rule is None:
        return text
    lead, trail, number = rule
    if typed_mark(text, theme, kind) is None:
        return text
    s = text.strip(_SPACES)
    while True:
        before = s
        if number:
            m = re.match(number, s)
            if m:
                s = s[m.end():].lstrip(_SPACES)
        if kind == "project":
            s = s.replace(theme.markers.reprint, "").strip(_SPACES)
        if trail and s and s[0] in lead and s[-1] in trail:
            if _balanced(s[1:-1], lead, trail):
                s = s[1:-1].strip(_SPACES)
        elif s and s[0] in lead and not (trail and any(c in trail for c in s)):
            s = s[1:].lstrip(_SPACES)
        elif trail and s and s[-1] in trail and not any(c in lead for c in s):
            s = s[:-1].rstrip(_SPACES)
        if s == before or not s:
            return s if s else text


# --- the rules ----------------------------------------------------------------------

BIDI_CONTROLS = frozenset({0x200E, 0x200F, 0x061C, *range(0x202A, 0x202F), *range(0x2066, 0x206A)})
INVISIBLE = {0x2028: "行区切り", 0x2029: "段落区切り", 0x200B: "ゼロ幅スペース", 0x200C: "ゼロ幅非接合子",
             0x200D: "ゼロ幅接合子", 0x00AD: "ソフトハイフン", 0xFFFC: "オブジェクト置換文字", 0xFEFF: "BOM（ゼロ幅非改行スペース）"}
NO_BREAK_SPACES = frozenset({0x00A0, 0x202F, 0x2007})
MAX_PER_VALUE = 10  # diagnostics of one kind in one value


def _first_not_nfc(text: str) -> int:
    for i in range(1, len(text)):
        pair = text[i - 1:i + 1]
        if unicodedata.combining(text[i]) or unicodedata.normalize("NFC", pair) != pair:
            if unicodedata.normalize("NFC", text[:i + 1]) != text[:i + 1]:
                return i - 1
    return 0


def check_text(text: str, at, diags: Diagnostics, key="", kind: str = "", theme=None) -> None:
    """Rules on one string value; ``at(offset)`` is the span of the character at ``offset``."""
    counts: dict[str, int] = {}

    def once(code: str) -> bool:
        counts[code] = counts.get(code, 0) + 1
        return counts[code] <= MAX_PER_VALUE

    for i, ch in enumerate(text):
        cp = ord(ch)
        if (is_xml_invalid(ch) or ch == "\t") and once("E031"):
            diags.error("E031", f"使えない制御文字 U+{cp:04X} が含まれています。", at(i),
                        "Excel や Word から貼り付けたときに入ることがあります。その文字を消してください。")
        elif cp in BIDI_CONTROLS and once("E034"):
            diags.error("E034", f"文字の向きを変える制御文字 U+{cp:04X} が含まれています。", at(i),
                        "表示と中身が食い違う原因になるため使えません。その文字を消してください（followup fmt で消せます）。")
        elif cp in INVISIBLE and once("E035"):
            diags.error("E035", f"見えない文字 U+{cp:04X}（{INVISIBLE[cp]}）が含まれています。", at(i),
                        "改行や区切りが意図しない所に入ります。その文字を消してください（U+2028/2029 以外は followup fmt で消せます）。")
        elif cp in NO_BREAK_SPACES and once("W109"):
            diags.warning("W109", f"改行しない空白 U+{cp:04X} が含まれています。", at(i),
                          "ふつうの空白に置き換えてください（followup fmt で直せます）。")
    if not unicodedata.is_normalized("NFC", text):
        diags.warning("W108", "合成されていない文字（濁点などが別の文字になったもの、NFD）が含まれています。",
                      at(_first_not_nfc(text)), "followup fmt で NFC にそろえられます。")
    for offset, written, problem in date_problems(text)[:MAX_PER_VALUE]:
        diags.error("E030", f"ありえない日付「{written}」があります（{problem}）。", at(offset), "年・月・日を確かめてください。")
    if key in ("project", "text", "note") or isinstance(key, int):
        m = LATIN_O_RE.search(text)
        if m and (key == "project" or m.start() == 0):
            diags.error("E033", f"事業名の前の「{m.group(0)}」は記号の○ではなく文字です。", at(m.start()),
                        "○は自動で付くので、先頭の文字を消してください。")
    m = HALFWIDTH_KATAKANA_RE.search(text)
    if m:
        diags.warning("W102", "半角カタカナが含まれています。", at(m.start()), "followup fmt で全角に直せます。")
    m = FULLWIDTH_DIGIT_RE.search(text)
    if m:
        diags.warning("W103", "全角数字が含まれています（数字は半角にそろえます）。", at(m.start()), "followup fmt で半角に直せます。")
    if kind and theme is not None:
        found = typed_mark(text, theme, kind)
        if found:
            diags.warning("W107", f"「{found[1]}」はコンパイラが自動で付けるため、このままでは二重に印刷されます。", at(found[0]),
                          "原稿からその記号・番号を消してください（followup fmt で消せます）。")


def check_file(sf: SourceFile, diags: Diagnostics, theme=None, root: Path | None = None) -> None:
    locator = Locator(sf, root)
    kind = file_kind(sf.data)
    for path, text in string_values(sf.data):
        key = path[-1] if path else ""
        check_text(text, lambda offset, path=path, text=text: locator.span(path, text, offset), diags,
                   key if isinstance(key, str) else "", field_kind(path, kind), theme)
