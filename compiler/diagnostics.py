"""Diagnostics as data: code, severity, source span, Japanese message and hint.

Every stage reports problems here instead of raising; printers turn the
collected diagnostics into text (with the offending source line), JSON or
GitHub workflow annotations.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Span:
    """A position in a source file. ``line`` and ``col`` are 1-based."""

    file: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.col}"
        return self.file


# Stable codes. Tests assert codes, never wording.
CODES: dict[str, str] = {
    "E001": "yaml-syntax",
    "E002": "tab-indentation",
    "E003": "not-utf8",
    "E004": "not-a-mapping",
    "E005": "no-sources",
    "E006": "bad-order-prefix",
    "E007": "misplaced-file",
    "E008": "unreadable-file",
    "E010": "unknown-key",
    "E011": "missing-field",
    "E012": "wrong-type",
    "E013": "empty-text",
    "E014": "bad-id",
    "E015": "bad-block",
    "E020": "duplicate-id",
    "E021": "unknown-reprint-target",
    "E022": "reprint-of-item",
    "E023": "unknown-ministry",
    "E024": "unknown-ministry-option",
    "E030": "impossible-era-date",
    "E031": "invalid-character",
    "E032": "missing-glyph",
    "E033": "latin-o-for-circle",
    "E040": "missing-font",
    "E041": "layout-settings",
    "E050": "libreoffice-missing",
    "E051": "libreoffice-failed",
    "E060": "write-failed",
    "E070": "release-unclean-sources",
    "W101": "empty-status",
    "W102": "halfwidth-katakana",
    "W103": "mixed-digit-width",
    "W104": "category-not-contiguous",
    "W105": "repeated-project-without-reprint",
    "W106": "empty-preview",
}


@dataclass(frozen=True)
class Diagnostic:
    code: str
    severity: Severity
    message: str
    span: Span | None = None
    hint: str | None = None

    def as_dict(self) -> dict:
        d = asdict(self)
        d["severity"] = self.severity.value
        d["name"] = CODES.get(self.code, "")
        return d


@dataclass
class Diagnostics:
    """Collects diagnostics of one run; ``strict`` turns warnings into errors."""

    strict: bool = False
    items: list[Diagnostic] = field(default_factory=list)

    def error(self, code: str, message: str, span: Span | None = None, hint: str | None = None) -> None:
        self.items.append(Diagnostic(code, Severity.ERROR, message, span, hint))

    def warning(self, code: str, message: str, span: Span | None = None, hint: str | None = None) -> None:
        severity = Severity.ERROR if self.strict else Severity.WARNING
        self.items.append(Diagnostic(code, severity, message, span, hint))

    @property
    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.items)

    def sorted(self) -> list[Diagnostic]:
        def key(d: Diagnostic):
            s = d.span
            return (s.file if s else "", s.line if s else 0, s.col if s else 0, d.code)

        return sorted(self.items, key=key)


def display_width(text: str) -> int:
    """Terminal columns taken by ``text`` (East Asian wide characters count 2)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def format_text(diags: list[Diagnostic], root: Path | None) -> str:
    """Long form: ``file:line:col: error[E010]: message``, the source line, a caret, and a hint."""
    out: list[str] = []
    cache: dict[str, list[str]] = {}
    for d in diags:
        label = "エラー" if d.severity is Severity.ERROR else "警告"
        where = f"{d.span}: " if d.span else ""
        out.append(f"{where}{label}[{d.code}]: {d.message}")
        if d.span and d.span.line and root is not None:
            lines = cache.get(d.span.file)
            if lines is None:
                try:
                    raw = (root / d.span.file).read_bytes()
                    lines = raw.decode("utf-8-sig", errors="replace").splitlines()
                except OSError:
                    lines = []
                cache[d.span.file] = lines
            if 0 < d.span.line <= len(lines):
                src = lines[d.span.line - 1].replace("\t", " ")
                num = str(d.span.line)
                out.append(f"  {num} | {src}")
                pad = display_width(src[: max(d.span.col - 1, 0)])
                out.append(f"  {' ' * len(num)} | {' ' * pad}^")
        if d.hint:
            out.append(f"  ヒント: {d.hint}")
    errors = sum(1 for d in diags if d.severity is Severity.ERROR)
    warnings = len(diags) - errors
    if diags:
        out.append(f"エラー {errors} 件、警告 {warnings} 件")
    return "\n".join(out)


def format_json(diags: list[Diagnostic]) -> str:
    return json.dumps([d.as_dict() for d in diags], ensure_ascii=False, indent=2)


def _gh_escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def format_github(diags: list[Diagnostic], prefix: str = "") -> str:
    """GitHub workflow commands (``::error file=…,line=…::message``)."""
    lines = []
    for d in diags:
        kind = "error" if d.severity is Severity.ERROR else "warning"
        props = []
        if d.span:
            props.append(f"file={prefix}{d.span.file}")
            if d.span.line:
                props.append(f"line={d.span.line}")
                props.append(f"col={d.span.col}")
        props.append(f"title={d.code}")
        msg = d.message + (f"（ヒント: {d.hint}）" if d.hint else "")
        lines.append(f"::{kind} {','.join(props)}::{_gh_escape(msg)}")
    return "\n".join(lines)


def nearest(word: str, choices, cutoff: float = 0.5) -> str | None:
    """The closest of ``choices`` to ``word``, for 「もしかして」 hints."""
    import difflib

    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return found[0] if found else None
