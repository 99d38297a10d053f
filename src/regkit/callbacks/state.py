"""Kill-safe training state: the best checkpoint, the CSV log and the backup to resume from.

- `AtomicModelCheckpoint`: a `ModelCheckpoint` that never leaves a half-written file.
- `ResumableCSVLogger`: a `CSVLogger` that continues its file when training resumes.
- `TrainingStateBackup`: a `BackupAndRestore` that commits each backup in one atomic step
  and restores its sibling callbacks' state (early stopping, LR plateau, best checkpoint).

Together (see `regkit.callbacks.standard_callbacks`) a run killed at any moment resumes
from its last finished epoch with its state intact. Every file written here goes through
`regkit._io`'s atomic writes or is written to a temporary name and renamed into place.
"""

from __future__ import annotations

import contextlib
import csv
import glob
import io
import json
import os
import re
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import keras
import numpy as np

from regkit._checks import check_seed, invalid
from regkit._io import atomic_write_bytes, fsync_file, open_regular, read_regular_text
from regkit.introspect import seed_generators

__all__ = [
    "AtomicModelCheckpoint",
    "EpochSeeding",
    "ResumableCSVLogger",
    "TrainingStateBackup",
    "is_backup_file",
]

# The files `TrainingStateBackup` writes in its folder, and nothing else: what it may
# delete. Temporary names are those of `regkit._io.temp_path` and of the weights saved
# before their rename; `latest.weights.h5` is Keras' `BackupAndRestore` layout, which
# regkit 0.1 wrote before its atomic records.
_BACKUP_FILE = re.compile(
    r"""
    (?:\.partial-)?epoch\d{5,}_batch\d{6,}\.weights\.h5
    | training_metadata\.json(?:\.bkp)?
    | latest\.weights\.h5(?:\.bkp)?
    | regkit_(?:best_weights|average)_\d+\.npz(?:\.bkp)?
    | \.(?:training_metadata\.json|regkit_(?:best_weights|average)_\d+\.npz)\.\d+\.tmp
    """,
    re.VERBOSE,
)


def is_backup_file(name: str) -> bool:
    """Whether a file name is one `TrainingStateBackup` writes (and may delete)."""
    return _BACKUP_FILE.fullmatch(name) is not None


def _remove_stale_temps(path: Path) -> None:
    """Removes temporary files a killed `atomic_write_bytes` of `path` left behind."""
    if path.parent.is_dir():
        for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
            if stale.is_file() or stale.is_symlink():
                stale.unlink(missing_ok=True)


def _remove_partial_weights(folder: Path) -> None:
    """Removes the `.partial-epoch*.weights.h5` files a killed or failed backup left in
    its folder (regkit's names only; never a link's target)."""
    if folder.is_dir() and not folder.is_symlink():
        for stale in folder.glob(".partial-epoch*.weights.h5"):
            if is_backup_file(stale.name) and (stale.is_file() or stale.is_symlink()):
                stale.unlink(missing_ok=True)


def _previous(path: Path) -> Path:
    return path.with_name(path.name + ".bkp")


def _write_keeping_previous(path: Path, data: bytes) -> None:
    """Writes `path` atomically and keeps the version it replaces as `<path>.bkp`."""
    if path.exists():
        os.replace(path, _previous(path))
    atomic_write_bytes(path, data)


#: The largest backup record read (it holds a few counters per callback).
_MAX_RECORD = 16 * 2**20

_STATE_ATTRS = ("best", "wait", "best_epoch", "cooldown_counter", "stopped_epoch")


