"""docs/export.md's figures: each export of a trained digits CNN against `model.predict`.

The trained-model comparisons are in the slow tier (a 4-epoch fit and four exports take
about a minute on this CPU); the default tier checks that the page states the bounds
asserted here. An `include_preprocessing=True` model keeps a float32 input (augmented
pixels are not whole numbers), so a uint8 export passes an `input_signature`, or goes
through `regkit.device.export_model`, which does that for a model that rescales itself
and exports a mixed-precision model as its float32 copy (the page's blocks run both in
the default tier; the float16 policy and the failure it avoids are checked here).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import keras
import numpy as np
import pytest

import regkit

DOC = Path(__file__).resolve().parents[2] / "docs" / "export.md"
FLOAT_DIFF_TEXT = "1e-5"
FLOAT_DIFF = float(FLOAT_DIFF_TEXT)  # SavedModel, TFLite float, ONNX: max abs softmax difference
QUANTIZED_AGREEMENT = 0.95  # dynamic-range int8 weights: top-1 agreement with Keras
QUANTIZED_ACCURACY_DROP = 0.02
#: The "the test asserts" column of the page's table, row by row.
PAGE_BOUNDS = {
    "SavedModel": f"max diff <= {FLOAT_DIFF_TEXT}",
    "TFLite, float": f"max diff <= {FLOAT_DIFF_TEXT}, all top-1 equal",
    "TFLite, dynamic-range int8 weights": (
        f"top-1 agreement >= {QUANTIZED_AGREEMENT}, accuracy within {QUANTIZED_ACCURACY_DROP}"
    ),
    "ONNX (onnxruntime)": f"max diff <= {FLOAT_DIFF_TEXT}",
}
needs_onnx = pytest.mark.skipif(
    importlib.util.find_spec("tf2onnx") is None or importlib.util.find_spec("onnxruntime") is None,
    reason='needs regkit-keras[onnx] (pip install "regkit-keras[onnx]")',
)


def _digits_test_images():
    splits = regkit.data.load_dataset("digits")
    pairs = list(splits.test.as_numpy_iterator())
    images = np.stack([x for x, _ in pairs])
    labels = np.array([y for _, y in pairs])
    return splits, images, labels


def _tflite_predict(path, x):
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_path=str(path))
    (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
    interpreter.resize_tensor_input(inp["index"], x.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(inp["index"], x)
    interpreter.invoke()
    return interpreter.get_tensor(out["index"])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The page's CNN, with BatchNorm, trained 4 epochs on digits; the test images in [0, 1]."""
    splits, images, labels = _digits_test_images()
    train = regkit.data.image_pipeline(splits.train, batch_size=64, seed=0)
    keras.utils.set_random_seed(0)
    reg = regkit.Regularization(batch_norm=True, bn_momentum=0.9)
    model = regkit.build_cnn(
        splits.image_shape, splits.num_classes, filters=(8, 16), dense_units=(32,), reg=reg
    )
    regkit.compile_model(model, learning_rate=3e-3)
    model.fit(train, epochs=4, verbose=0, shuffle=False)
    x = images.astype("float32") / 255.0
    expected = model.predict(x, verbose=0)
    assert (expected.argmax(1) == labels).mean() >= 0.9  # a model worth comparing
    return model, x, labels, expected, tmp_path_factory.mktemp("export")


# ------------------------------------------------------------------ default tier
def test_the_page_states_the_bounds_asserted_here():
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4:
            rows[cells[0]] = cells[3]
    for export, bound in PAGE_BOUNDS.items():
        assert rows.get(export) == bound, f"docs/export.md's {export!r} row: {rows.get(export)!r}"


@pytest.mark.slow  # docs/export.md's block runs the same export in the default tier
def test_include_preprocessing_model_exports_a_uint8_savedmodel_on_request(tmp_path):
    import tensorflow as tf

    splits, images, _ = _digits_test_images()
    model = regkit.build_cnn(
        splits.image_shape, splits.num_classes, filters=(4,), dense_units=(8,),
        include_preprocessing=True,
    )  # fmt: skip
    spec = keras.InputSpec(shape=(None, *splits.image_shape), dtype="uint8")
    model.export(tmp_path / "sm", verbose=False, input_signature=[spec])
    reloaded = tf.saved_model.load(str(tmp_path / "sm"))
    (served,) = reloaded.signatures["serving_default"](tf.constant(images)).values()
    expected = model.predict(images.astype("float32"), verbose=0)
    np.testing.assert_allclose(served.numpy(), expected, atol=1e-6)
    # the same model on images already in [0, 1] without the layer would be another model:
    # the rescaling really is inside
    assert not np.allclose(expected, model.predict(images / 255.0, verbose=0), atol=1e-3)


# ------------------------------------------------------------------ slow tier: the table
@pytest.mark.slow
def test_savedmodel_matches_keras(trained):
    import tensorflow as tf

    model, x, _, expected, folder = trained
    model.export(folder / "sm", verbose=False)
    reloaded = tf.saved_model.load(str(folder / "sm"))
    assert np.abs(reloaded.serve(x).numpy() - expected).max() <= FLOAT_DIFF
    (served,) = reloaded.signatures["serving_default"](tf.constant(x)).values()
    assert np.abs(served.numpy() - expected).max() <= FLOAT_DIFF


