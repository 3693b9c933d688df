"""HTML writer: the intermediate document and the theme → one HTML page and its stylesheet (Jinja2).

The page (``layouts/document.html.j2``, autoescaped) is what WeasyPrint lays
out for the PDF and what the live preview serves; the stylesheet
(``layouts/style.css.j2``) is filled from the theme.

Values reach the page only as escaped text. The ``nobreak`` filter wraps the
tokens that must not break across lines in ``<span class="nb">`` (CSS
``white-space: nowrap``). It only lays text out: it never renumbers, rewrites
or checks anything.

Pango already keeps most Japanese line-breaking rules (no line starts with
。、）」 or small kana, no line ends with （「), but it treats ① ○ ※ like Latin
letters and lets a number break away from its unit (157.7｜億円), so these
tokens are protected here:

* each part of a date, which may break between its parts (JLReq only keeps a
  number with its unit): 令和4年｜12月｜26日, 2023年｜1月, 令和4年度
* amounts and counts: 157.7億円, 1兆1842億円, 2,001億円, 100%, 87,471人, 第7回
* item numbers in running text: （①－1）, ⑤－3
* ministry tags in running text: ［経産省］, 〔金融庁〕
* a mark and the character it belongs to: ※速, ○事
* FULLWIDTH TILDE ～ and the character before it (Pango lets ～ start a line;
  WAVE DASH 〜 is already kept off the line start).
* short Latin words joined by a hyphen: J-NEXUS, A-STEP, J-Bridge (Pango
  breaks after the hyphen).
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

from compiler import __version__
from compiler.document import Document, UnknownBlock
from compiler.theme import LAYOUTS_DIR, Theme

_NUM = r"\d+(?:[,.]\d+)*"  # 2,001 / 157.7 (a separator only between digits)
_UNIT = (r"円|ドル|%|％|件|回|社|名|人|者|号|次|割|倍|歳|代|日|時間|か月|カ月|ヶ月|ヵ月"
         r"|か所|カ所|ヶ所|ヵ所|箇所|か国|カ国|ヶ国|ヵ国|講座|拠点|団体|校|点|本|台")
_TOKENS = (
    rf"(?:明治|大正|昭和|平成|令和)(?:元|{_NUM})年(?:度|間)?",  # 令和4年, 令和4年度 (an era year)
    rf"（?[①-⑳]－{_NUM}）?",  # item numbers
    r"[A-Za-z0-9]{1,12}(?:-[A-Za-z0-9]{1,12})+",  # hyphenated Latin words: J-Bridge, A-STEP
    rf"{_NUM}(?:年(?:度|間)?|月)",  # 2023年, 12月 (a day is a unit below)
    rf"第?{_NUM}(?:[兆億万千百](?:{_NUM})?)*(?:{_UNIT})?",  # amounts, counts (bare numbers are left alone)
    r"[［〔][^［］〔〕\s]{1,30}[］〕]",  # ministry tags
    r"[※○][^\s、。，．）」』】］〕]",  # a mark and what it marks
)
NOBREAK_RE = re.compile(rf"(?:{'|'.join(_TOKENS)})～?|\S～")
_BARE_NUMBER_RE = re.compile(rf"{_NUM}")


TAIL_CHARS = 3  # a paragraph's last line has at least this many characters where the layout can


def nobreak(text: str, tail: int = 0) -> Markup:
    """Escape ``text`` and wrap its unbreakable tokens in ``<span class="nb">``.

    With ``tail``, the last ``tail`` characters (and any token they cut into) are kept
    together too, so that a paragraph never ends in a line of one or two characters: the
    line before gives up a character or two instead."""
    out: list[str] = []
    last = 0
    tokens = [m for m in NOBREAK_RE.finditer(text) if not _BARE_NUMBER_RE.fullmatch(m.group(0))]
    cut = len(text)
    if tail and len(text) > 2 * tail:
        cut = len(text) - tail
        for m in tokens:
            if m.end() > cut:
                cut = min(cut, m.start())
    for m in tokens:  # digits alone never break in Pango
        if m.start() >= cut:
            break
        out.append(str(escape(text[last:m.start()])))
        out.append(f'<span class="nb">{escape(m.group(0))}</span>')
        last = m.end()
    if cut < len(text):
        out.append(str(escape(text[last:cut])))
        out.append(f'<span class="nb">{escape(text[cut:])}</span>')
    else:
        out.append(str(escape(text[last:])))
    return Markup("".join(out))


def nobreak_tail(text: str) -> Markup:
    """``nobreak`` for the whole text of a paragraph: its last characters stay together."""
    return nobreak(text, TAIL_CHARS)


def _environment():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(str(LAYOUTS_DIR)), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=False, lstrip_blocks=False)
    env.filters["nobreak"] = nobreak
    env.filters["nobreak_tail"] = nobreak_tail
    env.globals["toc_columns"] = toc_columns
    env.globals["unknown_block"] = _unknown_block
    return env


def _unknown_block(block):
    raise UnknownBlock(block, "html")


TOC_TWO_COLUMNS_MAX = 110  # entries that still fit one A4 page in two columns


def toc_columns(toc) -> list[list]:
    """The contents as one column, or two balanced columns when they fit one page.

    Splits only before a pillar or policy entry, at the point that best balances the
    two columns' heights (pillar and policy entries take a little more room)."""
    entries = list(toc)
    if len(entries) < 2 or len(entries) > TOC_TWO_COLUMNS_MAX:
        return [entries]
    weight = [1.0 + {1: 0.6, 2: 0.25}.get(e.level, 0.0) for e in entries]
    total = sum(weight)
    best, best_gap, before = None, total, 0.0
    for i, e in enumerate(entries):
        if i and e.level <= 2 and abs(total - 2 * before) < best_gap:
            best, best_gap = i, abs(total - 2 * before)
        before += weight[i]
    if best is None:
        return [entries]
    return [entries[:best], entries[best:]]


def render_html(doc: Document, theme: Theme | None = None, inline_css: bool = False) -> str:
    """The page; with ``inline_css`` it carries its stylesheet (for serving it outside WeasyPrint)."""
    template = _environment().get_template("document.html.j2")
    css = stylesheet(theme) if inline_css and theme is not None else None
    return template.render(doc=doc, version=__version__, css=css)


def stylesheet(theme: Theme) -> str:
    """The print stylesheet, every length, size and font file taken from ``theme``."""
    return _environment().get_template("style.css.j2").render(theme=theme)
