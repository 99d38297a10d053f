"""Faults: SIGKILL at random points, a full or unwritable disk, and a diverging variant.

- Kills: tests/system/scripts/fault_train.py trains a tiny `build_cnn` under `standard_callbacks`
  and SIGKILLs itself at a point chosen here by a seeded RNG: after a random batch
  (mid-epoch), while the best checkpoint, the backup's weights or the backup's metadata
  are being written (the file cut at a random fraction), or at an epoch end between the
  CSV row and the backup; every one of these points is survived. After every kill the
  best checkpoint on disk must load; the run is then restarted until it finishes, and it
  must have run exactly the epochs of an uninterrupted run (early stopping included),
  each logged once, resuming each time at the epoch it was killed in (or the next one
  when that epoch's backup was already complete).
- Disk: `compare` with an out_dir that cannot be created, or with no free space, raises a
  clear error before any training step.
- NaN: a variant with an absurd learning rate is stopped by TerminateOnNaN and reported
  as diverged, while the other variant finishes.

The default tier survives 2 kills; the slow tier at least 16 more, spread over every
robust kill point.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

SCRIPT = Path(__file__).parent / "scripts" / "fault_train.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("fault_train", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fault_train = _load_script()  # its `train` is the in-process reference run

# Under `pytest -n 2 --dist loadgroup`, the tests that start TensorFlow children (and train
# beside them) share one xdist worker, so they never run at once and oversubscribe 2 cores.
pytestmark = [
    pytest.mark.skipif(os.name != "posix", reason="needs POSIX signals"),
    pytest.mark.xdist_group("two_core_children"),
]

#: Kill points the standard callbacks survive: all of the script's points.
ROBUST_POINTS = ("step", "best", "backup_weights", "backup_metadata", "epoch_end")
_ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONHASHSEED="0", CUDA_VISIBLE_DEVICES="")


def _start(out: Path, spec: tuple[str, int, float] | None = None) -> subprocess.Popen:
    args = [sys.executable, str(SCRIPT), str(out)]
    if spec is not None:
        args += [spec[0], str(spec[1]), f"{spec[2]:.3f}"]
    return subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_ENV
    )


def _wait(proc: subprocess.Popen) -> tuple[int, str]:
    _, err = proc.communicate(timeout=300)
    return proc.returncode, err


def _epochs_begun(out: Path) -> list[tuple[int, int]]:
    path = out / "epochs_begun.txt"
    if not path.exists():
        return []
    return [tuple(map(int, line.split())) for line in path.read_text().splitlines()]


def _csv_epochs(out: Path) -> list[int]:
    with open(out / "best_log.csv", newline="") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def _check_best(out: Path) -> int:
    """Loads the best checkpoint if there is one; returns how many files were loaded."""
    path = out / "best.keras"
    if not path.exists():
        return 0
    model = keras.saving.load_model(path)
    x, _ = fault_train.data()
    out_ = model.predict(x[:4], verbose=0)
    assert out_.shape == (4, 4)
    assert np.isfinite(out_).all()
    return 1


class Ledger:
    """What a fault test went through, for docs/reliability.md."""

    def __init__(self) -> None:
        self.kills = 0
        self.by_point: dict[str, int] = {}
        self.checkpoints_loaded = 0
        self.runs_finished = 0

    def __str__(self) -> str:
        points = ", ".join(f"{k} {v}" for k, v in sorted(self.by_point.items()))
        return (
            f"kills survived: {self.kills} ({points}); best checkpoints loaded after a kill: "
            f"{self.checkpoints_loaded}; runs finished: {self.runs_finished}"
        )


def _survive(
    out: Path,
    specs: list[tuple[str, int, float]],
    ledger: Ledger,
    first: subprocess.Popen | None = None,
    finish_in_process: bool = False,
) -> None:
    """Runs `out` under each kill spec in turn, then to the end; checks it all.

    `first`, if given, is the already started process for ``specs[0]``. With
    `finish_in_process`, the last (unkilled) run resumes in this process, as a notebook
    would, instead of in one more child that imports TensorFlow again.
    """
    for i, spec in enumerate(specs):
        before = _epochs_begun(out) if i else []
        code, err = _wait(first if i == 0 and first is not None else _start(out, spec))
        if code == 0:
            break  # the run finished before reaching the kill point
        assert code == -signal.SIGKILL, f"{spec}: exit {code}\n{err[-3000:]}"
        ledger.kills += 1
        ledger.by_point[spec[0]] = ledger.by_point.get(spec[0], 0) + 1
        ledger.checkpoints_loaded += _check_best(out)
        _check_resume_point(before, _epochs_begun(out), spec)
    else:
        before = _epochs_begun(out)
        if finish_in_process:
            keras.backend.clear_session(free_memory=False)
            fault_train.train(out)
        else:
            code, err = _wait(_start(out))
            assert code == 0, err[-3000:]
        _check_resume_point(before, _epochs_begun(out), None)
    ledger.runs_finished += 1

    # The same epochs as an uninterrupted run, each logged once; nothing left behind.
    assert _csv_epochs(out) == list(range(fault_train.PATIENCE))
    assert not (out / "best_backup").exists()
    assert not list(out.rglob(".partial-*"))
    assert _check_best(out) == 1


def _check_resume_point(before, after, spec) -> None:
    """The process just run resumed where the previous one died (never earlier)."""
    new = after[len(before) :]
    assert new, f"{spec}: the process began no epoch"
    if before:
        last = before[-1][1]
        first = new[0][1]
        assert first in (last, last + 1), f"{spec}: killed in epoch {last}, resumed at {first}"
    epochs = [e for _, e in new]
    assert epochs == list(range(epochs[0], epochs[0] + len(epochs)))


def _random_specs(rng: random.Random) -> list[tuple[str, int, float]]:
    """One kill at each robust point, in random order, at random occurrences/fractions."""
    points = list(ROBUST_POINTS)
    rng.shuffle(points)
    steps = fault_train.STEPS_PER_EPOCH
    return [
        (point, rng.randint(1, 2 * steps) if point == "step" else rng.randint(1, 2), rng.random())
        for point in points
    ]


@pytest.mark.slow  # test_resume.py's in-process SIGKILL keeps a kill in the default tier
def test_killed_mid_epoch_and_mid_checkpoint_resumes_to_the_same_epochs(tmp_path):
    rng = random.Random(6)
    steps = fault_train.STEPS_PER_EPOCH
    specs = [
        ("step", rng.randint(steps + 1, 3 * steps - 1), 0.0),  # mid epoch 1 or 2
        ("best", 1, round(rng.random(), 3)),  # inside the next best-checkpoint write
    ]
    run = tmp_path / "run"
    first = _start(run, specs[0])
    # Meanwhile, the uninterrupted reference in this process: early stopping ends it
    # after PATIENCE epochs, fewer than MAX_EPOCHS, so a lost counter would show.
    reference = fault_train.train(tmp_path / "reference")
    assert reference["history_epochs"] == list(range(fault_train.PATIENCE))
    assert fault_train.PATIENCE < fault_train.MAX_EPOCHS
    assert _csv_epochs(tmp_path / "reference") == list(range(fault_train.PATIENCE))

    ledger = Ledger()
    _survive(run, specs, ledger, first=first, finish_in_process=True)
    print(f"\n[faults default] {ledger}")
    assert ledger.kills == 2


@pytest.mark.slow
def test_many_random_kills_resume_to_the_same_epochs(tmp_path):
    rng = random.Random(2024)
    ledger = Ledger()
    run = 0
    while ledger.kills < 16:
        run += 1
        _survive(tmp_path / f"run{run}", _random_specs(rng), ledger)
    print(f"\n[faults slow] {ledger}")
    assert set(ledger.by_point) == set(ROBUST_POINTS)


# Kills inside the backup's own writes. Keras' BackupAndRestore rewrote its files in place,
# so a kill there left an empty training_metadata.json or a truncated first weights file
# and every later fit failed; its callback-state file could also fall one epoch behind the
# weights. TrainingStateBackup now commits weights, epoch and callback state in one atomic
# record. Each case is checked twice: the state a kill leaves, rebuilt in-process (default
# tier, cheap), and the real SIGKILL (slow tier).


def test_empty_backup_metadata_left_by_a_kill_does_not_block_resuming(tmp_path):
    backup = tmp_path / "best_backup"
    backup.mkdir()
    (backup / "training_metadata.json").write_text("")  # a kill mid-write (pre-fix layout)
    with pytest.warns(UserWarning, match="No usable backup"):
        result = fault_train.train(tmp_path)
    assert result["history_epochs"] == list(range(fault_train.PATIENCE))


def test_truncated_first_backup_left_by_a_kill_does_not_block_resuming(tmp_path):
    backup = tmp_path / "best_backup"
    backup.mkdir()
    x, _ = fault_train.data()
    model = keras.Sequential([keras.Input(x.shape[1:]), keras.layers.Flatten()])
    model.add(keras.layers.Dense(4))
    model.save_weights(backup / "latest.weights.h5")
    fault_train._cut(backup / "latest.weights.h5", 0.5)  # the kill came mid-write
    with pytest.warns(UserWarning, match="No usable backup"):
        result = fault_train.train(tmp_path)
    assert result["history_epochs"] == list(range(fault_train.PATIENCE))


@pytest.mark.slow
def test_killed_while_writing_backup_metadata_resumes(tmp_path):
    _survive(tmp_path, [("step", 3, 0.0), ("backup_metadata", 1, 0.0)], Ledger())


@pytest.mark.slow
def test_killed_while_writing_the_first_backup_resumes(tmp_path):
    _survive(tmp_path, [("backup_weights", 1, 0.5)], Ledger())


@pytest.mark.slow
def test_killed_while_writing_the_backup_record_keeps_early_stopping_state(tmp_path):
    _survive(tmp_path, [("step", 3, 0.0), ("backup_metadata", 2, 0.5)], Ledger())


# ---------------------------------------------------------------------------------------
# Disk faults: refused before any training step.


@pytest.fixture
def no_training(monkeypatch):
    """Fails the test if anything starts training."""

    def refuse(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(keras.Model, "fit", refuse)


_SMALL = {"filters": (4,), "dense_units": (8,)}


@pytest.mark.parametrize("where", ["under_a_file", "proc"])
def test_unwritable_out_dir_is_refused_before_training(tmp_path, no_training, where):
    from regkit import compare

    if where == "under_a_file":
        (tmp_path / "file.txt").write_text("not a directory")
        out_dir = tmp_path / "file.txt" / "sub"
    else:
        if not sys.platform.startswith("linux"):
            pytest.skip("/proc is read-only only on Linux")
        out_dir = Path("/proc/regkit-cannot-write-here")
    with pytest.raises(ValueError, match="argument `out_dir`") as err:
        compare(["baseline"], epochs=1, out_dir=out_dir, verbose=0, model_kwargs=_SMALL)
    assert str(out_dir) in str(err.value)


def test_out_dir_that_is_a_file_is_refused_before_training(tmp_path, no_training):
    from regkit import compare

    target = tmp_path / "report"
    target.write_text("a file")
    with pytest.raises(ValueError, match="argument `out_dir`"):
        compare(["baseline"], epochs=1, out_dir=target, verbose=0, model_kwargs=_SMALL)
    assert target.read_text() == "a file"


def test_full_disk_is_refused_before_training(tmp_path, monkeypatch, no_training):
    import shutil

    from regkit import compare

    real = shutil.disk_usage

    def full(path):
        usage = real(path)
        return type(usage)(usage.total, usage.total, 4096)

    monkeypatch.setattr(shutil, "disk_usage", full)
    with pytest.raises(OSError, match="Not enough free space") as err:
        compare(["baseline"], epochs=1, out_dir=tmp_path / "out", verbose=0, model_kwargs=_SMALL)
    assert str(tmp_path / "out") in str(err.value)  # says where, and how much is needed
    assert "MiB needed" in str(err.value)


# ---------------------------------------------------------------------------------------
# NaN


def test_absurd_learning_rate_is_reported_as_diverged_and_others_finish():
    from regkit import compare
    from regkit.experiments import Variant

    report = compare(
        {"ok": "baseline", "boom": Variant("baseline", learning_rate=1e12)},
        dataset="digits",
        epochs=2,
        batch_size=16,
        verbose=0,
        model_kwargs=_SMALL,
        limit=64,
        plots=False,
    )
    summary = report.summary()
    assert summary["ok"]["status"] == "ok"
    assert summary["boom"]["status"].startswith("diverged")
    rows = {
        line.split("|")[1].strip(): line
        for line in report.to_markdown().splitlines()
        if line.startswith("|")
    }
    assert "diverged" in rows["boom"]
    assert "diverged" not in rows["ok"]
    (boom,) = report.runs_for("boom")
    assert boom.diverged_epoch == 1  # stopped in its first epoch, not after both
    (ok,) = report.runs_for("ok")
    assert len(ok.history["loss"]) == 2 and all(np.isfinite(ok.history["loss"]))
