"""Callbacks for a regularization study, and the standard set every regkit run trains with.

- `WeightNormLogger` puts each kernel's L2 norm into the epoch logs (so it lands in
  `History`, `CSVLogger` and the progress bar), optionally printing the first values as
  seed 002's ``PrintWeightsCallback`` did.
- `RegularizationMonitor` logs the regularization loss, its share of the training loss and,
  for kernels followed by BatchNorm, the effective learning rate ``lr / ||w||^2``: the
  numbers behind "why did L2(0.01) lower my accuracy?" (seed 000) and "does L2 do anything
  under BN?" (seed 002).
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

import csv
import io
import json
import math
import os
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

from regkit._checks import check_choice, invalid
from regkit.plots import plot_history
from regkit.regularization import iter_layers, kernel_attributes
from regkit.training import _activation_name

__all__ = [
    "AtomicModelCheckpoint",
    "RegularizationMonitor",
    "ResumableCSVLogger",
    "TrainingStateBackup",
    "WeightNormLogger",
    "kernels_followed_by_batch_norm",
    "plot_history",
    "standard_callbacks",
]

_Kernel = tuple[keras.layers.Layer, str]  # (layer, variable attribute)


def _kernel_key(layer: keras.layers.Layer, attr: str, suffix: str) -> str:
    # "kernel" -> "<layer>_kernel_norm"; SeparableConv's two kernels keep their own names.
    return f"{layer.name}_{attr}_{suffix}"


def _to_numpy(variable: Any) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(variable), dtype=np.float64)


def _squared_norm(variable: Any) -> float:
    w = _to_numpy(variable)
    return float(np.dot(w.ravel(), w.ravel()))


def _all_kernels(model: keras.Model) -> list[_Kernel]:
    out = []
    for layer in iter_layers(model):
        for attr, _, _ in kernel_attributes(layer):
            if getattr(layer, attr, None) is not None:
                out.append((layer, attr))
    return out


def _current_learning_rate(model: keras.Model) -> float:
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return math.nan
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


class WeightNormLogger(keras.callbacks.Callback):
    """Logs the L2 norm of selected kernels each epoch as ``<layer>_kernel_norm``.

    The norms are added to the epoch logs, so they appear in the `History` that `fit`
    returns, in `CSVLogger` files and in the progress bar, and `plot_history` draws them
    in a third panel. The norms before training are kept in `initial_norms`.

    Args:
        layers: Which kernels to watch: None (default) for every conv, depthwise and dense
            kernel, or layer names and/or layer classes (e.g. ``["conv1",
            keras.layers.Dense]``); a class selects every layer of that type.
        print_first: Also print the first `print_first` kernel values of each selected
            layer at each epoch end, as seed 002's ``PrintWeightsCallback`` (0 = off).
        print_fn: Function used for printing (default `print`).

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
    ) -> None:
        super().__init__()
        if isinstance(layers, (str, type)):
            layers = [layers]
        if layers is not None:
            layers = list(layers)
            bad = [s for s in layers if not isinstance(s, (str, type))]
            if bad or not layers:
                raise invalid("layers", "None or a non-empty list of layer names/classes", layers)
        if isinstance(print_first, bool) or not isinstance(print_first, int) or print_first < 0:
            raise invalid("print_first", "an int >= 0", print_first)
        self.layers = layers
        self.print_first = print_first
        self.print_fn = print_fn
        self.initial_norms: dict[str, float] = {}
        self._kernels: list[_Kernel] | None = None

    def _select(self) -> list[_Kernel]:
        candidates = _all_kernels(self.model)
        if self.layers is None:
            return candidates
        names = {layer.name for layer, _ in candidates}
        chosen: list[_Kernel] = []
        for spec in self.layers:
            if isinstance(spec, str):
                if spec not in names:
                    raise ValueError(
                        f"Invalid value for argument `layers`: no layer with a kernel is "
                        f"named {spec!r}. Layers with kernels: {sorted(names)}"
                    )
                match = [k for k in candidates if k[0].name == spec]
            else:
                match = [k for k in candidates if isinstance(k[0], spec)]
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
        return {
            _kernel_key(layer, attr, "norm"): math.sqrt(_squared_norm(getattr(layer, attr)))
            for layer, attr in self._kernels
        }

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._kernels = self._select()
        self.initial_norms = self.norms()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        values = self.norms()
        if logs is not None:
            logs.update(values)
        if self.print_first:
            for layer, attr in self._kernels or []:
                first = _to_numpy(getattr(layer, attr)).ravel()[: self.print_first]
                text = np.array2string(first.astype(np.float32), max_line_width=200)
                label = layer.name if attr == "kernel" else f"{layer.name}.{attr}"
                self.print_fn(f"Epoch {epoch + 1}: {label} layer: {text}")


