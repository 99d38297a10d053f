"""Basic-vs-regularized comparisons: `compare()` trains variants, `Report` holds the results.

Every seed notebook ends the same way: train a basic and a regularized model on the same
data and compare them. `compare` does that for any number of named variants and seeds:
every variant sees the same dataset, the same splits, the same batch order and the same
initial random state, so the differences in its `Report` come from the regularization.

The package has three wings, one per phase, importing one way (study <- report <- run):
`study/` is what a study asks (`StudyConfig`, `Variant`, the variant grammar and study
files), `report/` what it found (statistics, verdicts, tables, `Report`) and `run/` how it
runs (the plan, the folder ledger, one run, parallel runs). Nothing heavy is imported at
import time; TensorFlow and Keras load when `compare` runs, matplotlib when a report is
plotted.

Example:
    >>> from regkit import compare
    >>> report = compare(["baseline", "all"], dataset="digits", epochs=10)  # doctest: +SKIP
    >>> print(report.to_markdown())  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from regkit.config import Regularization
from regkit.device import versions
from regkit.experiments.report.results import METRICS, Report, RunResult, Variant
from regkit.experiments.run.comparison import run_comparison
from regkit.experiments.run.plan import AUTO_BN_MOMENTUM, MODELS, default_augment, plan_study
from regkit.experiments.study.config import StudyConfig

__all__ = [
    "AUTO_BN_MOMENTUM",
    "METRICS",
    "MODELS",
    "Report",
    "RunResult",
    "Variant",
    "compare",
    "default_augment",
    "kernel_norm",
    "package_versions",
]


#: Names kept for two minor releases after they were renamed (docs/stability.md):
#: old name -> (the name to use, the release that removes the old one).
DEPRECATED: dict[str, tuple[str, str]] = {"VariantSpec": ("Variant", "0.6.0")}


def deprecated_module(old: str, new: str) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Makes module `old` a deprecated alias of module `new`: warns once, on import, naming
    the new path and the release that removes the old one, and returns the
    `(__getattr__, __dir__)` pair that hands out `new`'s names.

    Example (the whole of `regkit/experiments/stats.py`)::

        __getattr__, __dir__ = deprecated_module(__name__, "regkit.experiments.report.stats")
    """
    import importlib
    import warnings

    target = importlib.import_module(new)
    warnings.warn(
        f"{old} is deprecated since regkit 0.4 and will be removed in 0.6; import {new} instead",
        DeprecationWarning,
        stacklevel=3,
    )
    return (lambda name: getattr(target, name)), (lambda: dir(target))


def __getattr__(name: str) -> Any:
    """Deprecated names: they keep working, with a `DeprecationWarning` naming the new one."""
    if name in DEPRECATED:
        import warnings

        new, removed = DEPRECATED[name]
        warnings.warn(
            f"regkit.experiments.{name} is deprecated and will be removed in regkit "
            f"{removed}; use regkit.experiments.{new} (the same class)",
            DeprecationWarning,
            stacklevel=2,
        )
        return globals()[new]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def kernel_norm(model: Any) -> float:
    """Global L2 norm of every kernel of `model` (0.1 name of
    `regkit.introspect.total_kernel_norm`).

    Example:
        >>> import keras
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> kernel_norm(model) > 0
        True
    """
    from regkit.introspect import total_kernel_norm  # defers Keras (heavy)

    return total_kernel_norm(model)


def package_versions() -> dict[str, str]:
    """Python, platform and package versions (0.1 name of `regkit.device.versions`)."""
    return versions()