def _json_number(value: Any) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    try:
        return float(np.asarray(value))
    except (TypeError, ValueError):
        return None


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
        #: (epoch, `state_mark`) of the weights file last moved into place, if weights-only.
        self.saved_state: tuple[int, tuple[float, ...] | None] | None = None

    @property
    def partial_path(self) -> Path:
        """Where a save is written before it is moved into place."""
        return self.target.with_name(f".partial-{self.target.name}")

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        super().on_train_begin(logs)
        self.partial_path.unlink(missing_ok=True)  # left over from a killed save
        self.saved_state = None

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
            fsync_file(partial)
            os.replace(partial, self.target)
            # what TrainingStateBackup may link instead of writing the same weights again
            self.saved_state = (epoch, state_mark(self.model)) if self.save_weights_only else None
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
        _remove_stale_temps(path)
        if path.is_symlink():  # never write through a link planted at the log's name
            path.unlink()
        self.append = epoch > 0 and path.exists()
        if self.append:
            self._keep_rows_before(path, epoch)
        super().on_train_begin()

    def _keep_rows_before(self, path: Path, epoch: int) -> None:
        with open_regular(path, what="CSV log") as raw:  # never blocks on a FIFO
            rows = list(csv.reader(io.TextIOWrapper(raw, newline=""), delimiter=self.sep))
        if not rows:
            return
        header, body = rows[0], rows[1:]
        col = header.index("epoch") if "epoch" in header else None
        kept = [r for r in body if col is None or (r and r[col] and int(float(r[col])) < epoch)]
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=self.sep, lineterminator="\r\n")
        writer.writerows([header, *kept])
        atomic_write_bytes(path, buffer.getvalue().encode())

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if not self._opened:  # fit called without on_epoch_begin (defensive)
            self.on_epoch_begin(epoch)
        super().on_epoch_end(epoch, logs)


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
    backup folder is deleted when training finishes. At an epoch where a tracked
    weights-only `AtomicModelCheckpoint` saved and nothing changed since (`state_mark`),
    the weights file is a hard link to the checkpoint's, written once instead of twice.

    A tracked weight-averaging callback (`regkit.callbacks.EMA`, `regkit.callbacks.SWA`:
    anything with ``averaging_state``, ``set_averaging_state`` and ``training_weights``)
    has its averages saved beside the record and restored with it, and the weights saved
    are its training weights even while the model shows the averages.

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

    def _average_path(self, index: int) -> Path:
        return Path(self.backup_dir) / f"regkit_average_{index}.npz"

    # ---------------------------------------------------------------- saving
    def _save_model(self) -> None:
        backup = Path(self.backup_dir)
        backup.mkdir(parents=True, exist_ok=True)
        name = f"epoch{self._current_epoch:05d}_batch{self._last_batch_seen:06d}.weights.h5"
        weights = backup / name
        partial = weights.with_name(f".partial-{name}")
        partial.unlink(missing_ok=True)  # a file (or planted link) there is never written into
        try:
            if not self._link_checkpoint(partial):
                with contextlib.ExitStack() as stack:  # averaging callbacks: training weights
                    for cb in self.tracked:
                        if callable(getattr(cb, "training_weights", None)):
                            stack.enter_context(cb.training_weights())
                    self.model.save_weights(partial, overwrite=True)
                fsync_file(partial)
            os.replace(partial, weights)
        except BaseException:  # a failed save leaves no half-written file behind
            partial.unlink(missing_ok=True)
            raise
        record = {
            "epoch": self._current_epoch,
            "batch": self._last_batch_seen,
            "weights": name,
            "callbacks": self._callback_states(),
        }
        if self.double_checkpoint:
            _write_keeping_previous(self._record_path, json.dumps(record).encode())
        else:
            atomic_write_bytes(self._record_path, json.dumps(record).encode())
        self._prune_weights()

    def _link_checkpoint(self, partial: Path) -> bool:
        """Links the weights file a tracked `AtomicModelCheckpoint` saved at this epoch's end
        as `partial`, when it holds exactly what `save_weights` would write now (the same
        epoch, the same `state_mark`: no callback changed the weights or the optimizer
        since, and no averaging callback shows averages instead of the training weights).
        An improving epoch then writes its weights once, not twice. False when it cannot
        (the caller saves): another epoch, a changed state, or no hard links there."""
        if any(callable(getattr(cb, "training_weights", None)) for cb in self.tracked):
            return False
        epoch = self._current_epoch - 1
        for cb in self.tracked:
            saved = getattr(cb, "saved_state", None)
            if not isinstance(cb, AtomicModelCheckpoint) or saved is None or saved[0] != epoch:
                continue
            if saved[1] is None or saved[1] != state_mark(self.model):
                return False
            try:
                os.link(cb.target, partial)
            except OSError:  # a file system without hard links, another device, ...
                partial.unlink(missing_ok=True)
                return False
            return True
        return False

    def _records(self) -> list[dict[str, Any]]:
        """The readable backup records, newest first."""
        out = []
        for path in (self._record_path, _previous(self._record_path)):
            try:
                record = json.loads(read_regular_text(path, max_bytes=_MAX_RECORD, what="backup"))
                int(record["epoch"])
                str(record["weights"])
            except (OSError, ValueError, KeyError, TypeError, RecursionError):
                continue
            out.append(record)
        return out

    def _prune_weights(self) -> None:
        keep = {record["weights"] for record in self._records()}
        for path in Path(self.backup_dir).glob("*.weights.h5"):
            if path.name not in keep and is_backup_file(path.name):
                path.unlink(missing_ok=True)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        """Removes the backup's own files (never anything else), then the folder if empty."""
        folder = Path(self.backup_dir)
        if not self.delete_checkpoint or folder.is_symlink() or not folder.is_dir():
            return
        for child in folder.iterdir():
            if is_backup_file(child.name) and (child.is_symlink() or child.is_file()):
                child.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # not empty: someone else's files stay
            folder.rmdir()

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
            if callable(getattr(cb, "averaging_state", None)):
                arrays = dict(cb.averaging_state())
                buffer = io.BytesIO()
                np.savez(buffer, backup_epoch=np.int64(self._current_epoch), **arrays)
                _write_keeping_previous(self._average_path(index), buffer.getvalue())
                state["averaging_epoch"] = int(self._current_epoch)
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
        _remove_stale_temps(self._record_path)
        _remove_partial_weights(Path(self.backup_dir))
        for index in range(len(self.tracked)):
            _remove_stale_temps(self._best_weights_path(index))
            _remove_stale_temps(self._average_path(index))
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
            if "averaging_epoch" in state and callable(getattr(cb, "set_averaging_state", None)):
                arrays = self._load_average(index, int(state["averaging_epoch"]))
                if arrays is None:
                    warnings.warn(
                        f"The weight averages of {type(cb).__name__} for epoch "
                        f"{int(state['averaging_epoch']) + 1} are missing from the backup; "
                        "averaging starts over.",
                        stacklevel=3,
                    )
                else:
                    cb.set_averaging_state(arrays)

    def _load_average(self, index: int, epoch: int) -> dict[str, np.ndarray] | None:
        path = self._average_path(index)
        for candidate in (path, _previous(path)):
            try:
                with np.load(candidate) as data:
                    if int(data["backup_epoch"]) != epoch:
                        continue
                    return {k: data[k] for k in data.files if k != "backup_epoch"}
            except (OSError, ValueError, KeyError):
                continue
        return None


