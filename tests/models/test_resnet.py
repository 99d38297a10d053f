"""build_resnet: the CIFAR ResNet of He et al. 2016, its structure, regularizers and errors."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from regkit import Regularization, build_resnet
from regkit.layers import DropBlock2D, DropPath
from regkit.models import RESNET_DEPTHS, resnet_blocks_per_stage

TINY = {"depth": 8, "width": 4}  # one block per stage: the structure at a fraction of the cost


def _layers_of(model, kind):
    return [layer for layer in model.layers if isinstance(layer, kind)]


@pytest.fixture(scope="module")
def resnet20():
    keras.backend.clear_session(free_memory=False)
    return build_resnet((32, 32, 3), 10, reg=Regularization(drop_path=0.2, drop_block=0.1))


@pytest.mark.parametrize(("depth", "params"), [(20, 274_042), (32, 469_370), (56, 860_026)])
def test_parameter_counts_are_pinned(depth, params):
    # ResNet-20: the paper's "0.27 M" (projection shortcuts add 3,456 to option A's count)
    assert build_resnet((32, 32, 3), 10, depth=depth).count_params() == params


def test_three_stages_of_n_basic_blocks_with_16_32_64_filters(resnet20):
    n = resnet_blocks_per_stage(20)
    assert n == 3
    outputs = {
        i: resnet20.get_layer(f"resnet_block{i}_relu2").output.shape for i in range(1, 3 * n + 1)
    }
    assert [outputs[i][1:] for i in (1, 3, 4, 6, 7, 9)] == [
        (32, 32, 16),
        (32, 32, 16),
        (16, 16, 32),
        (16, 16, 32),
        (8, 8, 64),
        (8, 8, 64),
    ]
    shortcuts = sorted(layer.name for layer in resnet20.layers if "shortcut_conv" in layer.name)
    assert shortcuts == ["resnet_block4_shortcut_conv", "resnet_block7_shortcut_conv"]
    assert resnet20.get_layer("resnet_block4_conv1").strides == (2, 2)
    assert resnet20.get_layer("resnet_head_predictions").units == 10
    assert all(not conv.use_bias for conv in _layers_of(resnet20, keras.layers.Conv2D))


def test_width_scales_every_stage():
    model = build_resnet((16, 16, 3), 4, depth=8, width=8)
    convs = [layer.filters for layer in _layers_of(model, keras.layers.Conv2D)]
    assert sorted(set(convs)) == [8, 16, 32]


def test_drop_path_rates_grow_linearly_over_all_blocks(resnet20):
    drops = _layers_of(resnet20, DropPath)
    assert [d.name for d in drops] == [f"resnet_block{i}_droppath" for i in range(1, 10)]
    assert [d.rate for d in drops] == pytest.approx([0.2 * i / 9 for i in range(1, 10)])


def test_drop_block_follows_stages_2_and_3(resnet20):
    drops = _layers_of(resnet20, DropBlock2D)
    assert [(d.name, d.rate, d.block_size) for d in drops] == [
        ("resnet_stage2_dropblock", 0.1, 7),
        ("resnet_stage3_dropblock", 0.1, 7),
    ]


def test_inference_equals_the_same_weights_without_the_new_layers(resnet20):
    plain = build_resnet((32, 32, 3), 10, reg=Regularization())
    rng = np.random.default_rng(0)
    weights = [
        w + rng.normal(scale=0.05, size=w.shape).astype(w.dtype) for w in plain.get_weights()
    ]
    plain.set_weights(weights)
    for layer in plain.layers:  # by name: the graph order of a block's layers may differ
        resnet20.get_layer(layer.name).set_weights(layer.get_weights())
    x = rng.uniform(size=(2, 32, 32, 3)).astype("float32")
    np.testing.assert_array_equal(resnet20.predict(x, verbose=0), plain.predict(x, verbose=0))
    extra = [layer for layer in resnet20.layers if isinstance(layer, DropPath | DropBlock2D)]
    names = {layer.name for layer in resnet20.layers} - {layer.name for layer in extra}
    assert names == {layer.name for layer in plain.layers}


def test_l2_reaches_every_conv_and_the_classifier_and_bn_is_always_there():
    model = build_resnet((8, 8, 1), 3, **TINY, reg=Regularization(l2=1e-4))
    convs = _layers_of(model, keras.layers.Conv2D)
    assert (
        len(model.losses) == len(convs) + 1 == 3 * 2 + 2 + 1 + 1
    )  # blocks, projections, stem, head
    assert len(_layers_of(model, keras.layers.BatchNormalization)) == len(convs)


@pytest.mark.parametrize("shape", [(8, 8, 1), (28, 28, 1), (None, None, 3)])
def test_small_and_unknown_input_sizes(shape):
    model = build_resnet(shape, 10, **TINY)
    assert model.output_shape == (None, 10)


def test_one_training_step_with_drop_path_and_drop_block_has_a_finite_loss():
    model = build_resnet(
        (8, 8, 1), 3, **TINY, reg=Regularization(l2=1e-4, drop_path=0.3, drop_block=0.2)
    )
    model.compile("sgd", "sparse_categorical_crossentropy")
    x = np.random.default_rng(0).uniform(size=(4, 8, 8, 1)).astype("float32")
    loss = model.train_on_batch(x, np.array([0, 1, 2, 0]))
    assert np.isfinite(loss)


@pytest.mark.parametrize(("output", "units"), [("logits", 5), ("sigmoid", 5), ("softmax", 5)])
def test_output_options(output, units):
    model = build_resnet((8, 8, 3), 5, **TINY, output=output)
    head = model.get_layer("resnet_head_predictions")
    assert head.units == units and head.dtype_policy.compute_dtype == "float32"
    assert head.get_config()["activation"] == ("linear" if output == "logits" else output)


def test_include_preprocessing_takes_uint8_pixels():
    scaled = build_resnet((8, 8, 3), 3, **TINY, include_preprocessing=True)
    plain = build_resnet((8, 8, 3), 3, **TINY)
    plain.set_weights(scaled.get_weights())
    assert scaled.get_layer("resnet_rescaling").scale == pytest.approx(1 / 255)
    pixels = np.random.default_rng(0).integers(0, 256, size=(2, 8, 8, 3), dtype=np.uint8)
    np.testing.assert_allclose(
        scaled.predict(pixels, verbose=0),
        plain.predict(pixels.astype("float32") / 255, verbose=0),
        rtol=1e-5,
        atol=1e-6,
    )


def test_paper_depths_are_6n_plus_2():
    assert [resnet_blocks_per_stage(d) for d in RESNET_DEPTHS] == [3, 5, 7, 9, 18]


@pytest.mark.parametrize("depth", [18, 51, 2, 0, -4, 10**9])
def test_a_depth_that_is_not_6n_plus_2_is_refused_naming_depth(depth):
    with pytest.raises(ValueError, match=r"Invalid value for argument `depth`") as error:
        build_resnet((32, 32, 3), 10, depth=depth)
    assert f"Received: depth={depth!r}" in str(error.value)


@pytest.mark.parametrize("depth", [20.0, "20", True, None])
def test_a_depth_that_is_not_an_int_is_a_type_error_naming_depth(depth):
    with pytest.raises(TypeError, match=r"Invalid type for argument `depth`"):
        build_resnet((32, 32, 3), 10, depth=depth)


def test_a_depth_error_lists_the_paper_depths():
    with pytest.raises(ValueError) as error:
        build_resnet((32, 32, 3), 10, depth=18)
    assert str(error.value) == (
        "Invalid value for argument `depth`: expected 6n + 2 for an int n >= 1 "
        "(e.g. 20, 32, 44, 56 or 110). Received: depth=18"
    )


@pytest.mark.parametrize(
    ("kwargs", "arg"),
    [
        ({"width": 0}, "width"),
        ({"num_classes": 1}, "num_classes"),
        ({"output": "probabilities"}, "output"),
        ({"input_shape": (3, 32, 32)}, "input_shape"),
        ({"reg": "unknown"}, "reg"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, arg):
    call = {"input_shape": (32, 32, 3), "num_classes": 10} | kwargs
    with pytest.raises(ValueError, match=rf"argument `{arg}`"):
        build_resnet(call.pop("input_shape"), call.pop("num_classes"), **call)


# ------------------------------------------------- drop_path_rate=, as keras-hub and timm
def _drop_rates(model):
    return [(layer.name, layer.rate) for layer in _layers_of(model, DropPath)]


def test_drop_path_rate_builds_the_same_model_as_reg_drop_path():
    keras.backend.clear_session(free_memory=False)
    by_keyword = build_resnet((8, 8, 1), 3, **TINY, reg="bn", drop_path_rate=0.3)
    by_reg = build_resnet(
        (8, 8, 1), 3, **TINY, reg=Regularization.preset("bn").replace(drop_path=0.3)
    )
    assert by_keyword.get_config() == by_reg.get_config()  # same layers, same settings
    names, rates = zip(*_drop_rates(by_keyword), strict=True)
    assert names == ("resnet_block1_droppath", "resnet_block2_droppath", "resnet_block3_droppath")
    assert rates == pytest.approx([0.1, 0.2, 0.3])  # block i of 3 uses 0.3 * i / 3
    agreeing = build_resnet(
        (8, 8, 1), 3, **TINY, reg=Regularization(drop_path=0.3), drop_path_rate=0.3
    )
    assert _drop_rates(agreeing) == _drop_rates(by_keyword)
    assert _layers_of(build_resnet((8, 8, 1), 3, **TINY, drop_path_rate=0.0), DropPath) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"reg": Regularization(drop_path=0.1), "drop_path_rate": 0.2},
            "Invalid value for argument `drop_path_rate`: it conflicts with `reg.drop_path` "
            "(the same setting); set it in one place. "
            "Received: drop_path_rate=0.2 with reg.drop_path=0.1",
        ),
        (
            {"reg": Regularization(drop_path=0.1), "drop_path_rate": 0.0},
            "Invalid value for argument `drop_path_rate`: it conflicts with `reg.drop_path` "
            "(the same setting); set it in one place. "
            "Received: drop_path_rate=0.0 with reg.drop_path=0.1",
        ),
        (
            {"drop_path_rate": 1.0},
            "Invalid value for argument `drop_path_rate`: expected a float in [0, 1). "
            "Received: drop_path_rate=1.0",
        ),
        (
            {"drop_path_rate": 10**400},
            "Invalid value for argument `drop_path_rate`: expected a float in [0, 1). "
            f"Received: drop_path_rate={10**400!r}",
        ),
    ],
)
def test_drop_path_rate_errors_are_exact(kwargs, message):
    with pytest.raises(ValueError) as error:
        build_resnet((8, 8, 1), 3, **TINY, **kwargs)
    assert str(error.value) == message
