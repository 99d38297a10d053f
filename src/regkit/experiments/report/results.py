"""`Report`: a study's runs and what they show (summary, markdown, JSON, plots).

A `Report` holds the study's `Variant`s and `RunResult`s (plain data defined in
`regkit.experiments.study.records`) and its configuration; it is written with
`Report.to_json` and read back with `Report.from_json` without TensorFlow. Plots are drawn
by `regkit.plots.plot_report` (`Report.plot` is a thin wrapper); `Report.load_model`
rebuilds one run's model from its folder.

Example:
    >>> run = RunResult.from_history("baseline", 0, {
    ...     "loss": [0.9], "val_loss": [1.0], "accuracy": [0.7], "val_accuracy": [0.6]})
    >>> Report(variants={"baseline": Variant("baseline")}, runs=[run]).status("baseline")
    'ok'
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as _dt
import importlib.util
import json
import os
import tempfile
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from regkit._io import atomic_write_text, read_regular_text
from regkit.device import versions
from regkit.experiments.report.analysis import (
    add_statistics,
    difference_rows,
    mean_std,
    measured_values,
    reference_comparisons,
    status_counts,
    sweep_points,
)
from regkit.experiments.report.decisions import design_of
from regkit.experiments.report.run_models import (
    EXPORT_FORMATS,
    MODEL_FILE,
    export_run_model,
    load_run_model,
)
from regkit.experiments.report.tables import (
    PERCENT_METRICS,
    align_table,
    config_line,
    html_report,
    report_line,
    report_notes,
    report_sections,
    stopped_early,
    table_rows,
    terminal_table,
    units_line,
)
from regkit.experiments.report.tuning_trail import trail_summary, tuned_trails
from regkit.experiments.study.records import (
    ACCURACY_KEYS,
    METRICS,
    ORIGINS,
    REPORT_FORMAT,
    STATUSES,
    RunResult,
    Variant,
    jsonable,
)
from regkit.plots import plot_report

__all__ = [
    "ACCURACY_KEYS",
    "EXPORT_FORMATS",
    "METRICS",
    "MODEL_FILE",
    "ORIGINS",
    "STATUSES",
    "Report",
    "RunResult",
    "Variant",
]


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
        """`"ok"`, `"pending"`, `"collapsed"`, `"diverged"`, `"failed"` or a mix such as
        `"diverged (1/3 seeds)"`; collapsed runs are counted apart: `"ok 2, collapsed 1"`. A
        finished fixed-seed study says `"incomplete (2/3 seeds)"` for seeds it never ran; an
        adaptive one does not (a variant it decided early stops by design)."""
        runs = self.runs_for(variant)
        if not runs:
            return "pending"
        counts = status_counts(runs)
        total = len(runs)
        if counts["collapsed"] == total:
            return "collapsed"
        if counts["collapsed"]:  # counted apart from ok: "ok 2, collapsed 1"
            return ", ".join(f"{status} {counts[status]}" for status in STATUSES if counts[status])
        parts = []
        for status in ("diverged", "failed"):
            if counts[status] == total:
                if status == "diverged" and total == 1 and runs[0].diverged_epoch:
                    parts.append(f"diverged (epoch {runs[0].diverged_epoch})")
                else:
                    parts.append(status)
            elif counts[status]:
                parts.append(f"{status} ({counts[status]}/{total} seeds)")
        # an adaptive study stops a variant once it is decided: fewer seeds is its plan
        adaptive = design_of(self.config or {}) is not None
        if self.complete and total < len(self.seeds) and not parts and not adaptive:
            parts.append(f"incomplete ({total}/{len(self.seeds)} seeds)")
        return ", ".join(parts) or "ok"

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per variant: status, seeds run, and `mean`/`std` of every figure in `METRICS`.

        Means and (sample) standard deviations are taken over the runs whose status is
        `"ok"` or `"collapsed"` (a collapse is measured, not an error); a variant whose
        every run diverged or failed keeps only the figures that do not depend on
        convergence (parameters, epochs run, time).

        Returns:
            `{variant: {"status", "description", "seeds", "mean": {metric: value},
            "std": {metric: value}}}`.
        """
        out: dict[str, dict[str, Any]] = {}
        for name, variant in self.variants.items():
            runs = self.runs_for(name)
            means: dict[str, float | None] = {}
            stds: dict[str, float | None] = {}
            for metric in METRICS:
                means[metric], stds[metric] = mean_std(measured_values(runs, metric))
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

    def comparisons(self) -> dict[str, dict[str, Any] | None]:
        """Every variant but the first (the reference) against it, paired by seed, on test
        accuracy: report.json's `"vs_reference"` entries.

        Returns:
            `{variant: {"metric", "reference", "mean_diff", "ci95", "p_value",
            "p_adjusted", "seeds", "detectable", "seeds_needed"} | None}` (None where no
            seed has both figures); see `regkit.experiments.report.analysis.reference_comparisons`.
        """
        return reference_comparisons(self)

    def difference_rows(self) -> list[dict[str, Any]]:
        """The comparisons that have an interval, each with its verdict: what
        `differences.png` draws (`regkit.experiments.report.analysis.difference_rows`)."""
        return difference_rows(self.comparisons())

    def sweep_points(self) -> list[dict[str, Any]]:
        """For a sweep: each swept variant's base, values and figures over seeds.

        See `regkit.experiments.report.analysis.sweep_points`; empty without a sweep.
        """
        return sweep_points(self)

    def to_markdown(self) -> str:
        """A markdown report: title, configuration, units, one table row per variant, notes.

        Accuracies are in percent and the gap in percentage points, each figure the mean
        over seeds with its 95 % CI (said once, above the table). After the table: the
        statistics over seeds and the paired comparison of each variant with the first
        (the reference) with its verdict, or a plain statement that one seed gives no
        interval; a sweep table; and the runs' warnings.

        A variant whose loss went NaN/inf says `diverged` in its Status cell; resumed and
        reused runs are listed in the notes.
        """
        return "\n".join(
            [
                f"# {self.title()}",
                "",
                config_line(self) + ".",
                "",
                units_line(self),
                "",
                align_table(table_rows(self), markdown=True),
                "",
                *(f"- {note}" for note in report_notes(self)),
                "",
                *report_sections(self),
            ]
        )

    def __repr__(self) -> str:
        """One short line: study, variants, seeds and the best variant so far."""
        return report_line(self)

    def _repr_html_(self) -> str:
        """The report in a notebook: the comparison table with its 95% intervals and the
        paired comparison with the reference, then the main figure (`sweep.png` for a
        sweep, else `curves.png`) as an inline PNG when matplotlib is installed; the table
        alone otherwise."""
        return html_report(self, self._main_figure())

    def _main_figure(self) -> str | None:
        if not self.runs or importlib.util.find_spec("matplotlib") is None:
            return None
        with tempfile.TemporaryDirectory(prefix="regkit-report-") as folder:
            try:
                written = [Path(p) for p in self.plot(folder)]
            except (ImportError, ValueError, OSError):  # no figure rather than no report
                return None
            main = next((p for p in written if p.name == "sweep.png"), None)
            main = main or next((p for p in written if p.name == "curves.png"), None)
            if main is None:
                return None
            return base64.b64encode(main.read_bytes()).decode("ascii")

    def to_frame(self) -> Any:
        """The runs as a pandas DataFrame: one row per run.

        Columns: `variant`, `seed`, `status`, `origin`, every figure in `METRICS` (None
        where a run has none: a failed run, a figure not measured), `verdict` (the
        variant's verdict against the reference: ``"reference"``, ``"better"``,
        ``"worse"``, ``"equivalent"``, ``"undecided"``, or None for a report without
        verdicts), `warnings` (how many the run carries) and `error`. Accuracies, the gap
        and the penalty share are in percent (the gap in percentage points), as in every
        table of the report; report.json keeps fractions. `frame.attrs` says so once
        (``"units"``) and holds the verdicts' ``"margin"`` (in points, or None) and the
        ``"reference"``. Rows are in report order (seed, then variant). For a sweep,
        `sweep_frame()` gives one row per swept point with its intervals.

        Returns:
            A `pandas.DataFrame`.

        Raises:
            ImportError: pandas is not installed (`pip install "regkit-keras[pandas]"`).

        Example:
            >>> frame = report.to_frame()  # doctest: +SKIP
            >>> frame.groupby("variant")["test_accuracy"].mean()  # doctest: +SKIP
        """
        pd = _pandas("to_frame")
        names = list(self.variants)
        comparisons = self.comparisons()
        rows = []
        for run in self.runs:
            row: dict[str, Any] = {
                "variant": run.variant,
                "seed": run.seed,
                "status": run.status,
                "origin": run.origin,
            }
            row.update({metric: _shown(metric, getattr(run, metric)) for metric in METRICS})
            found = (comparisons.get(run.variant) or {}).get("verdict")
            row["verdict"] = "reference" if names and run.variant == names[0] else found
            row["warnings"] = len(run.warnings)
            row["error"] = run.error
            rows.append(row)
        columns = ["variant", "seed", "status", "origin", *METRICS, "verdict", "warnings"]
        frame = pd.DataFrame(rows, columns=[*columns, "error"])
        margins = [c["margin"] for c in comparisons.values() if c and c.get("margin")]
        frame.attrs.update(
            units=_FRAME_UNITS,
            margin=100 * margins[0] if margins else None,
            reference=names[0] if names else None,
        )
        return frame

    def sweep_frame(self) -> Any:
        """A sweep's points as a pandas DataFrame: one row per swept variant.

        Columns: `variant`, `base`, each swept field, then for `val_accuracy`,
        `test_accuracy` and `generalization_gap` the mean over the measured seeds and its
        95 % CI (`<metric>`, `<metric>_lo`, `<metric>_hi`), in percent (the gap in
        percentage points) as in `to_frame`, and the runs of each status (`ok`,
        `collapsed`, `diverged`, `failed`). Empty without a sweep.

        Raises:
            ImportError: pandas is not installed (`pip install "regkit-keras[pandas]"`).
        """
        pd = _pandas("sweep_frame")
        fields = list(((self.config or {}).get("sweep") or {}).get("fields") or [])
        rows = []
        for point in self.sweep_points():
            row: dict[str, Any] = {"variant": point["variant"], "base": point["base"]}
            for field in fields or point["values"]:
                row[field] = point["values"].get(field)
            for metric in ("val_accuracy", "test_accuracy", "generalization_gap"):
                figures = point[metric]
                low, high = figures["ci95"] or (None, None)
                row[metric] = _shown(metric, figures["mean"])
                row[f"{metric}_lo"], row[f"{metric}_hi"] = _shown(metric, low), _shown(metric, high)
            row.update(point["counts"])
            rows.append(row)
        frame = pd.DataFrame(rows)
        frame.attrs["units"] = _FRAME_UNITS
        return frame

    def __str__(self) -> str:
        lines = [self.title(), textwrap.fill(config_line(self), 100), ""]
        lines.append(terminal_table(self))
        stopped = stopped_early(self)
        if stopped:
            lines += ["", f"Stopped early: {stopped}; open verdicts stay undecided."]
        trails = tuned_trails(self.config)
        if trails:  # how each tuned arm's value was chosen; report.md has the rounds
            lines += ["", "Tuned on validation accuracy over selection seeds (see report.md):"]
            lines += [f"  {trail_summary(arm, trail)}" for arm, trail in trails.items()]
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
        return read_report(cls, path)

    def load_model(self, variant: str, seed: int = 0) -> Any:
        """The best model of one run, as it was evaluated, compiled as it was trained.

        A finished run leaves its model in its folder as `model.keras` (`MODEL_FILE`:
        the best epoch's weights, the averaged ones for EMA and SWA variants), which
        this method loads with `regkit.load_model`. For a study folder written before
        runs saved it, the model is rebuilt with the exact `Regularization` the run used
        (e.g. the BatchNorm momentum `bn_momentum="auto"` chose), compiled with its
        optimizer and learning rate, and given the best weights from the run's
        checkpoint. Either way, evaluated on the study's test split, it gives the
        report's test accuracy. `regkit export STUDY --variant V --seed S` writes it as
        a `.keras` file, a SavedModel or a TFLite file.

        Args:
            variant: The variant's name.
            seed: The run's seed.

        Returns:
            A compiled `keras.Model`.

        Raises:
            KeyError: `variant` is not in this report.
            ValueError: no such run, no model or weights on disk (e.g. `compare`
                without `out_dir`), or, in an older folder without `model.keras`, a
                model given as a callable (it cannot be rebuilt by name).

        Example:
            >>> report = compare(["baseline"], epochs=2, out_dir="runs/x")  # doctest: +SKIP
            >>> model = report.load_model("baseline", seed=0)  # doctest: +SKIP
        """
        return load_run_model(self, variant, seed)

    def export(
        self,
        variant: str,
        seed: int = 0,
        path: str | os.PathLike[str] | None = None,
        *,
        format: str = "keras",
    ) -> Path:
        """Writes one run's model (`load_model`'s) for use outside regkit.

        ``"keras"`` copies the run's `model.keras` as it is (a study folder written
        before runs saved it gets the rebuilt model saved); ``"savedmodel"`` (TensorFlow
        Serving, TF.js, the converters) and ``"tflite"`` (LiteRT) go through
        `regkit.device.export.export_model`: float32 computation and, for a model that
        rescales its own pixels (report.json's ``config["model_input"]``, as studies on
        uint8 images build it), a uint8 input that takes the data set's raw images.
        `regkit export STUDY --variant V --seed S --format F` is the same from the shell.

        Args:
            variant: The variant's name.
            seed: The run's seed.
            path: Where to write; None: ``<variant>-seed<seed>.keras``,
                ``<variant>-seed<seed>`` (a SavedModel folder) or
                ``<variant>-seed<seed>.tflite`` in the working folder.
            format: ``"keras"``, ``"savedmodel"`` or ``"tflite"`` (`EXPORT_FORMATS`).

        Returns:
            The path written.

        Raises:
            KeyError: `variant` is not in this report.
            ValueError: an unknown format, a ``.keras`` file's path not ending in
                ``.keras``, no such run, or no model on disk (see `load_model`).

        Example:
            >>> report = Report.from_json("runs/digits-cnn-1a2b3c4d/report.json")  # doctest: +SKIP
            >>> report.export("bn", seed=0, path="bn.tflite", format="tflite")  # doctest: +SKIP
            PosixPath('bn.tflite')
        """
        return export_run_model(self, variant, seed, path, format)

    def plot(self, directory: str | os.PathLike[str]) -> list[Path]:
        """Draws the curves of all variants overlaid, and their weight norms.

        A thin wrapper around `regkit.plots.plot_report` (see there); needs matplotlib
        (`pip install regkit-keras[plots]`).

        Args:
            directory: Where to write the images (created if missing).

        Returns:
            The paths written.
        """
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


