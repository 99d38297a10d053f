"""Model builders: the seeds' models layer for layer, MobileNetV2 parity, errors."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import seed_models
from regkit import Regularization, build_cnn, build_mobilenet_v2, build_resnet
from regkit.layers import DropBlock2D, DropPath
from regkit.models import MOBILENET_V2_STAGES, InvertedResidualSpec


def _signature(model: keras.Model) -> list[tuple[str, int]]:
    """(layer type, parameter count) for every layer that holds weights or shapes data."""
    skip = (keras.layers.InputLayer, keras.layers.Activation, keras.layers.ReLU)
    return [
        (type(layer).__name__, layer.count_params())
        for layer in model.layers
        if not isinstance(layer, skip)
    ]


def _regularizer_configs(model: keras.Model) -> list:
    out = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        for attr in ("kernel_regularizer", "depthwise_regularizer", "bias_regularizer"):
            regularizer = getattr(layer, attr, None)
            out.append(None if regularizer is None else regularizer.get_config())
    return out


def _assert_same_function(reference: keras.Model, model: keras.Model, shape, *, logits_of=None):
    """Copies the reference's weights into `model` and compares inference outputs."""
    model.set_weights(reference.get_weights())
    x = np.random.default_rng(1).uniform(0, 1, size=(2, *shape)).astype("float32")
    np.testing.assert_allclose(
        model.predict(x, verbose=0), reference.predict(x, verbose=0), rtol=1e-5, atol=1e-5
    )


SEED000_REG = Regularization(
    l2=0.01, batch_norm=True, head_batch_norm=True, head_dropout=0.5, regularize_output=False
)


def seed000_regkit(reg=SEED000_REG):
    return build_cnn((32, 32, 3), 10, filters=(32,), convs_per_block=1, dense_units=(512,), reg=reg)


def test_seed000_layer_for_layer():
    model = seed000_regkit()
    reference = seed_models.seed000(keras.regularizers.L2(0.01))
    assert model.count_params() == reference.count_params() == 4_203_018
    assert _signature(model) == _signature(reference)
    assert _regularizer_configs(model) == _regularizer_configs(reference)
    assert len(model.losses) == len(reference.losses) == 2
    _assert_same_function(reference, model, (32, 32, 3))


def test_seed000_without_regularizer_has_no_penalty():
    model = seed000_regkit(SEED000_REG.replace(l2=0.0))
    assert model.count_params() == 4_203_018
    assert model.losses == []


SEED001_REG = Regularization(batch_norm=True, dropout=0.25, head_batch_norm=True, head_dropout=0.5)


def test_seed001_layer_for_layer_at_160():
    model = build_cnn((160, 160, 3), 10, reg=SEED001_REG)
    reference = seed_models.seed001()
    assert _signature(model) == _signature(reference)
    assert (
        model.count_params() == reference.count_params() == 13_399_850
    )  # the seed reports ~13.4M trainable
    assert [type(layer).__name__ for layer in model.layers[1:]] == [
        type(layer).__name__ for layer in reference.layers
    ]
    assert model.get_layer("cnn_block3_dropout").rate == 0.25
    assert model.get_layer("cnn_head_dropout1").rate == 0.5
    _assert_same_function(reference, model, (160, 160, 3))


SEED003_REG = Regularization(l2=0.01, batch_norm=True, head_dropout=0.5, regularize_output=False)


def seed003_regkit():
    return build_cnn(
        (32, 32, 3),
        10,
        filters=(32, 64, 128),
        convs_per_block=1,
        dense_units=(64,),
        norm_order="conv-bn-act",
        pool=(True, True, False),
        output="logits",
        reg=SEED003_REG,
    )


def test_seed003_layer_for_layer():
    model = seed003_regkit()
    reference = seed_models.seed003()
    assert _signature(model) == _signature(reference)
    assert model.count_params() == reference.count_params()
    # The seed's conv biases (32 + 64 + 128) are cancelled by BatchNorm: dropped on purpose.
    assert seed_models.seed003(conv_bias=True).count_params() - model.count_params() == 224
    assert len(model.losses) == len(reference.losses) == 4
    assert model.get_layer("cnn_head_predictions").get_config()["activation"] == "linear"
    _assert_same_function(reference, model, (32, 32, 3))


