"""Model builders: `build_cnn`, `build_mobilenet_v2` and `build_resnet`, with their
architectures as data."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any, Literal, NamedTuple

import keras

from regkit._checks import (
    MAX_WIDTH,
    check_bool,
    check_bounded_int,
    check_choice,
    check_fraction,
    check_input_shape,
    check_int_sequence,
    check_model_size,
    check_name,
    check_num_classes,
    check_poolable,
    check_positive_float,
    invalid,
)
from regkit.blocks import (
    NORM_ORDERS,
    OUTPUTS,
    NormOrder,
    Output,
    Pooling,
    batch_norm,
    conv_block,
    dense_head,
    inverted_residual,
    make_divisible,
    output_units,
    residual_block,
)
from regkit.config import Regularization
from regkit.layers import DropBlock2D, drop_path_rates
from regkit.regularization import kernel_regularizer

__all__ = [
    "BUILDERS",
    "MOBILENET_V2_STAGES",
    "RESNET_DEPTHS",
    "RESNET_DROP_BLOCK_STAGES",
    "InvertedResidualSpec",
    "build_cnn",
    "build_mobilenet_v2",
    "build_resnet",
    "resnet_blocks_per_stage",
]


class InvertedResidualSpec(NamedTuple):
    """One MobileNetV2 stage: `repeats` inverted residuals; the first has `stride`."""

    expansion: int
    filters: int
    repeats: int
    stride: int


#: MobileNetV2's body (Sandler et al. 2018, table 2), before the width multiplier.
MOBILENET_V2_STAGES: tuple[InvertedResidualSpec, ...] = (
    InvertedResidualSpec(1, 16, 1, 1),
    InvertedResidualSpec(6, 24, 2, 2),
    InvertedResidualSpec(6, 32, 3, 2),
    InvertedResidualSpec(6, 64, 4, 2),
    InvertedResidualSpec(6, 96, 3, 1),
    InvertedResidualSpec(6, 160, 3, 2),
    InvertedResidualSpec(6, 320, 1, 1),
)
_MOBILENET_STEM_FILTERS = 32
_MOBILENET_TOP_FILTERS = 1280
_MOBILENET_MIN_SIZE = 32
#: The scale of the `include_preprocessing` layer: raw 0-255 pixels to [0, 1].
PIXEL_SCALE = 1 / 255


def _rescaling(inputs: Any, name: str) -> Any:
    """regkit's preprocessing layer: ``Rescaling(1/255)`` named ``{name}_rescaling``."""
    return keras.layers.Rescaling(PIXEL_SCALE, name=f"{name}_rescaling")(inputs)


def _with_drop_path_rate(reg: Regularization, drop_path_rate: float | None) -> Regularization:
    """`reg` with keras-hub's and timm's ``drop_path_rate=`` folded in: the same setting
    as ``reg.drop_path`` (the largest stochastic-depth rate), so giving both is fine only
    when they agree (a ``reg.drop_path`` of 0 is the default, not a choice).

    Raises:
        ValueError: `drop_path_rate` is not in [0, 1), or it differs from a nonzero
            ``reg.drop_path``.
    """
    if drop_path_rate is None:
        return reg
    try:
        rate = check_fraction("drop_path_rate", drop_path_rate)
    except OverflowError:  # an int too large for a float: out of range like any other
        raise invalid("drop_path_rate", "a float in [0, 1)", drop_path_rate) from None
    if reg.drop_path and rate != reg.drop_path:
        raise ValueError(
            "Invalid value for argument `drop_path_rate`: it conflicts with `reg.drop_path` "
            "(the same setting); set it in one place. "
            f"Received: drop_path_rate={drop_path_rate!r} with reg.drop_path={reg.drop_path!r}"
        )
    return reg.replace(drop_path=rate)


def _known(shape: Sequence[int | None]) -> list[int]:
    return [1 if d is None else int(d) for d in shape]


