"""Building blocks: tensor -> tensor functions of stock Keras layers.

Each block reads one `Regularization` and places L1/L2, BatchNorm, Dropout, DropBlock and
stochastic depth the same way every time, with stable layer names, so models composed from
them save to `.keras` and load back without `custom_objects` (regkit's own layers, from
`regkit.layers`, are registered when this module is imported).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any, Literal

import keras

from regkit._checks import (
    MAX_WIDTH,
    check_bool,
    check_bounded_int,
    check_choice,
    check_fraction,
    check_int_sequence,
    check_model_size,
    check_num_classes,
    check_poolable,
    check_positive_int,
    check_tensor_rank,
    invalid,
)
from regkit.config import Regularization
from regkit.layers import DropBlock2D, DropPath
from regkit.regularization import bias_regularizer, kernel_regularizer

__all__ = [
    "NORM_ORDERS",
    "OUTPUTS",
    "POOLINGS",
    "NormOrder",
    "Output",
    "Pooling",
    "batch_norm",
    "conv_block",
    "dense_head",
    "inverted_residual",
    "make_divisible",
    "output_units",
    "residual_block",
]

#: Where BatchNorm sits relative to the activation.
NormOrder = Literal["conv-act-bn", "conv-bn-act"]
#: What the classifier outputs: class probabilities (softmax), independent per-class
#: probabilities (sigmoid: binary or multi-label) or logits.
Output = Literal["softmax", "sigmoid", "logits"]
#: How a head flattens a feature map.
Pooling = Literal["flatten", "avg", "max"]

#: Valid `norm_order` values: where BatchNorm sits relative to the activation.
NORM_ORDERS: tuple[NormOrder, ...] = ("conv-act-bn", "conv-bn-act")
#: Valid `output` values of the classifier.
OUTPUTS: tuple[Output, ...] = ("softmax", "sigmoid", "logits")
#: Valid `pooling` values of `dense_head` (None: the input is already flat).
POOLINGS: tuple[Pooling | None, ...] = ("flatten", "avg", "max", None)


def output_units(num_classes: int, output: str) -> int:
    """Units of the final Dense: one for a binary sigmoid (``num_classes`` 1 or 2), else
    ``num_classes`` (softmax and logits over the classes, or one sigmoid per label)."""
    return 1 if output == "sigmoid" and num_classes <= 2 else num_classes


def _dims(x: Any) -> tuple[int, ...]:
    """The known dimensions of `x` after the batch (unknown ones count as 1)."""
    return tuple(1 if d is None else int(d) for d in tuple(x.shape)[1:])


def _channels(x: Any) -> int:
    """The channel count of `x`, which a block needs known (ValueError naming `x`)."""
    if x.shape[-1] is None:
        raise ValueError(
            "Invalid value for argument `x`: the channel dimension must be known. "
            f"Received: x with shape {tuple(x.shape)}"
        )
    return int(x.shape[-1])


def _block_name(name: str | None, prefix: str) -> str:
    if name is None:
        return f"{prefix}_{keras.backend.get_uid(prefix)}"
    if not isinstance(name, str) or not name:
        raise invalid("name", "a non-empty str or None", name)
    return name


def batch_norm(reg: Regularization, name: str) -> keras.layers.BatchNormalization:
    """The BatchNormalization layer every regkit block uses, with `reg`'s momentum/epsilon."""
    return keras.layers.BatchNormalization(
        momentum=reg.bn_momentum, epsilon=reg.bn_epsilon, name=name
    )