SEED002_VARIANTS = {
    "bn_only": (Regularization(batch_norm=True), True, None),
    "l2_only": (Regularization(l2=0.001, regularize_bias=True), False, 0.001),
    "bn_l2": (Regularization(l2=0.001, regularize_bias=True, batch_norm=True), True, 0.001),
}


@pytest.mark.parametrize("variant", list(SEED002_VARIANTS))
def test_seed002_mobilenet_variants_layer_for_layer(variant):
    reg, bn, l2 = SEED002_VARIANTS[variant]
    shape = (64, 64, 3)
    model = build_mobilenet_v2(shape, 10, reg=reg, output="logits")
    reference = seed_models.seed002(
        shape, 10, bn=bn, regularizer=keras.regularizers.L2(l2) if l2 else None
    )
    assert _signature(model) == _signature(reference)
    assert model.count_params() == reference.count_params()
    assert len(model.losses) == len(reference.losses)
    _assert_same_function(reference, model, shape)


def test_seed002_penalty_counts():
    def build(name):
        return build_mobilenet_v2((32, 32, 3), 10, reg=SEED002_VARIANTS[name][0], output="logits")

    # 52 conv/depthwise kernels + classifier kernel + classifier bias; BN gamma/beta never.
    assert len(build("l2_only").losses) == 54
    assert len(build("bn_l2").losses) == 54
    assert build("bn_only").losses == []


def test_mobilenet_v2_224_matches_keras_applications_count():
    model = build_mobilenet_v2((224, 224, 3), 10, reg=Regularization(batch_norm=True))
    assert model.count_params() == 2_270_794


@pytest.mark.parametrize(
    ("alpha", "shape"),
    [
        (0.35, (32, 32, 3)),
        (0.5, (48, 40, 3)),
        (0.75, (33, 33, 1)),
        (1.3, (32, 32, 3)),
        (1.4, (64, 64, 3)),
    ],
)
def test_mobilenet_v2_matches_keras_applications(alpha, shape):
    model = build_mobilenet_v2(shape, 7, alpha=alpha, reg=Regularization(batch_norm=True))
    reference = keras.applications.MobileNetV2(shape, alpha=alpha, weights=None, classes=7)
    assert model.count_params() == reference.count_params()
    assert _signature(model) == _signature(reference)


def test_mobilenet_v2_is_described_as_data():
    assert isinstance(MOBILENET_V2_STAGES[0], InvertedResidualSpec)
    assert sum(spec.repeats for spec in MOBILENET_V2_STAGES) == 17
    model = build_mobilenet_v2((32, 32, 3), 10, alpha=0.35, reg="bn")
    assert model.get_layer("mobilenet_v2_block16_project").filters == 112
    assert model.get_layer("mobilenet_v2_top_conv").filters == 1280


def test_mobilenet_v2_without_top():
    features = build_mobilenet_v2((64, 64, 3), include_top=False, pooling=None, alpha=0.35)
    assert features.output_shape == (None, 2, 2, 1280)
    pooled = build_mobilenet_v2((None, None, 3), include_top=False, pooling="max", alpha=0.35)
    assert pooled.output_shape == (None, 1280)
    assert pooled.predict(np.zeros((1, 40, 48, 3)), verbose=0).shape == (1, 1280)


def test_mobilenet_v2_head_dropout_sits_before_classifier():
    model = build_mobilenet_v2((32, 32, 3), 4, alpha=0.35, reg=Regularization(head_dropout=0.2))
    names = [layer.name for layer in model.layers[-3:]]
    assert names == [
        "mobilenet_v2_head_avg_pool",
        "mobilenet_v2_head_dropout",
        "mobilenet_v2_head_predictions",
    ]


def test_build_cnn_layer_names_are_stable():
    model = build_cnn((32, 32, 3), 10, filters=(8, 16), reg="all", name="net")
    names = [layer.name for layer in model.layers]
    assert names[:5] == [
        "net_input",
        "net_block1_conv1",
        "net_block1_bn1",
        "net_block1_conv2",
        "net_block1_bn2",
    ]
    assert "net_block2_pool" in names and "net_block2_dropout" in names
    assert names[-1] == "net_head_predictions"