def _check_cnn_size(
    input_shape: Sequence[int | None],
    num_classes: int,
    filters: tuple[int, ...],
    convs: int,
    dense_units: tuple[int, ...],
    pooling: str,
    pools: tuple[bool, ...],
    output: str,
) -> None:
    """Refuses, before any layer is made, a CNN no machine could hold (a cheap estimate)."""
    height, width, channels = _known(input_shape)
    parameters, activations = 0, height * width * channels
    for width_out, pool_here in zip(filters, pools, strict=True):
        parameters += 9 * (channels + (convs - 1) * width_out) * width_out + 4 * convs * width_out
        activations = max(activations, height * width * width_out)
        channels = width_out
        if pool_here:
            height, width = height // 2, width // 2
    features = height * width * channels if pooling == "flatten" else channels
    widths = (features, *dense_units, output_units(num_classes, output))
    parameters += sum((a + 1) * b for a, b in itertools.pairwise(widths))
    check_model_size(
        {
            "input_shape": tuple(input_shape),
            "num_classes": num_classes,
            "filters": filters,
            "convs_per_block": convs,
            "dense_units": dense_units,
        },
        parameters=parameters,
        activations=activations,
        layers=3 * len(filters) * convs + 3 * len(widths),
    )


def build_cnn(
    input_shape: Sequence[int | None],
    num_classes: int,
    *,
    filters: Sequence[int] = (32, 64, 128),
    convs_per_block: int = 2,
    dense_units: Sequence[int] = (256,),
    pooling: Pooling = "flatten",
    norm_order: NormOrder = "conv-act-bn",
    reg: Regularization | str | None = None,
    output: Output = "softmax",
    name: str = "cnn",
    pool: bool | Sequence[bool] = True,
    include_preprocessing: bool = False,
) -> keras.Model:
    """A VGG-style CNN: one `conv_block` per entry of `filters`, then a `dense_head`.

    The seeds' models are one call each:

    - seed 000: ``build_cnn((32, 32, 3), 10, filters=(32,), convs_per_block=1,
      dense_units=(512,), reg=Regularization(l2=0.01, batch_norm=True, head_batch_norm=True,
      head_dropout=0.5, regularize_output=False))`` (4,203,018 parameters).
    - seed 001: ``build_cnn((160, 160, 3), 10, reg=Regularization(batch_norm=True,
      dropout=0.25, head_batch_norm=True, head_dropout=0.5))``.
    - seed 003: ``build_cnn((32, 32, 3), 10, filters=(32, 64, 128), convs_per_block=1,
      dense_units=(64,), norm_order="conv-bn-act", pool=(True, True, False), output="logits",
      reg=Regularization(l2=0.01, batch_norm=True, head_dropout=0.5, regularize_output=False))``.

    Layer names: ``{name}_input``, ``{name}_rescaling`` (with `include_preprocessing`),
    ``{name}_block{i}_conv{j}``, ``{name}_block{i}_bn{j}``,
    ``{name}_block{i}_pool``, ``{name}_block{i}_dropblock``, ``{name}_block{i}_dropout``,
    ``{name}_head_dense{k}``, ``{name}_head_predictions``.

    ``reg.drop_block`` puts a `regkit.layers.DropBlock2D` after each block's pooling (where
    spatial dropout goes); ``reg.drop_path`` is not used (a plain CNN has no skip
    connection).

    Args:
        input_shape: ``(height, width, channels)``; height/width may be None only when
            `pooling` is ``"avg"`` or ``"max"``.
        num_classes: Number of classes (>= 2 with a softmax; 1 or 2 for a binary sigmoid).
        filters: Filters of each conv block (one block per entry).
        convs_per_block: Convolutions per block.
        dense_units: Hidden dense layer widths of the head (may be empty).
        pooling: How the head flattens features: ``"flatten"``, ``"avg"`` or ``"max"``.
        norm_order: ``"conv-act-bn"`` or ``"conv-bn-act"`` (see `conv_block`).
        reg: A `Regularization`, a preset name, or None for no regularization.
        output: ``"softmax"``, ``"sigmoid"`` or ``"logits"`` (see `dense_head`: a
            sigmoid with `num_classes` 1 or 2 is one unit, P(class 1)); the final layer
            computes in float32.
        name: Model name and layer-name prefix.
        pool: Max-pool at the end of each block; a sequence gives one flag per block.
        include_preprocessing: Put ``Rescaling(1/255)`` (``{name}_rescaling``) right after
            the input, so the model takes raw 0-255 pixels (as saved and served models
            are fed); `regkit.data.image_pipeline(..., model=model)` then leaves pixels
            unscaled. Default False: the model takes images in [0, 1].

    Returns:
        A functional `keras.Model` of stock Keras layers (saves/loads without custom objects).

    Raises:
        ValueError: Any argument is out of range or unknown, or the input is too small for
            the number of poolings; the message names the argument and the value.

    Example:
        >>> model = build_cnn((32, 32, 3), 10, reg=Regularization.preset("all"))
        >>> model.output_shape
        (None, 10)
    """
    reg = Regularization.coerce(reg)
    name = check_name("name", name)
    check_choice("output", output, OUTPUTS)
    num_classes = check_num_classes(num_classes, output)
    filters = check_int_sequence("filters", filters, maximum=MAX_WIDTH)
    convs_per_block = check_bounded_int("convs_per_block", convs_per_block)
    dense_units = check_int_sequence(
        "dense_units", dense_units, allow_empty=True, maximum=MAX_WIDTH
    )
    check_choice("pooling", pooling, ("flatten", "avg", "max"))
    check_choice("norm_order", norm_order, NORM_ORDERS)
    include_preprocessing = check_bool("include_preprocessing", include_preprocessing)
    check_input_shape(input_shape, allow_none_spatial=pooling != "flatten")
    if isinstance(pool, bool):
        pools = (pool,) * len(filters)
    elif isinstance(pool, Sequence) and all(isinstance(p, bool) for p in pool):
        pools = tuple(pool)
        if len(pools) != len(filters):
            raise invalid("pool", f"a bool or {len(filters)} bools (one per block)", pool)
    else:
        raise invalid("pool", "a bool or a sequence of bools (one per block)", pool)
    _check_cnn_size(
        input_shape, num_classes, filters, convs_per_block, dense_units, pooling, pools, output
    )

    inputs = keras.Input(tuple(input_shape), name=f"{name}_input")
    check_poolable(inputs, sum(pools))
    x = _rescaling(inputs, name) if include_preprocessing else inputs
    for i, (width, pool_here) in enumerate(zip(filters, pools, strict=True), start=1):
        x = conv_block(
            x,
            width,
            convs=convs_per_block,
            reg=reg,
            norm_order=norm_order,
            pool=pool_here,
            name=f"{name}_block{i}",
        )
    outputs = dense_head(
        x,
        num_classes,
        units=dense_units,
        pooling=pooling,
        reg=reg,
        output=output,
        name=f"{name}_head",
    )
    return keras.Model(inputs, outputs, name=name)