# Layers through which scaling a kernel's output by c > 0 still scales what reaches the
# next BatchNorm by c (positively homogeneous maps), so BN's output does not change.
_PASS_THROUGH = tuple(
    getattr(keras.layers, name)
    for name in (
        "Dropout",
        "SpatialDropout1D",
        "SpatialDropout2D",
        "SpatialDropout3D",
        "GaussianDropout",
        "MaxPooling1D",
        "MaxPooling2D",
        "MaxPooling3D",
        "AveragePooling1D",
        "AveragePooling2D",
        "AveragePooling3D",
        "GlobalMaxPooling1D",
        "GlobalMaxPooling2D",
        "GlobalMaxPooling3D",
        "GlobalAveragePooling1D",
        "GlobalAveragePooling2D",
        "GlobalAveragePooling3D",
        "ZeroPadding1D",
        "ZeroPadding2D",
        "ZeroPadding3D",
        "Cropping1D",
        "Cropping2D",
        "Cropping3D",
        "UpSampling1D",
        "UpSampling2D",
        "UpSampling3D",
        "Reshape",
        "Flatten",
        "Permute",
        "Identity",
        "LeakyReLU",
        "PReLU",
    )
    if hasattr(keras.layers, name)
)
_HOMOGENEOUS_ACTIVATIONS = {None, "linear", "relu", "leaky_relu"}


def _is_pass_through(layer: keras.layers.Layer) -> bool:
    if isinstance(layer, _PASS_THROUGH):
        return True
    if isinstance(layer, keras.layers.ReLU):
        config = layer.get_config()
        return config.get("max_value") is None and not config.get("threshold")
    if isinstance(layer, keras.layers.Activation):
        return _activation_name(layer.activation) in _HOMOGENEOUS_ACTIVATIONS
    return False


def _consumers(layer: keras.layers.Layer, members: Mapping[int, Any]) -> list[Any]:
    nodes = getattr(layer, "_outbound_nodes", None) or []
    return [n.operation for n in nodes if id(getattr(n, "operation", None)) in members]


def _reaches_batch_norm(layer: Any, members: Mapping[int, Any], seen: set[int]) -> bool:
    if isinstance(layer, keras.layers.BatchNormalization):
        return True
    if id(layer) in seen or not _is_pass_through(layer):
        return False
    seen.add(id(layer))
    nxt = _consumers(layer, members)
    return bool(nxt) and all(_reaches_batch_norm(c, members, seen) for c in nxt)


def _bn_followed(model: keras.Model) -> list[_Kernel]:
    out: list[_Kernel] = []
    containers = [model, *(m for m in iter_layers(model) if getattr(m, "layers", None))]
    for container in containers:
        members = {id(layer): layer for layer in container.layers}
        sequential = isinstance(container, keras.Sequential)
        for index, layer in enumerate(container.layers):
            attrs = [
                a for a, _, _ in kernel_attributes(layer) if getattr(layer, a, None) is not None
            ]
            if not attrs:
                continue
            if _activation_name(getattr(layer, "activation", None)) not in _HOMOGENEOUS_ACTIVATIONS:
                continue
            if sequential:  # the next layer is the consumer; no graph needed
                rest = container.layers[index + 1 :]
                ok = False
                for nxt in rest:
                    if isinstance(nxt, keras.layers.BatchNormalization):
                        ok = True
                        break
                    if not _is_pass_through(nxt):
                        break
            else:
                nxt = _consumers(layer, members)
                ok = bool(nxt) and all(_reaches_batch_norm(c, members, set()) for c in nxt)
            if ok:
                out.extend((layer, a) for a in attrs)
    return out


