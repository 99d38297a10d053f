"""Exponential moving average of the weights (`EMA`), with its warm-up rule and the
share of a run's first half in the average; `averaging` re-exports all of it.

Also the pieces `SWA` shares with it: `averaged_variables` (what weight averaging covers)
and `AveragingCallback` (the protocol `TrainingStateBackup` saves and restores).
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import keras
import numpy as np

from regkit._checks import check_bool, check_finite_float, invalid
from regkit.introspect import seed_generators

__all__ = [
    "EARLY_SHARE_LIMIT",
    "EMA",
    "AveragingCallback",
    "assign_values",
    "averaged_variables",
    "early_share",
    "ema_decay",
    "weight_values",
]


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


def weight_values(variables: list[Any]) -> list[np.ndarray]:
    return [np.array(keras.ops.convert_to_numpy(v)) for v in variables]


def assign_values(variables: list[Any], values: list[np.ndarray]) -> None:
    """Assigns each value to its variable, cast to the variable's dtype."""
    for v, value in zip(variables, values, strict=True):
        v.assign(np.asarray(value).astype(keras.backend.standardize_dtype(v.dtype)))


def _average_dtype(variable: Any) -> str:
    """The dtype an average of `variable` is kept in: float32, or float64 for float64
    weights; never float16/bfloat16 (a 0.999 step would round away there)."""
    dtype = keras.backend.standardize_dtype(variable.dtype)
    return "float64" if dtype == "float64" else "float32"


class AveragingCallback(keras.callbacks.Callback):
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


#: `EMA` warns when the run's first half still weighs more than this in the final average.
EARLY_SHARE_LIMIT = 0.25


def ema_decay(update: int, decay: float, *, warmup: bool = True) -> float:
    """The decay `EMA` uses for its `update`-th update (1, 2, ...).

    The first update copies the weights (decay 0). With the warm-up the k-th uses
    ``min(decay, (1 + k) / (10 + k))``, TensorFlow's `ExponentialMovingAverage` rule with
    ``num_updates=k``: the average spans about the last ninth of the updates so far, and
    `decay` is a ceiling reached after about ``9 / (1 - decay)`` updates (900 for 0.99).
    Without it every later update uses `decay`.

    Example:
        >>> ema_decay(1, 0.99), ema_decay(2, 0.99), ema_decay(2, 0.99, warmup=False)
        (0.0, 0.25, 0.99)
    """
    if update <= 1:
        return 0.0
    return min(decay, (1.0 + update) / (10.0 + update)) if warmup else decay


