"""regkit.callbacks.standard_callbacks: the set every regkit run trains with."""

from __future__ import annotations

import csv

import keras
import numpy as np
import pytest
from callback_models import data, small_cnn

from regkit import callbacks as rc
from regkit.callbacks import (
    AtomicModelCheckpoint,
    RegularizationMonitor,
    ResumableCSVLogger,
    TrainingStateBackup,
    WeightNormLogger,
    standard_callbacks,
)

# --------------------------------------------------------------------- standard_callbacks


def test_standard_callbacks_contents(tmp_path):
    cbs = standard_callbacks(tmp_path / "run" / "best.keras", verbose=0)
    kinds = [type(cb) for cb in cbs]
    assert kinds == [
        AtomicModelCheckpoint,
        keras.callbacks.EarlyStopping,
        keras.callbacks.ReduceLROnPlateau,
        rc.QuietTerminateOnNaN,  # a TerminateOnNaN that does not print (verbose=0)
        ResumableCSVLogger,
        TrainingStateBackup,
    ]
    assert isinstance(cbs[3], keras.callbacks.TerminateOnNaN)
    assert type(standard_callbacks(tmp_path / "v" / "b.keras")[3]) is keras.callbacks.TerminateOnNaN
    ckpt, stop, plateau, _, log, backup = cbs
    assert ckpt.filepath == str(tmp_path / "run" / "best.keras")
    assert log.filename == str(tmp_path / "run" / "best_log.csv")
    assert ckpt.save_best_only and not ckpt.save_weights_only
    assert ckpt.monitor == stop.monitor == plateau.monitor == "val_loss"
    assert stop.patience == 7 and stop.restore_best_weights
    assert (plateau.factor, plateau.patience, plateau.min_lr) == (0.5, 3, 1e-5)
    assert backup.backup_dir == str(tmp_path / "run" / "best_backup")
    assert log.filename == str(tmp_path / "run" / "best_log.csv")
    assert backup.tracked == [ckpt, stop, plateau]

    cbs = standard_callbacks(
        tmp_path / "w.weights.h5",
        monitor="val_accuracy",
        patience=2,
        reduce_lr_patience=1,
        backup_dir=tmp_path / "b",
        csv_path=tmp_path / "h.csv",
        weight_norms=True,
        reg_monitor=True,
    )
    assert isinstance(cbs[0], RegularizationMonitor)
    assert isinstance(cbs[1], WeightNormLogger)
    assert cbs[2].save_weights_only
    assert cbs[3].patience == 2 and cbs[4].patience == 1
    assert cbs[-1].backup_dir == str(tmp_path / "b")


def test_standard_callbacks_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match=r"ending in '\.keras' or '\.weights\.h5'"):
        standard_callbacks(tmp_path / "best.h5")
    with pytest.raises(ValueError, match="Received: patience=-1"):
        standard_callbacks(tmp_path / "best.keras", patience=-1)
    with pytest.raises(ValueError, match="factor"):
        standard_callbacks(tmp_path / "best.keras", factor=1.0)
    with pytest.raises(ValueError, match="'auto', 'min', 'max'"):
        standard_callbacks(tmp_path / "best.keras", mode="best")
    with pytest.raises(ValueError, match=r"`backup_dir`.*a folder of its own"):
        standard_callbacks(tmp_path / "best.keras", backup_dir=tmp_path)
    with pytest.raises(ValueError, match="placeholders"):
        standard_callbacks(tmp_path / "best-{epoch:02d}.keras")
    with pytest.raises(ValueError, match="`verbose`"):
        standard_callbacks(tmp_path / "best.keras", verbose="loud")
    with pytest.raises(TypeError, match="`checkpoint_path`"):
        standard_callbacks(None)
    with pytest.raises(TypeError, match="`weight_norms`"):
        standard_callbacks(tmp_path / "best.keras", weight_norms="yes")
    with pytest.raises(ValueError, match="`patience`"):
        standard_callbacks(tmp_path / "best.keras", patience=2**63)


# ------------------------------------------------- backup_dir: never delete others' files


def _fit_with(cbs, epochs=2):
    model = small_cnn()
    x, y = data(8)
    return model.fit(
        x, y, epochs=epochs, batch_size=8, validation_data=(x, y), verbose=0, callbacks=cbs
    )


def test_backup_dir_with_a_users_files_is_refused_and_left_alone(tmp_path):
    mine = tmp_path / "my_folder"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    with pytest.raises(ValueError, match=r"`backup_dir`.*did not write.*'thesis\.tex'"):
        standard_callbacks(tmp_path / "run" / "best.keras", backup_dir=mine)
    assert (mine / "thesis.tex").read_text() == "years of work"


