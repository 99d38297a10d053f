"""`compile_model`: one call that compiles a classifier the way a regularization study needs.

It picks the loss to match the model's output (softmax/sigmoid probabilities or logits) and
the labels (integer or one-hot), builds the optimizer by name with decoupled weight decay
that never touches BatchNorm gamma/beta or biases, and leaves XLA to Keras' "auto" (which is
off on CPU-only machines, where it made a conv net 4x slower). With ``reg=`` it reads a
`Regularization`'s loss and optimizer fields, and ``sam`` makes `fit` take
sharpness-aware minimization steps (`sam_train_step`).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import inspect
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

import keras

from regkit._checks import (
    check_bounded_int,
    check_choice,
    check_float_range,
    check_items,
    check_keras_model,
    check_optional_list,
    check_positive_float,
    check_strategy,
)
from regkit.callbacks.averaging import averaging_callbacks, with_averaging
from regkit.config import Regularization
from regkit.introspect import iter_layers, kernels, output_kind, seed_generators
from regkit.layers import DropBlock2D, DropPath
from regkit.regularization import L2SP, exclude_from_decay

__all__ = [
    "OPTIMIZERS",
    "Labels",
    "OptimizerName",
    "compile_model",
    "output_kind",
    "release_training_memory",
    "sam_train_step",
    "uses_sam",
]

#: Optimizer names `compile_model` accepts.
OptimizerName = Literal["adam", "adamw", "sgd", "rmsprop"]
#: Label formats: integer class ids or one-hot rows.
Labels = Literal["sparse", "one_hot"]

#: Optimizer names `compile_model` accepts.
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
_LABELS = ("sparse", "one_hot")
_DEFAULT_LR = 1e-3


def _make_optimizer(
    optimizer: str, learning_rate: Any, weight_decay: float, momentum: float | None
) -> keras.optimizers.Optimizer:
    wd = weight_decay or None  # None: Keras skips the decay step entirely
    if optimizer in ("adam", "adamw"):
        if momentum is not None:
            raise ValueError(
                f"Invalid value for argument `momentum`: `optimizer={optimizer!r}` has no "
                f"momentum argument (use `sgd` or `rmsprop`). Received: momentum={momentum!r}"
            )
        if optimizer == "adamw" or wd:
            return keras.optimizers.AdamW(learning_rate=learning_rate, weight_decay=weight_decay)
        return keras.optimizers.Adam(learning_rate=learning_rate)
    extra = {} if momentum is None else {"momentum": momentum}
    if optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=learning_rate, weight_decay=wd, **extra)
    return keras.optimizers.RMSprop(learning_rate=learning_rate, weight_decay=wd, **extra)


def _loss_and_accuracy(
    binary: bool, labels: str, from_logits: bool, label_smoothing: float
) -> tuple[keras.losses.Loss, keras.metrics.Metric]:
    if binary:
        loss: keras.losses.Loss = keras.losses.BinaryCrossentropy(
            from_logits=from_logits, label_smoothing=label_smoothing
        )
        threshold = 0.0 if from_logits else 0.5
        return loss, keras.metrics.BinaryAccuracy(name="accuracy", threshold=threshold)
    if labels == "one_hot":
        loss = keras.losses.CategoricalCrossentropy(
            from_logits=from_logits, label_smoothing=label_smoothing
        )
        return loss, keras.metrics.CategoricalAccuracy(name="accuracy")
    if label_smoothing:
        raise ValueError(
            "Invalid value for argument `label_smoothing`: Keras' sparse categorical "
            "cross-entropy has no label smoothing; use `labels='one_hot'` (and one-hot "
            f"labels, e.g. `image_pipeline(..., one_hot=True)`) to smooth. Received: "
            f"label_smoothing={label_smoothing!r} with labels='sparse'"
        )
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)
    return loss, keras.metrics.SparseCategoricalAccuracy(name="accuracy")


def compile_model(
    model: keras.Model,
    *,
    reg: Regularization | str | Mapping[str, Any] | None = None,
    optimizer: OptimizerName | keras.optimizers.Optimizer = "adam",
    learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = _DEFAULT_LR,
    weight_decay: float = 0.0,
    label_smoothing: float = 0.0,
    labels: Labels = "sparse",
    from_logits: bool | None = None,
    momentum: float | None = None,
    metrics: Sequence[Any] | None = None,
    jit_compile: bool | Literal["auto"] = "auto",
    steps_per_execution: int = 1,
    strategy: Any | None = None,
) -> keras.Model:
    """Compiles a classifier with a matching loss, accuracy and a decay-safe optimizer.

    The loss follows the model and the labels: sparse (integer labels, the default) or
    categorical (``labels="one_hot"``) cross-entropy; binary cross-entropy with binary
    accuracy for a sigmoid output (``output="sigmoid"``: one unit for a binary problem,
    integer 0/1 labels; one unit per label for multi-label, multi-hot labels) and for any
    single-unit output; ``from_logits`` set from the final activation (softmax or
    sigmoid: probabilities; linear: logits). The reported metric is always called
    ``accuracy`` (sparse, categorical or binary to match), so History keys are
    ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``.

    A `Regularization` given as ``reg`` supplies ``weight_decay`` and ``label_smoothing``
    (an explicit keyword that differs from reg's value is a ValueError naming both) and
    ``sam``/``sam_adaptive``: with ``sam > 0`` the model's `fit` takes sharpness-aware
    minimization steps (`sam_train_step`; TensorFlow backend, one replica), and ``ema`` /
    ``swa`` make this model's `fit` average the weights: it adds the `EMA` (first) or
    `SWA` (last) callback `regkit.callbacks.averaging_callbacks` builds, unless its
    ``callbacks`` already hold one that agrees (one that disagrees is a ValueError); SWA's
    BatchNorm pass reads `fit`'s training data (`regkit.callbacks.averaging.with_averaging`).
    The fields this call does not apply must already be in the model: ``l2_sp`` through
    `apply_regularization` (before this call), the architecture fields (``l1``, ``l2``,
    ``batch_norm``, ``dropout``, ``drop_path``, ...) through a builder's ``reg=``; each
    one the model does not carry (no kernel regularizer, no L2-SP penalty, no layer of its
    kind) gets a UserWarning naming the field and what to use. The model still saves to
    ``.keras`` and reloads as a plain model; compiling it again without SAM or averaging
    removes the SAM step and the averaging `fit`.

    Weight decay is decoupled (applied by the optimizer, not added to the loss). It is
    never applied to BatchNorm/LayerNorm/GroupNorm gamma and beta or to any bias:
    `optimizer.exclude_from_weight_decay` receives those variables (also for an optimizer
    that is already built, e.g. one restored with a `.keras` file). With
    ``optimizer="adam"`` and ``weight_decay > 0`` the optimizer is `keras.optimizers.AdamW`;
    ``"adamw"`` with ``weight_decay=0`` is plain Adam.

    Args:
        model: A built single-output functional or Sequential model.
        reg: A `Regularization`, preset name or dict whose training fields to use; None
            (default) uses the keywords alone.
        optimizer: ``"adam"``, ``"adamw"``, ``"sgd"``, ``"rmsprop"`` or an optimizer
            instance. An instance is used as given: `learning_rate`, `weight_decay` and
            `momentum` must then stay at their defaults (set them on the instance); its
            own weight decay, if any, still skips normalization parameters and biases.
        learning_rate: Learning rate for a named optimizer: a float > 0 or a
            `keras.optimizers.schedules.LearningRateSchedule` (e.g. ``CosineDecay``).
        weight_decay: Decoupled weight decay coefficient (>= 0; 0 = none).
        label_smoothing: In [0, 1). Needs ``labels="one_hot"`` (or a binary output):
            Keras' sparse cross-entropy cannot smooth.
        labels: ``"sparse"`` (integer class ids) or ``"one_hot"``.
        from_logits: Overrides the detection from the final activation.
        momentum: Momentum for ``"sgd"``/``"rmsprop"``; None keeps Keras' default (0.0).
        metrics: A list of metrics to report instead of the matching accuracy.
        jit_compile: Passed to `model.compile`; ``"auto"`` lets Keras decide (XLA stays
            off on CPU-only machines). Never forced on by regkit.
        steps_per_execution: Batches run per call of the compiled train function.
        strategy: The `tf.distribute.Strategy` whose scope creates the optimizer and
            metrics. None (default): the strategy the model was built under
            (`model.distribute_strategy`), so calling `compile_model` outside
            ``strategy.scope()`` still gives a consistent distributed model. An optimizer
            instance must itself have been created in that scope.

    Returns:
        The same model, compiled.

    Raises:
        ValueError: An unknown optimizer or labels name (the valid ones are listed), an
            out-of-range number, label smoothing with sparse labels, an optimizer instance
            combined with `learning_rate`/`weight_decay`/`momentum`, a model whose
            output kind cannot be determined, a keyword that conflicts with `reg`,
            SAM on another backend than TensorFlow or under several replicas, or both
            ``ema`` and ``swa`` in `reg`.
        TypeError: `model` is not a keras.Model, `metrics` is not a list, `strategy` is
            not a strategy, or a number argument has the wrong type.

    Example:
        >>> inputs = keras.Input((32, 32, 3))
        >>> x = keras.layers.Conv2D(8, 3, use_bias=False)(inputs)
        >>> x = keras.layers.BatchNormalization()(x)
        >>> x = keras.layers.GlobalAveragePooling2D()(keras.layers.ReLU()(x))
        >>> model = keras.Model(inputs, keras.layers.Dense(10, name="predictions")(x))
        >>> model = compile_model(model, optimizer="sgd", learning_rate=0.1, weight_decay=5e-4)
        >>> model.loss.get_config()["from_logits"]
        True
        >>> model = compile_model(model, reg=Regularization(sam=0.05, weight_decay=5e-4))
        >>> uses_sam(model)
        True
    """
    model = check_keras_model("model", model)
    recipe = Regularization.coerce(reg)
    weight_decay = _merge("weight_decay", weight_decay, 0.0, recipe.weight_decay)
    label_smoothing = _merge("label_smoothing", label_smoothing, 0.0, recipe.label_smoothing)
    if recipe.sam:
        _check_sam_possible(model, strategy)
    averaging_callbacks(recipe)  # `ema` and `swa` together: the ValueError, before compiling
    if recipe.ema and getattr(optimizer, "use_ema", False):
        raise ValueError(
            "Invalid value for argument `optimizer`: it keeps Keras' own weight average "
            "(`use_ema=True`) and `reg.ema` asks for regkit's; use one. Received: "
            f"optimizer={optimizer!r} with reg.ema={recipe.ema!r}"
        )
    with _strategy_scope(model, strategy):
        model = _compile(
            model,
            optimizer=optimizer,
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            label_smoothing=label_smoothing,
            labels=labels,
            from_logits=from_logits,
            momentum=momentum,
            metrics=metrics,
            jit_compile=jit_compile,
            steps_per_execution=steps_per_execution,
        )
    _set_train_step(model, recipe.sam, recipe.sam_adaptive)
    _set_fit(model, recipe)
    _warn_unrealised(model, recipe)
    return model


def _set_fit(model: keras.Model, recipe: Regularization) -> None:
    """Makes this model's `fit` add the averaging `recipe` asks for (``ema``/``swa``), or
    removes a `fit` an earlier `compile_model` installed."""
    if "fit" in vars(model):
        object.__delattr__(model, "fit")
    if recipe.ema or recipe.swa:
        fit = functools.partial(_averaging_fit, model, recipe)
        fit.regkit_averaging = recipe  # type: ignore[attr-defined]
        object.__setattr__(model, "fit", fit)  # not tracked, never saved


def _averaging_fit(model: keras.Model, recipe: Regularization, *args: Any, **kwargs: Any) -> Any:
    """`model.fit` with the `EMA`/`SWA` callback of `recipe` (`with_averaging`)."""
    fit = type(model).fit
    bound = inspect.signature(fit).bind(model, *args, **kwargs)
    given = bound.arguments
    callbacks = given.get("callbacks")
    if isinstance(callbacks, keras.callbacks.CallbackList):
        callbacks = callbacks.callbacks
    given["callbacks"] = with_averaging(
        recipe,
        callbacks,
        model=model,
        x=given.get("x"),
        batch_size=given.get("batch_size"),
        validation_split=given.get("validation_split") or 0.0,
        steps_per_epoch=given.get("steps_per_epoch"),
    )
    return fit(*bound.args, **bound.kwargs)


def _unrealised(model: keras.Model, recipe: Regularization) -> list[tuple[str, str, str]]:
    """Fields of `recipe` that `compile_model` does not apply and `model` does not carry:
    (field, what the model lacks, what to use)."""
    layers = list(iter_layers(model))

    def has(*types: type) -> bool:
        return any(isinstance(layer, types) for layer in layers)

    regularizers = [getattr(k.variable, "regularizer", None) for k in kernels(model)]
    build = "build the model with `reg=` (build_cnn, build_resnet, ...)"
    spatial = (
        keras.layers.SpatialDropout1D,
        keras.layers.SpatialDropout2D,
        keras.layers.SpatialDropout3D,
    )
    checks = [
        (
            ("l1", "l2"),
            any(r is not None for r in regularizers),
            "no kernel regularizer",
            f"{build} or call `apply_regularization(model, reg)`",
        ),
        (
            ("l2_sp",),
            any(isinstance(r, L2SP) for r in regularizers),
            "no L2-SP penalty",
            "call `apply_regularization(model, reg)` after loading the starting weights",
        ),
        (
            ("batch_norm", "head_batch_norm"),
            has(keras.layers.BatchNormalization),
            "no BatchNormalization layer",
            build,
        ),
        (("dropout", "head_dropout"), has(keras.layers.Dropout), "no Dropout layer", build),
        (("spatial_dropout",), has(*spatial), "no SpatialDropout layer", build),
        (
            ("drop_path",),
            has(DropPath),
            "no DropPath layer (a model with residual blocks, e.g. build_resnet, has one)",
            build,
        ),
        (("drop_block",), has(DropBlock2D), "no DropBlock2D layer", build),
    ]
    return [
        (field, lacks, use)
        for fields, present, lacks, use in checks
        for field in fields
        if getattr(recipe, field) and not present
    ]


def _warn_unrealised(model: keras.Model, recipe: Regularization) -> None:
    """Warns, naming the field, for each field of `recipe` that has no effect on `model`."""
    for field, lacks, use in _unrealised(model, recipe):
        warnings.warn(
            f"`reg.{field}`={getattr(recipe, field)!r} has no effect on this model: "
            f"compile_model applies only the training fields (weight_decay, "
            f"label_smoothing, ema, swa, sam, sam_adaptive) and the model has {lacks}; "
            f"{use}.",
            UserWarning,
            stacklevel=3,
        )


def _merge(arg: str, value: Any, default: Any, from_reg: Any) -> Any:
    """The value of a keyword that `reg` can also set; a conflict is a ValueError."""
    if not _differs(value, default):
        return from_reg
    if _differs(from_reg, default) and _differs(value, from_reg):
        raise ValueError(
            f"Invalid value for argument `{arg}`: it conflicts with `reg.{arg}`; set it in "
            f"one place. Received: {arg}={value!r} with reg.{arg}={from_reg!r}"
        )
    return value


def _differs(value: Any, default: Any) -> bool:
    if value is default:
        return False
    try:
        return bool(value != default)
    except (TypeError, ValueError):  # arrays and other values without one truth value
        return True


def _strategy_scope(model: keras.Model, strategy: Any | None) -> Any:
    if check_strategy("strategy", strategy) is None:
        strategy = getattr(model, "distribute_strategy", None)  # TensorFlow backend only
    scope = getattr(strategy, "scope", None)
    return scope() if callable(scope) else contextlib.nullcontext()


def _compile(
    model: keras.Model,
    *,
    optimizer: str | keras.optimizers.Optimizer,
    learning_rate: float,
    weight_decay: float,
    label_smoothing: float,
    labels: str,
    from_logits: bool | None,
    momentum: float | None,
    metrics: Sequence[Any] | None,
    jit_compile: bool | str,
    steps_per_execution: int,
) -> keras.Model:
    check_choice("labels", labels, _LABELS)
    metrics = check_optional_list("metrics", metrics, of="metrics")
    if metrics is not None:
        check_items(
            "metrics",
            metrics,
            lambda m: isinstance(m, (str, keras.metrics.Metric)) or callable(m),
            "metric names, keras.metrics.Metric objects or functions",
        )
    check_choice("jit_compile", jit_compile, (True, False, "auto"))
    steps_per_execution = check_bounded_int("steps_per_execution", steps_per_execution)
    label_smoothing = check_float_range("label_smoothing", label_smoothing, low=0.0, high=1.0)
    weight_decay = check_float_range("weight_decay", weight_decay, low=0.0)
    if momentum is not None:
        momentum = check_float_range("momentum", momentum, low=0.0)
    if isinstance(optimizer, str):
        check_choice("optimizer", optimizer.lower(), OPTIMIZERS)
        lr: Any = learning_rate
        if not isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
            lr = check_positive_float("learning_rate", learning_rate)
        opt = _make_optimizer(optimizer.lower(), lr, weight_decay, momentum)
    elif isinstance(optimizer, keras.optimizers.Optimizer):
        given = {
            "learning_rate": (learning_rate, _DEFAULT_LR),
            "weight_decay": (weight_decay, 0.0),
            "momentum": (momentum, None),
        }
        for arg, (value, default) in given.items():
            if _differs(value, default):
                raise ValueError(
                    f"Invalid value for argument `{arg}`: it only applies to an optimizer "
                    f"given by name; set it on the {type(optimizer).__name__} instance "
                    f"instead. Received: {arg}={value!r} with optimizer={optimizer!r}"
                )
        opt = optimizer
    else:
        raise TypeError(
            "Invalid type for argument `optimizer`: expected one of "
            f"{', '.join(repr(o) for o in OPTIMIZERS)} or a keras.optimizers.Optimizer. "
            f"Received: optimizer={optimizer!r} of type {type(optimizer).__name__}"
        )

    exclude_from_decay(opt, model)

    if from_logits is None:
        kind: str | None = output_kind(model)
        from_logits = kind == "logits"
    else:
        check_choice("from_logits", from_logits, (True, False))
        try:
            kind = output_kind(model)
        except ValueError:  # e.g. a relu output: the caller said what it is
            kind = None
    outputs = getattr(model, "outputs", None) or []
    binary = kind == "sigmoid" or (bool(outputs) and outputs[0].shape[-1] == 1)
    loss, accuracy = _loss_and_accuracy(binary, labels, bool(from_logits), label_smoothing)
    model.compile(
        optimizer=opt,
        loss=loss,
        metrics=metrics if metrics is not None else [accuracy],
        jit_compile=jit_compile,
        steps_per_execution=steps_per_execution,
    )
    return model


# ------------------------------------------------------------------------------------ SAM
# Added to ||g|| (and ||w * g||) so a zero gradient perturbs nothing instead of dividing by 0.
_SAM_EPSILON = 1e-12


def _check_sam_possible(model: keras.Model, strategy: Any | None) -> None:
    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise ValueError(
            "Invalid value for argument `reg`: SAM (`sam` > 0) takes its two-pass steps on "
            "the TensorFlow backend only; use KERAS_BACKEND=tensorflow or set `sam=0`. "
            f"Received: reg.sam > 0 on the {backend!r} backend"
        )
    if check_strategy("strategy", strategy) is None:
        strategy = getattr(model, "distribute_strategy", None)
    replicas = int(getattr(strategy, "num_replicas_in_sync", 1) or 1)
    if replicas > 1:
        raise ValueError(
            "Invalid value for argument `reg`: SAM is not supported under a tf.distribute "
            "strategy with several replicas (each would perturb the shared weights with "
            "its own gradient); train on one device or set `sam=0`. Received: reg.sam > 0 "
            f"with {replicas} replicas"
        )


def _set_train_step(model: keras.Model, rho: float, adaptive: bool) -> None:
    """Installs (rho > 0) or removes the SAM step on this model instance only."""
    if "train_step" in vars(model):
        object.__delattr__(model, "train_step")
    if rho:
        step = functools.partial(sam_train_step, model, rho=rho, adaptive=adaptive)
        step.regkit_sam = (rho, adaptive)  # type: ignore[attr-defined]
        object.__setattr__(model, "train_step", step)  # not tracked, never saved
    model.train_function = None


def uses_sam(model: keras.Model) -> bool:
    """Whether `compile_model` installed a SAM step on `model` (its `fit` takes SAM steps).

    Example:
        >>> uses_sam(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]))
        False
    """
    return hasattr(vars(model).get("train_step"), "regkit_sam")


def _loss_scale(optimizer: Any) -> Any:
    """The factor `optimizer.scale_loss` multiplies the loss by (1 without loss scaling)."""
    import tensorflow as tf

    return tf.cast(optimizer.scale_loss(tf.constant(1.0)), tf.float32)


def _as_float32(value: Any, scale: Any) -> Any:
    """`value` as float32 (no op when it is), divided by the loss scale when there is one."""
    import tensorflow as tf

    value = value if value.dtype == "float32" else tf.cast(value, tf.float32)
    return value if scale is None else value / scale


def _as_dtype(value: Any, dtype: Any) -> Any:
    """`value` cast to a variable's `dtype` (no op when it has it)."""
    dtype = keras.backend.standardize_dtype(dtype)
    return value if value.dtype == dtype else keras.ops.cast(value, dtype)


