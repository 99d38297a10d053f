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
import math
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
from regkit.data.augment import AUGMENT_FIELDS, AUGMENT_PRESETS
from regkit.data.splits import check_limit
from regkit.device.precision import PRECISIONS, resolve_precision

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


__all__ = ["BAD_IMAGES", "MODELS", "ON_ERROR", "StudyConfig", "about", "skipped_images_note"]

#: Model names `compare(model=...)` and `regkit compare --model` accept.
MODELS: tuple[str, ...] = ("cnn", "mobilenet_v2", "resnet")
#: Models whose BatchNorm is part of the architecture, whatever `reg.batch_norm` says.
ALWAYS_BATCH_NORM: frozenset[str] = frozenset({"resnet"})
#: What `compare(bad_images=...)` accepts (image folders only).
BAD_IMAGES: tuple[str, ...] = ("raise", "skip")
#: What `compare(on_error=...)` accepts.
ON_ERROR: tuple[str, ...] = ("raise", "record")


def skipped_images_note(skipped: Sequence[Any]) -> str:
    """The report's note on the images `bad_images="skip"` left out (the first three named).

    Example:
        >>> skipped_images_note(["a/broken.png"])
        "1 unreadable image skipped (bad_images='skip'): a/broken.png."
    """
    shown = ", ".join(str(path) for path in skipped[:3])
    more = f" and {len(skipped) - 3} more" if len(skipped) > 3 else ""
    plural = "s" if len(skipped) != 1 else ""
    return f"{len(skipped)} unreadable image{plural} skipped (bad_images='skip'): {shown}{more}."


def _precision(name: str, value: Any) -> str:
    """The dtype policy `precision` resolves to on this machine ("auto" by
    `regkit.device.resolve_precision`'s rule): what runs use and the ledger records."""
    return resolve_precision(check_choice(name, value, PRECISIONS))


def _max_seeds(name: str, value: Any) -> int | None:
    return None if value is None else check_bounded_int(name, value, maximum=MAX_SEEDS)


#: Wall-time units `budget` accepts.
_TIME_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}


