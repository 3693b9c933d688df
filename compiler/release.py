"""Release: what a release is made of (``manifest``), and checking one (``verify``).

A release's ``manifest.json`` records everything that shapes its bytes, so another machine
can rebuild it and compare:

* ``libraries``: versions of Python, WeasyPrint, pydyf, Pango, HarfBuzz, fontconfig,
  python-docx, LibreOffice… (``provenance.library_versions()``);
* ``inputs``: sha256 of every file under the project's ``fonts/`` and ``layouts/``;
* ``sources``: sha256 of every file of the sources folder, ``source_revision`` (git) and
  ``source_state`` (``clean``, ``dirty`` or ``unversioned``);
* ``numbers``: each item's id → its label (①－1);
* ``flags``: what the release was built with (formats, PDF variant, embedded fonts, ``--allow-dirty``);
* ``files``: sha256 and size of every file written.

Keys are sorted and nothing depends on the time, so the same inputs give the same bytes.
A release refuses a source tree with uncommitted changes, or one not in git at all (E070),
unless ``--allow-dirty`` is given. ``verify`` names the first input that differs, then
rebuilds in memory and names the first file that differs.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

from compiler.diagnostics import Diagnostics, Span

MANIFEST = "manifest.json"
CLEAN, DIRTY, UNVERSIONED = "clean", "dirty", "unversioned"
INPUT_KEYS = ("libraries", "inputs", "sources", "source_revision", "source_state", "flags")


def _git(sources: Path, *args: str) -> subprocess.CompletedProcess | None:
    """git with hooks, fsmonitor and system config off (the sources may come from anyone)."""
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_OPTIONAL_LOCKS="0")
    try:
        return subprocess.run(["git", "-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null", *args],
                              cwd=sources, capture_output=True, text=True, timeout=30, env=env,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None


def source_state(sources: Path) -> tuple[str, list[str]]:
    """(``clean`` | ``dirty`` | ``unversioned``, changed paths as git prints them) of the sources folder.

    Untracked files count as changes: an untracked item file is built into the document."""
    sources = Path(sources)
    head = _git(sources, "rev-parse", "--verify", "-q", "HEAD")
    if head is None or head.returncode != 0:
        return UNVERSIONED, []
    status = _git(sources, "status", "--porcelain", "--untracked-files=all", "--", ".")
    if status is None or status.returncode != 0:
        return UNVERSIONED, []
    changed = [line[3:] for line in status.stdout.splitlines() if line.strip()]
    return (DIRTY if changed else CLEAN), changed


def refuse_unclean(sources: Path, diags: Diagnostics) -> bool:
    """Report E070 and return True when a release must not be built from ``sources``."""
    state, changed = source_state(sources)
    if state == CLEAN:
        return False
    if state == UNVERSIONED:
        diags.error("E070", "原稿のフォルダが git で管理されていないため、リリースビルドはできません（どの版から作ったか記録できません）。",
                    Span("document.yaml"), "原稿を git にコミットしてから実行してください。確認用に作るだけなら --allow-dirty を付けます。")
    else:
        more = f" ほか {len(changed) - 1} 件" if len(changed) > 1 else ""
        diags.error("E070", f"原稿にコミットしていない変更があるため、リリースビルドはできません（{changed[0]}{more}）。",
                    Span("document.yaml"), "変更をコミットする（git commit）か元に戻してから実行してください。"
                    "確認用に作るだけなら --allow-dirty を付けます。")
    return True


def source_hashes(sources: Path) -> dict[str, str]:
    """sha256 of every file of the sources folder (``.git`` excluded), keyed by POSIX relative path."""
    sources = Path(sources)
    hashes = {}
    for directory, dirnames, filenames in os.walk(sources):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        for name in filenames:
            path = Path(directory) / name
            if path.is_file():
                hashes[path.relative_to(sources).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return dict(sorted(hashes.items()))


def flags(request) -> dict:
    """The options of a release that change its bytes, as ``verify`` passes them back."""
    return {"allow_dirty": bool(request.allow_dirty), "embed_fonts": bool(request.embed_fonts),
            "formats": sorted(request.formats), "pdf_variant": request.pdf_variant,
            "single_pass": bool(request.single_pass)}


def manifest(doc, files: dict[str, bytes], request) -> bytes:
    """``manifest.json`` of a release (sorted keys, no timestamps)."""
    from compiler import __version__, provenance
    from compiler.pipeline import source_revision
    from compiler.theme import PROJECT_ROOT
    from compiler.transforms.preview import counts

    sources = Path(request.sources)
    data = {
        "tool": "followup",
        "version": __version__,
        "libraries": provenance.library_versions(),
        "inputs": provenance.input_hashes(PROJECT_ROOT),
        "sources": source_hashes(sources),
        "source_revision": source_revision(sources),
        "source_state": source_state(sources)[0],
        "flags": flags(request),
        "title": doc.title,
        "as_of": doc.as_of,
        "numbers": {row.item_id: row.label for row in doc.rows()},
        "files": {name: {"sha256": hashlib.sha256(b).hexdigest(), "size": len(b)} for name, b in sorted(files.items())},
        "items": counts(doc),
    }
    return (json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _first_difference(recorded: dict, current: dict) -> tuple[str, object, object] | None:
    from compiler.provenance import compare

    key = compare(recorded, current)
    return None if key is None else (key, recorded.get(key), current.get(key))


def _shown(value) -> str:
    return "なし" if value in (None, "") else str(value)


def check_inputs(recorded: dict, sources: Path) -> list[str]:
    """Japanese messages naming, for each kind of input, the first one that differs from ``recorded``."""
    from compiler import provenance
    from compiler.pipeline import source_revision
    from compiler.theme import PROJECT_ROOT

    problems = []
    diff = _first_difference(recorded.get("libraries", {}), provenance.library_versions())
    if diff:
        problems.append(f"ライブラリ「{diff[0]}」の版が違います（記録: {_shown(diff[1])}、この環境: {_shown(diff[2])}）。")
    diff = _first_difference(recorded.get("inputs", {}), provenance.input_hashes(PROJECT_ROOT))
    if diff:
        what = "ありません" if diff[2] is None else ("記録にありません" if diff[1] is None else "内容が違います")
        problems.append(f"フォント・レイアウトのファイル「{diff[0]}」が記録と違います（{what}）。")
    diff = _first_difference(recorded.get("sources", {}), source_hashes(sources))
    if diff:
        what = "ありません" if diff[2] is None else ("記録にありません" if diff[1] is None else "内容が違います")
        problems.append(f"原稿のファイル「{diff[0]}」が記録と違います（{what}）。")
    revision, state = source_revision(sources), source_state(sources)[0]
    if (revision, state) != (recorded.get("source_revision"), recorded.get("source_state")):
        problems.append(f"原稿の版が違います（記録: {_shown(recorded.get('source_revision'))}・{recorded.get('source_state')}、"
                        f"この原稿: {_shown(revision)}・{state}）。")
    return problems


def check_files(recorded: dict, rebuilt: dict, inputs_differ: bool = False) -> list[str]:
    """Messages naming the first differing item number and the first differing file of a rebuild
    (the record of the inputs themselves is left to ``check_inputs`` when ``inputs_differ``)."""
    problems = []
    diff = _first_difference(recorded.get("numbers", {}), rebuilt.get("numbers", {}))
    if diff:
        problems.append(f"取組方針「{diff[0]}」の番号が違います（記録: {_shown(diff[1])}、作り直し: {_shown(diff[2])}）。")
    diff = _first_difference(recorded.get("files", {}), rebuilt.get("files", {}))
    if diff:
        what = "作り直しにありません" if diff[2] is None else ("記録にありません" if diff[1] is None else "sha256 が違います")
        problems.append(f"出力ファイル「{diff[0]}」が記録と違います（{what}）。")
    else:
        drop = INPUT_KEYS if inputs_differ else ()
        diff = _first_difference({k: v for k, v in recorded.items() if k not in drop},
                                 {k: v for k, v in rebuilt.items() if k not in drop})
        if diff:
            problems.append(f"manifest.json の「{diff[0]}」が作り直しと違います。")
    return problems


class Unreadable(ValueError):
    """The manifest cannot be read (not JSON, not a followup manifest)."""


def read_manifest(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Unreadable(f"{path} を読めません（{type(exc).__name__}）。") from exc
    if not isinstance(data, dict) or data.get("tool") != "followup" or not isinstance(data.get("flags"), dict):
        raise Unreadable(f"{path} は followup のリリースの manifest.json ではありません（flags がありません）。")
    return data


def verify(manifest_path: Path, sources: Path, diags: Diagnostics) -> tuple[list[str], list[str]]:
    """(input problems, output problems) of rebuilding the release of ``manifest_path`` from ``sources``.

    Both empty: the release is reproduced byte for byte. Errors of the rebuild itself land in ``diags``."""
    from compiler.pipeline import Request, build

    recorded = read_manifest(manifest_path)
    inputs = check_inputs(recorded, sources)
    recorded_flags = recorded["flags"]
    request = Request(sources=Path(sources), release=True, formats=frozenset(recorded_flags.get("formats", ("pdf", "docx"))),
                      pdf_variant=recorded_flags.get("pdf_variant", "default"),
                      embed_fonts=bool(recorded_flags.get("embed_fonts", True)),
                      single_pass=bool(recorded_flags.get("single_pass", True)),
                      allow_dirty=bool(recorded_flags.get("allow_dirty")) or bool(inputs))
    built = build(request, diags)  # in memory: nothing of the release being checked is touched
    if diags.has_errors or MANIFEST not in built.files:
        return inputs, ["作り直しに失敗しました（上のエラーを見てください）。"]
    rebuilt = json.loads(built.files[MANIFEST].decode("utf-8"))
    if inputs:  # the rebuild had to be allowed to run from a changed tree; compare what it made
        rebuilt["flags"]["allow_dirty"] = recorded_flags.get("allow_dirty")
    return inputs, check_files(recorded, rebuilt, bool(inputs))
