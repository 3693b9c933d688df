"""Character-level comparison of two strings with Japanese-aware grouping.

Japanese has no spaces between words, so a plain character diff marks scattered
single characters: 157.7億円 → 160.2億円 would be four changes. The text is cut
into tokens first — a number with its separators and unit (157.7億円, 令和5年度
stays 令和 + 5年度), a Latin word, a run of kanji, of hiragana, of katakana,
each punctuation mark and each bracket — and the token sequences are compared
with ``difflib.SequenceMatcher(autojunk=False)``. Changes that touch, or are
separated only by a space or one punctuation mark, are merged into one span.

``spans(old, new)`` gives both sides as ``[(text, changed)]`` segments: what
the 新旧対照表 underlines (傍線).
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

_DIGIT = r"[0-9０-９]"
_UNITS = r"(?:[兆億万千百]+)?(?:円|ドル|%|％|件|回|人|者|社|名|か所|カ所|箇所|か国|カ国|か月|カ月|年度|年|月|日|時間|倍|割|歳|点|校|号)?"
TOKEN_RE = re.compile(
    rf"第?{_DIGIT}+(?:[,.，．]{_DIGIT}+)*(?:[兆億万]{_DIGIT}+(?:[,.，．]{_DIGIT}+)*)*{_UNITS}"  # numbers with units
    r"|[A-Za-zＡ-Ｚａ-ｚ][A-Za-zＡ-Ｚａ-ｚ0-9０-９]*"  # Latin words (G7, DX, JETRO)
    r"|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff々〆ヵヶ]+"  # kanji runs
    r"|[\u3041-\u309f]+"  # hiragana runs
    r"|[\u30a1-\u30fa\u30fc-\u30ff\uff66-\uff9f]+"  # katakana runs (with ー)
    r"|\s+"
    r"|.",  # each punctuation mark, bracket or other sign
    re.S,
)

Segments = list[tuple[str, bool]]


def tokens(text: str) -> list[str]:
    return TOKEN_RE.findall(text)


def _bridgeable(toks: list[str]) -> bool:
    """An unchanged stretch short enough to join the changes on both sides of it."""
    return len(toks) == 1 and (toks[0].isspace() or len(toks[0]) == 1 and not toks[0].isalnum())


def _segments(toks: list[str], marks: list[bool]) -> Segments:
    out: Segments = []
    for tok, mark in zip(toks, marks):
        if out and out[-1][1] == mark:
            out[-1] = (out[-1][0] + tok, mark)
        else:
            out.append((tok, mark))
    return out


def spans(old: str, new: str) -> tuple[Segments, Segments]:
    """``old`` and ``new`` as segments, the changed ones flagged (merged into whole tokens)."""
    a, b = tokens(old), tokens(new)
    ops = SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    marks_a, marks_b = [False] * len(a), [False] * len(b)
    for n, (tag, i1, i2, j1, j2) in enumerate(ops):
        if tag != "equal":
            marks_a[i1:i2] = [True] * (i2 - i1)
            marks_b[j1:j2] = [True] * (j2 - j1)
        elif 0 < n < len(ops) - 1 and _bridgeable(a[i1:i2]):
            marks_a[i1:i2] = [True] * (i2 - i1)
            marks_b[j1:j2] = [True] * (j2 - j1)
    return _segments(a, marks_a), _segments(b, marks_b)


def changed_count(old: str, new: str) -> int:
    """How many separate changes (underlined spans on the new side, or the old side when the new has none)."""
    sa, sb = spans(old, new)
    return max(sum(1 for _, m in sa if m), sum(1 for _, m in sb if m))