def compare(
    variants: Mapping[str, Variant | Regularization | str | Mapping[str, Any] | None]
    | Sequence[str]
    | str,
    *,
    model: str | Callable[..., Any] = "cnn",
    dataset: Any = "digits",
    epochs: int = 15,
    batch_size: int = 32,
    seeds: Sequence[int] | int = (0,),
    augment: Any = None,
    out_dir: str | os.PathLike[str] | None = None,
    learning_rate: float = 1e-3,
    optimizer: str = "adam",
    model_kwargs: Mapping[str, Any] | None = None,
    image_size: int | tuple[int, int] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool | None = None,
    limit: int | Mapping[str, int] | None = None,
    patience: int = 7,
    bn_momentum: float | str | None = "auto",
    run_eagerly: bool = False,
    callbacks: Sequence[Any] | None = None,
    verbose: int | str = 2,
    on_error: str = "raise",
    plots: bool = True,
    strategy: Any = None,
    sweep: Mapping[str, Sequence[Any]] | None = None,
    restart: bool = False,
    jobs: int = 1,
    executor: Any = None,
    tensorboard: bool = False,
    bad_images: str = "raise",
    precision: str = "float32",
    max_seeds: int | None = None,
    budget: int | float | str | None = None,
    margin: float | None = None,
    alpha: float = 0.05,
    tune: Mapping[str, Any] | None = None,
) -> Report:
    """Trains every variant with every seed on the same data and compares them.

    The dataset is loaded once; for each seed, every variant starts from
    `keras.utils.set_random_seed(seed)` and sees the same splits in the same batch order.
    Each run uses `standard_callbacks` (best-only checkpoint, early stopping, learning-rate
    reduction, TerminateOnNaN, CSV log, backup) plus `WeightNormLogger` and
    `RegularizationMonitor`, then the best weights are evaluated on the test split.
    A variant whose loss goes NaN/inf is stopped and reported as `diverged`; the others
    carry on. With `out_dir`, each run's CSV log and checkpoint go to
    `out_dir/<variant>/seed<k>/`, `report.json`/`report.md` are rewritten after every
    run (a crash keeps what finished) and the plots are drawn at the end.

    Args:
        variants: Variant specs, as on the command line: `"baseline,l2=1e-3,bn+l2=1e-4"`
            or `["baseline", "wide:bn+dropout=0.3"]` (an item is `[label:]part(+part)*`,
            a part a preset name or `field=value` with a `Regularization` field,
            `learning_rate`, `optimizer`, `augment` (a preset: `augment=mixup`) or an
            `Augment` field (`mixup=0.2`, `random_erasing=0.5`), applied left to right);
            or names mapped to specs, `Regularization` objects, dicts or `Variant`s (a
            `Variant` can also override the learning rate, optimizer or augmentation).
            Every `Regularization` field is a variant field: architecture ones reach the
            builder, `weight_decay` / `label_smoothing` / `sam` reach `compile_model`,
            `ema` / `swa` average the weights that are validated, checkpointed, tested
            and saved. The first is the reference of the report's paired comparisons.
        model: `"cnn"` (`build_cnn`), `"mobilenet_v2"` (`build_mobilenet_v2`; images
            smaller than 32x32 are resized to 32x32), `"resnet"` (`build_resnet`;
            `model_kwargs` `depth` / `width`) or a callable
            `(input_shape, num_classes, reg=..., **model_kwargs) -> keras.Model`. A named
            model trained on uint8 images (0-255) starts with their rescaling
            (`include_preprocessing=True`; report.json's `config["model_input"]` says what
            it takes), so `Report.load_model` answers `load_dataset(...)`'s own images.
        dataset: A name for `regkit.data.load_dataset` (`"digits"`, `"fashion_mnist"`,
            `"mnist"`, `"cifar10"`, a tfds name), an image folder, a
            `regkit.data.DatasetSplits`, or arrays as `keras.datasets.*.load_data()`
            returns them, `((x_train, y_train), (x_test, y_test))`
            (`DatasetSplits.from_arrays`).
        epochs: Maximum epochs per run (early stopping may end a run sooner).
        batch_size: Batch size.
        seeds: The seeds; every variant runs once per seed.
        augment: None, True (a sensible default for the dataset, see `default_augment`),
            a `regkit.data.Augment`, a dict of its arguments or an `Augment` preset name
            (`"seed000"`, `"mixup"`, ...): the augmentation of every variant without its
            own. MixUp/CutMix switch that variant's labels (and loss) to one-hot.
        out_dir: Directory for the report, plots, logs and checkpoints; None keeps
            nothing on disk. The folder is a ledger: each run folder records its
            settings, so a rerun reuses finished runs with the same settings, resumes
            interrupted ones exactly, and refuses other settings before any training.
            A folder another live process is using is refused.
        learning_rate: Learning rate of every variant without its own.
        optimizer: Keras optimizer name for every variant without its own.
        model_kwargs: Extra keyword arguments for the model builder (e.g.
            `{"filters": (16, 32)}`).
        image_size: Resize images to this `(height, width)` (or square size); needed
            for datasets whose images vary in size, such as `"imagenette/160px"`.
        data_dir: Passed to `load_dataset` when `dataset` is a name.
        download: Passed to `load_dataset`: None downloads CIFAR when absent but never
            tfds sets; True also downloads and prepares tfds sets; False never downloads.
        limit: Use at most this many examples of each split (quick trials); a mapping
            caps only the splits it names: ``{"train": 2000}`` keeps a small training
            set and whole validation and test sets (the regime where models overfit).
        patience: Early-stopping patience in epochs.
        bn_momentum: BatchNorm momentum for every variant that uses BatchNorm: `"auto"`
            (default, as the command line) applies `regkit.auto_bn_momentum`, switching to
            0.9 only where the moving statistics would average over more steps than an
            epoch has (small datasets such as digits, where 0.99 leaves validation accuracy
            at chance for ~15 epochs); None keeps each variant's own (Keras' 0.99 in the
            presets); a float overrides it. The report records the change.
        run_eagerly: Train without `tf.function` (Keras' `run_eagerly`): for debugging,
            and faster for one-step smoke runs, where tracing costs more than training.
        callbacks: Extra Keras callbacks for every run. Stateful callbacks are shared
            between runs.
        verbose: 2 (default): one short line per epoch (loss, accuracy, validation,
            penalty share, learning rate); 1: Keras' progress bar; 0: silent, also
            without the "[i/n] variant ..." lines.
        on_error: `"raise"` re-raises an exception from a run (after saving the partial
            report); `"record"` reports that run as `failed` and carries on.
        plots: Draw `curves.png`, `weight_norms.png` and `differences.png` into `out_dir`
            (needs matplotlib).
        strategy: A `tf.distribute.Strategy` under which every model and optimizer is
            created; Keras' `fit` then distributes the datasets. `batch_size` is the global
            batch (split across replicas). None: `regkit.device.strategy()`, which is a
            `MirroredStrategy` on a machine with several GPUs and the default otherwise.
        sweep: `{field: [values]}` crosses every variant with each value (e.g.
            `{"l2": [0, 1e-4, 1e-3]}`; several fields make a grid); variants are named
            `<variant>-<field>=<value>`. The report adds a table and `sweep.png` of
            validation/test accuracy and the generalization gap against the value.
        restart: Discard `out_dir`'s earlier runs (only the files regkit wrote) and
            train every run again.
        jobs: Train this many runs at once, each in its own worker process (spawned;
            each gets its share of the CPU cores, and its own GPU where there are
            several). The figures are those of `jobs=1`. Needs `dataset` given by name
            or folder (workers load it themselves) and no `callbacks` or `strategy`.
        executor: Any `concurrent.futures.Executor` to run the runs on instead, e.g. a
            Dask cluster's `client.get_executor()` (its workers need regkit and, for
            `out_dir`, the same file system).
        tensorboard: Log each run to TensorBoard in `<run folder>/tensorboard` (kept with
            `out_dir`; needs the `tensorboard` package), regkit's figures (kernel norms,
            penalty share) among the scalars. Finished runs stay reusable.
        bad_images: For an image folder, `"raise"` stops at an unreadable image and
            `"skip"` leaves such images out (the report's notes count them).
        precision: The Keras dtype policy runs train with: `"float32"`,
            `"mixed_bfloat16"`, `"mixed_float16"` or `"auto"` (bfloat16 where the CPU or
            GPU computes it fast, float16 on GPUs where that is faster, float32
            elsewhere: `regkit.device.resolve_precision`). report.json's config and each
            run's settings record the resolved policy (a change refuses finished runs);
            the caller's global policy is restored after every run.
        max_seeds: Adaptive seeds: run `seeds` first, then add one seed per round to the
            variants whose verdict against the reference is still open (the reference
            runs every seed any of them needs), until each is decided or has run
            `max_seeds` seeds. None: every variant runs `seeds` (a fixed design).
        budget: Stop adding rounds once this many runs (an int) or this much wall time
            (`"90m"`, `"2h"`, `"45s"`) has been spent; the open verdicts say so.
        margin: The equivalence margin, a fraction of accuracy (0.005: half a point): a
            variant whose difference from the reference is shown to lie within
            +-margin is `"equivalent"`. None: no such verdict.
        alpha: The chance of any false `"better"`/`"worse"` over all variants and
            rounds, and of any false `"equivalent"` (docs/statistics.md).
        tune: `{field: [candidates]}`: for each field, the reference variant with each
            candidate value is trained on selection seeds, the best on validation
            accuracy is chosen by successive halving, and the chosen strength becomes one
            arm (`"l2 (tuned=0.0001)"`) compared with the reference on the study's own
            seeds, which took no part in the choice. `{"l2+dropout": {"l2": [...],
            "dropout": [...]}}` tunes two fields of one arm jointly (their grid).

    Returns:
        A `Report`.

    Raises:
        ValueError: `variants` is empty or has an unknown preset or field or a bad value,
            `sweep` has an unknown field or a bad value, `epochs`,
            `batch_size`, `patience` or `limit` < 1, `seeds` is empty or repeats a seed,
            `model`, `optimizer` or `dataset` names something unknown, a variant name is
            not a safe folder name, or `out_dir` is not a writable directory, is in use
            by another live process, holds runs with other settings or symlinks. All
            are raised before any training.
        TypeError: an argument has the wrong type.
        OSError: the disk runs out of room for checkpoints, or the report cannot be
            written (a run's own write error fails that run only).

    Example:
        >>> report = compare(
        ...     {"baseline": "baseline", "l2": Regularization(l2=1e-3)},
        ...     dataset="digits", epochs=2, verbose=0,
        ...     model_kwargs={"filters": (8, 16), "dense_units": (32,)},
        ... )  # doctest: +SKIP
        >>> report.summary()["l2"]["status"]  # doctest: +SKIP
        'ok'
    """
    study = StudyConfig(
        model=model,
        dataset=dataset,
        epochs=epochs,
        batch_size=batch_size,
        seeds=seeds,
        augment=augment,
        out_dir=out_dir,
        learning_rate=learning_rate,
        optimizer=optimizer,
        model_kwargs=model_kwargs,
        image_size=image_size,
        data_dir=data_dir,
        download=download,
        limit=limit,
        patience=patience,
        bn_momentum=bn_momentum,
        run_eagerly=run_eagerly,
        callbacks=callbacks,
        verbose=verbose,
        on_error=on_error,
        plots=plots,
        strategy=strategy,
        sweep=sweep,
        restart=restart,
        jobs=jobs,
        executor=executor,
        tensorboard=tensorboard,
        bad_images=bad_images,
        precision=precision,
        max_seeds=max_seeds,
        budget=budget,
        margin=margin,
        alpha=alpha,
        tune=tune,
    )
    return run_comparison(plan_study(variants, study))
