"""What a report says beyond its figures: intervals over seeds, the comparison with the
reference variant, sweep tables, and warnings that explain a run that looks `ok` but is not.

Everything here reads plain data (runs with a `history` dict and per-run figures, as
`RunResult` holds them) and returns JSON-ready values or markdown lines; `Report` calls it.
Nothing here imports TensorFlow.

Example:
    >>> from regkit.experiments.results import RunResult
    >>> run = RunResult.from_history("hot", 0, {
    ...     "loss": [2.3, 2.3, 2.3], "val_loss": [2.3, 2.3, 2.3],
    ...     "accuracy": [0.1, 0.1, 0.1], "val_accuracy": [0.1, 0.1, 0.1]})
    >>> run_warnings(run, num_classes=10)[0][:47]
    'training accuracy 0.10 after 3 epochs is chance'
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from regkit.experiments.stats import ci95, mean, paired_difference

__all__ = [
    "CHANCE_EPOCHS",
    "GROWTH_LIMIT",
    "PENALTY_SHARE_LIMIT",
    "intervals",
    "reference_comparison",
    "run_warnings",
    "statistics_lines",
    "sweep_lines",
    "sweep_points",
    "warning_lines",
]

#: A penalty above this share of the loss at the best epoch gets a warning.
PENALTY_SHARE_LIMIT = 0.9
#: A weight norm, loss or effective learning rate that changes by this factor gets one.
GROWTH_LIMIT = 100.0
#: Training accuracy still at chance after this many epochs gets one.
CHANCE_EPOCHS = 3

_ACCURACY_KEYS = ("accuracy", "acc", "sparse_categorical_accuracy", "categorical_accuracy")
_INTERVAL_METRICS = ("val_accuracy", "test_accuracy", "generalization_gap")


def _finite(values: Iterable[Any]) -> list[float]:
    out = []
    for v in values:
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            out.append(float(v))
    return out


def _ok_values(runs: Sequence[Any], metric: str) -> list[float]:
    pool = (
        runs
        if metric in ("params", "epochs_run", "wall_time")
        else [r for r in runs if r.status == "ok"]
    )
    return _finite(getattr(r, metric, None) for r in pool)


# ---------------------------------------------------------------------------- statistics
def intervals(runs: Sequence[Any], metrics: Sequence[str]) -> dict[str, list[float] | None]:
    """Student-t 95% interval of each metric's mean over a variant's `ok` runs.

    Returns:
        `{metric: [lo, hi]}`, None where fewer than two runs give the figure.
    """
    out: dict[str, list[float] | None] = {}
    for metric in metrics:
        interval = ci95(_ok_values(runs, metric))
        out[metric] = None if interval is None else [interval[0], interval[1]]
    return out


def reference_comparison(
    reference: str,
    reference_runs: Sequence[Any],
    runs: Sequence[Any],
    *,
    metric: str = "test_accuracy",
) -> dict[str, Any] | None:
    """A variant against the reference, paired by seed (seeds where both ran `ok`).

    Returns:
        `{"metric", "reference", "mean_diff", "ci95", "p_value", "seeds"}` (the difference
        is this variant minus the reference; `ci95`/`p_value` are None with one pair), or
        None when no seed has both figures.
    """
    ref = {r.seed: getattr(r, metric, None) for r in reference_runs if r.status == "ok"}
    candidates = [
        (ref[r.seed], getattr(r, metric, None)) for r in runs if r.status == "ok" and r.seed in ref
    ]
    pairs: list[tuple[float, float]] = []
    for a, b in candidates:
        both = _finite([a, b])
        if len(both) == 2:
            pairs.append((both[0], both[1]))
    if not pairs:
        return None
    diff = paired_difference([a for a, _ in pairs], [b for _, b in pairs])
    return {
        "metric": metric,
        "reference": reference,
        "mean_diff": diff.mean_diff,
        "ci95": None if diff.ci95 is None else [diff.ci95[0], diff.ci95[1]],
        "p_value": diff.p_value,
        "seeds": diff.n,
    }


def _interval_text(values: Sequence[float], digits: int = 4) -> str:
    centre = mean(values)
    if centre is None:
        return "—"
    interval = ci95(values)
    if interval is None:
        return f"{centre:.{digits}f}"
    return f"{centre:.{digits}f} [{interval[0]:.{digits}f}, {interval[1]:.{digits}f}]"


def _verdict(comparison: Mapping[str, Any] | None) -> str:
    if comparison is None:
        return "no seed where both ran"
    diff = comparison["mean_diff"]
    interval = comparison["ci95"]
    if interval is None:
        return f"{diff:+.4f} (one seed: no interval can be given)"
    lo, hi = interval
    text = f"{diff:+.4f} [{lo:+.4f}, {hi:+.4f}], p = {comparison['p_value']:.3g}"
    if lo <= 0 <= hi:
        return f"{text}: not distinguishable from zero at {comparison['seeds']} seeds"
    better = "higher" if diff > 0 else "lower"
    return f"{text}: {better} than the reference"


def statistics_lines(report: Any) -> list[str]:
    """The report's "Statistics over seeds" section (markdown lines).

    With one seed it says plainly that no interval can be given.
    """
    names = list(report.variants)
    lines = ["## Statistics over seeds", ""]
    if len(report.seeds) < 2:
        lines += [
            "One seed: no confidence interval can be given, and a difference between "
            "variants cannot be told from seed noise. Run several seeds (e.g. "
            "`--seeds 0,1,2`) for 95% intervals and a paired comparison with the reference.",
            "",
        ]
        return lines
    reference = names[0]
    ref_runs = report.runs_for(reference)
    rows = [
        [
            "Variant",
            "Val acc [95% CI]",
            "Test acc [95% CI]",
            "Gap [95% CI]",
            f"Test acc vs {reference} (paired)",
        ]
    ]
    for name in names:
        runs = report.runs_for(name)
        row = [name, *(_interval_text(_ok_values(runs, m)) for m in _INTERVAL_METRICS)]
        if name == reference:
            row.append("reference")
        else:
            row.append(_verdict(reference_comparison(reference, ref_runs, runs)))
        rows.append(row)
    from regkit.experiments.tables import align_table

    lines += [
        align_table([[c.replace("|", "/") for c in r] for r in rows], markdown=True),
        "",
        f"Mean [Student-t 95% confidence interval] over the `ok` runs of seeds "
        f"{', '.join(map(str, report.seeds))}. The last column is the mean difference in "
        "test accuracy over the same seeds, its 95% interval and a paired t-test p-value; "
        "an interval that contains 0 means the difference is not distinguishable from "
        "seed noise at this number of seeds.",
        "",
    ]
    return lines


# ---------------------------------------------------------------------------- sweeps
def sweep_points(report: Any) -> list[dict[str, Any]]:
    """One point per swept variant: its base, swept values and figures over seeds.

    Returns:
        `[{"variant", "base", "values": {field: value}, metric: {"mean", "ci95",
        "values"}}]` for `val_accuracy`, `test_accuracy`, `generalization_gap`; empty when
        the report has no sweep.
    """
    sweep = (report.config or {}).get("sweep") or {}
    members = sweep.get("variants") or {}
    points = []
    for name, info in members.items():
        if name not in report.variants:
            continue
        runs = report.runs_for(name)
        point: dict[str, Any] = {
            "variant": name,
            "base": info.get("base"),
            "values": dict(info.get("values") or {}),
            "diverged": sum(r.status != "ok" for r in runs),
        }
        for metric in _INTERVAL_METRICS:
            values = _ok_values(runs, metric)
            interval = ci95(values)
            point[metric] = {
                "mean": mean(values),
                "ci95": None if interval is None else list(interval),
                "values": values,
            }
        points.append(point)
    return points


def sweep_lines(report: Any) -> list[str]:
    """The report's sweep table (markdown lines); empty without a sweep."""
    points = sweep_points(report)
    if not points:
        return []
    fields = list((report.config.get("sweep") or {}).get("fields") or points[0]["values"])
    header = ["Base", *fields, "Val acc [95% CI]", "Test acc [95% CI]", "Gap [95% CI]", "Runs"]
    rows = [header]
    for p in points:
        row = [str(p["base"]), *(_value_text(p["values"].get(f)) for f in fields)]
        row += [_interval_text(p[m]["values"]) for m in _INTERVAL_METRICS]
        seeds = len(report.runs_for(p["variant"]))
        row.append(f"{seeds - p['diverged']}/{seeds} ok")
        rows.append(row)
    from regkit.experiments.tables import align_table

    return [
        f"## Sweep over {', '.join(fields)}",
        "",
        align_table([[c.replace("|", "/") for c in r] for r in rows], markdown=True),
        "",
        "Each row is one base variant with the swept value; mean [95% CI] over the seeds "
        "that ran `ok` (`sweep.png` plots the same).",
        "",
    ]


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# ---------------------------------------------------------------------------- warnings
def _accuracy_key(history: Mapping[str, Sequence[float]]) -> str | None:
    return next((k for k in _ACCURACY_KEYS if k in history), None)


