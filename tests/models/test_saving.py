"""Every builder x every preset saves to .keras and loads back without custom objects."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from regkit import Regularization, build_cnn, build_mobilenet_v2
from regkit.config import PRESETS
from regkit.regularization import regularization_loss

BUILDERS = {
    "cnn": lambda reg: build_cnn((32, 32, 3), 5, filters=(8, 16), dense_units=(16,), reg=reg),
    "cnn_conv_bn_act": lambda reg: build_cnn(
        (32, 32, 3), 5, filters=(8,), norm_order="conv-bn-act", output="logits", reg=reg
    ),
    "mobilenet_v2": lambda reg: build_mobilenet_v2((32, 32, 3), 5, alpha=0.35, reg=reg),
}

CASES = [(b, p) for b in BUILDERS for p in PRESETS]


def _perturb(model):
    """Moves every weight (BN statistics too) off its initial value, so that the round trip
    compares trained-looking state rather than fresh initialisers (faster than a fit)."""
    rng = np.random.default_rng(1)
    values = []
    for var in model.weights:
        value = var.numpy() + rng.normal(scale=0.05, size=var.shape).astype(var.dtype)
        if var.path.endswith("moving_variance"):
            value = np.abs(value) + 0.5
        values.append(value)
    model.set_weights(values)


@pytest.mark.parametrize(("builder", "preset"), CASES)
def test_keras_round_trip(tmp_path, builder, preset):
    model = BUILDERS[builder](Regularization.preset(preset))
    _perturb(model)
    x = np.random.default_rng(0).uniform(size=(2, 32, 32, 3)).astype("float32")
    path = tmp_path / f"{builder}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)  # no custom_objects
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6, rtol=0
    )
    assert len(loaded.losses) == len(model.losses)
    assert regularization_loss(loaded) == pytest.approx(regularization_loss(model), rel=1e-6)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]


@pytest.mark.parametrize("builder", list(BUILDERS))
def test_config_round_trip(builder):
    model = BUILDERS[builder](Regularization.preset("bn+l2"))
    clone = keras.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    x = np.random.default_rng(0).uniform(size=(2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    assert len(clone.losses) == len(model.losses)


def test_mixed_precision_model_reloads_with_its_policy(tmp_path):
    keras.config.set_dtype_policy("mixed_float16")
    model = BUILDERS["cnn"](Regularization.preset("all"))
    path = tmp_path / "mixed.keras"
    model.save(path)
    keras.config.set_dtype_policy("float32")
    loaded = keras.saving.load_model(path)
    assert loaded.get_layer("cnn_block1_conv1").dtype_policy.name == "mixed_float16"
    assert loaded.get_layer("cnn_head_predictions").dtype_policy.name == "float32"
    x = np.random.default_rng(0).uniform(size=(2, 32, 32, 3)).astype("float32")
    out = loaded.predict(x, verbose=0)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, model.predict(x, verbose=0), atol=1e-6)
