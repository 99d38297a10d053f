"""Weight averaging in the training loop: `EMA` (every step) and `SWA` (final epochs).

Both keep their averages outside the model while it trains and put them into the model
where a study reads weights, so validation, the best checkpoint, early stopping's restored
weights, the test figure and the saved model agree:

- `EMA(decay)`: an exponential moving average of all the model's float weights (BatchNorm's
  moving statistics averaged with the weights, as timm's ModelEma does), updated after
  every training step, with a warm-up that makes it right at any run length
  (`regkit.callbacks.ema`). The averages are in the model during each validation pass and at
  each epoch end (place it before the checkpoint and EarlyStopping), the training weights
  during the epochs. After `fit` the model holds the averages.
- `SWA(fraction)`: the uniform mean of the weights at the end of each of the last
  ``ceil(fraction * epochs)`` epochs, then BatchNorm statistics recomputed exactly (the
  mean over one pass of the training data of each batch's statistics, dropout and the
  model's random augmentation layers off). It acts once, when training ends (place it
  after EarlyStopping); validation during training sees the training weights.

`averaging_callbacks(reg, ...)` builds the one a `Regularization` asks for; give its result
to `regkit.callbacks.standard_callbacks(..., averaging=...)`, which places it and lets
`TrainingStateBackup` save and restore the averages, so a resumed run averages exactly as
an uninterrupted one. `compile_model(model, reg=...)` with ``ema`` or ``swa`` makes that
model's `fit` add the callback itself (`with_averaging`).
"""

from __future__ import annotations

import contextlib
import math
import os
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import keras
import numpy as np

from regkit._checks import (
    check_bounded_int,
    check_finite_float,
    check_path,
    invalid,
)
from regkit._io import fsync_file
from regkit.callbacks.ema import (
    EARLY_SHARE_LIMIT,
    EMA,
    AveragingCallback,
    assign_values,
    averaged_variables,
    early_share,
    ema_decay,
    weight_values,
)
from regkit.config import Regularization
from regkit.introspect import iter_layers

__all__ = [
    "EARLY_SHARE_LIMIT",
    "EMA",
    "SWA",
    "averaged_variables",
    "averaging_callbacks",
    "early_share",
    "ema_decay",
    "recompute_batch_norm",
    "with_averaging",
]


def _has_updatable_batch_norm(model: keras.Model) -> bool:
    return any(
        isinstance(layer, keras.layers.BatchNormalization) and layer.trainable
        for layer in iter_layers(model)
    )


def _batches(data: Any, batch_size: int) -> Iterable[Any]:
    if isinstance(data, np.ndarray):
        return (data[i : i + batch_size] for i in range(0, len(data), batch_size))
    return data


def recompute_batch_norm(
    model: keras.Model, data: Any, *, batch_size: int = 32, steps: int | None = None
) -> int:
    """Sets every trainable BatchNorm's moving statistics to the exact mean over `data`'s
    batches of the batch statistics the layer computes in training.

    One pass over `data`; each BatchNormalization normalizes with the batch's statistics
    as in training and its momentum follows ``k / (k + 1)`` for the k-th batch (from 0),
    so the moving mean and variance end as the plain means of the per-batch mean and
    (biased) variance. Dropout and the model's random augmentation layers stay off
    (the model runs in inference mode, BatchNorm alone in training mode). Frozen
    (``trainable=False``) BatchNorm layers keep their statistics. Used by `SWA`; call it
    after changing a model's weights by hand (averaging, pruning).

    Args:
        model: A built Keras model.
        data: A `tf.data.Dataset` or iterable of batches (``x`` or ``(x, y, ...)``
            tuples), or a NumPy array of inputs, batched by `batch_size`. Use data
            without augmentation.
        batch_size: Batch size for a NumPy array.
        steps: At most this many batches (None: the whole of `data`).

    Returns:
        The number of batches used (0: `data` was empty and nothing changed).

    Example:
        >>> recompute_batch_norm(model, x_train, batch_size=64)  # doctest: +SKIP
        16
    """
    batch_size = check_bounded_int("batch_size", batch_size)
    if steps is not None:
        steps = check_bounded_int("steps", steps)
    layers = [
        layer
        for layer in iter_layers(model)
        if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable
    ]
    if not layers:
        return 0
    saved = {id(layer): (layer.momentum, vars(layer).get("call")) for layer in layers}

    def in_training(layer: keras.layers.Layer) -> Any:
        call = type(layer).call.__get__(layer)

        def call_in_training(inputs: Any, training: Any = None, mask: Any = None) -> Any:
            return call(inputs, training=True, mask=mask)

        return call_in_training

    count = 0
    try:
        for layer in layers:
            object.__setattr__(layer, "call", in_training(layer))
        for batch in _batches(data, batch_size):
            if steps is not None and count >= steps:
                break
            x = batch[0] if isinstance(batch, (tuple, list)) else batch
            for layer in layers:
                layer.momentum = count / (count + 1.0)
            model(x, training=False)
            count += 1
    finally:
        for layer in layers:
            momentum, call = saved[id(layer)]
            layer.momentum = momentum
            if call is None:
                with contextlib.suppress(AttributeError):
                    object.__delattr__(layer, "call")
            else:
                object.__setattr__(layer, "call", call)
    return count