def kernels_followed_by_batch_norm(model: keras.Model) -> list[str]:
    """Names of the layers whose kernels feed a BatchNormalization (scale-invariant kernels).

    A kernel counts when every path from its layer's output reaches a BatchNormalization
    through positively homogeneous layers only (dropout, pooling, padding, reshaping,
    ReLU without a cap, LeakyReLU, linear activations), and the layer's own activation is
    linear, relu or leaky_relu. BN's output then does not change when the kernel is
    scaled by c > 0 (exactly without a bias; with a bias, kernel and bias scale together),
    so the kernel's norm only sets its effective learning rate. ReLU6 breaks the chain.
    Works on functional and Sequential models, nested models included.

    Args:
        model: A built Keras model.

    Returns:
        Layer names, in model order.

    Example:
        >>> inputs = keras.Input((32, 32, 3))
        >>> x = keras.layers.Conv2D(8, 3, use_bias=False, name="conv")(inputs)
        >>> x = keras.layers.BatchNormalization()(x)
        >>> x = keras.layers.GlobalAveragePooling2D()(keras.layers.ReLU()(x))
        >>> model = keras.Model(inputs, keras.layers.Dense(10, name="predictions")(x))
        >>> kernels_followed_by_batch_norm(model)
        ['conv']
    """
    names: list[str] = []
    for layer, _ in _bn_followed(model):
        if layer.name not in names:
            names.append(layer.name)
    return names


class RegularizationMonitor(keras.callbacks.Callback):
    """Logs how much the penalty weighs and what L2 does to BN'd kernels, each epoch.

    Adds to the epoch logs (hence to `History` and `CSVLogger`):

    - ``reg_loss``: the sum of `model.losses` (the L1/L2 penalties) at the end of the
      epoch, with the end-of-epoch weights.
    - ``reg_loss_share``: ``reg_loss / logs["loss"]``. Keras' reported training ``loss``
      already includes the penalties (it is the epoch mean of data loss + penalty), so
      the share is a fraction in [0, 1] for a non-negative loss; it compares end-of-epoch
      penalty with the epoch-mean objective. A share near 1 means the optimizer mostly
      shrinks weights instead of fitting the data - the usual reason L2(0.01) costs
      accuracy (seed 000).
    - ``<layer>_effective_lr`` for each kernel followed by BatchNorm (see
      `kernels_followed_by_batch_norm`): the optimizer's current learning rate divided by
      ``||w||^2``. Under BN the kernel's scale does not change the function, so L2 only
      shrinks ``||w||`` and thereby raises this number (seed 002).

    Decoupled weight decay (`compile_model(weight_decay=...)`) is applied by the optimizer
    and is not part of `model.losses`, so it does not appear in ``reg_loss``.

    Args:
        effective_lr: Whether to log the effective learning rates.

    Example:
        >>> monitor = RegularizationMonitor()
        >>> history = model.fit(x, y, epochs=3, callbacks=[monitor])  # doctest: +SKIP
        >>> history.history["reg_loss_share"]  # doctest: +SKIP
        [0.41, 0.38, 0.36]
    """

    def __init__(self, *, effective_lr: bool = True) -> None:
        super().__init__()
        self.effective_lr = effective_lr
        self._bn_kernels: list[_Kernel] | None = None

    def regularization_loss(self) -> float:
        """The current sum of `model.losses` as a float (0.0 without penalties)."""
        return float(sum(float(keras.ops.convert_to_numpy(v)) for v in self.model.losses))

    def effective_learning_rates(self) -> dict[str, float]:
        """``lr / ||w||^2`` for each kernel followed by BatchNorm, keyed as in the logs."""
        if self._bn_kernels is None:
            self._bn_kernels = _bn_followed(self.model)
        lr = _current_learning_rate(self.model)
        out = {}
        for layer, attr in self._bn_kernels:
            key = (
                f"{layer.name}_effective_lr"
                if attr == "kernel"
                else f"{layer.name}_{attr}_effective_lr"
            )
            sq = _squared_norm(getattr(layer, attr))
            out[key] = lr / sq if sq > 0 else math.inf
        return out

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._bn_kernels = _bn_followed(self.model)

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


