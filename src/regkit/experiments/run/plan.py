"""The plan of a comparison: every check of `compare`'s arguments and the data loading.

`plan_comparison` validates everything and loads the data set before anything trains, so
a bad argument fails at once (a `ValueError` naming it) instead of after the first run.
The command line calls it too, so flags and Python arguments are checked by one code
path. `StudyConfig` (study_config.py) is the one list of the study settings.

Example:
    >>> plan = plan_comparison(["baseline", "bn"], epochs=2, verbose=0)  # doctest: +SKIP
    >>> plan.input_shape  # doctest: +SKIP
    (8, 8, 1)
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import os
import sys
import tempfile
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from regkit._checks import (
    check_folder_name,
    check_items,
    check_kwargs,
    check_optional_list,
    check_positive_int,
    invalid,
)
from regkit._io import LOCK_NAME
from regkit.config import AUTO_BN_MOMENTUM, Regularization, auto_bn_momentum
from regkit.data.augment import AUGMENT_RECIPES, Augment
from regkit.device import strategy as default_strategy
from regkit.experiments.report.sequential import plan_looks
from regkit.experiments.run.ledger import check_before_loading
from regkit.experiments.study.config import ALWAYS_BATCH_NORM, MODELS, ON_ERROR, StudyConfig
from regkit.experiments.study.records import Variant, jsonable
from regkit.experiments.study.specs import (
    RESERVED_NAMES,
    expand_sweep,
    folder_name,
    parse_spec,
    parse_variants,
)
from regkit.experiments.study.tuning import coerce_tune

__all__ = [
    "AUTO_BN_MOMENTUM",
    "MODELS",
    "ON_ERROR",
    "Plan",
    "coerce_variants",
    "default_augment",
    "folder_name",
    "plan_comparison",
    "plan_study",
]

# Datasets whose classes change under a horizontal flip (digits, letters).
_NO_FLIP_DATASETS = frozenset({"digits", "mnist", "emnist", "kmnist", "svhn_cropped"})
_MIN_IMAGE_SIZE = {"mobilenet_v2": 32}
#: The largest batch `Plan.eval_batch_size` chooses by itself.
MAX_EVAL_BATCH = 512


@dataclasses.dataclass
class Plan:
    """Everything `compare` checked before training: what `run_comparison` runs.

    A plan carries one checked `StudyConfig` and only what is derived from it: no study
    setting is declared here a second time (`plan.study.epochs`, never `plan.epochs`).

    Attributes:
        study: The `StudyConfig`, every value checked and resolved: seeds as a tuple,
            `augment` as an `Augment` or None, `image_size` as the (height, width) images
            are resized to or None, `out_dir` as a created `Path` or None, `model_kwargs`
            as a dict, `callbacks` as a list, `strategy` as the `tf.distribute.Strategy`
            models are built under, `plots` off where matplotlib is missing.
        variants: Name -> `Variant` (sweeps expanded, BatchNorm momentum applied).
        splits: The loaded (and, with `limit`, capped) `DatasetSplits`.
        dataset_name: The data set's name for reports.
        input_shape: The models' input shape.
        build_kwargs: The builder's arguments: `model_kwargs`, plus
            `include_preprocessing=True` where the data set's images are uint8.
        config: The JSON-ready settings a `Report` records.
    """

    study: StudyConfig
    variants: dict[str, Variant]
    splits: Any
    dataset_name: str
    input_shape: tuple[int, ...]
    build_kwargs: dict[str, Any]
    config: dict[str, Any]

    def pipeline_kwargs(self) -> dict[str, Any]:
        """What every `image_pipeline` of the study takes: the batch size and the
        (height, width) images are resized to (None keeps their size)."""
        return {"batch_size": self.study.batch_size, "image_size": self.study.image_size}

    @property
    def eval_batch_size(self) -> int:
        """Validation and test batches: four training batches, at most `MAX_EVAL_BATCH`,
        never fewer than one. Evaluation keeps no activations for a backward pass, so
        this fits where training fits; the figures are per-image means, the same at any
        batch, and cost half as much (docs/benchmarks.md)."""
        batch = self.study.batch_size
        return max(batch, min(4 * batch, MAX_EVAL_BATCH))

    @property
    def one_hot(self) -> bool:
        """Whether the study's own augmentation mixes labels (MixUp/CutMix: one-hot)."""
        return self.study.augment is not None and bool(self.study.augment.mixes_labels)

    def augment_of(self, name: str) -> Augment | None:
        """The augmentation variant `name` trains with (its own, else the study's)."""
        return self.variants[name].augment_for(self.study.augment)

    def one_hot_of(self, name: str) -> bool:
        """Whether variant `name`'s labels (and loss) are one-hot: its MixUp/CutMix or
        label smoothing."""
        return self.variants[name].one_hot_for(self.study.augment)

    def augment_config(self, name: str) -> dict[str, Any] | None:
        """Variant `name`'s augmentation as a report records it (`config["augment"]`'s
        form: the study's own value for a variant without one, so older folders match)."""
        if self.variants[name].augment is None:
            return self.config.get("augment")
        aug = self.augment_of(name)
        return None if aug is None else jsonable(aug.to_dict())

    def run_values(self, name: str) -> dict[str, Any]:
        """The study settings variant `name` overrides with its own, as its runs use them
        (JSON-ready): optimizer, learning rate, augmentation, BatchNorm momentum."""
        variant = self.variants[name]
        return {
            "optimizer": variant.optimizer or self.study.optimizer,
            "learning_rate": variant.learning_rate or self.study.learning_rate,
            "augment": self.augment_config(name),
            "bn_momentum": variant.reg.bn_momentum,
        }