class SWA(AveragingCallback):
    """Stochastic weight averaging (Izmailov et al. 2018) over the final epochs.

    At the end of each of the last ``ceil(fraction * epochs)`` epochs the model's float
    weights are added to a running sum. When `fit` ends the model gets their uniform mean,
    then `recompute_batch_norm` over `train_data` sets BatchNorm's statistics exactly for
    those weights; the result is what the model holds after `fit` and, with `save_path`,
    what is saved there (atomically), e.g. over the best-only checkpoint a study
    evaluates. Validation during training sees the training weights.

    Early stopping: place SWA after `EarlyStopping` (as `standard_callbacks` does). A run
    that stops early averages the epochs of the window it reached (the mean replaces the
    restored best weights); a run that stops before the window starts averages nothing,
    keeps early stopping's weights and warns.

    Args:
        fraction: The fraction of final epochs averaged, in (0, 1].
        epochs: The number of epochs the run plans; None reads `fit`'s ``epochs``.
        train_data: Training batches without augmentation for the BatchNorm pass (see
            `recompute_batch_norm`); required when the model has a trainable
            BatchNormalization layer.
        batch_size: Batch size when `train_data` is a NumPy array.
        save_path: Where to save the averaged model when training ends (``.keras`` or
            ``.weights.h5``); None saves nothing.
        steps: At most this many batches of `train_data` in the BatchNorm pass (None:
            all of it; give it for a dataset that repeats forever).

    Raises:
        ValueError: `fraction` outside (0, 1], a bad `epochs` or `save_path`, or (when
            training begins) a model with BatchNorm and no `train_data`.

    Example:
        >>> swa = SWA(0.25, train_data=x_train)
        >>> model.fit(x_train, y_train, epochs=20, callbacks=[swa])  # doctest: +SKIP
    """

    def __init__(
        self,
        fraction: float,
        *,
        epochs: int | None = None,
        train_data: Any | None = None,
        batch_size: int = 32,
        save_path: str | os.PathLike[str] | None = None,
        steps: int | None = None,
    ) -> None:
        super().__init__()
        value = check_finite_float("fraction", fraction)
        if not 0.0 < value <= 1.0:
            raise invalid("fraction", "a float in (0, 1]", fraction)
        self.fraction = value
        self.epochs = None if epochs is None else check_bounded_int("epochs", epochs)
        self.train_data = train_data
        self.batch_size = check_bounded_int("batch_size", batch_size)
        self.steps = None if steps is None else check_bounded_int("steps", steps)
        self.save_path: Path | None = None
        if save_path is not None:
            self.save_path = check_path("save_path", save_path)
            name = self.save_path.name
            if not (name.endswith(".keras") or name.endswith(".weights.h5")):
                raise invalid("save_path", "a path ending in '.keras' or '.weights.h5'", name)
        self.count = 0
        self.averaged_epochs: list[int] = []
        self._sums: list[np.ndarray] | None = None
        self._variables: list[Any] = []
        self.first_epoch = 0

    def window(self, epochs: int) -> int:
        """The number of final epochs averaged in a run of `epochs` epochs."""
        return max(1, math.ceil(self.fraction * epochs - 1e-9))

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        epochs = self.epochs or int((self.params or {}).get("epochs") or 0)
        if epochs < 1:
            raise invalid("epochs", "the number of epochs (fit's `epochs` was not known)", epochs)
        if self.train_data is None and _has_updatable_batch_norm(self.model):
            raise ValueError(
                "Invalid value for argument `train_data`: SWA recomputes BatchNorm's "
                "statistics for the averaged weights and needs training batches without "
                "augmentation. Received: train_data=None for a model with BatchNormalization"
            )
        self.first_epoch = epochs - self.window(epochs)
        self._variables = averaged_variables(self.model)
        self._sums = None
        self.count = 0
        self.averaged_epochs = []

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if epoch < self.first_epoch:
            return
        values = weight_values(self._variables)
        if self._sums is None:
            self._sums = [v.astype(np.float64) for v in values]
        else:
            for total, value in zip(self._sums, values, strict=True):
                total += value
        self.count += 1
        self.averaged_epochs.append(int(epoch))

    @property
    def average(self) -> list[np.ndarray] | None:
        """The mean of the weights recorded so far (None before the window)."""
        if self._sums is None or not self.count:
            return None
        return [
            (total / self.count).astype(keras.backend.standardize_dtype(v.dtype))
            for total, v in zip(self._sums, self._variables, strict=True)
        ]

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        average = self.average
        if average is None:
            warnings.warn(
                f"SWA averaged no epoch: training ended before epoch {self.first_epoch + 1}, "
                "where its window starts; the model keeps the weights it has.",
                stacklevel=2,
            )
            return
        assign_values(self._variables, average)
        if self.train_data is not None:
            recompute_batch_norm(
                self.model, self.train_data, batch_size=self.batch_size, steps=self.steps
            )
        if self.save_path is not None:
            self._save(self.save_path)

    def _save(self, path: Path) -> None:
        partial = path.with_name(f".partial-{path.name}")
        partial.parent.mkdir(parents=True, exist_ok=True)
        partial.unlink(missing_ok=True)
        if path.name.endswith(".weights.h5"):
            self.model.save_weights(partial, overwrite=True)
        else:
            self.model.save(partial, overwrite=True)
        fsync_file(partial)
        os.replace(partial, path)

    # -------------------------------------------------------- backup protocol
    def averaging_state(self) -> dict[str, np.ndarray]:
        state: dict[str, np.ndarray] = {
            "count": np.asarray(self.count, dtype=np.int64),
            "epochs": np.asarray(self.averaged_epochs, dtype=np.int64),
        }
        for i, total in enumerate(self._sums or []):
            state[f"sum_{i}"] = total
        return state

    def set_averaging_state(self, state: Mapping[str, np.ndarray]) -> None:
        self.count = int(state["count"])
        self.averaged_epochs = [int(e) for e in np.asarray(state["epochs"]).ravel()]
        sums = sorted((k for k in state if k.startswith("sum_")), key=lambda k: int(k[4:]))
        self._sums = [np.array(state[k], dtype=np.float64) for k in sums] or None
        if self._sums is not None and len(self._sums) != len(self._variables):
            raise invalid("state", f"{len(self._variables)} sums", f"{len(self._sums)} sums")


