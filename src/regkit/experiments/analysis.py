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

from regkit.experiments.records import ACCURACY_KEYS
from regkit.experiments.stats import ci95, mean, paired_difference

__all__ = [
    "CHANCE_EPOCHS",
    "GROWTH_LIMIT",
    "PENALTY_SHARE_LIMIT",
    "intervals",
    "reference_comparison",
    "run_warnings",
    "sweep_points",
]

#: A penalty above this share of the loss at the best epoch gets a warning.
PENALTY_SHARE_LIMIT = 0.9
#: A weight norm, loss or effective learning rate that changes by this factor gets one.
GROWTH_LIMIT = 100.0
#: Training accuracy still at chance after this many epochs gets one.
CHANCE_EPOCHS = 3

INTERVAL_METRICS = ("val_accuracy", "test_accuracy", "generalization_gap")


def _finite(values: Iterable[Any]) -> list[float]:
    out = []
    for v in values:
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            out.append(float(v))
    return out


def ok_values(runs: Sequence[Any], metric: str) -> list[float]:
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
        interval = ci95(ok_values(runs, metric))
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
        for metric in INTERVAL_METRICS:
            values = ok_values(runs, metric)
            interval = ci95(values)
            point[metric] = {
                "mean": mean(values),
                "ci95": None if interval is None else list(interval),
                "values": values,
            }
        points.append(point)
    return points


# ---------------------------------------------------------------------------- warnings
def _accuracy_key(history: Mapping[str, Sequence[float]]) -> str | None:
    return next((k for k in ACCURACY_KEYS if k in history), None)


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


def status_cell(report: Any, name: str) -> str:
    """A variant's status, with the number of warnings its runs carry ("ok, 2 warnings")."""
    status = report.status(name)
    count = sum(len(warnings_for(report, run)) for run in report.runs_for(name))
    if count:
        status += f", {count} warning{'s' if count > 1 else ''}"
    return status