# ---------------------------------------------------------------------------- variants
def coerce_variants(
    variants: Mapping[str, Variant | Regularization | str | Mapping[str, Any] | None]
    | Sequence[str]
    | str,
) -> dict[str, Variant]:
    """`compare`'s `variants` argument as an ordered `{name: Variant}`.

    Strings are variant specs (`regkit.experiments.study.specs`): `"baseline,l2=1e-3"`,
    `["bn", "wide:bn+dropout=0.3"]`, or `{"strong": "bn+l2=1e-3"}` in a mapping, whose
    values may also be `Variant`s (a study file's variants) or `Regularization`s.

    Raises:
        ValueError: no variants, an unknown preset or field, a bad value, a repeated
            name, or two names that map to the same folder.
        TypeError: anything else.
    """
    items: list[tuple[Any, Any]]
    if isinstance(variants, str):
        items = list(parse_variants(variants).items())
    elif isinstance(variants, Mapping):
        items = [
            (name, parse_spec(value, label=str(name)) if isinstance(value, str) else value)
            for name, value in variants.items()
        ]
    elif isinstance(variants, Iterable):
        items = []
        for entry in variants:
            if not isinstance(entry, str):
                raise TypeError(
                    "Invalid type for argument `variants`: a sequence must hold variant specs "
                    f"(str); pass a mapping for Regularization objects. Received: {entry!r}"
                )
            spec = parse_spec(entry)
            items.append((spec.label, spec))
    else:
        raise TypeError(
            "Invalid type for argument `variants`: expected a mapping of names to "
            "Regularization/Variant objects or a sequence of preset names. "
            f"Received: variants={variants!r} of type {type(variants).__name__}"
        )
    if not items:
        raise ValueError(
            "Invalid value for argument `variants`: expected at least one variant. "
            f"Received: variants={variants!r}. Presets: {', '.join(Regularization.preset_names())}"
        )
    result: dict[str, Variant] = {}
    folders: dict[str, str] = {}
    for name, value in items:
        if not isinstance(name, str) or not name.strip():
            raise invalid("variants", "non-empty variant names (str)", name)
        if name in result:
            raise invalid("variants", "unique variant names", f"{name} (given twice)")
        check_folder_name("variants", name, reserved=(*RESERVED_NAMES, LOCK_NAME))
        other = folders.setdefault(folder_name(name), name)
        if other != name:  # each variant's logs go to out_dir/<slug>/
            raise invalid(
                "variants", "names that differ after replacing odd characters", [other, name]
            )
        try:
            variant = Variant.coerce(value)
            result[name] = variant if variant.label == name else variant.replace(label=name)
        except (TypeError, ValueError) as exc:  # name the argument the user gave
            kind = "type" if isinstance(exc, TypeError) else "value"
            raise type(exc)(
                f"Invalid {kind} for argument `variants`: variant {name!r}: {exc}"
            ) from exc
    return result