# --------------------------------------------------------------------------- resumable set


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".partial-{path.name}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _previous(path: Path) -> Path:
    return path.with_name(path.name + ".bkp")


def _write_keeping_previous(path: Path, data: bytes) -> None:
    """Writes `path` atomically and keeps the version it replaces as `<path>.bkp`."""
    if path.exists():
        os.replace(path, _previous(path))
    _atomic_write_bytes(path, data)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class AtomicModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """A `ModelCheckpoint` that never leaves a half-written file at its path.

    Each save goes to a hidden temporary file in the same folder (``.partial-<name>``),
    which is flushed to disk and then moved over the target with `os.replace`, an atomic
    rename: a process killed while saving leaves the previous checkpoint intact. Nothing
    custom is stored in the saved model. Saving is per epoch; the path takes no
    ``{epoch}``-style placeholders (one file, always the latest or best).

    Args:
        filepath: A ``.keras`` path (full model) or ``.weights.h5`` path (weights only).
        monitor, mode, verbose, save_best_only, initial_value_threshold: As in
            `keras.callbacks.ModelCheckpoint`.

    Raises:
        ValueError: A path with another suffix or with format placeholders.

    Example:
        >>> ckpt = AtomicModelCheckpoint("runs/best.keras", save_best_only=True)
    """

    def __init__(
        self,
        filepath: str | os.PathLike[str],
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = True,
        mode: str = "auto",
        initial_value_threshold: float | None = None,
    ) -> None:
        path = os.fspath(filepath)
        if "{" in path or "}" in path:
            raise invalid("filepath", "a single file path without format placeholders", path)
        weights_only = path.endswith(".weights.h5")
        if not weights_only and not path.endswith(".keras"):
            raise invalid(
                "filepath", "a path ending in '.keras' (full model) or '.weights.h5'", path
            )
        super().__init__(
            path,
            monitor=monitor,
            verbose=verbose,
            save_best_only=save_best_only,
            save_weights_only=weights_only,
            mode=mode,
            save_freq="epoch",
            initial_value_threshold=initial_value_threshold,
        )
        self.target = Path(path)

    @property
    def partial_path(self) -> Path:
        """Where a save is written before it is moved into place."""
        return self.target.with_name(f".partial-{self.target.name}")

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        super().on_train_begin(logs)
        self.partial_path.unlink(missing_ok=True)  # left over from a killed save

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        partial = self.partial_path
        partial.parent.mkdir(parents=True, exist_ok=True)
        partial.unlink(missing_ok=True)
        previous, verbose = self.best, int(self.verbose)  # type: ignore[has-type]
        self.filepath, self.verbose = str(partial), 0  # Keras' messages would name `partial`
        try:
            super().on_epoch_end(epoch, logs)
        finally:
            self.filepath, self.verbose = str(self.target), verbose
        if partial.exists():
            _fsync_file(partial)
            os.replace(partial, self.target)
            if verbose:
                before = "inf" if previous is None else f"{float(previous):.5f}"
                what = (
                    f"{self.monitor} improved from {before} to {float(self.best):.5f}, "
                    if self.save_best_only and self.best is not None
                    else ""
                )
                print(f"\nEpoch {epoch + 1}: {what}saved {self.target}")
        elif verbose and previous is not None:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {previous:.5f}")


