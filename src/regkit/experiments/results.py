"""The results of a comparison: `Variant`, `RunResult` and `Report` (data, summary,
markdown, JSON).

Everything here is plain data: a `Report` can be built from histories
(`RunResult.from_history`), written with `Report.to_json` and read back with
`Report.from_json` without TensorFlow. Plots are drawn by `regkit.plots.plot_report`
(`Report.plot` is a thin wrapper).

Example:
    >>> run = RunResult.from_history("baseline", 0, {
    ...     "loss": [0.9], "val_loss": [1.0], "accuracy": [0.7], "val_accuracy": [0.6]})
    >>> Report(variants={"baseline": Variant("baseline")}, runs=[run]).status("baseline")
    'ok'
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
import os
import statistics
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from regkit._checks import invalid
from regkit._io import atomic_write_text
from regkit.config import Regularization
from regkit.experiments.analysis import (
    add_statistics,
    report_sections,
    sweep_points,
    terminal_table,
)
from regkit.experiments.tables import align_table, config_line, report_notes, table_rows

__all__ = [
    "ACCURACY_KEYS",
    "METRICS",
    "ORIGINS",
    "STATUSES",
    "Report",
    "RunResult",
    "Variant",
]

#: Figures reported per run and per variant, in report order.
METRICS: tuple[str, ...] = (
    "params",
    "epochs_run",
    "best_epoch",
    "train_accuracy",
    "val_accuracy",
    "generalization_gap",
    "test_accuracy",
    "train_loss",
    "val_loss",
    "test_loss",
    "reg_loss_share",
    "weight_norm",
    "wall_time",
)

STATUSES: tuple[str, ...] = ("ok", "diverged", "failed")
#: The format version `report.json` files carry (`"regkit_report"`).
REPORT_FORMAT = 1
#: Where a run's figures come from: trained now, resumed from an interrupted run, or
#: reused from a finished run with the same settings in the study folder.
ORIGINS: tuple[str, ...] = ("trained", "resumed", "reused")
#: History keys that hold accuracy, in the order they are looked for.
ACCURACY_KEYS = ("accuracy", "acc", "sparse_categorical_accuracy", "categorical_accuracy")


def finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# ---------------------------------------------------------------------------- variants
@dataclasses.dataclass(frozen=True)
class Variant:
    """One arm of a comparison: a `Regularization` plus optional training overrides.

    Args:
        reg: The regularization (a `Regularization`, a preset name, a dict or None).
            Its `weight_decay` is applied by the optimizer through `compile_model`.
        learning_rate: Overrides `compare`'s `learning_rate` for this variant only.
        optimizer: Overrides `compare`'s `optimizer` (a Keras optimizer name such as
            `"sgd"`) for this variant only.

    Raises:
        ValueError: `learning_rate` is not a finite float > 0, or `reg` is an unknown
            preset or has an unknown field.
        TypeError: `reg` or `optimizer` has the wrong type.

    Example:
        >>> Variant("all").reg.dropout
        0.25
        >>> Variant("baseline", learning_rate=10.0).describe()
        'none, learning_rate=10'
    """

    reg: Regularization = dataclasses.field(default_factory=Regularization)
    learning_rate: float | None = None
    optimizer: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "reg", Regularization.coerce(self.reg))
        if self.learning_rate is not None:
            if not finite(self.learning_rate) or self.learning_rate <= 0:
                raise invalid("learning_rate", "a finite float > 0", self.learning_rate)
            object.__setattr__(self, "learning_rate", float(self.learning_rate))
        if self.optimizer is not None and not isinstance(self.optimizer, str):
            raise TypeError(
                "Invalid type for argument `optimizer`: expected an optimizer name (str) or "
                f"None. Received: optimizer={self.optimizer!r} of type "
                f"{type(self.optimizer).__name__}"
            )

    @classmethod
    def coerce(cls, value: Variant | Regularization | str | Mapping[str, Any] | None) -> Variant:
        """Accepts a `Variant`, or anything `Regularization.coerce` accepts.

        Raises:
            ValueError: an unknown preset name or field.
            TypeError: anything else.
        """
        if isinstance(value, Variant):
            return value
        return cls(reg=Regularization.coerce(value))

    def describe(self) -> str:
        """The regularization summary plus any training override."""
        parts = [self.reg.describe()]
        if self.optimizer is not None:
            parts.append(f"optimizer={self.optimizer}")
        if self.learning_rate is not None:
            parts.append(f"learning_rate={self.learning_rate:g}")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the inverse of `from_dict`)."""
        return {
            "regularization": self.reg.to_dict(),
            "description": self.describe(),
            "learning_rate": self.learning_rate,
            "optimizer": self.optimizer,
        }

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> Variant:
        """Rebuilds a `Variant` written by `to_dict`."""
        return cls(
            reg=Regularization.from_dict(config.get("regularization", {})),
            learning_rate=config.get("learning_rate"),
            optimizer=config.get("optimizer"),
        )


