"""regkit.callbacks.monitors: WeightNormLogger, RegularizationMonitor; seed 002 in miniature."""

from __future__ import annotations

import csv

import keras
import numpy as np
import pytest
from callback_models import data, norm, small_cnn

from regkit.callbacks import (
    RegularizationMonitor,
    WeightNormLogger,
    kernels_followed_by_batch_norm,
    standard_callbacks,
)
from regkit.introspect import kernels

# ----------------------------------------------------------------------------- WeightNormLogger


def test_weight_norms_land_in_history_and_csv(tmp_path):
    model = small_cnn()
    x, y = data()
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
        assert history.history[key][-1] == pytest.approx(norm(var), rel=1e-9)
        assert history.history[key][0] != history.history[key][1]  # training moved it
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert float(rows[-1]["out_kernel_norm"]) == pytest.approx(
        history.history["out_kernel_norm"][-1], rel=1e-6
    )


def test_weight_norm_selection_by_name_and_type():
    model = small_cnn()
    x, y = data(8)
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
    model = small_cnn()
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
    model = small_cnn(l2)
    model.optimizer.learning_rate = 0.0  # weights stay put: the epoch's loss is exact
    x, y = data(16)
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
    model = small_cnn()
    x, y = data(8)
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
        with_kernels = [k.layer.name for k in kernels(mobilenet)]
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
    x, y = data(8)
    history = model.fit(
        x, y, epochs=2, batch_size=8, verbose=0, callbacks=[schedule, RegularizationMonitor()]
    )
    lr_keys = sorted(k for k in history.history if k.endswith("_effective_lr"))
    assert lr_keys == ["dense_bn_effective_lr", "direct_effective_lr", "via_pool_effective_lr"]
    for name in ("direct", "via_pool", "dense_bn"):
        expected = 0.02 / norm(model.get_layer(name).kernel) ** 2
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


# ------------------------------------------------------------------ compact progress line


def test_progress_line_stays_short_while_history_and_csv_keep_every_figure(tmp_path, capsys):
    from regkit import build_cnn, compile_model

    model = build_cnn((8, 8, 1), 4, filters=(4, 4, 4), dense_units=(8, 8), reg="bn+l2")
    compile_model(model)
    x, y = data(16)
    csv_path = tmp_path / "log.csv"
    capsys.readouterr()
    history = model.fit(
        x,
        y,
        epochs=2,
        batch_size=8,
        validation_data=(x, y),
        verbose=2,
        callbacks=[
            RegularizationMonitor(),
            WeightNormLogger(),
            keras.callbacks.CSVLogger(str(csv_path)),
            *standard_callbacks(tmp_path / "best.keras", verbose=0),  # adds learning_rate
        ],
    )
    printed = capsys.readouterr().out
    epoch_lines = [line for line in printed.splitlines() if " - loss: " in line]
    assert len(epoch_lines) == 2
    assert max(len(line) for line in epoch_lines) <= 160, epoch_lines
    assert "reg_loss_share" in epoch_lines[0] and "learning_rate" in epoch_lines[0]
    assert "kernel_norm" not in printed and "effective_lr" not in printed
    assert " reg_loss:" not in printed  # its share is on the line, the value in History

    norms = [k for k in history.history if k.endswith("_kernel_norm")]
    rates = [k for k in history.history if k.endswith("_effective_lr")]
    assert len(norms) == 9  # 6 convs, 2 hidden dense layers and the classifier
    assert len(rates) == 8  # all but the classifier feed a BatchNorm
    assert all(len(history.history[k]) == 2 for k in [*norms, *rates, "reg_loss"])
    assert history.history["reg_loss"][-1] > 0
    with open(csv_path, newline="") as f:
        header = next(csv.reader(f))
    assert set(norms + rates) <= set(header)


def test_progress_line_can_show_the_figures(capsys):
    model = small_cnn()
    x, y = data(8)
    capsys.readouterr()
    model.fit(
        x, y, epochs=1, batch_size=8, verbose=2, callbacks=[WeightNormLogger(progress_line=True)]
    )
    assert "conv_kernel_norm" in capsys.readouterr().out
    assert "conv_kernel_norm" in model.history.history
    with pytest.raises(TypeError, match="`progress_line`"):
        WeightNormLogger(progress_line="yes")


def test_regularization_monitor_counts_the_l2_sp_pull():
    from regkit import Regularization, apply_regularization
    from regkit.callbacks import RegularizationMonitor

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="fc")])
    apply_regularization(model, Regularization(l2_sp=0.5))
    kernel = model.get_layer("fc").kernel
    kernel.assign(kernel.numpy() + 0.1)  # 6 entries, each 0.1 away from w0
    monitor = RegularizationMonitor(effective_lr=False)
    monitor.set_model(model)
    logs = {"loss": 1.0}
    monitor.on_epoch_end(0, logs)
    assert logs["reg_loss"] == pytest.approx(0.5 * 6 * 0.01, rel=1e-5)
    assert logs["reg_loss_share"] == pytest.approx(0.03, rel=1e-5)