class ResumableCSVLogger(keras.callbacks.CSVLogger):
    """A `CSVLogger` that continues its file when training resumes instead of erasing it.

    A run starting at epoch 0 writes a fresh file. A run starting later (resumed by
    `BackupAndRestore`, or `fit(initial_epoch=...)`) keeps the rows of earlier epochs,
    drops rows of epochs about to be rerun (written just before a kill, after the last
    backup), and appends. The file thus holds each finished epoch exactly once.

    Args:
        filename: Path of the CSV file.
        separator: Column separator.

    Example:
        >>> log = ResumableCSVLogger("runs/log.csv")
    """

    def __init__(self, filename: str | os.PathLike[str], separator: str = ",") -> None:
        super().__init__(os.fspath(filename), separator=separator, append=False)
        self._opened = False

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._opened = False  # the first epoch tells whether this run resumes

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self._opened:
            return
        self._opened = True
        path = Path(self.filename)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.append = epoch > 0 and path.exists()
        if self.append:
            self._keep_rows_before(path, epoch)
        super().on_train_begin()

    def _keep_rows_before(self, path: Path, epoch: int) -> None:
        with open(path, newline="") as f:
            rows = list(csv.reader(f, delimiter=self.sep))
        if not rows:
            return
        header, body = rows[0], rows[1:]
        col = header.index("epoch") if "epoch" in header else None
        kept = [r for r in body if col is None or (r and r[col] and int(float(r[col])) < epoch)]
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=self.sep, lineterminator="\r\n")
        writer.writerows([header, *kept])
        _atomic_write_bytes(path, buffer.getvalue().encode())

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if not self._opened:  # fit called without on_epoch_begin (defensive)
            self.on_epoch_begin(epoch)
        super().on_epoch_end(epoch, logs)


_STATE_ATTRS = ("best", "wait", "best_epoch", "cooldown_counter", "stopped_epoch")


def _json_number(value: Any) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    try:
        return float(np.asarray(value))
    except (TypeError, ValueError):
        return None


