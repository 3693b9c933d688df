"""Text rules checked on every string value of every source file.

Characters that corrupt a DOCX (control characters, XML-invalid code points),
impossible era dates (令和4年13月, 平成32年), a Latin O standing for ○,
half-width katakana and full-width digits (the house style is half-width).
"""

from __future__ import annotations

import calendar
import re
from datetime import date

from compiler.diagnostics import Diagnostics
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
ERA_DATE_RE = re.compile(
    rf"(明治|大正|昭和|平成|令和)\s*(元|[{DIGITS}]+)\s*年(?!度)\s*(?:([{DIGITS}]+)\s*月(?:\s*([{DIGITS}]+)\s*日)?)?"
)
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


def check_text(text: str, span, diags: Diagnostics, key: str = "") -> None:
    for ch in text:
        if is_xml_invalid(ch) or ch == "\t":
            diags.error("E031", f"使えない制御文字 U+{ord(ch):04X} が含まれています。", span,
                        "Excel や Word から貼り付けたときに入ることがあります。その文字を消してください。")
            break
    for m in ERA_DATE_RE.finditer(text):
        problem = era_date_problem(*m.groups())
        if problem:
            diags.error("E030", f"ありえない日付「{m.group(0)}」があります（{problem}）。", span, "年・月・日を確かめてください。")
    if key in ("project", "text", "note") or isinstance(key, int):
        m = LATIN_O_RE.search(text)
        if m and (key == "project" or m.start() == 0):
            diags.error("E033", f"事業名の前の「{m.group(0)}」は記号の○ではなく文字です。", span,
                        "○は自動で付くので、先頭の文字を消してください。")
    if HALFWIDTH_KATAKANA_RE.search(text):
        diags.warning("W102", "半角カタカナが含まれています。", span, "followup fmt で全角に直せます。")
    if FULLWIDTH_DIGIT_RE.search(text):
        diags.warning("W103", "全角数字が含まれています（数字は半角にそろえます）。", span, "followup fmt で半角に直せます。")


def check_file(sf: SourceFile, diags: Diagnostics) -> None:
    for path, text in string_values(sf.data):
        key = path[-1] if path else ""
        check_text(text, sf.span(path), diags, key if isinstance(key, str) else "")
