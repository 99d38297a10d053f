"""Callbacks for a regularization study, and the standard set every regkit run trains with.

- Monitors (`regkit.callbacks.monitors`): `WeightNormLogger` logs each kernel's L2 norm,
  `RegularizationMonitor` the penalty, its share of the loss and the effective learning
  rates of kernels followed by BatchNorm.
- Training state (`regkit.callbacks.state`): `AtomicModelCheckpoint`,
  `ResumableCSVLogger` and `TrainingStateBackup`, safe to kill at any moment.
- Weight averaging (`regkit.callbacks.averaging`): `EMA` (with a warm-up that makes it
  right at any run length, `regkit.callbacks.ema`), `SWA` (with an exact BatchNorm
  recomputation, `recompute_batch_norm`) and `averaging_callbacks`, which builds the one
  a `Regularization` asks for (``ema``, ``swa``).
- `standard_callbacks` returns seed 001's set (best-only checkpoint, EarlyStopping with
  restore_best_weights, ReduceLROnPlateau) plus TerminateOnNaN, CSVLogger and
  BackupAndRestore, arranged so that a run killed at any moment resumes from its last
  finished epoch with its early-stopping, learning-rate and best-checkpoint state intact,
  and so that a kill while a checkpoint is written never corrupts the best model.

Put loggers before `standard_callbacks(...)` in the list given to `fit` (or use its
``weight_norms=`` / ``reg_monitor=`` flags): callbacks see each other's log entries in
list order.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any, Literal

import keras

from regkit._checks import (
    check_bool,
    check_bounded_int,
    check_choice,
    check_float_range,
    check_name,
    check_own_folder,
    check_path,
    invalid,
)
from regkit.callbacks.averaging import (
    EMA,
    SWA,
    averaged_variables,
    averaging_callbacks,
    recompute_batch_norm,
)
from regkit.callbacks.monitors import RegularizationMonitor, WeightNormLogger
from regkit.callbacks.state import (
    AtomicModelCheckpoint,
    EpochSeeding,
    ResumableCSVLogger,
    TrainingStateBackup,
    is_backup_file,
)
from regkit.callbacks.tensorboard import require_tensorboard, tensorboard_callbacks
from regkit.introspect import kernels_followed_by_batch_norm
from regkit.plots import plot_history

__all__ = [
    "EMA",
    "SWA",
    "AtomicModelCheckpoint",
    "EpochSeeding",
    "QuietTerminateOnNaN",
    "RegularizationMonitor",
    "ResumableCSVLogger",
    "TrainingStateBackup",
    "WeightNormLogger",
    "averaged_variables",
    "averaging_callbacks",
    "kernels_followed_by_batch_norm",
    "plot_history",
    "recompute_batch_norm",
    "require_tensorboard",
    "standard_callbacks",
    "tensorboard_callbacks",
]


class QuietTerminateOnNaN(keras.callbacks.TerminateOnNaN):
    """`keras.callbacks.TerminateOnNaN` that stops training without printing.

    Keras' callback prints "Batch N: Invalid loss, terminating training" in the middle of
    whatever progress output is running; regkit's studies report such a run as
    `diverged` instead. `standard_callbacks(verbose=0)` uses this one.

    Example:
        >>> QuietTerminateOnNaN().raise_error
        False
    """

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(float(loss)):
            return
        if self.raise_error:
            super().on_batch_end(batch, logs)  # Keras' RuntimeError, with its message
        self.model.stop_training = True


def standard_callbacks(
    checkpoint_path: str | os.PathLike[str],
    *,
    monitor: str = "val_loss",
    mode: Literal["auto", "min", "max"] = "auto",
    patience: int = 7,
    reduce_lr_patience: int = 3,
    min_lr: float = 1e-5,
    factor: float = 0.5,
    backup_dir: str | os.PathLike[str] | None = None,
    csv_path: str | os.PathLike[str] | None = None,
    verbose: Literal[0, 1] = 1,
    weight_norms: bool = False,
    reg_monitor: bool = False,
    averaging: Sequence[keras.callbacks.Callback] = (),
) -> list[keras.callbacks.Callback]:
    """Seed 001's callbacks, made safe to kill: checkpoint, early stop, LR decay, backup.

    Returns, in this order:

    1. (``reg_monitor=True``) `RegularizationMonitor`, (``weight_norms=True``)
       `WeightNormLogger`: first, so their log entries reach everything after them.
    2. `AtomicModelCheckpoint`: best-only on `monitor`, saved atomically; a ``.keras``
       path saves the full model, ``.weights.h5`` the weights only.
    3. `keras.callbacks.EarlyStopping(patience, restore_best_weights=True)`.
    4. `keras.callbacks.ReduceLROnPlateau(factor, reduce_lr_patience, min_lr)`.
    5. `keras.callbacks.TerminateOnNaN()`.
    6. `ResumableCSVLogger` (a `CSVLogger`) at `csv_path`.
    7. `TrainingStateBackup` (a `BackupAndRestore`) at `backup_dir`.

    Weight averaging (``averaging=averaging_callbacks(reg, ...)``): an `EMA` goes just
    before the checkpoint, so validation, the checkpoint and early stopping's best weights
    are averages; an `SWA` goes after ReduceLROnPlateau (its average replaces early
    stopping's restored weights when training ends) and, unless it has a `save_path`,
    saves its result over the best-only checkpoint. Both are tracked by the backup, so
    a resumed run continues the same averages.

    If the process dies mid-training, calling `fit` again with the same callbacks setup
    resumes at the first unfinished epoch, with weights, optimizer state, learning rate,
    early-stopping and LR-plateau counters, the best checkpoint value and the CSV log as
    they were after the last finished epoch. A finished run deletes its backup, so the
    next run starts fresh.

    Args:
        checkpoint_path: Path of the best checkpoint (``.keras`` or ``.weights.h5``).
        monitor: Quantity the checkpoint, early stopping and LR decay watch.
        mode: ``"auto"``, ``"min"`` or ``"max"`` for `monitor`.
        patience: Epochs without improvement before stopping.
        reduce_lr_patience: Epochs without improvement before halving the LR.
        min_lr: Lower bound for the learning rate.
        factor: LR multiplier on a plateau, in (0, 1).
        backup_dir: Backup folder; default ``<checkpoint folder>/<checkpoint stem>_backup``.
        csv_path: CSV log; default ``<checkpoint folder>/<checkpoint stem>_log.csv``.
        verbose: Verbosity of the checkpoint, early stopping and LR decay messages, and of
            TerminateOnNaN's "Invalid loss" line (0: `QuietTerminateOnNaN`, which stops
            the same way without printing; a study reports the run as diverged instead).
        weight_norms: Prepend a `WeightNormLogger`.
        reg_monitor: Prepend a `RegularizationMonitor`.
        averaging: `EMA` and/or `SWA` callbacks to place (see above), e.g.
            ``averaging_callbacks(reg, epochs=..., train_data=...)``.

    Returns:
        The list of callbacks to pass to `model.fit`.

    Raises:
        ValueError: A checkpoint path with another suffix, or an out-of-range argument.
        TypeError: `averaging` holds something else than `EMA`/`SWA` callbacks.

    Example:
        >>> cbs = standard_callbacks("runs/cnn/best.keras", weight_norms=True)
        >>> model.fit(train, validation_data=val, epochs=50, callbacks=cbs)  # doctest: +SKIP
    """
    path = check_path("checkpoint_path", checkpoint_path)
    name = path.name
    if "{" in name or "}" in name:
        raise invalid(
            "checkpoint_path", "a single file path without format placeholders", os.fspath(path)
        )
    for suffix in (".weights.h5", ".keras"):
        if name.endswith(suffix):
            stem = name[: -len(suffix)]
            break
    else:
        raise invalid(
            "checkpoint_path", "a path ending in '.keras' or '.weights.h5'", os.fspath(path)
        )
    monitor = check_name("monitor", monitor)
    check_choice("mode", mode, ("auto", "min", "max"))
    check_choice("verbose", verbose, (0, 1))
    weight_norms = check_bool("weight_norms", weight_norms)
    reg_monitor = check_bool("reg_monitor", reg_monitor)
    patience = check_bounded_int("patience", patience, minimum=0)
    reduce_lr_patience = check_bounded_int("reduce_lr_patience", reduce_lr_patience, minimum=0)
    factor = check_float_range("factor", factor, low=0.0, high=1.0)
    if factor == 0:
        raise invalid("factor", "a float in (0, 1)", factor)
    min_lr = check_float_range("min_lr", min_lr, low=0.0)
    if csv_path is None:
        csv_file = path.with_name(f"{stem}_log.csv")
    else:
        csv_file = check_path("csv_path", csv_path)
    backup = check_own_folder(
        "backup_dir",
        path.with_name(f"{stem}_backup") if backup_dir is None else backup_dir,
        owned=is_backup_file,
        protected=(path, csv_file),
        purpose="regkit deletes its backup files there when training ends",
    )

    checkpoint = AtomicModelCheckpoint(
        path, monitor=monitor, mode=mode, save_best_only=True, verbose=verbose
    )
    early_stopping = keras.callbacks.EarlyStopping(
        monitor=monitor, mode=mode, patience=patience, restore_best_weights=True, verbose=verbose
    )
    reduce_lr = keras.callbacks.ReduceLROnPlateau(
        monitor=monitor,
        mode=mode,
        factor=factor,
        patience=reduce_lr_patience,
        min_lr=min_lr,
        verbose=verbose,
    )
    averaging = list(averaging)
    for cb in averaging:
        if not isinstance(cb, (EMA, SWA)):
            raise TypeError(
                "Invalid type for argument `averaging`: expected EMA or SWA callbacks "
                f"(see `averaging_callbacks`). Received: {cb!r} of type {type(cb).__name__}"
            )
    before = [cb for cb in averaging if isinstance(cb, EMA)]
    after = [cb for cb in averaging if isinstance(cb, SWA)]
    for cb in after:
        if cb.save_path is None:
            cb.save_path = path
    loggers: list[keras.callbacks.Callback] = []
    if reg_monitor:
        loggers.append(RegularizationMonitor())
    if weight_norms:
        loggers.append(WeightNormLogger())
    return [
        *loggers,
        *before,
        checkpoint,
        early_stopping,
        reduce_lr,
        *after,
        keras.callbacks.TerminateOnNaN() if verbose else QuietTerminateOnNaN(),
        ResumableCSVLogger(csv_file),
        TrainingStateBackup(
            backup, tracked=[checkpoint, early_stopping, reduce_lr, *before, *after]
        ),
    ]
