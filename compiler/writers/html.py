"""HTML writer: the intermediate document and the theme → one HTML page and its stylesheet (Jinja2).

The page (``layouts/document.html.j2``, autoescaped) is what WeasyPrint lays
out for the PDF and what the live preview serves; the stylesheet
(``layouts/style.css.j2``) is filled from the theme.

Values reach the page only as escaped text. The ``nobreak`` filter wraps the
tokens that must not break across lines in ``<span class="nb">`` (CSS
``white-space: nowrap``), and the first of two adjacent brackets or marks in
``<span class="kp">`` (set half an em tighter, JLReq 3.1.4). It only lays text
out: it never renumbers, rewrites or checks anything.

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

No glyph may ever land outside its cell or the page, so protection has a
limit: only tokens of at most ``NOBREAK_MAX`` characters are wrapped (a line
of the narrowest column, a third-level bullet of the status column, holds
about 20), and the stylesheet lets any other run that is wider than its line
break anywhere as a last resort (``overflow-wrap: anywhere``: a 400-letter
word, a long URL, a 600-digit number). A token takes the ASCII text glued
to it along (「3～5」), since WeasyPrint cannot break a word that begins
inside a nowrap span: 「※abc…」 with a long word is not protected at all. A ministry tag breaks only between
ministries (``ministry_tag``), each name kept whole.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

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
NOBREAK_MAX = 12  # longer tokens are left to the line breaker: protecting them could push them past the edge
_GLUED = re.compile(r"[!-~]")  # ASCII glued to a token belongs to its word


TAIL_CHARS = 3  # a paragraph's last line has at least this many characters where the layout can

# 約物の連続 (JLReq 3.1.4): a closing bracket, 、 or 。 is followed by another mark, or an opening
# bracket by an opening bracket. The fonts have no palt/halt, so the first mark of the pair is
# set in a span whose negative right margin takes half an em back (.kp in the stylesheet): the
# pair's blank halves overlap and half an em of space is left between them. The text is unchanged.
CLOSING_MARKS = set("）〕］｝〉》」』】、。，．")
OPENING_MARKS = set("（〔［｛〈《「『【")


def _tight(text: str) -> frozenset[int]:
    """Indexes of the first mark of each pair of adjacent marks that is set half an em closer."""
    return frozenset(i for i, (a, b) in enumerate(zip(text, text[1:]))
                     if a in CLOSING_MARKS and (b in CLOSING_MARKS or b in OPENING_MARKS)
                     or a in OPENING_MARKS and b in OPENING_MARKS)


def _escape(text: str, start: int, end: int, tight: frozenset[int]) -> str:
    """``text[start:end]`` escaped, the first mark of each tightened pair in ``<span class="kp">``."""
    if not tight:
        return str(escape(text[start:end]))
    out: list[str] = []
    last = start
    for i in sorted(i for i in tight if start <= i < end):
        out.append(str(escape(text[last:i])))
        out.append(f'<span class="kp">{escape(text[i])}</span>')
        last = i + 1
    out.append(str(escape(text[last:end])))
    return "".join(out)


def _protected(text: str) -> list[tuple[int, int]]:
    """(start, end) of the tokens to keep unbroken, each with the ASCII glued to it, at most NOBREAK_MAX long."""
    spans = [(m.start(), m.end()) for m in NOBREAK_RE.finditer(text)
             if not _BARE_NUMBER_RE.fullmatch(m.group(0))]  # digits alone never break in Pango
    out: list[tuple[int, int]] = []
    last = 0
    for i, (start, end) in enumerate(spans):
        limit = spans[i + 1][0] if i + 1 < len(spans) else len(text)  # never into the next token
        while start > last and _GLUED.match(text[start - 1]):
            start -= 1
        while end < limit and _GLUED.match(text[end]):
            end += 1
        if end - start <= NOBREAK_MAX:
            out.append((start, end))
            last = end
    return out


def nobreak(text: str, tail: int = 0, following: str = "") -> Markup:
    """Escape ``text`` and wrap its unbreakable tokens in ``<span class="nb">``.

    A token takes the ASCII characters glued to it along (「3～5」 as one):
    WeasyPrint cannot break a word that begins or ends inside a nowrap span,
    so the whole word is either protected (when short) or not at all. With
    ``tail``, the last ``tail`` characters (and any token they cut into) are
    kept together too, so that a paragraph never ends in a line of one or two
    characters: the line before gives up a character or two instead.
    ``following`` is the text printed right after this one (its first mark may
    pair with this text's last)."""
    spans = _protected(text)
    cut = len(text)
    if tail and len(text) > 2 * tail:
        cut = len(text) - tail
        for start, end in spans:
            if end > cut:
                cut = min(cut, start)
        if len(text) - cut > NOBREAK_MAX or _GLUED.match(text[cut - 1]) and _GLUED.match(text[cut]):
            cut = len(text)  # too long to keep whole, or inside a Latin word
    tight = _tight(text + following[:1]) - {len(text)}
    out: list[str] = []
    last = 0
    for start, end in spans:
        if start >= cut:
            break
        out.append(_escape(text, last, start, tight))
        out.append(f'<span class="nb">{_escape(text, start, end, tight)}</span>')
        last = end
    out.append(_escape(text, last, cut, tight))
    if cut < len(text):
        out.append(f'<span class="nb">{_escape(text, cut, len(text), tight)}</span>')
    return Markup("".join(out))


def nobreak_tail(text: str, following: str = "") -> Markup:
    """``nobreak`` for the whole text of a paragraph: its last characters stay together."""
    return nobreak(text, TAIL_CHARS, following)


def toc_split(label: str) -> tuple[str, str]:
    """A contents entry as (head, tail): the tail is its last ``TAIL_CHARS`` characters (with any token
    they cut into, and an opening bracket before them), printed with the leader and the page number in
    one unbreakable box, so that they wrap together."""
    cut = max(0, len(label) - TAIL_CHARS)
    for start, end in _protected(label):
        if start < cut < end:
            cut = start
    while cut > 0 and label[cut - 1] in OPENING_MARKS:  # an opening bracket never ends a line
        cut -= 1
    return label[:cut], label[cut:]


def ministry_tag(text: str) -> Markup:
    """A ministry tag 「［経産省・厚労省］」: each name (with its bracket) unbreakable, lines break after ・ only."""
    parts = text.split("・")
    return Markup("・".join(f'<span class="nb">{escape(part)}</span>' if len(part) <= NOBREAK_MAX else str(escape(part))
                            for part in parts))


def _template_cache():
    """Jinja's compiled templates kept in the user's cache folder (``templates/``): compiling the three
    templates takes 60 ms, in the parent of a build and again in its layout host. An entry is named
    by the template's name and checked against its source; one that cannot be read (damaged, or of
    another Jinja or Python) is compiled again, and one that cannot be written is not kept."""
    from jinja2 import FileSystemBytecodeCache

    from compiler import user_cache

    class Kept(FileSystemBytecodeCache):
        def load_bytecode(self, bucket) -> None:
            try:
                super().load_bytecode(bucket)
            except Exception:  # a damaged entry: Jinja reads its checksum with pickle, unguarded
                bucket.reset()

        def dump_bytecode(self, bucket) -> None:
            try:
                os.makedirs(self.directory, exist_ok=True)
                super().dump_bytecode(bucket)
            except OSError:
                pass

    return Kept(str(user_cache.folder() / "templates"))


@lru_cache(maxsize=1)
def jinja_environment():
    """One Jinja environment per process (templates are compiled once, reloaded when their file changes)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(str(LAYOUTS_DIR)), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=False, lstrip_blocks=False, bytecode_cache=_template_cache())
    env.filters["nobreak"] = nobreak
    env.filters["ministry_tag"] = ministry_tag
    env.filters["nobreak_tail"] = nobreak_tail
    env.globals["toc_split"] = toc_split
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


def render_html(doc: Document, theme: Theme | None = None, inline_css: bool = False, part=None) -> str:
    """The page; with ``inline_css`` it carries its stylesheet (for serving it outside WeasyPrint).

    ``part`` (a ``compiler.paging.parts.Part``): only that part of the PDF's page (front matter, a run of
    the body or the page-furniture stamp), for laying the PDF out by parts."""
    template = jinja_environment().get_template("document.html.j2")
    css = None
    if inline_css and theme is not None:
        # CSS is not HTML: inside <style> entities are not decoded, so it goes in unescaped
        # (it comes from layouts/, never from the sources); "</" cannot close the element.
        css = Markup(stylesheet(theme).replace("</", "<\\/"))
    return template.render(doc=doc, version=__version__, css=css, part=part)


MARGIN_BOXES = ("top-left-corner", "top-left", "top-center", "top-right", "top-right-corner", "left-top", "left-middle",
                "left-bottom", "right-top", "right-middle", "right-bottom", "bottom-left-corner", "bottom-left",
                "bottom-center", "bottom-right", "bottom-right-corner")


def part_stylesheet(part) -> str:
    """What one part of a PDF laid out by parts adds to ``stylesheet`` (``layouts/parts.css.j2``)."""
    return jinja_environment().get_template("parts.css.j2").render(part=part, margin_boxes=MARGIN_BOXES)


def stylesheet(theme: Theme) -> str:
    """The print stylesheet, every length, size and font file taken from ``theme``."""
    return jinja_environment().get_template("style.css.j2").render(theme=theme)


def screen_stylesheet(theme: Theme) -> str:
    """Screen overrides of the live preview (``followup serve``): one continuous column, no printed page numbers."""
    return jinja_environment().get_template("serve.css.j2").render(theme=theme)
