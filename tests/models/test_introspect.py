"""regkit.introspect: one reading of a built model, shared by regularizers, callbacks, reports."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from regkit import Regularization, apply_regularization, build_cnn
from regkit.introspect import (
    Kernel,
    activation_name,
    bn_followed_kernels,
    decay_exempt_variables,
    input_value_range,
    iter_layers,
    kernel_norms,
    kernels,
    kernels_followed_by_batch_norm,
    output_kind,
    regularization_loss,
    regularized_variables,
    total_kernel_norm,
)


def _every_kernel_kind() -> keras.Model:
    """Conv2D, DepthwiseConv2D, SeparableConv2D (two kernels) and Dense, one each."""
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    x = keras.layers.DepthwiseConv2D(3, name="depthwise")(x)
    x = keras.layers.SeparableConv2D(5, 3, name="sep")(x)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(2, name="out")(x))


def _numpy(variable) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(variable), dtype=np.float64)


def test_the_three_views_agree_on_every_kernel_kind():
    model = _every_kernel_kind()
    found = kernels(model)
    assert [k.key for k in found] == [
        "conv_kernel",
        "depthwise_kernel",
        "sep_depthwise_kernel",
        "sep_pointwise_kernel",
        "out_kernel",
    ]
    assert all(isinstance(k, Kernel) and getattr(k.layer, k.attr) is k.variable for k in found)

    # Regularized variables are exactly those kernels ...
    assert [id(v) for v in regularized_variables(model)] == [id(k.variable) for k in found]
    # ... the per-kernel norms are their norms ...
    norms = kernel_norms(model)
    assert list(norms) == [k.key for k in found]
    for k in found:
        assert norms[k.key] == pytest.approx(np.linalg.norm(_numpy(k.variable)), rel=1e-12)
    # ... and the total is the global norm over the same set, SeparableConv's pointwise
    # kernel included (matching variable names missed it: its variable is not "kernel").
    everything = np.concatenate([_numpy(k.variable).ravel() for k in found])
    assert total_kernel_norm(model) == pytest.approx(np.linalg.norm(everything), rel=1e-12)
    assert total_kernel_norm(model) == pytest.approx(
        math.sqrt(sum(v**2 for v in norms.values())), rel=1e-12
    )
    by_name = [v for v in model.weights if v.name in ("kernel", "depthwise_kernel")]
    assert len(by_name) == 4  # the name-based count the 0.1 experiment runner used

    # An L2 penalty on "every kernel" adds one term per kernel, summing to l2 * total**2.
    apply_regularization(model, Regularization(l2=0.01))
    assert len(model.losses) == len(found)
    assert regularization_loss(model) == pytest.approx(
        0.01 * total_kernel_norm(model) ** 2, rel=1e-5
    )


def test_regularization_loss_is_zero_without_penalties():
    assert regularization_loss(_every_kernel_kind()) == 0.0


def test_kernels_of_nested_and_shared_layers_are_listed_once():
    shared = keras.layers.Dense(3, name="shared")
    inputs = keras.Input((4,))
    inner = keras.Model(inputs, shared(shared(keras.layers.Dense(3, name="a")(inputs))))
    outer_in = keras.Input((4,))
    outer = keras.Model(outer_in, keras.layers.Dense(1, name="b")(inner(outer_in)))
    assert [k.key for k in kernels(outer)] == ["a_kernel", "shared_kernel", "b_kernel"]
    assert [layer.name for layer in iter_layers(outer)].count("shared") == 1


def test_decay_exempt_variables_are_norm_parameters_and_biases():
    model = build_cnn((8, 8, 1), 3, filters=(4,), dense_units=(4,), reg="bn")
    exempt = {v.path for v in decay_exempt_variables(model)}
    assert exempt == {
        "cnn_block1_conv1/bias",
        "cnn_block1_bn1/gamma",
        "cnn_block1_bn1/beta",
        "cnn_block1_conv2/bias",
        "cnn_block1_bn2/gamma",
        "cnn_block1_bn2/beta",
        "cnn_head_dense1/bias",
        "cnn_head_bn1/gamma",
        "cnn_head_bn1/beta",
        "cnn_head_predictions/bias",
    }


def test_bn_followed_kernels_match_the_layer_names():
    model = build_cnn((8, 8, 1), 3, filters=(4,), convs_per_block=1, dense_units=(4,), reg="bn+l2")
    found = bn_followed_kernels(model)
    assert [k.key for k in found] == ["cnn_block1_conv1_kernel", "cnn_head_dense1_kernel"]
    assert kernels_followed_by_batch_norm(model) == ["cnn_block1_conv1", "cnn_head_dense1"]


def test_activation_names_and_output_kinds():
    assert activation_name(None) is None
    assert activation_name(keras.activations.relu) == "relu"
    assert activation_name(keras.activations.leaky_relu) == "leaky_relu"
    inputs = keras.Input((4,))
    for activation, kind in (("softmax", "softmax"), ("sigmoid", "sigmoid"), (None, "logits")):
        model = keras.Model(inputs, keras.layers.Dense(2, activation=activation)(inputs))
        assert output_kind(model) == kind
    with pytest.raises(ValueError, match="relu"):
        output_kind(keras.Model(inputs, keras.layers.Dense(2, activation="relu")(inputs)))


def test_input_value_range_reads_the_rescaling_layer():
    inputs = keras.Input((8, 8, 3))
    plain = keras.Model(inputs, keras.layers.Conv2D(2, 3)(inputs))
    assert input_value_range(plain) == (0.0, 1.0)
    x = keras.layers.Rescaling(1 / 255)(inputs)
    assert input_value_range(keras.Model(inputs, keras.layers.Conv2D(2, 3)(x))) == (0.0, 255.0)
    y = keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs)  # another range: not regkit's
    assert input_value_range(keras.Model(inputs, keras.layers.Conv2D(2, 3)(y))) == (0.0, 1.0)


def test_old_import_paths_still_work():
    import regkit.callbacks
    import regkit.introspect
    import regkit.regularization
    import regkit.training

    assert regkit.callbacks.kernels_followed_by_batch_norm is kernels_followed_by_batch_norm
    assert regkit.training.output_kind is output_kind
    for name in (
        "decay_exempt_variables",
        "iter_layers",
        "kernel_attributes",
        "regularization_loss",
        "regularized_variables",
    ):
        assert getattr(regkit.regularization, name) is getattr(regkit.introspect, name)
