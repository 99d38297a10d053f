"""`StudyConfig`: every study setting, once (the bottom of the experiments chain).

Each field of `StudyConfig` is one keyword argument of `compare`, with its default, and
its metadata says the rest about it:

- ``help``: the one-line help the command line and docs show;
- ``flag``: the `regkit compare` option that sets it (None: Python only);
- ``in_file``: whether a study file (TOML) may hold it as a top-level key;
- ``invalidates``: whether a change to it changes a run's figures, so that a study
  folder's finished runs with another value are refused rather than reused;
- ``check``: the check `plan_comparison` applies to it (None: checked there by hand,
  because the value needs the data set or other settings).

Adding a study setting is one field here plus its tests: `compare`'s signature test,
the study-file keys, the command line's option list and the ledger's settings read it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from regkit._checks import (
    check_bool,
    check_bounded_int,
    check_choice,
    check_positive_float,
    check_positive_int,
    invalid,
)

#: Limits no real study reaches, refused up front instead of failing hours later.
MAX_EPOCHS = 100_000
MAX_BATCH_SIZE = 2**24
MAX_SEEDS = 10_000
MAX_SEED = 2**32 - 1  # NumPy's and Keras' seeds are 32-bit


def _seeds(name: str, seeds: Any) -> tuple[int, ...]:
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        seeds = (seeds,)
    if isinstance(seeds, str) or not isinstance(seeds, Iterable):
        raise invalid(name, "a non-empty sequence of ints", seeds)
    seeds = tuple(seeds)
    if not seeds:
        raise invalid(name, "a non-empty sequence of ints", seeds)
    if len(seeds) > MAX_SEEDS:
        raise invalid(name, f"at most {MAX_SEEDS:,} seeds", f"{len(seeds):,} seeds")
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            raise invalid(name, f"ints in [0, {MAX_SEED}]", seeds)
    if len(set(seeds)) != len(seeds):
        raise invalid(name, "distinct seeds", seeds)
    return tuple(int(s) for s in seeds)


def _epochs(name: str, value: Any) -> int:
    return check_bounded_int(name, value, maximum=MAX_EPOCHS)


def _batch_size(name: str, value: Any) -> int:
    return check_bounded_int(name, value, maximum=MAX_BATCH_SIZE)


__all__ = ["BAD_IMAGES", "MODELS", "ON_ERROR", "StudyConfig", "about"]

#: Model names `compare(model=...)` and `regkit compare --model` accept.
MODELS: tuple[str, ...] = ("cnn", "mobilenet_v2", "resnet")
#: Models whose BatchNorm is part of the architecture, whatever `reg.batch_norm` says.
ALWAYS_BATCH_NORM: frozenset[str] = frozenset({"resnet"})
#: What `compare(bad_images=...)` accepts (image folders only).
BAD_IMAGES: tuple[str, ...] = ("raise", "skip")
#: What `compare(on_error=...)` accepts.
ON_ERROR: tuple[str, ...] = ("raise", "record")


def _optional_positive_int(name: str, value: Any) -> Any:
    return None if value is None else check_positive_int(name, value)


def about(
    help: str,
    *,
    flag: str | None = None,
    in_file: bool = True,
    invalidates: bool = False,
    check: Callable[[str, Any], Any] | None = None,
) -> dict[str, Any]:
    """A `StudyConfig` field's metadata: what the rest of regkit reads about it.

    Args:
        help: One line of help.
        flag: The command-line option, e.g. ``"--epochs"``; None when there is none.
        in_file: Whether a study file may set it.
        invalidates: Whether finished runs with another value must not be reused.
        check: ``check(name, value) -> value`` for a value that needs nothing else.

    Returns:
        The metadata mapping for `dataclasses.field(default=..., metadata=...)`.
    """
    return {
        "help": help,
        "flag": flag,
        "in_file": in_file,
        "invalidates": invalidates,
        "check": check,
    }


@dataclasses.dataclass(frozen=True)
class StudyConfig:
    """`compare`'s keyword arguments as given, with their defaults (see `compare`).

    The one list of study settings: `compare` passes its arguments here, the command
    line and study files pass theirs, and `plan_comparison` checks them.

    Example:
        >>> StudyConfig().epochs
        15
        >>> "epochs" in StudyConfig.file_keys()
        True
    """

    model: str | Callable[..., Any] = dataclasses.field(
        default="cnn",
        metadata=about(
            "model: cnn, mobilenet_v2, resnet or a builder callable",
            flag="--model",
            invalidates=True,
        ),
    )
    dataset: Any = dataclasses.field(
        default="digits",
        metadata=about(
            "data set name, image folder, DatasetSplits or ((x_train, y_train), (x_test, y_test))",
            flag="--dataset",
            invalidates=True,
        ),
    )
    epochs: int = dataclasses.field(
        default=15,
        metadata=about("maximum epochs per run", flag="--epochs", invalidates=True, check=_epochs),
    )
    batch_size: int = dataclasses.field(
        default=32,
        metadata=about("batch size", flag="--batch-size", invalidates=True, check=_batch_size),
    )
    seeds: Sequence[int] | int = dataclasses.field(
        default=(0,),
        metadata=about("the seeds; every variant runs once per seed", flag="--seeds", check=_seeds),
    )
    augment: Any = dataclasses.field(
        default=None,
        metadata=about(
            "augmentation: True, a preset, an Augment or its fields",
            flag="--augment",
            invalidates=True,
        ),
    )
    out_dir: str | os.PathLike[str] | None = dataclasses.field(
        default=None,
        metadata=about("study folder (the ledger of runs); None keeps nothing", flag="--out"),
    )
    learning_rate: float = dataclasses.field(
        default=1e-3,
        metadata=about(
            "learning rate of variants without their own",
            flag="--learning-rate",
            invalidates=True,
            check=check_positive_float,
        ),
    )
    optimizer: str = dataclasses.field(
        default="adam",
        metadata=about(
            "Keras optimizer name of variants without their own",
            flag="--optimizer",
            invalidates=True,
        ),
    )
    model_kwargs: Mapping[str, Any] | None = dataclasses.field(
        default=None,
        metadata=about("extra keyword arguments for the model builder", invalidates=True),
    )
    image_size: int | tuple[int, int] | None = dataclasses.field(
        default=None,
        metadata=about("resize images to this size", flag="--image-size", invalidates=True),
    )
    data_dir: str | os.PathLike[str] | None = dataclasses.field(
        default=None, metadata=about("where data sets are read and cached", flag="--data-dir")
    )
    download: bool | None = dataclasses.field(
        default=None,
        metadata=about("None: CIFAR only; True: also tfds sets; False: never", flag="--download"),
    )
    limit: int | None = dataclasses.field(
        default=None,
        metadata=about(
            "at most this many examples per split",
            flag="--limit",
            invalidates=True,
            check=_optional_positive_int,
        ),
    )
    patience: int = dataclasses.field(
        default=7,
        metadata=about(
            "early-stopping patience in epochs",
            flag="--patience",
            invalidates=True,
            check=_epochs,
        ),
    )
    bn_momentum: float | str | None = dataclasses.field(
        default="auto",
        metadata=about(
            "BatchNorm momentum: auto, none or a float", flag="--bn-momentum", invalidates=True
        ),
    )
    run_eagerly: bool = dataclasses.field(
        default=False,
        metadata=about(
            "train without tf.function (debugging)", flag="--run-eagerly", check=check_bool
        ),
    )
    callbacks: Sequence[Any] | None = dataclasses.field(
        default=None, metadata=about("extra Keras callbacks for every run", in_file=False)
    )
    verbose: int | str = dataclasses.field(
        default=2,
        metadata=about("2: a line per epoch; 1: progress bar; 0: silent", flag="--verbose"),
    )
    on_error: str = dataclasses.field(
        default="raise",
        metadata=about(
            "raise: stop at a failed run; record: report it and go on",
            flag=None,
            in_file=False,
        ),
    )
    plots: bool = dataclasses.field(
        default=True, metadata=about("draw the plots into out_dir", flag="--no-plots")
    )
    strategy: Any = dataclasses.field(
        default=None, metadata=about("tf.distribute.Strategy to build under", in_file=False)
    )
    sweep: Mapping[str, Any] | None = dataclasses.field(
        default=None,
        metadata=about("{field: values} crosses every variant with each value", flag="--sweep"),
    )
    restart: bool = dataclasses.field(
        default=False,
        metadata=about(
            "discard out_dir's earlier runs", flag="--restart", in_file=False, check=check_bool
        ),
    )
    jobs: int = dataclasses.field(
        default=1,
        metadata=about("runs trained at once, each in a worker", flag="--jobs", in_file=False),
    )
    executor: Any = dataclasses.field(
        default=None, metadata=about("a concurrent.futures.Executor to run on", in_file=False)
    )
    tensorboard: bool = dataclasses.field(
        default=False,
        metadata=about(
            "log each run to TensorBoard in <run folder>/tensorboard",
            flag="--tensorboard",
            check=check_bool,
        ),
    )
    bad_images: str = dataclasses.field(
        default="raise",
        metadata=about(
            "an image folder's unreadable images: raise stops, skip leaves them out",
            flag="--bad-images",
            invalidates=True,  # skipping images changes the data, hence the figures
            check=lambda name, value: check_choice(name, value, BAD_IMAGES),
        ),
    )

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The setting names, in `compare`'s signature order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def file_keys(cls) -> tuple[str, ...]:
        """The settings a study file may hold (besides `variants`)."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.metadata["in_file"])

    @classmethod
    def invalidating(cls) -> tuple[str, ...]:
        """The settings whose change makes a study folder's finished runs stale."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.metadata["invalidates"])

    @classmethod
    def field_help(cls) -> dict[str, str]:
        """Setting name -> its one-line help."""
        return {f.name: f.metadata["help"] for f in dataclasses.fields(cls)}

    @classmethod
    def flags(cls) -> dict[str, str]:
        """Setting name -> its command-line option, for the settings that have one."""
        return {f.name: f.metadata["flag"] for f in dataclasses.fields(cls) if f.metadata["flag"]}

    def checked(self, name: str) -> Any:
        """The value of setting `name` after its own check (as given if it has none).

        Raises:
            ValueError: the value fails the check.
            TypeError: the value has the wrong type.
        """
        field = next(f for f in dataclasses.fields(self) if f.name == name)
        check = field.metadata["check"]
        value = getattr(self, name)
        return value if check is None else check(name, value)