def test_build_cnn_global_pooling_accepts_any_size():
    model = build_cnn((None, None, 1), 3, filters=(4, 8), pooling="avg", dense_units=())
    assert model.predict(np.zeros((2, 20, 12, 1)), verbose=0).shape == (2, 3)


def test_every_kernel_is_regularized_and_bn_never():
    model = build_cnn((32, 32, 3), 10, filters=(8, 16), reg="all")
    kernels = [layer for layer in model.layers if hasattr(layer, "kernel")]
    assert len(model.losses) == len(kernels) == 2 * 2 + 2
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            assert layer.gamma_regularizer is None and layer.beta_regularizer is None


def test_one_training_step_has_finite_loss():
    model = build_mobilenet_v2((32, 32, 3), 4, alpha=0.35, reg="all", output="logits")
    model.compile(
        optimizer="sgd",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    x = np.random.default_rng(0).uniform(size=(2, 32, 32, 3)).astype("float32")
    history = model.fit(x, np.array([0, 3]), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_mixed_precision_output_is_float32():
    keras.config.set_dtype_policy("mixed_float16")
    model = build_cnn((32, 32, 3), 10, filters=(8,), reg="all")
    assert model.get_layer("cnn_block1_conv1").compute_dtype == "float16"
    assert model.output.dtype == "float32"
    out = model.predict(np.zeros((2, 32, 32, 3)), verbose=0)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)


BAD_ARGUMENTS = [
    (
        lambda: build_cnn((32, 32), 10),
        "Invalid value for argument `input_shape`: expected a tuple (height, width, channels) "
        "of length 3. Received: input_shape=(32, 32)",
    ),
    (
        lambda: build_cnn((32, 32, 3), 0),
        "Invalid value for argument `num_classes`: expected an int >= 1. Received: num_classes=0",
    ),
    (
        lambda: build_cnn((32, 32, 3), 10, filters=()),
        "Invalid value for argument `filters`: expected a non-empty sequence of positive ints. "
        "Received: filters=()",
    ),
    (
        lambda: build_cnn((32, 32, 3), 10, reg=Regularization(dropout=0.1).replace(dropout=1.5)),
        "Invalid value for argument `dropout`: expected a float in [0, 1). Received: dropout=1.5",
    ),
    (
        lambda: build_cnn((32, 32, 3), 10, norm_order="bn-act-conv"),
        "Invalid value for argument `norm_order`: expected one of 'conv-act-bn', 'conv-bn-act'. "
        "Received: norm_order='bn-act-conv'",
    ),
    (
        lambda: build_cnn((32, 32, 3), 10, output="tanh"),
        "Invalid value for argument `output`: expected one of 'softmax', 'sigmoid', "
        "'logits'. Received: output='tanh'",
    ),
    (
        lambda: build_cnn((32, 32, 3), 10, pooling="none"),
        "Invalid value for argument `pooling`: expected one of 'flatten', 'avg', 'max'. "
        "Received: pooling='none'",
    ),
    (
        lambda: build_cnn((8, 8, 3), 10, filters=(4, 4, 4, 4)),
        "Invalid value for argument `input_shape`: an input of spatial size (8, 8) is too small "
        "for 4 2x2 pooling(s); expected height and width >= 16. Received: input_shape=(8, 8, 3)",
    ),
    (
        lambda: build_cnn((None, 32, 3), 10),
        "Invalid value for argument `input_shape`: expected a tuple (height, width, channels) "
        "with height and width ints >= 1. Received: input_shape=(None, 32, 3)",
    ),
    (
        lambda: build_cnn((32, 32, 3), 10, pool=(True,)),
        "Invalid value for argument `pool`: expected a bool or 3 bools (one per block). "
        "Received: pool=(True,)",
    ),
    (
        lambda: build_mobilenet_v2((32, 32, 3), 10, alpha=0),
        "Invalid value for argument `alpha`: expected a finite float > 0. Received: alpha=0",
    ),
    (
        lambda: build_mobilenet_v2((16, 16, 3), 10),
        "Invalid value for argument `input_shape`: expected a tuple (height, width, channels) "
        "with height and width ints >= 32 (or None). Received: input_shape=(16, 16, 3)",
    ),
    (
        lambda: build_mobilenet_v2((32, 32, 3), 10, pooling=None),
        "Invalid value for argument `pooling`: expected one of 'avg', 'max'. "
        "Received: pooling=None",
    ),
    (
        lambda: build_mobilenet_v2((32, 32, 3), 10, reg="l3"),
        "Invalid value for argument `reg`: unknown Regularization preset 'l3'. "
        "Expected one of: baseline, l2, bn, bn+l2, dropout, all",
    ),
]


@pytest.mark.parametrize(("call", "message"), BAD_ARGUMENTS)
def test_bad_arguments_raise_value_error_naming_them(call, message):
    with pytest.raises(ValueError) as err:
        call()
    assert str(err.value) == message


def test_wrong_types_raise_type_error():
    with pytest.raises(TypeError, match="argument `num_classes`"):
        build_cnn((32, 32, 3), 10.0)
    with pytest.raises(TypeError, match="argument `reg`"):
        build_cnn((32, 32, 3), 10, reg=0.01)


# ------------------------------------------------- sigmoid heads, preprocessing (issue 14)


@pytest.mark.parametrize(("num_classes", "units"), [(1, 1), (2, 1), (5, 5)])
def test_sigmoid_output_one_unit_for_binary_one_per_label_otherwise(num_classes, units):
    keras.config.set_dtype_policy("mixed_float16")
    model = build_cnn((32, 32, 3), num_classes, filters=(4,), output="sigmoid")
    head = model.get_layer("cnn_head_predictions")
    assert model.output_shape == (None, units)
    assert head.get_config()["activation"] == "sigmoid"
    assert head.dtype_policy.compute_dtype == "float32"
    probs = model.predict(np.random.default_rng(0).random((2, 32, 32, 3)), verbose=0)
    assert probs.dtype == np.float32 and ((probs > 0) & (probs < 1)).all()


def test_mobilenet_v2_sigmoid_output():
    model = build_mobilenet_v2((32, 32, 3), 2, alpha=0.35, output="sigmoid", reg="bn")
    assert model.output_shape == (None, 1)
    assert model.get_layer("mobilenet_v2_head_predictions").get_config()["activation"] == (
        "sigmoid"
    )


def test_softmax_over_one_class_points_to_sigmoid():
    for build in (
        lambda: build_cnn((32, 32, 3), 1),
        lambda: build_mobilenet_v2((32, 32, 3), 1, alpha=0.35),
    ):
        with pytest.raises(ValueError, match=r"`num_classes`.*output='sigmoid'"):
            build()


def test_a_binary_task_learns_with_a_sigmoid_head():
    from regkit.training import compile_model

    rng = np.random.default_rng(0)
    y = np.arange(64) % 2
    x = rng.uniform(0.0, 0.5, size=(64, 8, 8, 1)).astype("float32")
    x[y == 1] += 0.5  # bright images are class 1
    model = build_cnn(
        (8, 8, 1), 2, filters=(4,), convs_per_block=1, dense_units=(), output="sigmoid"
    )
    compile_model(model, learning_rate=0.05)
    history = model.fit(x, y, batch_size=16, epochs=15, verbose=0)
    assert history.history["accuracy"][-1] > 0.95
    assert history.history["loss"][-1] < history.history["loss"][0] / 2


@pytest.mark.parametrize(
    "build",
    [
        lambda **kw: build_cnn((32, 32, 3), 3, filters=(4, 8), dense_units=(8,), reg="all", **kw),
        lambda **kw: build_mobilenet_v2((32, 32, 3), 3, alpha=0.35, reg="bn", **kw),
    ],
)
def test_include_preprocessing_takes_raw_pixels_after_a_keras_round_trip(tmp_path, build):
    from regkit.introspect import input_value_range

    with_scaling = build(include_preprocessing=True)
    plain = build()
    plain.set_weights(with_scaling.get_weights())  # same weights, Rescaling has none
    assert with_scaling.layers[1].name.endswith("_rescaling")
    assert (input_value_range(with_scaling), input_value_range(plain)) == ((0, 255), (0, 1))
    path = tmp_path / "served.keras"
    with_scaling.save(path)
    loaded = keras.saving.load_model(path)  # stock Keras, no custom objects
    pixels = np.random.default_rng(0).integers(0, 256, size=(2, 32, 32, 3), dtype=np.uint8)
    np.testing.assert_allclose(
        loaded.predict(pixels, verbose=0),
        plain.predict(pixels.astype("float32") / 255.0, verbose=0),
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.parametrize("shape", [(3, 32, 32), (1, 28, 28), (4, 64, 48)])
def test_channels_first_shapes_are_named_as_such(shape):
    with pytest.raises(ValueError, match=r"`input_shape`.*looks channels-first.*channels-last"):
        build_cnn(shape, 10)
    with pytest.raises(ValueError, match="looks channels-first"):
        build_mobilenet_v2(shape, 10)


# --------------------------------------------------------------- huge sizes (issue 15)


@pytest.mark.parametrize(
    ("call", "arg"),
    [
        (lambda: build_cnn((32, 32, 3), 10**9), "num_classes"),
        (lambda: build_cnn((32, 32, 3), 10, convs_per_block=10**9), "convs_per_block"),
        (lambda: build_cnn((32, 32, 3), 10, convs_per_block=5000), "convs_per_block"),
        (lambda: build_cnn((32, 32, 3), 10, filters=(10**9,)), "filters"),
        (lambda: build_cnn((32, 32, 3), 10, filters=(2**20, 2**20)), "filters"),
        (lambda: build_cnn((32, 32, 3), 10, dense_units=(2**63,)), "dense_units"),
        (lambda: build_cnn((2**31, 32, 3), 10), "input_shape"),
        (lambda: build_cnn((2**31 - 1, 2**31 - 1, 3), 10, pooling="avg"), "input_shape"),
        (lambda: build_mobilenet_v2((32, 32, 3), 10**9), "num_classes"),
        (lambda: build_mobilenet_v2((32, 32, 3), 10, alpha=1e6), "alpha"),
        (lambda: build_mobilenet_v2((2**20, 2**20, 3), 10), "input_shape"),
    ],
)
def test_sizes_no_machine_holds_are_refused_up_front(call, arg):
    import time

    start = time.perf_counter()
    with pytest.raises(ValueError, match=f"`{arg}`"):
        call()
    assert time.perf_counter() - start < 2.0


# ------------------------------------------------------------- issue 20: the structural ones
def test_mobilenet_v2_drop_path_on_its_10_skips_at_linear_rates():
    model = build_mobilenet_v2((32, 32, 3), 10, reg=Regularization(batch_norm=True, drop_path=0.2))
    drops = [layer for layer in model.layers if isinstance(layer, DropPath)]
    adds = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Add)]
    assert len(drops) == len(adds) == 10
    assert [d.name.replace("_droppath", "_add") for d in drops] == adds
    assert [d.rate for d in drops] == pytest.approx([0.2 * i / 10 for i in range(1, 11)])
    assert drops[0].name == "mobilenet_v2_block2_droppath"
    assert model.count_params() == 2_270_794  # as without drop path (Keras applications count)


