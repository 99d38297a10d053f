"""Training run for tests/system/test_faults.py that can SIGKILL itself at a chosen point.

Usage: python fault_train.py OUT_DIR [POINT OCCURRENCE FRACTION]

Trains a tiny `build_cnn` on 8x8 arrays under `regkit.callbacks.standard_callbacks`
(checkpoint OUT_DIR/best.keras). With a kill spec the process sends itself SIGKILL - no
Python cleanup, like an OOM kill or a preempted machine - at the OCCURRENCE-th (1-based,
counted in this process) time it reaches POINT:

- ``step``: after a training batch (mid-epoch).
- ``best``: while the best checkpoint is written: the real save goes to its temporary
  file, which is then cut to FRACTION of its length, and the process dies before the
  checkpoint callback can move it into place.
- ``backup_weights``: while the backup's weights file is written (cut to FRACTION).
- ``backup_metadata``: while the backup record (``training_metadata.json``: epoch, weights
  file, early-stopping / LR-plateau state) is written (its temporary file cut to FRACTION).
- ``epoch_end``: at the end of an epoch after the CSV row is written, before the backup.

Every epoch start is appended to OUT_DIR/epochs_begun.txt as ``<pid> <epoch>``. On a
normal finish the process prints one JSON line: the epochs it began and ran.

Early stopping is made independent of the loss values (a ``baseline`` and a ``min_delta``
no epoch can beat),
so an uninterrupted run always stops after exactly PATIENCE epochs; a resumed run stops
at the same epoch only if the early-stopping counter survived the kills.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import keras
import numpy as np

from regkit import build_cnn, compile_model
from regkit import callbacks as rcallbacks
from regkit._io import temp_path
from regkit.callbacks import state as callback_state

MAX_EPOCHS = 10
PATIENCE = 6  # an uninterrupted run stops after this many epochs
STEPS_PER_EPOCH = 8
POINTS = ("step", "best", "backup_weights", "backup_metadata", "epoch_end")


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _cut(path: str | os.PathLike[str], fraction: float) -> None:
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(int(size * fraction))


class _Trigger:
    """Counts how often a point is reached and kills the process at the chosen time."""

    def __init__(self, point: str, occurrence: int, fraction: float) -> None:
        self.point, self.occurrence, self.fraction = point, occurrence, fraction
        self.seen = 0

    def reached(self, point: str) -> bool:
        if point != self.point:
            return False
        self.seen += 1
        return self.seen == self.occurrence


def install(trigger: _Trigger) -> keras.callbacks.Callback:
    """Patches the save paths named by the trigger; returns the per-batch killer."""
    model_save = keras.Model.save
    save_weights = keras.Model.save_weights

    def save(self, filepath, *args, **kwargs):
        model_save(self, filepath, *args, **kwargs)
        if trigger.reached("best"):
            _cut(filepath, trigger.fraction)
            _die()

    def weights(self, filepath, *args, **kwargs):
        save_weights(self, filepath, *args, **kwargs)
        in_backup = Path(filepath).parent.name.endswith("_backup")
        if in_backup and trigger.reached("backup_weights"):
            _cut(filepath, trigger.fraction)
            _die()

    keras.Model.save = save
    keras.Model.save_weights = weights

    atomic_write = callback_state.atomic_write_bytes

    def state_write(path, data):
        if Path(path).name == "training_metadata.json" and trigger.reached("backup_metadata"):
            tmp = temp_path(Path(path))
            tmp.write_bytes(data[: int(len(data) * trigger.fraction)])
            _die()
        atomic_write(path, data)

    callback_state.atomic_write_bytes = state_write

    backup_end = rcallbacks.TrainingStateBackup.on_epoch_end

    def on_epoch_end(self, epoch, logs=None):
        if trigger.reached("epoch_end"):
            _die()
        backup_end(self, epoch, logs)

    rcallbacks.TrainingStateBackup.on_epoch_end = on_epoch_end

    class StepKiller(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if trigger.reached("step"):
                _die()

    return StepKiller()


class RecordEpochs(keras.callbacks.Callback):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.begun: list[int] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.begun.append(epoch)
        with open(self.path, "a") as f:
            f.write(f"{os.getpid()} {epoch}\n")


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.random((8 * STEPS_PER_EPOCH, 8, 8, 1), dtype=np.float32)
    y = (x.mean(axis=(1, 2, 3)) > 0.5).astype("int32") + 2 * (x[:, 0, 0, 0] > 0.5)
    return x, y


def train(out: Path, trigger: _Trigger | None = None) -> dict:
    """Trains (or resumes) the run in `out`; returns the epochs begun and run."""
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(0)
    x, y = data()
    model = build_cnn((8, 8, 1), 4, filters=(4,), convs_per_block=1, dense_units=(8,), reg="all")
    compile_model(model, optimizer="sgd", learning_rate=0.05)
    recorder = RecordEpochs(out / "epochs_begun.txt")
    callbacks = [recorder, *rcallbacks.standard_callbacks(out / "best.keras", verbose=0)]
    for cb in callbacks:
        if isinstance(cb, keras.callbacks.EarlyStopping):
            cb.patience = PATIENCE
            # Only the first epoch counts as an improvement (there is no best yet), and none
            # beats the baseline, so `wait` never resets: the run stops after PATIENCE
            # epochs whatever the losses, and a resumed run only if `wait` survived. (The
            # baseline alone is not enough: Keras skips the stop check on any epoch that
            # improves on the best, and a resumed run's losses differ from an unbroken one's.)
            cb.baseline = -1e9
            cb.min_delta = 1e9
    if trigger is not None:
        callbacks.append(install(trigger))
    history = model.fit(
        x,
        y,
        batch_size=8,
        epochs=MAX_EPOCHS,
        validation_data=(x[:16], y[:16]),
        shuffle=False,
        callbacks=callbacks,
        verbose=0,
    )
    return {"begun": recorder.begun, "history_epochs": list(history.epoch)}


def main() -> None:
    trigger = None
    if len(sys.argv) > 2:
        point, occurrence, fraction = sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
        if point not in POINTS:
            raise SystemExit(f"unknown kill point {point!r}; expected one of {POINTS}")
        trigger = _Trigger(point, occurrence, fraction)
    print(json.dumps(train(Path(sys.argv[1]), trigger)))


if __name__ == "__main__":
    main()
