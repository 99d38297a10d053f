"""Tests for the study folder as a ledger (regkit.experiments.run.ledger), from the user's side:
reruns reuse, changed settings are refused, --restart, locks, names, symlinks, write errors,
and reading a study back (Report.from_json, Report.load_model)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from regkit.experiments import Report, compare
from regkit.experiments.run.ledger import RESULT_FILE, SETTINGS_FILE

TINY = {"filters": (8, 16), "dense_units": (16,)}
QUICK = {"epochs": 1, "batch_size": 16, "limit": 48, "verbose": 0, "model_kwargs": TINY}


def _no_training(monkeypatch):
    from regkit.experiments.run import runner

    def refuse(*args, **kwargs):
        raise AssertionError("a run was trained")

    monkeypatch.setattr(runner, "run_one", refuse)


def test_each_run_folder_records_its_settings_and_result(tmp_path):
    compare({"bn": "bn"}, out_dir=tmp_path, **QUICK)
    settings = json.loads((tmp_path / "bn" / "seed0" / SETTINGS_FILE).read_text())
    assert settings["regularization"]["batch_norm"] is True
    assert settings["bn_momentum"] == pytest.approx(0.9)  # the auto rule's choice
    assert settings["epochs"] == 1 and settings["batch_size"] == 16 and settings["limit"] == 48
    assert settings["optimizer"] == "adam" and settings["learning_rate"] == pytest.approx(1e-3)
    assert settings["model"] == "cnn" and settings["model_kwargs"] == {
        "filters": [8, 16],
        "dense_units": [16],
    }
    assert settings["dataset"] == "digits" and settings["seed"] == 0
    assert settings["split_sizes"] == {"train": 48, "validation": 48, "test": 48}
    result = json.loads((tmp_path / "bn" / "seed0" / RESULT_FILE).read_text())
    assert result["status"] == "ok" and result["origin"] == "trained"


def test_a_rerun_reuses_finished_runs_without_training(tmp_path, monkeypatch):
    first = compare(["baseline", "l2"], out_dir=tmp_path, **QUICK)
    _no_training(monkeypatch)
    again = compare(["baseline", "l2"], out_dir=tmp_path, **QUICK)
    assert [r.origin for r in again.runs] == ["reused", "reused"]
    assert [r.test_accuracy for r in again.runs] == [r.test_accuracy for r in first.runs]
    assert again.runs[0].history == first.runs[0].history
    data = json.loads((tmp_path / "report.json").read_text())
    assert [run["origin"] for run in data["variants"]["l2"]["runs"]] == ["reused"]
    assert data["variants"]["l2"]["runs"][0]["warnings"] == again.runs[1].warnings
    assert "Reused from the study folder" in (tmp_path / "report.md").read_text()


def test_changed_settings_are_refused_before_any_training(tmp_path, monkeypatch):
    compare(["baseline"], out_dir=tmp_path, **QUICK)
    _no_training(monkeypatch)
    with pytest.raises(ValueError, match="argument `out_dir`") as info:
        compare(["baseline"], out_dir=tmp_path, **{**QUICK, "epochs": 2, "optimizer": "sgd"})
    message = str(info.value)
    assert "baseline seed 0" in message
    assert "epochs 1 -> 2" in message and "optimizer 'adam' -> 'sgd'" in message
    assert "restart=True" in message
    # nothing was touched: the first run is still there, finished
    assert json.loads((tmp_path / "baseline" / "seed0" / SETTINGS_FILE).read_text())["epochs"] == 1


def test_restart_discards_only_what_regkit_wrote(tmp_path):
    compare(["baseline"], out_dir=tmp_path, **QUICK)
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "baseline" / "seed0" / "mine.txt").write_text("mine too")
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "seed0").mkdir()
    (tmp_path / "old" / "seed0" / "data.csv").write_text("not a run of regkit's")
    report = compare(["baseline"], out_dir=tmp_path, restart=True, **{**QUICK, "epochs": 2})
    assert report.runs[0].origin == "trained" and report.runs[0].epochs_run == 2
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert (tmp_path / "baseline" / "seed0" / "mine.txt").read_text() == "mine too"
    assert (tmp_path / "old" / "seed0" / "data.csv").exists()


_HOLD = """
import sys, time
from regkit._io import FolderLock
lock = FolderLock(sys.argv[1]).acquire()
print("locked", flush=True)
time.sleep(120)
"""


def test_a_folder_in_use_is_refused_and_a_killed_holder_never_blocks(tmp_path, monkeypatch):
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        _no_training(monkeypatch)
        start = time.perf_counter()
        with pytest.raises(ValueError, match=r"argument `out_dir`.*in use by another live process"):
            compare(["baseline"], out_dir=tmp_path, **QUICK)
        assert time.perf_counter() - start < 30  # at once, no waiting for the lock
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    monkeypatch.undo()
    report = compare(["baseline"], out_dir=tmp_path, **QUICK)  # the dead holder's lock is gone
    assert report.runs[0].status == "ok"


@pytest.mark.parametrize(
    "name", [".", "..", "a/b", "../escape", "a\\b", "report.json", "REPORT.md", ".regkit.lock"]
)
def test_variant_names_must_be_safe_folder_names(tmp_path, name):
    with pytest.raises(ValueError, match=r"argument `variants`.*Received: variants="):
        compare({name: "baseline"}, out_dir=tmp_path / "study", **QUICK)
    assert not (tmp_path / "escape").exists()
    assert not (tmp_path / "study" / "report.json").exists()


def test_run_folders_through_symlinks_are_refused(tmp_path, monkeypatch):
    outside = tmp_path / "outside"
    outside.mkdir()
    study = tmp_path / "study"
    compare(["l2"], out_dir=study, **QUICK)  # a study folder regkit made
    (study / "baseline").symlink_to(outside, target_is_directory=True)
    _no_training(monkeypatch)
    with pytest.raises(ValueError, match=r"argument `out_dir`.*symlink"):
        compare(["baseline"], out_dir=study, **QUICK)
    assert list(outside.iterdir()) == []
    (study / "baseline").unlink()
    (study / "l2" / "seed0" / "log.csv").unlink()
    (study / "l2" / "seed0" / "log.csv").symlink_to(outside / "log.csv")
    with pytest.raises(ValueError, match=r"argument `out_dir`.*log.csv is a symlink"):
        compare(["l2"], out_dir=study, **QUICK)
    assert list(outside.iterdir()) == []
    (study / "baseline" / "seed0").mkdir(parents=True)  # a folder regkit did not make
    (study / "baseline" / "seed0" / "log.csv").write_text("mine")
    with pytest.raises(ValueError, match=r"argument `out_dir`.*holds files regkit did not"):
        compare(["baseline"], out_dir=study, **QUICK)
    assert (study / "baseline" / "seed0" / "log.csv").read_text() == "mine"


def test_a_write_error_fails_that_run_and_the_study_goes_on(tmp_path, monkeypatch):
    from regkit.experiments.run import runner

    real = runner.write_result

    def full_disk(directory, result):
        if result.variant == "l2":
            (directory / ".result.json.123.tmp").write_text("half")  # a partial write
            raise OSError(28, "No space left on device")
        real(directory, result)

    monkeypatch.setattr(runner, "write_result", full_disk)
    report = compare(["baseline", "l2"], out_dir=tmp_path, on_error="record", **QUICK)
    assert report.status("baseline") == "ok"
    assert report.status("l2") == "failed"
    assert "No space left on device" in report.runs_for("l2")[0].error
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["complete"] is True and saved["variants"]["baseline"]["status"] == "ok"
    assert not list((tmp_path / "l2" / "seed0").glob(".*.tmp"))  # partial files removed
    assert "No space left" in (tmp_path / "l2" / "seed0" / "error.txt").read_text()
    monkeypatch.undo()
    again = compare(["baseline", "l2"], out_dir=tmp_path, on_error="record", **QUICK)
    assert [r.origin for r in again.runs] == ["reused", "trained"]  # l2 retried, not reused


# ---------------------------------------------------------------------------- reading back
def _tiny_report(tmp_path):
    from regkit.experiments import RunResult, Variant

    run = RunResult.from_history(
        "a", 0, {"loss": [1.0], "val_loss": [1.0], "accuracy": [0.5], "val_accuracy": [0.5]}
    )
    return Report(variants={"a": Variant()}, runs=[run]).to_json(tmp_path / "report.json")


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda text: text[: len(text) // 2], "truncated or not JSON"),
        (lambda text: json.dumps({"name": "someone else's file"}), "not a regkit report"),
        (lambda text: json.dumps([1, 2, 3]), "not a regkit report"),
        (lambda text: text.replace('"regkit_report": 1', '"regkit_report": 99'), "format 99"),
        (lambda text: text.replace('"variants"', '"variantz"'), "damaged"),
    ],
)
def test_from_json_names_the_file_when_it_is_not_a_report(tmp_path, mangle, reason):
    path = _tiny_report(tmp_path)
    path.write_text(mangle(path.read_text()))
    with pytest.raises(ValueError, match="Invalid value for argument `path`") as info:
        Report.from_json(path)
    assert reason in str(info.value) and str(path) in str(info.value)


def test_load_model_gives_the_reported_test_accuracy(tmp_path):
    import keras

    from regkit.data import image_pipeline, load_dataset

    report = compare(["bn"], out_dir=tmp_path, seeds=(0, 1), **QUICK)
    split = load_dataset("digits").take(48).test
    for source in (report, Report.from_json(tmp_path / "report.json")):
        model = source.load_model("bn", seed=1)
        # the model rescales the data set's uint8 images itself: the pipeline feeds 0-255
        test = image_pipeline(split, batch_size=16, training=False, model=model)
        bn = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
        assert bn and bn[0].momentum == pytest.approx(0.9)  # the auto momentum the run used
        accuracy = model.evaluate(test, return_dict=True, verbose=0)["accuracy"]
        assert accuracy == pytest.approx(report.runs_for("bn")[1].test_accuracy, abs=1e-6)
    with pytest.raises(ValueError, match="argument `seed`"):
        report.load_model("bn", seed=5)


def test_load_model_needs_a_study_folder():
    report = compare(["baseline"], **QUICK)
    with pytest.raises(ValueError, match="no study folder"):
        report.load_model("baseline")
