"""Output: safe paths, all-or-nothing writes (``build``, ``preview`` and ``fmt`` share them) and the folder lock.

``write_all`` works in three phases:

1. *check*: every target must be a regular file or absent; below the output
   folder (``root``) no path component may be a symbolic link (a link could
   send the files elsewhere), and a target that is itself a link is refused,
   not replaced and never written through;
2. *write*: each file goes to a temporary sibling ``.<name>.<random>.tmp``,
   flushed to disk; any failure or interrupt here removes the temporaries;
3. *commit*: with SIGINT/SIGTERM/SIGHUP held back (``interrupt.deferred``), each
   old file is kept as a hard link (or moved aside) and the new one renamed
   over it; on failure every old file is put back. An interrupt that arrives
   during the commit takes effect after it.

So a folder holds either the whole previous build or the whole new one, and
nothing else (no ``.tmp`` left behind; what a build killed by SIGKILL left is
tidied away by the next write into the folder). Failures raise ``WriteFailed``
naming the file and the reason in Japanese.

``lock(root)`` keeps two builds from committing into one folder at the same
time: an exclusive ``flock`` on the folder itself (no lock file is left in a
folder that gets published), waiting at most ``FOLLOWUP_LOCK_WAIT`` seconds
(default 60), then ``Busy``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
import time
from pathlib import Path

from compiler import interrupt

LOCK_WAIT_SECONDS = 60.0

REASONS = {
    errno.ENOSPC: "空き容量が足りません",
    errno.EDQUOT: "ディスクの使用量の上限（クォータ）を超えました",
    errno.EACCES: "書き込む権限がありません",
    errno.EPERM: "書き込む権限がありません",
    errno.EROFS: "読み取り専用の場所には書き込めません",
    errno.EISDIR: "同じ名前のフォルダがあります",
    errno.ENOTDIR: "途中に同じ名前のファイルがあり、フォルダを作れません",
    errno.ENAMETOOLONG: "名前が長すぎます",
    errno.ELOOP: "シンボリックリンクです（リンクを通しては書き込みません。リンクを消すか、別の出力フォルダを指定してください）",
    errno.EIO: "ディスクの読み書きに失敗しました",
    errno.EMFILE: "同時に開けるファイルの数を超えました",
    errno.EBUSY: "ほかのプログラムが使用中です",
    errno.EXDEV: "一時ファイルと同じ場所に置けません",
}


def reason(exc: OSError) -> str:
    """The cause of an ``OSError`` in Japanese (its errno name when not known)."""
    if exc.errno in REASONS:
        return REASONS[exc.errno]
    name = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
    return f"書き込みに失敗しました（{name}: {exc.strerror or exc}）"


class UnsafePath(ValueError):
    """An output name that would leave its folder."""


class WriteFailed(OSError):
    """Writing failed; the previous files are back in place and no temporary is left."""

    def __init__(self, path: Path, reason: str):
        super().__init__(reason)
        self.path, self.reason = path, reason


class Busy(RuntimeError):
    """Another build holds the output folder's lock."""

    def __init__(self, path: Path):
        super().__init__(str(path))
        self.path = path


def safe_child(out_dir: Path, name: str) -> Path:
    """``out_dir/name`` if the name stays inside ``out_dir`` (no separators, no ``..``).

    Lexical only: symbolic links are not followed here; ``write_all`` refuses them."""
    if not name or "/" in name or "\\" in name or name in (".", "..") or "\x00" in name:
        raise UnsafePath(name)
    return out_dir / name