def _apply_sweep(
    variants: dict[str, Variant], sweep: Mapping[str, Any] | None
) -> tuple[dict[str, Variant], dict[str, Any] | None]:
    """Crosses every variant with each swept value; returns them and the report's record."""
    if not sweep:
        return variants, None
    bases = {name: v.replace(label=name, spec=name) for name, v in variants.items()}
    swept = expand_sweep(bases, sweep)
    fields: dict[str, list[Any]] = {}
    for spec in swept.values():
        for field, value in spec.swept:
            values = fields.setdefault(field, [])
            if value not in values:
                values.append(value)
    record = {
        "fields": fields,
        "variants": {
            name: {"base": spec.base, "values": dict(spec.swept)} for name, spec in swept.items()
        },
    }
    return swept, record


# ---------------------------------------------------------------------------- checks


def default_augment(dataset: str) -> dict[str, Any]:
    """The augmentation `augment=True` means for `dataset`, as `Augment` keyword arguments.

    Digit-like datasets get small rotations, shifts and zooms filled with the black
    background (a mirrored digit is another symbol); others get seed 000's
    ImageDataGenerator settings (flip, 15 degree rotation, 10% shifts, nearest fill).

    Example:
        >>> default_augment("digits")["flip"]
        False
    """
    digit_like = dataset.split("/")[0].lower() in _NO_FLIP_DATASETS
    return dict(AUGMENT_RECIPES["rotate-shift-zoom" if digit_like else "flip-rotate-shift"])


def _coerce_augment(augment: Any, dataset_name: str) -> Any:
    if augment is True:
        return Augment(**default_augment(dataset_name))
    aug = Augment.coerce(augment)
    return aug if aug is not None and aug.active else None


def _apply_bn_momentum(
    variants: dict[str, Variant], bn_momentum: Any, steps: int | None, *, always: bool = False
) -> tuple[dict[str, Variant], str | None]:
    """Overrides the BatchNorm momentum of every variant that uses BatchNorm.

    `"auto"`: `regkit.auto_bn_momentum` for each variant (0.9 where the momentum would
    average BN statistics over more steps than an epoch has). `always`: the model has
    BatchNorm in every variant (the ResNet), so every variant counts as using it.
    """
    if bn_momentum is None:
        return variants, None
    uses_bn = {
        n for n, v in variants.items() if always or v.reg.batch_norm or v.reg.head_batch_norm
    }
    changed: dict[str, Any]
    note: str | None
    if bn_momentum == "auto":
        changed = {}
        for name in uses_bn:
            momentum = variants[name].reg.bn_momentum
            if auto_bn_momentum(momentum, steps) != momentum:
                changed[name] = momentum
        if not changed:
            return variants, None
        old = ", ".join(sorted({f"{m:g}" for m in changed.values()}))
        note = (
            f"auto: {old} -> {AUTO_BN_MOMENTUM:g} for {', '.join(sorted(changed))} "
            f"({steps} steps per epoch)"
        )
        target = AUTO_BN_MOMENTUM
    else:
        if isinstance(bn_momentum, bool) or not isinstance(bn_momentum, (int, float)):
            raise invalid("bn_momentum", "None, 'auto' or a float in [0, 1)", bn_momentum)
        if not 0.0 <= bn_momentum < 1.0:
            raise invalid("bn_momentum", "None, 'auto' or a float in [0, 1)", bn_momentum)
        changed = dict.fromkeys(uses_bn)
        note = f"{bn_momentum:g}" if changed else None
        target = float(bn_momentum)
    out = {
        name: dataclasses.replace(v, reg=v.reg.replace(bn_momentum=target))
        if name in changed
        else v
        for name, v in variants.items()
    }
    return out, note


