"""regkit.callbacks.tensorboard: regkit's figures reach TensorBoard as scalars.

What a user sees is read back from the event files with TensorBoard's own reader, and
each scalar is compared with the number `History` recorded for the same epoch.
"""

from __future__ import annotations

import re
import sys

import keras
import numpy as np
import pytest

from regkit.callbacks import RegularizationMonitor, WeightNormLogger
from regkit.callbacks.tensorboard import (
    TENSORBOARD_INSTALL,
    require_tensorboard,
    tensorboard_callbacks,
)

pytest.importorskip("tensorboard")

EPOCHS = 2


def _model() -> keras.Model:
    """Conv (L2, no bias) -> BN -> Dense: kernel norms, a penalty and one BN'd kernel."""
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(
        4, 3, use_bias=False, kernel_regularizer=keras.regularizers.L2(1e-2), name="conv"
    )(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(4, name="out")(x)
    model = keras.Model(inputs, outputs)
    model.compile(
        keras.optimizers.SGD(0.05),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def _scalars(folder) -> dict[str, list[tuple[int, float]]]:
    """Every scalar in a TensorBoard run folder: tag -> [(step, value)]."""
    import tensorflow as tf
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder), size_guidance={"tensors": 0})
    events.Reload()
    out = {}
    for tag in events.Tags()["tensors"]:
        values = [(e.step, tf.make_ndarray(e.tensor_proto)) for e in events.Tensors(tag)]
        if all(v.ndim == 0 and v.dtype.kind == "f" for _, v in values):
            out[tag] = [(step, float(v)) for step, v in values]
    return out


def _fit(log_dir, *, tensorboard_first: bool = False):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.random((16, 8, 8, 1), dtype=np.float32)
    y = np.arange(16) % 4
    monitors = [WeightNormLogger(), RegularizationMonitor()]
    board = tensorboard_callbacks(log_dir, write_graph=False)
    callbacks = [*board, *monitors] if tensorboard_first else [*monitors, *board]
    model = _model()
    history = model.fit(
        x, y, validation_data=(x, y), epochs=EPOCHS, batch_size=8, verbose=0,
        callbacks=callbacks,
    )  # fmt: skip
    return history.history


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    log_dir = tmp_path_factory.mktemp("tb") / "run"
    history = _fit(log_dir)
    return history, _scalars(log_dir / "train"), _scalars(log_dir / "validation")


def test_regkit_figures_are_scalars_equal_to_history(logged):
    history, train, validation = logged
    figures = ["conv_kernel_norm", "out_kernel_norm", "reg_loss", "reg_loss_share"]
    figures += ["conv_effective_lr", "loss", "accuracy"]
    for key in figures:
        tag = f"epoch_{key}"
        assert tag in train, f"{tag} missing from {sorted(train)}"
        steps = [step for step, _ in train[tag]]
        assert steps == list(range(EPOCHS))
        np.testing.assert_allclose([v for _, v in train[tag]], history[key], rtol=1e-6)
    # the definitions, by hand, at the last epoch
    assert history["reg_loss_share"][-1] == pytest.approx(
        history["reg_loss"][-1] / history["loss"][-1], rel=1e-6
    )
    assert history["reg_loss"][-1] == pytest.approx(
        1e-2 * history["conv_kernel_norm"][-1] ** 2, rel=1e-5
    )
    assert history["conv_effective_lr"][-1] == pytest.approx(
        0.05 / history["conv_kernel_norm"][-1] ** 2, rel=1e-5
    )
    assert "epoch_learning_rate" in train
    assert "epoch_out_effective_lr" not in train  # the Dense kernel has no BN after it
    np.testing.assert_allclose(
        [v for _, v in validation["epoch_loss"]], history["val_loss"], rtol=1e-6
    )
    assert not any("kernel_norm" in tag for tag in validation)


def test_the_order_rule_tensorboard_before_the_monitors_misses_their_figures(tmp_path):
    _fit(tmp_path / "run", tensorboard_first=True)
    tags = set(_scalars(tmp_path / "run" / "train"))
    assert "epoch_loss" in tags
    assert not {t for t in tags if t.endswith(("_kernel_norm", "_effective_lr", "reg_loss"))}


def test_missing_tensorboard_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # find_spec then answers None
    with pytest.raises(ModuleNotFoundError, match=r'pip install "regkit-keras\[tensorboard\]"'):
        tensorboard_callbacks(tmp_path / "run")
    user = [keras.callbacks.EarlyStopping(), keras.callbacks.TensorBoard(str(tmp_path))]
    with pytest.raises(ModuleNotFoundError, match="regkit-keras\\[tensorboard\\]") as caught:
        require_tensorboard(user)
    assert caught.value.name == "tensorboard"
    require_tensorboard(user[:1])  # no TensorBoard callback: nothing required
    assert TENSORBOARD_INSTALL in str(caught.value)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"update_freq": "step"}, "Invalid value for argument `update_freq`: expected "
         '"epoch", "batch" or a positive int. Received: update_freq=\'step\''),
        ({"update_freq": 0}, "Received: update_freq=0"),
        ({"update_freq": True}, "Received: update_freq=True"),
        ({"histogram_freq": -1}, "Invalid value for argument `histogram_freq`"),
    ],
)  # fmt: skip
def test_bad_arguments_name_themselves(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        tensorboard_callbacks(tmp_path, **kwargs)


def test_log_dir_must_be_a_path():
    with pytest.raises(TypeError, match="Invalid type for argument `log_dir`"):
        tensorboard_callbacks(3)  # type: ignore[arg-type]
