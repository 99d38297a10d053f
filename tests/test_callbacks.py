"""Tests for regkit.callbacks: weight norms, the regularization monitor, the standard set."""

from __future__ import annotations

import contextlib
import csv
import json
import warnings

import keras
import numpy as np
import pytest

from regkit import callbacks as rc
from regkit.callbacks import (
    AtomicModelCheckpoint,
    RegularizationMonitor,
    ResumableCSVLogger,
    TrainingStateBackup,
    WeightNormLogger,
    kernels_followed_by_batch_norm,
    standard_callbacks,
)


def _data(n=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 8, 8, 1), dtype=np.float32)
    return x, np.arange(n) % 4


def _small_cnn(l2: float | None = None) -> keras.Model:
    reg = keras.regularizers.L2(l2) if l2 else None
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3, kernel_regularizer=reg, name="conv")(inputs)
    x = keras.layers.SeparableConv2D(4, 3, name="sep")(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(4, kernel_regularizer=reg, name="out")(x)
    model = keras.Model(inputs, outputs)
    model.compile(
        keras.optimizers.SGD(0.05),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def _norm(variable) -> float:
    return float(np.linalg.norm(keras.ops.convert_to_numpy(variable).astype(np.float64)))


# ----------------------------------------------------------------------------- WeightNormLogger


def test_weight_norms_land_in_history_and_csv(tmp_path):
    model = _small_cnn()
    x, y = _data()
    logger = WeightNormLogger()
    csv_path = tmp_path / "log.csv"
    history = model.fit(
        x,
        y,
        epochs=2,
        batch_size=8,
        verbose=0,
        callbacks=[logger, keras.callbacks.CSVLogger(str(csv_path))],
    )
    keys = {
        "conv_kernel_norm",
        "sep_depthwise_kernel_norm",
        "sep_pointwise_kernel_norm",
        "out_kernel_norm",
    }
    assert keys <= set(history.history)
    assert set(logger.initial_norms) == keys
    final = {
        "conv_kernel_norm": model.get_layer("conv").kernel,
        "sep_depthwise_kernel_norm": model.get_layer("sep").depthwise_kernel,
        "sep_pointwise_kernel_norm": model.get_layer("sep").pointwise_kernel,
        "out_kernel_norm": model.get_layer("out").kernel,
    }
    for key, var in final.items():
        assert len(history.history[key]) == 2
        assert history.history[key][-1] == pytest.approx(_norm(var), rel=1e-9)
        assert history.history[key][0] != history.history[key][1]  # training moved it
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert float(rows[-1]["out_kernel_norm"]) == pytest.approx(
        history.history["out_kernel_norm"][-1], rel=1e-6
    )


def test_weight_norm_selection_by_name_and_type():
    model = _small_cnn()
    x, y = _data(8)
    printed = []
    logger = WeightNormLogger(["conv", keras.layers.Dense], print_first=3, print_fn=printed.append)
    history = model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[logger])
    norm_keys = sorted(k for k in history.history if k.endswith("_norm"))
    assert norm_keys == ["conv_kernel_norm", "out_kernel_norm"]
    assert len(printed) == 2
    assert printed[0].startswith("Epoch 1: conv layer: [")
    first = keras.ops.convert_to_numpy(model.get_layer("conv").kernel).ravel()[:3]
    values = np.array(printed[0].split("[", 1)[1].rstrip("]").split(), dtype=np.float32)
    np.testing.assert_allclose(values, first, rtol=1e-5)


def test_weight_norm_bad_selection():
    model = _small_cnn()
    logger = WeightNormLogger("dense_1")
    logger.set_model(model)
    with pytest.raises(ValueError, match=r"no layer with a kernel is named 'dense_1'.*'conv'"):
        logger.on_train_begin()
    logger = WeightNormLogger(keras.layers.Conv1D)
    logger.set_model(model)
    with pytest.raises(ValueError, match="no Conv1D layer with a kernel"):
        logger.on_train_begin()
    with pytest.raises(ValueError, match="print_first"):
        WeightNormLogger(print_first=-1)


# ------------------------------------------------------------------------ RegularizationMonitor


def test_reg_loss_and_share_match_a_hand_computation():
    l2 = 0.01
    model = _small_cnn(l2)
    model.optimizer.learning_rate = 0.0  # weights stay put: the epoch's loss is exact
    x, y = _data(16)
    history = model.fit(
        x, y, epochs=1, batch_size=16, verbose=0, callbacks=[RegularizationMonitor()]
    )
    kernels = [model.get_layer("conv").kernel, model.get_layer("out").kernel]
    reg = sum(
        l2 * float(np.sum(keras.ops.convert_to_numpy(k).astype(np.float64) ** 2)) for k in kernels
    )
    assert history.history["reg_loss"][0] == pytest.approx(reg, rel=1e-5)
    logits = model.predict(x, verbose=0).astype(np.float64)
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    data_loss = -log_probs[np.arange(len(y)), y].mean()
    assert history.history["reg_loss_share"][0] == pytest.approx(reg / (data_loss + reg), rel=1e-5)


def test_reg_loss_is_zero_without_penalties():
    model = _small_cnn()
    x, y = _data(8)
    history = model.fit(x, y, epochs=1, verbose=0, callbacks=[RegularizationMonitor()])
    assert history.history["reg_loss"] == [0.0]
    assert history.history["reg_loss_share"] == [0.0]
    assert not [k for k in history.history if k.endswith("_effective_lr")]


def _branchy_model() -> keras.Model:
    """Kernels that do and do not feed a BatchNorm through scale-preserving layers."""
    inputs = keras.Input((8, 8, 1))
    a = keras.layers.Conv2D(4, 3, padding="same", use_bias=False, name="direct")(inputs)
    a = keras.layers.BatchNormalization(name="bn_a")(a)
    b = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="via_pool")(a)
    b = keras.layers.MaxPooling2D()(b)
    b = keras.layers.Dropout(0.1)(b)
    b = keras.layers.BatchNormalization(name="bn_b")(b)
    c = keras.layers.Conv2D(4, 3, padding="same", name="via_relu6")(b)
    c = keras.layers.ReLU(max_value=6.0)(c)
    c = keras.layers.BatchNormalization(name="bn_c")(c)
    d = keras.layers.Conv2D(4, 1, name="branched")(c)
    d_bn = keras.layers.BatchNormalization(name="bn_d")(d)
    d = keras.layers.Add()([d, d_bn])  # d also reaches the output unnormalized
    e = keras.layers.Conv2D(4, 1, activation="tanh", name="tanh_conv")(d)
    e = keras.layers.BatchNormalization(name="bn_e")(e)
    x = keras.layers.GlobalAveragePooling2D()(e)
    x = keras.layers.Dense(8, name="dense_bn")(x)
    x = keras.layers.BatchNormalization(name="bn_f")(x)
    outputs = keras.layers.Dense(4, name="predictions")(x)
    return keras.Model(inputs, outputs)