def _growth(values: Sequence[float]) -> tuple[float, float, float] | None:
    """(first, extreme, factor) where the series moved furthest from its first value."""
    finite = [v for v in _finite(values) if v > 0]
    if len(finite) < 2:
        return None
    first = finite[0]
    high, low = max(finite), min(finite)
    if high / first >= first / low:
        return first, high, high / first
    return first, low, low / first


def run_warnings(
    run: Any,
    *,
    num_classes: int | None = None,
    batch_norm: bool = False,
    penalty: bool = False,
) -> list[str]:
    """Plain-language warnings for one run whose figures may look fine but are not.

    Checked: the L1/L2 penalty above `PENALTY_SHARE_LIMIT` of the loss at the best epoch;
    the training loss or the global weight norm growing by `GROWTH_LIMIT` or more;
    training accuracy still at chance after `CHANCE_EPOCHS` epochs; validation accuracy at
    chance while training accuracy is not (BatchNorm statistics lagging); the effective
    learning rate of BatchNorm'd kernels (``lr / ||w||^2``) collapsing or exploding by
    `GROWTH_LIMIT` (L2 under BatchNorm acts on it).

    Args:
        run: A `RunResult` (its figures and `history`).
        num_classes: The number of classes (chance accuracy is ``1 / num_classes``).
        batch_norm: Whether the variant uses BatchNorm.
        penalty: Whether the variant has an L1/L2 penalty.

    Returns:
        The warnings, each a sentence that says what was seen and what it usually means.
    """
    if run.status == "failed":
        return []
    history: Mapping[str, Sequence[float]] = run.history or {}
    out: list[str] = []
    share = run.reg_loss_share
    if share is not None and math.isfinite(share) and share > PENALTY_SHARE_LIMIT:
        if batch_norm:
            why = (
                "under BatchNorm most of it sits on scale-invariant kernels, where it shrinks "
                "their norm (raising their effective learning rate) more than it limits the "
                "function; compare the accuracy with a smaller l1/l2 before trusting it"
            )
        else:
            why = "the L1/L2 term, not the data, drives training (try a smaller l1/l2)"
        out.append(f"penalty is {100 * share:.0f}% of the loss at the best epoch: {why}")
    loss = _growth(history.get("loss", []))
    if loss is not None and loss[2] >= GROWTH_LIMIT and loss[1] > loss[0]:
        out.append(
            f"training loss rose {loss[2]:.3g}x (from {loss[0]:.3g} to {loss[1]:.3g}): the "
            "optimizer overshoots (the learning rate is likely too high)"
        )
    norms = run.weight_norm_history() if hasattr(run, "weight_norm_history") else []
    norm = _growth(norms)
    if norm is not None and norm[2] >= GROWTH_LIMIT and norm[1] > norm[0]:
        out.append(
            f"global weight norm grew {norm[2]:.3g}x (from {norm[0]:.3g} to {norm[1]:.3g}) in "
            f"{len(norms)} epochs: training is unstable (lower the learning rate)"
        )
    acc_key = _accuracy_key(history)
    if acc_key and num_classes and num_classes > 1:
        chance = 1.0 / num_classes
        near = max(1.5 * chance, chance + 0.05)
        train = _finite(history.get(acc_key, []))
        val = _finite(history.get(f"val_{acc_key}", []))
        if len(train) >= CHANCE_EPOCHS and max(train[CHANCE_EPOCHS - 1 :]) <= near:
            out.append(
                f"training accuracy {train[-1]:.2f} after {len(train)} epochs is chance level "
                f"(1/{num_classes} = {chance:.2f}): the model does not learn (learning rate "
                "too high or too low, or too much regularization)"
            )
        elif len(val) >= CHANCE_EPOCHS and max(val) <= near and max(train) > 2 * near:
            hint = (
                ": BatchNorm's moving statistics may lag the weights (bn_momentum='auto', "
                "regkit.auto_bn_momentum)"
                if batch_norm
                else ""
            )
            out.append(
                f"validation accuracy stays at chance ({max(val):.2f}) while training "
                f"accuracy reaches {max(train):.2f}{hint}"
            )
    if batch_norm:
        out.extend(_effective_lr_warnings(history, penalty=penalty))
    return out


