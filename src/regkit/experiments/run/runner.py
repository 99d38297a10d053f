"""One run: `run_one` builds, compiles, fits and evaluates one (variant, seed).

`run_slot` runs one ledger slot (reusing or resuming what the study folder holds) and
`run_sequentially` runs a study's slots one after the other (`regkit.experiments.run.parallel`
runs them on workers; `regkit.experiments.run.comparison.run_comparison` picks one).

Each run builds a fresh model from its variant's `Regularization`, trains it with
`regkit.callbacks.standard_callbacks` (best-only checkpoint, early stopping, CSV log,
backup) plus weight-norm and regularization monitors, and evaluates the best weights on
the test split. TensorFlow and Keras are imported when a run starts.

Example:
    >>> from regkit.experiments.run.plan import plan_comparison
    >>> plan = plan_comparison(["baseline"], epochs=1)  # doctest: +SKIP
    >>> result = run_one(plan, "baseline", plan.variants["baseline"], 0, tmp)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import logging
import math
import shutil
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from regkit._io import atomic_write_text, fsync_file
from regkit.experiments.report.analysis import set_verdict, warnings_for
from regkit.experiments.report.results import (
    ACCURACY_KEYS,
    MODEL_FILE,
    Report,
    RunResult,
    Variant,
)
from regkit.experiments.run.ledger import (
    BACKUP_DIR,
    CHECKPOINT_NAME,
    ERROR_FILE,
    LOG_FILE,
    RunSlot,
    Study,
    remove_partial_files,
    write_result,
)
from regkit.experiments.run.plan import Plan
from regkit.experiments.study.build import build_model
from regkit.plots import load_history

__all__ = [
    "CHECKPOINT_NAME",
    "build_and_compile",
    "run_one",
    "run_sequentially",
]
_EPOCH_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy", "reg_loss_share", "learning_rate")


def _check_free_space(path: Path, needed: int) -> None:
    free = shutil.disk_usage(path).free
    if free < needed:
        raise OSError(
            f"Not enough free space in {path}: {free / 2**20:.0f} MiB free, about "
            f"{needed / 2**20:.0f} MiB needed for checkpoints and logs."
        )


def build_and_compile(plan: Plan, variant: Variant, num_classes: int) -> Any:
    """Builds and compiles one variant's model: the single place a model is created.

    Creation and compilation happen together inside the plan's `strategy.scope()`, so a
    distribution strategy owns both the variables and the optimizer.

    Args:
        plan: The checked plan (model, input shape, optimizer, strategy, ...).
        variant: The variant (its Regularization and training overrides).
        num_classes: Classes of the output layer.

    Returns:
        A compiled `keras.Model`.
    """
    scope = (
        plan.study.strategy.scope() if plan.study.strategy is not None else contextlib.nullcontext()
    )
    with scope:
        model = build_model(
            plan.study.model,
            plan.build_kwargs,
            plan.input_shape,
            num_classes,
            variant,
            optimizer=plan.study.optimizer,
            learning_rate=plan.study.learning_rate,
            one_hot=variant.one_hot_for(plan.study.augment),
        )
    model.run_eagerly = plan.study.run_eagerly
    return model


def _pipelines(
    plan: Plan, seed: int, epoch: Any, model: Any, augment: Any = None, one_hot: bool = False
) -> tuple[Any, Any, Any, int | None]:
    """Train, validation and test pipelines, and the batches of one training pass (`fit`'s
    `steps_per_epoch`, or None).

    The training pass of epoch e (the first from the `epoch` variable, then the ones
    after it) shuffles and augments (with `augment`, the variant's augmentation) as a
    function of (seed, e) only; `one_hot`: the variant's labels are one-hot. The training
    pipeline holds every epoch's pass, so that `fit` keeps one iterator (`_fit_pipeline`).
    The validation pipeline has one pass: Keras' `evaluate` starts a new iterator at every
    validation whatever it is given, and dropping one that was still prefetching the next
    pass took seconds at times on a loaded machine."""
    from regkit.data.pipeline import image_pipeline  # defers TensorFlow (heavy)

    common: dict[str, Any] = {
        **plan.pipeline_kwargs(),
        "one_hot": one_hot,
        "num_classes": int(plan.splits.num_classes),
        "model": model,  # images in the range the model expects
    }
    train, train_steps = _fit_pipeline(
        plan.splits.train,
        plan.study.epochs + 1,
        augment=augment,
        training=True,
        seed=seed,
        epoch=epoch,
        **common,
    )
    evaluation = {**common, "batch_size": plan.eval_batch_size}  # larger batches, same figures
    validation = image_pipeline(plan.splits.validation, training=False, **evaluation)
    test = None
    if plan.splits.test is not None:
        test = image_pipeline(plan.splits.test, training=False, **evaluation)
    return train, validation, test, train_steps


def _fit_pipeline(data: Any, passes: int, **kwargs: Any) -> tuple[Any, int | None]:
    """`image_pipeline(data, **kwargs)` holding `passes` passes, and one pass's batches.

    Given `steps_per_epoch` (one pass), Keras keeps one iterator for the whole `fit`;
    given a one-pass dataset it makes a new iterator at every epoch, and another after
    the last batch, whose start (shuffle buffer, prefetch) delays validation. One spare
    pass beyond the epochs keeps the batches from running out, which would start a new
    iterator too. Data of unknown size get one pass per iterator (and None).
    """
    from regkit.data.pipeline import image_pipeline  # defers TensorFlow (heavy)

    dataset = image_pipeline(data, repeat=passes, **kwargs)
    batches = int(dataset.cardinality())
    if batches >= 0:  # every pass has the same batches (the pipeline checks it)
        return dataset, batches // passes
    return image_pipeline(data, **kwargs), None


def _epoch_printer(epochs: int) -> Any:
    """One short line per epoch (Keras' own verbose=2 line would list every kernel norm)."""
    import keras

    class EpochLine(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
            logs = logs or {}
            parts = [f"Epoch {epoch + 1}/{epochs}", f"{time.perf_counter() - self._start:.1f}s"]
            for key in _EPOCH_KEYS:
                if key in logs:
                    value = float(logs[key])
                    label = "lr" if key == "learning_rate" else key
                    parts.append(
                        f"{label}: {value:.4g}"
                        if key == "learning_rate"
                        else f"{label}: {value:.4f}"
                    )
            print(" - ".join(parts), flush=True)

    return EpochLine()


def _stop_on_nonfinite_weights() -> Any:
    """Stops training when a logged kernel norm is NaN/inf (TerminateOnNaN watches only the
    loss, which a clipped cross-entropy keeps finite while the weights overflow)."""
    import keras

    class StopOnNonFiniteWeights(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
            for key, value in (logs or {}).items():
                if key.endswith("_kernel_norm") and not math.isfinite(float(value)):
                    self.model.stop_training = True
                    return

    return StopOnNonFiniteWeights()


def run_one(plan: Plan, name: str, variant: Variant, seed: int, run_dir: Path) -> RunResult:
    """Trains one variant with one seed and evaluates its best weights.

    An earlier, interrupted run of the same variant and seed (its backup in `run_dir`) is
    resumed where it stopped, and repeats the uninterrupted run exactly: each epoch's
    shuffle order, augmentation and dropout masks depend on (seed, epoch) only
    (`regkit.callbacks.EpochSeeding` and `image_pipeline(epoch=...)`).

    Args:
        plan: The checked plan.
        name: The variant's name.
        variant: The variant.
        seed: The seed (`keras.utils.set_random_seed` and the pipeline's shuffle seed).
        run_dir: The run's folder (checkpoint, CSV log, backup).

    Returns:
        The run's `RunResult` (`origin` `"resumed"` when it continued an earlier run).

    Raises:
        OSError: the disk lacks room for the checkpoint and backup, or a write failed.
    """
    import keras

    # defers Keras (heavy) until a run trains
    from regkit.device.precision import precision_policy
    from regkit.training import release_training_memory

    # quiet about the retracing a fresh model per run causes; the run's traced steps are
    # freed with it, so memory stays flat over many runs in one process; the collections
    # (clear_session's, release_training_memory's) look at the run's own objects only
    with quiet_retracing(), collecting_young(), release_training_memory():
        keras.backend.clear_session()  # same layer names in every run, memory released
        # the study's dtype policy for this run only: the caller's comes back after it
        with precision_policy(plan.study.precision):
            return _train(plan, name, variant, seed, run_dir)


def _train(plan: Plan, name: str, variant: Variant, seed: int, run_dir: Path) -> RunResult:
    """`run_one`'s work, inside its context."""
    import keras
    import tensorflow as tf

    # defers Keras and TensorFlow (heavy) until a run trains
    from regkit.callbacks import EpochSeeding, standard_callbacks
    from regkit.introspect import total_kernel_norm

    keras.utils.set_random_seed(seed)
    model = build_and_compile(plan, variant, int(plan.splits.num_classes))
    params = int(model.count_params())
    initial_norm = total_kernel_norm(model)  # the collapse verdict compares the end with it
    run_dir.mkdir(parents=True, exist_ok=True)
    # checkpoint + a backup with optimizer state + logs, with room to spare
    _check_free_space(run_dir, needed=params * 4 * 6 + 16 * 2**20)
    checkpoint = run_dir / CHECKPOINT_NAME
    backup_dir = run_dir / BACKUP_DIR
    csv_path = run_dir / LOG_FILE
    resumed = backup_dir.exists()  # an interrupted earlier run: fit resumes it
    if not resumed:
        checkpoint.unlink(missing_ok=True)  # never evaluate a stale checkpoint
    epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="regkit_epoch")
    augment = variant.augment_for(plan.study.augment)
    one_hot = variant.one_hot_for(plan.study.augment)
    train, validation, test, train_steps = _pipelines(plan, seed, epoch, model, augment, one_hot)
    callbacks = [
        EpochSeeding(seed, epoch_variable=epoch),  # first: seeds the epoch before it runs
        *standard_callbacks(
            checkpoint,
            patience=plan.study.patience,
            backup_dir=backup_dir,
            csv_path=csv_path,
            verbose=0,
            weight_norms=True,
            reg_monitor=True,
            averaging=_averaging(plan, variant, model),
        ),
        *_tensorboard(plan, run_dir),  # after the monitors: their figures become scalars
        _stop_on_nonfinite_weights(),
        *(plan.study.callbacks or ()),
    ]
    keras_verbose = plan.study.verbose
    if plan.study.verbose == 2:
        callbacks.append(_epoch_printer(plan.study.epochs))
        keras_verbose = 0
    start = time.perf_counter()
    fitted = model.fit(
        train,
        validation_data=validation,
        epochs=plan.study.epochs,
        steps_per_epoch=train_steps,  # one pass: one iterator for the whole fit
        callbacks=callbacks,
        verbose=keras_verbose,
        shuffle=False,  # the pipeline shuffles, with the run's seed
    )
    history: Mapping[str, Sequence[float]] = fitted.history
    if resumed and csv_path.exists():  # History holds only the resumed epochs
        history = load_history(csv_path)[1]
    if checkpoint.exists():  # the best epoch's weights, whatever stopped training
        model.load_weights(checkpoint)
    results = model.evaluate(test, return_dict=True, verbose=0) if test is not None else {}
    save_model_file(model, run_dir)  # the model as evaluated: a file users load and export
    wall_time = time.perf_counter() - start
    acc_key = next((k for k in ACCURACY_KEYS if k in results), None)
    result = RunResult.from_history(
        name,
        seed,
        history,
        params=params,
        test_accuracy=results.get(acc_key) if acc_key else None,
        test_loss=results.get("loss"),
        weight_norm=total_kernel_norm(model),
        wall_time=wall_time,
    )
    result.origin = "resumed" if resumed else "trained"
    result.initial_weight_norm = initial_norm
    judge(plan, result, model, validation)  # "collapsed" when it learned nothing
    return result


def save_model_file(model: Any, run_dir: Path) -> Path | None:
    """Saves a finished run's model, as evaluated (its best weights), as `MODEL_FILE`
    (`model.keras`) in its folder: written to a hidden partial file, flushed and renamed
    into place, so a killed save never leaves half a model. A model Keras cannot save (a
    custom builder's layer without `get_config`) or a full disk leaves none, with a
    warning: `Report.load_model` then rebuilds it from the checkpoint.

    Returns:
        The path written, or None when the model could not be saved.
    """
    import os
    import warnings

    target = run_dir / MODEL_FILE
    partial = run_dir / f".partial-{MODEL_FILE}"
    try:
        partial.unlink(missing_ok=True)
        model.save(partial)
        fsync_file(partial)
        os.replace(partial, target)
    except Exception as exc:  # the run's figures stand without the file
        partial.unlink(missing_ok=True)
        warnings.warn(f"Could not save {target}: {exc}", RuntimeWarning, stacklevel=2)
        return None
    return target


_MAJORITY: dict[int, tuple[Any, float | None, int | None]] = {}


def _label(image: Any, label: Any) -> Any:
    return label


def validation_majority(splits: Any) -> tuple[float | None, int | None]:
    """The share of the most frequent class among the validation labels, and their count
    (computed once per data set and process; labels as integers or one-hot)."""
    import numpy as np

    cached = _MAJORITY.get(id(splits))
    if cached is not None and cached[0] is splits:
        return cached[1], cached[2]
    counts = np.zeros(0, dtype=np.int64)
    for labels in splits.validation.map(_label).batch(4096).as_numpy_iterator():
        labels = np.asarray(labels)
        if labels.ndim > 1:  # one-hot
            labels = labels.reshape(len(labels), -1).argmax(axis=-1)
        found = np.bincount(labels.astype(np.int64).ravel())
        if len(found) > len(counts):
            counts = np.pad(counts, (0, len(found) - len(counts)))
        counts[: len(found)] += found
    total = int(counts.sum())
    majority = float(counts.max() / total) if total else None
    _MAJORITY.clear()  # one data set at a time: no splits kept alive
    _MAJORITY[id(splits)] = (splits, majority, total or None)
    return majority, total or None


def judge(plan: Plan, result: RunResult, model: Any, validation: Any) -> None:
    """Sets a finished run's verdict (`analysis.set_verdict`): `"collapsed"` when it
    trained several epochs and is no better than the validation split's majority class;
    a collapsed run also records how constant its predictions are."""
    if result.status != "ok":
        return
    try:
        majority, count = validation_majority(plan.splits)
    except Exception:  # labels that cannot be counted: no verdict rather than a failed run
        return

    def prediction_share() -> float | None:
        import numpy as np

        predicted = np.asarray(model.predict(validation, verbose=0)).argmax(axis=-1)
        return (
            float(np.bincount(predicted.ravel()).max() / predicted.size) if predicted.size else None
        )

    set_verdict(
        result, val_majority=majority, val_examples=count, prediction_share=prediction_share
    )


def _averaging(plan: Plan, variant: Variant, model: Any) -> list[Any]:
    """The variant's EMA / SWA callback (`averaging_callbacks`); SWA's BatchNorm pass reads
    the training split without augmentation, in the model's input range."""
    from regkit.callbacks import averaging_callbacks  # defers Keras (heavy)

    if not (variant.reg.ema or variant.reg.swa):
        return []
    train_data = None
    if variant.reg.swa:
        from regkit.data.pipeline import image_pipeline  # defers TensorFlow (heavy)

        train_data = image_pipeline(
            plan.splits.train,
            **plan.pipeline_kwargs(),
            training=False,
            model=model,
        )
    return averaging_callbacks(
        variant.reg,
        epochs=plan.study.epochs,
        train_data=train_data,
        batch_size=plan.study.batch_size,
    )


#: The folder inside a run folder that `compare(tensorboard=True)` logs to.
TENSORBOARD_DIR = "tensorboard"


def _tensorboard(plan: Plan, run_dir: Path) -> list[Any]:
    """`tensorboard_callbacks` for the run's own log folder, with `compare(tensorboard=True)`."""
    if not plan.study.tensorboard:
        return []
    from regkit.callbacks.tensorboard import tensorboard_callbacks  # defers Keras (heavy)

    return tensorboard_callbacks(run_dir / TENSORBOARD_DIR)


@contextlib.contextmanager
def collecting_young() -> Iterator[None]:
    """Keeps the garbage collections inside the block to the objects made in it.

    A full `gc.collect()` walks every object the process tracks (about 400,000 once
    TensorFlow and Keras are imported: 0.2-0.4 s on a loaded 2-core machine), and a run
    makes two (Keras' `clear_session` and `release_training_memory`): about 0.5 s a run
    for garbage that is almost all the run's own. `gc.freeze()` moves the objects alive
    when the block starts out of the collector's sight; `gc.unfreeze()` at its end gives
    them back, to the oldest generation, which Python's own collections still visit. So
    the run's collections free the run's cycles (its model and traced steps) in
    milliseconds, and memory stays flat (tests/experiments/test_memory.py). Objects frozen
    by someone else (`gc.get_freeze_count()`) are left as they are, and then so is this.
    """
    import gc

    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class _DropRetracingWarnings(logging.Filter):
    """compare builds a fresh model per run on purpose; TF's retracing advice is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


@contextlib.contextmanager
def quiet_retracing() -> Any:
    """Drops TensorFlow's retracing advice while a run trains (a fresh model per run is
    intended)."""
    logger = logging.getLogger("tensorflow")
    drop = _DropRetracingWarnings()
    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)


def say_for(plan: Plan) -> Any:
    return (lambda text: print(text, flush=True)) if plan.study.verbose else (lambda text: None)


def run_sequentially(
    plan: Plan, study: Study, report: Report, slots: Sequence[RunSlot] | None = None
) -> None:
    """Runs `slots` (default: every slot of the study) one after the other in this process,
    reusing finished ones."""
    say = say_for(plan)
    slots = study.slots() if slots is None else list(slots)
    for index, slot in enumerate(slots, 1):
        describe = slot.variant.describe()
        say(f"[{index}/{len(slots)}] variant {slot.name!r} seed {slot.seed}: {describe}")
        result = slot.previous or run_slot(plan, study, slot, report)
        record(plan, report, result, say)


def stops_at_failure(plan: Plan) -> bool:
    """Whether a failed run stops the study (re-raised after the partial report is saved)
    rather than being recorded as failed while the others go on."""
    return plan.study.on_error == "raise"


def run_slot(plan: Plan, study: Study, slot: RunSlot, report: Report) -> RunResult:
    """Trains one planned run in its folder and records it there; a failure becomes a
    failed `RunResult` (or is re-raised, after saving the partial report, when
    the study stops at a failed run, `stops_at_failure`)."""
    start = time.perf_counter()
    try:
        if study.kept:
            study.begin(slot)  # settings.json first: the folder now says what it holds
        result = run_one(plan, slot.name, slot.variant, slot.seed, slot.directory)
        if study.kept:
            write_result(slot.directory, result)
        return result
    except Exception as exc:
        result = RunResult.failed(slot.name, slot.seed, exc, wall_time=time.perf_counter() - start)
        remove_partial_files(slot.directory)
        if study.kept:
            with contextlib.suppress(OSError):  # a full disk may refuse this too
                atomic_write_text(slot.directory / ERROR_FILE, traceback.format_exc())
        if stops_at_failure(plan):
            report.runs.append(result)
            with contextlib.suppress(OSError):
                save_partial(report, plan)
            raise
        return result


def record(plan: Plan, report: Report, result: RunResult, say: Any) -> None:
    """Adds a finished run to the report, says how it went, and saves the partial report."""
    report.runs.append(result)
    # runs in the study's seed order, variants in plan order, however they end
    seeds = {seed: i for i, seed in enumerate(plan.config["design"]["seeds"])}
    names = {name: i for i, name in enumerate(plan.variants)}
    report.runs.sort(key=lambda r: (seeds.get(r.seed, len(seeds)), r.seed, names[r.variant]))
    result.warnings = warnings_for(report, result)
    name, seed = result.variant, result.seed
    if result.status == "failed":
        say(f"    variant {name!r} seed {seed} failed: {result.error}")
    elif result.status == "diverged":
        say(
            f"    variant {name!r} seed {seed} diverged "
            f"(non-finite loss or weights in epoch {result.diverged_epoch})"
        )
    else:
        origin = "" if result.origin == "trained" else f" ({result.origin})"
        collapsed = " (collapsed)" if result.status == "collapsed" else ""
        say(f"    {_run_summary(result)}{origin}{collapsed}")
    for warning in result.warnings:
        say(f"    warning: {warning}")
    save_partial(report, plan)


def _run_summary(run: RunResult) -> str:
    parts = [f"best epoch {run.best_epoch}/{run.epochs_run}"]
    for label, value in (
        ("train acc", run.train_accuracy),
        ("val acc", run.val_accuracy),
        ("test acc", run.test_accuracy),
    ):
        if value is not None:
            parts.append(f"{label} {value:.4f}")
    if run.generalization_gap is not None:
        parts.append(f"gap {run.generalization_gap:+.4f}")
    if run.wall_time is not None:
        parts.append(f"{run.wall_time:.1f} s")
    return ", ".join(parts)


def save_partial(report: Report, plan: Plan) -> None:
    """Rewrites report.json / report.md (no plots) after a run, when there is an out_dir."""
    if plan.study.out_dir is not None:
        report.save(plan.study.out_dir, plots=False)
