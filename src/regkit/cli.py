"""The `regkit` command (`python -m regkit` is the same).

```
regkit compare [--dataset digits] [--model cnn|mobilenet_v2|resnet] [--variants SPECS]
               [--model-kwargs KEY=VALUE,...] [--sweep FIELD=V1,V2,...] [--config study.toml]
               [--epochs N] [--batch-size N] [--seeds 0,1,2] [--augment [SPEC]] [--out DIR]
               [--restart] [--jobs N | --scheduler ADDRESS]
regkit export STUDY [--variant NAME] [--seed S] [--format keras|savedmodel|tflite] [--out PATH]
regkit info
regkit --version
```

`--variants` takes variant specs (`baseline,l2=1e-3,bn+l2=1e-4,wide:bn+dropout=0.3`, see
`regkit.experiments.study.specs`) and, with `--config`, names of the file's
`[variants.NAME]` tables (`--variants baseline,ema`); `--sweep` crosses them with each
value of a field; `--model-kwargs depth=32,width=32` gives the model builder's arguments;
`--config` reads a TOML study file whose keys the command-line options override.

The study folder is a ledger: a rerun reuses finished runs, resumes interrupted ones and
refuses changed settings (exit 2, naming them) unless `--restart`; a folder another live
study uses is refused (exit 2). Without `--out` it is `runs/<dataset>-<model>-<hash>`,
named from the settings that change the figures and the variants, so the same command
run again finds it; an interrupted study prints the command that continues it. `--jobs N`
trains N runs at once in worker processes; `--scheduler ADDRESS` runs them on a Dask
cluster. `regkit export` writes a finished run's model as a `.keras` file, a SavedModel
or a TFLite file.

This module imports only the standard library and the light parts of regkit at import
time, so `regkit --version` and bad flags answer without loading TensorFlow; the command
handlers import TensorFlow, Keras and `regkit.data` when they run.
"""

from __future__ import annotations

import argparse
import atexit
import dataclasses
import importlib.util
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from regkit._quiet import start_tensorflow_quietly
from regkit._version import __version__
from regkit.config import Regularization
from regkit.data.augment import AUGMENT_FIELDS, AUGMENT_PRESETS, Augment
from regkit.data.splits import SPLIT_KEYS
from regkit.device import describe
from regkit.experiments.report.results import EXPORT_FORMATS, Report
from regkit.experiments.run.comparison import run_comparison
from regkit.experiments.run.ledger import RESULT_FILE, StudyFolderError
from regkit.experiments.run.plan import plan_comparison
from regkit.experiments.study.command_line import (
    MODEL_KWARGS_HELP,
    default_study_folder,
    parse_model_kwargs,
    pick_variants,
)
from regkit.experiments.study.config import StudyConfig
from regkit.experiments.study.records import Variant
from regkit.experiments.study.specs import load_study, parse_sweep, parse_variants
from regkit.experiments.study.tuning import parse_tune

__all__ = ["DEFAULT_EPOCHS", "DEFAULT_VARIANTS", "build_parser", "main"]

#: `regkit compare` with no flags: baseline vs. everything, cnn on digits, ~1 min on 2 cores.
DEFAULT_VARIANTS: tuple[str, ...] = ("baseline", "all")
DEFAULT_EPOCHS = 15
DEFAULT_BATCH_SIZE = 32
#: `regkit.data.Augment` arguments `--augment` accepts; bare names switch a flag on.
AUGMENT_KEYS: tuple[str, ...] = tuple(AUGMENT_FIELDS)
_AUGMENT_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Augment)}
_BOOL_AUGMENT_KEYS = frozenset(
    k for k in AUGMENT_KEYS if isinstance(_AUGMENT_DEFAULTS.get(k), bool)
)
_TEXT_AUGMENT_KEYS = frozenset(k for k in AUGMENT_KEYS if isinstance(_AUGMENT_DEFAULTS.get(k), str))


# ---------------------------------------------------------------------------- flag types
def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid positive int value: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"invalid positive int value: {text!r}")
    return value


