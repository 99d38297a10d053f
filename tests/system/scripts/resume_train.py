"""Tiny training run for tests/system/test_resume.py: `standard_callbacks`, can kill itself.

Usage: python resume_train.py OUT_DIR EPOCHS [KILL_EPOCH]

With KILL_EPOCH, the process sends itself SIGKILL in the middle of that (0-based) epoch,
after its second batch: no Python cleanup, no `on_train_end`, like an OOM kill or a
preempted machine. Every epoch start is appended to OUT_DIR/epochs_begun.txt as
"<pid> <epoch>". On a normal finish it prints one JSON line with the epochs this process
ran and the final weights' checksum. Tests may also import it and call `train` in-process.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import keras
import numpy as np

from regkit.callbacks import standard_callbacks
from regkit.training import compile_model


class KillMidEpoch(keras.callbacks.Callback):
    def __init__(self, epoch: int) -> None:
        super().__init__()
        self.kill_epoch = epoch
        self.epoch = -1

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == self.kill_epoch and batch == 1:
            os.kill(os.getpid(), signal.SIGKILL)


class RecordEpochs(keras.callbacks.Callback):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.begun: list[int] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.begun.append(epoch)
        with open(self.path, "a") as f:
            f.write(f"{os.getpid()} {epoch}\n")


def train(out: Path, epochs: int, kill_epoch: int | None = None) -> dict:
    """Trains the tiny model under `standard_callbacks(out / "best.keras")`."""
    out.mkdir(parents=True, exist_ok=True)

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.random((64, 8, 8, 1), dtype=np.float32)
    y = (x.reshape(64, -1).mean(axis=1) > 0.5).astype("int32") + 2 * (x[:, 0, 0, 0] > 0.5)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(16, activation="relu", name="hidden"),
            keras.layers.Dense(4, name="predictions"),
        ]
    )
    compile_model(model, optimizer="sgd", learning_rate=0.05)

    recorder = RecordEpochs(out / "epochs_begun.txt")
    callbacks = [recorder, *standard_callbacks(out / "best.keras", verbose=0)]
    if kill_epoch is not None:
        callbacks.append(KillMidEpoch(kill_epoch))
    history = model.fit(
        x,
        y,
        batch_size=16,
        epochs=epochs,
        validation_data=(x[:16], y[:16]),
        shuffle=False,  # so a resumed run can be compared with an uninterrupted one
        callbacks=callbacks,
        verbose=0,
    )
    checksum = float(sum(np.abs(w).sum() for w in model.get_weights()))
    return {"begun": recorder.begun, "history_epochs": history.epoch, "sum": checksum}


def main() -> None:
    kill_epoch = int(sys.argv[3]) if len(sys.argv) > 3 else None
    print(json.dumps(train(Path(sys.argv[1]), int(sys.argv[2]), kill_epoch)))


if __name__ == "__main__":
    main()
