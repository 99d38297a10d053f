"""Basic-vs-regularized comparisons: `compare()` trains variants, `Report` holds the results.

Every seed notebook ends the same way: train a basic and a regularized model on the same
data and compare them. `compare` does that for any number of named variants and seeds:
every variant sees the same dataset, the same splits, the same batch order and the same
initial random state, so the differences in its `Report` come from the regularization.

This module imports nothing heavy at import time; TensorFlow, Keras and the rest of
regkit are imported by `compare` when it runs, matplotlib by `Report.plot`.

Example:
    >>> from regkit import compare
    >>> report = compare(["baseline", "all"], dataset="digits", epochs=10)  # doctest: +SKIP
    >>> print(report.to_markdown())  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import importlib.util
import json
import logging
import math
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from regkit._checks import invalid as _invalid
from regkit.config import Regularization

__all__ = [
    "METRICS",
    "Report",
    "RunResult",
    "Variant",
    "compare",
    "default_augment",
    "kernel_norm",
    "package_versions",
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

MODELS: tuple[str, ...] = ("cnn", "mobilenet_v2")
STATUSES: tuple[str, ...] = ("ok", "diverged", "failed")
ON_ERROR: tuple[str, ...] = ("raise", "record")

# Datasets whose classes change under a horizontal flip (digits, letters).
_NO_FLIP_DATASETS = frozenset({"digits", "mnist", "emnist", "kmnist", "svhn_cropped"})
_ACCURACY_KEYS = ("accuracy", "acc", "sparse_categorical_accuracy", "categorical_accuracy")
_MIN_IMAGE_SIZE = {"mobilenet_v2": 32}
_CHECKPOINT_NAME = "best.weights.h5"


def _finite(value: Any) -> bool:
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
            if not _finite(self.learning_rate) or self.learning_rate <= 0:
                raise _invalid("learning_rate", "a finite float > 0", self.learning_rate)
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


def _coerce_variants(
    variants: Mapping[str, Variant | Regularization | str | Mapping[str, Any] | None]
    | Sequence[str]
    | str,
) -> dict[str, Variant]:
    if isinstance(variants, str):
        variants = [part.strip() for part in variants.split(",") if part.strip()]
    if isinstance(variants, Mapping):
        items = list(variants.items())
    elif isinstance(variants, Iterable):
        items = []
        for entry in variants:
            if not isinstance(entry, str):
                raise TypeError(
                    "Invalid type for argument `variants`: a sequence must hold preset names "
                    f"(str); pass a mapping for Regularization objects. Received: {entry!r}"
                )
            items.append((entry, entry))
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
            raise _invalid("variants", "non-empty variant names (str)", name)
        if name in result:
            raise _invalid("variants", "unique variant names", f"{name} (given twice)")
        other = folders.setdefault(_slug(name), name)
        if other != name:  # each variant's logs go to out_dir/<slug>/
            raise _invalid(
                "variants", "names that differ after replacing odd characters", [other, name]
            )
        try:
            result[name] = Variant.coerce(value)
        except ValueError as exc:
            if isinstance(value, str):
                raise ValueError(
                    f"Invalid value for argument `variants`: unknown variant {value!r}. "
                    f"Expected one of: {', '.join(Regularization.preset_names())}"
                ) from exc
            raise
    return result


def _slug(name: str) -> str:
    """A variant name as a directory name."""
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", name) or "variant"


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

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise _invalid("status", f"one of {', '.join(STATUSES)}", self.status)

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

        acc_key = next((k for k in _ACCURACY_KEYS if k in hist), None)
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


# ---------------------------------------------------------------------------- formatting
def _fmt(value: float | None, std: float | None, kind: str, several: bool) -> str:
    if value is None:
        return "—"
    if kind == "int":
        text = f"{value:,.0f}" if not several or not std else f"{value:,.1f}"
    elif kind == "acc":
        text = f"{value:.4f}"
    elif kind == "gap":
        text = f"{value:+.4f}"
    elif kind == "pct":
        text = f"{100 * value:.1f}%"
    elif kind == "loss":
        text = f"{value:.4f}"
    else:  # "float"
        text = f"{value:.2f}" if abs(value) < 1000 else f"{value:,.0f}"
    if several and std is not None:
        if kind == "int" and std == 0:
            return text  # parameters, or epochs that agree across seeds
        if kind == "int":
            text += f" ± {std:.1f}"
        elif kind == "pct":
            text += f" ± {100 * std:.1f}%"
        elif kind == "float":
            text += f" ± {std:.2f}"
        else:
            text += f" ± {std:.4f}"
    return text


# (metric, header, kind)
_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("params", "Params", "int"),
    ("epochs_run", "Epochs", "int"),
    ("best_epoch", "Best epoch", "int"),
    ("train_accuracy", "Train acc", "acc"),
    ("val_accuracy", "Val acc", "acc"),
    ("generalization_gap", "Gap (train-val)", "gap"),
    ("test_accuracy", "Test acc", "acc"),
    ("train_loss", "Train loss", "loss"),
    ("val_loss", "Val loss", "loss"),
    ("reg_loss_share", "Reg. loss share", "pct"),
    ("weight_norm", "Weight norm", "float"),
    ("wall_time", "Time (s)", "float"),
)


def _align(rows: list[list[str]], *, markdown: bool) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    # numbers right-aligned, names and status left-aligned
    left = {0, 1, len(widths) - 1}

    def cell(text: str, i: int) -> str:
        return text.ljust(widths[i]) if i in left else text.rjust(widths[i])

    lines = []
    for r, row in enumerate(rows):
        cells = [cell(text, i) for i, text in enumerate(row)]
        lines.append(("| " + " | ".join(cells) + " |") if markdown else "  ".join(cells).rstrip())
        if r == 0:
            if markdown:
                rule = [
                    ("-" * w) if i in left else ("-" * (w - 1) + ":") for i, w in enumerate(widths)
                ]
                lines.append("| " + " | ".join(rule) + " |")
            else:
                lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


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

    def __post_init__(self) -> None:
        self.variants = {name: Variant.coerce(v) for name, v in self.variants.items()}
        self.seeds = tuple(int(s) for s in self.seeds)
        if not self.created:
            self.created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        if not self.versions:
            self.versions = package_versions()

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
    def _table_rows(self) -> list[list[str]]:
        summary = self.summary()
        several = len(self.seeds) > 1
        header = ["Variant", "Regularization", *(h for _, h, _ in _COLUMNS), "Status"]
        rows = [header]
        for name, entry in summary.items():
            row = [name, entry["description"]]
            for metric, _, kind in _COLUMNS:
                row.append(_fmt(entry["mean"][metric], entry["std"][metric], kind, several))
            status = entry["status"]
            errors = [r.error for r in self.runs_for(name) if r.error]
            if errors:
                status += ": " + _shorten(errors[0], 80)
            row.append(status)
            rows.append(row)
        return [[cell.replace("|", "/") for cell in row] for row in rows]

    def _title(self) -> str:
        model = self.config.get("model", "model")
        dataset = self.config.get("dataset", "data")
        return f"regkit comparison: {model} on {dataset}"

    def _config_line(self) -> str:
        c = self.config
        parts = []
        for key, label in (
            ("epochs", "epochs"),
            ("batch_size", "batch size"),
            ("optimizer", "optimizer"),
            ("learning_rate", "learning rate"),
        ):
            if key in c:
                parts.append(f"{label} {c[key]}")
        parts.append("seeds " + ",".join(str(s) for s in self.seeds))
        augment = c.get("augment")
        parts.append("augment " + (_describe_augment(augment) if augment else "none"))
        if c.get("bn_momentum"):
            parts.append(f"BN momentum {c['bn_momentum']}")
        return ", ".join(parts)

    def to_markdown(self) -> str:
        """A markdown report: title, configuration, one table row per variant, notes.

        A variant whose loss went NaN/inf says `diverged` in its Status cell.
        """
        notes = [
            "Figures are at the best epoch (lowest validation loss); test accuracy is the "
            "restored best weights on the test split.",
            "Gap = train - validation accuracy at the best epoch (train accuracy is measured "
            "during training, with dropout and augmentation active).",
            "Reg. loss share = L1/L2 penalty / total loss at the best epoch; weight norm = "
            "global L2 norm of all conv/dense kernels of the reported (best-epoch) weights.",
        ]
        if len(self.seeds) > 1:
            notes.append(
                f"Mean ± sample std over seeds {', '.join(map(str, self.seeds))} "
                "(diverged or failed runs excluded)."
            )
        if not self.complete:
            notes.append("**Partial report:** the comparison is still running or was stopped.")
        return "\n".join(
            [
                f"# {self._title()}",
                "",
                self._config_line() + ".",
                "",
                _align(self._table_rows(), markdown=True),
                "",
                *(f"- {note}" for note in notes),
                "",
            ]
        )

    def __str__(self) -> str:
        lines = [self._title(), self._config_line(), ""]
        lines.append(_align(self._table_rows(), markdown=False))
        if not self.complete:
            lines += ["", "(partial: the comparison is still running or was stopped)"]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: config, seeds, versions, and per variant its figures and runs.

        Each variant entry holds the mean figures at the top level (`generalization_gap`,
        `val_accuracy`, ...), their standard deviations under `"std"`, and every run
        (with its history) under `"runs"`.
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
        return {
            "regkit_report": 1,
            "created": self.created,
            "complete": self.complete,
            "config": _jsonable(self.config),
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
        _atomic_write(path, text + "\n")
        return path

    @classmethod
    def from_json(cls, path: str | os.PathLike[str]) -> Report:
        """Reads a report written by `to_json`."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def plot(self, directory: str | os.PathLike[str]) -> list[Path]:
        """Draws the curves of all variants overlaid, and their weight norms.

        Writes `curves.png` (loss and accuracy per epoch: train solid, validation dashed,
        one colour per variant, one line per seed) and, when the histories hold
        `WeightNormLogger` logs, `weight_norms.png` (global kernel norm per epoch).
        Needs matplotlib (`pip install regkit[plots]`).

        Args:
            directory: Where to write the images (created if missing).

        Returns:
            The paths written.
        """
        from matplotlib.figure import Figure  # heavy: only when plotting

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        colors = [f"C{i % 10}" for i in range(len(self.variants))]
        written: list[Path] = []

        fig = Figure(figsize=(12, 4.5), layout="constrained")
        axes = fig.subplots(1, 2)
        for name, color in zip(self.variants, colors, strict=True):
            for k, run in enumerate(self.runs_for(name)):
                acc_key = next((key for key in _ACCURACY_KEYS if key in run.history), None)
                for ax, key in ((axes[0], "loss"), (axes[1], acc_key)):
                    if key is None:
                        continue
                    for prefix, style in (("", "-"), ("val_", "--")):
                        values = run.history.get(prefix + key)
                        if not values:
                            continue
                        label = None
                        if k == 0:
                            label = f"{name} ({'validation' if prefix else 'train'})"
                        ax.plot(
                            range(1, len(values) + 1),
                            values,
                            style,
                            color=color,
                            alpha=1.0 if k == 0 else 0.45,
                            label=label,
                        )
                if run.best_epoch is not None and k == 0 and run.val_loss is not None:
                    axes[0].plot([run.best_epoch], [run.val_loss], "o", color=color)
        for ax, title in ((axes[0], "Loss"), (axes[1], "Accuracy")):
            ax.set_title(title)
            ax.set_xlabel("Epoch")
            ax.grid(alpha=0.3)
            if ax.has_data():
                ax.legend(fontsize="small")
        fig.suptitle(self._title())
        path = directory / "curves.png"
        fig.savefig(path, dpi=110)
        written.append(path)

        norms = {
            name: [run.weight_norm_history() for run in self.runs_for(name)]
            for name in self.variants
        }
        if any(h for hs in norms.values() for h in hs):
            fig = Figure(figsize=(6.5, 4.5), layout="constrained")
            ax = fig.subplots()
            for name, color in zip(self.variants, colors, strict=True):
                for k, values in enumerate(norms[name]):
                    if values:
                        ax.plot(
                            range(1, len(values) + 1),
                            values,
                            color=color,
                            alpha=1.0 if k == 0 else 0.45,
                            label=name if k == 0 else None,
                        )
            ax.set_title("Global kernel L2 norm")
            ax.set_xlabel("Epoch")
            ax.set_ylabel("‖W‖₂ (all conv/dense kernels)")
            ax.grid(alpha=0.3)
            ax.legend(fontsize="small")
            path = directory / "weight_norms.png"
            fig.savefig(path, dpi=110)
            written.append(path)
        return written

    def save(self, directory: str | os.PathLike[str], *, plots: bool = True) -> dict[str, Path]:
        """Writes `report.md`, `report.json` and (optionally) the plots into `directory`.

        Returns:
            `{"markdown": ..., "json": ..., "plots": [...]}`-style mapping of what was written.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        written: dict[str, Any] = {"json": self.to_json(directory / "report.json")}
        md = directory / "report.md"
        _atomic_write(md, self.to_markdown())
        written["markdown"] = md
        if plots:
            written["plots"] = self.plot(directory)
        return written


def _shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _atomic_write(path: Path, text: str) -> None:
    """Writes next to `path`, then renames: readers never see half a file. The file gets
    the usual permissions (umask), unlike a `mkstemp` file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value))
    return repr(value)


