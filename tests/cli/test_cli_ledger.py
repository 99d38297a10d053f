"""`regkit compare` on a study folder used twice: reuse, refusal (exit 2), --restart, a busy
folder, and a report that cannot be written (exit 1, one line)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from regkit.cli import main

QUICK = ["--epochs", "1", "--batch-size", "16", "--limit", "48", "--quiet", "--no-plots"]


def _compare(out, *extra):
    return main(["compare", "--variants", "baseline", *QUICK, "--out", str(out), *extra])


def _exit(argv_runner, capsys):
    with pytest.raises(SystemExit) as info:
        argv_runner()
    return info.value.code, capsys.readouterr().err


def test_rerun_reuses_refuses_changes_and_restarts(tmp_path, capsys):
    out = tmp_path / "study"
    assert _compare(out) == 0
    assert _compare(out) == 0  # same flags: reused
    runs = json.loads((out / "report.json").read_text())["variants"]["baseline"]["runs"]
    assert [r["origin"] for r in runs] == ["reused"]
    capsys.readouterr()

    code, err = _exit(lambda: _compare(out, "--optimizer", "sgd"), capsys)
    assert code == 2
    assert str(out) in err and "optimizer 'adam' -> 'sgd'" in err and "--restart" in err

    assert _compare(out, "--optimizer", "sgd", "--restart") == 0
    runs = json.loads((out / "report.json").read_text())["variants"]["baseline"]["runs"]
    assert [r["origin"] for r in runs] == ["trained"]
    assert json.loads((out / "report.json").read_text())["config"]["optimizer"] == "sgd"


def test_a_busy_folder_exits_2_naming_it(tmp_path, capsys):
    out = tmp_path / "busy"
    out.mkdir()
    code = (
        "import sys, time\nfrom regkit._io import FolderLock\n"
        "lock = FolderLock(sys.argv[1]).acquire()\nprint('locked', flush=True)\ntime.sleep(120)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        status, err = _exit(lambda: _compare(out), capsys)
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    assert status == 2
    assert "in use by another live process" in err and str(out) in err
    assert "usage:" not in err  # not about the flags: one line, no usage
    assert not (out / "baseline").exists()  # nothing trained, nothing written


def test_an_unwritable_report_is_one_line_and_exit_1(tmp_path, capsys, monkeypatch):
    from regkit.experiments.report.results import Report

    def full_disk(self, directory, *, plots=True):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Report, "save", full_disk)
    assert _compare(tmp_path / "full") == 1
    err = capsys.readouterr().err.strip().splitlines()
    where = tmp_path / "full"
    assert err == [
        f"regkit: cannot write the report in {where}: [Errno 28] No space left on device"
    ]


def test_a_folder_of_other_files_exits_2_and_keeps_them(tmp_path, capsys):
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "report.md").write_text("MY THESIS")
    (folder / "old" / "seed1").mkdir(parents=True)
    (folder / "old" / "seed1" / "log.csv").write_text("x")
    for extra in ((), ("--restart",)):
        code, err = _exit(lambda extra=extra: _compare(folder, *extra), capsys)
        assert code == 2 and "Traceback" not in err
        assert "argument --out" in err and "an empty folder or a regkit study folder" in err
    assert (folder / "report.md").read_text() == "MY THESIS"
    assert sorted(p.name for p in folder.rglob("*")) == ["log.csv", "old", "report.md", "seed1"]
