"""新旧対照表: what changed between two releases of the sources.

Stages, one module each:

* ``revision`` — a release is a sources folder or a git revision (read safely into a temporary folder);
  both are compiled with ``compiler.pipeline.compile_sources`` into the intermediate document.
* ``fields`` — every element (document, pillar, policy, item) as lines of fields.
* ``align`` — elements aligned by id, their lines by ``SequenceMatcher``: the change records.
* ``chardiff`` — character-level spans with Japanese-aware tokens, for the underlines (傍線).
* ``report`` — the change list, its JSON form and counts, and ``apply`` (the self-check).
* ``render`` (PDF, through ``layouts/diff.html.j2``) and ``docx`` — the 新旧対照表 itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from compiler.diagnostics import Diagnostics


@dataclass
class Release:
    label: str  # as printed: the folder, or the revision and its commit
    document: dict | None  # JSON form; None when the sources have errors
    registry: object | None


def load_release(spec: str, sources: Path, diags: Diagnostics) -> Release:
    """Compile ``spec``: a folder (when one exists by that name) or a revision of ``sources``' repository."""
    from compiler.diff import revision
    from compiler.document import to_json
    from compiler.pipeline import compile_sources

    folder = Path(spec)
    if folder.is_dir():
        compiled = compile_sources(folder, diags)
        label = spec
    else:
        with revision.checkout(sources, spec) as root:
            compiled = compile_sources(root, diags)
        label = revision.describe(sources, spec)
    doc = compiled.document
    return Release(label, None if doc is None else to_json(doc), compiled.valid.registry if compiled.valid else None)
