"""apply_regularization and the regularizer factory: the Keras 3 traps, avoided."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from regkit import Regularization, apply_regularization, build_cnn
from regkit.regularization import (
    bias_regularizer,
    decay_exempt_variables,
    kernel_regularizer,
    regularization_loss,
    regularized_variables,
)


def test_factory_builds_the_right_regularizer():
    assert kernel_regularizer(None) is None
    assert kernel_regularizer("bn") is None
    assert isinstance(kernel_regularizer(Regularization(l2=0.1)), keras.regularizers.L2)
    assert isinstance(kernel_regularizer(Regularization(l1=0.1)), keras.regularizers.L1)
    both = kernel_regularizer(Regularization(l1=0.1, l2=0.2))
    assert isinstance(both, keras.regularizers.L1L2)
    assert both.get_config() == pytest.approx({"l1": 0.1, "l2": 0.2})
    assert bias_regularizer(Regularization(l2=0.1)) is None
    assert bias_regularizer(Regularization(l2=0.1, regularize_bias=True)).get_config() == {
        "l2": 0.1
    }


def _small_application():
    return keras.applications.MobileNetV2(
        (32, 32, 3), alpha=0.35, weights=None, classes=4, include_top=True
    )


def test_setting_the_attribute_alone_is_the_trap():
    """What users try first: Keras 3 ignores it. regkit's function is needed."""
    model = _small_application()
    for layer in model.layers:
        if hasattr(layer, "kernel_regularizer"):
            layer.kernel_regularizer = keras.regularizers.L2(1e-4)
    assert model.losses == []


def test_apply_regularization_keeps_weights_and_adds_one_term_per_kernel(tmp_path):
    model = _small_application()
    before = [w.copy() for w in model.get_weights()]
    x = np.random.default_rng(0).uniform(size=(2, 32, 32, 3)).astype("float32")
    predictions = model.predict(x, verbose=0)

    out = apply_regularization(model, Regularization(l2=1e-4))
    assert out is model
    kernels = regularized_variables(model)
    assert len(kernels) == 53  # 35 conv + 17 depthwise + 1 dense
    assert len(model.losses) == len(kernels)
    for old, new in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)
    np.testing.assert_allclose(model.predict(x, verbose=0), predictions, atol=1e-6)

    expected = 1e-4 * sum(float(np.sum(np.square(v.numpy()))) for v in kernels)
    assert regularization_loss(model) == pytest.approx(expected, rel=1e-5)

    path = tmp_path / "regularized.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert len(loaded.losses) == len(model.losses)
    assert regularization_loss(loaded) == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), predictions, atol=1e-6)


def test_fit_uses_the_added_penalty():
    model = build_cnn((8, 8, 1), 3, filters=(4,), dense_units=(8,), reg=None)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).uniform(size=(4, 8, 8, 1)).astype("float32")
    y = np.array([0, 1, 2, 0])
    plain = model.evaluate(x, y, verbose=0)
    apply_regularization(model, Regularization(l2=0.5))
    penalised = model.evaluate(x, y, verbose=0)
    assert penalised - plain == pytest.approx(regularization_loss(model), rel=1e-4)
    assert regularization_loss(model) > 0.01


def test_bias_and_depthwise_switches():
    model = _small_application()
    apply_regularization(model, Regularization(l2=1e-4, regularize_bias=True))
    assert len(model.losses) == 54  # + the classifier's bias (convs have none)
    apply_regularization(model, Regularization(l2=1e-4, regularize_depthwise=False))
    assert len(model.losses) == 36
    apply_regularization(model, None)
    assert model.losses == []


def test_overwrite_false_keeps_existing_regularizers():
    model = build_cnn((8, 8, 1), 3, filters=(4,), dense_units=(8,), reg=Regularization(l2=0.5))
    apply_regularization(model, Regularization(l1=0.1), overwrite=False)
    assert model.get_layer("cnn_block1_conv1").kernel_regularizer.get_config() == {"l2": 0.5}


def test_nested_models_are_reached():
    inner = build_cnn((8, 8, 1), 3, filters=(4,), dense_units=(), name="inner")
    outer = keras.Sequential([keras.Input((8, 8, 1)), inner])
    apply_regularization(outer, Regularization(l2=0.1))
    assert len(outer.losses) == 3


def test_apply_regularization_errors():
    with pytest.raises(TypeError, match="argument `model`"):
        apply_regularization(keras.layers.Dense(3), Regularization(l2=0.1))
    unbuilt = keras.Sequential([keras.layers.Dense(3)])
    with pytest.raises(ValueError, match="argument `model`: the model is not built"):
        apply_regularization(unbuilt, Regularization(l2=0.1))


