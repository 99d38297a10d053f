"""Building blocks: layer placement, names, regularizers, shapes and errors."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from regkit import Regularization, conv_block, dense_head, inverted_residual
from regkit.blocks import residual_block
from regkit.layers import DropBlock2D, DropPath


def _layers(outputs, inputs):
    return keras.Model(inputs, outputs).layers[1:]


def test_conv_act_bn_places_bn_after_relu_conv():
    inputs = keras.Input((32, 32, 3))
    reg = Regularization(l2=1e-4, batch_norm=True, dropout=0.25)
    x = conv_block(inputs, 8, convs=2, reg=reg, name="b")
    assert tuple(x.shape) == (None, 16, 16, 8)
    layers = _layers(x, inputs)
    assert [layer.name for layer in layers] == [
        "b_conv1",
        "b_bn1",
        "b_conv2",
        "b_bn2",
        "b_pool",
        "b_dropout",
    ]
    conv = layers[0]
    assert conv.get_config()["activation"] == "relu" and conv.use_bias
    assert conv.kernel_regularizer.get_config() == {"l2": 1e-4}
    assert conv.bias_regularizer is None
    assert layers[1].momentum == 0.99 and layers[5].rate == 0.25


def test_conv_bn_act_drops_the_redundant_bias():
    inputs = keras.Input((32, 32, 3))
    x = conv_block(inputs, 8, convs=1, reg="bn", norm_order="conv-bn-act", name="b")
    layers = _layers(x, inputs)
    assert [type(layer).__name__ for layer in layers] == [
        "Conv2D",
        "BatchNormalization",
        "ReLU",
        "MaxPooling2D",
    ]
    assert not layers[0].use_bias
    assert layers[0].get_config()["activation"] == "linear"


def test_conv_bn_act_without_bn_keeps_bias():
    inputs = keras.Input((32, 32, 3))
    x = conv_block(inputs, 8, convs=1, norm_order="conv-bn-act", pool=False, name="b")
    layers = _layers(x, inputs)
    assert [layer.name for layer in layers] == ["b_conv1", "b_relu1"]
    assert layers[0].use_bias
    assert tuple(x.shape) == (None, 32, 32, 8)


def test_conv_block_spatial_dropout_and_bias_penalty():
    inputs = keras.Input((16, 16, 3))
    reg = Regularization(l1=1e-5, l2=1e-4, regularize_bias=True, spatial_dropout=0.1)
    x = conv_block(inputs, 4, convs=3, reg=reg, name="b")
    model = keras.Model(inputs, x)
    assert model.get_layer("b_spatial_dropout").rate == 0.1
    assert len(model.losses) == 6  # three kernels, three biases
    assert model.get_layer("b_conv1").kernel_regularizer.get_config() == {
        "l1": 1e-5,
        "l2": 1e-4,
    }


def test_unnamed_blocks_get_unique_names():
    inputs = keras.Input((32, 32, 3))
    x = conv_block(inputs, 4, convs=1)
    x = conv_block(x, 4, convs=1)
    names = [layer.name for layer in keras.Model(inputs, x).layers]
    assert len(names) == len(set(names))


@pytest.mark.parametrize(
    ("size", "stride", "expected"), [(32, 1, 32), (32, 2, 16), (33, 2, 17), (7, 2, 4)]
)
def test_inverted_residual_shapes(size, stride, expected):
    inputs = keras.Input((size, size, 16))
    x = inverted_residual(inputs, 24, stride=stride, reg="bn", name="ir")
    assert tuple(x.shape) == (None, expected, expected, 24)


def test_inverted_residual_adds_only_when_shapes_match():
    inputs = keras.Input((16, 16, 24))
    same = inverted_residual(inputs, 24, reg="bn", name="same")
    assert "same_add" in [layer.name for layer in _layers(same, inputs)]
    inputs = keras.Input((16, 16, 24))
    wider = inverted_residual(inputs, 32, reg="bn", name="wider")
    assert "wider_add" not in [layer.name for layer in _layers(wider, inputs)]


def test_inverted_residual_structure_and_regularizers():
    inputs = keras.Input((16, 16, 8))
    reg = Regularization(l2=1e-3, batch_norm=True, regularize_bias=True)
    x = inverted_residual(inputs, 8, expansion=6, reg=reg, name="ir")
    model = keras.Model(inputs, x)
    names = [layer.name for layer in model.layers[1:]]
    assert names == [
        "ir_expand",
        "ir_expand_bn",
        "ir_expand_relu",
        "ir_depthwise",
        "ir_depthwise_bn",
        "ir_depthwise_relu",
        "ir_project",
        "ir_project_bn",
        "ir_add",
    ]
    assert model.get_layer("ir_expand").filters == 48
    assert model.get_layer("ir_expand_relu").max_value == 6.0
    assert not any(getattr(layer, "use_bias", False) for layer in model.layers)
    assert len(model.losses) == 3  # expand, depthwise, project kernels; no biases exist


def test_inverted_residual_without_expansion_or_depthwise_penalty():
    inputs = keras.Input((16, 16, 8))
    reg = Regularization(l2=1e-3, regularize_depthwise=False)
    x = inverted_residual(inputs, 8, expansion=1, reg=reg, name="ir")
    model = keras.Model(inputs, x)
    assert [layer.name for layer in model.layers[1:]] == [
        "ir_depthwise",
        "ir_depthwise_relu",
        "ir_project",
        "ir_add",
    ]
    assert len(model.losses) == 1


@pytest.mark.parametrize(
    ("pooling", "layer"),
    [("flatten", "h_flatten"), ("avg", "h_avg_pool"), ("max", "h_max_pool")],
)
def test_dense_head_poolings(pooling, layer):
    inputs = keras.Input((4, 4, 8))
    outputs = dense_head(inputs, 5, units=(16,), pooling=pooling, name="h")
    model = keras.Model(inputs, outputs)
    assert [lay.name for lay in model.layers[1:3]] == [layer, "h_dense1"]  # pooled first
    assert model.output_shape == (None, 5)
    probs = model.predict(np.ones((2, 4, 4, 8), "float32"), verbose=0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_dense_head_order_and_output_regularization():
    inputs = keras.Input((8,))
    reg = Regularization(l2=0.01, head_batch_norm=True, head_dropout=0.5, regularize_output=False)
    outputs = dense_head(inputs, 3, units=(16, 8), pooling=None, reg=reg, output="logits", name="h")
    model = keras.Model(inputs, outputs)
    assert [layer.name for layer in model.layers[1:]] == [
        "h_dense1",
        "h_bn1",
        "h_dropout1",
        "h_dense2",
        "h_bn2",
        "h_dropout2",
        "h_predictions",
    ]
    assert model.get_layer("h_predictions").kernel_regularizer is None
    assert len(model.losses) == 2
    assert model.get_layer("h_predictions").get_config()["activation"] == "linear"


def test_dense_head_without_hidden_layers_puts_dropout_before_classifier():
    inputs = keras.Input((8,))
    outputs = dense_head(inputs, 3, units=(), pooling=None, reg="dropout", name="h")
    names = [layer.name for layer in keras.Model(inputs, outputs).layers[1:]]
    assert names == ["h_dropout", "h_predictions"]


def test_dense_head_is_float32_under_mixed_precision():
    keras.config.set_dtype_policy("mixed_float16")
    inputs = keras.Input((4, 4, 3))
    x = conv_block(inputs, 4, convs=1, name="b")
    assert x.dtype == "float16"
    outputs = dense_head(x, 3, units=(8,), name="h")
    assert outputs.dtype == "float32"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda x: conv_block(x, 0),
            "Invalid value for argument `filters`: expected an int >= 1. Received: filters=0",
        ),
        (
            lambda x: conv_block(x, 4, norm_order="bn-first"),
            "Invalid value for argument `norm_order`: expected one of 'conv-act-bn', "
            "'conv-bn-act'. Received: norm_order='bn-first'",
        ),
        (
            lambda x: inverted_residual(x, 4, stride=3),
            "Invalid value for argument `stride`: expected one of 1, 2. Received: stride=3",
        ),
        (
            lambda x: dense_head(x, 0),
            "Invalid value for argument `num_classes`: expected an int >= 1. "
            "Received: num_classes=0",
        ),
        (
            lambda x: dense_head(x, 3, output="tanh"),
            "Invalid value for argument `output`: expected one of 'softmax', 'sigmoid', "
            "'logits'. Received: output='tanh'",
        ),
        (
            lambda x: dense_head(x, 3, pooling="sum"),
            "Invalid value for argument `pooling`: expected one of 'flatten', 'avg', 'max', None. "
            "Received: pooling='sum'",
        ),
        (
            lambda x: dense_head(x, 3, units=(8, 0)),
            "Invalid value for argument `units`: expected a sequence of ints >= 1. "
            "Received: units=(8, 0)",
        ),
    ],
)
def test_block_errors_name_the_argument(call, message):
    with pytest.raises(ValueError) as err:
        call(keras.Input((8, 8, 3)))
    assert str(err.value) == message


def test_conv_block_rejects_flat_input_and_tiny_maps():
    with pytest.raises(ValueError, match="expected a tensor of rank 4"):
        conv_block(keras.Input((8,)), 4)
    with pytest.raises(ValueError, match="too small for 1 2x2 pooling"):
        conv_block(keras.Input((1, 1, 3)), 4)
    with pytest.raises(TypeError, match="argument `x`"):
        conv_block(np.zeros((1, 8, 8, 3)).tolist(), 4)


# ------------------------------------------------------------- issue 20: the structural ones
def test_conv_block_puts_drop_block_where_spatial_dropout_goes():
    inputs = keras.Input((16, 16, 3))
    reg = Regularization(drop_block=0.1, drop_block_size=3, spatial_dropout=0.1, dropout=0.2)
    x = conv_block(inputs, 4, convs=1, reg=reg, name="b")
    names = [layer.name for layer in _layers(x, inputs)]
    assert names == ["b_conv1", "b_pool", "b_dropblock", "b_spatial_dropout", "b_dropout"]
    block = _layers(x, inputs)[2]
    assert isinstance(block, DropBlock2D) and (block.rate, block.block_size) == (0.1, 3)


def test_inverted_residual_drop_path_sits_on_the_branch_of_a_skip_only():
    inputs = keras.Input((8, 8, 8))
    x = inverted_residual(inputs, 8, expansion=2, reg=Regularization(drop_path=0.3), name="s")
    layers = _layers(x, inputs)
    drop = [layer for layer in layers if isinstance(layer, DropPath)]
    assert [(d.name, d.rate) for d in drop] == [("s_droppath", 0.3)]
    add = layers[-1]
    assert add.name == "s_add"
    # the add takes the block's input and the dropped branch
    parents = {t._keras_history[0].name for t in add._inbound_nodes[0].input_tensors}
    assert parents == {"s_droppath", keras.Model(inputs, x).layers[0].name}
    y = inverted_residual(inputs, 16, expansion=2, reg=Regularization(drop_path=0.3), name="p")
    assert not any(isinstance(layer, DropPath) for layer in _layers(y, inputs))  # no skip
    z = inverted_residual(inputs, 8, expansion=2, reg="bn", drop_path=0.1, name="o")
    assert [d.rate for d in _layers(z, inputs) if isinstance(d, DropPath)] == [0.1]


def test_residual_block_identity_and_projection_shortcuts():
    inputs = keras.Input((8, 8, 4))
    x = residual_block(inputs, 4, reg=Regularization(l2=1e-4, drop_path=0.2), name="r")
    names = [layer.name for layer in _layers(x, inputs)]
    assert sorted(names) == sorted(
        ["r_conv1", "r_bn1", "r_relu1", "r_conv2", "r_bn2", "r_droppath", "r_add", "r_relu2"]
    )
    y = residual_block(inputs, 8, stride=2, name="q")
    names = {layer.name for layer in _layers(y, inputs)}
    assert {"q_shortcut_conv", "q_shortcut_bn"} <= names and "q_droppath" not in names
    assert tuple(y.shape) == (None, 4, 4, 8)
    model = keras.Model(inputs, x)
    assert len(model.losses) == 2  # both convolutions, no bias anywhere
    assert not model.get_layer("r_conv1").use_bias


def test_residual_block_computes_relu_of_branch_plus_shortcut():
    inputs = keras.Input((4, 4, 2))
    model = keras.Model(inputs, residual_block(inputs, 2, name="r"))
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(size=w.shape).astype("float32") for w in model.get_weights()])
    x = rng.normal(size=(1, 4, 4, 2)).astype("float32")
    branch = keras.Model(inputs, model.get_layer("r_bn2").output)
    expected = np.maximum(x + branch.predict(x, verbose=0), 0)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda x: residual_block(x, 4, drop_path=1.0),
            "Invalid value for argument `drop_path`: expected a float in [0, 1). "
            "Received: drop_path=1.0",
        ),
        (
            lambda x: inverted_residual(x, 3, drop_path=-0.1),
            "Invalid value for argument `drop_path`: expected a float in [0, 1). "
            "Received: drop_path=-0.1",
        ),
        (
            lambda x: residual_block(x, 4, stride=3),
            "Invalid value for argument `stride`: expected one of 1, 2. Received: stride=3",
        ),
    ],
)
def test_structural_block_errors_name_the_argument(call, message):
    with pytest.raises(ValueError) as err:
        call(keras.Input((8, 8, 3)))
    assert str(err.value) == message


@pytest.mark.parametrize("block", ["inverted_residual", "residual_block"])
def test_a_residual_block_needs_known_channels_and_says_so(block):
    import regkit.blocks

    x = keras.Input((8, 8, None))
    with pytest.raises(ValueError, match=r"`x`: the channel dimension must be known"):
        getattr(regkit.blocks, block)(x, 8)
