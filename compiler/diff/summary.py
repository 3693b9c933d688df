"""The terminal summary of a change report (Japanese, for the secretariat and the ministries)."""

from __future__ import annotations

from compiler.diff.report import CONTENT_KINDS, KIND_LABELS, Report

TARGET_LABELS = {"document": "文書", "pillar": "柱", "policy": "政策", "item": "取組方針"}


def _line(change: dict) -> str:
    from compiler.diff.fields import FIELD_LABELS

    numbers = change["new_number"] or change["old_number"] or ""
    if change["old_number"] and change["new_number"] and change["old_number"] != change["new_number"]:
        numbers = f"{change['old_number']}→{change['new_number']}"
    names = []
    for f in change["fields"]:
        label = FIELD_LABELS.get(f["field"])
        if label and label not in names:
            names.append(label)
    what = f"（{'・'.join(names)}）" if names and change["kind"] in ("changed", "moved") else ""
    ident = "" if change["target"] == "document" else f" [{change['id']}]"
    return f"  {KIND_LABELS[change['kind']]}　{TARGET_LABELS[change['target']]} {numbers}{ident}{what}"


def summary(report: Report) -> str:
    head = f"新旧対照表: 改正前 {report.source_from} → 改正後 {report.source_to}"
    if report.ministry:
        head += f"（{report.ministry}の取組方針のみ）"
    if not report.changes:
        return head + "\n変更はありません。"
    counts = report.counts()
    items = counts["items"]
    out = [head,
           "取組方針: " + "、".join(f"{KIND_LABELS[k]} {items[k]} 件" for k in CONTENT_KINDS)
           + f"（ほかに{KIND_LABELS['renumbered']} {items['renumbered']} 件）",
           f"政策・柱・文書の本文の変更: {counts['texts']} 件"]
    if counts["per_ministry"]:
        out.append("府省庁別: " + "、".join(f"{k} {v}" for k, v in counts["per_ministry"].items()))
    if counts["per_policy"]:
        out.append("政策別: " + "、".join(f"{k} {v}" for k, v in counts["per_policy"].items()))
    out.append("一覧:")
    out += [_line(c) for c in report.changes if c["kind"] != "renumbered"]
    renumbered = [c for c in report.changes if c["kind"] == "renumbered"]
    if renumbered:
        out.append(f"  {KIND_LABELS['renumbered']}: " + "、".join(f"{c['old_number']}→{c['new_number']}" for c in renumbered))
    return "\n".join(out)