def _coerce_image_size(image_size: Any) -> tuple[int, int] | None:
    if image_size is None:
        return None
    if isinstance(image_size, int) and not isinstance(image_size, bool):
        image_size = (image_size, image_size)
    if (
        not isinstance(image_size, (tuple, list))
        or len(image_size) != 2
        or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in image_size)
    ):
        raise invalid("image_size", "None, an int > 0 or a (height, width) pair", image_size)
    return (int(image_size[0]), int(image_size[1]))


def _model_label(model: Any) -> str:
    if isinstance(model, str):
        return model
    return getattr(model, "__qualname__", None) or type(model).__name__


def _check_out_dir(out_dir: str | os.PathLike[str]) -> Path:
    path = Path(out_dir).expanduser()
    if path.exists() and not path.is_dir():
        raise invalid("out_dir", "a directory (a file is in the way)", str(path))
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".regkit-write-test-"):
            pass
    except OSError as exc:
        raise invalid(
            "out_dir", f"a writable directory ({exc.strerror or exc})", str(path)
        ) from exc
    return path


# ---------------------------------------------------------------------------- the plan
def _check_callbacks(value: Any) -> list[Any]:
    """`compare`'s extra callbacks: None or a list of `keras.callbacks.Callback`."""
    callbacks = check_optional_list("callbacks", value, of="keras.callbacks.Callback") or []
    if callbacks:
        import keras

        check_items(
            "callbacks",
            callbacks,
            lambda c: isinstance(c, keras.callbacks.Callback),
            "keras.callbacks.Callback",
        )
    return callbacks


def plan_comparison(variants: Any, **settings: Any) -> Plan:
    """Validates every argument of `compare` and loads the data; trains nothing.

    Args:
        variants: As `compare`'s `variants`.
        **settings: `compare`'s keyword arguments (the fields of `StudyConfig`); missing
            ones take `compare`'s defaults.

    Returns:
        The `Plan` that `run_comparison` runs.

    Raises:
        ValueError: as `compare` documents (a bad value, an unknown name, an unwritable
            `out_dir`), all before any training.
        TypeError: an argument has the wrong type, or an unknown keyword is given.

    Example:
        >>> plan = plan_comparison(["baseline"], epochs=2, limit=64)  # doctest: +SKIP
        >>> plan.config["epochs"]  # doctest: +SKIP
        2
    """
    unknown = sorted(set(settings) - set(StudyConfig.names()))
    if unknown:
        raise TypeError(
            f"plan_comparison() got unexpected keyword arguments: {', '.join(unknown)}. "
            f"Expected among: {', '.join(StudyConfig.names())}"
        )
    return plan_study(variants, StudyConfig(**settings))


