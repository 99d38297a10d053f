"""Every builder x every preset saves to .keras and loads back without custom objects."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from regkit import Regularization, build_cnn, build_mobilenet_v2, build_resnet
from regkit.config import PRESETS
from regkit.regularization import regularization_loss

BUILDERS = {
    "cnn": lambda reg: build_cnn((32, 32, 3), 5, filters=(8, 16), dense_units=(16,), reg=reg),
    "cnn_conv_bn_act": lambda reg: build_cnn(
        (32, 32, 3), 5, filters=(8,), norm_order="conv-bn-act", output="logits", reg=reg
    ),
    "mobilenet_v2": lambda reg: build_mobilenet_v2((32, 32, 3), 5, alpha=0.35, reg=reg),
}

#: MobileNetV2 (~150 layers) costs seconds per round trip; the default tier keeps its
#: richest preset ("all": BN, L2 and dropout together), the slow tier every other one.
_MOBILENET_DEFAULT = "all"
CASES = [
    pytest.param(b, p, marks=pytest.mark.slow)
    if b == "mobilenet_v2" and p != _MOBILENET_DEFAULT
    else (b, p)
    for b in BUILDERS
    for p in PRESETS
]


def _predict(model, x):
    """One inference-mode forward pass, eagerly (no tf.function trace as `predict` does)."""
    return keras.ops.convert_to_numpy(model(x, training=False))


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
    np.testing.assert_allclose(_predict(loaded, x), _predict(model, x), atol=1e-6, rtol=0)
    assert len(loaded.losses) == len(model.losses)
    assert regularization_loss(loaded) == pytest.approx(regularization_loss(model), rel=1e-6)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]


@pytest.mark.parametrize("builder", list(BUILDERS))
def test_config_round_trip(builder):
    model = BUILDERS[builder](Regularization.preset("bn+l2"))
    clone = keras.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    x = np.random.default_rng(0).uniform(size=(2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(_predict(clone, x), _predict(model, x), atol=1e-6)
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


# ---------------------------------------------------------- regkit.load_model (issue 11)


def _decayed_after_one_step(model) -> set[str]:
    """Paths of the variables one all-zero-gradient step moves: only weight decay can."""
    before = {v.path: v.numpy().copy() for v in model.trainable_variables}
    zeros = [keras.ops.zeros_like(v) for v in model.trainable_variables]
    model.optimizer.apply_gradients(zip(zeros, model.trainable_variables, strict=True))
    return {v.path for v in model.trainable_variables if not np.array_equal(v, before[v.path])}


def _saved_with_decay(tmp_path):
    from regkit.training import compile_model

    model = build_cnn((8, 8, 1), 3, filters=(4,), convs_per_block=1, dense_units=(4,), reg="bn")
    compile_model(model, optimizer="sgd", learning_rate=0.1, weight_decay=0.5)
    model.fit(np.zeros((4, 8, 8, 1)), np.arange(4) % 3, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    kernels = {v.path for v in model.trainable_variables if v.path.endswith("kernel")}
    return path, kernels


def test_keras_load_model_loses_the_decay_exclusions_regkit_load_model_keeps_them(tmp_path):
    import regkit

    path, kernels = _saved_with_decay(tmp_path)
    plain = keras.saving.load_model(path)  # the trap: gamma, beta and biases decay too
    assert kernels < _decayed_after_one_step(plain)
    assert any(p.endswith(("gamma", "bias")) for p in _decayed_after_one_step(plain))

    model = regkit.load_model(path)
    assert model.optimizer.weight_decay == pytest.approx(0.5)
    assert _decayed_after_one_step(model) == kernels


def test_compile_model_fixes_a_model_keras_loaded(tmp_path):
    from regkit.training import compile_model

    path, kernels = _saved_with_decay(tmp_path)
    model = keras.saving.load_model(path)
    compile_model(model, optimizer=model.optimizer)  # its optimizer is built: still fixed
    assert _decayed_after_one_step(model) == kernels


def test_load_model_names_a_bad_path(tmp_path):
    from regkit import load_model

    with pytest.raises(ValueError, match=r"`path`.*existing"):
        load_model(tmp_path / "missing.keras")
    with pytest.raises(ValueError, match=r"`path`.*\.weights\.h5"):
        load_model(tmp_path / "model.weights.h5")
    with pytest.raises(TypeError, match="`path`"):
        load_model(None)


# ------------------------------------------------- issue 20: models holding regkit.layers
STRUCTURAL = Regularization(l2=1e-4, batch_norm=True, drop_path=0.2, drop_block=0.1)
STRUCTURAL_BUILDERS = {
    "cnn": lambda: build_cnn((16, 16, 3), 5, filters=(4, 8), dense_units=(), reg=STRUCTURAL),
    "mobilenet_v2": lambda: build_mobilenet_v2((32, 32, 3), 5, alpha=0.35, reg=STRUCTURAL),
    "resnet": lambda: build_resnet((16, 16, 3), 5, depth=8, width=4, reg=STRUCTURAL),
}


@pytest.mark.parametrize(
    "builder",
    [
        pytest.param(b, marks=pytest.mark.slow) if b == "mobilenet_v2" else b
        for b in STRUCTURAL_BUILDERS
    ],
)
def test_models_with_drop_path_and_drop_block_round_trip_exactly(tmp_path, builder):
    import regkit

    model = STRUCTURAL_BUILDERS[builder]()
    assert any("drop" in type(layer).__name__.lower() for layer in model.layers)
    _perturb(model)
    path = tmp_path / f"{builder}.keras"
    model.save(path)
    x = np.random.default_rng(0).uniform(size=(2, *model.input_shape[1:])).astype("float32")
    expected = model.predict(x, verbose=0)
    for loaded in (regkit.load_model(path), keras.saving.load_model(path)):
        np.testing.assert_array_equal(loaded.predict(x, verbose=0), expected)
        assert [layer.get_config() for layer in loaded.layers] == [
            layer.get_config() for layer in model.layers
        ]


@pytest.mark.slow  # two fresh Python processes that import TensorFlow
def test_keras_load_model_needs_regkit_layers_imported_and_says_so(tmp_path):
    import subprocess
    import sys

    model = STRUCTURAL_BUILDERS["resnet"]()
    path = tmp_path / "resnet.keras"
    model.save(path)
    script = (
        "import sys, keras\n"
        "try:\n"
        "    keras.saving.load_model(sys.argv[1])\n"
        "except TypeError as e:\n"
        "    print('KERAS FAILED:', e)\n"
        "import regkit\n"
        "regkit.load_model(sys.argv[1])\n"
        "keras.saving.load_model(sys.argv[1])\n"
        "print('BOTH LOADED')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "KERAS FAILED:" in result.stdout
    assert "Could not locate class 'DropPath'" in result.stdout
    assert "'module': 'regkit.layers'" in result.stdout  # Keras names what to import
    assert "BOTH LOADED" in result.stdout
