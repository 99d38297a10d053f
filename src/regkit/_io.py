"""Files regkit writes and reads: atomically, never through symlinks, and with clear errors.

The one home for atomic writes. A reader (another process, a resumed run, a user opening
`report.json`) sees either the old file or the new one, never half of one: the data go to
a hidden temporary file beside the target, are flushed to disk, then renamed over it.
`os.replace` replaces a symlink at the target itself rather than writing through it.

`FolderLock` gives a process exclusive use of a folder (a study's `out_dir`) through the
operating system's file locks (`filelock`: `fcntl.flock` on POSIX, `msvcrt` on Windows):
the OS drops the lock when its holder exits or is killed, so a stale lock never blocks.

`open_regular`, `read_regular_bytes` and `read_regular_text` read files a user (or a
study folder) hands regkit: only regular files, never a FIFO, socket or device (reading a
FIFO named `settings.json` would block forever, `/dev/zero` would never end), and never
more than a stated number of bytes; what is wrong is a `ValueError` naming the file.
"""

from __future__ import annotations

import io
import os
import re
import stat
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
    "open_regular",
    "read_regular_bytes",
    "read_regular_text",
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


# ----------------------------------------------------------------------------------------
# Reading files a user or a study folder hands regkit.

#: What a file is, by its `stat` mode, for the error message.
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def _not_regular(path: str | os.PathLike[str], what: str, mode: int) -> ValueError:
    kind = _kind(mode)
    tail = "" if kind == "not a regular file" else ", not a regular file"
    return ValueError(
        f"{what} {os.fspath(path)!r} is {kind}{tail}; regkit reads only regular files"
    )


def _too_big(path: str | os.PathLike[str], what: str, size: str, max_bytes: int) -> ValueError:
    return ValueError(f"{what} {os.fspath(path)!r} {size}, over the limit of {max_bytes:,} bytes")


def open_regular(
    path: str | os.PathLike[str], *, what: str = "file", max_bytes: int | None = None
) -> io.BufferedReader:
    """Opens `path` for binary reading if it is a regular file, without ever blocking.

    The file's type is checked before it is opened (`os.stat`) and again on the open file
    (`os.fstat`, so a swap in between is caught); it is opened with `O_NONBLOCK`, so even
    a FIFO put in its place between the two checks cannot make `open` wait for a writer.
    Symbolic links are followed (the file they point to must be regular).

    Args:
        path: The file.
        what: What the file is, for messages (e.g. `"study file"`, `"IDX file"`).
        max_bytes: Refuse a file larger than this (by its size on disk), or None.

    Returns:
        The open file (binary, buffered); close it (use `with`).

    Raises:
        FileNotFoundError: `path` does not exist (the message names it).
        ValueError: `path` is a directory, FIFO, socket or device, or larger than
            `max_bytes`; the message names the file and says which.
        OSError: The file cannot be opened (e.g. permissions).

    Example:
        >>> with open_regular("settings.json", what="run settings") as f:  # doctest: +SKIP
        ...     data = f.read()
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} {os.fspath(path)!r} does not exist") from None
    if not stat.S_ISREG(mode):
        raise _not_regular(path, what, mode)
    fd = os.open(path, _READ_FLAGS)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _not_regular(path, what, info.st_mode)
        if max_bytes is not None and info.st_size > max_bytes:
            raise _too_big(path, what, f"is {info.st_size:,} bytes", max_bytes)
        if getattr(os, "O_NONBLOCK", 0):  # regular files never block; reads behave as usual
            os.set_blocking(fd, True)
        return open(fd, "rb", closefd=True)  # the caller closes it
    except BaseException:
        os.close(fd)
        raise


def read_regular_bytes(
    path: str | os.PathLike[str], *, max_bytes: int, what: str = "file"
) -> bytes:
    """The bytes of a regular file of at most `max_bytes` (see `open_regular`).

    A file that grows past `max_bytes` while it is read is refused too.

    Args:
        path: The file.
        max_bytes: The most bytes read; a larger file is a `ValueError`.
        what: What the file is, for messages.

    Returns:
        The file's content.

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: Not a regular file (FIFO, device, directory, socket) or larger than
            `max_bytes`; the message names the file.

    Example:
        >>> read_regular_bytes("/dev/zero", max_bytes=10, what="IDX file")  # doctest: +SKIP
        ValueError: IDX file '/dev/zero' is a character device, not a regular file; ...
    """
    with open_regular(path, what=what, max_bytes=max_bytes) as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _too_big(path, what, "grew while it was read", max_bytes)
    return data


def read_regular_text(
    path: str | os.PathLike[str],
    *,
    max_bytes: int,
    what: str = "file",
    encoding: str = "utf-8",
) -> str:
    """The text of a regular file of at most `max_bytes` (see `read_regular_bytes`).

    Args:
        path: The file.
        max_bytes: The most bytes read; a larger file is a `ValueError`.
        what: What the file is, for messages (e.g. `"study file"`).
        encoding: The text encoding.

    Returns:
        The decoded text.

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: Not a regular file, larger than `max_bytes`, or not text in
            `encoding`; the message names the file.

    Example:
        >>> read_regular_text("study.toml", max_bytes=1 << 20, what="study file")
        ... # doctest: +SKIP
    """
    data = read_regular_bytes(path, max_bytes=max_bytes, what=what)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{what} {os.fspath(path)!r} is not {encoding} text (byte {error.start}: "
            f"{error.reason})"
        ) from None