def _mobilenet_plan(alpha: float) -> list[tuple[InvertedResidualSpec, int, int, bool]]:
    """MobileNetV2's blocks in order: (stage spec, width, stride, has a skip connection)."""
    plan = []
    channels = make_divisible(_MOBILENET_STEM_FILTERS * alpha)
    for spec in MOBILENET_V2_STAGES:
        width = make_divisible(int(spec.filters * alpha))
        for r in range(spec.repeats):
            stride = spec.stride if r == 0 else 1
            plan.append((spec, width, stride, stride == 1 and channels == width))
            channels = width
    return plan


def build_mobilenet_v2(
    input_shape: Sequence[int | None] = (224, 224, 3),
    num_classes: int = 1000,
    *,
    alpha: float = 1.0,
    include_top: bool = True,
    pooling: Literal["avg", "max"] | None = "avg",
    reg: Regularization | str | None = None,
    output: Output = "softmax",
    name: str = "mobilenet_v2",
    include_preprocessing: bool = False,
    drop_path_rate: float | None = None,
) -> keras.Model:
    """MobileNetV2 (Sandler et al. 2018) with every regularization knob of `Regularization`.

    With ``reg=Regularization(batch_norm=True)`` the parameter count equals
    ``keras.applications.MobileNetV2(weights=None)`` for the same input shape, alpha and
    classes. Unlike keras.applications, BatchNorm is opt-in (``reg.batch_norm``) so that
    seed 002's three variants are each one call:

    - BN only: ``reg=Regularization(batch_norm=True)``;
    - L2 only (no BN): ``reg=Regularization(l2=1e-3, regularize_bias=True)``;
    - BN + L2: ``reg=Regularization(l2=1e-3, regularize_bias=True, batch_norm=True)``;

    each with ``output="logits"``. Convolutions have no bias (so ``regularize_bias`` only
    reaches the classifier's bias). ``reg.head_dropout`` adds dropout before the classifier;
    ``reg.dropout``/``spatial_dropout``/``drop_block`` are for conv blocks and are not used
    here. ``reg.drop_path`` puts a `regkit.layers.DropPath` on the residual branch of each
    inverted residual with a skip (10 in the standard network): the i-th of N uses
    ``reg.drop_path * i / N`` (``{name}_block{b}_droppath``, b the block's number);
    ``drop_path_rate=`` is the same setting, spelled as keras-hub and timm spell it.

    Layer names: ``{name}_stem_conv``, ``{name}_block{i}_expand``, ``..._depthwise``,
    ``..._project`` (and ``_bn``/``_relu`` companions), ``{name}_top_conv``,
    ``{name}_head_predictions``.

    Args:
        input_shape: ``(height, width, channels)``, height and width >= 32 (or None).
        num_classes: Number of classes (used when `include_top`).
        alpha: Width multiplier (> 0; 0.35 to 1.4 are the published ones).
        include_top: Add global pooling and the classifier.
        pooling: ``"avg"`` or ``"max"`` global pooling; with `include_top` False, None
            returns the 4-D feature map.
        reg: A `Regularization`, a preset name or None (no BN, no penalty).
        output: ``"softmax"``, ``"sigmoid"`` or ``"logits"`` (see `dense_head`).
        name: Model name and layer-name prefix.
        include_preprocessing: Put ``Rescaling(1/255)`` right after the input, so the
            model takes raw 0-255 pixels (see `build_cnn`).
        drop_path_rate: Stochastic depth's largest rate, as keras-hub and timm call it:
            the same as ``reg=Regularization(drop_path=...)`` (None: `reg`'s). Giving
            both is a ValueError unless they agree.

    Returns:
        A functional `keras.Model`.

    Raises:
        ValueError: An argument is out of range or unknown, or `drop_path_rate`
            conflicts with ``reg.drop_path``; the message names it.

    Example:
        >>> model = build_mobilenet_v2((32, 32, 3), 10, alpha=0.35, reg="bn")
        >>> model.output_shape
        (None, 10)
    """
    reg = _with_drop_path_rate(Regularization.coerce(reg), drop_path_rate)
    name = check_name("name", name)
    alpha = check_positive_float("alpha", alpha)
    include_top = check_bool("include_top", include_top)
    check_choice("pooling", pooling, ("avg", "max") if include_top else ("avg", "max", None))
    check_choice("output", output, OUTPUTS)
    include_preprocessing = check_bool("include_preprocessing", include_preprocessing)
    if include_top:
        num_classes = check_num_classes(num_classes, output)
    check_input_shape(input_shape, allow_none_spatial=True, min_size=_MOBILENET_MIN_SIZE)
    height, width, channels = _known(input_shape)
    scale = max(alpha, 1.0)
    top_units = output_units(num_classes, output) if include_top else 0
    check_model_size(
        {"input_shape": tuple(input_shape), "alpha": alpha}
        | ({"num_classes": num_classes} if include_top else {}),
        parameters=2.3e6 * scale * scale  # a product overflows to inf; ** would raise
        + 9 * channels * _MOBILENET_STEM_FILTERS * scale
        + (_MOBILENET_TOP_FILTERS * scale + 1) * top_units,
        activations=height * width * 24 * scale,
        layers=160,
    )

    inputs = keras.Input(tuple(input_shape), name=f"{name}_input")
    x = _rescaling(inputs, name) if include_preprocessing else inputs
    x = keras.layers.Conv2D(
        make_divisible(_MOBILENET_STEM_FILTERS * alpha),
        3,
        strides=2,
        padding="same",
        use_bias=False,
        kernel_regularizer=kernel_regularizer(reg),
        name=f"{name}_stem_conv",
    )(x)
    if reg.batch_norm:
        x = batch_norm(reg, f"{name}_stem_bn")(x)
    x = keras.layers.ReLU(6.0, name=f"{name}_stem_relu")(x)

    plan = _mobilenet_plan(alpha)
    rates = iter(drop_path_rates(reg.drop_path, sum(skip for *_, skip in plan)))
    for block, (spec, width, stride, skip) in enumerate(plan):
        x = inverted_residual(
            x,
            width,
            expansion=spec.expansion,
            stride=stride,
            reg=reg,
            drop_path=next(rates) if skip else 0.0,
            name=f"{name}_block{block}",
        )

    top = make_divisible(_MOBILENET_TOP_FILTERS * alpha) if alpha > 1.0 else _MOBILENET_TOP_FILTERS
    x = keras.layers.Conv2D(
        top,
        1,
        use_bias=False,
        kernel_regularizer=kernel_regularizer(reg),
        name=f"{name}_top_conv",
    )(x)
    if reg.batch_norm:
        x = batch_norm(reg, f"{name}_top_bn")(x)
    x = keras.layers.ReLU(6.0, name=f"{name}_top_relu")(x)

    if include_top:
        x = dense_head(
            x, num_classes, units=(), pooling=pooling, reg=reg, output=output, name=f"{name}_head"
        )
    elif pooling == "avg":
        x = keras.layers.GlobalAveragePooling2D(name=f"{name}_avg_pool")(x)
    elif pooling == "max":
        x = keras.layers.GlobalMaxPooling2D(name=f"{name}_max_pool")(x)
    return keras.Model(inputs, x, name=name)