def early_share(updates: int, decay: float, *, warmup: bool = True) -> float:
    """How much of `EMA`'s average after `updates` updates comes from the weights of the
    first half of them (updates ``1 .. updates // 2``): the product of the decays of the
    second half. 0.83 for decay 0.99 without warm-up after 38 updates; 0.006 with it.

    Example:
        >>> round(early_share(38, 0.99, warmup=False), 2), round(early_share(38, 0.99), 3)
        (0.83, 0.006)
    """
    if updates < 2:
        return 0.0
    k = np.arange(updates // 2 + 1, updates + 1, dtype=np.float64)
    decays = np.minimum(decay, (1.0 + k) / (10.0 + k)) if warmup else np.full(k.shape, decay)
    return float(np.prod(decays))


def _fusable(model: keras.Model) -> bool:
    """Whether EMA's update can run inside the model's traced train step: TensorFlow
    backend, one replica (with several, each would average its own copy)."""
    if keras.backend.backend() != "tensorflow":
        return False
    strategy = getattr(model, "distribute_strategy", None)
    return int(getattr(strategy, "num_replicas_in_sync", 1) or 1) == 1


def _unwrap_train_step(model: keras.Model) -> None:
    """Removes an EMA step wrapper left on `model` (a fit that ended by an exception)."""
    step = vars(model).get("train_step")
    while hasattr(step, "regkit_ema"):
        previous = step.regkit_previous
        if previous is None:
            object.__delattr__(model, "train_step")
        else:
            object.__setattr__(model, "train_step", previous)
        step = previous


class EMA(AveragingCallback):
    """Exponential moving average of the weights, seen by validation, checkpoints and tests.

    After every training step each float weight ``w`` of the model (BatchNorm's moving
    statistics included) updates its average ``a = d_k * a + (1 - d_k) * w``, k the
    update's number: ``d_1 = 0`` (the first copies the weights), then with the warm-up
    (the default) ``d_k = min(decay, (1 + k) / (10 + k))`` as TensorFlow's
    `ExponentialMovingAverage` does with ``num_updates``, so a run of any length averages
    about its last ninth of steps until `decay` caps the window at about
    ``1 / (1 - decay)`` steps (see `ema_decay`). Without the warm-up ``d_k = decay``:
    0.99 over 38 steps keeps 83 % of the run's first half in the average, and EMA warns
    when that share (`early_share`) is over `EARLY_SHARE_LIMIT` (the warning's text is
    also in `warning`). Averages are kept in float32 (float64 for float64 weights), also
    for float16 or bfloat16 weights; under mixed precision the weights are the float32
    ones.

    The model holds the averages during each validation pass and from each epoch's end to
    the next epoch's beginning, so a checkpoint or `EarlyStopping` placed after this
    callback records averaged weights, and early stopping's restored weights are
    averages; it holds the training weights while it trains. When `fit` ends the model
    keeps the averages. Keras' optimizer ``use_ema`` differs: validation sees raw weights
    and EarlyStopping restores raw ones.

    On the TensorFlow backend with one replica the update runs inside the traced train
    step (every step, also with ``steps_per_execution > 1``); elsewhere it runs in
    ``on_train_batch_end``, once per execution of ``steps_per_execution`` steps.

    Args:
        decay: The decay, in [0, 1) (e.g. 0.999; 0 keeps the latest weights).
        warmup: Grow the decay with the update count (see above); False uses `decay`
            from the second update on.

    Raises:
        ValueError: `decay` is outside [0, 1).
        TypeError: `warmup` is not a bool.

    Example:
        >>> ema = EMA(0.99)
        >>> model.fit(train, validation_data=val, epochs=5, callbacks=[ema])  # doctest: +SKIP
    """

    def __init__(self, decay: float, *, warmup: bool = True) -> None:
        super().__init__()
        value = check_finite_float("decay", decay)
        if not 0.0 <= value < 1.0:
            raise invalid("decay", "a float in [0, 1)", decay)
        self.decay = value
        self.warmup = check_bool("warmup", warmup)
        self.warning: str | None = None
        self._variables: list[Any] = []
        self._averages: list[Any] = []
        self._count: Any = None
        self._raw: list[np.ndarray] | None = None
        self._fitting = False
        self._fused = False
        self._update_fn: Any = None
        self._functions: tuple[Any, ...] | None = None  # (model, step, plain, fused)

    # ------------------------------------------------------------ the average
    @property
    def updates(self) -> int:
        """The number of updates of the current averages."""
        return 0 if self._count is None else int(keras.ops.convert_to_numpy(self._count))

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._raw = None
        self._fitting = True
        self.warning = None
        _unwrap_train_step(self.model)
        variables = averaged_variables(self.model)
        if [id(v) for v in variables] != [id(v) for v in self._variables]:
            self._variables = variables
            self._averages = [
                keras.Variable(
                    np.array(keras.ops.convert_to_numpy(v)).astype(_average_dtype(v)),
                    trainable=False,
                    dtype=_average_dtype(v),
                    name="ema_average",
                )
                for v in variables
            ]
            self._count = keras.Variable(0, trainable=False, dtype="int64", name="ema_updates")
            self._functions = None
            update = self._update
            if keras.backend.backend() == "tensorflow":
                import tensorflow as tf  # defers TensorFlow (heavy)

                update = tf.function(update, autograph=False)
            self._update_fn = update
        else:  # another fit of the same model: reuse the storage, start a new average
            self._count.assign(0)
        self._fused = _fusable(self.model)
        if self._fused:
            self._install()
        planned = self._planned_updates()
        if planned:
            self._check_window(planned)

    def _update(self) -> None:
        k = keras.ops.cast(self._count, "float32") + 1.0
        d = keras.ops.convert_to_tensor(self.decay, "float32")
        if self.warmup:
            d = keras.ops.minimum(d, (1.0 + k) / (10.0 + k))
        d = keras.ops.where(k > 1.0, d, keras.ops.zeros_like(d))
        for average, variable in zip(self._averages, self._variables, strict=True):
            keep = keras.ops.cast(d, average.dtype)
            value = keras.ops.cast(variable, average.dtype)
            average.assign(keep * average + (1.0 - keep) * value)
        self._count.assign_add(1)

    def _install(self) -> None:
        """Puts the update into the model's train step (traced once per model and step)."""
        model = self.model
        previous = vars(model).get("train_step")
        cached = self._functions
        if (
            cached is not None
            and cached[0] is model
            and cached[2] is model.train_function
            and cached[1].regkit_previous is previous
        ):
            object.__setattr__(model, "train_step", cached[1])
            model.train_function = cached[3]
            return
        plain_step, plain_function, update = model.train_step, model.train_function, self._update

        def train_step(data: Any) -> Any:
            logs = plain_step(data)
            update()
            return logs

        train_step.regkit_ema = self  # type: ignore[attr-defined]
        train_step.regkit_previous = previous  # type: ignore[attr-defined]
        sam = getattr(previous, "regkit_sam", None)
        if sam is not None:
            train_step.regkit_sam = sam  # type: ignore[attr-defined]
        object.__setattr__(model, "train_step", train_step)  # not tracked, never saved
        model.make_train_function(force=True)
        self._functions = (model, train_step, plain_function, model.train_function)

    def _uninstall(self) -> None:
        cached = self._functions
        model = self.model
        if cached is None or vars(model).get("train_step") is not cached[1]:
            return
        _unwrap_train_step(model)
        model.train_function = cached[2]

    def _planned_updates(self) -> int | None:
        params = self.params or {}
        steps, epochs = params.get("steps"), params.get("epochs")
        if not steps or not epochs:
            return None
        if not self._fused:
            steps = math.ceil(int(steps) / int(getattr(self.model, "steps_per_execution", 1)))
        return int(steps) * int(epochs)

    def _check_window(self, updates: int) -> None:
        share = early_share(updates, self.decay, warmup=self.warmup)
        if share <= EARLY_SHARE_LIMIT or self.warning is not None:
            return
        ceiling = EARLY_SHARE_LIMIT ** (2.0 / updates)
        self.warning = (
            f"EMA(decay={self.decay:g}, warmup={self.warmup}): over {updates} updates the "
            f"weights of the run's first half make up {share:.0%} of the final average (its "
            f"window, about {1 / (1 - self.decay):.0f} updates, is a large part of the run); "
            f"use warmup=True or a decay of at most {math.floor(ceiling * 1000) / 1000:g}."
        )
        warnings.warn(self.warning, UserWarning, stacklevel=2)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if not self._fused:
            self._update_fn()

    @property
    def averages(self) -> list[np.ndarray]:
        """The current averages, in the order of `averaged_variables(model)`."""
        return [np.array(keras.ops.convert_to_numpy(a)) for a in self._averages]

    # ---------------------------------------------------------------- swaps
    def _show_averages(self) -> None:
        if self._raw is None and self.updates:
            self._raw = weight_values(self._variables)
            assign_values(self._variables, self.averages)

    def _show_training(self) -> None:
        if self._raw is not None:
            assign_values(self._variables, self._raw)
            self._raw = None

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._show_training()

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self._fitting:  # validation inside fit
            self._show_averages()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._show_averages()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._fused:
            self._uninstall()
        if not (self.params or {}).get("steps"):  # length unknown at the start
            self._check_window(self.updates)
        self._show_averages()
        self._raw = None  # the model keeps the averages
        self._fitting = False

    @contextlib.contextmanager
    def training_weights(self) -> Iterator[None]:
        shown = self._raw is not None
        if shown:
            averaged = weight_values(self._variables)
            self._show_training()
        try:
            yield
        finally:
            if shown:
                self._raw = weight_values(self._variables)
                assign_values(self._variables, averaged)

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
            value = np.asarray(state[f"average_{i}"])
            average.assign(value.astype(keras.backend.standardize_dtype(average.dtype)))
        self._count.assign(int(state["updates"]))
