"""One batch run at a time per archive, and the sweep of files a killed run left behind.

Temp files live in a temp folder inside the folder they are renamed into (``layout.TMP_DIR``), so
the sweep at start reads what was in flight, never the archive's folders.

The lock is ``fcntl.flock`` on ``archive/.wxarchive/lock``: the kernel drops it
when the holding process dies (even by ``kill -9``), so a stale lock never needs
a human. The file is never deleted (deleting lock files races); it only carries
the holder's pid for the message a second run prints.

:class:`WriteLock` (``archive/.wxarchive/write.lock``) is the other, short one:
every process writing into an archive (``get`` too) holds it while it writes a
post and records it, so two runs never claim the same file name.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from wxarchive.errors import LockedError
from wxarchive.layout import LOCK_NAME, TMP_DIR, WRITE_LOCK_NAME

__all__ = ["ArchiveLock", "WriteLock", "adopt", "sweep_partials"]

log = logging.getLogger(__name__)

_TMP_RE = re.compile(r"^\.tmp-(?:(\d+)-)?.*\.part$")  # beside the files (wxarchive before the temp folders)
_IN_FLIGHT_RE = re.compile(r"^\.tmp-(?:(\d+)-)?")  # in a temp folder: a state file's -wal and -shm too


class ArchiveLock:
    """Exclusive, non-blocking; raises :class:`LockedError` when another live process holds it."""

    def __init__(self, state_dir: Path, what: str = "wxarchive") -> None:
        self.path = Path(state_dir) / LOCK_NAME
        self.what = what
        self._fd: int | None = None

    def acquire(self) -> ArchiveLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                os.close(fd)
                raise
            holder = ""
            try:
                holder = os.pread(fd, 200, 0).decode("utf-8", "replace").split()[0]
            except (OSError, IndexError):
                pass
            os.close(fd)
            who = f" (pid {holder})" if holder.isdigit() else ""
            archive = self.path.parent.parent
            raise LockedError(f"another wxarchive run{who} is working on {archive}; exiting") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {self.what} {int(time.time())}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> ArchiveLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


class WriteLock:
    """Blocking and exclusive, between the threads of this process and other processes on the archive."""

    NAME = WRITE_LOCK_NAME

    def __init__(self, state_dir: Path) -> None:
        self._fd = os.open(Path(state_dir) / self.NAME, os.O_RDWR | os.O_CREAT, 0o644)
        self._threads = threading.Lock()

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        with self._threads:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        os.close(self._fd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stale(path: str, pid: int | None, now: float, max_age: float) -> bool:
    """A temp file whose writer is dead (its name carries the pid), or without a pid and old."""
    if pid:
        return pid != os.getpid() and not _alive(pid)
    return now - os.stat(path).st_mtime > max_age


def _sweep(folder: Path, pattern: re.Pattern[str], now: float, max_age: float) -> list[Path]:
    """The stale temp files among ``folder``'s entries (one ``scandir``), removed."""
    removed: list[Path] = []
    try:
        entries = os.scandir(folder)
    except OSError:  # not made yet, or not a folder
        return removed
    with entries:
        for e in entries:
            m = pattern.match(e.name)
            if not m:
                continue
            try:
                if e.is_file(follow_symlinks=False) and _stale(e.path, int(m.group(1)) if m.group(1) else None,
                                                               now, max_age):
                    os.unlink(e.path)
                    removed.append(Path(e.path))
            except OSError:
                continue
    return removed


def adopt(folder: Path, max_age: float = 3600.0) -> list[Path]:
    """Make ``folder``'s temp folder; the first time, sweep the folder itself of the temp files an
    older wxarchive made beside its files (the one walk of the folder in its life)."""
    tmp = folder / TMP_DIR
    if tmp.is_dir():
        return []
    removed = _sweep(folder, _TMP_RE, time.time(), max_age) if folder.is_dir() else []
    tmp.mkdir(parents=True, exist_ok=True)
    return removed


def sweep_partials(folders: list[Path], max_age: float = 3600.0) -> list[Path]:
    """Delete the temp files of writes a killed run left in ``folders``' temp folders.

    Temp names carry the writer's pid (``.tmp-<pid>-…``); a file without one is removed once it
    is older than ``max_age`` seconds. Only the temp folders are read (each holds what was in flight,
    not the folder's thousands of posts or images); a folder without one yet is swept whole once,
    as :func:`adopt` makes it. Call it holding the lock.
    """
    removed: list[Path] = []
    now = time.time()
    for folder in folders:
        tmp = folder / TMP_DIR
        if tmp.is_dir():
            removed += _sweep(tmp, _IN_FLIGHT_RE, now, max_age)
        elif folder.is_dir():
            removed += adopt(folder, max_age)
    if removed:
        log.info("removed %d partial file(s) left by an interrupted run", len(removed))
    return removed