def state_mark(model: keras.Model) -> tuple[float, ...] | None:
    """A cheap summary of what `model.save_weights` writes: each model variable's sum,
    the optimizer's step count and learning rate (the variables a callback changes at an
    epoch's end, e.g. `ReduceLROnPlateau`). Equal marks at two moments of one epoch's end
    mean the same weights file; None when a value cannot be read (never equal)."""
    try:
        values = [float(np.sum(np.asarray(v, dtype=np.float64))) for v in model.variables]
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None and getattr(optimizer, "built", False):
            for name in ("iterations", "learning_rate"):
                value = getattr(optimizer, name, None)
                if value is not None:
                    values.append(float(np.asarray(value, dtype=np.float64)))
    except (TypeError, ValueError, AttributeError):
        return None
    return tuple(values)


def epoch_seed(seed: int, epoch: int, index: int = 0) -> int:
    """A seed in [0, 2**31) that depends on (`seed`, `epoch`, `index`) only."""
    words = [int(v) % 2**64 for v in (seed, epoch, index)]
    return int(np.random.SeedSequence(words).generate_state(1, dtype=np.uint32)[0]) & 0x7FFFFFFF


class EpochSeeding(keras.callbacks.Callback):
    """Makes each epoch's training randomness a function of (seed, epoch) alone.

    At the beginning of each epoch it assigns the epoch number to `epoch_variable` (if
    given; `regkit.data.image_pipeline(..., epoch=...)` reads it to fix that pass's
    shuffle order and augmentation) and reseeds every `keras.random.SeedGenerator` in
    the model (Dropout, SpatialDropout, random augmentation layers) from (seed, epoch,
    the generator's position in the model). A run resumed at epoch ``e`` therefore
    draws the same dropout masks in epoch ``e`` as a run that trained epochs
    ``0..e-1`` first, and resumed training repeats an uninterrupted run exactly.

    Args:
        seed: The run's seed (an int that fits int64).
        epoch_variable: Optional scalar int64 `tf.Variable` set to the epoch number at
            each epoch's beginning.

    Raises:
        ValueError: `seed` is not an int that fits int64.
        TypeError: `epoch_variable` is not a scalar variable.

    Example:
        >>> import tensorflow as tf
        >>> epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        >>> seeding = EpochSeeding(0, epoch_variable=epoch)
        >>> model.fit(train, epochs=5, callbacks=[seeding])  # doctest: +SKIP
    """

    def __init__(self, seed: int, epoch_variable: Any | None = None) -> None:
        super().__init__()
        self.seed = check_seed("seed", seed)
        if epoch_variable is not None:
            shape = getattr(epoch_variable, "shape", None)
            if not callable(getattr(epoch_variable, "assign", None)) or shape is None:
                raise TypeError(
                    "Invalid type for argument `epoch_variable`: expected None or a scalar "
                    "int64 tf.Variable. Received: "
                    f"epoch_variable={epoch_variable!r} of type {type(epoch_variable).__name__}"
                )
            if tuple(shape) != ():
                raise invalid("epoch_variable", "a scalar variable (shape ())", epoch_variable)
        self.epoch_variable = epoch_variable

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.epoch_variable is not None:
            self.epoch_variable.assign(epoch)
        for index, generator in enumerate(seed_generators(self.model)):
            state = generator.state
            value = np.array([epoch_seed(self.seed, epoch, index), 0])
            state.assign(keras.ops.convert_to_tensor(value, dtype=state.dtype))
