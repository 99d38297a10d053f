"""An improving epoch writes its weights once (issue 29): `TrainingStateBackup` links the
file the best-only `AtomicModelCheckpoint` has just saved instead of saving the same weights
again, and saves its own whenever anything changed in between (here ReduceLROnPlateau's
learning rate) or no checkpoint was saved at that epoch."""

from __future__ import annotations

import os

import keras
import numpy as np

from regkit.callbacks import AtomicModelCheckpoint, TrainingStateBackup, standard_callbacks


def _model() -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(
        keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    return model


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 4)).astype("float32")
    return x, (x[:, 0] > 0).astype("int64") + (x[:, 1] > 0)


class _Inspect(keras.callbacks.Callback):
    """After the backup: whether its newest weights file is the checkpoint's own file."""

    def __init__(self, checkpoint: str, backup: str) -> None:
        super().__init__()
        self.checkpoint, self.backup, self.shared = checkpoint, backup, []

    def on_epoch_end(self, epoch, logs=None):
        newest = sorted(f for f in os.listdir(self.backup) if f.endswith(".weights.h5"))[-1]
        self.shared.append(os.path.samefile(os.path.join(self.backup, newest), self.checkpoint))


def test_improving_epochs_share_the_checkpoint_file_and_resume_from_it(tmp_path):
    x, y = _data()
    checkpoint = tmp_path / "best.weights.h5"
    callbacks = standard_callbacks(checkpoint, backup_dir=tmp_path / "backup", verbose=0)
    inspect = _Inspect(str(checkpoint), str(tmp_path / "backup"))
    losses = []

    class Loss(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            losses.append(logs["val_loss"])

    backup = next(cb for cb in callbacks if isinstance(cb, TrainingStateBackup))
    backup.delete_checkpoint = False  # kept, to be loaded below
    model = _model()
    model.fit(
        x, y, validation_data=(x, y), epochs=3, verbose=0, callbacks=[*callbacks, inspect, Loss()]
    )
    improved = [loss < min(losses[:i], default=np.inf) for i, loss in enumerate(losses)]
    assert improved[0] and inspect.shared == improved  # linked exactly when it improved
    # the shared file is what save_weights writes: weights and optimizer state load back
    again = _model()
    again.optimizer.build(again.trainable_variables)
    newest = sorted((tmp_path / "backup").glob("*.weights.h5"))[-1]
    again.load_weights(newest)
    for got, want in zip(again.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    assert int(again.optimizer.iterations) == int(model.optimizer.iterations)


def test_a_learning_rate_changed_after_the_checkpoint_is_saved_by_the_backup(tmp_path):
    x, y = _data()
    checkpoint = AtomicModelCheckpoint(tmp_path / "best.weights.h5")
    # after its first epoch never an improvement for it (min_delta): the rate drops at the
    # end of epoch 1, where the checkpoint (min_delta 0) still improves
    reduce = keras.callbacks.ReduceLROnPlateau(patience=0, min_delta=1e9, factor=0.5)
    backup = TrainingStateBackup(tmp_path / "backup", tracked=[checkpoint, reduce])
    backup.delete_checkpoint = False
    inspect = _Inspect(str(checkpoint.target), str(tmp_path / "backup"))
    model = _model()
    model.fit(
        x,
        y,
        validation_data=(x, y),
        epochs=2,
        verbose=0,
        callbacks=[checkpoint, reduce, backup, inspect],
    )
    assert checkpoint.saved_state is not None and checkpoint.saved_state[0] == 1
    assert inspect.shared == [True, False]
    again = _model()
    again.optimizer.build(again.trainable_variables)
    again.load_weights(sorted((tmp_path / "backup").glob("*.weights.h5"))[-1])
    assert np.isclose(float(again.optimizer.learning_rate), 0.05)  # the reduced rate
