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