#: What `Report.to_frame` and `Report.sweep_frame` say about their figures (`frame.attrs`).
_FRAME_UNITS = (
    "accuracies and the penalty share in %, the gap in percentage points "
    f"({', '.join(PERCENT_METRICS)}); intervals (_lo, _hi) are 95 % CIs"
)


def _shown(metric: str, value: Any) -> Any:
    """A figure as the frames show it: percent for `PERCENT_METRICS`."""
    if metric in PERCENT_METRICS and isinstance(value, (int, float)) and value is not True:
        return 100.0 * value
    return value


def _pandas(method: str) -> Any:
    """pandas, or an ImportError that says how to install it."""
    try:
        import pandas  # heavy and optional: only these methods need it
    except ImportError as exc:
        raise ImportError(
            f"Report.{method} needs pandas, which is not installed. Install it with: "
            'pip install "regkit-keras[pandas]"'
        ) from exc
    return pandas


# ---------------------------------------------------------------------------- reading back
#: The largest report.json `Report.from_json` reads.
MAX_REPORT_BYTES = 512 * 2**20


def _report_int(text: str) -> int:
    """An integer of a report (seeds, counts): within 64 bits, as every figure is."""
    if len(text.lstrip("-")) > 19 or abs(int(text)) >= 2**63:
        raise ValueError(
            f"the file holds an integer of {len(text.lstrip('-'))} digits, beyond any "
            "report's figures"
        )
    return int(text)


