"""`compile_model`: one call that compiles a classifier the way a regularization study needs.

It picks the loss to match the model's output (softmax/sigmoid probabilities or logits) and
the labels (integer or one-hot), builds the optimizer by name with decoupled weight decay
that never touches BatchNorm gamma/beta or biases, and leaves XLA to Keras' "auto" (which is
off on CPU-only machines, where it made a conv net 4x slower).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import keras

from regkit._checks import check_choice, check_float_range, check_positive_float
from regkit.introspect import decay_exempt_variables, output_kind

__all__ = ["OPTIMIZERS", "compile_model", "output_kind"]

#: Optimizer names `compile_model` accepts.
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
_LABELS = ("sparse", "one_hot")
_DEFAULT_LR = 1e-3


def _make_optimizer(
    optimizer: str, learning_rate: float, weight_decay: float, momentum: float | None
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
    optimizer: str | keras.optimizers.Optimizer = "adam",
    learning_rate: float = _DEFAULT_LR,
    weight_decay: float = 0.0,
    label_smoothing: float = 0.0,
    labels: str = "sparse",
    from_logits: bool | None = None,
    momentum: float | None = None,
    metrics: Sequence[Any] | None = None,
    jit_compile: bool | str = "auto",
    steps_per_execution: int = 1,
    strategy: Any | None = None,
) -> keras.Model:
    """Compiles a classifier with a matching loss, accuracy and a decay-safe optimizer.

    The loss follows the model and the labels: sparse (integer labels, the default) or
    categorical (``labels="one_hot"``) cross-entropy, binary cross-entropy for a single
    unit output (sigmoid or logit), and ``from_logits`` set from the final activation (softmax or
    sigmoid: probabilities; linear: logits). The reported metric is always called
    ``accuracy`` (sparse, categorical or binary to match), so History keys are
    ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``.

    Weight decay is decoupled (applied by the optimizer, not added to the loss). It is
    never applied to BatchNorm/LayerNorm/GroupNorm gamma and beta or to any bias:
    `optimizer.exclude_from_weight_decay` receives those variables before the optimizer
    is built. With ``optimizer="adam"`` and ``weight_decay > 0`` the optimizer is
    `keras.optimizers.AdamW`; ``"adamw"`` with ``weight_decay=0`` is plain Adam.

    Args:
        model: A built single-output functional or Sequential model.
        optimizer: ``"adam"``, ``"adamw"``, ``"sgd"``, ``"rmsprop"`` or an optimizer
            instance. An instance is used as given: `learning_rate`, `weight_decay` and
            `momentum` must then stay at their defaults (set them on the instance); its
            own weight decay, if any, still skips normalization parameters and biases.
        learning_rate: Initial learning rate for a named optimizer (> 0).
        weight_decay: Decoupled weight decay coefficient (>= 0; 0 = none).
        label_smoothing: In [0, 1). Needs ``labels="one_hot"`` (or a binary output):
            Keras' sparse cross-entropy cannot smooth.
        labels: ``"sparse"`` (integer class ids) or ``"one_hot"``.
        from_logits: Overrides the detection from the final activation.
        momentum: Momentum for ``"sgd"``/``"rmsprop"``; None keeps Keras' default (0.0).
        metrics: Metrics to report instead of the matching accuracy.
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
            combined with `learning_rate`/`weight_decay`/`momentum`, an optimizer that is
            already built while decay exclusions are needed, or a model whose output kind
            cannot be determined.
        TypeError: A number argument has the wrong type.

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


def _strategy_scope(model: keras.Model, strategy: Any | None) -> Any:
    if strategy is None:
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
    label_smoothing = check_float_range("label_smoothing", label_smoothing, low=0.0, high=1.0)
    weight_decay = check_float_range("weight_decay", weight_decay, low=0.0)
    if momentum is not None:
        momentum = check_float_range("momentum", momentum, low=0.0)
    if isinstance(optimizer, str):
        check_choice("optimizer", optimizer.lower(), OPTIMIZERS)
        lr = check_positive_float("learning_rate", learning_rate)
        opt = _make_optimizer(optimizer.lower(), lr, weight_decay, momentum)
    elif isinstance(optimizer, keras.optimizers.Optimizer):
        given = {
            "learning_rate": (learning_rate, _DEFAULT_LR),
            "weight_decay": (weight_decay, 0.0),
            "momentum": (momentum, None),
        }
        for arg, (value, default) in given.items():
            if value != default:
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

    if getattr(opt, "weight_decay", None):
        if getattr(opt, "built", False):
            raise ValueError(
                "Invalid value for argument `optimizer`: it is already built, so BatchNorm "
                "parameters and biases can no longer be excluded from its weight decay. "
                f"Pass a fresh optimizer. Received: optimizer={opt!r}"
            )
        opt.exclude_from_weight_decay(var_list=decay_exempt_variables(model))

    if from_logits is None:
        from_logits = output_kind(model) == "logits"
    outputs = getattr(model, "outputs", None) or []
    binary = bool(outputs) and outputs[0].shape[-1] == 1
    loss, accuracy = _loss_and_accuracy(binary, labels, bool(from_logits), label_smoothing)
    model.compile(
        optimizer=opt,
        loss=loss,
        metrics=list(metrics) if metrics is not None else [accuracy],
        jit_compile=jit_compile,
        steps_per_execution=steps_per_execution,
    )
    return model