def _describe_augment(augment: Any) -> str:
    if isinstance(augment, Mapping):
        parts = []
        for key, value in augment.items():
            if value is True:
                parts.append(key)
            elif value not in (False, 0, 0.0, None):
                parts.append(f"{key}={value:g}" if isinstance(value, float) else f"{key}={value}")
        return ", ".join(parts) or "none"
    return str(augment)


def package_versions() -> dict[str, str]:
    """Python, platform and installed package versions, read without importing them."""
    from importlib import metadata

    import regkit

    versions = {
        "regkit": regkit.__version__,
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
    }
    for package in ("tensorflow", "keras", "numpy", "tensorflow-datasets", "scikit-learn"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


# ---------------------------------------------------------------------------- compare
@dataclasses.dataclass
class _Plan:
    """Everything `compare` checked before training (see `_plan_comparison`)."""

    variants: dict[str, Variant]
    model: str | Callable[..., Any]
    model_kwargs: dict[str, Any]
    splits: Any
    dataset_name: str
    epochs: int
    batch_size: int
    seeds: tuple[int, ...]
    augment: Any
    image_size: tuple[int, int] | None
    input_shape: tuple[int, ...]
    out_dir: Path | None
    learning_rate: float
    optimizer: str
    patience: int
    run_eagerly: bool
    callbacks: list[Any]
    verbose: int | str
    on_error: str
    plots: bool
    config: dict[str, Any]
    strategy: Any = None


def _check_positive_int(arg: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _invalid(arg, "an int >= 1", value)
    return int(value)


def _coerce_seeds(seeds: Any) -> tuple[int, ...]:
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        seeds = (seeds,)
    if isinstance(seeds, str) or not isinstance(seeds, Iterable):
        raise _invalid("seeds", "a non-empty sequence of ints", seeds)
    seeds = tuple(seeds)
    if not seeds:
        raise _invalid("seeds", "a non-empty sequence of ints", seeds)
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise _invalid("seeds", "ints >= 0", seeds)
    if len(set(seeds)) != len(seeds):
        raise _invalid("seeds", "distinct seeds", seeds)
    return tuple(int(s) for s in seeds)


def default_augment(dataset: str) -> dict[str, Any]:
    """The augmentation `augment=True` means for `dataset`, as `Augment` keyword arguments.

    Digit-like datasets get small rotations, shifts and zooms filled with the black
    background (a mirrored digit is another symbol); others get seed 000's
    ImageDataGenerator settings (flip, 15 degree rotation, 10% shifts, nearest fill).

    Example:
        >>> default_augment("digits")["flip"]
        False
    """
    if dataset.split("/")[0].lower() in _NO_FLIP_DATASETS:
        return {"rotation": 10.0, "translate": 0.1, "zoom": 0.1, "fill_mode": "constant"}
    return {"flip": True, "rotation": 15.0, "translate": 0.1, "fill_mode": "nearest"}


def _coerce_augment(augment: Any, dataset_name: str) -> Any:
    from regkit.data import Augment

    if augment is True:
        return Augment(**default_augment(dataset_name))
    aug = Augment.coerce(augment)
    return aug if aug is not None and aug.active else None


def _augment_needs_one_hot(augment: Any) -> bool:
    return augment is not None and bool(augment.mixes_labels)


def _augment_config(augment: Any) -> dict[str, Any] | None:
    if augment is None:
        return None
    if dataclasses.is_dataclass(augment) and not isinstance(augment, type):
        return _jsonable(dataclasses.asdict(augment))
    get_config = getattr(augment, "get_config", None)
    if callable(get_config):
        return _jsonable(get_config())
    return {"repr": repr(augment)}


#: What `bn_momentum="auto"` switches to: an average over ~10 steps (PyTorch's default).
AUTO_BN_MOMENTUM = 0.9


def _apply_bn_momentum(
    variants: dict[str, Variant], bn_momentum: Any, steps: int | None
) -> tuple[dict[str, Variant], str | None]:
    """Overrides the BatchNorm momentum of every variant that uses BatchNorm.

    `"auto"`: a momentum m averages BN statistics over about 1 / (1 - m) steps (100 for
    Keras' 0.99). When that is more than an epoch has steps, the moving statistics lag the
    weights for many epochs and validation accuracy sits at chance (36 steps per epoch on
    digits at batch 32), so such variants get `AUTO_BN_MOMENTUM` instead.
    """
    if bn_momentum is None:
        return variants, None
    uses_bn = {n for n, v in variants.items() if v.reg.batch_norm or v.reg.head_batch_norm}
    changed: dict[str, Any]
    note: str | None
    if bn_momentum == "auto":
        changed = {}
        for name in uses_bn:
            momentum = variants[name].reg.bn_momentum
            if steps is not None and momentum > AUTO_BN_MOMENTUM and 1 / (1 - momentum) > steps:
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
            raise _invalid("bn_momentum", "None, 'auto' or a float in [0, 1)", bn_momentum)
        if not 0.0 <= bn_momentum < 1.0:
            raise _invalid("bn_momentum", "None, 'auto' or a float in [0, 1)", bn_momentum)
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
        raise _invalid("image_size", "None, an int > 0 or a (height, width) pair", image_size)
    return (int(image_size[0]), int(image_size[1]))


def _limit_splits(splits: Any, limit: int) -> Any:
    """At most `limit` examples per split; in-memory arrays stay arrays (fast pipelines)."""
    changes: dict[str, Any] = {}
    arrays = getattr(splits, "arrays", None)
    new_arrays = {}
    for key in ("train", "validation", "test"):
        dataset = getattr(splits, key)
        if dataset is None:
            continue
        if arrays and key in arrays:
            part = arrays[key]
            part = dataclasses.replace(part, images=part.images[:limit], labels=part.labels[:limit])
            new_arrays[key] = part
            changes[key] = part.as_dataset()
        else:
            changes[key] = dataset.take(limit)
    if dataclasses.is_dataclass(splits) and not isinstance(splits, type):
        if "num_examples" in {f.name for f in dataclasses.fields(splits)}:
            changes["num_examples"] = {
                k: (None if v is None else min(v, limit))
                for k, v in getattr(splits, "num_examples").items()  # noqa: B009
            }
        if arrays:
            changes["arrays"] = new_arrays
        return dataclasses.replace(splits, **changes)
    return splits._replace(**changes)


def _model_label(model: Any) -> str:
    if isinstance(model, str):
        return model
    return getattr(model, "__qualname__", None) or type(model).__name__


def _check_out_dir(out_dir: str | os.PathLike[str]) -> Path:
    path = Path(out_dir).expanduser()
    if path.exists() and not path.is_dir():
        raise _invalid("out_dir", "a directory (a file is in the way)", str(path))
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".regkit-write-test-"):
            pass
    except OSError as exc:
        raise _invalid(
            "out_dir", f"a writable directory ({exc.strerror or exc})", str(path)
        ) from exc
    return path


def _check_free_space(path: Path, needed: int) -> None:
    free = shutil.disk_usage(path).free
    if free < needed:
        raise OSError(
            f"Not enough free space in {path}: {free / 2**20:.0f} MiB free, about "
            f"{needed / 2**20:.0f} MiB needed for checkpoints and logs."
        )


def _plan_comparison(
    variants: Any,
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
    limit: int | None = None,
    patience: int = 7,
    bn_momentum: float | str | None = None,
    run_eagerly: bool = False,
    callbacks: Sequence[Any] | None = None,
    verbose: int | str = 2,
    on_error: str = "raise",
    plots: bool = True,
    strategy: Any = None,
) -> _Plan:
    """Validates every argument and loads the data; trains nothing.

    Raises:
        ValueError / TypeError: as `compare` documents.
    """
    plan_variants = _coerce_variants(variants)
    epochs = _check_positive_int("epochs", epochs)
    batch_size = _check_positive_int("batch_size", batch_size)
    patience = _check_positive_int("patience", patience)
    seed_tuple = _coerce_seeds(seeds)
    if limit is not None:
        limit = _check_positive_int("limit", limit)
    if not _finite(learning_rate) or learning_rate <= 0:
        raise _invalid("learning_rate", "a finite float > 0", learning_rate)
    if on_error not in ON_ERROR:
        raise _invalid("on_error", f"one of {', '.join(map(repr, ON_ERROR))}", on_error)
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
    kwargs = dict(model_kwargs or {})
    if "reg" in kwargs:
        raise _invalid("model_kwargs", "no `reg` (each variant supplies its own)", kwargs)

    from regkit.training import OPTIMIZERS

    for opt_name in [optimizer, *(v.optimizer for v in plan_variants.values() if v.optimizer)]:
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

    from regkit import data as rdata

    if isinstance(dataset, str):
        dataset_name = dataset
        splits = rdata.load_dataset(dataset, data_dir=data_dir, download=download)
    elif all(hasattr(dataset, a) for a in ("train", "validation", "test", "num_classes")):
        dataset_name = getattr(dataset, "name", None) or "custom data"
        splits = dataset
    else:
        raise TypeError(
            "Invalid type for argument `dataset`: expected a dataset name or a "
            f"regkit.data.DatasetSplits. Received: dataset={dataset!r}"
        )
    if splits.validation is None:
        raise _invalid(
            "dataset",
            "splits with a validation split (the best epoch is chosen on it)",
            f"{dataset_name} without one",
        )
    if limit is not None:
        splits = _limit_splits(splits, limit)
    aug = _coerce_augment(augment, dataset_name)

    size = _coerce_image_size(image_size)
    raw_height, raw_width, raw_channels = splits.image_shape
    if raw_channels is None:
        raise _invalid("dataset", "images with a known number of channels", dataset_name)
    if size is None:
        if raw_height is None or raw_width is None:
            raise _invalid(
                "image_size",
                f"a size for {dataset_name}, whose images vary in size (e.g. image_size=160)",
                image_size,
            )
        height_width = (raw_height, raw_width)
        min_size = _MIN_IMAGE_SIZE.get(model) if isinstance(model, str) else None
        if min_size and min(height_width) < min_size:  # resize only where the model needs it
            size = (max(raw_height, min_size), max(raw_width, min_size))
            height_width = size
    else:
        height_width = size
    input_shape: tuple[int, ...] = (*height_width, int(raw_channels))
    image_shape = tuple(splits.image_shape)

    train_size = (getattr(splits, "num_examples", None) or {}).get("train")
    steps = math.ceil(train_size / batch_size) if train_size else None
    plan_variants, momentum_note = _apply_bn_momentum(plan_variants, bn_momentum, steps)

    path = _check_out_dir(out_dir) if out_dir is not None else None
    if plots and path is not None and importlib.util.find_spec("matplotlib") is None:
        warnings.warn(
            "matplotlib is not installed, so compare will write no plots "
            "(pip install 'regkit[plots]'; Report.plot can draw them later).",
            stacklevel=3,
        )
        plots = False

    config = {
        "model": _model_label(model),
        "model_kwargs": _jsonable(kwargs),
        "dataset": dataset_name,
        "num_classes": int(splits.num_classes),
        "image_shape": list(image_shape),
        "image_size": None if size is None else list(size),
        "input_shape": list(input_shape),
        "epochs": epochs,
        "batch_size": batch_size,
        "seeds": list(seed_tuple),
        "augment": _augment_config(aug),
        "optimizer": optimizer,
        "learning_rate": float(learning_rate),
        "patience": patience,
        "limit": limit,
        "steps_per_epoch": steps,
        "bn_momentum": momentum_note,
        "best_epoch_monitor": "val_loss",
        "command": " ".join(sys.argv) if sys.argv and sys.argv[0] else None,
    }
    strategy = _coerce_strategy(strategy)
    config["strategy"] = type(strategy).__name__
    config["replicas"] = int(strategy.num_replicas_in_sync)
    return _Plan(
        variants=plan_variants,
        model=model,
        model_kwargs=kwargs,
        splits=splits,
        dataset_name=dataset_name,
        epochs=epochs,
        batch_size=batch_size,
        seeds=seed_tuple,
        augment=aug,
        image_size=size,
        input_shape=input_shape,
        out_dir=path,
        learning_rate=float(learning_rate),
        optimizer=optimizer,
        patience=patience,
        run_eagerly=bool(run_eagerly),
        callbacks=list(callbacks or []),
        verbose=verbose,
        on_error=on_error,
        plots=plots,
        config=config,
        strategy=strategy,
    )


def _coerce_strategy(strategy: Any) -> Any:
    """`strategy` or, for None, `regkit.device.strategy()` (Mirrored on several GPUs)."""
    import tensorflow as tf

    if strategy is None:
        from regkit.device import strategy as default_strategy

        return default_strategy()
    if not isinstance(strategy, tf.distribute.Strategy):
        raise TypeError(
            "Invalid type for argument `strategy`: expected a tf.distribute.Strategy or None. "
            f"Received: strategy={strategy!r} of type {type(strategy).__name__}"
        )
    return strategy


def _build_and_compile(plan: _Plan, variant: Variant, num_classes: int) -> Any:
    """Builds and compiles one variant's model: the single place a model is created.

    Keeping creation and compilation together lets a distribution strategy wrap both in
    `strategy.scope()`.
    """
    import contextlib

    scope = plan.strategy.scope() if plan.strategy is not None else contextlib.nullcontext()
    with scope:
        return _build_and_compile_in_scope(plan, variant, num_classes)


def _build_and_compile_in_scope(plan: _Plan, variant: Variant, num_classes: int) -> Any:
    from regkit.training import compile_model

    reg = variant.reg
    if isinstance(plan.model, str):
        from regkit import models

        if plan.model == "cnn":
            model = models.build_cnn(plan.input_shape, num_classes, reg=reg, **plan.model_kwargs)
        else:
            model = models.build_mobilenet_v2(
                plan.input_shape, num_classes, reg=reg, **plan.model_kwargs
            )
    else:
        model = plan.model(plan.input_shape, num_classes, reg=reg, **plan.model_kwargs)
    labels = "one_hot" if _augment_needs_one_hot(plan.augment) else "sparse"
    model = compile_model(
        model,
        optimizer=variant.optimizer or plan.optimizer,
        learning_rate=variant.learning_rate or plan.learning_rate,
        weight_decay=reg.weight_decay,
        labels=labels,
    )
    model.run_eagerly = plan.run_eagerly
    return model


def kernel_norm(model: Any) -> float:
    """Global L2 norm of every conv, depthwise and dense kernel of `model`.

    Example:
        >>> import keras
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> kernel_norm(model) > 0
        True
    """
    import numpy as np

    total = 0.0
    for variable in model.weights:
        if variable.name in ("kernel", "depthwise_kernel"):
            total += float(np.sum(np.square(np.asarray(variable.numpy(), dtype=np.float64))))
    return math.sqrt(total)


def _pipelines(plan: _Plan, seed: int) -> tuple[Any, Any, Any]:
    from regkit.data import image_pipeline

    common: dict[str, Any] = {
        "batch_size": plan.batch_size,
        "image_size": plan.image_size,
        "one_hot": _augment_needs_one_hot(plan.augment),
        "num_classes": int(plan.splits.num_classes),
    }
    train = image_pipeline(
        plan.splits.train, augment=plan.augment, training=True, seed=seed, **common
    )
    validation = image_pipeline(plan.splits.validation, training=False, **common)
    test = None
    if plan.splits.test is not None:
        test = image_pipeline(plan.splits.test, training=False, **common)
    return train, validation, test


_EPOCH_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy", "reg_loss_share", "learning_rate")


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


def _run_one(plan: _Plan, name: str, variant: Variant, seed: int, run_dir: Path) -> RunResult:
    import keras

    from regkit.callbacks import standard_callbacks

    keras.backend.clear_session()  # same layer names in every run, memory released
    keras.utils.set_random_seed(seed)
    model = _build_and_compile(plan, variant, int(plan.splits.num_classes))
    params = int(model.count_params())
    run_dir.mkdir(parents=True, exist_ok=True)
    # checkpoint + a backup with optimizer state + logs, with room to spare
    _check_free_space(run_dir, needed=params * 4 * 6 + 16 * 2**20)
    checkpoint = run_dir / _CHECKPOINT_NAME
    backup_dir = run_dir / "backup"
    csv_path = run_dir / "log.csv"
    resumed = backup_dir.exists()  # an interrupted earlier run: fit resumes it
    if not resumed:
        checkpoint.unlink(missing_ok=True)  # never evaluate a stale checkpoint
    callbacks = [
        *standard_callbacks(
            checkpoint,
            patience=plan.patience,
            backup_dir=backup_dir,
            csv_path=csv_path,
            verbose=0,
            weight_norms=True,
            reg_monitor=True,
        ),
        _stop_on_nonfinite_weights(),
        *plan.callbacks,
    ]
    keras_verbose = plan.verbose
    if plan.verbose == 2:
        callbacks.append(_epoch_printer(plan.epochs))
        keras_verbose = 0
    train, validation, test = _pipelines(plan, seed)
    start = time.perf_counter()
    fitted = model.fit(
        train,
        validation_data=validation,
        epochs=plan.epochs,
        callbacks=callbacks,
        verbose=keras_verbose,
        shuffle=False,  # the pipeline shuffles, with the run's seed
    )
    history: Mapping[str, Sequence[float]] = fitted.history
    if resumed and csv_path.exists():  # History holds only the resumed epochs
        from regkit.plots import load_history

        history = load_history(csv_path)[1]
    if checkpoint.exists():  # the best epoch's weights, whatever stopped training
        model.load_weights(checkpoint)
    results = model.evaluate(test, return_dict=True, verbose=0) if test is not None else {}
    wall_time = time.perf_counter() - start
    acc_key = next((k for k in _ACCURACY_KEYS if k in results), None)
    return RunResult.from_history(
        name,
        seed,
        history,
        params=params,
        test_accuracy=results.get(acc_key) if acc_key else None,
        test_loss=results.get("loss"),
        weight_norm=kernel_norm(model),
        wall_time=wall_time,
    )


class _DropRetracingWarnings(logging.Filter):
    """compare builds a fresh model per run on purpose; TF's retracing advice is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


@contextlib.contextmanager
def _quiet_retracing() -> Any:
    logger = logging.getLogger("tensorflow")
    drop = _DropRetracingWarnings()
    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)


def _run_comparison(plan: _Plan) -> Report:
    report = Report(
        variants=plan.variants,
        config=plan.config,
        seeds=plan.seeds,
        complete=False,
    )
    total = len(plan.seeds) * len(plan.variants)
    workdir = plan.out_dir
    tmp: tempfile.TemporaryDirectory[str] | None = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="regkit-compare-")
        workdir = Path(tmp.name)
    say = (lambda text: print(text, flush=True)) if plan.verbose else (lambda text: None)
    try:
        index = 0
        for seed in plan.seeds:
            for name, variant in plan.variants.items():
                index += 1
                say(f"[{index}/{total}] variant {name!r} seed {seed}: {variant.describe()}")
                run_dir = workdir / _slug(name) / f"seed{seed}"
                start = time.perf_counter()
                try:
                    with _quiet_retracing():
                        result = _run_one(plan, name, variant, seed, run_dir)
                except Exception as exc:
                    result = RunResult.failed(
                        name, seed, exc, wall_time=time.perf_counter() - start
                    )
                    if plan.out_dir is not None:
                        run_dir.mkdir(parents=True, exist_ok=True)
                        (run_dir / "error.txt").write_text(traceback.format_exc(), "utf-8")
                    if plan.on_error == "raise":
                        report.runs.append(result)
                        _save_partial(report, plan)
                        raise
                    say(f"    variant {name!r} seed {seed} failed: {result.error}")
                report.runs.append(result)
                if result.status == "diverged":
                    say(
                        f"    variant {name!r} seed {seed} diverged "
                        f"(non-finite loss or weights in epoch {result.diverged_epoch})"
                    )
                elif result.status == "ok":
                    say(f"    {_run_summary(result)}")
                _save_partial(report, plan)
        report.complete = True
        if plan.out_dir is not None:
            report.save(plan.out_dir, plots=plan.plots)
    finally:
        if tmp is not None:
            tmp.cleanup()
    return report


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


def _save_partial(report: Report, plan: _Plan) -> None:
    if plan.out_dir is not None:
        report.save(plan.out_dir, plots=False)


def compare(
    variants: Mapping[str, Variant | Regularization | str | Mapping[str, Any] | None]
    | Sequence[str],
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
    limit: int | None = None,
    patience: int = 7,
    bn_momentum: float | str | None = None,
    run_eagerly: bool = False,
    callbacks: Sequence[Any] | None = None,
    verbose: int | str = 2,
    on_error: str = "raise",
    plots: bool = True,
    strategy: Any = None,
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
        variants: Names mapped to `Regularization` objects, preset names, dicts or
            `Variant`s (a `Variant` can also override the learning rate or optimizer),
            or a sequence of preset names such as `["baseline", "all"]`.
        model: `"cnn"` (`build_cnn`), `"mobilenet_v2"` (`build_mobilenet_v2`; images
            smaller than 32x32 are resized to 32x32) or a callable
            `(input_shape, num_classes, reg=..., **model_kwargs) -> keras.Model`.
        dataset: A name for `regkit.data.load_dataset` (`"digits"`, `"cifar10"`, a tfds
            name) or a `regkit.data.DatasetSplits`.
        epochs: Maximum epochs per run (early stopping may end a run sooner).
        batch_size: Batch size.
        seeds: The seeds; every variant runs once per seed.
        augment: None, True (a sensible default for the dataset, see `default_augment`),
            a `regkit.data.Augment`, a dict of its arguments or an `Augment` preset name
            (`"seed000"`, `"seed001"`). MixUp/CutMix switch the labels to one-hot.
        out_dir: Directory for the report, plots, logs and checkpoints; None keeps
            nothing on disk.
        learning_rate: Learning rate of every variant without its own.
        optimizer: Keras optimizer name for every variant without its own.
        model_kwargs: Extra keyword arguments for the model builder (e.g.
            `{"filters": (16, 32)}`).
        image_size: Resize images to this `(height, width)` (or square size); needed
            for datasets whose images vary in size, such as `"imagenette/160px"`.
        data_dir: Passed to `load_dataset` when `dataset` is a name.
        download: Passed to `load_dataset`: None downloads CIFAR when absent but never
            tfds sets; True also downloads and prepares tfds sets; False never downloads.
        limit: Use at most this many examples of each split (quick trials).
        patience: Early-stopping patience in epochs.
        bn_momentum: BatchNorm momentum for every variant that uses BatchNorm: None
            keeps each variant's own (Keras' 0.99 in the presets), a float overrides it,
            `"auto"` switches to 0.9 only where the moving statistics would average over
            more steps than an epoch has (small datasets such as digits, where 0.99 leaves
            validation accuracy at chance for ~15 epochs). The report records the change.
        run_eagerly: Train without `tf.function` (Keras' `run_eagerly`): for debugging,
            and faster for one-step smoke runs, where tracing costs more than training.
        callbacks: Extra Keras callbacks for every run. Stateful callbacks are shared
            between runs.
        verbose: 2 (default): one short line per epoch (loss, accuracy, validation,
            penalty share, learning rate); 1: Keras' progress bar; 0: silent, also
            without the "[i/n] variant ..." lines.
        on_error: `"raise"` re-raises an exception from a run (after saving the partial
            report); `"record"` reports that run as `failed` and carries on.
        plots: Draw `curves.png` and `weight_norms.png` into `out_dir` (needs matplotlib).
        strategy: A `tf.distribute.Strategy` under which every model and optimizer is
            created; Keras' `fit` then distributes the datasets. `batch_size` is the global
            batch (split across replicas). None: `regkit.device.strategy()`, which is a
            `MirroredStrategy` on a machine with several GPUs and the default otherwise.

    Returns:
        A `Report`.

    Raises:
        ValueError: `variants` is empty or names an unknown preset, `epochs`,
            `batch_size`, `patience` or `limit` < 1, `seeds` is empty or repeats a seed,
            `model`, `optimizer` or `dataset` names something unknown, or `out_dir` is
            not a writable directory. All are raised before any training.
        TypeError: an argument has the wrong type.
        OSError: the disk runs out of room for checkpoints.

    Example:
        >>> report = compare(
        ...     {"baseline": "baseline", "l2": Regularization(l2=1e-3)},
        ...     dataset="digits", epochs=2, verbose=0,
        ...     model_kwargs={"filters": (8, 16), "dense_units": (32,)},
        ... )  # doctest: +SKIP
        >>> report.summary()["l2"]["status"]  # doctest: +SKIP
        'ok'
    """
    plan = _plan_comparison(
        variants,
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
    )
    return _run_comparison(plan)
