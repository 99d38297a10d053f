"""Reading built models: layers, kernels, norms, penalties and BatchNorm-followed kernels.

The one place in regkit that looks inside a built Keras model. The regularizers
(`regkit.regularization`), `compile_model` (`regkit.training`), the monitoring callbacks
and the experiment runner all ask this module, so they agree on what a "kernel" is: the
conv, depthwise, separable (both kernels) and dense weight matrices, found by layer type,
never by variable name.

Nothing here changes a model.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import keras
import numpy as np

__all__ = [
    "Kernel",
    "activation_name",
    "bn_followed_kernels",
    "decay_exempt_variables",
    "input_value_range",
    "iter_layers",
    "kernel_attributes",
    "kernel_norms",
    "kernels",
    "kernels_followed_by_batch_norm",
    "output_kind",
    "output_layer",
    "regularization_loss",
    "regularized_variables",
    "seed_generators",
    "squared_norm",
    "total_kernel_norm",
]

# Layer class -> its kernels as (variable attribute, config attribute of the regularizer,
# is-depthwise). Checked with isinstance in order: in Keras 3 DepthwiseConv2D keeps its kernel
# in `.kernel` but reads `depthwise_regularizer`, and SeparableConv2D has two kernels.
_KernelSpec = tuple[str, str, bool]
_DEPTHWISE: tuple[_KernelSpec, ...] = (("kernel", "depthwise_regularizer", True),)
_SEPARABLE: tuple[_KernelSpec, ...] = (
    ("depthwise_kernel", "depthwise_regularizer", True),
    ("pointwise_kernel", "pointwise_regularizer", False),
)
_PLAIN: tuple[_KernelSpec, ...] = (("kernel", "kernel_regularizer", False),)
_KERNELS: tuple[tuple[type, tuple[_KernelSpec, ...]], ...] = (
    (keras.layers.DepthwiseConv1D, _DEPTHWISE),
    (keras.layers.DepthwiseConv2D, _DEPTHWISE),
    (keras.layers.SeparableConv1D, _SEPARABLE),
    (keras.layers.SeparableConv2D, _SEPARABLE),
    (keras.layers.Conv1D, _PLAIN),
    (keras.layers.Conv2D, _PLAIN),
    (keras.layers.Conv3D, _PLAIN),
    (keras.layers.Conv1DTranspose, _PLAIN),
    (keras.layers.Conv2DTranspose, _PLAIN),
    (keras.layers.Conv3DTranspose, _PLAIN),
    (keras.layers.Dense, _PLAIN),
    (keras.layers.EinsumDense, _PLAIN),
)

_NORM_TYPES = (
    keras.layers.BatchNormalization,
    keras.layers.LayerNormalization,
    keras.layers.GroupNormalization,
)

# Final activations: which ones produce probabilities, which logits.
_PROBABILITY_ACTIVATIONS = {"softmax": "softmax", "sigmoid": "sigmoid"}
_LOGIT_ACTIVATIONS = {"linear", None}


class Kernel(NamedTuple):
    """One kernel of a built model.

    Attributes:
        key: ``"<layer name>_<attribute>"``, e.g. ``"cnn_block1_conv1_kernel"`` or
            ``"sep_pointwise_kernel"``: the stem of the History keys that report it
            (``<key>_norm``).
        layer: The layer holding it.
        attr: The layer attribute holding the variable (``"kernel"``,
            ``"depthwise_kernel"`` or ``"pointwise_kernel"``).
        variable: The `keras.Variable` itself.
    """

    key: str
    layer: keras.layers.Layer
    attr: str
    variable: Any


def iter_layers(model: keras.layers.Layer) -> Iterator[keras.layers.Layer]:
    """Every layer of `model`, nested models and their layers included, each once.

    Example:
        >>> inputs = keras.Input((32, 32, 3))
        >>> model = keras.Model(inputs, keras.layers.Conv2D(8, 3, name="conv")(inputs))
        >>> [layer.name for layer in iter_layers(model)][-1]
        'conv'
    """
    seen: set[int] = set()
    stack = [model]
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        if layer is not model:
            yield layer
        children = getattr(layer, "layers", None)
        if children:
            stack.extend(reversed(list(children)))


def kernel_attributes(layer: keras.layers.Layer) -> tuple[tuple[str, str, bool], ...]:
    """The kernels of `layer` as ``(variable attribute, regularizer attribute, is_depthwise)``.

    Empty for layers without a conv/dense kernel (BatchNorm, pooling, ...).

    Example:
        >>> kernel_attributes(keras.layers.SeparableConv2D(8, 3))[1]
        ('pointwise_kernel', 'pointwise_regularizer', False)
    """
    for cls, specs in _KERNELS:
        if isinstance(layer, cls):
            return specs
    return ()


def _layer_kernels(layer: keras.layers.Layer) -> list[Kernel]:
    out = []
    for attr, _, _ in kernel_attributes(layer):
        variable = getattr(layer, attr, None)
        if variable is not None:
            out.append(Kernel(f"{layer.name}_{attr}", layer, attr, variable))
    return out


def kernels(model: keras.layers.Layer) -> list[Kernel]:
    """Every conv, depthwise, separable and dense kernel of a built model, in layer order.

    A variable shared by several layers is listed once.

    Example:
        >>> inputs = keras.Input((32, 32, 3))
        >>> x = keras.layers.SeparableConv2D(8, 3, name="sep")(inputs)
        >>> model = keras.Model(inputs, x)
        >>> [k.key for k in kernels(model)]
        ['sep_depthwise_kernel', 'sep_pointwise_kernel']
    """
    out: list[Kernel] = []
    seen: set[int] = set()
    for layer in iter_layers(model):
        for kernel in _layer_kernels(layer):
            if id(kernel.variable) not in seen:
                seen.add(id(kernel.variable))
                out.append(kernel)
    return out


def regularized_variables(model: keras.layers.Layer) -> list[Any]:
    """The kernel variables of every conv, depthwise and dense layer of `model`.

    These are the variables L1/L2 applies to and weight norms are reported for (the
    variables of `kernels`).
    """
    return [kernel.variable for kernel in kernels(model)]


def decay_exempt_variables(model: keras.layers.Layer) -> list[Any]:
    """Variables decoupled weight decay must not touch: normalization gamma/beta, biases,
    and kernels pulled toward their starting weights (L2-SP).

    Decaying BatchNorm's gamma towards zero shrinks activations rather than weights, and
    decaying biases only shifts them; both are conventionally exempt (AdamW, timm). A
    kernel whose regularizer says ``exempt_from_weight_decay`` (regkit's `L2SP`) is
    exempt too: decay toward 0 would fight its pull toward the starting weights.
    """
    out: list[Any] = []
    for layer in iter_layers(model):
        if isinstance(layer, _NORM_TYPES):
            out.extend(layer.trainable_weights)
            continue
        bias = getattr(layer, "bias", None)
        if isinstance(bias, keras.Variable):
            out.append(bias)
        for kernel in _layer_kernels(layer):
            regularizer = getattr(kernel.variable, "regularizer", None)
            if getattr(regularizer, "exempt_from_weight_decay", False):
                out.append(kernel.variable)
    return out


def seed_generators(model: keras.layers.Layer) -> list[Any]:
    """Every `keras.random.SeedGenerator` the model's layers draw from (dropout, random
    augmentation layers, ...), each once, in layer order.

    Example:
        >>> inputs = keras.Input((4,))
        >>> model = keras.Model(inputs, keras.layers.Dropout(0.5)(inputs))
        >>> len(seed_generators(model))
        1
    """
    out: list[Any] = []
    seen: set[int] = set()
    for layer in [model, *iter_layers(model)]:
        candidates = list(getattr(layer, "_seed_generators", None) or [])
        candidates += [v for v in vars(layer).values() if isinstance(v, keras.random.SeedGenerator)]
        for generator in candidates:
            if isinstance(generator, keras.random.SeedGenerator) and id(generator) not in seen:
                seen.add(id(generator))
                out.append(generator)
    return out


def _to_numpy(variable: Any) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(variable), dtype=np.float64)


def squared_norm(variable: Any) -> float:
    """``sum(w**2)`` of a variable or array, computed in float64."""
    w = _to_numpy(variable).ravel()
    return float(np.dot(w, w))


def kernel_norms(model: keras.layers.Layer) -> dict[str, float]:
    """The L2 norm of each kernel, keyed by `Kernel.key` (``"<layer>_<attribute>"``).

    Example:
        >>> inputs = keras.Input((4,))
        >>> model = keras.Model(inputs, keras.layers.Dense(2, name="fc")(inputs))
        >>> list(kernel_norms(model))
        ['fc_kernel']
    """
    return {k.key: math.sqrt(squared_norm(k.variable)) for k in kernels(model)}


def total_kernel_norm(model: keras.layers.Layer) -> float:
    """The global L2 norm over every kernel of `model` (``sqrt`` of the summed squares).

    Example:
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> total_kernel_norm(model) > 0
        True
    """
    return math.sqrt(sum(squared_norm(k.variable) for k in kernels(model)))


def regularization_loss(model: keras.layers.Layer) -> float:
    """The current sum of `model.losses` (L1/L2 and L2-SP penalties) as a float; 0.0 without any."""
    return float(sum(float(keras.ops.convert_to_numpy(v)) for v in model.losses))


def activation_name(fn: Any) -> str | None:
    """A layer activation's name: None for no activation, ``"unknown"`` when it has no name.

    Example:
        >>> activation_name(keras.activations.relu)
        'relu'
    """
    if fn is None:
        return None
    try:
        name = keras.activations.serialize(fn)
    except (ValueError, TypeError):
        name = getattr(fn, "__name__", None)
    if isinstance(name, dict):  # a serialized custom object
        name = name.get("config", {}).get("name") or name.get("class_name")
    return name if isinstance(name, str) else "unknown"


def output_layer(model: keras.Model) -> keras.layers.Layer:
    """The layer that produces the single output of a functional or Sequential model.

    Raises:
        ValueError: The model has no known outputs or several of them.
    """
    outputs = getattr(model, "outputs", None)
    if not outputs:
        raise ValueError(
            "Invalid value for argument `model`: expected a built functional or Sequential "
            "model with known outputs (give it a `keras.Input`), or pass `from_logits=` "
            f"explicitly. Received: model={model.name!r} without outputs"
        )
    if len(outputs) != 1:
        raise ValueError(
            "Invalid value for argument `model`: expected a model with a single output; "
            f"compile multi-output models with `model.compile`. Received: {len(outputs)} outputs"
        )
    history = getattr(outputs[0], "_keras_history", None)
    layer = getattr(history, "operation", None)
    return layer if layer is not None else model.layers[-1]


def output_kind(model: keras.Model) -> str:
    """What the model's final layer produces: ``"softmax"``, ``"sigmoid"`` or ``"logits"``.

    regkit models name their final layer ``*_predictions`` and give it a softmax, sigmoid
    or linear activation; any stock Keras model is read the same way (a `Softmax` or
    `Activation` layer at the end counts too).

    Args:
        model: A built functional or Sequential model with one output.

    Returns:
        ``"softmax"``, ``"sigmoid"`` or ``"logits"``.

    Raises:
        ValueError: The model has no known output, several outputs, or ends in an
            activation that is neither probabilities nor logits (e.g. relu).

    Example:
        >>> inputs = keras.Input((32, 32, 3))
        >>> x = keras.layers.Flatten()(inputs)
        >>> output_kind(keras.Model(inputs, keras.layers.Dense(10)(x)))
        'logits'
    """
    layer = output_layer(model)
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    name = activation_name(getattr(layer, "activation", None))
    if name in _PROBABILITY_ACTIVATIONS:
        return _PROBABILITY_ACTIVATIONS[name]
    if name in _LOGIT_ACTIVATIONS:
        return "logits"
    raise ValueError(
        f"Cannot tell whether model {model.name!r} outputs probabilities or logits: its final "
        f"layer {layer.name!r} has activation {name!r}. Pass `from_logits=True` or "
        "`from_logits=False` to `compile_model`."
    )


def input_value_range(model: keras.Model) -> tuple[float, float]:
    """The pixel range `model` expects: ``(0.0, 255.0)`` or ``(0.0, 1.0)``.

    A model built with ``include_preprocessing=True`` starts with regkit's
    ``Rescaling(1/255)`` layer right after its input, and so takes raw 0-255 pixels;
    every other model takes images already scaled to [0, 1].

    Example:
        >>> inputs = keras.Input((32, 32, 3))
        >>> input_value_range(keras.Model(inputs, keras.layers.Conv2D(8, 3)(inputs)))
        (0.0, 1.0)
    """
    first = _first_layer_after_input(model)
    if isinstance(first, keras.layers.Rescaling):
        config = first.get_config()
        scale, offset = config.get("scale"), config.get("offset", 0.0)
        if (
            isinstance(scale, (int, float))
            and isinstance(offset, (int, float))
            and math.isclose(float(scale), 1 / 255, rel_tol=1e-6)
            and offset == 0
        ):
            return (0.0, 255.0)
    return (0.0, 1.0)


def _first_layer_after_input(model: keras.Model) -> keras.layers.Layer | None:
    layers = [
        layer
        for layer in getattr(model, "layers", [])
        if not isinstance(layer, keras.layers.InputLayer)
    ]
    if not layers:
        return None
    inputs = getattr(model, "inputs", None) or []
    if len(inputs) == 1:  # functional: the (only) consumer of the input
        source = getattr(getattr(inputs[0], "_keras_history", None), "operation", None)
        consumers = [
            n.operation
            for n in getattr(source, "_outbound_nodes", None) or []
            if any(getattr(n, "operation", None) is layer for layer in layers)
        ]
        if len(consumers) == 1:
            return consumers[0]
    return layers[0]


# ---------------------------------------------------------------- kernels followed by BN

# Layers through which scaling a kernel's output by c > 0 still scales what reaches the
# next BatchNorm by c (positively homogeneous maps), so BN's output does not change.
_PASS_THROUGH = tuple(
    getattr(keras.layers, name)
    for name in (
        "Dropout",
        "SpatialDropout1D",
        "SpatialDropout2D",
        "SpatialDropout3D",
        "GaussianDropout",
        "MaxPooling1D",
        "MaxPooling2D",
        "MaxPooling3D",
        "AveragePooling1D",
        "AveragePooling2D",
        "AveragePooling3D",
        "GlobalMaxPooling1D",
        "GlobalMaxPooling2D",
        "GlobalMaxPooling3D",
        "GlobalAveragePooling1D",
        "GlobalAveragePooling2D",
        "GlobalAveragePooling3D",
        "ZeroPadding1D",
        "ZeroPadding2D",
        "ZeroPadding3D",
        "Cropping1D",
        "Cropping2D",
        "Cropping3D",
        "UpSampling1D",
        "UpSampling2D",
        "UpSampling3D",
        "Reshape",
        "Flatten",
        "Permute",
        "Identity",
        "LeakyReLU",
        "PReLU",
    )
    if hasattr(keras.layers, name)
)
_HOMOGENEOUS_ACTIVATIONS = {None, "linear", "relu", "leaky_relu"}


def _is_pass_through(layer: keras.layers.Layer) -> bool:
    if isinstance(layer, _PASS_THROUGH):
        return True
    if isinstance(layer, keras.layers.ReLU):
        config = layer.get_config()
        return config.get("max_value") is None and not config.get("threshold")
    if isinstance(layer, keras.layers.Activation):
        return activation_name(layer.activation) in _HOMOGENEOUS_ACTIVATIONS
    return False


def _consumers(layer: keras.layers.Layer, members: Mapping[int, Any]) -> list[Any]:
    nodes = getattr(layer, "_outbound_nodes", None) or []
    return [n.operation for n in nodes if id(getattr(n, "operation", None)) in members]


def _reaches_batch_norm(layer: Any, members: Mapping[int, Any], seen: set[int]) -> bool:
    if isinstance(layer, keras.layers.BatchNormalization):
        return True
    if id(layer) in seen or not _is_pass_through(layer):
        return False
    seen.add(id(layer))
    nxt = _consumers(layer, members)
    return bool(nxt) and all(_reaches_batch_norm(c, members, seen) for c in nxt)


def _feeds_batch_norm_in_sequence(rest: list[keras.layers.Layer]) -> bool:
    for nxt in rest:
        if isinstance(nxt, keras.layers.BatchNormalization):
            return True
        if not _is_pass_through(nxt):
            return False
    return False


def bn_followed_kernels(model: keras.Model) -> list[Kernel]:
    """The kernels whose layer feeds a BatchNormalization (see `kernels_followed_by_batch_norm`).

    Example:
        >>> inputs = keras.Input((32, 32, 3))
        >>> x = keras.layers.Conv2D(8, 3, use_bias=False, name="conv")(inputs)
        >>> model = keras.Model(inputs, keras.layers.BatchNormalization()(x))
        >>> [k.key for k in bn_followed_kernels(model)]
        ['conv_kernel']
    """
    out: list[Kernel] = []
    containers = [model, *(m for m in iter_layers(model) if getattr(m, "layers", None))]
    for container in containers:
        members = {id(layer): layer for layer in container.layers}
        sequential = isinstance(container, keras.Sequential)
        for index, layer in enumerate(container.layers):
            found = _layer_kernels(layer)
            if not found:
                continue
            if activation_name(getattr(layer, "activation", None)) not in _HOMOGENEOUS_ACTIVATIONS:
                continue
            if sequential:  # the next layer is the consumer; no graph needed
                ok = _feeds_batch_norm_in_sequence(container.layers[index + 1 :])
            else:
                nxt = _consumers(layer, members)
                ok = bool(nxt) and all(_reaches_batch_norm(c, members, set()) for c in nxt)
            if ok:
                out.extend(found)
    return out


def kernels_followed_by_batch_norm(model: keras.Model) -> list[str]:
    """Names of the layers whose kernels feed a BatchNormalization (scale-invariant kernels).

    A kernel counts when every path from its layer's output reaches a BatchNormalization
    through positively homogeneous layers only (dropout, pooling, padding, reshaping,
    ReLU without a cap, LeakyReLU, linear activations), and the layer's own activation is
    linear, relu or leaky_relu. BN's output then does not change when the kernel is
    scaled by c > 0 (exactly without a bias; with a bias, kernel and bias scale together),
    so the kernel's norm only sets its effective learning rate. ReLU6 breaks the chain.
    Works on functional and Sequential models, nested models included.

    Args:
        model: A built Keras model.

    Returns:
        Layer names, in model order.

    Example:
        >>> inputs = keras.Input((32, 32, 3))
        >>> x = keras.layers.Conv2D(8, 3, use_bias=False, name="conv")(inputs)
        >>> x = keras.layers.BatchNormalization()(x)
        >>> x = keras.layers.GlobalAveragePooling2D()(keras.layers.ReLU()(x))
        >>> model = keras.Model(inputs, keras.layers.Dense(10, name="predictions")(x))
        >>> kernels_followed_by_batch_norm(model)
        ['conv']
    """
    names: list[str] = []
    for kernel in bn_followed_kernels(model):
        if kernel.layer.name not in names:
            names.append(kernel.layer.name)
    return names