def averaging_callbacks(
    reg: Regularization | str | Mapping[str, Any] | None,
    *,
    epochs: int | None = None,
    train_data: Any | None = None,
    batch_size: int = 32,
) -> list[keras.callbacks.Callback]:
    """The weight-averaging callbacks a `Regularization` asks for: ``[EMA]``, ``[SWA]`` or ``[]``.

    Give the list to `standard_callbacks(..., averaging=...)`, which places EMA before the
    checkpoint and EarlyStopping, SWA after them (and makes SWA save over the best-only
    checkpoint), and lets `TrainingStateBackup` save and restore the averages. After
    `fit`, the model and the checkpoint hold: with ``ema``, the averaged weights of the
    best epoch (validation picks among averages); with ``swa``, the SWA mean with
    recomputed BatchNorm statistics. ``ema`` gives `EMA(ema)`, with its warm-up (the
    k-th step's decay is ``min(ema, (1 + k) / (10 + k))``, see `ema_decay`).

    Args:
        reg: A `Regularization` (its ``ema`` and ``swa``), preset name, dict or None.
        epochs: The epochs of the run (SWA's window); None: `fit`'s ``epochs``.
        train_data: Training batches without augmentation (SWA's BatchNorm pass).
        batch_size: Batch size when `train_data` is a NumPy array.

    Returns:
        A list of zero or one callback.

    Raises:
        ValueError: Both ``ema`` and ``swa`` are set (one average at a time).

    Example:
        >>> averaging_callbacks(Regularization(ema=0.99))[0].decay
        0.99
    """
    recipe = Regularization.coerce(reg)
    if recipe.ema and recipe.swa:
        raise ValueError(
            "Invalid value for argument `reg`: `ema` and `swa` each replace the trained "
            "weights by an average; use one. Received: "
            f"reg.ema={recipe.ema!r} and reg.swa={recipe.swa!r}"
        )
    if recipe.ema:
        return [EMA(recipe.ema)]
    if recipe.swa:
        return [SWA(recipe.swa, epochs=epochs, train_data=train_data, batch_size=batch_size)]
    return []