# ---------------------------------------------------------------------------- results
@dataclasses.dataclass
class RunResult:
    """What one variant trained with one seed gave.

    Figures are taken at the best epoch (lowest validation loss among finite values),
    which is the epoch whose weights the best-only checkpoint holds; `test_*` figures come
    from evaluating those restored weights on the test split. `best_epoch` is 1-based.

    Attributes:
        variant: The variant's name.
        seed: The seed it ran with.
        status: `"ok"`, `"diverged"` (a loss went NaN/inf) or `"failed"` (an exception).
        diverged_epoch: The first epoch (1-based) with a non-finite loss, if any.
        error: `"ExceptionType: message"` for a failed run.
        history: Keras' per-epoch logs (`loss`, `val_accuracy`, `reg_loss_share`,
            `<layer>_kernel_norm`, ...).
        origin: `"trained"`, `"resumed"` (an interrupted run continued) or `"reused"`
            (a finished run with identical settings, read back from the study folder).
        warnings: Notes on figures that look fine but may mislead.
    """

    variant: str
    seed: int
    status: str = "ok"
    params: int | None = None
    epochs_run: int | None = None
    best_epoch: int | None = None
    train_accuracy: float | None = None
    val_accuracy: float | None = None
    generalization_gap: float | None = None
    test_accuracy: float | None = None
    train_loss: float | None = None
    val_loss: float | None = None
    test_loss: float | None = None
    reg_loss_share: float | None = None
    weight_norm: float | None = None
    wall_time: float | None = None
    diverged_epoch: int | None = None
    error: str | None = None
    history: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    origin: str = "trained"
    warnings: list[str] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise invalid("status", f"one of {', '.join(STATUSES)}", self.status)
        if self.origin not in ORIGINS:
            raise invalid("origin", f"one of {', '.join(ORIGINS)}", self.origin)

    @classmethod
    def from_history(
        cls,
        variant: str,
        seed: int,
        history: Mapping[str, Sequence[float]],
        *,
        params: int | None = None,
        test_accuracy: float | None = None,
        test_loss: float | None = None,
        weight_norm: float | None = None,
        wall_time: float | None = None,
        monitor: str = "val_loss",
    ) -> RunResult:
        """Derives every per-run figure from a Keras history dict.

        Args:
            variant: The variant's name.
            seed: The seed.
            history: `keras.callbacks.History.history` (lists of per-epoch floats).
            params: The model's parameter count.
            test_accuracy: Accuracy of the restored best weights on the test split.
            test_loss: Loss of the restored best weights on the test split.
            weight_norm: Global L2 norm of the conv/dense kernels at the end.
            wall_time: Seconds spent training and evaluating.
            monitor: The history key whose minimum picks the best epoch; falls back to
                `"loss"` when the key is missing.

        Returns:
            A `RunResult`; `status` is `"diverged"` when `loss`, `val_loss` or a
            `<layer>_kernel_norm` holds a NaN/inf value.

        Example:
            >>> r = RunResult.from_history("baseline", 0, {
            ...     "loss": [1.0, 0.5], "val_loss": [1.1, 0.9],
            ...     "accuracy": [0.6, 0.9], "val_accuracy": [0.5, 0.7]})
            >>> r.best_epoch, round(r.generalization_gap, 2)
            (2, 0.2)
        """
        hist = {str(k): [float(v) for v in values] for k, values in history.items()}
        losses = hist.get("loss", [])
        epochs_run = max((len(v) for v in hist.values()), default=0)
        diverged_epoch = None
        # a clipped cross-entropy can stay finite while the weights overflow, so
        # WeightNormLogger's norms count too
        watched = ["loss", "val_loss", *(k for k in hist if k.endswith("_kernel_norm"))]
        for key in watched:
            for index, value in enumerate(hist.get(key, [])):
                if not math.isfinite(value):
                    epoch = index + 1
                    diverged_epoch = epoch if diverged_epoch is None else min(diverged_epoch, epoch)
                    break
        monitored = hist.get(monitor) or losses
        finite = [(v, i) for i, v in enumerate(monitored) if math.isfinite(v)]
        if diverged_epoch is not None:
            # weights after the first non-finite epoch are never the ones reported
            finite = [(v, i) for v, i in finite if i + 1 < diverged_epoch]
        best = min(finite)[1] if finite else None

        def at_best(key: str) -> float | None:
            values = hist.get(key)
            if best is None or not values or best >= len(values):
                return None
            value = values[best]
            return value if math.isfinite(value) else None

        acc_key = next((k for k in ACCURACY_KEYS if k in hist), None)
        train_acc = at_best(acc_key) if acc_key else None
        val_acc = at_best(f"val_{acc_key}") if acc_key else None
        gap = train_acc - val_acc if train_acc is not None and val_acc is not None else None

        def clean(value: float | None) -> float | None:
            return float(value) if value is not None and math.isfinite(value) else None

        return cls(
            variant=variant,
            seed=int(seed),
            status="diverged" if diverged_epoch is not None else "ok",
            params=None if params is None else int(params),
            epochs_run=epochs_run,
            best_epoch=None if best is None else best + 1,
            train_accuracy=train_acc,
            val_accuracy=val_acc,
            generalization_gap=gap,
            test_accuracy=clean(test_accuracy),
            train_loss=at_best("loss"),
            val_loss=at_best("val_loss"),
            test_loss=clean(test_loss),
            reg_loss_share=at_best("reg_loss_share"),
            weight_norm=clean(weight_norm),
            wall_time=clean(wall_time),
            diverged_epoch=diverged_epoch,
            history=hist,
        )

    @classmethod
    def failed(
        cls, variant: str, seed: int, exc: BaseException, *, wall_time: float | None = None
    ) -> RunResult:
        """A run that raised `exc`."""
        message = f"{type(exc).__name__}: {exc}".strip()
        return cls(
            variant=variant, seed=int(seed), status="failed", error=message, wall_time=wall_time
        )

    def weight_norm_history(self) -> list[float]:
        """Per-epoch global kernel norm, from `WeightNormLogger`'s `<layer>_kernel_norm` logs."""
        keys = [k for k in self.history if k.endswith("_kernel_norm") and not k.startswith("val_")]
        if not keys:
            return []
        epochs = min(len(self.history[k]) for k in keys)
        return [math.sqrt(sum(self.history[k][e] ** 2 for k in keys)) for e in range(epochs)]

    def to_dict(self, *, include_history: bool = True) -> dict[str, Any]:
        """JSON-ready dict (non-finite history values become None)."""
        data = dataclasses.asdict(self)
        if include_history:
            data["history"] = {
                k: [v if math.isfinite(v) else None for v in values]
                for k, values in self.history.items()
            }
        else:
            data.pop("history")
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunResult:
        """Inverse of `to_dict` (None in a history becomes NaN)."""
        fields = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in fields}
        kwargs["history"] = {
            k: [math.nan if v is None else float(v) for v in values]
            for k, values in (data.get("history") or {}).items()
        }
        return cls(**kwargs)