#: The depths of He et al. 2016's CIFAR table (any 6n + 2 is accepted).
RESNET_DEPTHS: tuple[int, ...] = (20, 32, 44, 56, 110)
#: The ResNet stages followed by DropBlock when ``reg.drop_block`` is set: the later two,
#: as Ghiasi et al. 2018 put it in the last two groups of ResNet-50.
RESNET_DROP_BLOCK_STAGES: tuple[int, ...] = (2, 3)
_RESNET_MAX_DEPTH = 6 * 2048 + 2


def resnet_blocks_per_stage(depth: int) -> int:
    """n of a CIFAR ResNet of `depth` = 6n + 2 layers (three stages of n basic blocks).

    Raises:
        ValueError: `depth` is not 6n + 2 for an n >= 1 (8, 14, 20, 26, 32, ...).

    Example:
        >>> resnet_blocks_per_stage(20)
        3
    """
    depth = check_bounded_int("depth", depth, minimum=1, maximum=_RESNET_MAX_DEPTH)
    if depth < 8 or (depth - 2) % 6:
        raise invalid("depth", "6n + 2 for an int n >= 1 (e.g. 20, 32, 44, 56 or 110)", depth)
    return (depth - 2) // 6


def build_resnet(
    input_shape: Sequence[int | None],
    num_classes: int,
    *,
    depth: int = 20,
    width: int = 16,
    reg: Regularization | str | None = None,
    output: Output = "softmax",
    include_preprocessing: bool = False,
    name: str = "resnet",
    drop_path_rate: float | None = None,
) -> keras.Model:
    """The CIFAR ResNet of He et al. 2016 (section 4.2): depth 6n + 2.

    A 3x3 stem convolution (`width` filters, BN, ReLU), three stages of n basic residual
    blocks (`regkit.blocks.residual_block`) of `width`, 2 `width` and 4 `width` filters
    (16/32/64 with the default), the first block of stages 2 and 3 with stride 2 and a
    projection shortcut (1x1 convolution + BN, the paper's option B; option A's
    zero-padding shortcut needs a custom layer), then global average pooling and the
    classifier. ResNet-20 has 274,042 parameters for 10 classes (the paper's ~0.27 M),
    ResNet-32 469,370, ResNet-56 860,026.

    Regularization: `reg`'s L1/L2 reach every convolution and the classifier (as in the
    other builders); BatchNorm is always there (part of the architecture: ResNet-56 and
    deeper do not train without it), with `reg`'s momentum and epsilon, so
    `reg.batch_norm` is not read; ``reg.head_dropout`` adds dropout before the classifier;
    ``reg.drop_path`` puts a `regkit.layers.DropPath` on every block's residual branch,
    block i of the N = 3n using ``reg.drop_path * i / N`` (``drop_path_rate=`` is the same
    setting, spelled as keras-hub and timm spell it); ``reg.drop_block`` puts a
    `regkit.layers.DropBlock2D` (side ``reg.drop_block_size``, clipped to the map) after
    stages 2 and 3. ``reg.dropout`` and ``spatial_dropout`` are not used.

    Layer names: ``{name}_input``, ``{name}_rescaling``, ``{name}_stem_conv``,
    ``{name}_stem_bn``, ``{name}_stem_relu``, ``{name}_block{i}_...`` (i = 1..3n, see
    `residual_block`; ``{name}_block{i}_droppath``), ``{name}_stage{s}_dropblock``,
    ``{name}_head_avg_pool``, ``{name}_head_predictions``.

    Args:
        input_shape: ``(height, width, channels)``: 32x32 as in the paper, smaller ones
            (8x8 digits, 28x28) too; height/width may be None.
        num_classes: Number of classes (>= 2 with a softmax; 1 or 2 for a binary sigmoid).
        depth: 6n + 2 layers: 20, 32, 44, 56, 110 in the paper.
        width: Filters of the first stage (16 in the paper); the stages have `width`,
            2 `width` and 4 `width`.
        reg: A `Regularization`, a preset name or None.
        output: ``"softmax"``, ``"sigmoid"`` or ``"logits"`` (see `dense_head`).
        include_preprocessing: Put ``Rescaling(1/255)`` right after the input, so the
            model takes raw 0-255 pixels, float or uint8 (see `build_cnn`).
        name: Model name and layer-name prefix.
        drop_path_rate: Stochastic depth's largest rate, as keras-hub and timm call it:
            the same as ``reg=Regularization(drop_path=...)`` (None: `reg`'s). Giving
            both is a ValueError unless they agree.

    Returns:
        A functional `keras.Model`.

    Raises:
        ValueError: `depth` is not 6n + 2, another argument is out of range, or
            `drop_path_rate` conflicts with ``reg.drop_path``; the message names it.

    Example:
        >>> model = build_resnet((32, 32, 3), 10, depth=20, drop_path_rate=0.1)
        >>> model.count_params()
        274042
    """
    reg = _with_drop_path_rate(Regularization.coerce(reg), drop_path_rate)
    name = check_name("name", name)
    check_choice("output", output, OUTPUTS)
    num_classes = check_num_classes(num_classes, output)
    blocks = resnet_blocks_per_stage(depth)
    width = check_bounded_int("width", width, maximum=MAX_WIDTH)
    include_preprocessing = check_bool("include_preprocessing", include_preprocessing)
    check_input_shape(input_shape, allow_none_spatial=True)
    height, columns, channels = _known(input_shape)
    widest = 4 * width
    check_model_size(
        {"input_shape": tuple(input_shape), "depth": depth, "width": width},
        parameters=9 * channels * width + 3 * blocks * 18 * widest**2 + widest * num_classes,
        activations=height * columns * width,
        layers=10 * 3 * blocks + 10,
    )

    inputs = keras.Input(tuple(input_shape), name=f"{name}_input")
    x = _rescaling(inputs, name) if include_preprocessing else inputs
    x = keras.layers.Conv2D(
        width,
        3,
        padding="same",
        use_bias=False,
        kernel_regularizer=kernel_regularizer(reg),
        name=f"{name}_stem_conv",
    )(x)
    x = batch_norm(reg, f"{name}_stem_bn")(x)
    x = keras.layers.ReLU(name=f"{name}_stem_relu")(x)

    rates = drop_path_rates(reg.drop_path, 3 * blocks)
    for stage in range(3):
        for b in range(blocks):
            i = stage * blocks + b + 1
            x = residual_block(
                x,
                width * 2**stage,
                stride=2 if stage > 0 and b == 0 else 1,
                reg=reg,
                drop_path=rates[i - 1],
                name=f"{name}_block{i}",
            )
        if reg.drop_block and stage + 1 in RESNET_DROP_BLOCK_STAGES:
            x = DropBlock2D(
                reg.drop_block, reg.drop_block_size, name=f"{name}_stage{stage + 1}_dropblock"
            )(x)
    outputs = dense_head(
        x, num_classes, units=(), pooling="avg", reg=reg, output=output, name=f"{name}_head"
    )
    return keras.Model(inputs, outputs, name=name)


#: The builders by name, as `compare(model=...)` and `regkit.tuning` take them; each is
#: called as ``builder(input_shape, num_classes, reg=..., **model_kwargs)``.
BUILDERS: dict[str, Callable[..., keras.Model]] = {
    "cnn": build_cnn,
    "mobilenet_v2": build_mobilenet_v2,
    "resnet": build_resnet,
}
