"""The base of the three-way merge: the document the DOCX was built from, rebuilt from the sources.

Its one job: compile the sources at the revision the handle map records (read
from git without touching the working tree, ``compiler.diff.revision``), take
the same view (the full document, or the preview whose page mark the map
records) and accept it only when its hash equals the recorded
``document-sha256``. Otherwise it says why (Japanese) and the merge relies on
the per-field hashes of the map alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from compiler import document as d
from compiler.docx_handles import document_hash
from compiler.diagnostics import Diagnostics


@dataclass
class Base:
    document: d.Document | None
    reason: str  # why there is no base ("" when there is one)


def recover(sources: Path, revision: str | None, sha256: str, preview: str | None, theme) -> Base:
    from compiler.diff.revision import RevisionError, checkout
    from compiler.pipeline import compile_sources
    from compiler.transforms.preview import select

    if not revision:
        return Base(None, "DOCX に原稿の版（git のリビジョン）の記録がありません")
    if revision.endswith(("-dirty", "-unchecked")):
        return Base(None, f"DOCX はコミットしていない変更のある原稿（{revision}）から作られています")
    try:
        with checkout(Path(sources), revision) as root:
            compiled = compile_sources(root, Diagnostics())
    except RevisionError as exc:
        return Base(None, f"版 {revision} の原稿を読めません（{exc}）")
    doc = compiled.document
    if doc is None:
        return Base(None, f"版 {revision} の原稿にエラーがあります")
    candidates = [doc]
    if preview:
        candidates = [select(doc, m.name, theme, preview) for m in compiled.valid.registry.ministries]
    for candidate in candidates:
        if document_hash(candidate) == sha256:
            return Base(candidate, "")
    return Base(None, f"版 {revision} の原稿から作り直した文書が DOCX の記録（document-sha256）と一致しません")
