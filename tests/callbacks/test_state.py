"""regkit.callbacks.state: kill-safe checkpoint, CSV log and backup, and resuming from them."""

from __future__ import annotations

import contextlib
import csv
import json
import warnings

import keras
import numpy as np
import pytest
from callback_models import data, small_cnn

from regkit.callbacks import AtomicModelCheckpoint, EpochSeeding, standard_callbacks


def _crashing_save(model, tmp_bytes=b"PK\x03\x04 half a zip"):
    """Makes `model.save` write a few bytes and then die, as a kill mid-write would."""

    def save(filepath, *args, **kwargs):
        with open(filepath, "wb") as f:
            f.write(tmp_bytes)
        raise KeyboardInterrupt("killed while writing")

    model.save = save


@pytest.mark.parametrize("atomic", [True, False])
def test_a_kill_while_saving_never_corrupts_the_best_model(tmp_path, atomic):
    model = small_cnn()
    path = tmp_path / "best.keras"
    if atomic:
        ckpt = AtomicModelCheckpoint(path, save_best_only=True)
    else:  # plain Keras, for contrast: the same fault corrupts its file
        ckpt = keras.callbacks.ModelCheckpoint(str(path), save_best_only=True)
    ckpt.set_model(model)
    ckpt.on_train_begin()
    ckpt.on_epoch_begin(0)
    ckpt.on_epoch_end(0, {"val_loss": 1.0})
    saved = [w.copy() for w in model.get_weights()]
    model.get_layer("out").kernel.assign(model.get_layer("out").kernel * 2.0)
    _crashing_save(model)
    ckpt.on_epoch_begin(1)
    with pytest.raises(KeyboardInterrupt):
        ckpt.on_epoch_end(1, {"val_loss": 0.5})
    if atomic:
        loaded = keras.saving.load_model(path)
        for got, want in zip(loaded.get_weights(), saved, strict=True):
            np.testing.assert_array_equal(got, want)
    else:
        with pytest.raises(Exception):  # noqa: B017 - any load error shows the corruption
            keras.saving.load_model(path)


def test_atomic_checkpoint_saves_weights_and_skips_non_improvements(tmp_path, capsys):
    model = small_cnn()
    path = tmp_path / "w.weights.h5"
    ckpt = AtomicModelCheckpoint(path, save_best_only=True, verbose=1)
    ckpt.set_model(model)
    ckpt.on_train_begin()
    ckpt.on_epoch_end(0, {"val_loss": 1.0})
    first = path.stat().st_mtime_ns
    ckpt.on_epoch_end(1, {"val_loss": 2.0})
    assert path.stat().st_mtime_ns == first
    out = capsys.readouterr().out
    assert f"val_loss improved from inf to 1.00000, saved {path}" in out
    assert "Epoch 2: val_loss did not improve from 1.00000" in out
    assert not list(tmp_path.glob(".partial-*"))
    fresh = small_cnn()
    fresh.load_weights(path)
    for got, want in zip(fresh.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)


class _Interrupt(keras.callbacks.Callback):
    """Raises at the end of `epoch`, before the callbacks after it run (a kill there)."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError("interrupted")


class _Probe(keras.callbacks.Callback):
    """Snapshots the sibling callbacks' state after each epoch and when a run starts."""

    def __init__(self, cbs):
        super().__init__()
        self.cbs, self.at_start, self.after = cbs, None, {}

    def _snapshot(self):
        ckpt, stop, plateau = self.cbs[:3]
        weights = stop.best_weights
        return {
            "ckpt_best": ckpt.best,
            "stop_best": stop.best,
            "stop_wait": stop.wait,
            "stop_best_epoch": stop.best_epoch,
            "stop_weights_sum": None if weights is None else sum(float(w.sum()) for w in weights),
            "plateau_best": plateau.best,
            "plateau_wait": plateau.wait,
            "plateau_cooldown": plateau.cooldown_counter,
            "lr": float(self.model.optimizer.learning_rate),
        }

    def on_epoch_begin(self, epoch, logs=None):
        if self.at_start is None:
            self.at_start = dict(self._snapshot(), epoch=epoch)

    def on_epoch_end(self, epoch, logs=None):
        self.after[epoch] = self._snapshot()