def with_averaging(
    reg: Regularization | str | Mapping[str, Any] | None,
    callbacks: Iterable[keras.callbacks.Callback] | None,
    *,
    model: keras.Model,
    x: Any = None,
    batch_size: int | None = None,
    validation_split: float = 0.0,
    steps_per_epoch: int | None = None,
) -> list[keras.callbacks.Callback]:
    """`fit`'s callbacks with the averaging `reg` asks for (what `compile_model(reg=...)`
    makes `fit` do): an `EMA` first (before any checkpoint or early stopping), an `SWA`
    last, none when `callbacks` already holds one that agrees with `reg`.

    SWA's BatchNorm pass reads `fit`'s own training data `x`, as PyTorch's
    ``swa_utils.update_bn`` reads the training loader: a NumPy array (the part
    ``validation_split`` leaves for training, batched by `batch_size`) or a
    `tf.data.Dataset` (at most ``steps_per_epoch`` batches).

    Args:
        reg: The `Regularization` (its ``ema`` and ``swa``), preset name, dict or None.
        callbacks: The callbacks given to `fit`.
        model: The model being fitted.
        x: `fit`'s ``x``.
        batch_size: `fit`'s ``batch_size``.
        validation_split: `fit`'s ``validation_split``.
        steps_per_epoch: `fit`'s ``steps_per_epoch``.

    Returns:
        A new list of callbacks.

    Raises:
        ValueError: ``callbacks`` holds an `EMA`/`SWA` that disagrees with `reg`, or SWA
            needs a BatchNorm pass over an `x` it cannot read again (a generator or
            `PyDataset`: pass `SWA(fraction, train_data=...)` in `callbacks`).
    """
    recipe = Regularization.coerce(reg)
    given = list(callbacks or [])
    wanted = averaging_callbacks(recipe)  # checks ema and swa are not both set
    if not wanted:
        return given
    present = [cb for cb in given if isinstance(cb, AveragingCallback)]
    if present:
        cb = present[0]
        agrees = (
            isinstance(cb, EMA) and cb.decay == recipe.ema
            if recipe.ema
            else isinstance(cb, SWA) and cb.fraction == recipe.swa
        )
        if not agrees:
            field = "ema" if recipe.ema else "swa"
            raise ValueError(
                f"Invalid value for argument `callbacks`: it holds {type(cb).__name__} "
                f"({_describe(cb)}), which disagrees with `reg.{field}`="
                f"{getattr(recipe, field)!r} given to compile_model; set the average in one "
                "place. Received: callbacks=" + repr([type(c).__name__ for c in given])
            )
        return given
    if recipe.ema:
        return [*wanted, *given]
    data = _swa_data(x, validation_split)
    if data is None and _has_updatable_batch_norm(model):
        raise ValueError(
            "Invalid value for argument `reg`: `reg.swa` makes fit average the weights, "
            "and SWA then recomputes BatchNorm's statistics over the training data, which "
            f"it cannot read again from x of type {type(x).__name__}; pass "
            "regkit.callbacks.SWA(fraction, train_data=...) in fit's callbacks instead. "
            f"Received: reg.swa={recipe.swa!r}"
        )
    return [
        *given,
        SWA(recipe.swa, train_data=data, batch_size=batch_size or 32, steps=steps_per_epoch),
    ]


def _describe(cb: AveragingCallback) -> str:
    return (
        f"decay={cb.decay!r}"
        if isinstance(cb, EMA)
        else f"fraction={getattr(cb, 'fraction', None)!r}"
    )


def _swa_data(x: Any, validation_split: float) -> Any:
    """`fit`'s training inputs as SWA's BatchNorm pass can reread them, or None."""
    if isinstance(x, np.ndarray):
        if validation_split:
            return x[: math.floor(len(x) * (1.0 - validation_split))]
        return x
    if type(x).__module__.startswith("tensorflow") and hasattr(x, "cardinality"):
        return x  # a tf.data.Dataset: iterated afresh
    return None