def test_mobilenet_v2_drop_path_rate_is_reg_drop_path_spelled_as_keras_hub_does():
    keras.backend.clear_session(free_memory=False)
    by_keyword = build_mobilenet_v2((32, 32, 3), 3, alpha=0.35, reg="bn", drop_path_rate=0.2)
    by_reg = build_mobilenet_v2(
        (32, 32, 3), 3, alpha=0.35, reg=Regularization.preset("bn").replace(drop_path=0.2)
    )
    assert by_keyword.get_config() == by_reg.get_config()  # same layers, same settings
    rates = [layer.rate for layer in by_keyword.layers if isinstance(layer, DropPath)]
    assert rates == pytest.approx([0.2 * i / 10 for i in range(1, 11)])
    with pytest.raises(ValueError) as error:
        build_mobilenet_v2(
            (32, 32, 3), 3, alpha=0.35, reg=Regularization(drop_path=0.1), drop_path_rate=0.3
        )
    assert str(error.value) == (
        "Invalid value for argument `drop_path_rate`: it conflicts with `reg.drop_path` "
        "(the same setting); set it in one place. "
        "Received: drop_path_rate=0.3 with reg.drop_path=0.1"
    )


@pytest.mark.slow
def test_mobilenet_v2_inference_equals_the_same_weights_without_drop_path():
    reg = Regularization(batch_norm=True)
    plain = build_mobilenet_v2((32, 32, 3), 3, alpha=0.35, reg=reg)
    dropped = build_mobilenet_v2(
        (32, 32, 3), 3, alpha=0.35, reg=Regularization(batch_norm=True, drop_path=0.5)
    )
    for layer in plain.layers:
        dropped.get_layer(layer.name).set_weights(layer.get_weights())
    x = np.random.default_rng(0).uniform(size=(2, 32, 32, 3)).astype("float32")
    np.testing.assert_array_equal(dropped.predict(x, verbose=0), plain.predict(x, verbose=0))


