"""Files regkit writes: atomically, never through symlinks, and with clear errors.

The one home for atomic writes. A reader (another process, a resumed run, a user opening
`report.json`) sees either the old file or the new one, never half of one: the data go to
a hidden temporary file beside the target, are flushed to disk, then renamed over it.
`os.replace` replaces a symlink at the target itself rather than writing through it.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["atomic_write_bytes", "atomic_write_text", "fsync_file", "temp_path"]


def temp_path(path: Path) -> Path:
    """The hidden temporary name `atomic_write_*` uses for `path` in this process."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


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
    try:
        with open(tmp, "wb") as f:
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
