"""Writing the import's edits into the YAML sources: ruamel round trip, house style, a unified diff.

Its one job: apply a plan's ``Set`` / ``Insert`` operations to each source
file through ``compiler.fmt.RoundTrip`` (comments, key order, quoting and
indentation kept), put every new or changed value through the formatter's
rules (``RoundTrip.format_value``), and return the new texts and their unified
diff. Nothing is written here: the caller checks the result compiles and then
writes every file at once (``compiler.output.write_all``).
"""

from __future__ import annotations

import difflib
from pathlib import Path

from compiler.docx_import.merge import Insert, Set


def _formatted(value, path: tuple, rt, settings):
    if isinstance(value, str):
        return rt.format_value(value, path, settings)
    if isinstance(value, list):
        return [_formatted(v, path + (n,), rt, settings) for n, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: _formatted(v, path + (k,), rt, settings) for k, v in value.items()}
    return value


def _parent(data, path: tuple):
    node = data
    for p in path[:-1]:
        node = node[p]
    return node


def _set(rt, op: Set, settings) -> None:
    rt.set(op.path, _formatted(op.value, op.path, rt, settings))


def _insert(rt, op: Insert, settings) -> None:
    from ruamel.yaml.comments import CommentedSeq

    parent = _parent(rt.data, op.path)
    key = op.path[-1]
    target = parent.get(key) if isinstance(parent, dict) else parent[key]
    if not isinstance(target, list):  # none yet (budget: missing or empty), or a single text: a list
        target = CommentedSeq([] if target is None else [target])
        parent[key] = target
    for n, value in enumerate(op.values):
        at = op.after + 1 + n
        target.insert(at, _formatted(value, op.path + (at,), rt, settings))


def apply(sources: Path, ops: dict[str, list], settings) -> dict[str, tuple[str, str]]:
    """{relative file: (old text, new text)} for every file with operations."""
    from compiler.fmt import RoundTrip

    out = {}
    for rel, file_ops in ops.items():
        old = (Path(sources) / rel).read_text(encoding="utf-8")
        rt = RoundTrip(old)
        for op in file_ops:
            if isinstance(op, Set):
                _set(rt, op, settings)
        # inner lists first, then each list from its end, so no insert moves another's index
        for op in sorted((o for o in file_ops if isinstance(o, Insert)),
                         key=lambda o: (-len(o.path), tuple(map(str, o.path)), -o.after)):
            _insert(rt, op, settings)
        new = rt.dump()
        if new != old:
            out[rel] = (old, new)
    return out


def unified_diff(changes: dict[str, tuple[str, str]]) -> str:
    parts = []
    for rel, (old, new) in sorted(changes.items()):
        parts.extend(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                          f"a/{rel}", f"b/{rel}"))
    return "".join(parts)