def sam_train_step(model: keras.Model, data: Any, *, rho: float, adaptive: bool = False) -> Any:
    """One sharpness-aware minimization step (Foret et al. 2021) on the TensorFlow backend.

    `compile_model(model, reg=Regularization(sam=rho))` installs this as the model's
    `train_step`; call it yourself only in a custom loop. The step:

    1. computes the loss at the weights ``w`` (with `model.losses`, e.g. L2 and L2-SP) and
       its gradient ``g``, unscaled when the optimizer scales the loss (mixed precision);
    2. moves to ``w + e`` with ``e = rho * g / ||g||`` (``||g||`` the global norm over all
       trainable variables), or for ASAM (``adaptive=True``, Kwon et al. 2021)
       ``e = rho * w**2 * g / ||w * g||``; a non-finite ``g`` perturbs nothing;
    3. computes the gradient of the loss there, restores ``w`` exactly and lets the
       optimizer apply that gradient at ``w`` (so clipping, loss-scale handling and weight
       decay act on the final gradient).

    The second forward pass does not move BatchNorm's moving statistics: they are put
    back to their values after the first pass (updated once per step). The reported loss
    and metrics are those of the first pass, at ``w``. Dropout draws new masks in the
    second pass.

    Args:
        model: A compiled single-output Keras model (TensorFlow backend).
        data: One batch as `fit` passes it: ``(x, y)`` or ``(x, y, sample_weight)``.
        rho: The neighbourhood radius (> 0).
        adaptive: ASAM's weight-scaled perturbation.

    Returns:
        The metric results, as `keras.Model.train_step` returns them.
    """
    import tensorflow as tf

    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    variables = list(model.trainable_variables)
    optimizer = model.optimizer
    seeds = {id(g.state) for g in seed_generators(model)}
    statistics = [v for v in model.non_trainable_variables if id(v) not in seeds]

    with tf.GradientTape() as tape:
        y_pred = model(x, training=True)
        loss = model.compute_loss(
            x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True
        )
        tracker = getattr(model, "_loss_tracker", None)  # Keras' "loss" metric
        if tracker is not None:
            batch = tf.shape(next(t for t in tf.nest.flatten(x) if t is not None))[0]
            tracker.update_state(loss, sample_weight=batch)
        scaled = optimizer.scale_loss(loss)
    if not variables:
        return model.compute_metrics(x, y, y_pred, sample_weight=sample_weight)
    grads = tape.gradient(scaled, variables)
    scaling = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    scale = _loss_scale(optimizer) if scaling else None
    # The norm and the perturbation in float32 on the weights themselves (float32 master
    # weights under a mixed policy); casts, divisions and copies only where needed, since
    # each is one more op per variable in the step.
    grads = [
        tf.zeros_like(v, dtype=tf.float32) if g is None else _as_float32(g, scale)
        for g, v in zip(grads, variables, strict=True)
    ]
    weights = [_as_float32(tf.convert_to_tensor(v), None) for v in variables]  # snapshots
    if adaptive:
        directions = [tf.square(w) * g for w, g in zip(weights, grads, strict=True)]
        norm = tf.linalg.global_norm([w * g for w, g in zip(weights, grads, strict=True)])
    else:
        directions = grads
        norm = tf.linalg.global_norm(grads)
    factor = tf.where(tf.math.is_finite(norm), rho / (norm + _SAM_EPSILON), 0.0)
    kept = [tf.identity(v) for v in statistics]
    for v, w, d in zip(variables, weights, directions, strict=True):
        v.assign(_as_dtype(w + factor * d, v.dtype))

    with tf.GradientTape() as tape:
        y_far = model(x, training=True)
        far = model.compute_loss(x=x, y=y, y_pred=y_far, sample_weight=sample_weight, training=True)
        far = optimizer.scale_loss(far)
    far_grads = tape.gradient(far, variables)
    for v, w in zip(variables, weights, strict=True):
        v.assign(_as_dtype(w, v.dtype))
    for v, value in zip(statistics, kept, strict=True):
        v.assign(value)
    optimizer.apply_gradients(
        [(g, v) for g, v in zip(far_grads, variables, strict=True) if g is not None]
    )
    return model.compute_metrics(x, y, y_pred, sample_weight=sample_weight)