def test_kernels_followed_by_batch_norm_in_a_functional_graph():
    assert kernels_followed_by_batch_norm(_branchy_model()) == ["direct", "via_pool", "dense_bn"]


def test_kernels_followed_by_batch_norm_sequential_and_nested():
    seq = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, name="c1"),
            keras.layers.BatchNormalization(),
            keras.layers.Conv2D(4, 3, activation="relu", name="c2"),
            keras.layers.ZeroPadding2D(),
            keras.layers.BatchNormalization(),
            keras.layers.Conv2D(4, 3, name="c3"),
            keras.layers.Flatten(),
            keras.layers.Dense(3, name="head"),
        ]
    )
    assert kernels_followed_by_batch_norm(seq) == ["c1", "c2"]
    inputs = keras.Input((8, 8, 1))
    outer = keras.Model(inputs, keras.layers.Dense(2, name="outer_head")(seq(inputs)))
    assert kernels_followed_by_batch_norm(outer) == ["c1", "c2"]


@pytest.mark.parametrize("norm_order", ["conv-act-bn", "conv-bn-act"])
def test_kernels_followed_by_batch_norm_in_regkit_models(norm_order):
    from regkit import Regularization, build_cnn, build_mobilenet_v2

    reg = Regularization(l2=1e-4, batch_norm=True, head_batch_norm=True)
    model = build_cnn((8, 8, 1), 10, filters=(4,), dense_units=(8,), norm_order=norm_order, reg=reg)
    assert kernels_followed_by_batch_norm(model) == [
        "cnn_block1_conv1",
        "cnn_block1_conv2",
        "cnn_head_dense1",
    ]
    if norm_order == "conv-act-bn":
        mobilenet = build_mobilenet_v2((32, 32, 3), 10, alpha=0.35, reg="bn+l2")
        with_kernels = [layer.name for layer, _ in rc._all_kernels(mobilenet)]
        expected = [n for n in with_kernels if n != "mobilenet_v2_head_predictions"]
        assert len(expected) == len(with_kernels) - 1
        assert kernels_followed_by_batch_norm(mobilenet) == expected


