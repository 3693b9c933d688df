"""Diagnostics as data: code, severity, source span, Japanese message and hint.

Every stage reports problems here instead of raising; printers turn the
collected diagnostics into text (with the offending source line), JSON or
GitHub workflow annotations.
"""

from __future__ import annotations

import json
import re
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
    "E009": "link-or-special-file",
    "E010": "unknown-key",
    "E011": "missing-field",
    "E012": "wrong-type",
    "E013": "empty-text",
    "E014": "bad-id",
    "E015": "bad-block",
    "E016": "ignored-entry",
    "E017": "fullwidth-yaml-syntax",
    "E018": "colon-in-value",
    "E019": "unclosed-quote",
    "E020": "duplicate-id",
    "E021": "unknown-reprint-target",
    "E022": "reprint-of-item",
    "E023": "unknown-ministry",
    "E024": "unknown-ministry-option",
    "E030": "impossible-era-date",
    "E031": "invalid-character",
    "E032": "missing-glyph",
    "E033": "latin-o-for-circle",
    "E034": "bidi-control",
    "E035": "invisible-character",
    "E036": "bad-source-date-epoch",
    "E037": "value-too-long",
    "E038": "too-many-entries",
    "E039": "nesting-too-deep",
    "E040": "missing-font",
    "E041": "layout-settings",
    "E042": "ministry-name-conflict",
    "E043": "column-heading-too-long",
    "E050": "libreoffice-missing",
    "E051": "libreoffice-failed",
    "E060": "write-failed",
    "E061": "output-locked",
    "E070": "release-unclean-sources",
    "E080": "docx-unreadable",
    "E081": "docx-no-handles",
    "E082": "docx-foreign-handles",
    "E083": "docx-broken-part",
    "E084": "docx-import-no-base",
    "E085": "docx-import-invalid-result",
    "W101": "empty-status",
    "W102": "halfwidth-katakana",
    "W103": "mixed-digit-width",
    "W104": "category-not-contiguous",
    "W105": "repeated-project-without-reprint",
    "W106": "empty-preview",
    "W107": "typed-mark",
    "W108": "not-nfc",
    "W109": "no-break-space",
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


# Characters a terminal (or a reader) could take for something else: C0/C1 controls (ESC starts
# CSI/OSC sequences), bidi controls, and the invisible separators. Printers show them as escapes.
_BIDI = {0x200E, 0x200F, 0x061C, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}
_INVISIBLE = {0x2028, 0x2029, 0x200B, 0x200C, 0x200D, 0x00AD, 0xFFFC, 0xFEFF, 0x2060}


def _unsafe(cp: int) -> bool:
    return cp < 0x20 or 0x7F <= cp <= 0x9F or cp in _BIDI or cp in _INVISIBLE


def escape_controls(text: str) -> str:
    """``text`` with control, bidi and invisible characters shown as ``\\x1b`` / ``<U+202E>``."""
    if not any(_unsafe(ord(c)) for c in text):
        return text
    return "".join((f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"<U+{ord(c):04X}>") if _unsafe(ord(c)) else c
                   for c in text)


# Line breaks as editors number lines. U+0085, U+2028 and U+2029 are not among them: the loader reports them
# (E031) and blanks them out before YAML sees them, so YAML's line numbers are these too.
LINE_BREAK_RE = re.compile("\r\n|[\r\n]")


def source_lines(text: str) -> list[str]:
    """The lines of a source text, numbered as the YAML parser numbers them."""
    return LINE_BREAK_RE.split(text)


def shown_path(file: str, root: Path | None) -> str:
    """A span's file as the user can open it: relative to the working folder when possible, else absolute.

    Spans name files relative to the sources folder (``root``), or to the project (layouts/, fonts/)."""
    from compiler.theme import PROJECT_ROOT

    if root is None:
        return file
    candidate = Path(root) / file
    if not candidate.exists() and (PROJECT_ROOT / file).exists():
        candidate = PROJECT_ROOT / file
    try:
        full = candidate.resolve()
    except (OSError, RuntimeError):
        return file
    try:
        return full.relative_to(Path.cwd().resolve()).as_posix()
    except (ValueError, OSError):
        return str(full)