def test_decay_exempt_variables_are_bn_and_biases():
    model = build_cnn((8, 8, 1), 3, filters=(4,), dense_units=(8,), reg="all")
    exempt = {v.path for v in decay_exempt_variables(model)}
    assert "cnn_block1_bn1/gamma" in exempt and "cnn_block1_bn1/beta" in exempt
    assert "cnn_block1_conv1/bias" in exempt and "cnn_head_predictions/bias" in exempt
    assert not any(path.endswith("kernel") for path in exempt)
    assert not any("moving" in path for path in exempt)


# ------------------------------------------------------------------------------- L2-SP
def _l2_sp_model():
    inputs = keras.Input((6, 6, 2))
    x = keras.layers.Conv2D(3, 3, name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.DepthwiseConv2D(3, name="dw")(x)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(4, name="out")(x))


def _sp_by_hand(model, start, a):
    return sum(
        a * np.sum((keras.ops.convert_to_numpy(v).astype(np.float64) - start[i]) ** 2)
        for i, v in enumerate(regularized_variables(model))
    )


def test_l2_sp_penalty_is_the_pull_toward_the_starting_weights_before_and_after_saving(tmp_path):
    from regkit.regularization import L2SP, load_model

    keras.utils.set_random_seed(0)
    model = _l2_sp_model()
    a = 0.05
    apply_regularization(model, Regularization(l2_sp=a))
    start = [keras.ops.convert_to_numpy(v).astype(np.float64) for v in regularized_variables(model)]
    assert len(start) == 3 and len(model.losses) == 3  # conv, depthwise, dense; no bias, no BN
    assert regularization_loss(model) == pytest.approx(0.0, abs=1e-12)
    rng = np.random.default_rng(1)
    for v in regularized_variables(model):  # move away from w0, as training would
        v.assign(v.numpy() + rng.normal(0, 0.3, v.shape).astype("float32"))
    expected = _sp_by_hand(model, start, a)
    assert expected > 0.1
    assert regularization_loss(model) == pytest.approx(expected, rel=1e-5)
    model.compile("sgd", "mse")
    model.save(tmp_path / "m.keras")
    for reloaded in (
        load_model(tmp_path / "m.keras"),
        keras.saving.load_model(tmp_path / "m.keras"),
    ):
        assert isinstance(reloaded.get_layer("conv").kernel.regularizer, L2SP)
        assert regularization_loss(reloaded) == pytest.approx(expected, rel=1e-5)
        assert _sp_by_hand(reloaded, start, a) == pytest.approx(expected, rel=1e-5)


def test_l2_sp_keeps_l2_terms_and_its_kernels_leave_weight_decay():
    from regkit.training import compile_model

    keras.utils.set_random_seed(0)
    model = _l2_sp_model()
    apply_regularization(model, Regularization(l2=0.1, l2_sp=0.05, regularize_depthwise=False))
    dense = model.get_layer("out").kernel
    w = dense.numpy().astype(np.float64)
    dense.assign(dense.numpy() + 1.0)
    penalty = keras.ops.convert_to_numpy(dense.regularizer(dense))
    assert penalty == pytest.approx(0.05 * w.size + 0.1 * np.sum((w + 1.0) ** 2), rel=1e-5)
    dw = model.get_layer("dw").kernel.regularizer.get_config()  # no L2 there, only the pull
    assert (dw["l2"], dw["l2_sp"]) == (0.0, 0.05)
    fresh = apply_regularization(_l2_sp_model(), Regularization(l2_sp=0.05))
    compile_model(fresh, optimizer="sgd", learning_rate=0.1, weight_decay=0.5)
    exempt = {id(v) for v in decay_exempt_variables(fresh)}
    assert all(id(v) in exempt for v in regularized_variables(fresh))
    before = [v.numpy() for v in regularized_variables(fresh)]
    # zero inputs and w = w0: every kernel gradient is 0, so any change would be the decay
    fresh.train_on_batch(np.zeros((2, 6, 6, 2), "float32"), np.zeros(2, "int64"))
    for b, v in zip(before, regularized_variables(fresh), strict=True):
        np.testing.assert_array_equal(b, v.numpy())


def test_l2_sp_rejects_bad_arguments():
    from regkit.regularization import L2SP

    with pytest.raises(ValueError, match="Invalid value for argument `l2_sp`"):
        L2SP(-1.0, np.zeros(2))
    with pytest.raises(ValueError, match="argument `reference`: expected finite"):
        L2SP(0.1, np.array([np.nan]))
    with pytest.raises(ValueError, match="kernel of the reference's shape"):
        L2SP(0.1, np.zeros(2))(keras.ops.zeros((3,)))