class TrainingStateBackup(keras.callbacks.BackupAndRestore):
    """`BackupAndRestore` that survives a kill at any point and restores its siblings' state.

    Keras' `BackupAndRestore` saves weights, optimizer state (learning rate included) and
    the epoch at each epoch end, and `fit` resumes from there. Two things go wrong with it
    alone: callbacks like `EarlyStopping`, `ReduceLROnPlateau` and `ModelCheckpoint` start
    over (patience counters at 0, best value forgotten, so the first resumed epoch would
    overwrite a better checkpoint); and it rewrites its files in place, so a kill while it
    writes them (an empty ``training_metadata.json``, a truncated first weights file)
    leaves a run that can never resume.

    This subclass commits each backup in one atomic step. The weights go to a new file
    named after the epoch; then one JSON record, holding the epoch, the name of that
    weights file and the tracked callbacks' counters and best values, is written to a
    temporary file and renamed into place. The previous record is kept beside it
    (``double_checkpoint``), and with it the weights it names. On resume the newest record
    whose weights load wins, so the weights, the epoch and the callbacks' state always
    belong to the same epoch; if nothing loads, it warns and starts from epoch 0. Place it
    last in the callback list, so it saves after the others have updated for the epoch. The
    backup folder is deleted when training finishes.

    Args:
        backup_dir: Folder for the backup; used by this callback only.
        tracked: Callbacks whose state is saved and restored.
        double_checkpoint: Keep the previous backup as a fallback.

    Example:
        >>> stop = keras.callbacks.EarlyStopping(patience=3)
        >>> backup = TrainingStateBackup("runs/backup", tracked=[stop])
    """

    def __init__(
        self,
        backup_dir: str | os.PathLike[str],
        tracked: Iterable[keras.callbacks.Callback] = (),
        *,
        double_checkpoint: bool = True,
    ) -> None:
        super().__init__(os.fspath(backup_dir), double_checkpoint=double_checkpoint)
        self.tracked = list(tracked)
        self._restore_pending = False
        self._restored_state: dict[str, Any] | None = None
        self._saved_best_epoch: dict[int, int] = {}

    @property
    def _record_path(self) -> Path:
        return Path(self._training_metadata_path)

    def _best_weights_path(self, index: int) -> Path:
        return Path(self.backup_dir) / f"regkit_best_weights_{index}.npz"

    # ---------------------------------------------------------------- saving
    def _save_model(self) -> None:
        backup = Path(self.backup_dir)
        backup.mkdir(parents=True, exist_ok=True)
        name = f"epoch{self._current_epoch:05d}_batch{self._last_batch_seen:06d}.weights.h5"
        weights = backup / name
        partial = weights.with_name(f".partial-{name}")
        self.model.save_weights(partial, overwrite=True)
        _fsync_file(partial)
        os.replace(partial, weights)
        record = {
            "epoch": self._current_epoch,
            "batch": self._last_batch_seen,
            "weights": name,
            "callbacks": self._callback_states(),
        }
        if self.double_checkpoint:
            _write_keeping_previous(self._record_path, json.dumps(record).encode())
        else:
            _atomic_write_bytes(self._record_path, json.dumps(record).encode())
        self._prune_weights()

    def _records(self) -> list[dict[str, Any]]:
        """The readable backup records, newest first."""
        out = []
        for path in (self._record_path, _previous(self._record_path)):
            try:
                record = json.loads(path.read_text())
                int(record["epoch"])
                str(record["weights"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
            out.append(record)
        return out

    def _prune_weights(self) -> None:
        keep = {record["weights"] for record in self._records()}
        for path in Path(self.backup_dir).glob("*.weights.h5"):
            if path.name not in keep:
                path.unlink(missing_ok=True)

    def _callback_states(self) -> list[dict[str, Any]]:
        states = []
        for index, cb in enumerate(self.tracked):
            state: dict[str, Any] = {"class": type(cb).__name__}
            for attr in _STATE_ATTRS:
                if hasattr(cb, attr):
                    state[attr] = _json_number(getattr(cb, attr))
            best_weights = getattr(cb, "best_weights", None)
            if best_weights is not None:
                best_epoch = int(getattr(cb, "best_epoch", -1))
                if best_epoch != self._saved_best_epoch.get(index):
                    buffer = io.BytesIO()
                    np.savez(buffer, *best_weights, best_epoch=np.int64(best_epoch))
                    _write_keeping_previous(self._best_weights_path(index), buffer.getvalue())
                    self._saved_best_epoch[index] = best_epoch
                state["best_weights_epoch"] = best_epoch
            states.append(state)
        return states

    # --------------------------------------------------------------- loading
    def _load_model(self) -> None:
        if not self.model.built:
            raise ValueError(
                "To resume with TrainingStateBackup the model must be built before `fit` "
                f"(call it on a batch first). Received: model={self.model.name!r}"
            )
        backup = Path(self.backup_dir)
        self._restored_state = None
        for record in self._records():
            weights = backup / record["weights"]
            if not weights.is_file():
                continue
            optimizer = self.model.optimizer
            if optimizer is not None and not optimizer.built:
                optimizer.build(self.model.trainable_variables)
            try:
                self.model.load_weights(weights)
            except (OSError, ValueError) as err:
                warnings.warn(
                    f"Skipping unreadable backup {weights} ({type(err).__name__}); "
                    "trying the one before it.",
                    stacklevel=3,
                )
                continue
            self.model._initial_epoch = int(record["epoch"])
            self._restored_state = record
            return
        if backup.exists() and any(backup.iterdir()):
            warnings.warn(
                f"No usable backup in {backup} (a run killed before its first backup was "
                "complete leaves none); training starts from epoch 0.",
                stacklevel=3,
            )

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        super().on_train_begin(logs)
        self._restore_pending = True
        self._saved_best_epoch = {}

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self._restore_pending:
            self._restore_pending = False
            if epoch > 0 and self._restored_state is not None:
                self._restore(self._restored_state)

    def _load_best_weights(self, index: int, best_epoch: int) -> list[np.ndarray] | None:
        path = self._best_weights_path(index)
        for candidate in (path, _previous(path)):
            try:
                with np.load(candidate) as data:
                    if int(data["best_epoch"]) != best_epoch:
                        continue
                    names = [n for n in data.files if n.startswith("arr_")]
                    return [data[f"arr_{i}"] for i in range(len(names))]
            except (OSError, ValueError, KeyError):
                continue
        return None

    def _restore(self, record: dict[str, Any]) -> None:
        states = record.get("callbacks", [])
        if [s.get("class") for s in states] != [type(cb).__name__ for cb in self.tracked]:
            warnings.warn(
                "The saved callback state does not match the callbacks of this run; "
                "not restoring it.",
                stacklevel=3,
            )
            return
        for index, (cb, state) in enumerate(zip(self.tracked, states, strict=True)):
            for attr in _STATE_ATTRS:
                if attr in state and hasattr(cb, attr):
                    value = state[attr]
                    if attr != "best" and value is not None:
                        value = int(value)
                    setattr(cb, attr, value)
            if getattr(cb, "restore_best_weights", False) and "best_weights_epoch" in state:
                best_epoch = int(state["best_weights_epoch"])
                cb.best_weights = self._load_best_weights(index, best_epoch)
                if cb.best_weights is not None:
                    self._saved_best_epoch[index] = best_epoch


def _check_patience(arg: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise invalid(arg, "an int >= 0", value)
    return value


def standard_callbacks(
    checkpoint_path: str | os.PathLike[str],
    *,
    monitor: str = "val_loss",
    mode: str = "auto",
    patience: int = 7,
    reduce_lr_patience: int = 3,
    min_lr: float = 1e-5,
    factor: float = 0.5,
    backup_dir: str | os.PathLike[str] | None = None,
    csv_path: str | os.PathLike[str] | None = None,
    verbose: int = 1,
    weight_norms: bool = False,
    reg_monitor: bool = False,
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
        verbose: Verbosity of the checkpoint, early stopping and LR decay messages.
        weight_norms: Prepend a `WeightNormLogger`.
        reg_monitor: Prepend a `RegularizationMonitor`.

    Returns:
        The list of callbacks to pass to `model.fit`.

    Raises:
        ValueError: A checkpoint path with another suffix, or an out-of-range argument.

    Example:
        >>> cbs = standard_callbacks("runs/cnn/best.keras", weight_norms=True)
        >>> model.fit(train, validation_data=val, epochs=50, callbacks=cbs)  # doctest: +SKIP
    """
    path = Path(checkpoint_path)
    name = path.name
    for suffix in (".weights.h5", ".keras"):
        if name.endswith(suffix):
            stem = name[: -len(suffix)]
            break
    else:
        raise invalid(
            "checkpoint_path", "a path ending in '.keras' or '.weights.h5'", os.fspath(path)
        )
    check_choice("mode", mode, ("auto", "min", "max"))
    patience = _check_patience("patience", patience)
    reduce_lr_patience = _check_patience("reduce_lr_patience", reduce_lr_patience)
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0 < factor < 1:
        raise invalid("factor", "a float in (0, 1)", factor)
    if isinstance(min_lr, bool) or not isinstance(min_lr, (int, float)) or not min_lr >= 0:
        raise invalid("min_lr", "a float >= 0", min_lr)
    backup = Path(backup_dir) if backup_dir is not None else path.with_name(f"{stem}_backup")
    csv_file = Path(csv_path) if csv_path is not None else path.with_name(f"{stem}_log.csv")
    if backup.resolve() == path.parent.resolve():
        raise invalid("backup_dir", "a folder of its own (it is deleted after training)", backup)

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
    loggers: list[keras.callbacks.Callback] = []
    if reg_monitor:
        loggers.append(RegularizationMonitor())
    if weight_norms:
        loggers.append(WeightNormLogger())
    return [
        *loggers,
        checkpoint,
        early_stopping,
        reduce_lr,
        keras.callbacks.TerminateOnNaN(),
        ResumableCSVLogger(csv_file),
        TrainingStateBackup(backup, tracked=[checkpoint, early_stopping, reduce_lr]),
    ]
