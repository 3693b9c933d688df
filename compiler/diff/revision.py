"""Reading one release of the sources: a folder, or a git revision of the sources' repository.

A revision is read without running anything from the repository and without
touching its working tree or index: ``git ls-tree -r -z`` lists the blobs under
the sources' folder at that revision and ``git cat-file --batch`` reads them
(no filters, no textconv) into a temporary folder, which is then compiled like
any sources folder. Every git call turns off hooks and the fsmonitor (a
repository's config could name a program for either) and runs with the
repository's own config for nothing else. Symbolic links and submodules in the
tree are refused: a release is plain files.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

SAFE_CONFIG = ("-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "-c", "core.untrackedCache=false",
               "-c", "protocol.allow=never", "-c", "diff.external=", "-c", "core.pager=cat")


class RevisionError(Exception):
    """A revision that cannot be read; the message is Japanese, for the user."""


def _git(repo: Path, *args: str, input: bytes | None = None) -> bytes:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1", GIT_OPTIONAL_LOCKS="0")
    try:
        done = subprocess.run(["git", *SAFE_CONFIG, "-C", str(repo), *args], input=input, capture_output=True,
                              env=env, timeout=120)
    except FileNotFoundError:
        raise RevisionError("git が見つかりません。git をインストールするか、版の代わりに原稿のフォルダを指定してください。") from None
    except subprocess.TimeoutExpired:
        raise RevisionError("git の応答がありません（120 秒）。") from None
    if done.returncode != 0:
        raise RevisionError(done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:][0] if done.stderr.strip() else "git が失敗しました。")
    return done.stdout


def locate(sources: Path) -> tuple[Path, str]:
    """The repository's top folder and the sources' folder inside it (``""`` or ``"sources/"``)."""
    folder = Path(sources)
    while not folder.is_dir() and folder != folder.parent:  # the folder may not exist in the working tree
        folder = folder.parent
    try:
        top = Path(_git(folder, "rev-parse", "--show-toplevel").decode().strip())
    except RevisionError:
        raise RevisionError(f"{sources} は git の管理下にありません。--sources で原稿のリポジトリ（またはその中の原稿フォルダ）を指定してください。") from None
    prefix = Path(os.path.realpath(sources)).relative_to(os.path.realpath(top)).as_posix()
    return top, "" if prefix == "." else prefix + "/"


def describe(sources: Path, revision: str) -> str:
    """``revision`` and its commit, e.g. ``r5-02 (1a2b3c4d5e6f)``."""
    top, _ = locate(sources)
    commit = resolve(top, revision)
    return f"{revision} ({commit[:12]})"


def resolve(top: Path, revision: str) -> str:
    if revision.startswith("-"):
        raise RevisionError(f"版の名前「{revision}」は使えません。")
    try:
        return _git(top, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}").decode().strip()
    except RevisionError:
        raise RevisionError(f"版「{revision}」が見つかりません（フォルダでもありません）。"
                            "タグ・ブランチ・コミットの名前か、原稿のフォルダを指定してください。") from None


@contextmanager
def checkout(sources: Path, revision: str):
    """A temporary folder holding the sources as they were at ``revision`` (removed afterwards)."""
    top, prefix = locate(sources)
    commit = resolve(top, revision)
    listing = _git(top, "ls-tree", "-r", "-z", "--full-tree", commit, "--", prefix or ".")
    entries = []
    for record in listing.split(b"\0"):
        if not record:
            continue
        meta, _, path = record.partition(b"\t")
        mode, kind, oid = meta.decode().split()
        rel = path.decode("utf-8", "surrogateescape")
        if prefix and not rel.startswith(prefix):
            continue
        inner = PurePosixPath(rel[len(prefix):])
        if kind != "blob" or mode == "120000":
            what = "シンボリックリンク" if mode == "120000" else "サブモジュール"
            raise RevisionError(f"版「{revision}」の原稿に{what}があります（{rel}）。原稿は通常のファイルだけにしてください。")
        if inner.is_absolute() or ".." in inner.parts or not inner.parts:
            raise RevisionError(f"版「{revision}」に扱えないパスがあります（{rel}）。")
        entries.append((inner, oid))
    if not entries:
        raise RevisionError(f"版「{revision}」には {prefix or 'リポジトリの直下'} に原稿がありません。")
    blobs = _git(top, "cat-file", "--batch", input="".join(f"{oid}\n" for _, oid in entries).encode())
    with tempfile.TemporaryDirectory(prefix="followup-rev-") as tmp:
        root = Path(tmp) / "sources"
        pos = 0
        for inner, oid in entries:
            header_end = blobs.index(b"\n", pos)
            _, _, size = blobs[pos:header_end].decode().split()
            start = header_end + 1
            data = blobs[start:start + int(size)]
            pos = start + int(size) + 1  # the LF after each object
            target = root.joinpath(*inner.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        yield root
