"""Monitors: what regularization does to a model while it trains.

- `WeightNormLogger` puts each kernel's L2 norm into the epoch logs (so it lands in
  `History` and `CSVLogger`), optionally printing the first values as seed 002's
  ``PrintWeightsCallback`` did.
- `RegularizationMonitor` logs the regularization loss, its share of the training loss and,
  for kernels followed by BatchNorm, the effective learning rate ``lr / ||w||^2``: the
  numbers behind "why did L2(0.01) lower my accuracy?" (seed 000) and "does L2 do anything
  under BN?" (seed 002).

Both read the model through `regkit.introspect`, so they agree with the regularizers and
the experiment runner on what a kernel is.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np

from regkit._checks import check_bool, check_nonnegative_int, invalid
from regkit.introspect import (
    Kernel,
    bn_followed_kernels,
    kernels,
    regularization_loss,
    squared_norm,
)

__all__ = [
    "DETAIL_KEYS",
    "DETAIL_SUFFIXES",
    "RegularizationMonitor",
    "WeightNormLogger",
    "is_detail_key",
    "keep_details_off_progress_line",
]


#: Log keys holding per-layer figures: recorded in History and CSV logs, but kept off the
#: printed progress line (one per kernel would make each epoch line ~1,200 characters).
DETAIL_SUFFIXES = ("_kernel_norm", "_effective_lr")
#: Other figures kept off the line: the penalty itself (its share is printed).
DETAIL_KEYS = ("reg_loss",)


def is_detail_key(key: str) -> bool:
    """Whether a log key stays off the progress line: per-layer figures and ``reg_loss``."""
    return key.endswith(DETAIL_SUFFIXES) or key in DETAIL_KEYS


def keep_details_off_progress_line(model: keras.Model) -> None:
    """Makes the per-layer figures skip the progress line of the running `fit`.

    Keras adds its `History` and then its `ProgbarLogger` after every callback passed to
    `fit`, and they share one log dict. This wraps the run's `History` (`model.history`)
    so that, once it has recorded an epoch, the per-layer keys are dropped from that dict:
    every callback in the list (CSV loggers included) and `History` see them, the printed
    line does not. Idempotent per `History` object.
    """
    history = getattr(model, "history", None)
    if not isinstance(history, keras.callbacks.History) or getattr(
        history, "regkit_compact_progress", False
    ):
        return
    record = history.on_epoch_end

    def on_epoch_end(epoch: int, logs: dict[str, Any] | None = None) -> None:
        record(epoch, logs)
        if logs:
            for key in [k for k in logs if is_detail_key(k)]:
                del logs[key]

    history.on_epoch_end = on_epoch_end  # type: ignore[method-assign]
    history.regkit_compact_progress = True


def _current_learning_rate(model: keras.Model) -> float:
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return math.nan
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


class WeightNormLogger(keras.callbacks.Callback):
    """Logs the L2 norm of selected kernels each epoch as ``<layer>_kernel_norm``.

    The norms are added to the epoch logs, so they appear in the `History` that `fit`
    returns and in `CSVLogger` files (placed after this logger), and `plot_history` draws
    them in a third panel; they are kept off the printed progress line.
    The norms before training are kept in `initial_norms`.

    Args:
        layers: Which kernels to watch: None (default) for every conv, depthwise and dense
            kernel, or layer names and/or layer classes (e.g. ``["conv1",
            keras.layers.Dense]``); a class selects every layer of that type.
        print_first: Also print the first `print_first` kernel values of each selected
            layer at each epoch end, as seed 002's ``PrintWeightsCallback`` (0 = off).
        print_fn: Function used for printing (default `print`).
        progress_line: Also print the norms on Keras' progress line. Default False: they
            go to `History` and CSV logs only, so a ``verbose=2`` epoch line stays short.

    Raises:
        ValueError: When training starts: a name matches no layer with a kernel (the
            candidates are listed), or a class matches none.

    Example:
        >>> norms = WeightNormLogger(["cnn_block1_conv1"], print_first=10)
        >>> history = model.fit(x, y, epochs=3, callbacks=[norms])  # doctest: +SKIP
        >>> history.history["cnn_block1_conv1_kernel_norm"]  # doctest: +SKIP
        [4.31, 4.12, 3.97]
    """

    def __init__(
        self,
        layers: str | type | Sequence[str | type] | None = None,
        *,
        print_first: int = 0,
        print_fn: Callable[[str], Any] = print,
        progress_line: bool = False,
    ) -> None:
        super().__init__()
        self.progress_line = check_bool("progress_line", progress_line)
        if isinstance(layers, (str, type)):
            layers = [layers]
        if layers is not None:
            if not isinstance(layers, Sequence):
                raise invalid("layers", "None or a non-empty list of layer names/classes", layers)
            layers = list(layers)
            bad = [s for s in layers if not isinstance(s, (str, type))]
            if bad or not layers:
                raise invalid("layers", "None or a non-empty list of layer names/classes", layers)
        print_first = check_nonnegative_int("print_first", print_first)
        if not callable(print_fn):
            raise invalid("print_fn", "a callable such as print", print_fn)
        self.layers = layers
        self.print_first = print_first
        self.print_fn = print_fn
        self.initial_norms: dict[str, float] = {}
        self._kernels: list[Kernel] | None = None

    def _select(self) -> list[Kernel]:
        candidates = kernels(self.model)
        if self.layers is None:
            return candidates
        names = {k.layer.name for k in candidates}
        chosen: list[Kernel] = []
        for spec in self.layers:
            if isinstance(spec, str):
                if spec not in names:
                    raise ValueError(
                        f"Invalid value for argument `layers`: no layer with a kernel is "
                        f"named {spec!r}. Layers with kernels: {sorted(names)}"
                    )
                match = [k for k in candidates if k.layer.name == spec]
            else:
                match = [k for k in candidates if isinstance(k.layer, spec)]
                if not match:
                    raise ValueError(
                        f"Invalid value for argument `layers`: the model has no "
                        f"{spec.__name__} layer with a kernel. Layers with kernels: "
                        f"{sorted(names)}"
                    )
            chosen.extend(k for k in match if k not in chosen)
        return chosen

    def norms(self) -> dict[str, float]:
        """The current norms, keyed as in the logs."""
        if self._kernels is None:
            self._kernels = self._select()
        return {f"{k.key}_norm": math.sqrt(squared_norm(k.variable)) for k in self._kernels}

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._kernels = self._select()
        self.initial_norms = self.norms()
        if not self.progress_line:
            keep_details_off_progress_line(self.model)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        values = self.norms()
        if logs is not None:
            logs.update(values)
        if self.print_first:
            for k in self._kernels or []:
                first = np.asarray(keras.ops.convert_to_numpy(k.variable)).ravel()
                first = first[: self.print_first]
                text = np.array2string(first.astype(np.float32), max_line_width=200)
                label = k.layer.name if k.attr == "kernel" else f"{k.layer.name}.{k.attr}"
                self.print_fn(f"Epoch {epoch + 1}: {label} layer: {text}")


def _effective_lr_key(kernel: Kernel) -> str:
    if kernel.attr == "kernel":
        return f"{kernel.layer.name}_effective_lr"
    return f"{kernel.key}_effective_lr"


class RegularizationMonitor(keras.callbacks.Callback):
    """Logs how much the penalty weighs and what L2 does to BN'd kernels, each epoch.

    Adds to the epoch logs (hence to `History` and `CSVLogger`):

    - ``reg_loss``: the sum of `model.losses` (L1/L2 and L2-SP penalties) at the end of the
      epoch, with the end-of-epoch weights.
    - ``reg_loss_share``: ``reg_loss / logs["loss"]``. Keras' reported training ``loss``
      already includes the penalties (it is the epoch mean of data loss + penalty), so
      the share is a fraction in [0, 1] for a non-negative loss; it compares end-of-epoch
      penalty with the epoch-mean objective. A share near 1 means the optimizer mostly
      shrinks weights instead of fitting the data - the usual reason L2(0.01) costs
      accuracy (seed 000).
    - ``<layer>_effective_lr`` for each kernel followed by BatchNorm (see
      `regkit.introspect.kernels_followed_by_batch_norm`): the optimizer's current
      learning rate divided by ``||w||^2``. Under BN the kernel's scale does not change
      the function, so L2 only shrinks ``||w||`` and thereby raises this number (seed 002).

    Decoupled weight decay (`compile_model(weight_decay=...)`) is applied by the optimizer
    and is not part of `model.losses`, so it does not appear in ``reg_loss``.

    ``reg_loss_share`` appears on the progress line; ``reg_loss`` and the per-layer
    effective learning rates go to `History` and CSV logs only (``progress_line=True``
    prints them too).

    Args:
        effective_lr: Whether to log the effective learning rates.
        progress_line: Also print ``reg_loss`` and the per-layer rates on Keras' progress
            line.

    Example:
        >>> monitor = RegularizationMonitor()
        >>> history = model.fit(x, y, epochs=3, callbacks=[monitor])  # doctest: +SKIP
        >>> history.history["reg_loss_share"]  # doctest: +SKIP
        [0.41, 0.38, 0.36]
    """

    def __init__(self, *, effective_lr: bool = True, progress_line: bool = False) -> None:
        super().__init__()
        self.effective_lr = check_bool("effective_lr", effective_lr)
        self.progress_line = check_bool("progress_line", progress_line)
        self._bn_kernels: list[Kernel] | None = None

    def regularization_loss(self) -> float:
        """The current sum of `model.losses` as a float (0.0 without penalties)."""
        return regularization_loss(self.model)

    def effective_learning_rates(self) -> dict[str, float]:
        """``lr / ||w||^2`` for each kernel followed by BatchNorm, keyed as in the logs."""
        if self._bn_kernels is None:
            self._bn_kernels = bn_followed_kernels(self.model)
        lr = _current_learning_rate(self.model)
        out = {}
        for kernel in self._bn_kernels:
            sq = squared_norm(kernel.variable)
            out[_effective_lr_key(kernel)] = lr / sq if sq > 0 else math.inf
        return out

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._bn_kernels = bn_followed_kernels(self.model)
        if not self.progress_line:
            keep_details_off_progress_line(self.model)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is None:
            return
        reg = self.regularization_loss()
        loss = logs.get("loss")
        loss = float(loss) if loss is not None else math.nan
        logs["reg_loss"] = reg
        logs["reg_loss_share"] = reg / loss if loss and math.isfinite(loss) else math.nan
        if self.effective_lr:
            logs.update(self.effective_learning_rates())
