"""Exporting a model for inference: float32 computation, and uint8 input where it rescales itself.

Keras' `model.export` serves a model as it is. Two things get in the way of deploying a
model trained the regkit way:

- a model built under a mixed policy (``mixed_bfloat16`` / ``mixed_float16``) computes in
  16 bits; its SavedModel serves float32 in and out, but TFLite has no built-in bfloat16
  or float16 kernels for its layers, so the file needs TensorFlow's Flex ops and the
  plain interpreter refuses to run it. `float32_copy` gives the same model computing in
  float32 (the weights are float32 already: mixed policies keep float32 master weights);
- a model built with ``include_preprocessing=True`` divides by 255 itself, so it could
  take raw uint8 images, but `model.export` declares the `Input`'s dtype (float32: the
  training pipeline feeds it augmented, non-integer pixels).

`export_model` handles both, then calls `model.export`.

Keras is imported inside the functions, so importing this module is cheap.
"""

from __future__ import annotations

import os
from typing import Any

from regkit._checks import check_choice, check_keras_model, invalid

__all__ = ["export_model", "float32_copy", "is_mixed", "takes_raw_pixels"]

#: The policies `float32_copy` replaces by float32.
_MIXED = ("mixed_bfloat16", "mixed_float16")


def is_mixed(model: Any) -> bool:
    """Whether any layer of `model` computes in a 16-bit mixed policy.

    Example:
        >>> is_mixed(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]))
        False
    """
    from regkit.introspect import iter_layers  # defers Keras (heavy)

    return any(
        getattr(getattr(layer, "dtype_policy", None), "name", None) in _MIXED
        for layer in iter_layers(model)
    )


def _to_float32(config: Any) -> Any:
    """`config` with every mixed dtype policy replaced by float32 (recursively)."""
    if isinstance(config, dict):
        if config.get("class_name") == "DTypePolicy":
            name = config.get("config", {}).get("name")
            if name in _MIXED:
                return {**config, "config": {**config["config"], "name": "float32"}}
        return {key: _to_float32(value) for key, value in config.items()}
    if isinstance(config, list):
        return [_to_float32(item) for item in config]
    if isinstance(config, str) and config in _MIXED:
        return "float32"
    return config


def float32_copy(model: Any) -> Any:
    """The same model, with the same weights, computing in float32 in every layer.

    A model built under ``mixed_bfloat16`` or ``mixed_float16`` keeps its weights in
    float32 and computes in 16 bits; the copy holds those weights and computes in float32,
    so its predictions are the mixed model's up to the 16-bit rounding the copy no longer
    does. A model that is float32 already is returned as it is (not copied). The copy is
    not compiled (it is for inference and export).

    Args:
        model: A built Keras model (functional or sequential), e.g. one regkit built.

    Returns:
        A float32 `keras.Model`, or `model` itself when no layer is mixed.

    Raises:
        TypeError: `model` is not a Keras model.
        ValueError: `model` is not built.

    Example:
        >>> with regkit.device.precision_policy("mixed_bfloat16"):
        ...     model = regkit.build_cnn((32, 32, 3), 10)
        >>> float32_copy(model).layers[1].compute_dtype
        'float32'
    """
    import keras

    # Imported here: registers regkit's layers and L2SP so the config deserializes (both
    # load Keras, which is heavy).
    import regkit.layers
    import regkit.regularization  # noqa: F401

    model = check_keras_model("model", model, built=True)
    if not is_mixed(model):
        return model
    config = _to_float32(keras.saving.serialize_keras_object(model))
    copy = keras.saving.deserialize_keras_object(config)
    copy.set_weights(model.get_weights())
    return copy


def takes_raw_pixels(model: Any) -> bool:
    """Whether `model` rescales its own pixels: its one input is read only by `Rescaling`
    layers (as ``include_preprocessing=True`` builds), so it can take uint8 images.

    Example:
        >>> takes_raw_pixels(regkit.build_cnn((32, 32, 3), 10, include_preprocessing=True))
        True
    """
    import keras

    inputs = getattr(model, "inputs", None) or []
    if len(inputs) != 1:
        return False
    readers = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        try:
            read = keras.tree.flatten(layer.input)
        except (AttributeError, ValueError):  # a shared layer: several inputs
            read = []
        if any(tensor is inputs[0] for tensor in read):
            readers.append(layer)
    return bool(readers) and all(isinstance(layer, keras.layers.Rescaling) for layer in readers)


def export_model(
    model: Any,
    filepath: str | os.PathLike[str],
    format: str = "tf_saved_model",
    *,
    input_dtype: str = "auto",
    verbose: bool = False,
    **kwargs: Any,
) -> Any:
    """`model.export` for deployment: float32 computation, uint8 input where it fits.

    A model built under a mixed policy is exported as its `float32_copy` (TFLite has no
    16-bit kernels for its layers; a SavedModel then computes as the deployment target
    expects). With ``input_dtype="auto"``, a model that rescales its own pixels
    (`takes_raw_pixels`: built with ``include_preprocessing=True``) declares a uint8
    input, so raw images go straight in; any other model keeps float32.

    Args:
        model: A built Keras model.
        filepath: Where to write (a folder for ``"tf_saved_model"``, a file for
            ``"litert"`` or ``"onnx"``).
        format: Passed to `model.export`: ``"tf_saved_model"`` (default), ``"litert"``,
            ``"onnx"``...
        input_dtype: ``"auto"``, ``"uint8"`` (only for a model that rescales itself: any
            other expects pixels in [0, 1]) or ``"float32"``. Ignored when `kwargs` holds
            an ``input_signature``.
        verbose: Passed to `model.export`.
        **kwargs: Passed to `model.export` (``optimizations``, ``input_signature``...).

    Returns:
        What `model.export` returns.

    Raises:
        ValueError: An unknown `input_dtype`, or ``"uint8"`` for a model that does not
            rescale its own pixels.

    Example:
        >>> model = regkit.build_cnn((32, 32, 3), 10, include_preprocessing=True)
        >>> export_model(model, "cnn.tflite", "litert")  # doctest: +SKIP
    """
    import keras
    import numpy as np

    check_choice("input_dtype", input_dtype, ("auto", "uint8", "float32"))
    model = check_keras_model("model", model, built=True)
    raw = takes_raw_pixels(model)
    if input_dtype == "uint8" and not raw:
        raise invalid(
            "input_dtype",
            "'float32' or 'auto' for a model that does not rescale its own pixels (it "
            "expects values in [0, 1]; build it with include_preprocessing=True to take "
            "uint8 images)",
            input_dtype,
        )
    export = float32_copy(model)
    if export is not model:  # never called: ONNX export needs a traced call
        shape = tuple(model.inputs[0].shape[1:])
        if all(isinstance(size, int) for size in shape):
            export(np.zeros((1, *shape), dtype="float32"))
    dtype = "uint8" if input_dtype == "uint8" or (input_dtype == "auto" and raw) else None
    if dtype is not None and "input_signature" not in kwargs:
        tensor = model.inputs[0]  # the input's own name, as model.export would give it
        kwargs["input_signature"] = [
            keras.InputSpec(shape=tensor.shape, dtype=dtype, name=tensor.name)
        ]
    return export.export(os.fspath(filepath), format=format, verbose=verbose, **kwargs)