def test_build_cnn_drop_block_after_every_block_and_identity_at_inference():
    def build(reg):
        return build_cnn((16, 16, 3), 3, filters=(4, 8), convs_per_block=1, dense_units=(), reg=reg)

    dropped = build(Regularization(drop_block=0.2, drop_block_size=3, drop_path=0.3))
    plain = build(Regularization())
    blocks = [layer for layer in dropped.layers if isinstance(layer, DropBlock2D)]
    assert [(b.name, b.rate, b.block_size) for b in blocks] == [
        ("cnn_block1_dropblock", 0.2, 3),
        ("cnn_block2_dropblock", 0.2, 3),
    ]
    assert not any(isinstance(layer, DropPath) for layer in dropped.layers)  # no skip in a CNN
    assert [layer.name for layer in dropped.layers if layer not in blocks] == [
        layer.name for layer in plain.layers
    ]
    dropped.set_weights(plain.get_weights())
    x = np.random.default_rng(0).uniform(size=(2, 16, 16, 3)).astype("float32")
    np.testing.assert_array_equal(dropped.predict(x, verbose=0), plain.predict(x, verbose=0))


UINT8_BUILDERS = {
    "cnn": lambda: build_cnn(
        (8, 8, 3), 3, filters=(4,), dense_units=(), reg="all", include_preprocessing=True
    ),
    "mobilenet_v2": lambda: build_mobilenet_v2(
        (32, 32, 3), 3, alpha=0.35, reg="bn", include_preprocessing=True
    ),
    "resnet": lambda: build_resnet(
        (8, 8, 3),
        3,
        depth=8,
        width=4,
        reg=Regularization(drop_path=0.2, drop_block=0.1),
        include_preprocessing=True,
    ),
}


