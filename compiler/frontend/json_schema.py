"""JSON Schemas of the source files, made from the pydantic models of ``schema``, for editors.

One schema per kind of file (``document``, ``pillar``, ``policy``, ``item``),
with the Japanese descriptions of the models' fields, so that
yaml-language-server (VS Code's YAML extension, any LSP editor) completes keys
and flags unknown keys, wrong types and empty texts while typing. The models
stay the one truth: the schemas are generated (``followup schema``), never
written by hand, and every file that ``check`` accepts validates against its
schema (a test checks this with a real validator). Rules across files
(duplicate ids, unknown ministries, 再掲 targets) are ``check``'s alone.

``fmt --schema-modeline`` puts ``# yaml-language-server: $schema=…`` on the
first line of each source file, pointing at its kind's schema.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from compiler.frontend import schema as models
from compiler.frontend.loader import DOCUMENT_FILE, PILLAR_FILE, POLICY_FILE, SKIPPED_DIRS

KINDS = {"document": models.DocumentFile, "pillar": models.PillarFile, "policy": models.PolicyFile,
         "item": models.ItemFile}
TITLES = {
    "document": "文書全体の設定（document.yaml）",
    "pillar": "柱（pillar.yaml）",
    "policy": "政策（policy.yaml）",
    "item": "取組方針 1 件（表の 1 行）",
}
# Japanese descriptions of the nested models (their docstrings are for developers)
MODEL_TITLES = {
    "Ministry": "登録する府省庁", "Columns": "表の列見出し", "ListEntry": "箇条書き・番号付きの 1 項目（下位の項目を持てます）",
    "ProjectBlock": "事業（○ 事業名と予算）", "ReprintBlock": "事業の再掲", "BulletsBlock": "箇条書き",
    "NumberedBlock": "番号付きの項目", "TextBlock": "段落", "NoteBlock": "注記（※）", "MinistryBlock": "府省庁名（［］）",
}
DIALECT = "https://json-schema.org/draft/2020-12/schema"
MODELINE_RE = re.compile(r"^# yaml-language-server: \$schema=.*\n")


def _tidy(node):
    """Japanese titles, no English auto-titles or docstrings, and no ``null`` where a list must not be empty."""
    if isinstance(node, dict):
        node = {k: _tidy(v) for k, v in node.items()}
        if "properties" in node:
            for prop in node["properties"].values():
                prop.pop("title", None)
        if node.get("minItems") and "anyOf" in node:  # an empty value reads as an empty list: refused
            node["anyOf"] = [choice for choice in node["anyOf"] if choice.get("type") != "null"]
        return node
    if isinstance(node, list):
        return [_tidy(v) for v in node]
    return node


def build(kind: str) -> dict:
    """The JSON Schema (draft 2020-12) of one kind of source file."""
    raw = KINDS[kind].model_json_schema()
    for name, definition in raw.get("$defs", {}).items():
        definition["title"] = MODEL_TITLES.get(name, name)
        definition.pop("description", None)
        if name in MODEL_TITLES:
            definition["description"] = MODEL_TITLES[name]
    out = {"$schema": DIALECT, "$id": f"followup-{kind}.schema.json", **_tidy(raw)}
    out["title"] = TITLES[kind]
    out["description"] = TITLES[kind] + "。書き方は docs/source-format.md を見てください。"
    return out


def file_name(kind: str) -> str:
    return f"{kind}.schema.json"


def write(out_dir: Path) -> list[Path]:
    """Write every kind's schema into ``out_dir`` (all or nothing); the paths written."""
    from compiler.output import write_all

    files = {Path(out_dir) / file_name(kind): (json.dumps(build(kind), ensure_ascii=False, indent=2) + "\n").encode()
             for kind in KINDS}
    return write_all(files)


def kind_of(path: Path, root: Path) -> str | None:
    """Which kind of source file ``path`` is, from where it lies under ``root`` (``None``: not a source file)."""
    rel = Path(path).resolve().relative_to(Path(root).resolve()).parts
    if not rel or rel[0] in SKIPPED_DIRS:
        return None
    if rel == (DOCUMENT_FILE,):
        return "document"
    if len(rel) == 2 and rel[1] == PILLAR_FILE:
        return "pillar"
    if len(rel) == 3:
        return "policy" if rel[2] == POLICY_FILE else "item"
    return None


def with_modeline(text: str, path: Path, root: Path, schema_dir: Path) -> str:
    """``text`` with the yaml-language-server modeline of its kind as first line (replacing an old one)."""
    kind = kind_of(path, root)
    if kind is None:
        return text
    target = os.path.relpath(Path(schema_dir).resolve() / file_name(kind), Path(path).resolve().parent)
    line = f"# yaml-language-server: $schema={Path(target).as_posix()}\n"
    return line + MODELINE_RE.sub("", text, count=1)
