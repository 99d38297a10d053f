"""Files regkit writes: atomically, never through symlinks, and with clear errors.

The one home for atomic writes. A reader (another process, a resumed run, a user opening
`report.json`) sees either the old file or the new one, never half of one: the data go to
a hidden temporary file beside the target, are flushed to disk, then renamed over it.
`os.replace` replaces a symlink at the target itself rather than writing through it.

`FolderLock` gives a process exclusive use of a folder (a study's `out_dir`) through the
operating system's file locks (`filelock`: `fcntl.flock` on POSIX, `msvcrt` on Windows):
the OS drops the lock when its holder exits or is killed, so a stale lock never blocks.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = [
    "LOCK_NAME",
    "FolderBusyError",
    "FolderLock",
    "atomic_write_bytes",
    "atomic_write_text",
    "fsync_file",
    "temp_path",
    "temp_target",
]

#: The lock file `FolderLock` keeps in the folder it locks.
LOCK_NAME = ".regkit.lock"


def temp_path(path: Path) -> Path:
    """The hidden temporary name `atomic_write_*` uses for `path` in this process."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


_TEMP_NAME = re.compile(r"\.(?P<target>.+)\.\d+\.tmp")


def temp_target(name: str) -> str | None:
    """The file name a `temp_path` name stands for (`.report.json.123.tmp` ->
    `report.json`), or None when `name` is not one of regkit's temporary names."""
    match = _TEMP_NAME.fullmatch(name)
    return match.group("target") if match else None


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, sync: bool = True) -> Path:
    """Writes `data` to `path` atomically; the temporary file is removed on any failure.

    Args:
        path: the file to write; its folder must exist.
        data: the bytes.
        sync: flush the data to disk before the rename (what survives a power cut or a
            SIGKILL of the writer); the rename itself is atomic either way.

    Returns:
        `path` as a `Path`.

    Raises:
        OSError: the write failed (e.g. the disk is full); `path` is unchanged.
    """
    target = Path(path)
    tmp = temp_path(target)
    # A link planted at the temporary name is removed, not written through: the file is
    # created afresh, exclusively, and never by following a symlink.
    tmp.unlink(missing_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        with os.fdopen(os.open(tmp, flags, 0o666), "wb") as f:
            f.write(data)
            f.flush()
            if sync:
                os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str, *, sync: bool = True) -> Path:
    """`atomic_write_bytes` for UTF-8 text."""
    return atomic_write_bytes(path, text.encode("utf-8"), sync=sync)


def fsync_file(path: str | os.PathLike[str]) -> None:
    """Flushes a file another library wrote (e.g. Keras' `.weights.h5`) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FolderBusyError(OSError):
    """Another live process (or another `FolderLock` in this one) holds the folder."""


class FolderLock:
    """Exclusive use of a folder, held through an OS file lock on `<folder>/.regkit.lock`.

    `acquire` fails at once (no waiting) with `FolderBusyError` when another holder has
    the lock. The OS releases the lock when the holder closes it, exits or is killed
    (even by SIGKILL), so a lock never outlives its process. Use as a context manager.

    Args:
        folder: The folder to lock (it must exist).

    Example:
        >>> with FolderLock(tmp_path):  # doctest: +SKIP
        ...     ...  # this process alone writes into tmp_path
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self._lock: Any = None

    def acquire(self) -> FolderLock:
        """Takes the lock, or raises `FolderBusyError` naming the folder at once."""
        import filelock

        if self.path.is_symlink():  # never lock (or create) a file through a planted link
            raise FolderBusyError(f"{self.path} is a symlink; regkit does not follow it")
        lock = filelock.FileLock(str(self.path), timeout=0, is_singleton=False)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise FolderBusyError(
                f"{self.folder} is in use by another live process (its lock {self.path} is held)"
            ) from None
        self._lock = lock
        return self

    def release(self) -> None:
        """Gives the lock back (the lock file stays; it holds nothing)."""
        if self._lock is not None:
            self._lock.release(force=True)
            self._lock = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock now."""
        return self._lock is not None

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