@pytest.mark.slow
def test_tflite_float_matches_keras(trained):
    model, x, _, expected, folder = trained
    model.export(folder / "cnn.tflite", format="litert", verbose=False)
    got = _tflite_predict(folder / "cnn.tflite", x)
    assert np.abs(got - expected).max() <= FLOAT_DIFF
    np.testing.assert_array_equal(got.argmax(1), expected.argmax(1))


@pytest.mark.slow
def test_tflite_dynamic_range_quantized_keeps_top1(trained):
    import tensorflow as tf

    model, x, labels, expected, folder = trained
    path = folder / "cnn_q.tflite"
    model.export(path, format="litert", verbose=False, optimizations=[tf.lite.Optimize.DEFAULT])
    model.export(folder / "float.tflite", format="litert", verbose=False)
    assert path.stat().st_size < 0.7 * (folder / "float.tflite").stat().st_size  # int8 weights
    got = _tflite_predict(path, x)
    assert np.abs(got - expected).max() > 0  # really quantized, not the float model
    agreement = (got.argmax(1) == expected.argmax(1)).mean()
    assert agreement >= QUANTIZED_AGREEMENT
    accuracy, keras_accuracy = (
        (got.argmax(1) == labels).mean(),
        (expected.argmax(1) == labels).mean(),
    )
    assert accuracy >= keras_accuracy - QUANTIZED_ACCURACY_DROP


@pytest.mark.slow
@needs_onnx
def test_onnx_matches_keras(trained):
    import onnxruntime

    model, x, _, expected, folder = trained
    model.export(folder / "cnn.onnx", format="onnx", verbose=False)
    session = onnxruntime.InferenceSession(str(folder / "cnn.onnx"))
    (inp,) = session.get_inputs()
    assert inp.name == "cnn_input" and inp.shape[1:] == [8, 8, 1]
    got = session.run(None, {inp.name: x})[0]
    assert np.abs(got - expected).max() <= FLOAT_DIFF


# ------------------------------------------------------------------ export_model
def test_export_model_declares_uint8_only_for_a_model_that_rescales_itself():
    from regkit.device import export_model, takes_raw_pixels

    raw = regkit.build_cnn((8, 8, 1), 3, filters=(4,), dense_units=(8,), include_preprocessing=True)
    plain = regkit.build_cnn((8, 8, 1), 3, filters=(4,), dense_units=(8,))
    inputs = keras.Input((8, 8, 1))
    both = keras.layers.Concatenate()([keras.layers.Rescaling(1 / 255)(inputs), inputs])
    skipping = keras.Model(inputs, keras.layers.Flatten()(both))  # also reads raw pixels
    assert takes_raw_pixels(raw)
    assert not takes_raw_pixels(plain) and not takes_raw_pixels(skipping)
    assert takes_raw_pixels(regkit.build_resnet((8, 8, 3), 3, depth=8, include_preprocessing=True))
    with pytest.raises(ValueError) as err:
        export_model(plain, "unused", input_dtype="uint8")
    assert str(err.value).startswith(
        "Invalid value for argument `input_dtype`: expected 'float32' or 'auto' for a model "
        "that does not rescale its own pixels"
    )
    with pytest.raises(ValueError, match="expected one of 'auto', 'uint8', 'float32'"):
        export_model(raw, "unused", input_dtype="int8")


@pytest.mark.slow  # four TFLite conversions; docs/export.md runs the bfloat16 one by default
@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_model_exports_run_as_float32(policy, tmp_path):
    import tensorflow as tf

    from regkit.device import export_model, float32_copy, precision_policy

    _, images, _ = _digits_test_images()
    images = images[:16]
    x = images.astype("float32") / 255.0
    with precision_policy(policy):
        model = regkit.build_cnn((8, 8, 1), 10, filters=(4,), dense_units=(8,))
    expected = float32_copy(model).predict(x, verbose=0)
    # Keras' own export: the SavedModel serves float32 in and out ...
    model.export(tmp_path / "sm", verbose=False)
    reloaded = tf.saved_model.load(str(tmp_path / "sm"))
    (spec,) = reloaded.signatures["serving_default"].structured_input_signature[1].values()
    assert spec.dtype == tf.float32
    assert reloaded.serve(x).dtype == tf.float32
    # ... but its TFLite file holds 16-bit ops the built-in kernels lack (TensorFlow 2.21):
    model.export(tmp_path / "mixed.tflite", format="litert", verbose=False)
    with pytest.raises(RuntimeError, match="Select TensorFlow op"):
        _tflite_predict(tmp_path / "mixed.tflite", x)
    # export_model exports the float32 copy, which runs:
    export_model(model, tmp_path / "copy.tflite", format="litert")
    got = _tflite_predict(tmp_path / "copy.tflite", x)
    assert np.abs(got - expected).max() <= FLOAT_DIFF
    export_model(model, tmp_path / "copy_sm")
    copy = tf.saved_model.load(str(tmp_path / "copy_sm"))  # keep it while calling it
    assert np.abs(copy.serve(x).numpy() - expected).max() <= FLOAT_DIFF