def _effective_lr_warnings(history: Mapping[str, Sequence[float]], *, penalty: bool) -> list[str]:
    keys = [k for k in history if k.endswith("_effective_lr") and not k.startswith("val_")]
    factors = []
    for key in keys:
        values = [v for v in _finite(history[key]) if v > 0]
        if len(values) >= 2:
            factors.append(values[-1] / values[0])
    if not factors:
        return []
    factors.sort()
    median = factors[len(factors) // 2]
    if median <= 1 / GROWTH_LIMIT:
        return [
            f"effective learning rate (lr / ||w||^2) of the BatchNorm'd kernels collapsed "
            f"{1 / median:.3g}x (median over {len(factors)} kernels): their weights grew or "
            "the learning rate was cut, so those layers have almost stopped learning"
        ]
    if median >= GROWTH_LIMIT:
        why = (
            "L2 under BatchNorm shrinks the kernels without changing the function, which "
            "raises their effective learning rate; training may turn unstable"
            if penalty
            else "the kernels shrank; training may turn unstable"
        )
        return [
            f"effective learning rate (lr / ||w||^2) of the BatchNorm'd kernels rose "
            f"{median:.3g}x (median over {len(factors)} kernels): {why}"
        ]
    return []


def warning_lines(report: Any, warnings_of: Any) -> list[str]:
    """The report's "Warnings" section (markdown lines); empty when no run has any.

    Args:
        report: The `Report`.
        warnings_of: A callable `run -> list[str]`.
    """
    items = []
    for name in report.variants:
        for run in report.runs_for(name):
            for text in warnings_of(run):
                items.append(f"- **{name}**, seed {run.seed}: {text}")
    if not items:
        return []
    return ["## Warnings", "", *items, ""]


# ---------------------------------------------------------------------------- the report
def warnings_for(report: Any, run: Any) -> list[str]:
    """`run_warnings` for one run of `report`, with its variant's settings and class count."""
    variant = report.variants.get(run.variant)
    reg = getattr(variant, "reg", None)
    return run_warnings(
        run,
        num_classes=(report.config or {}).get("num_classes"),
        batch_norm=bool(reg is not None and (reg.batch_norm or reg.head_batch_norm)),
        penalty=bool(reg is not None and reg.has_penalty),
    )


def annotate(report: Any) -> None:
    """Sets every run's `warnings` (derived from its history: the same on every call)."""
    for run in report.runs:
        if hasattr(run, "warnings"):
            run.warnings = warnings_for(report, run)


def add_statistics(report: Any, variants: dict[str, Any], metrics: Sequence[str]) -> None:
    """Adds `"ci95"`, `"vs_reference"` and each run's `"warnings"` to report.json's variants.

    Args:
        report: The `Report`.
        variants: `to_dict()["variants"]`, updated in place.
        metrics: The metrics that get an interval.
    """
    names = list(report.variants)
    if not names:
        return
    reference = names[0]
    ref_runs = report.runs_for(reference)
    for name in names:
        runs = report.runs_for(name)
        entry = variants[name]
        entry["ci95"] = intervals(runs, metrics)
        if name != reference:
            entry["vs_reference"] = reference_comparison(reference, ref_runs, runs)
        for data, run in zip(entry.get("runs", []), runs, strict=False):
            data["warnings"] = warnings_for(report, run)
            if hasattr(run, "warnings"):
                run.warnings = list(data["warnings"])


def report_sections(report: Any) -> list[str]:
    """The markdown sections after the main table: statistics, sweep, warnings."""
    return [
        *statistics_lines(report),
        *sweep_lines(report),
        *warning_lines(report, lambda run: warnings_for(report, run)),
    ]


def status_cell(report: Any, name: str) -> str:
    """A variant's status, with the number of warnings its runs carry ("ok, 2 warnings")."""
    status = report.status(name)
    count = sum(len(warnings_for(report, run)) for run in report.runs_for(name))
    if count:
        status += f", {count} warning{'s' if count > 1 else ''}"
    return status


#: The terminal table's columns: (metric, header, kind); report.md has the full table.
TERMINAL_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("val_accuracy", "Val acc", "acc"),
    ("generalization_gap", "Gap", "gap"),
    ("test_accuracy", "Test acc", "acc"),
    ("reg_loss_share", "Penalty", "pct"),
    ("best_epoch", "Best", "int"),
)