def conv_block(
    x: Any,
    filters: int,
    *,
    convs: int = 2,
    kernel_size: int = 3,
    reg: Regularization | str | None = None,
    norm_order: NormOrder = "conv-act-bn",
    pool: bool = True,
    name: str | None = None,
) -> Any:
    """A VGG-style block: `convs` 'same' convolutions with ReLU, optional BN, pooling, dropout.

    Layers, for ``norm_order="conv-act-bn"`` (seeds 000 and 001):
    ``Conv2D(relu)`` then ``BatchNormalization`` (if `reg.batch_norm`), `convs` times; for
    ``"conv-bn-act"`` (seed 003): ``Conv2D`` (linear, no bias when BN follows),
    ``BatchNormalization``, ``ReLU``. Then ``MaxPooling2D(2)`` if `pool`, and
    ``SpatialDropout2D`` / ``Dropout`` if `reg.spatial_dropout` / `reg.dropout` are set.
    Names: ``{name}_conv{j}``, ``{name}_bn{j}``, ``{name}_relu{j}``, ``{name}_pool``,
    ``{name}_spatial_dropout``, ``{name}_dropout``.

    Args:
        x: A rank-4 (batch, height, width, channels) Keras tensor.
        filters: Output channels of every convolution.
        convs: Number of convolutions.
        kernel_size: Square kernel size.
        reg: A `Regularization`, a preset name or None (no regularization).
        norm_order: ``"conv-act-bn"`` or ``"conv-bn-act"``.
        pool: Add a 2x2 max pooling at the end.
        name: Layer-name prefix; a unique ``conv_block_<n>`` when None.

    Returns:
        The block's output tensor.

    Raises:
        ValueError: A count is < 1, `norm_order` is unknown, or `x` is not rank 4.

    Example:
        >>> inputs = keras.Input((32, 32, 3))
        >>> x = conv_block(inputs, 32, reg=Regularization(l2=1e-4, batch_norm=True))
        >>> tuple(x.shape)
        (None, 16, 16, 32)
    """
    reg = Regularization.coerce(reg)
    filters = check_bounded_int("filters", filters, maximum=MAX_WIDTH)
    convs = check_bounded_int("convs", convs)
    kernel_size = check_bounded_int("kernel_size", kernel_size)
    check_choice("norm_order", norm_order, NORM_ORDERS)
    check_tensor_rank("x", x, 4)
    pool = check_bool("pool", pool)
    if pool:
        check_poolable(x, 1, arg="x")
    height, width, channels = _dims(x)
    check_model_size(
        {"filters": filters, "convs": convs, "kernel_size": kernel_size, "x": tuple(x.shape)},
        parameters=kernel_size**2 * (channels + (convs - 1) * filters) * filters
        + 4 * convs * filters,
        activations=height * width * filters,
        layers=3 * convs,
    )
    name = _block_name(name, "conv_block")

    for j in range(1, convs + 1):
        if norm_order == "conv-act-bn":
            x = keras.layers.Conv2D(
                filters,
                kernel_size,
                padding="same",
                activation="relu",
                kernel_regularizer=kernel_regularizer(reg),
                bias_regularizer=bias_regularizer(reg),
                name=f"{name}_conv{j}",
            )(x)
            if reg.batch_norm:
                x = batch_norm(reg, f"{name}_bn{j}")(x)
        else:
            x = keras.layers.Conv2D(
                filters,
                kernel_size,
                padding="same",
                use_bias=not reg.batch_norm,
                kernel_regularizer=kernel_regularizer(reg),
                bias_regularizer=None if reg.batch_norm else bias_regularizer(reg),
                name=f"{name}_conv{j}",
            )(x)
            if reg.batch_norm:
                x = batch_norm(reg, f"{name}_bn{j}")(x)
            x = keras.layers.ReLU(name=f"{name}_relu{j}")(x)
    if pool:
        x = keras.layers.MaxPooling2D(2, name=f"{name}_pool")(x)
    if reg.drop_block:
        x = DropBlock2D(reg.drop_block, reg.drop_block_size, name=f"{name}_dropblock")(x)
    if reg.spatial_dropout:
        x = keras.layers.SpatialDropout2D(reg.spatial_dropout, name=f"{name}_spatial_dropout")(x)
    if reg.dropout:
        x = keras.layers.Dropout(reg.dropout, name=f"{name}_dropout")(x)
    return x


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Rounds a channel count to the nearest multiple of `divisor`, never dropping > 10%.

    This is MobileNet's width rule: `alpha` scales every layer's channels and the result is
    kept hardware friendly.
    """
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def _stride2_padding(x: Any, kernel_size: int = 3) -> tuple[tuple[int, int], tuple[int, int]]:
    """Explicit zero padding before a 'valid' stride-2 depthwise conv.

    One row/column on the bottom/right for even sizes, one on each side for odd sizes
    (or unknown ones): the output is ceil(size / 2), and the layout is the one
    keras.applications.MobileNetV2 uses, so shapes and parameter counts agree with it.
    """
    pads = []
    half = kernel_size // 2
    for size in tuple(x.shape)[1:3]:
        odd_fix = 1 if size is None else 1 - size % 2
        pads.append((half - odd_fix, half))
    return pads[0], pads[1]


def inverted_residual(
    x: Any,
    filters: int,
    *,
    expansion: int = 6,
    stride: int = 1,
    reg: Regularization | str | None = None,
    drop_path: float | None = None,
    name: str | None = None,
) -> Any:
    """MobileNetV2's inverted residual: expand 1x1, depthwise 3x3, project 1x1, add.

    Layers: ``{name}_expand`` (1x1 conv to ``expansion * in_channels``, skipped when
    `expansion` is 1), ``{name}_expand_bn``, ``{name}_expand_relu`` (ReLU6); ``{name}_pad``
    (stride 2 only) and ``{name}_depthwise`` (3x3), ``{name}_depthwise_bn``,
    ``{name}_depthwise_relu``; ``{name}_project`` (1x1 conv to `filters`, linear),
    ``{name}_project_bn``; ``{name}_droppath`` (`regkit.layers.DropPath` on the residual
    branch, when the block has a skip and its rate is > 0) and ``{name}_add`` when stride is
    1 and channels match. Convolutions
    have no bias (as keras.applications.MobileNetV2 and seed 002); BN layers are present
    only when `reg.batch_norm`.

    Args:
        x: A rank-4 Keras tensor.
        filters: Output channels (already scaled by any width multiplier).
        expansion: Expansion factor of the 1x1 expand convolution.
        stride: 1 or 2 (the depthwise convolution's stride).
        reg: A `Regularization`, a preset name or None.
        drop_path: This block's stochastic-depth rate, in [0, 1); None uses
            `reg.drop_path` (builders pass each block its share, ``reg.drop_path * i / N``).
            Used only when the block has a skip connection.
        name: Layer-name prefix; a unique ``inverted_residual_<n>`` when None.

    Returns:
        The block's output tensor.

    Raises:
        ValueError: `filters`/`expansion` < 1, `stride` not 1 or 2, `drop_path` not in
            [0, 1), or `x` not rank 4.

    Example:
        >>> inputs = keras.Input((32, 32, 16))
        >>> x = inverted_residual(inputs, 24, stride=2, reg=Regularization(batch_norm=True))
        >>> tuple(x.shape)
        (None, 16, 16, 24)
    """
    reg = Regularization.coerce(reg)
    filters = check_bounded_int("filters", filters, maximum=MAX_WIDTH)
    expansion = check_bounded_int("expansion", expansion)
    stride = check_positive_int("stride", stride)
    check_choice("stride", stride, (1, 2))
    rate = _drop_path_rate(drop_path, reg)
    check_tensor_rank("x", x, 4)
    name = _block_name(name, "inverted_residual")
    in_channels = _channels(x)
    height, width, _ = _dims(x)
    hidden = expansion * in_channels
    check_model_size(
        {"filters": filters, "expansion": expansion, "x": tuple(x.shape)},
        parameters=hidden * (in_channels + 9 + filters) + 4 * (2 * hidden + filters),
        activations=height * width * hidden,
        layers=10,
    )
    k_reg = kernel_regularizer(reg)
    dw_reg = k_reg if reg.regularize_depthwise else None

    inputs = x
    if expansion != 1:
        x = keras.layers.Conv2D(
            expansion * in_channels,
            1,
            padding="same",
            use_bias=False,
            kernel_regularizer=k_reg,
            name=f"{name}_expand",
        )(x)
        if reg.batch_norm:
            x = batch_norm(reg, f"{name}_expand_bn")(x)
        x = keras.layers.ReLU(6.0, name=f"{name}_expand_relu")(x)
    if stride == 2:
        x = keras.layers.ZeroPadding2D(_stride2_padding(x), name=f"{name}_pad")(x)
    x = keras.layers.DepthwiseConv2D(
        3,
        strides=stride,
        padding="same" if stride == 1 else "valid",
        use_bias=False,
        depthwise_regularizer=dw_reg,
        name=f"{name}_depthwise",
    )(x)
    if reg.batch_norm:
        x = batch_norm(reg, f"{name}_depthwise_bn")(x)
    x = keras.layers.ReLU(6.0, name=f"{name}_depthwise_relu")(x)
    x = keras.layers.Conv2D(
        filters,
        1,
        padding="same",
        use_bias=False,
        kernel_regularizer=k_reg,
        name=f"{name}_project",
    )(x)
    if reg.batch_norm:
        x = batch_norm(reg, f"{name}_project_bn")(x)
    if stride == 1 and in_channels == filters:
        if rate:
            x = DropPath(rate, name=f"{name}_droppath")(x)
        x = keras.layers.Add(name=f"{name}_add")([inputs, x])
    return x


def _drop_path_rate(drop_path: float | None, reg: Regularization) -> float:
    """A block's stochastic-depth rate: `drop_path` when given, else `reg.drop_path`."""
    return reg.drop_path if drop_path is None else check_fraction("drop_path", drop_path)


def residual_block(
    x: Any,
    filters: int,
    *,
    stride: int = 1,
    reg: Regularization | str | None = None,
    drop_path: float | None = None,
    name: str | None = None,
) -> Any:
    """The basic residual block of He et al. 2016: two 3x3 convolutions and a shortcut.

    Layers: ``{name}_conv1`` (3x3, `stride`), ``{name}_bn1``, ``{name}_relu1``,
    ``{name}_conv2`` (3x3), ``{name}_bn2``, ``{name}_droppath`` (`regkit.layers.DropPath`
    on the residual branch, when its rate is > 0), ``{name}_add``, ``{name}_relu2``. When
    the stride is 2 or the channels change, the shortcut is a projection (option B of the
    paper): ``{name}_shortcut_conv`` (1x1, `stride`) and ``{name}_shortcut_bn``; otherwise
    it is the identity. Convolutions have no bias and get `reg`'s L1/L2. BatchNorm is part
    of the block (as in the paper: a deep residual network does not train without it), so
    it is always there, with `reg`'s momentum and epsilon; `reg.batch_norm` is not read.

    Args:
        x: A rank-4 Keras tensor.
        filters: Output channels.
        stride: 1 or 2 (the first convolution's and the projection's stride).
        reg: A `Regularization`, a preset name or None.
        drop_path: This block's stochastic-depth rate, in [0, 1); None uses `reg.drop_path`.
        name: Layer-name prefix; a unique ``residual_block_<n>`` when None.

    Returns:
        The block's output tensor.

    Raises:
        ValueError: `filters` < 1, `stride` not 1 or 2, `drop_path` not in [0, 1), or `x`
            not rank 4 with a known channel count.

    Example:
        >>> inputs = keras.Input((32, 32, 16))
        >>> x = residual_block(inputs, 32, stride=2, reg=Regularization(drop_path=0.1))
        >>> tuple(x.shape)
        (None, 16, 16, 32)
    """
    reg = Regularization.coerce(reg)
    filters = check_bounded_int("filters", filters, maximum=MAX_WIDTH)
    stride = check_positive_int("stride", stride)
    check_choice("stride", stride, (1, 2))
    rate = _drop_path_rate(drop_path, reg)
    check_tensor_rank("x", x, 4)
    name = _block_name(name, "residual_block")
    in_channels = _channels(x)
    height, width, _ = _dims(x)
    check_model_size(
        {"filters": filters, "x": tuple(x.shape)},
        parameters=9 * (in_channels + filters) * filters + (in_channels + 12) * filters,
        activations=height * width * filters,
        layers=10,
    )

    def conv(inputs: Any, size: int, conv_stride: int, suffix: str) -> Any:
        return keras.layers.Conv2D(
            filters,
            size,
            strides=conv_stride,
            padding="same",
            use_bias=False,
            kernel_regularizer=kernel_regularizer(reg),
            name=f"{name}_{suffix}",
        )(inputs)

    shortcut = x
    if stride != 1 or in_channels != filters:
        shortcut = conv(x, 1, stride, "shortcut_conv")
        shortcut = batch_norm(reg, f"{name}_shortcut_bn")(shortcut)
    y = conv(x, 3, stride, "conv1")
    y = batch_norm(reg, f"{name}_bn1")(y)
    y = keras.layers.ReLU(name=f"{name}_relu1")(y)
    y = conv(y, 3, 1, "conv2")
    y = batch_norm(reg, f"{name}_bn2")(y)
    if rate:
        y = DropPath(rate, name=f"{name}_droppath")(y)
    y = keras.layers.Add(name=f"{name}_add")([shortcut, y])
    return keras.layers.ReLU(name=f"{name}_relu2")(y)


def dense_head(
    x: Any,
    num_classes: int,
    *,
    units: Sequence[int] = (256,),
    pooling: Pooling | None = "flatten",
    reg: Regularization | str | None = None,
    output: Output = "softmax",
    name: str | None = None,
) -> Any:
    """A classifier head: pooling, hidden Dense(ReLU) layers with BN/Dropout, final Dense.

    Layers: ``{name}_flatten`` / ``{name}_avg_pool`` / ``{name}_max_pool``; per hidden layer k:
    ``{name}_dense{k}`` (ReLU), ``{name}_bn{k}`` (if `reg.head_batch_norm`),
    ``{name}_dropout{k}`` (if `reg.head_dropout`); with no hidden layer, ``{name}_dropout``
    sits before the classifier; ``{name}_predictions``, which always computes in float32 so
    that mixed precision never produces a float16 softmax or sigmoid.

    Args:
        x: A Keras tensor: rank 4 to be pooled, or rank 2 with ``pooling=None``.
        num_classes: Number of classes (>= 2 for a softmax; 1 or 2 for a binary sigmoid).
        units: Hidden layer widths (may be empty).
        pooling: ``"flatten"``, ``"avg"``, ``"max"``, or None for an already flat input.
        reg: A `Regularization`, a preset name or None. Hidden kernels get L1/L2; the final
            kernel too unless ``reg.regularize_output`` is False.
        output: ``"softmax"`` (class probabilities), ``"sigmoid"`` (independent
            probabilities: one unit, P(class 1), for a binary problem with `num_classes` 1
            or 2; one unit per label for multi-label with `num_classes` > 2) or
            ``"logits"`` (linear).
        name: Layer-name prefix; a unique ``dense_head_<n>`` when None.

    Returns:
        The output tensor, shape ``(batch, units)``, float32, where units is
        `num_classes`, or 1 for a binary sigmoid.

    Raises:
        ValueError: `num_classes` < 1 (or 1 with a softmax, which is always 1), a unit
            count < 1, an unknown `pooling`/`output`, or sizes no machine holds.

    Example:
        >>> inputs = keras.Input((32, 32, 3))
        >>> outputs = dense_head(inputs, 10, units=(64,), reg="dropout")
        >>> tuple(outputs.shape)
        (None, 10)
    """
    reg = Regularization.coerce(reg)
    check_choice("output", output, OUTPUTS)
    num_classes = check_num_classes(num_classes, output)
    units = check_int_sequence("units", units, allow_empty=True, maximum=MAX_WIDTH)
    check_choice("pooling", pooling, POOLINGS)
    name = _block_name(name, "dense_head")

    if pooling is None:
        check_tensor_rank("x", x, 2)
    else:
        check_tensor_rank("x", x, 4)
    dims = _dims(x)
    features = math.prod(dims) if pooling in ("flatten", None) else dims[-1]
    widths = (features, *units, output_units(num_classes, output))
    check_model_size(
        {"num_classes": num_classes, "units": units, "x": tuple(x.shape)},
        parameters=sum((a + 1) * b for a, b in itertools.pairwise(widths)),
        activations=max(widths),
        layers=3 * len(widths),
    )
    if pooling is not None:
        if pooling == "flatten":
            if None in tuple(x.shape)[1:]:
                raise ValueError(
                    "Invalid value for argument `pooling`: 'flatten' needs a fixed spatial size, "
                    f"but the input has shape {tuple(x.shape)}. Use pooling='avg' or 'max', or "
                    "give the model a fixed input_shape. Received: pooling='flatten'"
                )
            x = keras.layers.Flatten(name=f"{name}_flatten")(x)
        elif pooling == "avg":
            x = keras.layers.GlobalAveragePooling2D(name=f"{name}_avg_pool")(x)
        else:
            x = keras.layers.GlobalMaxPooling2D(name=f"{name}_max_pool")(x)

    for k, width in enumerate(units, start=1):
        x = keras.layers.Dense(
            width,
            activation="relu",
            kernel_regularizer=kernel_regularizer(reg),
            bias_regularizer=bias_regularizer(reg),
            name=f"{name}_dense{k}",
        )(x)
        if reg.head_batch_norm:
            x = batch_norm(reg, f"{name}_bn{k}")(x)
        if reg.head_dropout:
            x = keras.layers.Dropout(reg.head_dropout, name=f"{name}_dropout{k}")(x)
    if not units and reg.head_dropout:
        x = keras.layers.Dropout(reg.head_dropout, name=f"{name}_dropout")(x)

    return keras.layers.Dense(
        output_units(num_classes, output),
        activation=None if output == "logits" else output,
        kernel_regularizer=kernel_regularizer(reg) if reg.regularize_output else None,
        bias_regularizer=bias_regularizer(reg) if reg.regularize_output else None,
        dtype="float32",
        name=f"{name}_predictions",
    )(x)