def _mean_std(values: Sequence[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return mean, std


# ---------------------------------------------------------------------------- report
@dataclasses.dataclass
class Report:
    """The results of `compare`: one row per variant, mean ± std over seeds.

    A `Report` is plain data: it can be built from histories (`RunResult.from_history`),
    written with `to_json` and read back with `from_json`.

    Attributes:
        variants: Variant name -> `Variant`, in report order.
        runs: One `RunResult` per (seed, variant) that has run so far.
        config: How the comparison was run (model, dataset, epochs, batch size, ...).
        seeds: The seeds every variant runs with.
        versions: Python, platform and package versions.
        created: ISO timestamp.
        complete: False while `compare` is still running (partial `report.json`).
        directory: The study folder whose run folders hold the weights (set by `compare`
            with `out_dir` and by `from_json`); not part of the JSON.

    Example:
        >>> run = RunResult.from_history("baseline", 0, {
        ...     "loss": [0.9], "val_loss": [1.0], "accuracy": [0.7], "val_accuracy": [0.6]})
        >>> report = Report(variants={"baseline": Variant("baseline")}, runs=[run])
        >>> report.summary()["baseline"]["status"]
        'ok'
    """

    variants: dict[str, Variant]
    runs: list[RunResult] = dataclasses.field(default_factory=list)
    config: dict[str, Any] = dataclasses.field(default_factory=dict)
    seeds: tuple[int, ...] = (0,)
    versions: dict[str, str] = dataclasses.field(default_factory=dict)
    created: str = ""
    complete: bool = True
    directory: Path | None = dataclasses.field(default=None, compare=False)

    def __post_init__(self) -> None:
        self.variants = {name: Variant.coerce(v) for name, v in self.variants.items()}
        self.seeds = tuple(int(s) for s in self.seeds)
        if not self.created:
            self.created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        if not self.versions:
            from regkit.device import versions

            self.versions = versions()

    # ------------------------------------------------------------------ queries
    def runs_for(self, variant: str) -> list[RunResult]:
        """The runs of one variant, in seed order.

        Raises:
            KeyError: `variant` is not in this report.
        """
        if variant not in self.variants:
            raise KeyError(
                f"Unknown variant {variant!r}. This report has: {', '.join(self.variants)}"
            )
        return [r for r in self.runs if r.variant == variant]

    def status(self, variant: str) -> str:
        """`"ok"`, `"pending"`, `"diverged"`, `"failed"` or a mix such as `"diverged (1/3)"`."""
        runs = self.runs_for(variant)
        if not runs:
            return "pending"
        counts = {s: sum(r.status == s for r in runs) for s in STATUSES}
        total = len(runs)
        parts = []
        for status in ("diverged", "failed"):
            if counts[status] == total:
                if status == "diverged" and total == 1 and runs[0].diverged_epoch:
                    parts.append(f"diverged (epoch {runs[0].diverged_epoch})")
                else:
                    parts.append(status)
            elif counts[status]:
                parts.append(f"{status} ({counts[status]}/{total} seeds)")
        if self.complete and total < len(self.seeds) and not parts:
            parts.append(f"incomplete ({total}/{len(self.seeds)} seeds)")
        return ", ".join(parts) or "ok"

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per variant: status, seeds run, and `mean`/`std` of every figure in `METRICS`.

        Means and (sample) standard deviations are taken over the runs whose status is
        `"ok"`; a variant whose every run diverged keeps only the figures that do not
        depend on convergence (parameters, epochs run, time).

        Returns:
            `{variant: {"status", "description", "seeds", "mean": {metric: value},
            "std": {metric: value}}}`.
        """
        out: dict[str, dict[str, Any]] = {}
        for name, variant in self.variants.items():
            runs = self.runs_for(name)
            ok = [r for r in runs if r.status == "ok"]
            means: dict[str, float | None] = {}
            stds: dict[str, float | None] = {}
            for metric in METRICS:
                pool = runs if metric in ("params", "epochs_run", "wall_time") else ok
                values = [getattr(r, metric) for r in pool]
                mean, std = _mean_std([float(v) for v in values if v is not None])
                means[metric], stds[metric] = mean, std
            out[name] = {
                "status": self.status(name),
                "description": variant.describe(),
                "seeds": [r.seed for r in runs],
                "mean": means,
                "std": stds,
            }
        return out

    # ------------------------------------------------------------------ output
    def title(self) -> str:
        """The report's title: `regkit comparison: <model> on <dataset>`."""
        model = self.config.get("model", "model")
        dataset = self.config.get("dataset", "data")
        return f"regkit comparison: {model} on {dataset}"

    def sweep_points(self) -> list[dict[str, Any]]:
        """For a sweep: each swept variant's base, values and figures over seeds.

        See `regkit.experiments.analysis.sweep_points`; empty without a sweep.
        """
        return sweep_points(self)

    def to_markdown(self) -> str:
        """A markdown report: title, configuration, one table row per variant, notes.

        After the table: 95% intervals over seeds and the paired comparison of each
        variant with the first (the reference), or a plain statement that one seed gives
        no interval; a sweep table; and the runs' warnings.

        A variant whose loss went NaN/inf says `diverged` in its Status cell; resumed and
        reused runs are listed in the notes.
        """
        return "\n".join(
            [
                f"# {self.title()}",
                "",
                config_line(self) + ".",
                "",
                align_table(table_rows(self), markdown=True),
                "",
                *(f"- {note}" for note in report_notes(self)),
                "",
                *report_sections(self),
            ]
        )

    def __str__(self) -> str:
        lines = [self.title(), textwrap.fill(config_line(self), 100), ""]
        lines.append(terminal_table(self))
        if not self.complete:
            lines += ["", "(partial: the comparison is still running or was stopped)"]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: config, seeds, versions, and per variant its figures and runs.

        Each variant entry holds the mean figures at the top level (`generalization_gap`,
        `val_accuracy`, ...), their standard deviations under `"std"`, their Student-t
        95% intervals under `"ci95"` (`[lo, hi]`, None with fewer than two seeds), for all
        but the first variant `"vs_reference"` (test accuracy paired over seeds with the
        first: `metric`, `reference`, `mean_diff`, `ci95`, `p_value`), and every run
        (with its history and `"warnings"`) under `"runs"`.
        """
        summary = self.summary()
        variants: dict[str, Any] = {}
        for name, variant in self.variants.items():
            entry = summary[name]
            variants[name] = {
                **variant.to_dict(),
                "status": entry["status"],
                "seeds": entry["seeds"],
                **entry["mean"],
                "std": entry["std"],
                "runs": [r.to_dict() for r in self.runs_for(name)],
            }
        add_statistics(self, variants, METRICS)
        return {
            "regkit_report": REPORT_FORMAT,
            "created": self.created,
            "complete": self.complete,
            "config": jsonable(self.config),
            "seeds": list(self.seeds),
            "versions": dict(self.versions),
            "variants": variants,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Report:
        """Inverse of `to_dict`."""
        variants = {name: Variant.from_dict(v) for name, v in data["variants"].items()}
        runs = [
            RunResult.from_dict(run)
            for entry in data["variants"].values()
            for run in entry.get("runs", [])
        ]
        seeds = tuple(data.get("seeds", (0,)))
        order = {s: i for i, s in enumerate(seeds)}
        names = list(variants)
        runs.sort(key=lambda r: (order.get(r.seed, len(order)), names.index(r.variant)))
        return cls(
            variants=variants,
            runs=runs,
            config=dict(data.get("config", {})),
            seeds=seeds,
            versions=dict(data.get("versions", {})),
            created=data.get("created", ""),
            complete=bool(data.get("complete", True)),
        )

    def to_json(self, path: str | os.PathLike[str]) -> Path:
        """Writes the report as JSON (atomically: readers never see half a file).

        Args:
            path: The file to write; its parent directory is created.

        Returns:
            The path written.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_dict(), indent=2, allow_nan=False)
        atomic_write_text(path, text + "\n")
        return path

    @classmethod
    def from_json(cls, path: str | os.PathLike[str]) -> Report:
        """Reads a report written by `to_json`; its `directory` is the file's folder.

        Raises:
            ValueError: the file is truncated, not JSON, not a regkit report, or a report
                of another format version (the message names the file).
            OSError: the file cannot be read (e.g. FileNotFoundError).
        """
        from regkit.experiments.ledger import read_report

        return read_report(cls, path)

    def load_model(self, variant: str, seed: int = 0) -> Any:
        """The best model of one run, rebuilt and compiled as it was trained.

        The model is built with the exact `Regularization` the run used (e.g. the BatchNorm
        momentum `bn_momentum="auto"` chose), compiled with its optimizer and learning
        rate, and given the best epoch's weights from the run's folder. Evaluated on the
        study's test split, it gives the report's test accuracy.

        Args:
            variant: The variant's name.
            seed: The run's seed.

        Returns:
            A compiled `keras.Model`.

        Raises:
            KeyError: `variant` is not in this report.
            ValueError: no such run, no weights on disk (e.g. `compare` without
                `out_dir`), or a model given as a callable (it cannot be rebuilt by name).

        Example:
            >>> report = compare(["baseline"], epochs=2, out_dir="runs/x")  # doctest: +SKIP
            >>> model = report.load_model("baseline", seed=0)  # doctest: +SKIP
        """
        from regkit.experiments.ledger import load_run_model

        return load_run_model(self, variant, seed)

    def plot(self, directory: str | os.PathLike[str]) -> list[Path]:
        """Draws the curves of all variants overlaid, and their weight norms.

        A thin wrapper around `regkit.plots.plot_report` (see there); needs matplotlib
        (`pip install regkit[plots]`).

        Args:
            directory: Where to write the images (created if missing).

        Returns:
            The paths written.
        """
        from regkit.plots import plot_report

        return plot_report(self, directory)

    def save(self, directory: str | os.PathLike[str], *, plots: bool = True) -> dict[str, Path]:
        """Writes `report.md`, `report.json` and (optionally) the plots into `directory`.

        Returns:
            `{"markdown": ..., "json": ..., "plots": [...]}`-style mapping of what was written.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        written: dict[str, Any] = {"json": self.to_json(directory / "report.json")}
        md = directory / "report.md"
        atomic_write_text(md, self.to_markdown())
        written["markdown"] = md
        if plots:
            written["plots"] = self.plot(directory)
        return written


def jsonable(value: Any) -> Any:
    """`value` with tuples as lists, NaN/inf as None and anything else odd as its repr."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value))
    return repr(value)