def read_report(cls: Any, path: str | os.PathLike[str]) -> Any:
    """`Report.from_json`: a report file read back, or a `ValueError` naming the file."""
    path = Path(path)

    def bad(reason: str) -> ValueError:
        return ValueError(
            f"Invalid value for argument `path`: expected a regkit report.json, but "
            f"{reason}. Received: path={str(path)!r}"
        )

    try:  # a regular file of bounded size: never blocks on a FIFO, never reads /dev/zero
        text = read_regular_text(path, max_bytes=MAX_REPORT_BYTES, what="report")
    except ValueError as exc:
        raise bad(str(exc)) from None
    try:
        data = json.loads(text, parse_int=_report_int)
    except json.JSONDecodeError as exc:
        raise bad(f"the file is truncated or not JSON ({exc})") from exc
    except ValueError as exc:  # _report_int
        raise bad(str(exc)) from None
    except RecursionError:
        raise bad("the file nests its JSON deeper than any report does") from None
    if not isinstance(data, Mapping) or "regkit_report" not in data:
        raise bad("the file is not a regkit report (no 'regkit_report' key)")
    version = data["regkit_report"]
    if isinstance(version, bool) or version != REPORT_FORMAT:
        shown = repr(version) if isinstance(version, (int, float, str)) else type(version).__name__
        raise bad(
            f"the file is a report of format {shown[:40]}; this regkit reads format {REPORT_FORMAT}"
        )
    try:
        report = cls.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise bad(f"the report is damaged ({type(exc).__name__}: {str(exc)[:200]})") from exc
    except (RecursionError, OverflowError) as exc:
        raise bad(f"the report is damaged ({type(exc).__name__})") from None
    report.directory = path.parent
    return report