def plan_study(variants: Any, s: StudyConfig) -> Plan:
    """`plan_comparison` for a `StudyConfig` already made (as `compare` makes it).

    Raises:
        ValueError: as `plan_comparison`.
        TypeError: as `plan_comparison`.
    """
    plan_variants, sweep_record = _apply_sweep(coerce_variants(variants), s.sweep)
    checked = {name: s.checked(name) for name in StudyConfig.names()}  # each field's own check
    design = _design(checked)
    tune = coerce_tune(s.tune)
    jobs, executor = _check_parallel(s)
    model = s.model
    if isinstance(model, str):
        if model not in MODELS:
            raise ValueError(
                f"Invalid value for argument `model`: unknown model {model!r}. Expected one "
                f"of: {', '.join(MODELS)}, or a callable (input_shape, num_classes, reg=...)"
            )
    elif not callable(model):
        raise TypeError(
            "Invalid type for argument `model`: expected a model name or a callable "
            f"(input_shape, num_classes, reg=...) -> keras.Model. Received: model={model!r}"
        )
    kwargs = check_kwargs("model_kwargs", s.model_kwargs)
    if "reg" in kwargs:
        raise invalid("model_kwargs", "no `reg` (each variant supplies its own)", kwargs)
    _check_optimizers([s.optimizer, *(v.optimizer for v in plan_variants.values() if v.optimizer)])

    check_before_loading(s, plan_variants, checked)  # types, the folder, its runs: no data yet
    splits, dataset_name = _load_splits(s, checked)
    if checked["limit"] is not None:
        take = getattr(splits, "take", None)
        if not callable(take):
            raise invalid("limit", "None for a dataset without `take` (not DatasetSplits)", s.limit)
        splits = take(checked["limit"])
    aug = _coerce_augment(s.augment, dataset_name)
    for name, variant in plan_variants.items():
        try:
            variant.augment_for(aug)  # the merged fields are a valid Augment
        except (TypeError, ValueError) as exc:
            raise ValueError(f"Invalid value for argument `variants`: {name!r}: {exc}") from None

    size, input_shape = _input_shape(s, model, splits, dataset_name)
    train_size = (getattr(splits, "num_examples", None) or {}).get("train")
    steps = math.ceil(train_size / checked["batch_size"]) if train_size else None
    plan_variants, momentum_note = _apply_bn_momentum(
        plan_variants,
        s.bn_momentum,
        steps,
        always=isinstance(model, str) and model in ALWAYS_BATCH_NORM,
    )

    path = _check_out_dir(s.out_dir) if s.out_dir is not None else None
    plots = s.plots
    if plots and path is not None and importlib.util.find_spec("matplotlib") is None:
        warnings.warn(
            "matplotlib is not installed, so compare will write no plots "
            "(pip install 'regkit-keras[plots]'; Report.plot can draw them later).",
            stacklevel=3,
        )
        plots = False

    callbacks = _check_callbacks(s.callbacks)
    _check_tensorboard(checked["tensorboard"], callbacks)
    model_input = _model_input(model, kwargs, splits)
    build_kwargs = dict(kwargs)
    if model_input["rescaling"]:  # the model takes the data set's own uint8 images
        build_kwargs["include_preprocessing"] = True
    strategy = _coerce_strategy(s.strategy)
    resolved = {
        "model_kwargs": kwargs,
        "augment": aug,
        "image_size": size,
        "out_dir": path,
        "plots": plots,
        "callbacks": callbacks,
        "strategy": strategy,
        "jobs": jobs,
        "executor": executor,
    }
    study = dataclasses.replace(s, **{**checked, **resolved})
    config: dict[str, Any] = {
        "model": _model_label(model),
        "model_kwargs": jsonable(kwargs),
        "dataset": dataset_name,
        "num_classes": int(splits.num_classes),
        "image_shape": list(splits.image_shape),
        "image_size": None if size is None else list(size),
        "input_shape": list(input_shape),
        "model_input": model_input,
        "augment": None if aug is None else jsonable(aug.to_dict()),
        "steps_per_epoch": steps,
        "bn_momentum": momentum_note,
        "sweep": sweep_record,
        "best_epoch_monitor": "val_loss",
        "command": " ".join(sys.argv) if sys.argv and sys.argv[0] else None,
        "strategy": type(strategy).__name__,
        "replicas": int(strategy.num_replicas_in_sync),
    }
    config["design"] = design
    if tune:
        config["tune"] = jsonable(tune)
    # every setting that changes the figures, as checked (the seeds too, for the report)
    for name in (*StudyConfig.invalidating(), "seeds"):
        if name not in config:  # (the data set, given as objects, is recorded by its name)
            config[name] = jsonable(getattr(study, name))
    skipped = getattr(splits, "skipped", None)
    if skipped:  # an image folder's unreadable images left out: the report's notes count them
        config["skipped_images"] = [str(p) for p in skipped]
    return Plan(
        study=study,
        variants=plan_variants,
        splits=splits,
        dataset_name=dataset_name,
        input_shape=input_shape,
        build_kwargs=build_kwargs,
        config=config,
    )