def _export_uint8(model, folder):
    import tensorflow as tf

    shape = (None, *model.input_shape[1:])
    model.export(str(folder), input_signature=[tf.TensorSpec(shape, tf.uint8)], verbose=False)
    return tf.saved_model.load(str(folder))


@pytest.mark.slow  # 15-75 s each: an export and a TFLite conversion
@pytest.mark.parametrize("builder", list(UINT8_BUILDERS))
def test_include_preprocessing_models_serve_uint8_as_savedmodel_and_tflite(tmp_path, builder):
    import tensorflow as tf

    model = UINT8_BUILDERS[builder]()
    size = model.input_shape[1:]
    pixels = np.random.default_rng(0).integers(0, 256, size=(2, *size), dtype=np.uint8)
    expected = model.predict(pixels.astype("float32"), verbose=0)
    np.testing.assert_array_equal(model.predict(pixels, verbose=0), expected)

    served = _export_uint8(model, tmp_path / "served")
    np.testing.assert_allclose(served.serve(tf.constant(pixels)).numpy(), expected, atol=1e-5)

    flat = tf.lite.TFLiteConverter.from_saved_model(str(tmp_path / "served")).convert()
    interpreter = tf.lite.Interpreter(model_content=flat)
    (entry,) = interpreter.get_input_details()
    assert entry["dtype"] == np.uint8
    interpreter.resize_tensor_input(entry["index"], pixels.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(entry["index"], pixels)
    interpreter.invoke()
    out = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    np.testing.assert_allclose(out, expected, atol=1e-4)