def _unlink_quietly(path: str | Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _folders(root: Path | None, target: Path, made: list[Path]) -> None:
    """Create ``target``'s folders one by one below ``root``, refusing any that is a link or not a folder."""
    parent = target.parent
    if root is None:
        parent.mkdir(parents=True, exist_ok=True)
        return
    root = Path(os.path.abspath(root))
    root.mkdir(parents=True, exist_ok=True)
    rel = Path(os.path.abspath(parent)).relative_to(root)  # ValueError: outside root (a caller's bug)
    here = root
    for part in rel.parts:
        here = here / part
        try:
            st = os.lstat(here)
        except FileNotFoundError:
            os.mkdir(here)
            made.append(here)
            continue
        if stat.S_ISLNK(st.st_mode):
            raise OSError(errno.ELOOP, "symbolic link", str(here))
        if not stat.S_ISDIR(st.st_mode):
            raise OSError(errno.ENOTDIR, "not a directory", str(here))


def _check_target(target: Path, refuse_links: bool) -> os.stat_result | None:
    """The target's ``lstat`` if it is a regular file, ``None`` if absent; raise for anything else."""
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        if refuse_links:
            raise OSError(errno.ELOOP, "symbolic link", str(target))
        return st
    if stat.S_ISDIR(st.st_mode):
        raise OSError(errno.EISDIR, "is a directory", str(target))
    if not stat.S_ISREG(st.st_mode):
        raise OSError(errno.EEXIST, "not a regular file", str(target))
    return st


def _leftovers(target: Path) -> tuple[list[str], list[str]]:
    """What a write of ``target`` killed midway (SIGKILL, power loss) left beside it: its temporaries,
    and the backups of the file it was replacing (``_commit``), by path."""
    pattern = re.compile(rf"\.{re.escape(target.name)}\.[A-Za-z0-9_]{{8}}\.tmp(\.old)?")
    temps, backups = [], []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return temps, backups
    for entry in entries:
        found = pattern.fullmatch(entry.name)
        if found and entry.is_file(follow_symlinks=False):
            (backups if found.group(1) else temps).append(entry.path)
    return temps, backups


def _tidy(target: Path) -> None:
    """Before ``target`` is written anew under the folder's lock (no other build is writing it): drop
    the leftovers of a killed write; a backup whose target went missing is put back first, so that
    a failure of this write still restores the previous file."""
    temps, backups = _leftovers(target)
    for path in temps:
        _unlink_quietly(path)
    for path in sorted(backups, key=lambda p: os.lstat(p).st_mtime_ns, reverse=True):  # the newest first
        if not os.path.lexists(target):
            try:
                os.rename(path, target)
                continue
            except OSError:
                pass
        _unlink_quietly(path)


def _write_temp(target: Path, data: bytes, mode: int) -> str:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fchmod(fd, mode)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        _unlink_quietly(tmp)
        raise
    os.close(fd)
    return tmp


def _sync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_all(files: dict[Path, bytes], mode: int | None = 0o644, root: Path | None = None) -> list[Path]:
    """Replace every ``path`` with its bytes, all or nothing. ``mode=None`` keeps each file's own mode.

    With ``root`` (the output folder, whose ``lock`` the caller holds) every target must lie below it,
    no folder below it may be a symbolic link and no target may be one, and what a killed build left
    beside a target is tidied away first (``_tidy``). Raises
    ``WriteFailed`` (naming the file, reason in Japanese) with the previous
    files restored and no temporary left."""
    temps: list[tuple[Path, str]] = []
    made: list[Path] = []
    current: Path | None = None
    try:
        olds: dict[Path, os.stat_result | None] = {}
        for target in files:
            current = target
            _folders(root, target, made)
            if root is not None:
                _tidy(target)
            olds[target] = _check_target(target, refuse_links=root is not None)
        for target, data in files.items():
            current = target
            old = olds[target]
            keep = old.st_mode & 0o7777 if mode is None and old is not None and stat.S_ISREG(old.st_mode) else (mode or 0o644)
            temps.append((target, _write_temp(target, data, keep)))
        with interrupt.deferred():
            _commit(temps)
        for folder in {t.parent for t, _ in temps}:
            _sync_folder(folder)
    except OSError as exc:
        _discard(temps, made)
        where = Path(exc.filename) if exc.filename and exc.errno in (errno.ELOOP, errno.ENOTDIR) else current
        raise WriteFailed(where or Path("."), reason(exc)) from exc
    except BaseException as exc:  # an interrupt
        if getattr(exc, "after_block", False):  # it came during the commit, which completed first
            exc.outputs_replaced = True
        else:
            _discard(temps, made)
        raise
    return [target for target, _ in temps]


def _discard(temps: list[tuple[Path, str]], made: list[Path]) -> None:
    for _, tmp in temps:
        _unlink_quietly(tmp)
    for folder in reversed(made):
        try:
            os.rmdir(folder)
        except OSError:
            pass


def _commit(temps: list[tuple[Path, str]]) -> None:
    """Rename every temporary over its target; on failure put every old file back. Signals are held back."""
    done: list[tuple[Path, str | None]] = []  # (target, backup of the old file or None)
    current = None
    try:
        for target, tmp in temps:
            current = target
            backup = None
            if os.path.lexists(target):
                backup = f"{tmp}.old"
                try:
                    os.link(target, backup, follow_symlinks=False)  # the target never goes missing
                except OSError:
                    os.rename(target, backup)
            done.append((target, backup))
            os.replace(tmp, target)
    except OSError as exc:
        for target, backup in reversed(done):
            try:
                if backup is not None:
                    os.replace(backup, target)  # does nothing if both are links to the old file…
                    _unlink_quietly(backup)  # …so drop the extra name
                else:
                    _unlink_quietly(target)
            except OSError:
                pass
        raise OSError(exc.errno, exc.strerror, str(current)) from exc
    for _, backup in done:
        if backup is not None:
            _unlink_quietly(backup)


@contextlib.contextmanager
def lock(root: Path, wait: float | None = None):
    """Hold an exclusive lock on the folder ``root`` (created if needed); ``Busy`` after ``wait`` seconds."""
    if wait is None:
        try:
            wait = float(os.environ.get("FOLLOWUP_LOCK_WAIT", LOCK_WAIT_SECONDS))
        except ValueError:
            wait = LOCK_WAIT_SECONDS
    import fcntl

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise Busy(root) from None
                time.sleep(0.1)
            except OSError as exc:
                if exc.errno in (errno.ENOLCK, errno.EBADF, errno.EOPNOTSUPP):
                    break  # the filesystem has no locks: go on unlocked
                raise
        yield
    finally:
        os.close(fd)  # releases the lock