@contextlib.contextmanager
def release_training_memory() -> Iterator[None]:
    """Frees, on leaving the block, what TensorFlow keeps of the training steps traced in it.

    Each time the TensorFlow backend traces a train step (every `fit` of a fresh or
    recompiled model), the optimizer's gradient all-reduce registers a custom gradient in
    TensorFlow's process-wide gradient registry, which nothing ever empties. The entry holds
    the traced step, its graph and everything the graph captured, so each model trained in
    one process leaves several MiB behind (about 6 MiB for a tiny Dense model), and
    `keras.backend.clear_session()` and `gc.collect()` cannot free it: a notebook that trains
    model after model runs out of memory. On exit (an exception included) this removes the
    entries that the all-reduce registered inside the block, and nothing else (custom
    gradients of your own stay), then collects the freed graphs. Steps traced inside keep
    working afterwards; `compare` wraps each of its runs in it. With another backend, or a
    TensorFlow whose registry it does not recognise, it does nothing.

    Example:
        >>> with release_training_memory():  # doctest: +SKIP
        ...     model.fit(x, y, epochs=3)
    """
    registry = _gradient_registry()
    before = set(registry) if registry is not None else set()
    try:
        yield
    finally:
        if registry is not None:
            new = [name for name in list(registry) if name not in before]
            stale = [name for name in new if _all_reduce_gradient(registry[name])]
            for name in stale:
                del registry[name]
            if stale:
                gc.collect()  # the steps' graphs are reference cycles


def _gradient_registry() -> dict[str, Any] | None:
    """TensorFlow's registry of gradient functions (name -> entry), or None where it is not
    the one this works on."""
    if keras.backend.backend() != "tensorflow":
        return None
    from tensorflow.python.framework import ops  # defers TensorFlow's internals

    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    return registry if isinstance(registry, dict) else None


def _all_reduce_gradient(entry: Any, depth: int = 4) -> bool:
    """Whether a registry entry is the gradient `tf.distribute`'s all-reduce registers: its
    function, or one it closes over (a few levels deep), was defined in `all_reduce`."""
    function = entry.get("type") if isinstance(entry, dict) else None
    pending = [(function, 0)]
    while pending:
        function, level = pending.pop()
        if ".all_reduce." in getattr(function, "__qualname__", ""):
            return True
        if level < depth:
            for cell in getattr(function, "__closure__", None) or ():
                with contextlib.suppress(ValueError):  # an empty cell
                    if callable(cell.cell_contents):
                        pending.append((cell.cell_contents, level + 1))
    return False
