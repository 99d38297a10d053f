"""Weight averaging in the training loop: `EMA` (every step) and `SWA` (final epochs).

Both keep their averages outside the model while it trains and put them into the model
where a study reads weights, so validation, the best checkpoint, early stopping's restored
weights, the test figure and the saved model agree:

- `EMA(decay)`: an exponential moving average of all the model's float weights (BatchNorm's
  moving statistics averaged with the weights, as timm's ModelEma does), updated after
  every training step. The averages are in the model during each validation pass and at
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
an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import math
import os
import warnings
from collections.abc import Iterable, Iterator, Mapping
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
from regkit.config import Regularization
from regkit.introspect import iter_layers, seed_generators

__all__ = ["EMA", "SWA", "averaged_variables", "averaging_callbacks", "recompute_batch_norm"]


def averaged_variables(model: keras.Model) -> list[Any]:
    """The variables weight averaging covers: every float weight of `model` (trainable
    weights and BatchNorm's moving statistics), not the random generators' states.

    Example:
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.BatchNormalization()])
        >>> len(averaged_variables(model))  # gamma, beta, moving mean, moving variance
        4
    """
    seeds = {id(g.state) for g in seed_generators(model)}
    out, seen = [], set()
    for v in model.weights:
        if id(v) in seeds or id(v) in seen:
            continue
        if not np.issubdtype(np.dtype(keras.backend.standardize_dtype(v.dtype)), np.floating):
            continue
        seen.add(id(v))
        out.append(v)
    return out


def _values(variables: list[Any]) -> list[np.ndarray]:
    return [np.array(keras.ops.convert_to_numpy(v)) for v in variables]


def _assign(variables: list[Any], values: list[np.ndarray]) -> None:
    for v, value in zip(variables, values, strict=True):
        v.assign(value)


class _Averaging(keras.callbacks.Callback):
    """What EMA and SWA share: the protocol `TrainingStateBackup` saves and restores."""

    def averaging_state(self) -> dict[str, np.ndarray]:
        """The averaging state as named arrays (for `TrainingStateBackup`)."""
        raise NotImplementedError

    def set_averaging_state(self, state: Mapping[str, np.ndarray]) -> None:
        """Restores what `averaging_state` returned (for `TrainingStateBackup`)."""
        raise NotImplementedError

    @contextlib.contextmanager
    def training_weights(self) -> Iterator[None]:
        """Holds the training weights in the model inside the block (backups save those)."""
        yield


class EMA(_Averaging):
    """Exponential moving average of the weights, seen by validation, checkpoints and tests.

    After every training step each float weight ``w`` of the model (BatchNorm's moving
    statistics included) updates its average: ``a = w`` after the first step of `fit`,
    then ``a = decay * a + (1 - decay) * w``. The model holds the averages during each
    validation pass and from each epoch's end to the next epoch's beginning, so a
    checkpoint or `EarlyStopping` placed after this callback records averaged weights,
    and early stopping's restored weights are averages; it holds the training weights
    while it trains. When `fit` ends the model keeps the averages. Keras' optimizer
    ``use_ema`` differs: validation sees raw weights and EarlyStopping restores raw ones.

    With ``steps_per_execution > 1`` Keras calls callbacks once per execution, so the
    average is updated once per that many steps.

    Args:
        decay: The decay, in [0, 1) (e.g. 0.999; 0 keeps the latest weights).

    Raises:
        ValueError: `decay` is outside [0, 1).

    Example:
        >>> ema = EMA(0.99)
        >>> model.fit(train, validation_data=val, epochs=5, callbacks=[ema])  # doctest: +SKIP
    """

    def __init__(self, decay: float) -> None:
        super().__init__()
        value = check_finite_float("decay", decay)
        if not 0.0 <= value < 1.0:
            raise invalid("decay", "a float in [0, 1)", decay)
        self.decay = value
        self.updates = 0
        self._variables: list[Any] = []
        self._averages: list[Any] = []
        self._raw: list[np.ndarray] | None = None
        self._fitting = False
        self._update_fn: Any = None

    # ------------------------------------------------------------ the average
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        variables = averaged_variables(self.model)
        self.updates = 0
        self._raw = None
        self._fitting = True
        if [id(v) for v in variables] == [id(v) for v in self._variables]:
            return  # another fit of the same model: reuse the averages' storage and step
        self._variables = variables
        self._averages = [
            keras.Variable(
                np.array(keras.ops.convert_to_numpy(v)),  # a copy: never the variable itself
                trainable=False,
                dtype=v.dtype,
                name="ema_average",
            )
            for v in self._variables
        ]
        self._update_fn = self._make_update()

    def _make_update(self) -> Any:
        pairs = list(zip(self._averages, self._variables, strict=True))

        def update(keep: Any) -> None:
            for average, variable in pairs:
                average.assign(average * keep + variable * (1.0 - keep))

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            return tf.function(update, autograph=False)
        return update

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        keep = self.decay if self.updates else 0.0
        self._update_fn(keras.ops.convert_to_tensor(keep, dtype="float32"))
        self.updates += 1

    @property
    def averages(self) -> list[np.ndarray]:
        """The current averages, in the order of `averaged_variables(model)`."""
        return [np.array(keras.ops.convert_to_numpy(a)) for a in self._averages]

    # ---------------------------------------------------------------- swaps
    def _show_averages(self) -> None:
        if self._raw is None and self.updates:
            self._raw = _values(self._variables)
            _assign(self._variables, self.averages)

    def _show_training(self) -> None:
        if self._raw is not None:
            _assign(self._variables, self._raw)
            self._raw = None

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._show_training()

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self._fitting:  # validation inside fit
            self._show_averages()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._show_averages()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._show_averages()
        self._raw = None  # the model keeps the averages
        self._fitting = False

    @contextlib.contextmanager
    def training_weights(self) -> Iterator[None]:
        shown = self._raw is not None
        if shown:
            averaged = _values(self._variables)
            self._show_training()
        try:
            yield
        finally:
            if shown:
                self._raw = _values(self._variables)
                _assign(self._variables, averaged)

    # -------------------------------------------------------- backup protocol
    def averaging_state(self) -> dict[str, np.ndarray]:
        state = {f"average_{i}": np.asarray(a) for i, a in enumerate(self.averages)}
        state["updates"] = np.asarray(self.updates, dtype=np.int64)
        return state

    def set_averaging_state(self, state: Mapping[str, np.ndarray]) -> None:
        count = sum(1 for k in state if k.startswith("average_"))
        if count != len(self._averages):
            raise invalid("state", f"{len(self._averages)} averages", f"{count} averages")
        for i, average in enumerate(self._averages):
            average.assign(np.asarray(state[f"average_{i}"]))
        self.updates = int(state["updates"])


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


class SWA(_Averaging):
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
    ) -> None:
        super().__init__()
        value = check_finite_float("fraction", fraction)
        if not 0.0 < value <= 1.0:
            raise invalid("fraction", "a float in (0, 1]", fraction)
        self.fraction = value
        self.epochs = None if epochs is None else check_bounded_int("epochs", epochs)
        self.train_data = train_data
        self.batch_size = check_bounded_int("batch_size", batch_size)
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
        values = _values(self._variables)
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
        _assign(self._variables, average)
        if self.train_data is not None:
            recompute_batch_norm(self.model, self.train_data, batch_size=self.batch_size)
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
    recomputed BatchNorm statistics.

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
