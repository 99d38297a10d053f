"""`compile_model`: one call that compiles a classifier the way a regularization study needs.

It picks the loss to match the model's output (softmax/sigmoid probabilities or logits) and
the labels (integer or one-hot), builds the optimizer by name with decoupled weight decay
that never touches BatchNorm gamma/beta or biases, and leaves XLA to Keras' "auto" (which is
off on CPU-only machines, where it made a conv net 4x slower).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
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
from regkit.introspect import output_kind
from regkit.regularization import exclude_from_decay

__all__ = ["OPTIMIZERS", "Labels", "OptimizerName", "compile_model", "output_kind"]

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

    Weight decay is decoupled (applied by the optimizer, not added to the loss). It is
    never applied to BatchNorm/LayerNorm/GroupNorm gamma and beta or to any bias:
    `optimizer.exclude_from_weight_decay` receives those variables (also for an optimizer
    that is already built, e.g. one restored with a `.keras` file). With
    ``optimizer="adam"`` and ``weight_decay > 0`` the optimizer is `keras.optimizers.AdamW`;
    ``"adamw"`` with ``weight_decay=0`` is plain Adam.

    Args:
        model: A built single-output functional or Sequential model.
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
            combined with `learning_rate`/`weight_decay`/`momentum`, or a model whose
            output kind cannot be determined.
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
    """
    model = check_keras_model("model", model)
    with _strategy_scope(model, strategy):
        return _compile(
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