def _design(checked: Mapping[str, Any]) -> dict[str, Any]:
    """The study's design as report.json records it: the error rate and margin of the
    verdicts, and for adaptive seeds (`max_seeds`) the seed counts it looks at and every
    seed it may use (the given ones, then the next ones above the largest given, up to
    `max_seeds`: a confirmation on fresh seeds 6, 7, 8 after a pilot on 0-5 never falls
    back to the pilot's)."""
    seeds, most = list(checked["seeds"]), checked["max_seeds"]
    design = {"alpha": checked["alpha"], "margin": checked["margin"], "max_seeds": most}
    if most is None:
        return {**design, "looks": None, "seeds": seeds}
    if len(seeds) < 2:
        raise invalid("seeds", "at least 2 seeds to start adaptive seeds (max_seeds)", seeds)
    if most < len(seeds):
        raise invalid("max_seeds", f"at least as many as the {len(seeds)} seeds given", most)
    seeds += list(range(max(seeds) + 1, max(seeds) + 1 + most - len(seeds)))
    return {**design, "looks": list(plan_looks(len(checked["seeds"]), most)), "seeds": seeds}


def _input_shape(
    s: StudyConfig, model: Any, splits: Any, dataset_name: str
) -> tuple[tuple[int, int] | None, tuple[int, ...]]:
    """The size images are resized to (None: kept) and the models' input shape: the given
    `image_size`, else the images' own size, raised to a named model's minimum."""
    size = _coerce_image_size(s.image_size)
    raw_height, raw_width, raw_channels = splits.image_shape
    if raw_channels is None:
        raise invalid("dataset", "images with a known number of channels", dataset_name)
    if size is None:
        if raw_height is None or raw_width is None:
            raise invalid(
                "image_size",
                f"a size for {dataset_name}, whose images vary in size (e.g. image_size=160)",
                s.image_size,
            )
        height_width = (raw_height, raw_width)
        min_size = _MIN_IMAGE_SIZE.get(model) if isinstance(model, str) else None
        if min_size and min(height_width) < min_size:  # resize only where the model needs it
            size = (max(raw_height, min_size), max(raw_width, min_size))
            height_width = size
    else:
        height_width = size
    return size, (*height_width, int(raw_channels))


def _model_input(model: Any, kwargs: Mapping[str, Any], splits: Any) -> dict[str, Any]:
    """What the study's models take: a named builder gets `include_preprocessing=True`
    (``Rescaling(1/255)`` inside the model) where the data set's images are uint8 0-255,
    so a saved model answers `load_dataset(...)`'s own images; the report records it."""
    spec = getattr(getattr(splits, "train", None), "element_spec", None)
    image_spec = spec[0] if isinstance(spec, tuple) and spec else None
    dtype = getattr(getattr(image_spec, "dtype", None), "name", None)
    rescaling = (
        isinstance(model, str) and dtype == "uint8" and "include_preprocessing" not in kwargs
    )
    inside = rescaling or bool(kwargs.get("include_preprocessing"))
    return {
        "dtype": dtype or "unknown",
        "value_range": [0, 255] if inside else [0, 1],
        "rescaling": rescaling,
    }


def _check_tensorboard(tensorboard: bool, callbacks: list[Any]) -> None:
    """`tensorboard=True` needs the `tensorboard` package; so does a user's own
    `keras.callbacks.TensorBoard` among `callbacks`. (Without `out_dir` the logs go to the
    temporary run folders, as a parallel worker's plan has it.)"""
    if not tensorboard and not callbacks:
        return
    from regkit.callbacks.tensorboard import require_tensorboard  # defers Keras (heavy)

    require_tensorboard(None if tensorboard else callbacks)