@pytest.mark.parametrize("inside", ["checkpoint", "csv"])
def test_backup_dir_holding_the_checkpoint_or_the_log_is_refused(tmp_path, inside):
    backup = tmp_path / "backup"
    kwargs = {"backup_dir": backup}
    path = tmp_path / "best.keras"
    if inside == "checkpoint":
        path = backup / "best.keras"
    else:
        kwargs["csv_path"] = backup / "log.csv"
    with pytest.raises(ValueError, match=r"`backup_dir`.*contains"):
        standard_callbacks(path, **kwargs)


def test_backup_dir_that_is_a_link_is_refused(tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir()
    link = tmp_path / "backup"
    link.symlink_to(target)
    with pytest.raises(ValueError, match=r"`backup_dir`.*symbolic link"):
        standard_callbacks(tmp_path / "best.keras", backup_dir=link)


def test_only_regkit_backup_files_are_removed_when_training_ends(tmp_path):
    backup = tmp_path / "backup"
    cbs = standard_callbacks(tmp_path / "best.keras", backup_dir=backup, verbose=0)
    _fit_with(cbs)
    assert not backup.exists()  # emptied of its own files, then removed

    # A file that appears during training (someone else's) survives, and so does the folder.
    class Intruder(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            backup.mkdir(exist_ok=True)
            (backup / "notes.txt").write_text("not regkit's")

    cbs = standard_callbacks(tmp_path / "best.keras", backup_dir=backup, verbose=0)
    _fit_with([*cbs[:-1], Intruder(), cbs[-1]])
    assert sorted(p.name for p in backup.iterdir()) == ["notes.txt"]


def test_a_resumable_backup_folder_is_accepted(tmp_path):
    from regkit.callbacks.state import is_backup_file

    backup = tmp_path / "backup"
    backup.mkdir()
    for name in ("training_metadata.json", "epoch00001_batch000000.weights.h5"):
        (backup / name).write_bytes(b"")
        assert is_backup_file(name)
    standard_callbacks(tmp_path / "best.keras", backup_dir=backup)  # no error: regkit's own


def test_files_are_not_written_through_planted_links(tmp_path):
    outside = tmp_path / "outside.csv"
    outside.write_text("keep me")
    run = tmp_path / "run"
    run.mkdir()
    (run / "best_log.csv").symlink_to(outside)
    (run / ".partial-best.keras").symlink_to(tmp_path / "outside.keras")
    cbs = standard_callbacks(run / "best.keras", verbose=0)
    _fit_with(cbs)
    assert outside.read_text() == "keep me"
    assert not (tmp_path / "outside.keras").exists()
    assert not (run / "best_log.csv").is_symlink()
    assert (run / "best_log.csv").read_text().startswith("epoch")


def test_standard_callbacks_training_run(tmp_path):
    model = small_cnn()
    x, y = data(16)
    run = tmp_path / "new" / "run"  # folders that do not exist yet
    cbs = standard_callbacks(run / "best.keras", verbose=0, weight_norms=True)
    history = model.fit(
        x, y, epochs=3, batch_size=8, validation_data=(x, y), verbose=0, callbacks=cbs
    )
    assert len(history.history["loss"]) == 3
    assert "conv_kernel_norm" in history.history and "learning_rate" in history.history
    with open(run / "best_log.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["0", "1", "2"]
    assert "conv_kernel_norm" in rows[0]
    assert not (run / "best_backup").exists()  # finished: backup removed
    best = keras.saving.load_model(run / "best.keras")  # no custom objects needed
    best_epoch = int(np.argmin(history.history["val_loss"]))
    assert cbs[1].best == pytest.approx(history.history["val_loss"][best_epoch])
    assert best.evaluate(x, y, verbose=0, return_dict=True)["loss"] == pytest.approx(
        history.history["val_loss"][best_epoch], rel=1e-5
    )


def test_plot_history_is_reexported():
    from regkit.plots import plot_history

    assert rc.plot_history is plot_history


@pytest.mark.parametrize("verbose", [0, 1])
def test_a_nan_loss_stops_training_and_prints_only_when_verbose(tmp_path, capsys, verbose):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.ones((8, 2), dtype="float32")
    y = np.full((8, 1), np.nan, dtype="float32")  # NaN targets: the loss is NaN at once
    cb = next(
        c
        for c in standard_callbacks(tmp_path / "best.keras", verbose=verbose)
        if isinstance(c, keras.callbacks.TerminateOnNaN)
    )
    history = model.fit(x, y, epochs=5, batch_size=4, verbose=0, callbacks=[cb])
    assert len(history.history["loss"]) == 1  # stopped in the first epoch
    assert ("Invalid loss" in capsys.readouterr().out) is bool(verbose)