def test_effective_lr_is_lr_over_squared_kernel_norm_and_tracks_the_lr():
    model = _branchy_model()
    model.compile(
        keras.optimizers.SGD(0.1),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    schedule = keras.callbacks.LearningRateScheduler(lambda epoch, lr: [0.1, 0.02][epoch])
    x, y = _data(8)
    history = model.fit(
        x, y, epochs=2, batch_size=8, verbose=0, callbacks=[schedule, RegularizationMonitor()]
    )
    lr_keys = sorted(k for k in history.history if k.endswith("_effective_lr"))
    assert lr_keys == ["dense_bn_effective_lr", "direct_effective_lr", "via_pool_effective_lr"]
    for name in ("direct", "via_pool", "dense_bn"):
        expected = 0.02 / _norm(model.get_layer(name).kernel) ** 2
        assert history.history[f"{name}_effective_lr"][-1] == pytest.approx(expected, rel=1e-6)


# --------------------------------------------------- seed 002 in miniature, on the digits data


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    data = load_digits()
    x = (data.images[..., None] / 16.0).astype("float32")
    return x[:512], data.target[:512]


def _digits_model(l2: float | None, batch_norm: bool, bn_epsilon: float = 1e-3) -> keras.Model:
    keras.utils.set_random_seed(0)  # same initial kernels for every variant
    reg = keras.regularizers.L2(l2) if l2 else None
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(
        8, 3, padding="same", use_bias=not batch_norm, kernel_regularizer=reg, name="conv"
    )(inputs)
    if batch_norm:
        x = keras.layers.BatchNormalization(epsilon=bn_epsilon, name="bn")(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(10, kernel_regularizer=reg, name="out")(x)
    model = keras.Model(inputs, outputs)
    model.compile(
        keras.optimizers.SGD(0.1),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def _train(model, digits, epochs=2):
    logger, monitor = WeightNormLogger(), RegularizationMonitor()
    x, y = digits
    history = model.fit(x, y, batch_size=32, epochs=epochs, verbose=0, callbacks=[logger, monitor])
    return logger.initial_norms, history.history


def test_l2_alone_shrinks_kernels_that_grow_without_it(digits):
    init_plain, plain = _train(_digits_model(None, batch_norm=False), digits)
    init_l2, l2 = _train(_digits_model(0.1, batch_norm=False), digits)
    assert init_plain == init_l2  # same initial kernels
    for key in ("conv_kernel_norm", "out_kernel_norm"):
        assert plain[key][-1] > init_plain[key]  # unregularized: kernels grow
        assert l2[key][-1] < 0.8 * init_l2[key]  # L2 only: kernels shrink
    assert l2["reg_loss_share"][-1] > 0.05


def test_kernel_scale_does_not_change_a_batch_norm_model(digits):
    x = digits[0][:64]
    # BN divides by sqrt(var + epsilon): scale-invariant up to epsilon, so take a tiny one.
    model = _digits_model(None, batch_norm=True, bn_epsilon=1e-7)
    before = keras.ops.convert_to_numpy(model(x, training=True))
    monitor = RegularizationMonitor()
    monitor.set_model(model)
    lr_before = monitor.effective_learning_rates()["conv_effective_lr"]
    conv = model.get_layer("conv")
    conv.kernel.assign(conv.kernel * 10.0)
    after = keras.ops.convert_to_numpy(model(x, training=True))
    np.testing.assert_allclose(after, before, atol=1e-3 * np.abs(before).max())
    # ... but its effective learning rate drops 100x: the scale only sets the step size.
    lr_after = monitor.effective_learning_rates()["conv_effective_lr"]
    assert lr_after == pytest.approx(lr_before / 100.0, rel=1e-5)

    plain = _digits_model(None, batch_norm=False)  # the same rescale without BN does matter
    before = keras.ops.convert_to_numpy(plain(x, training=True))
    plain.get_layer("conv").kernel.assign(plain.get_layer("conv").kernel * 10.0)
    after = keras.ops.convert_to_numpy(plain(x, training=True))
    assert np.abs(after - before).max() > 0.5 * np.abs(before).max()


def test_under_batch_norm_l2_raises_the_effective_learning_rate(digits):
    _, bn = _train(_digits_model(None, batch_norm=True), digits)
    _, bn_l2 = _train(_digits_model(0.05, batch_norm=True), digits)
    # BN only: the kernel grows, so its effective LR falls. BN + L2: L2 shrinks the kernel
    # (without changing the function), so its effective LR rises.
    assert bn["conv_kernel_norm"][-1] > bn["conv_kernel_norm"][0]
    assert bn["conv_effective_lr"][-1] < bn["conv_effective_lr"][0]
    assert bn_l2["conv_kernel_norm"][-1] < bn_l2["conv_kernel_norm"][0]
    assert bn_l2["conv_effective_lr"][-1] > bn_l2["conv_effective_lr"][0]
    assert bn_l2["conv_effective_lr"][-1] > bn["conv_effective_lr"][-1]


# --------------------------------------------------------------------- standard_callbacks


def test_standard_callbacks_contents(tmp_path):
    cbs = standard_callbacks(tmp_path / "run" / "best.keras", verbose=0)
    kinds = [type(cb) for cb in cbs]
    assert kinds == [
        AtomicModelCheckpoint,
        keras.callbacks.EarlyStopping,
        keras.callbacks.ReduceLROnPlateau,
        keras.callbacks.TerminateOnNaN,
        ResumableCSVLogger,
        TrainingStateBackup,
    ]
    ckpt, stop, plateau, _, log, backup = cbs
    assert isinstance(ckpt, keras.callbacks.ModelCheckpoint)
    assert isinstance(log, keras.callbacks.CSVLogger)
    assert isinstance(backup, keras.callbacks.BackupAndRestore)
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
    with pytest.raises(ValueError, match="a folder of its own"):
        standard_callbacks(tmp_path / "best.keras", backup_dir=tmp_path)
    with pytest.raises(ValueError, match="placeholders"):
        standard_callbacks(tmp_path / "best-{epoch:02d}.keras")


def test_standard_callbacks_training_run(tmp_path):
    model = _small_cnn()
    x, y = _data(16)
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


def _crashing_save(model, tmp_bytes=b"PK\x03\x04 half a zip"):
    """Makes `model.save` write a few bytes and then die, as a kill mid-write would."""

    def save(filepath, *args, **kwargs):
        with open(filepath, "wb") as f:
            f.write(tmp_bytes)
        raise KeyboardInterrupt("killed while writing")

    model.save = save


@pytest.mark.parametrize("atomic", [True, False])
def test_a_kill_while_saving_never_corrupts_the_best_model(tmp_path, atomic):
    model = _small_cnn()
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
    model = _small_cnn()
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
    fresh = _small_cnn()
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
    x, y = _data(16)
    y_val = (y + 1) % 4  # validation disagrees with training: val_loss worsens after epoch 0
    path = tmp_path / "best.weights.h5"

    def fit(interrupt_at=None):
        keras.utils.set_random_seed(0)
        model = _small_cnn()
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


def test_plot_history_is_reexported():
    from regkit.plots import plot_history

    assert rc.plot_history is plot_history