def _check_parallel(s: StudyConfig) -> tuple[int, Any]:
    """`jobs` and `executor`: runs in other processes need plain-data inputs."""
    from concurrent.futures import Executor

    jobs = check_positive_int("jobs", s.jobs)
    executor = s.executor
    if executor is not None and not isinstance(executor, Executor):
        raise TypeError(
            "Invalid type for argument `executor`: expected a concurrent.futures.Executor "
            "(e.g. ProcessPoolExecutor, or a Dask client's get_executor()) or None. "
            f"Received: executor={executor!r} of type {type(executor).__name__}"
        )
    if executor is not None and jobs != 1:
        raise invalid("jobs", "1 when an executor is given (it decides how many run at once)", jobs)
    if jobs == 1 and executor is None:
        return jobs, executor
    arg, value = ("jobs", jobs) if executor is None else ("executor", executor)
    if not isinstance(s.dataset, (str, os.PathLike)):
        raise invalid(
            arg,
            "no parallel runs for a DatasetSplits object (each worker loads "
            "the data itself: pass a data set name or folder)",
            value,
        )
    if s.callbacks:
        raise invalid(
            arg, "no parallel runs with extra `callbacks` (they live in this process)", value
        )
    if s.strategy is not None:
        raise invalid(
            arg,
            "no parallel runs with a `strategy` (each worker uses "
            "regkit.device.strategy() on its own devices)",
            value,
        )
    return jobs, executor


def _check_optimizers(names: Sequence[Any]) -> None:
    from regkit.training import OPTIMIZERS  # defers Keras (heavy)

    for opt_name in names:
        if not isinstance(opt_name, str):
            raise TypeError(
                "Invalid type for argument `optimizer`: expected an optimizer name (str). "
                f"Received: optimizer={opt_name!r} of type {type(opt_name).__name__}"
            )
        if opt_name.lower() not in OPTIMIZERS:
            raise ValueError(
                f"Invalid value for argument `optimizer`: unknown optimizer {opt_name!r}. "
                f"Expected one of: {', '.join(OPTIMIZERS)}"
            )


def _is_array_pair(dataset: Any) -> bool:
    """`((x_train, y_train), (x_test, y_test))`, as `keras.datasets.*.load_data()` returns."""
    return (
        isinstance(dataset, (tuple, list))
        and len(dataset) == 2
        and all(isinstance(part, (tuple, list)) and len(part) == 2 for part in dataset)
    )


def _load_splits(s: StudyConfig, checked: Mapping[str, Any]) -> tuple[Any, str]:
    # defers the data loaders (NumPy, tfds: heavy) until data is loaded
    from regkit.data.datasets import load_dataset
    from regkit.data.folders import is_image_folder
    from regkit.data.splits import DatasetSplits

    dataset = s.dataset
    if isinstance(dataset, (str, os.PathLike)):  # a name, or a folder of class subfolders
        name = os.fspath(dataset)
        # A folder's images may vary in size: load_dataset needs the size to resize them to.
        folder = (
            {"image_size": s.image_size, "bad_images": checked["bad_images"]}
            if is_image_folder(dataset)
            else {}
        )
        splits = load_dataset(name, data_dir=s.data_dir, download=s.download, **folder)
    elif _is_array_pair(dataset):
        splits = DatasetSplits.from_arrays(dataset, name="arrays")
        name = "arrays"
    elif all(hasattr(dataset, a) for a in ("train", "validation", "test", "num_classes")):
        splits = dataset
        name = getattr(dataset, "name", None) or "custom data"
    else:
        raise TypeError(
            "Invalid type for argument `dataset`: expected a dataset name, an image folder, "
            "a regkit.data.DatasetSplits or ((x_train, y_train), (x_test, y_test)). "
            f"Received: dataset={dataset!r}"
        )
    if splits.validation is None:
        raise invalid(
            "dataset",
            "splits with a validation split (the best epoch is chosen on it)",
            f"{name} without one",
        )
    return splits, name


def _coerce_strategy(strategy: Any) -> Any:
    """`strategy` or, for None, `regkit.device.strategy()` (Mirrored on several GPUs)."""
    import tensorflow as tf

    if strategy is None:
        return default_strategy()
    if not isinstance(strategy, tf.distribute.Strategy):
        raise TypeError(
            "Invalid type for argument `strategy`: expected a tf.distribute.Strategy or None. "
            f"Received: strategy={strategy!r} of type {type(strategy).__name__}"
        )
    return strategy