def _budget(name: str, value: Any) -> int | float | None:
    """None, a run count (int >= 1), or a wall time in seconds (a float, from text such
    as '90m', '2h' or '45s')."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return check_bounded_int(name, value, maximum=MAX_SEEDS * 10_000)
    if isinstance(value, str):
        text = value.strip().lower()
        if text.isdigit():
            return check_bounded_int(name, int(text), maximum=MAX_SEEDS * 10_000)
        unit = _TIME_UNITS.get(text[-1:])
        try:
            amount = float(text[:-1]) if unit else math.nan
        except ValueError:
            amount = math.nan
        if unit and math.isfinite(amount) and amount > 0:
            return amount * unit
    raise invalid(name, "None, a run count (int >= 1) or a time such as '90m', '2h', '45s'", value)


def _margin(name: str, value: Any) -> float | None:
    if value is None:
        return None
    margin = check_positive_float(name, value)
    if margin >= 1.0:
        raise invalid(name, "None or a fraction of accuracy in (0, 1), e.g. 0.005", value)
    return margin


def _alpha(name: str, value: Any) -> float:
    level = check_positive_float(name, value)
    if not level < 0.5:
        raise invalid(name, "a float in (0, 0.5)", value)
    return level


def _optional_positive_int(name: str, value: Any) -> Any:
    return None if value is None else check_positive_int(name, value)


def _limit(name: str, value: Any) -> Any:
    if value is None or not isinstance(value, Mapping):
        return _optional_positive_int(name, value)
    return check_limit(name, value)


def about(
    help: str,
    *,
    flag: str | None = None,
    in_file: bool = True,
    invalidates: bool = False,
    check: Callable[[str, Any], Any] | None = None,
    worker: bool = True,
    cli: Mapping[str, Any] | None = None,
    absent: Any = dataclasses.MISSING,
    file_types: tuple[type, ...] | None = None,
    resolved: bool = False,
) -> dict[str, Any]:
    """A `StudyConfig` field's metadata: what the rest of regkit reads about it.

    Args:
        help: One line of help.
        flag: The command-line option, e.g. ``"--epochs"``; None when there is none.
        in_file: Whether a study file may set it.
        invalidates: Whether finished runs with another value must not be reused.
        check: ``check(name, value) -> value`` for a value that needs nothing else.
        worker: Whether a parallel run's worker receives it (False: the parent process
            keeps it, e.g. the seeds, the study folder, objects of the parent's process).
        cli: How the command line parses it, as argparse keywords beyond the help and
            default: ``type`` names a parser of `regkit.cli` (``"positive_int"``,
            ``"positive_float"``, ``"seeds"``, ``"augment"``, ``"sweep"``,
            ``"bn_momentum"``, ``"path"``), ``detail`` is help the command line adds,
            ``help`` replaces the field's own where its Python wording does not fit the
            flag, and ``value`` is the value the command line uses for a setting it has
            no flag for.
        absent: What a run folder written before the setting existed counts it as (the
            field's default when not given): `precision` counts as float32 there, whatever
            the default becomes.
        file_types: The TOML types a study file may give it (None: any; its check
            decides).
        resolved: Whether its recorded value is only known once the data set is loaded
            (a name resolved against the data, a size raised to the model's minimum), so a
            study folder's runs are compared on it after loading rather than before.

    Returns:
        The metadata mapping for `dataclasses.field(default=..., metadata=...)`.
    """
    return {
        "help": help,
        "flag": flag,
        "in_file": in_file,
        "invalidates": invalidates,
        "check": check,
        "worker": worker,
        "cli": dict(cli or {}),
        "absent": absent,
        "file_types": file_types,
        "resolved": resolved,
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
            cli={"choices": MODELS, "help": "architecture"},
            file_types=(str,),
            resolved=True,
        ),
    )
    dataset: Any = dataclasses.field(
        default="digits",
        metadata=about(
            "data set name, image folder, DatasetSplits or ((x_train, y_train), (x_test, y_test))",
            flag="--dataset",
            invalidates=True,
            cli={
                "metavar": "NAME",
                "help": "data set",
                "detail": "digits (embedded), fashion_mnist, mnist, cifar10, cifar100, a tfds "
                "name such as imagenette/160px, or an image folder (one subfolder per class)",
            },
            file_types=(str,),
            resolved=True,
        ),
    )
    epochs: int = dataclasses.field(
        default=15,
        metadata=about(
            "maximum epochs per run",
            flag="--epochs",
            invalidates=True,
            check=_epochs,
            cli={"type": "positive_int", "metavar": "N"},
        ),
    )
    batch_size: int = dataclasses.field(
        default=32,
        metadata=about(
            "batch size",
            flag="--batch-size",
            invalidates=True,
            check=_batch_size,
            cli={"type": "positive_int", "metavar": "N"},
        ),
    )
    seeds: Sequence[int] | int = dataclasses.field(
        default=(0,),
        metadata=about(
            "the seeds; every variant runs once per seed",
            flag="--seeds",
            check=_seeds,
            worker=False,  # a worker runs one seed
            cli={"type": "seeds", "metavar": "LIST", "detail": "comma-separated, e.g. 0,1,2"},
        ),
    )
    augment: Any = dataclasses.field(
        default=None,
        metadata=about(
            "augmentation: True, a preset, an Augment or its fields",
            flag="--augment",
            invalidates=True,
            cli={
                "nargs": "?",
                "const": True,
                "type": "augment",
                "metavar": "SPEC",
                "detail": "alone, a default suited to the dataset; or a preset "
                f"({', '.join(AUGMENT_PRESETS)}); or a spec such as "
                "'flip,rotation=15,translate=0.1' "
                f"(keys: {', '.join(AUGMENT_FIELDS)})",
            },
            file_types=(str, bool, dict),
            resolved=True,
        ),
    )
    out_dir: str | os.PathLike[str] | None = dataclasses.field(
        default=None,
        metadata=about(
            "study folder (the ledger of runs); None keeps nothing",
            flag="--out",
            worker=False,  # the parent keeps the ledger
            cli={
                "type": "path",
                "metavar": "DIR",
                "help": "study folder (the ledger of runs)",
                "detail": "default: runs/<dataset>-<model>-<hash of the settings and "
                "variants>, which the same command finds again",
            },
            file_types=(str,),
        ),
    )
    learning_rate: float = dataclasses.field(
        default=1e-3,
        metadata=about(
            "learning rate of variants without their own",
            flag="--learning-rate",
            invalidates=True,
            check=check_positive_float,
            cli={"type": "positive_float", "metavar": "LR"},
        ),
    )
    optimizer: str = dataclasses.field(
        default="adam",
        metadata=about(
            "Keras optimizer name of variants without their own",
            flag="--optimizer",
            invalidates=True,
            file_types=(str,),
        ),
    )
    model_kwargs: Mapping[str, Any] | None = dataclasses.field(
        default=None,
        metadata=about(
            "extra keyword arguments for the model builder",
            flag="--model-kwargs",
            invalidates=True,
            cli={
                "type": "model_kwargs",
                "metavar": "KEY=VALUE,...",
                "detail": "e.g. --model resnet --model-kwargs depth=32,width=32",
            },
            file_types=(dict,),
            resolved=True,
        ),
    )
    image_size: int | tuple[int, int] | None = dataclasses.field(
        default=None,
        metadata=about(
            "resize images to this size",
            flag="--image-size",
            invalidates=True,
            cli={
                "type": "positive_int",
                "metavar": "N",
                "detail": "NxN, needed for sets whose images vary in size, e.g. "
                "imagenette/160px: --image-size 160",
            },
            file_types=(int, list),
            resolved=True,
        ),
    )
    data_dir: str | os.PathLike[str] | None = dataclasses.field(
        default=None,
        metadata=about(
            "where data sets are read and cached",
            flag="--data-dir",
            cli={"metavar": "DIR"},
            file_types=(str,),
        ),
    )
    download: bool | None = dataclasses.field(
        default=None,
        metadata=about(
            "None: CIFAR only; True: also tfds sets; False: never",
            flag="--download",
            cli={
                "help": "let tensorflow-datasets download and prepare a missing set (CIFAR "
                "is downloaded when absent anyway)"
            },
            file_types=(bool,),
        ),
    )
    limit: int | Mapping[str, int] | None = dataclasses.field(
        default=None,
        metadata=about(
            "at most this many examples per split; {split: N} caps only the splits named "
            "(train=2000: a small training set, whole validation and test sets)",
            flag="--limit",
            invalidates=True,
            check=_limit,
            cli={
                "type": "limit",
                "metavar": "N|SPLIT=N,...",
                "detail": "quick trials, or train=N for the regime where models overfit",
            },
            file_types=(int, dict),
        ),
    )
    patience: int = dataclasses.field(
        default=7,
        metadata=about(
            "early-stopping patience in epochs",
            flag="--patience",
            invalidates=True,
            check=_epochs,
            cli={"type": "positive_int", "metavar": "N"},
        ),
    )
    bn_momentum: float | str | None = dataclasses.field(
        default="auto",
        metadata=about(
            "BatchNorm momentum: auto, keep (None in Python) or a float",
            flag="--bn-momentum",
            invalidates=True,
            worker=False,  # the parent applies it to each variant's Regularization
            cli={
                "type": "bn_momentum",
                "metavar": "M",
                "detail": "'auto': 0.9 where Keras' 0.99 would average over more steps than "
                "an epoch has, as on digits; 'keep': each variant's own (the presets' 0.99)",
            },
            file_types=(str, float, int),
            resolved=True,
        ),
    )
    run_eagerly: bool = dataclasses.field(
        default=False,
        metadata=about(
            "train without tf.function (debugging)",
            flag="--run-eagerly",
            check=check_bool,
            file_types=(bool,),
        ),
    )
    callbacks: Sequence[Any] | None = dataclasses.field(
        default=None,
        metadata=about(
            "extra Keras callbacks for every run",
            in_file=False,
            worker=False,  # objects of the parent's process
        ),
    )
    verbose: int | str = dataclasses.field(
        default=2,
        metadata=about(
            "2: a line per epoch; 1: progress bar; 0: silent",
            flag="--verbose",
            worker=False,  # a worker runs quietly
            cli={"type": "int", "choices": (0, 1, 2)},
            file_types=(int, str),
        ),
    )
    on_error: str = dataclasses.field(
        default="raise",
        metadata=about(
            "raise: stop at a failed run; record: report it and go on",
            flag=None,
            in_file=False,
            check=lambda name, value: check_choice(name, value, ON_ERROR),
            worker=False,  # the parent records a worker's failure
            cli={"value": "record"},  # the command line reports a failed run, exit 1
        ),
    )
    plots: bool = dataclasses.field(
        default=True,
        metadata=about(
            "draw the plots into out_dir",
            flag="--no-plots",
            worker=False,
            cli={
                "help": "skip the plots (curves.png, weight_norms.png, differences.png, sweep.png)"
            },
            file_types=(bool,),
        ),
    )
    strategy: Any = dataclasses.field(
        default=None,
        metadata=about("tf.distribute.Strategy to build under", in_file=False, worker=False),
    )
    sweep: Mapping[str, Any] | None = dataclasses.field(
        default=None,
        metadata=about(
            "{field: values} crosses every variant with each value",
            flag="--sweep",
            worker=False,  # the parent sends each swept variant as its own
            cli={
                "type": "sweep",
                "action": "append",
                "metavar": "FIELD=V1,V2,...",
                "detail": "e.g. --sweep l2=0,1e-4,1e-3 (repeatable: a grid); adds sweep.png",
            },
        ),
    )
    restart: bool = dataclasses.field(
        default=False,
        metadata=about(
            "discard out_dir's earlier runs",
            flag="--restart",
            in_file=False,
            check=check_bool,
            worker=False,
            cli={"detail": "only files regkit wrote; without it a rerun reuses finished runs"},
        ),
    )
    jobs: int = dataclasses.field(
        default=1,
        metadata=about(
            "runs trained at once, each in a worker",
            flag="--jobs",
            in_file=False,
            worker=False,
            cli={
                "type": "positive_int",
                "metavar": "N",
                "detail": "worker processes, each with its share of the CPU cores and its own "
                "GPU where there are several; same figures",
            },
        ),
    )
    executor: Any = dataclasses.field(
        default=None,
        metadata=about("a concurrent.futures.Executor to run on", in_file=False, worker=False),
    )
    tensorboard: bool = dataclasses.field(
        default=False,
        metadata=about(
            "log each run to TensorBoard in <run folder>/tensorboard",
            flag="--tensorboard",
            check=check_bool,
            file_types=(bool,),
        ),
    )
    bad_images: str = dataclasses.field(
        default="raise",
        metadata=about(
            "an image folder's unreadable images: raise stops, skip leaves them out",
            flag="--bad-images",
            invalidates=True,  # skipping images changes the data, hence the figures
            check=lambda name, value: check_choice(name, value, BAD_IMAGES),
            cli={"choices": BAD_IMAGES},
        ),
    )

    precision: str = dataclasses.field(
        default="float32",
        metadata=about(
            "dtype policy: float32, mixed_bfloat16, mixed_float16, or auto (bfloat16 where "
            "the CPU or GPU computes it fast, float16 on GPUs where that is faster)",
            flag="--precision",
            invalidates=True,  # the policy changes the figures; the resolved one is recorded
            check=_precision,
            absent="float32",
            cli={"choices": PRECISIONS},
        ),
    )
    max_seeds: int | None = dataclasses.field(
        default=None,
        metadata=about(
            "adaptive seeds: add seeds in rounds to the variants still undecided, up to this "
            "many (None: every variant runs `seeds`)",
            flag="--max-seeds",
            check=_max_seeds,
            worker=False,
            cli={"type": "positive_int", "metavar": "N"},
        ),
    )
    budget: int | float | str | None = dataclasses.field(
        default=None,
        metadata=about(
            "stop adding rounds past this many runs (an int) or this wall time ('90m', "
            "'2h', '45s': the runs' times summed, over `jobs`); None: no limit",
            flag="--budget",
            check=_budget,
            worker=False,
            cli={"metavar": "RUNS|TIME"},
        ),
    )
    margin: float | None = dataclasses.field(
        default=None,
        metadata=about(
            "equivalence margin, a fraction of accuracy (0.005 = half a point): a variant "
            "shown within +-margin of the reference is 'equivalent'",
            flag="--margin",
            check=_margin,
            worker=False,
            cli={"type": "positive_float", "metavar": "D"},
        ),
    )
    alpha: float = dataclasses.field(
        default=0.05,
        metadata=about(
            "family-wise error rate of the verdicts, over all variants and rounds",
            flag="--alpha",
            check=_alpha,
            worker=False,
            cli={"type": "positive_float", "metavar": "A"},
        ),
    )
    tune: Mapping[str, Any] | None = dataclasses.field(
        default=None,
        metadata=about(
            "{field: candidates}: each field's best strength is chosen on validation by "
            "successive halving on selection seeds, then compared on fresh seeds",
            flag="--tune",
            worker=False,
            cli={
                "type": "tune",
                "action": "append",
                "metavar": "FIELD=V1,V2,...",
                "detail": "repeatable, e.g. --tune l2=1e-5,1e-4,1e-3 --tune dropout=0.1,0.3; "
                "FIELD=...+FIELD=... tunes the fields of one arm jointly (a grid)",
            },
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
    def worker_settings(cls) -> tuple[str, ...]:
        """The settings a parallel run's worker receives (the others stay in the parent)."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.metadata["worker"])

    @classmethod
    def command_line_values(cls) -> dict[str, Any]:
        """The values the command line uses for settings it has no option for."""
        return {
            f.name: f.metadata["cli"]["value"]
            for f in dataclasses.fields(cls)
            if "value" in f.metadata["cli"]
        }

    @classmethod
    def field_metadata(cls, name: str) -> Mapping[str, Any]:
        """Setting `name`'s metadata (`about`'s keys)."""
        return next(f.metadata for f in dataclasses.fields(cls) if f.name == name)

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
