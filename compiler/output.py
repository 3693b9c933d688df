"""Output: safe paths, all-or-nothing writes (``build``, ``preview`` and ``fmt`` share them).

``write_all`` writes every file to a temporary sibling first (flushed to
disk), then moves the old files aside and the new ones in; if anything fails
on the way, the old files are put back and the temporaries removed, so a
folder holds either the whole previous build or the whole new one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


class UnsafePath(ValueError):
    """An output name that would leave its folder."""


class WriteFailed(OSError):
    """Writing failed; the previous files are back in place."""

    def __init__(self, path: Path, reason: str):
        super().__init__(reason)
        self.path, self.reason = path, reason


def safe_child(out_dir: Path, name: str) -> Path:
    """``out_dir/name`` if it stays inside ``out_dir`` (no separators, no ``..``)."""
    if not name or "/" in name or "\\" in name or name in (".", "..") or "\x00" in name:
        raise UnsafePath(name)
    target = (out_dir / name).resolve()
    if target.parent != out_dir.resolve():
        raise UnsafePath(name)
    return target


def _unlink_quietly(path: str | Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def write_all(files: dict[Path, bytes], mode: int | None = 0o644) -> list[Path]:
    """Replace every ``path`` with its bytes, all or nothing. ``mode=None`` keeps each file's own mode.

    Raises ``WriteFailed`` (naming the file) with the previous files restored."""
    temps: list[tuple[Path, str]] = []
    moved: list[tuple[Path, str]] = []  # (target, backup) of files already moved aside
    placed: list[Path] = []
    current: Path | None = None
    try:
        for target, data in files.items():
            current = target
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            temps.append((target, tmp))
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            keep = target.stat().st_mode & 0o7777 if mode is None and target.exists() else (mode or 0o644)
            os.chmod(tmp, keep)
        for target, tmp in temps:
            current = target
            if target.exists() or target.is_symlink():
                backup = f"{tmp}.old"
                os.rename(target, backup)
                moved.append((target, backup))
            os.rename(tmp, target)
            placed.append(target)
    except OSError as exc:
        for target in placed:
            _unlink_quietly(target)
        for target, backup in moved:
            try:
                os.rename(backup, target)
            except OSError:
                pass
        for _, tmp in temps:
            _unlink_quietly(tmp)
        raise WriteFailed(current or Path("."), exc.strerror or type(exc).__name__) from exc
    for _, backup in moved:
        _unlink_quietly(backup)
    return [target for target, _ in temps]