def _limit(text: str) -> int | dict[str, int]:
    """`2000` (every split) or `train=2000,validation=5000` (the splits named)."""
    if "=" not in text:
        return _positive_int(text)
    caps: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, _, count = part.partition("=")
        key = key.strip()
        if key not in SPLIT_KEYS or key in caps:
            raise argparse.ArgumentTypeError(
                f"invalid limit {text!r}: expected N or SPLIT=N,... with splits among "
                f"{', '.join(SPLIT_KEYS)}, each once"
            )
        caps[key] = _positive_int(count.strip())
    return caps


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid positive float value: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"invalid positive float value: {text!r}")
    return value


def _bn_momentum(text: str) -> float | str | None:
    lowered = text.strip().lower()
    if lowered == "auto":
        return "auto"
    if lowered in ("keep", "none"):
        return None
    try:
        value = float(lowered)
    except ValueError:
        value = -1.0
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(
            f"invalid BN momentum {text!r}: expected 'auto', 'keep' or a float in [0, 1)"
        )
    return value


def _seeds(text: str) -> tuple[int, ...]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    try:
        seeds = tuple(int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid seeds {text!r}: expected comma-separated ints >= 0, e.g. 0,1,2"
        ) from None
    if not seeds or any(s < 0 for s in seeds):
        raise argparse.ArgumentTypeError(
            f"invalid seeds {text!r}: expected comma-separated ints >= 0, e.g. 0,1,2"
        )
    if len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"invalid seeds {text!r}: a seed is repeated")
    return seeds


def _cli_message(exc: BaseException) -> str:
    """A library error as an argparse message: without the "Invalid value for argument" lead."""
    text = str(exc)
    if text.startswith("Invalid value for argument `") and "`: " in text:
        text = text.split("`: ", 1)[1]
    return text


