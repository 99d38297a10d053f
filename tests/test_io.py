"""regkit._io: atomic writes that leave no partial files and never write through links."""

from __future__ import annotations

import os

import pytest

from regkit._io import atomic_write_bytes, atomic_write_text, temp_path


def test_atomic_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "report.json"
    target.write_text("old")
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary(tmp_path, monkeypatch):
    target = tmp_path / "report.json"
    target.write_text("old")

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError, match="No space left"):
        atomic_write_bytes(target, b"new")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_links_planted_at_the_target_or_the_temporary_name_are_not_written_through(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    folder = tmp_path / "study"
    folder.mkdir()
    target = folder / "report.json"
    target.symlink_to(outside)
    temp_path(target).symlink_to(outside)
    atomic_write_text(target, "result")
    assert outside.read_text() == "precious"
    assert not target.is_symlink() and target.read_text() == "result"
    assert sorted(p.name for p in folder.iterdir()) == ["report.json"]


# ----------------------------------------------------------------------------------------
# Readers of files handed to regkit: regular files only, bounded, never blocking.


@pytest.mark.timeout(10, func_only=True)  # fixtures (Keras import) not timed
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX FIFOs")
def test_a_fifo_is_refused_at_once_never_read(tmp_path):
    from regkit._io import open_regular, read_regular_bytes, read_regular_text

    fifo = tmp_path / "settings.json"
    os.mkfifo(fifo)  # no writer: an ordinary open() would block forever
    message = rf"run settings '{fifo}' is a FIFO, not a regular file"
    with pytest.raises(ValueError, match=message):
        read_regular_text(fifo, max_bytes=1000, what="run settings")
    with pytest.raises(ValueError, match=message):
        read_regular_bytes(fifo, max_bytes=1000, what="run settings")
    with pytest.raises(ValueError, match=message):
        open_regular(fifo, what="run settings")


@pytest.mark.timeout(10, func_only=True)  # fixtures (Keras import) not timed
@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_device_and_a_directory_are_refused(tmp_path):
    from regkit._io import read_regular_bytes, read_regular_text

    with pytest.raises(ValueError, match=r"IDX file '/dev/zero' is a character device, not a"):
        read_regular_bytes("/dev/zero", max_bytes=10, what="IDX file")
    link = tmp_path / "zero.json"
    link.symlink_to("/dev/zero")  # a link is followed, and what it points to is checked
    with pytest.raises(ValueError, match=r"zero\.json' is a character device"):
        read_regular_text(link, max_bytes=10, what="study file")
    with pytest.raises(ValueError, match=rf"study file '{tmp_path}' is a directory, not a"):
        read_regular_text(tmp_path, max_bytes=10, what="study file")


def test_regular_files_are_read_within_their_bound(tmp_path):
    from regkit._io import read_regular_bytes, read_regular_text

    path = tmp_path / "study.toml"
    path.write_bytes("épochs = 3\n".encode())
    assert read_regular_text(path, max_bytes=12, what="study file") == "épochs = 3\n"
    assert read_regular_bytes(path, max_bytes=12) == "épochs = 3\n".encode()
    with pytest.raises(
        ValueError,
        match=r"study file '.*study\.toml' is 12 bytes, over the "
        r"limit of 11 bytes",
    ):
        read_regular_text(path, max_bytes=11, what="study file")
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(ValueError, match=r"study\.toml' is not utf-8 text"):
        read_regular_text(path, max_bytes=10, what="study file")
    with pytest.raises(FileNotFoundError, match=r"study file '.*missing\.toml' does not exist"):
        read_regular_text(tmp_path / "missing.toml", max_bytes=10, what="study file")


def test_a_file_growing_past_the_bound_while_read_is_refused(tmp_path, monkeypatch):
    import regkit._io as io_module

    path = tmp_path / "grows.json"
    path.write_bytes(b"x" * 4)
    real_fstat = os.fstat

    def small_fstat(fd):  # the size on disk said 4 bytes when checked, 20 are there now
        info = real_fstat(fd)
        path.write_bytes(b"x" * 20)
        return info

    monkeypatch.setattr(io_module.os, "fstat", small_fstat)
    with pytest.raises(
        ValueError, match=r"grows\.json' grew while it was read, over the limit of 10 bytes"
    ):
        io_module.read_regular_bytes(path, max_bytes=10)
