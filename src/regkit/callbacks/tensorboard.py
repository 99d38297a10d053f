"""TensorBoard for regkit runs: training curves and regkit's own figures as scalars.

Keras' `keras.callbacks.TensorBoard` writes every entry of the epoch logs it receives as a
scalar named ``epoch_<key>`` (``val_*`` keys go to the ``validation`` run, the others to
``train``). regkit's monitors put their figures into those logs, so no extra writer is
needed, only an order: the TensorBoard callback must come **after** `WeightNormLogger`
(``<layer>_kernel_norm``) and `RegularizationMonitor` (``reg_loss``, ``reg_loss_share``,
``<layer>_effective_lr``) in the list given to `fit`, because callbacks see each other's
log entries in list order. Placed before them, it writes the loss and metrics only.

Without the ``tensorboard`` package, Keras' callback fails inside `fit` with TensorFlow's
``TBNotInstalledError`` ("missing implementation for tf.summary.scalar");
`tensorboard_callbacks` and `require_tensorboard` fail before anything is built, with a
`ModuleNotFoundError` naming the extra to install.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterable
from typing import Any

import keras

from regkit._checks import check_bool, check_nonnegative_int, check_path, invalid

__all__ = [
    "TENSORBOARD_INSTALL",
    "require_tensorboard",
    "tensorboard_callbacks",
    "tensorboard_installed",
]

#: The command that installs what TensorBoard logging needs.
TENSORBOARD_INSTALL = 'pip install "regkit-keras[tensorboard]"'


def tensorboard_installed() -> bool:
    """Whether the ``tensorboard`` package can be imported (it is not imported here)."""
    try:
        return importlib.util.find_spec("tensorboard") is not None
    except (ImportError, ValueError):  # a broken or half-removed installation
        return False


def require_tensorboard(callbacks: Iterable[Any] | None = None) -> None:
    """Fails early, naming the extra, when TensorBoard logging cannot work.

    Args:
        callbacks: None to require TensorBoard unconditionally, or a list of callbacks:
            then it is required only if one of them is a `keras.callbacks.TensorBoard`
            (a user's own callback passed to a study, say).

    Raises:
        ModuleNotFoundError: The ``tensorboard`` package is missing (and needed).

    Example:
        >>> require_tensorboard([keras.callbacks.EarlyStopping()])  # needs nothing
    """
    if callbacks is not None and not any(
        isinstance(c, keras.callbacks.TensorBoard) for c in callbacks
    ):
        return
    if not tensorboard_installed():
        raise ModuleNotFoundError(
            "TensorBoard logging needs the `tensorboard` package, which is not installed. "
            f"Install it with: {TENSORBOARD_INSTALL}",
            name="tensorboard",
        )


def tensorboard_callbacks(
    log_dir: str | os.PathLike[str],
    *,
    histogram_freq: int = 0,
    write_graph: bool = True,
    update_freq: str | int = "epoch",
) -> list[keras.callbacks.Callback]:
    """The callbacks that log one run to TensorBoard, regkit's figures included.

    Put them after regkit's monitors in the list given to `fit` (after
    ``standard_callbacks(..., weight_norms=True, reg_monitor=True)`` or after your own
    `WeightNormLogger` / `RegularizationMonitor`): every epoch-log entry the callbacks
    before them add is written as a scalar ``epoch_<key>``, so the kernel norms, the
    penalty and its share and the effective learning rates appear beside ``epoch_loss``,
    ``epoch_accuracy`` and ``epoch_learning_rate``. Use one `log_dir` per run: TensorBoard
    shows each folder as a run (``<log_dir>/train``, ``<log_dir>/validation``).

    Args:
        log_dir: The run's log folder (created when the first event is written).
        histogram_freq: Also write weight histograms every this many epochs (0 = never).
        write_graph: Write the model's configuration (TensorBoard's graph tab).
        update_freq: ``"epoch"``, ``"batch"`` or a number of batches between training
            loss writes; regkit's figures are per epoch whatever this says.

    Returns:
        A list holding a `keras.callbacks.TensorBoard` for `log_dir`.

    Raises:
        ModuleNotFoundError: ``tensorboard`` is not installed (the message names the
            extra, ``pip install "regkit-keras[tensorboard]"``).
        ValueError: An invalid `histogram_freq` or `update_freq`.
        TypeError: `log_dir` is not a path.

    Example:
        >>> cbs = [WeightNormLogger(), RegularizationMonitor(),
        ...        *tensorboard_callbacks("logs/run0")]
        >>> model.fit(x, y, epochs=3, callbacks=cbs)  # doctest: +SKIP
        >>> # tensorboard --logdir logs   -> epoch_<layer>_kernel_norm, epoch_reg_loss_share
    """
    path = check_path("log_dir", log_dir)
    histogram_freq = check_nonnegative_int("histogram_freq", histogram_freq)
    write_graph = check_bool("write_graph", write_graph)
    if isinstance(update_freq, bool) or not (
        (isinstance(update_freq, str) and update_freq in ("epoch", "batch"))
        or (isinstance(update_freq, int) and update_freq > 0)
    ):
        raise invalid("update_freq", '"epoch", "batch" or a positive int', update_freq)
    require_tensorboard()
    return [
        keras.callbacks.TensorBoard(
            log_dir=os.fspath(path),
            histogram_freq=histogram_freq,
            write_graph=write_graph,
            update_freq=update_freq,
        )
    ]
