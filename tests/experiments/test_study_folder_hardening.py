"""Issue 35, the study runner's side, each reproducer from the user's side: a study folder
touches only what regkit made (its manifest), no reader hangs on a FIFO or reads /dev/zero,
every wrong value is refused naming it before any training, and a damaged run file is
never reused into a crash. No test here trains: the runner is replaced by a function that
fails the run (recorded) or the test."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from regkit.experiments import Report, compare
from regkit.experiments.run.manifest import MANIFEST_NAME

TINY = {"filters": (4, 8), "dense_units": (8,)}
QUICK = {"epochs": 1, "batch_size": 8, "limit": 16, "verbose": 0, "model_kwargs": TINY}
RECORD = {**QUICK, "on_error": "record", "plots": False}


@pytest.fixture
def no_training(monkeypatch):
    """Every run fails at once (recorded as failed with on_error="record")."""
    from regkit.experiments.run import runner

    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise RuntimeError("no training in this test")

    monkeypatch.setattr(runner, "run_one", refuse)
    return calls


@pytest.fixture
def fake_training(monkeypatch):
    """Every run "trains" at once: a log and a checkpoint in its folder, a tiny result."""
    from regkit.experiments import RunResult
    from regkit.experiments.run import runner

    def fake(plan, name, variant, seed, run_dir):
        (run_dir / "log.csv").write_text("epoch,loss\n0,1.0\n")
        (run_dir / "best.weights.h5").write_bytes(b"weights")
        history = {"loss": [1.0], "val_loss": [1.0], "accuracy": [0.5], "val_accuracy": [0.5]}
        return RunResult.from_history(name, seed, history, test_accuracy=0.5)

    monkeypatch.setattr(runner, "run_one", fake)


def _tree(folder):
    return sorted(
        (str(p.relative_to(folder)), p.is_symlink(), p.is_file() and p.read_bytes())
        for p in folder.rglob("*")
    )


def _old_tree(folder):
    """The issue's user files under regkit's names, in a folder regkit did not make."""
    (folder / "old" / "seed1" / "tensorboard").mkdir(parents=True)
    (folder / "old" / "seed1" / "log.csv").write_text("x")
    (folder / "old" / "seed1" / "best.weights.h5").write_text("y")
    (folder / "old" / "seed1" / "tensorboard" / "events.out.tfevents.1").write_text("z")


# ---------------------------------------------------------------------------- item 1
@pytest.mark.timeout(120, func_only=True)
def test_restart_and_plain_runs_leave_foreign_files_byte_for_byte(tmp_path, no_training):
    plain = tmp_path / "plain"
    plain.mkdir()
    _old_tree(plain)
    before = _tree(plain)
    with pytest.raises(ValueError, match=r"argument `out_dir`.*an empty folder or a regkit"):
        compare(["baseline"], out_dir=plain, restart=True, **RECORD)
    assert _tree(plain) == before  # not a study folder: nothing written, nothing deleted

    study = tmp_path / "study"
    compare(["baseline"], out_dir=study, **RECORD)  # a study folder regkit made
    assert (study / MANIFEST_NAME).is_file()
    _old_tree(study)
    (study / "notes.txt").write_text("mine")
    foreign = [(p, s, b) for p, s, b in _tree(study) if p.startswith(("old", "notes"))]
    compare(["baseline"], out_dir=study, restart=True, **RECORD)
    compare(["baseline"], out_dir=study, **RECORD)
    assert [(p, s, b) for p, s, b in _tree(study) if p.startswith(("old", "notes"))] == foreign


@pytest.mark.timeout(120, func_only=True)
def test_a_changed_file_regkit_wrote_refuses_the_restart(tmp_path, fake_training):
    study = tmp_path / "study"
    compare(["baseline"], out_dir=study, **RECORD)
    assert compare(["baseline"], out_dir=study, **RECORD).runs[0].origin == "reused"
    log = study / "baseline" / "seed0" / "log.csv"
    log.write_text("the user's notes now")
    before = _tree(study)
    with pytest.raises(ValueError, match=r"nothing was deleted.*log.csv has changed"):
        compare(["baseline"], out_dir=study, restart=True, **RECORD)
    assert _tree(study) == before


@pytest.mark.timeout(120, func_only=True)
def test_an_older_study_folder_is_adopted_by_its_run_settings(tmp_path, no_training):
    from regkit.experiments.run.ledger import Study
    from regkit.experiments.run.plan import plan_comparison

    study = tmp_path / "study"
    plan = plan_comparison(["baseline"], out_dir=study, **RECORD)
    with Study(plan) as opened:  # the run settings exactly as this regkit writes them
        settings = opened.slots()[0].settings
    (study / MANIFEST_NAME).unlink()  # as regkit 0.3 left it: no manifest
    run = study / "baseline" / "seed0"
    run.mkdir(parents=True)
    (run / "settings.json").write_text(json.dumps(settings))
    (run / "log.csv").write_text("epoch,loss\n0,1.0\n")
    _old_tree(study)
    compare(["baseline"], out_dir=study, restart=True, **RECORD)
    assert not (run / "log.csv").exists()  # the adopted run's files were regkit's
    assert (study / "old" / "seed1" / "log.csv").read_text() == "x"  # never adopted


# ---------------------------------------------------------------------------- item 2
def test_a_folder_of_other_files_is_refused_and_empty_text_is_no_folder(tmp_path, no_training):
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "report.md").write_text("MY THESIS")
    with pytest.raises(ValueError, match=r"argument `out_dir`.*report.md"):
        compare(["baseline"], out_dir=folder, **RECORD)
    assert [p.name for p in folder.iterdir()] == ["report.md"]
    assert (folder / "report.md").read_text() == "MY THESIS"
    with pytest.raises(ValueError, match=r"argument `out_dir`.*empty text"):
        compare(["baseline"], out_dir="", **RECORD)
    with pytest.raises(TypeError, match=r"argument `out_dir`.*int"):
        compare(["baseline"], out_dir=3, **RECORD)
    assert not no_training


# ---------------------------------------------------------------------------- item 4
@pytest.mark.timeout(60, func_only=True)
def test_no_reader_hangs_on_a_fifo_or_reads_a_device(tmp_path, no_training):
    from regkit.experiments.study.specs import load_study

    study = tmp_path / "study"
    compare(["baseline"], out_dir=study, **RECORD)
    settings = study / "baseline" / "seed0" / "settings.json"
    settings.unlink()
    os.mkfifo(settings)
    with pytest.raises(ValueError, match=r"settings.json is a FIFO, where regkit writes a file"):
        compare(["baseline"], out_dir=study, **RECORD)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match=r"argument `path`.*a FIFO"):
        Report.from_json(fifo)
    for path in (fifo, "/dev/zero"):
        with pytest.raises(ValueError, match=r"argument `config`.*(FIFO|character device)"):
            load_study(path)


# ---------------------------------------------------------------------------- item 6
def test_fields_that_exclude_each_other_are_refused_at_planning(tmp_path, no_training):
    with pytest.raises(ValueError, match=r"argument `variants`: variant 'dp'.*use one"):
        compare("sam:sam=0.05,dp:ema=0.8+swa=0.4", out_dir=tmp_path / "s", **RECORD)
    assert not no_training and not (tmp_path / "s").exists()


@pytest.mark.timeout(120, func_only=True)
def test_other_settings_are_refused_before_the_data_loads_one_line_each(
    tmp_path, no_training, monkeypatch
):
    from regkit.experiments.run import plan

    study = tmp_path / "study"
    compare(["baseline", "l2"], out_dir=study, seeds=(0, 1), **RECORD)

    def no_loading(*args, **kwargs):
        raise AssertionError("the data set was loaded")

    monkeypatch.setattr(plan, "_load_splits", no_loading)
    changed = {**RECORD, "epochs": 3, "optimizer": "sgd"}
    with pytest.raises(ValueError, match="argument `out_dir`") as info:
        compare(["baseline", "l2"], out_dir=study, seeds=(0, 1), **changed)
    lines = str(info.value).splitlines()
    assert "earlier runs match" not in str(info.value)
    assert [line for line in lines if line.startswith("  ")] == [
        "  epochs 1 -> 3: 4 runs (baseline seed 0, l2 seed 0, baseline seed 1 and 1 more)",
        "  optimizer 'adam' -> 'sgd': 4 runs (baseline seed 0, l2 seed 0, baseline seed 1 "
        "and 1 more)",
    ]


# ---------------------------------------------------------------------------- item 7
def test_damaged_run_values_are_refused_by_name():
    from regkit.experiments import RunResult

    good = RunResult.from_history(
        "a", 0, {"loss": [1.0], "val_loss": [1.0], "accuracy": [0.5], "val_accuracy": [0.5]}
    ).to_dict()
    assert RunResult.from_dict(good).val_accuracy == 0.5
    for field, value in [
        ("test_accuracy", "0.9"),
        ("test_accuracy", 10**400),
        ("test_accuracy", 3.0),
        ("seed", True),
        ("params", -1),
        ("history", {"loss": ["x"]}),
        ("warnings", "one"),
    ]:
        with pytest.raises((TypeError, ValueError), match=f"`{field}`"):
            RunResult.from_dict({**good, field: value})


@pytest.mark.timeout(120, func_only=True)
def test_a_damaged_result_is_trained_again_never_reused_into_a_crash(tmp_path, no_training):
    study = tmp_path / "study"
    compare(["baseline"], out_dir=study, **RECORD)
    result = study / "baseline" / "seed0" / "result.json"
    run = json.loads(json.dumps({"variant": "baseline", "seed": 0, "test_accuracy": "0.9"}))
    result.write_text(json.dumps(run))
    calls = len(no_training)
    report = compare(["baseline"], out_dir=study, **RECORD)
    assert len(no_training) == calls + 1 and report.runs[0].origin == "trained"
    str(report)  # the report renders


def test_a_report_whose_figures_overflow_is_refused(tmp_path):
    from regkit.experiments import RunResult, Variant

    run = RunResult.from_history(
        "a", 0, {"loss": [1.0], "val_loss": [1.0], "accuracy": [0.5], "val_accuracy": [0.5]}
    )
    path = Report(variants={"a": Variant()}, runs=[run]).to_json(tmp_path / "report.json")
    text = path.read_text().replace('"params": null', '"params": 1' + "0" * 400, 1)
    assert text != path.read_text()
    path.write_text(text)
    with pytest.raises(ValueError, match=r"argument `path`.*integer"):
        Report.from_json(path)


# ---------------------------------------------------------------------------- items 8, 9
def test_a_shut_down_executor_is_refused_before_anything_is_written(tmp_path, no_training):
    executor = ThreadPoolExecutor(1)
    executor.shutdown()
    with pytest.raises(ValueError, match=r"argument `executor`.*shut down"):
        compare(["baseline"], out_dir=tmp_path / "s", executor=executor, **RECORD)
    assert not (tmp_path / "s").exists()


@pytest.mark.timeout(120, func_only=True)
def test_a_link_in_a_run_folder_is_refused_without_advising_restart(tmp_path, no_training):
    study = tmp_path / "study"
    compare(["baseline"], out_dir=study, **RECORD)
    error = study / "baseline" / "seed0" / "error.txt"
    error.unlink()
    error.symlink_to(tmp_path / "elsewhere.txt")
    with pytest.raises(ValueError, match=r"error\.txt is a symlink") as info:
        compare(["baseline"], out_dir=study, **RECORD)
    assert "rerun with --restart" not in str(info.value).lower()


def test_a_failed_backup_leaves_no_partial_weights(tmp_path):
    import keras

    from regkit.callbacks.state import TrainingStateBackup

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    backup = tmp_path / "backup"
    backup.mkdir()
    stale = backup / ".partial-epoch00001_batch000003.weights.h5"
    stale.write_text("half")
    mine = backup / ".partial-notes.txt"
    mine.write_text("mine")
    callback = TrainingStateBackup(backup)
    callback.set_model(model)
    callback.on_train_begin()
    assert not stale.exists() and mine.read_text() == "mine"

    def fail(*args, **kwargs):
        (backup / ".partial-epoch00000_batch000000.weights.h5").write_text("half")
        raise OSError(28, "No space left on device")

    model.save_weights = fail
    callback._current_epoch, callback._last_batch_seen = 0, 0
    with pytest.raises(OSError):
        callback._save_model()
    assert not list(backup.glob(".partial-epoch*"))