def _compact(value: float | None, std: float | None, kind: str, several: bool) -> str:
    if value is None:
        return "—"
    text = {
        "acc": f"{value:.4f}",
        "gap": f"{value:+.4f}",
        "pct": f"{100 * value:.0f}%",
        "int": f"{value:.0f}" if not several or not std else f"{value:.1f}",
    }[kind]
    if several and std:
        spread = {"acc": f"{std:.4f}", "gap": f"{std:.4f}", "pct": f"{100 * std:.0f}%"}.get(
            kind, f"{std:.1f}"
        )
        if spread.strip("0.%"):  # a spread that rounds to zero is not shown
            text += "±" + spread
    return text


def terminal_table(report: Any, *, width: int = 24) -> str:
    """The report as a plain table that fits a terminal (about 100-120 characters).

    Variant, validation and test accuracy, gap, penalty share, best epoch and status
    (mean ± std over seeds); the wide table with every figure is in report.md.
    """
    from regkit.experiments.tables import shorten

    summary = report.summary()
    several = len(report.seeds) > 1
    rows = [["Variant", *(h for _, h, _ in TERMINAL_COLUMNS), "Status"]]
    for name, entry in summary.items():
        row = [shorten(name, width)]
        for metric, _, kind in TERMINAL_COLUMNS:
            row.append(_compact(entry["mean"][metric], entry["std"][metric], kind, several))
        row.append(shorten(status_cell(report, name), 36))
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    last = len(widths) - 1
    lines = []
    for r, row in enumerate(rows):
        cells = [
            text.ljust(widths[i]) if i in (0, last) else text.rjust(widths[i])
            for i, text in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
        if r == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
