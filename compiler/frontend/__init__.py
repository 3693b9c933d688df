"""Front end: read the sources and check them.

``loader`` reads YAML files with positions; ``schema`` holds the pydantic
models of each kind of file; ``checks`` validates files against them and
applies the rules across files; ``textrules`` checks every string value;
``glyphs`` checks that every character is in a shipped font. ``compile``
runs them in that order.
"""

from __future__ import annotations

from pathlib import Path

from compiler.diagnostics import Diagnostics
from compiler.frontend.checks import ValidSources
from compiler.theme import Theme


def check(sources: Path, theme: Theme, diags: Diagnostics) -> ValidSources | None:
    """Load and validate ``sources``; ``None`` when there are errors (all of them reported)."""
    from compiler.frontend import glyphs
    from compiler.frontend.checks import validate
    from compiler.frontend.loader import load_sources

    loaded = load_sources(Path(sources), diags)
    valid = validate(loaded, diags, theme)
    glyphs.check_glyphs(loaded, theme, diags)
    if valid is not None:
        from compiler.frontend.layoutfit import check_layout_limits

        check_layout_limits(valid, theme, diags)
    if valid is None or diags.has_errors:
        return None
    return valid
