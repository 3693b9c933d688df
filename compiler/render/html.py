"""HTML renderer: the intermediate document → one HTML string (Jinja2, autoescaped).

Values reach the page only as escaped text; the ``nobreak`` filter wraps tokens
that must not break across lines (amounts, era dates, percentages) in spans.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

from compiler import __version__
from compiler.document import Document
from compiler.settings import LAYOUTS_DIR, Settings

NOBREAK_RE = re.compile(
    r"(?:令和|平成|昭和)(?:元|\d+)年度?(?:\d+月(?:\d+日)?)?"  # era dates
    r"|\d[\d,.]*(?:兆\d[\d,.]*)?(?:億|万)?円"  # amounts
    r"|\d[\d,.]*(?:%|％)"  # percentages
)


def nobreak(text: str) -> Markup:
    escaped = str(escape(text))
    return Markup(NOBREAK_RE.sub(lambda m: f'<span class="nb">{m.group(0)}</span>', escaped))


def _environment():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(str(LAYOUTS_DIR)), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=False, lstrip_blocks=False)
    env.filters["nobreak"] = nobreak
    return env


def render_html(doc: Document, settings: Settings) -> str:
    template = _environment().get_template("document.html.j2")
    return template.render(doc=doc, version=__version__, bullet_markers=set(settings.markers.bullets))