def _where(span: Span, root: Path | None) -> str:
    name = shown_path(span.file, root)
    return f"{name}:{span.line}:{span.col}" if span.line else name


def source_line(root: Path | None, span: Span | None, cache: dict[str, list[str]] | None = None) -> str | None:
    """The source line ``span`` points at (tabs as spaces, unescaped), or ``None`` when there is none to show."""
    if span is None or not span.line or root is None:
        return None
    cache = {} if cache is None else cache
    lines = cache.get(span.file)
    if lines is None:
        try:
            lines = source_lines((root / span.file).read_bytes().decode("utf-8-sig", errors="replace"))
        except OSError:
            lines = []
        cache[span.file] = lines
    return lines[span.line - 1].replace("\t", " ") if 0 < span.line <= len(lines) else None


def format_text(diags: list[Diagnostic], root: Path | None) -> str:
    """Long form: ``file:line:col: error[E010]: message``, the source line, a caret, and a hint.

    ``file`` is shown relative to the working folder (clickable); control characters are escaped."""
    out: list[str] = []
    cache: dict[str, list[str]] = {}
    for d in diags:
        label = "エラー" if d.severity is Severity.ERROR else "警告"
        where = f"{escape_controls(_where(d.span, root))}: " if d.span else ""
        out.append(f"{where}{label}[{d.code}]: {escape_controls(d.message)}")
        line = source_line(root, d.span, cache)
        if line is not None:
            num = str(d.span.line)
            out.append(f"  {num} | {escape_controls(line)}")
            pad = display_width(escape_controls(line[: max(d.span.col - 1, 0)]))
            out.append(f"  {' ' * len(num)} | {' ' * pad}^")
        if d.hint:
            out.append(f"  ヒント: {escape_controls(d.hint)}")
    errors = sum(1 for d in diags if d.severity is Severity.ERROR)
    warnings = len(diags) - errors
    if diags:
        out.append(f"エラー {errors} 件、警告 {warnings} 件")
    return "\n".join(out)


def format_json(diags: list[Diagnostic]) -> str:
    """JSON list; besides what JSON escapes itself, C1, bidi and invisible characters are written as ``\\uXXXX``."""
    text = json.dumps([d.as_dict() for d in diags], ensure_ascii=False, indent=2)
    return "".join(f"\\u{ord(c):04x}" if ord(c) >= 0x7F and _unsafe(ord(c)) else c for c in text)


def _gh_escape(text: str) -> str:
    """Message data of a workflow command: %, CR, LF (and other controls shown as escapes)."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return escape_controls(text)


def _gh_property(text: str) -> str:
    """A property value of a workflow command: also ``:`` and ``,``, so a file name cannot end the property."""
    return _gh_escape(text).replace(":", "%3A").replace(",", "%2C")


def format_github(diags: list[Diagnostic], prefix: str = "", root: Path | None = None) -> str:
    """GitHub workflow commands (``::error file=…,line=…::message``).

    Files are named relative to the working folder when ``root`` (the sources folder) is given,
    else ``prefix`` + the span's file."""
    lines = []
    for d in diags:
        kind = "error" if d.severity is Severity.ERROR else "warning"
        props = []
        if d.span:
            name = shown_path(d.span.file, root) if root is not None else f"{prefix}{d.span.file}"
            props.append(f"file={_gh_property(name)}")
            if d.span.line:
                props.append(f"line={d.span.line}")
                props.append(f"col={d.span.col}")
        props.append(f"title={_gh_property(d.code)}")
        msg = d.message + (f"（ヒント: {d.hint}）" if d.hint else "")
        lines.append(f"::{kind} {','.join(props)}::{_gh_escape(msg)}")
    return "\n".join(lines)


def nearest(word: str, choices, cutoff: float = 0.5) -> str | None:
    """The closest of ``choices`` to ``word``, for 「もしかして」 hints."""
    import difflib

    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return found[0] if found else None