def _model_kwargs(text: str) -> dict[str, Any]:
    """`depth=20,width=16` -> the builder's keyword arguments (`parse_model_kwargs`)."""
    try:
        return parse_model_kwargs(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(_cli_message(exc)) from None


def _sweep(text: str) -> tuple[str, tuple[Any, ...]]:
    try:
        return parse_sweep(text)
    except (TypeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(_cli_message(exc)) from None


def _tune(text: str) -> tuple[str, dict[str, tuple[Any, ...]]]:
    try:
        return parse_tune(text)
    except (TypeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(_cli_message(exc)) from None


def _augment(text: str) -> bool | str | dict[str, Any]:
    """`default` -> True (the dataset's default); a preset name; `flip,rotation=15` -> dict."""
    text = text.strip()
    if text.lower() in ("default", ""):
        return True
    if text.lower() in AUGMENT_PRESETS:
        return text.lower()
    spec: dict[str, Any] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if key not in AUGMENT_KEYS:
            raise argparse.ArgumentTypeError(
                f"unknown augmentation {key!r} (choose from {', '.join(AUGMENT_KEYS)}, "
                f"or a preset: {', '.join(AUGMENT_PRESETS)})"
            )
        if not sep:
            if key not in _BOOL_AUGMENT_KEYS:
                raise argparse.ArgumentTypeError(
                    f"augmentation {key!r} needs a value, e.g. {key}=0.1"
                )
            spec[key] = True
            continue
        if key in _TEXT_AUGMENT_KEYS:
            spec[key] = value.strip()
            continue
        value = value.strip()
        if key in _BOOL_AUGMENT_KEYS:
            if value.lower() not in ("true", "false", "1", "0"):
                raise argparse.ArgumentTypeError(f"invalid value for {key}: {value!r}")
            spec[key] = value.lower() in ("true", "1")
            continue
        try:
            spec[key] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"invalid value for {key}: {value!r} (expected a number)"
            ) from None
    return spec


# ---------------------------------------------------------------------------- options
#: The parsers a `StudyConfig` field's ``cli["type"]`` names (its metadata says how the
#: command line reads each setting; a field with a flag and no type gets a switch for a
#: bool, else a value of its default's type).
_PARSERS: dict[str, Callable[[str], Any]] = {
    "positive_int": _positive_int,
    "limit": _limit,
    "positive_float": _positive_float,
    "seeds": _seeds,
    "augment": _augment,
    "sweep": _sweep,
    "tune": _tune,
    "bn_momentum": _bn_momentum,
    "model_kwargs": _model_kwargs,
    "path": Path,
    "int": int,
}
#: The parsers whose text a study file gives as a string too (`out = "runs/x"`).
_FILE_TEXT = frozenset({"path", "bn_momentum", "augment"})


def _dest(flag: str) -> str:
    """The argparse attribute of an option: `--batch-size` -> `batch_size`."""
    return flag.lstrip("-").replace("-", "_")


def _shown(default: Any) -> str:
    if isinstance(default, tuple):
        return ",".join(map(str, default))
    return str(default)


def _add_study_option(parser: argparse.ArgumentParser, field: dataclasses.Field[Any]) -> None:
    """`field`'s command-line option, from its metadata (flag, help, cli)."""
    extra = dict(field.metadata["cli"])
    extra.pop("value", None)
    if "type" in extra:
        if extra["type"] == "model_kwargs":
            extra["detail"] = f"{extra.get('detail', '')}; {MODEL_KWARGS_HELP}".lstrip("; ")
        extra["type"] = _PARSERS[extra["type"]]
    detail = extra.pop("detail", "")
    default = field.default
    help_text = extra.pop("help", field.metadata["help"]) + (f" ({detail})" if detail else "")
    if isinstance(default, bool) or (default is None and "type" not in extra and not extra):
        extra.setdefault("action", "store_true")  # a switch (--no-plots: a True default)
    elif extra.get("action") == "append":
        extra["default"] = None
    else:
        extra.setdefault("default", default)
        if "type" not in extra and default is not None:
            extra["type"] = type(default)
        if default is not None:
            help_text += f" (default: {_shown(default)})"
    parser.add_argument(field.metadata["flag"], help=help_text, **extra)


def _setting(field: dataclasses.Field[Any], args: argparse.Namespace) -> Any:
    """A study setting's value from its parsed option."""
    value = getattr(args, _dest(field.metadata["flag"]))
    if isinstance(field.default, bool) and field.default:
        return not value  # --no-plots
    if field.default is None and value is False:
        return None  # a switch not given: the setting's own default (--download)
    return value


# ---------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    """The `regkit` argument parser (exposed for documentation and tests).

    Returns:
        An `argparse.ArgumentParser` with the `compare` and `info` sub-commands.
    """
    parser = argparse.ArgumentParser(
        prog="regkit",
        description="Regularized Keras 3 models: compare a basic and a regularized model.",
        epilog="Run 'regkit compare' with no flags for baseline vs. regularized CNNs on the "
        "embedded digits data (about a minute on 2 CPU cores).",
    )
    parser.add_argument("--version", action="version", version=f"regkit {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    cmp = commands.add_parser(
        "compare",
        help="train variants on the same data and write a comparison report",
        description="Train each variant with each seed on the same data and splits, then "
        "write report.md, report.json and plots to --out.",
    )
    for field in dataclasses.fields(StudyConfig):
        if field.metadata["flag"]:
            _add_study_option(cmp, field)
    cmp.add_argument(
        "--variants",
        default=",".join(DEFAULT_VARIANTS),
        metavar="SPECS",
        help="comma-separated variant specs: a preset "
        f"({', '.join(Regularization.preset_names())}), or presets and field=value parts "
        "joined by '+', optionally labelled, e.g. 'baseline,l2=1e-3,bn+l2=1e-4,"
        "wide:bn+dropout=0.3'; with --config also names of the file's [variants.NAME] "
        f"tables, e.g. 'baseline,ema' (default: {','.join(DEFAULT_VARIANTS)}, or the file's)",
    )
    cmp.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help="a TOML study file: top-level keys are these options' names with '_' "
        "(epochs, batch_size, seeds, out, ...), [variants.NAME] tables hold preset = '...' "
        "and/or fields, [sweep] holds FIELD = [values]; options given here override it",
    )
    cmp.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run the runs on a running Dask cluster, e.g. tcp://10.0.0.5:8786 (needs "
        "regkit-keras[dask]; workers need regkit and, for --out, the same file system)",
    )
    cmp.add_argument(
        "-q", "--quiet", action="store_true", help="no progress output, only the report"
    )
    cmp.set_defaults(handler=_cmd_compare, subparser=cmp)

    export = commands.add_parser(
        "export",
        help="write a finished run's model as a .keras file, a SavedModel or a TFLite file",
        description="Write the model of one run of a study (the best weights, as the report "
        "evaluated them) for use outside regkit.",
    )
    export.add_argument(
        "study", type=Path, metavar="STUDY", help="a study folder or its report.json"
    )
    export.add_argument(
        "--variant", metavar="NAME", help="the variant (needed when there are several)"
    )
    export.add_argument(
        "--seed", type=int, metavar="S", help="the run's seed (needed when it ran several)"
    )
    export.add_argument(
        "--format",
        choices=tuple(EXPORT_FORMATS),
        default="keras",
        help="keras: the run's .keras file; savedmodel: a SavedModel folder (TensorFlow "
        "Serving, TF.js); tflite: a LiteRT/TFLite file (default: keras)",
    )
    export.add_argument(
        "--out",
        type=Path,
        metavar="PATH",
        help="where to write (default: <variant>-seed<S>.keras, <variant>-seed<S>/ or "
        "<variant>-seed<S>.tflite in the working folder)",
    )
    export.set_defaults(handler=_cmd_export, subparser=export)

    info = commands.add_parser(
        "info", help="versions, devices and what regkit.device.setup() would do"
    )
    info.set_defaults(handler=_cmd_info, subparser=info)
    return parser


# ---------------------------------------------------------------------------- commands
def _given_options(parser: argparse.ArgumentParser, argv: Sequence[str]) -> set[str]:
    """The destinations of the options `argv` gives explicitly (parsed with no defaults)."""
    actions = list(parser._actions)
    saved = [a.default for a in actions]
    try:
        for action in actions:
            action.default = argparse.SUPPRESS
        given = parser.parse_args(argv)
    finally:
        for action, default in zip(actions, saved, strict=True):
            action.default = default
    return set(vars(given)) - set(parser._defaults)


def _study_settings(
    args: argparse.Namespace, parser: argparse.ArgumentParser
) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """compare's arguments from the flags, the `--config` file under them, and the file."""
    kwargs: dict[str, Any] = {
        field.name: _setting(field, args)
        for field in dataclasses.fields(StudyConfig)
        if field.metadata["flag"]
    }
    if args.quiet:
        kwargs["verbose"] = 0
    kwargs["variants"] = args.variants
    for field in dataclasses.fields(StudyConfig):  # repeatable FIELD=... options: a mapping
        if field.metadata["cli"].get("action") != "append":
            continue
        merged: dict[str, Any] = {}
        for key, values in kwargs[field.name] or []:
            if key in merged:
                parser.error(f"argument {field.metadata['flag']}: {key!r} is given twice")
            merged[key] = values
        kwargs[field.name] = merged or None
    from_file: dict[str, Any] = {}
    study = None
    given: set[str] = set()
    if args.config is not None:
        try:
            study = load_study(args.config)
        except (TypeError, ValueError, RecursionError) as exc:
            parser.error(f"argument --config: {_cli_message(exc)}")
        given = _given_options(parser, getattr(args, "argv", None) or [])
        settings = dict(study.settings)
        if study.variants is not None:
            settings["variants"] = {n: s.variant_kwargs() for n, s in study.variants.items()}
        if study.sweep:
            settings["sweep"] = study.sweep
        for key, value in settings.items():
            flag = StudyConfig.flags().get(key)
            if (_dest(flag) if flag else key) in given:
                continue  # the command line overrides the file
            try:
                from_file[key] = _file_value(key, value)
            except argparse.ArgumentTypeError as exc:
                parser.error(f"argument --config: study file {str(args.config)!r}: {key}: {exc}")
        kwargs.update(from_file)
    try:
        if study is not None and study.variants is not None and "variants" in given:
            kwargs["variants"] = pick_variants(args.variants, study.variants, file=study.path)
        elif isinstance(kwargs["variants"], str):
            parse_variants(kwargs["variants"])  # a bad spec exits 2 before anything loads
    except (TypeError, ValueError) as exc:
        parser.error(f"argument --variants: {_cli_message(exc)}")
    return kwargs, from_file, study


def _file_value(key: str, value: Any) -> Any:
    """A study file's value as the flag would give it (strings parsed the flag's way)."""
    if key == "variants" and isinstance(value, dict):
        return {name: Variant(**kw) for name, kw in value.items()}
    kind = _FIELDS[key].metadata["cli"].get("type") if key in _FIELDS else None
    if kind in _FILE_TEXT and isinstance(value, str):
        return _PARSERS[kind](value)
    return value


#: The study settings by name.
_FIELDS = {field.name: field for field in dataclasses.fields(StudyConfig)}


def _dask_executor(address: str, parser: argparse.ArgumentParser) -> Any:
    """A `concurrent.futures.Executor` on the Dask cluster at `address` (exit 2 if none)."""
    try:
        from distributed import Client
    except ImportError:
        parser.error("argument --scheduler: needs Dask: pip install 'regkit-keras[dask]'")
    try:
        client = Client(address, timeout=10)
    except (OSError, TimeoutError, TypeError, ValueError) as exc:
        parser.error(f"argument --scheduler: cannot reach a Dask scheduler at {address!r} ({exc})")
    atexit.register(client.close)
    return client.get_executor()


def _fail(parser: argparse.ArgumentParser, message: str) -> NoReturn:
    """An error that is not about the flags' spelling: one line, no usage; `SystemExit(2)`
    as argparse raises for a bad flag."""
    print(f"{parser.prog}: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _flag_names(message: str, from_file: Any = ()) -> str:
    """A library message with each study setting named by its option (`--dataset`), except
    the settings a study file gave (named by its key)."""
    message = message.replace("argument `name`", "argument `dataset`").replace(
        "Received: name=", "Received: dataset="
    )  # load_dataset's argument is compare's `dataset`
    for name, flag in StudyConfig.flags().items():
        if name in from_file:
            continue
        message = message.replace(f"argument `{name}`", f"argument {flag}")
        message = message.replace(f"Received: {name}=", f"Received: {flag}=")
    return message


def _cmd_compare(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    kwargs, from_file, study = _study_settings(args, parser)
    start_tensorflow_quietly()
    out = kwargs["out_dir"] or default_study_folder(kwargs, kwargs["variants"])
    kwargs["out_dir"] = out = Path(out)
    if kwargs["plots"] and importlib.util.find_spec("matplotlib") is None:
        print("regkit: matplotlib is not installed; skipping plots", file=sys.stderr)
        kwargs["plots"] = False
    variants = kwargs.pop("variants")
    if args.scheduler:
        kwargs["executor"] = _dask_executor(args.scheduler, parser)
    try:
        plan = plan_comparison(variants, **StudyConfig.command_line_values(), **kwargs)
    except (ValueError, TypeError, OSError) as exc:  # a bad value or type, no data set, bad --out
        message = str(exc)
        named = [k for k in from_file if f"argument `{k}`" in message]
        if named and study is not None:
            message += f" (from study file {str(study.path)!r}, key {named[0]!r})"
        parser.error(_flag_names(message, from_file))  # exits 2, like any other bad flag
    if study is not None:
        plan.config["study_file"] = {"path": str(study.path), "text": study.text}
    if not args.quiet:
        c = plan.config
        print(
            f"regkit {__version__}: {', '.join(plan.variants)} | {c['model']} on "
            f"{c['dataset']} {tuple(c['input_shape'])} | {c['epochs']} epochs, batch "
            f"{c['batch_size']}, seeds {','.join(map(str, c['seeds']))} | output {out}",
            flush=True,
        )
    try:
        report = run_comparison(plan)
    except StudyFolderError as exc:  # busy, other settings, symlinks: before any training
        _fail(parser, _flag_names(str(exc)))
    except OSError as exc:  # even the report cannot be written: one line, no traceback
        print(f"regkit: cannot write the report in {out}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\n" + _interrupted(out, args), file=sys.stderr)
        return 130
    print()
    print(report)
    print(f"Report: {out / 'report.md'} (and report.json, plots, per-run logs in {out})")
    failed = [r for r in report.runs if r.status == "failed"]
    return 1 if failed else 0


def _interrupted(out: Path, args: argparse.Namespace) -> str:
    """What an interrupted study prints: what its folder keeps, and the command that
    continues it (the same one, without --restart, which would discard the runs)."""
    done = len(list(out.glob(f"*/seed*/{RESULT_FILE}")))
    kept = (
        f"{done} finished run{'s' if done != 1 else ''} kept in {out}"
        if done
        else f"no run finished yet (study folder {out})"
    )
    argv = [a for a in getattr(args, "argv", None) or [] if a != "--restart"]
    found = "" if args.out is not None else f" (it finds {out} again)"
    return (
        f"Interrupted: {kept}. To continue, run the same command again{found}; "
        "finished runs are reused and the interrupted one resumes:\n"
        f"  {shlex.join(['regkit', 'compare', *argv])}"
    )


def _cmd_export(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    source = args.study / "report.json" if args.study.is_dir() else args.study
    try:
        report = Report.from_json(source)
    except (OSError, ValueError) as exc:
        _fail(parser, f"argument STUDY: cannot read a study's report at {source}: {exc}")
    names = list(report.variants)
    variant = args.variant or (names[0] if len(names) == 1 else None)
    if variant not in report.variants:
        what = f"unknown variant {variant!r}" if variant else "the study has several variants"
        parser.error(f"argument --variant: {what}; choose from {', '.join(names)}")
    seeds = [r.seed for r in report.runs_for(variant)]
    seed = args.seed if args.seed is not None else (seeds[0] if len(seeds) == 1 else None)
    if seed not in seeds:
        what = f"{variant!r} has no run with seed {seed}" if seed is not None else "several seeds"
        parser.error(f"argument --seed: {what}; choose from {', '.join(map(str, seeds))}")
    start_tensorflow_quietly()
    try:
        path = report.export(variant, seed, args.out, format=args.format)
    except (OSError, ValueError) as exc:  # no model on disk, an unwritable path
        _fail(parser, str(exc))
    run = next(r for r in report.runs_for(variant) if r.seed == seed)
    accuracy = (
        "" if run.test_accuracy is None else f", test accuracy {100 * run.test_accuracy:.1f}%"
    )
    pixels = (report.config.get("model_input") or {}).get("value_range") == [0, 255]
    takes = "the data set's raw 0-255 pixels" if pixels else "pixels scaled to [0, 1]"
    print(f"Wrote {path} ({variant} seed {seed}{accuracy}; the model takes {takes}).")
    return 0


def _cmd_info(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    print(describe())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the `regkit` command.

    Args:
        argv: The arguments (without the program name); None reads `sys.argv[1:]`.

    Returns:
        The exit status: 0 on success, 1 when a run failed, 2 for bad flags (argparse
        exits with `SystemExit(2)` itself), 130 when interrupted.

    Example:
        >>> main(["--version"])  # doctest: +SKIP
        regkit 0.2.0
    """
    # Quiet TensorFlow's C++ logging before anything imports it (the CLI only: a
    # library must not change its host's environment).
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    if args.command == "compare":  # what the command line gave, over a --config file
        args.argv = argv[argv.index("compare") + 1 :]
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    return int(args.handler(args, args.subparser))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
