"""Nothing of the user's is ever deleted (issue 22), from the user's side: a restart over a
study folder that is not exactly what regkit left there checks everything first and refuses
before deleting anything; temporary files of a killed writer are cleaned on the next start,
and only regkit's own temporary names. No training: the folders are written by hand."""

from __future__ import annotations

import json
import os

import pytest

from regkit.experiments import compare
from regkit.experiments.run.ledger import RESULT_FILE, SETTINGS_FILE

TINY = {"filters": (4, 8), "dense_units": (8,)}
QUICK = {"epochs": 1, "batch_size": 8, "limit": 16, "verbose": 0, "model_kwargs": TINY}


@pytest.fixture
def no_training(monkeypatch):
    from regkit.experiments.run import runner

    def refuse(*args, **kwargs):
        raise AssertionError("a run was trained")

    monkeypatch.setattr(runner, "run_one", refuse)


def _finished_run(folder, name="baseline", seed=0):
    """A run folder as a finished run leaves it (settings, result, log, checkpoint)."""
    run = folder / name / f"seed{seed}"
    run.mkdir(parents=True)
    (run / SETTINGS_FILE).write_text(json.dumps({"variant": name, "seed": seed}))
    (run / RESULT_FILE).write_text("{}")
    (run / "log.csv").write_text("epoch,loss\n0,1.0\n")
    (run / "best.weights.h5").write_bytes(b"weights")
    return run


def _tree(folder):
    return sorted(
        (str(p.relative_to(folder)), p.is_symlink(), p.is_file() and p.read_bytes())
        for p in folder.rglob("*")
    )


def _link_to_result(run, outside):
    (run / RESULT_FILE).unlink()
    (run / RESULT_FILE).symlink_to(outside / "precious.json")


def _folder_for_checkpoint(run, outside):
    (run / "best.weights.h5").unlink()
    (run / "best.weights.h5").mkdir()
    (run / "best.weights.h5" / "mine.txt").write_text("mine")


def _foreign_file_in_backup(run, outside):
    (run / "backup").mkdir()
    (run / "backup" / "thesis.tex").write_text("mine")


def _link_in_backup(run, outside):
    (run / "backup").mkdir()
    (run / "backup" / "training_metadata.json").symlink_to(outside / "precious.json")


def _backup_is_a_link(run, outside):
    (run / "backup").symlink_to(outside, target_is_directory=True)


def _seed_folder_is_a_link(run, outside):
    (run.parent / "seed1").symlink_to(outside, target_is_directory=True)


def _report_is_a_link(run, outside):
    (run.parent.parent / "report.md").symlink_to(outside / "precious.json")


@pytest.mark.parametrize(
    "plant",
    [
        _link_to_result,
        _folder_for_checkpoint,
        _foreign_file_in_backup,
        _link_in_backup,
        _backup_is_a_link,
        _seed_folder_is_a_link,
        _report_is_a_link,
    ],
)
def test_restart_checks_everything_before_deleting_anything(tmp_path, no_training, plant):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.json").write_text("the user's")
    study = tmp_path / "study"
    _finished_run(study, "all")  # a second, untouched run: must survive the refusal too
    run = _finished_run(study)
    (study / ".regkit.lock").write_text("")
    plant(run, outside)
    before, outside_before = _tree(study), _tree(outside)
    refused = r"argument `out_dir`.*(nothing was deleted|report.md is a symlink)"
    with pytest.raises(ValueError, match=refused):
        compare(["baseline", "all"], out_dir=study, restart=True, seeds=(0, 1), **QUICK)
    assert _tree(study) == before
    assert _tree(outside) == outside_before


def test_a_killed_writers_temporary_files_are_cleaned_on_the_next_start(tmp_path, no_training):
    study = tmp_path / "study"
    record = {**QUICK, "on_error": "record"}  # the refused training is a failed run
    compare(["baseline"], out_dir=study, **record)  # a study folder regkit made
    run = study / "baseline" / "seed0"
    outside = tmp_path / "outside.txt"
    outside.write_text("the user's")
    regkit_temps = [
        study / ".report.json.4242.tmp",
        run / ".result.json.4242.tmp",
        run / ".settings.json.77.tmp",
    ]
    for temp in regkit_temps:
        temp.write_text("half")
    users = [study / ".notes.tmp", run / ".mine.1.tmp", run / "draft.tmp"]
    for path in users:
        path.write_text("mine")
    link = study / ".report.md.5.tmp"  # a link named as a temporary: not regkit's
    link.symlink_to(outside)
    compare(["baseline"], out_dir=study, **record)
    assert not any(t.exists() for t in regkit_temps)
    assert all(p.read_text() == "mine" for p in users)
    assert link.is_symlink() and outside.read_text() == "the user's"


def test_a_restart_keeps_users_files_and_removes_regkit_temps(tmp_path, no_training):
    study = tmp_path / "study"
    run = _finished_run(study)
    (run / "notes.txt").write_text("mine")
    (run / ".result.json.99.tmp").write_text("half")
    (run / "backup").mkdir()
    (run / "backup" / "training_metadata.json").write_text("{}")
    from regkit.experiments.run.ledger import Study
    from regkit.experiments.run.plan import plan_comparison

    plan = plan_comparison(["baseline"], out_dir=study, restart=True, **QUICK)
    with Study(plan, restart=True) as opened:
        assert [s.previous for s in opened.slots()] == [None]
    assert sorted(os.listdir(run)) == ["notes.txt"]