@pytest.mark.parametrize("fault", ["logged_not_backed_up", "backup_corrupted"])
def test_resume_restores_callback_state_and_logs_each_epoch_once(tmp_path, fault):
    x, y = data(16)
    y_val = (y + 1) % 4  # validation disagrees with training: val_loss worsens after epoch 0
    path = tmp_path / "best.weights.h5"

    def fit(interrupt_at=None):
        keras.utils.set_random_seed(0)
        model = small_cnn()
        cbs = standard_callbacks(path, verbose=0, patience=5, reduce_lr_patience=1)
        probe = _Probe(cbs)
        order = [*cbs, probe]
        if interrupt_at is not None:
            # Between CSVLogger and the backup: epoch 2 is logged but not backed up.
            # After the backup: epoch 2 is backed up, and then its backup gets corrupted.
            where = -2 if fault == "logged_not_backed_up" else len(order)
            order.insert(where, _Interrupt(interrupt_at))
        history = None
        with contextlib.suppress(RuntimeError):
            history = model.fit(
                x, y, epochs=4, batch_size=8, validation_data=(x, y_val), verbose=0, callbacks=order
            )
        return probe, history

    first, _ = fit(interrupt_at=2)
    with open(tmp_path / "best_log.csv", newline="") as f:
        assert [r["epoch"] for r in csv.DictReader(f)] == ["0", "1", "2"]
    backup = tmp_path / "best_backup"
    record = json.loads((backup / "training_metadata.json").read_text())
    assert record["epoch"] == (2 if fault == "logged_not_backed_up" else 3)
    assert record["callbacks"]
    if fault == "backup_corrupted":  # the newest weights file is damaged after the fact
        latest = backup / record["weights"]
        latest.write_bytes(latest.read_bytes()[:1000])
    backed_up = first.after[1]  # the last epoch whose backup is intact
    # Non-trivial state to restore: epoch 0 was best, epoch 1 waited and halved the LR.
    assert backed_up["stop_best_epoch"] == 0 and backed_up["stop_wait"] == 1
    assert backed_up["lr"] == pytest.approx(0.025)
    assert backed_up["stop_weights_sum"] is not None

    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # state is never lost or mismatched ...
        warnings.filterwarnings("ignore", "Skipping unreadable backup")  # ... a fallback is said
        second, history = fit()
    assert history.epoch == [2, 3]
    resumed = dict(second.at_start)
    assert resumed.pop("epoch") == 2
    # Checkpoint best, early-stopping and plateau counters, best weights and learning rate
    # are exactly as they were after epoch 1 (a fresh set would start from None/0).
    assert resumed.keys() == backed_up.keys()
    for key, value in backed_up.items():
        assert resumed[key] == pytest.approx(value, rel=1e-6), key
    with open(tmp_path / "best_log.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["0", "1", "2", "3"]
    assert float(rows[3]["val_loss"]) == pytest.approx(history.history["val_loss"][1], rel=1e-6)
    assert not backup.exists()


# --------------------------------------------------------------------------- EpochSeeding


class _BatchLosses(keras.callbacks.Callback):
    """Records each batch's loss per epoch: with a frozen model, a fingerprint of the masks."""

    def __init__(self):
        super().__init__()
        self.by_epoch = {}

    def on_epoch_begin(self, epoch, logs=None):
        self.by_epoch[epoch] = []

    def on_train_batch_end(self, batch, logs=None):
        self.by_epoch[max(self.by_epoch)].append(float(logs["loss"]))


def _dropout_masks_of_epoch(epoch, *, from_scratch, seeding):
    """The dropout masks epoch `epoch` draws, after running epochs 0..epoch-1 or not."""
    keras.utils.set_random_seed(1234 if from_scratch else 99)  # the global RNG differs
    inputs = keras.Input((16,))
    x = keras.layers.Dropout(0.5, name="drop")(inputs)
    x = keras.layers.SpatialDropout1D(0.3, name="spatial")(keras.layers.Reshape((4, 4))(x))
    outputs = keras.layers.Dense(1, kernel_initializer="ones", use_bias=False, name="sum")(
        keras.layers.Flatten()(x)
    )
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.SGD(0.0), "mse")  # lr 0: the weights never move
    x = np.arange(64 * 16, dtype="float32").reshape(64, 16) % 7
    y = np.zeros((64, 1), "float32")
    probe = _BatchLosses()
    callbacks = [probe] + ([EpochSeeding(7)] if seeding else [])
    start = 0 if from_scratch else epoch
    model.fit(
        x,
        y,
        batch_size=8,
        epochs=epoch + 1,
        initial_epoch=start,
        shuffle=False,
        verbose=0,
        callbacks=callbacks,
    )
    return probe.by_epoch[epoch]


def test_epoch_seeding_makes_dropout_masks_a_function_of_the_epoch():
    uninterrupted = _dropout_masks_of_epoch(3, from_scratch=True, seeding=True)
    resumed = _dropout_masks_of_epoch(3, from_scratch=False, seeding=True)
    assert len(uninterrupted) == 8
    assert resumed == uninterrupted
    # Each epoch draws new masks; without the callback a resumed epoch draws other masks.
    assert _dropout_masks_of_epoch(2, from_scratch=False, seeding=True) != resumed
    assert _dropout_masks_of_epoch(3, from_scratch=False, seeding=False) != uninterrupted


def test_epoch_seeding_sets_the_epoch_variable():
    import tensorflow as tf

    epoch = tf.Variable(-1, dtype=tf.int64, trainable=False)
    seen = []
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    record = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda e, logs: seen.append(int(epoch.numpy()))
    )
    model.fit(
        np.zeros((4, 2)),
        np.zeros((4, 1)),
        epochs=3,
        initial_epoch=1,
        verbose=0,
        callbacks=[EpochSeeding(0, epoch_variable=epoch), record],
    )
    assert seen == [1, 2]


def test_epoch_seeding_bad_arguments():
    with pytest.raises(ValueError, match="seed"):
        EpochSeeding(2**63)
    with pytest.raises(TypeError, match="epoch_variable"):
        EpochSeeding(0, epoch_variable=3)
