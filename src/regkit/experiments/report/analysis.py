"""What a report says beyond its figures: intervals over seeds, the comparison with the
reference variant, sweep tables, and warnings that explain a run that looks `ok` but is not.

Everything here reads plain data (runs with a `history` dict and per-run figures, as
`RunResult` holds them) and returns JSON-ready values or markdown lines; `Report` calls it.
Nothing here imports TensorFlow.

Example:
    >>> from regkit.experiments.report.results import RunResult
    >>> run = RunResult.from_history("hot", 0, {
    ...     "loss": [2.3, 2.3, 2.3], "val_loss": [2.3, 2.3, 2.3],
    ...     "accuracy": [0.1, 0.1, 0.1], "val_accuracy": [0.1, 0.1, 0.1]})
    >>> run_warnings(run, num_classes=10)[0][:47]
    'training accuracy 0.10 after 3 epochs is chance'
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from regkit.experiments.report.collapse import collapse_cause, no_better_than_majority
from regkit.experiments.report.decisions import verdict_fields, verdicts
from regkit.experiments.report.stats import (
    METRIC_BOUNDS,
    ci95,
    comparison_words,
    holm,
    mean,
    paired_difference,
    verdict,
)
from regkit.experiments.study.records import ACCURACY_KEYS, MEASURED_STATUSES, STATUSES

__all__ = [
    "ADAPTIVE_OPTIMIZERS",
    "CHANCE_EPOCHS",
    "COLLAPSE_EPOCHS",
    "EVERY_RUN_METRICS",
    "GROWTH_LIMIT",
    "PENALTY_SHARE_LIMIT",
    "collapse_figures",
    "comparison_text",
    "difference_rows",
    "interval",
    "intervals",
    "is_collapsed",
    "mean_std",
    "measured_values",
    "reference_comparison",
    "reference_comparisons",
    "run_warnings",
    "set_verdict",
    "status_counts",
    "sweep_points",
]

#: A penalty above this share of the loss at the best epoch gets a warning.
PENALTY_SHARE_LIMIT = 0.9
#: A weight norm, loss or effective learning rate that changes by this factor gets one.
GROWTH_LIMIT = 100.0
#: Training accuracy at chance from this epoch on gets one ("the model does not learn"); a
#: shorter run at chance gets one too, saying its epochs may be too few.
CHANCE_EPOCHS = 3
#: A run must have trained this many epochs before it can be called collapsed: after
#: one or two epochs a model that has not learned yet may simply be slow.
COLLAPSE_EPOCHS = 3
#: Optimizers whose step is normalized per parameter (the collapse message says why that
#: matters for a penalty).
ADAPTIVE_OPTIMIZERS = frozenset(
    {"adam", "adamw", "adamax", "nadam", "rmsprop", "adagrad", "adadelta", "adafactor", "lion"}
)
#: Figures that do not depend on convergence: taken over every run, failed ones included.
EVERY_RUN_METRICS = ("params", "epochs_run", "wall_time")

INTERVAL_METRICS = ("val_accuracy", "test_accuracy", "generalization_gap")


def _finite(values: Iterable[Any]) -> list[float]:
    out = []
    for v in values:
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            out.append(float(v))
    return out


def measured_values(runs: Sequence[Any], metric: str) -> list[float]:
    """The finite values of `metric` over the runs whose figures are measurements.

    `EVERY_RUN_METRICS` (parameters, epochs, time) count every run; other figures only
    the runs whose status is in `MEASURED_STATUSES` (`"ok"` and `"collapsed"`: a collapse
    is a finding of the study, its figures are real), never diverged or failed runs.
    """
    pool = (
        runs if metric in EVERY_RUN_METRICS else [r for r in runs if r.status in MEASURED_STATUSES]
    )
    return _finite(getattr(r, metric, None) for r in pool)


def mean_std(values: Sequence[float]) -> tuple[float | None, float | None]:
    """Mean and sample standard deviation over seeds, as report tables and report.json
    give them (0.0 for one value; None, None for none).

    The mean is `stats.mean`; the spread is `statistics.stdev`, which works in exact
    rational arithmetic: seeds that agree give exactly 0.0, where `stats.sample_std`
    (floating-point sums) may give 1e-16, so report figures stay as they always were.
    """
    centre = mean(values)
    if centre is None:
        return None, None
    return centre, statistics.stdev(values) if len(values) > 1 else 0.0


# ---------------------------------------------------------------------------- statistics
#: Figures counted in epochs: they cannot exceed the epochs the study trained.
EPOCH_COUNTS = ("best_epoch", "epochs_run")


def interval(
    values: Sequence[float], metric: str | None = None, *, epochs: int | None = None
) -> tuple[float, float] | None:
    """`ci95` of `values` within `METRIC_BOUNDS[metric]` (accuracies in [0, 1], losses,
    norms and times >= 0; `EPOCH_COUNTS` also at most `epochs` when given); values outside
    those bounds (a figure of another kind) get the plain Student-t interval."""
    bounds = METRIC_BOUNDS.get(metric) if metric is not None else None
    if bounds is not None and metric in EPOCH_COUNTS and isinstance(epochs, int) and epochs > 0:
        bounds = (bounds[0], float(epochs))
    try:
        return ci95(values, bounds=bounds)
    except ValueError:
        if bounds is None:
            raise
        return ci95(values)


def intervals(
    runs: Sequence[Any], metrics: Sequence[str], *, epochs: int | None = None
) -> dict[str, list[float] | None]:
    """95% interval of each metric's mean over a variant's measured runs (`interval`;
    `epochs`, the study's, bounds the figures counted in epochs).

    Returns:
        `{metric: [lo, hi]}`, None where fewer than two runs give the figure.
    """
    out: dict[str, list[float] | None] = {}
    for metric in metrics:
        found = interval(measured_values(runs, metric), metric, epochs=epochs)
        out[metric] = None if found is None else [found[0], found[1]]
    return out


def reference_comparison(
    reference: str,
    reference_runs: Sequence[Any],
    runs: Sequence[Any],
    *,
    metric: str = "test_accuracy",
) -> dict[str, Any] | None:
    """A variant against the reference, paired by seed (seeds where both were measured).

    Returns:
        `{"metric", "reference", "mean_diff", "ci95", "p_value", "seeds", "detectable",
        "seeds_needed"}` (the difference is this variant minus the reference; `ci95`,
        `p_value` and `detectable` are None with one pair), or None when no seed has both
        figures. `p_adjusted` is added by `reference_comparisons`.
    """
    ref = {
        r.seed: getattr(r, metric, None) for r in reference_runs if r.status in MEASURED_STATUSES
    }
    candidates = [
        (ref[r.seed], getattr(r, metric, None))
        for r in runs
        if r.status in MEASURED_STATUSES and r.seed in ref
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
        "detectable": diff.detectable,
        "seeds_needed": diff.seeds_needed,
    }


def reference_comparisons(report: Any) -> dict[str, dict[str, Any] | None]:
    """Every variant but the first against the first, with Holm-adjusted p-values and
    verdicts.

    Returns:
        `{variant: reference_comparison(...) | None}` for all but the reference; each
        comparison gains `"p_adjusted"`: Holm's adjustment over the other variants' p-values
        when more than one comparison has a p-value, else None (nothing to adjust for); and
        `"verdict"` (`"better"`, `"worse"`, `"equivalent"` or `"undecided"`) with `"margin"`
        (`decisions.verdict_fields`: an undecided one also says what it could still detect
        and how many more seeds would decide it).
    """
    names = list(report.variants)
    if not names:
        return {}
    reference = names[0]
    ref_runs = report.runs_for(reference)
    out = {
        name: reference_comparison(reference, ref_runs, report.runs_for(name)) for name in names[1:]
    }
    compared = [c for c in out.values() if c is not None]
    p_values = [c["p_value"] for c in compared]
    several = sum(p is not None for p in p_values) > 1
    adjusted = holm(p_values) if several else [None] * len(compared)
    for comparison, p_adjusted in zip(compared, adjusted, strict=True):
        comparison["p_adjusted"] = p_adjusted
    decided = verdicts({name: report.runs_for(name) for name in names}, config=report.config)
    for name, found in out.items():
        if found is not None:
            found.update(verdict_fields(decided[name]))
    return out


def difference_rows(
    comparisons: Mapping[str, Mapping[str, Any] | None], *, alpha: float = 0.05
) -> list[dict[str, Any]]:
    """The rows `regkit.plots.plot_differences` draws: one per variant with an interval.

    Args:
        comparisons: `{variant: comparison}` as in report.json's `"vs_reference"`
            (`reference_comparisons`, `Report.comparisons()`). Variants without a
            comparison or without an interval (one seed) are left out.
        alpha: The significance level.

    Returns:
        `[{"variant", "mean_diff", "lo", "hi", "p_value", "p_adjusted", "verdict",
        "decision", "margin"}]` in the order given; `"verdict"` is `stats.verdict`'s
        (`"higher"`, `"lower"` or `"not distinguishable"`), the decision behind report.md's
        words; `"decision"` and `"margin"` are the sequential verdict (`"better"`,
        `"worse"`, `"equivalent"`, `"undecided"`) and its equivalence margin, None in a
        report without them.
    """
    rows = []
    for name, comparison in comparisons.items():
        if not comparison or comparison.get("ci95") is None:
            continue
        lo, hi = (float(v) for v in comparison["ci95"])
        diff = float(comparison["mean_diff"])
        p_value, p_adjusted = comparison.get("p_value"), comparison.get("p_adjusted")
        rows.append(
            {
                "variant": name,
                "mean_diff": diff,
                "lo": lo,
                "hi": hi,
                "p_value": p_value,
                "p_adjusted": p_adjusted,
                "verdict": verdict(diff, (lo, hi), p_value, p_adjusted=p_adjusted, alpha=alpha),
                "decision": comparison.get("verdict"),
                "margin": comparison.get("margin"),
            }
        )
    return rows


def comparison_text(comparison: Mapping[str, Any] | None) -> str:
    """A comparison in report.md's words: figures, then `stats.comparison_words`."""
    if comparison is None:
        return "no seed where both ran"
    diff = comparison["mean_diff"]
    bounds = comparison["ci95"]
    if bounds is None:
        return f"{diff:+.4f} (one seed: no interval can be given)"
    lo, hi = bounds
    text = f"{diff:+.4f} [{lo:+.4f}, {hi:+.4f}], p = {comparison['p_value']:.3g}"
    adjusted = comparison.get("p_adjusted")
    if adjusted is not None:
        text += f" (Holm {adjusted:.3g})"
    words = comparison_words(
        diff,
        bounds,
        comparison["p_value"],
        comparison["seeds"],
        p_adjusted=adjusted,
        detectable=comparison.get("detectable"),
        seeds_needed=comparison.get("seeds_needed"),
    )
    return f"{text}: {words}"


def status_counts(runs: Sequence[Any]) -> dict[str, int]:
    """How many runs have each status in `STATUSES` (zeros included)."""
    return {s: sum(r.status == s for r in runs) for s in STATUSES}


# ---------------------------------------------------------------------------- verdicts
def best_val_accuracy(run: Any) -> float | None:
    """The run's best validation accuracy over its epochs (its figure when no history)."""
    key = _accuracy_key(run.history or {})
    values = _finite((run.history or {}).get(f"val_{key}", [])) if key else []
    if values:
        return max(values)
    return run.val_accuracy if finite_number(run.val_accuracy) else None


def finite_number(value: Any) -> bool:
    return bool(_finite([value]))


def is_collapsed(run: Any) -> bool:
    """Whether a run that trained at least `COLLAPSE_EPOCHS` epochs learned nothing.

    True when its best validation accuracy is no better than always answering the most
    frequent validation class (`verdicts.no_better_than_majority`, an exact one-sided
    binomial test at the 5% level over the `val_examples` examples). Runs of fewer epochs,
    runs without the validation figures (`val_majority`, `val_examples`) and diverged or
    failed runs are never collapsed.
    """
    if run.status not in MEASURED_STATUSES or (run.epochs_run or 0) < COLLAPSE_EPOCHS:
        return False
    majority, count = getattr(run, "val_majority", None), getattr(run, "val_examples", None)
    best = best_val_accuracy(run)
    if majority is None or not finite_number(majority) or not count or best is None:
        return False
    if not 0 < float(majority) <= 1:
        return False
    return no_better_than_majority(min(max(best, 0.0), 1.0), float(majority), int(count))


def set_verdict(
    run: Any,
    *,
    val_majority: float | None,
    val_examples: int | None,
    prediction_share: Callable[[], float | None] | None = None,
) -> Any:
    """Records the validation split's majority share on a finished run and marks it
    `"collapsed"` when `is_collapsed` says so.

    Args:
        run: A `RunResult` (status `"ok"` for the verdict to apply).
        val_majority: The share of the most frequent class among the validation labels.
        val_examples: The number of validation examples.
        prediction_share: Called only for a collapsed run: the share of validation
            examples given the most common predicted class (a constant model gives 1.0).

    Returns:
        `run`, updated in place.
    """
    run.val_majority = None if val_majority is None else float(val_majority)
    run.val_examples = None if val_examples is None else int(val_examples)
    if run.status == "ok" and is_collapsed(run):
        run.status = "collapsed"
        if prediction_share is not None:
            share = prediction_share()
            run.prediction_share = None if share is None else float(share)
    return run


def collapse_figures(
    run: Any, *, num_classes: int | None = None, optimizer: str | None = None
) -> dict[str, float | None]:
    """The figures `verdicts.collapse_cause` reads, from what a run measured.

    The penalty share is its largest value over the epochs (once a penalty has crushed the
    weights its share at the end is tiny), the weight norms are the run's norm before
    training (`initial_weight_norm`, else the first logged global norm) and the last one,
    the effective-learning-rate ratio the median over the BatchNorm'd kernels of last /
    first, and the training loss the last finite one.
    """
    history: Mapping[str, Sequence[float]] = run.history or {}
    shares = _finite(history.get("reg_loss_share", []))
    norms = _finite(run.weight_norm_history()) if hasattr(run, "weight_norm_history") else []
    ratios = sorted(
        values[-1] / values[0]
        for key in history
        if key.endswith("_effective_lr") and not key.startswith("val_")
        for values in [[v for v in _finite(history[key]) if v > 0]]
        if len(values) >= 2
    )
    losses = _finite(history.get("loss", []))
    return {
        "reg_loss_share": max(shares) if shares else run.reg_loss_share,
        "weight_norm": norms[-1] if norms else run.weight_norm,
        "initial_weight_norm": getattr(run, "initial_weight_norm", None)
        or (norms[0] if len(norms) >= 2 else None),
        "adaptive": None
        if optimizer is None
        else float(str(optimizer).lower() in ADAPTIVE_OPTIMIZERS),
        "effective_lr_ratio": ratios[len(ratios) // 2] if ratios else None,
        "prediction_share": getattr(run, "prediction_share", None),
        "train_loss": losses[-1] if losses else None,
        "num_classes": None if not num_classes else float(num_classes),
    }


def collapse_warning(
    run: Any, *, num_classes: int | None = None, optimizer: str | None = None
) -> str:
    """The warning a collapsed run carries: what was seen, how it was judged, the cause."""
    best = best_val_accuracy(run)
    majority = getattr(run, "val_majority", None)
    seen = "" if best is None else f" ({best:.3f})"
    against = (
        ""
        if majority is None
        else f" ({majority:.3f} of {getattr(run, 'val_examples', None)} validation examples)"
    )
    cause = collapse_cause(collapse_figures(run, num_classes=num_classes, optimizer=optimizer))
    return (
        f"collapsed: the best validation accuracy{seen} after {run.epochs_run} epochs is no "
        f"better than always answering the most frequent class{against}, by an exact "
        f"binomial test at the 5% level; likely cause: {cause}"
    )


# ---------------------------------------------------------------------------- sweeps
def sweep_points(report: Any) -> list[dict[str, Any]]:
    """One point per swept variant: its base, swept values and figures over seeds.

    Returns:
        `[{"variant", "base", "values": {field: value}, "diverged", "counts", metric:
        {"mean", "ci95", "values"}}]` for `val_accuracy`, `test_accuracy`,
        `generalization_gap` over the measured (`ok` and `collapsed`) runs; `"counts"`
        holds the runs of each status, `"diverged"` the runs without figures (diverged or
        failed). Empty when the report has no sweep.
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
            "diverged": sum(r.status not in MEASURED_STATUSES for r in runs),
            "counts": status_counts(runs),
        }
        for metric in INTERVAL_METRICS:
            values = measured_values(runs, metric)
            found = interval(values, metric)
            point[metric] = {
                "mean": mean(values),
                "ci95": None if found is None else list(found),
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
    optimizer: str | None = None,
) -> list[str]:
    """Plain-language warnings for one run whose figures may look fine but are not.

    Checked: a collapsed run (`is_collapsed`), with its likely cause; the L1/L2 penalty
    above `PENALTY_SHARE_LIMIT` of the loss at the best epoch;
    the training loss or the global weight norm growing by `GROWTH_LIMIT` or more;
    training accuracy at chance, at any run length (from epoch `CHANCE_EPOCHS` on, or at
    the last epoch of a shorter run, which may just be too short); validation accuracy at
    chance while training accuracy is not (BatchNorm statistics lagging); test accuracy at
    chance while the others are not; the effective
    learning rate of BatchNorm'd kernels (``lr / ||w||^2``) collapsing or exploding by
    `GROWTH_LIMIT` (L2 under BatchNorm acts on it).

    Args:
        run: A `RunResult` (its figures and `history`).
        num_classes: The number of classes (chance accuracy is ``1 / num_classes``).
        batch_norm: Whether the variant uses BatchNorm.
        penalty: Whether the variant has an L1/L2 penalty.
        optimizer: The run's optimizer name (a collapse under Adam is explained).

    Returns:
        The warnings, each a sentence that says what was seen and what it usually means.
    """
    if run.status == "failed":
        return []
    history: Mapping[str, Sequence[float]] = run.history or {}
    out: list[str] = []
    if run.status == "collapsed":
        out.append(collapse_warning(run, num_classes=num_classes, optimizer=optimizer))
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
        settled = train[CHANCE_EPOCHS - 1 :] or train[-1:]  # a shorter run: its last epoch
        test = run.test_accuracy if finite_number(run.test_accuracy) else None
        if settled and max(settled) <= near:
            epochs = f"{len(train)} epoch{'s' if len(train) != 1 else ''}"
            why = (
                "the model does not learn (learning rate too high or too low, or too much "
                "regularization)"
                if len(train) >= CHANCE_EPOCHS
                else f"{epochs} may be too few to learn: train longer before comparing "
                "(if it stays there, the learning rate or the regularization is off)"
            )
            out.append(
                f"training accuracy {train[-1]:.2f} after {epochs} is chance level "
                f"(1/{num_classes} = {chance:.2f}): {why}"
            )
        elif val and max(val) <= near and max(train) > 2 * near:
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
        elif test is not None and test <= near:
            out.append(
                f"test accuracy {test:.2f} is chance level (1/{num_classes} = {chance:.2f}) "
                "although training and validation accuracy are not: the best weights do not "
                "carry over to the test split"
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
    optimizer = getattr(variant, "optimizer", None) or (report.config or {}).get("optimizer")
    return run_warnings(
        run,
        num_classes=(report.config or {}).get("num_classes"),
        batch_norm=bool(reg is not None and (reg.batch_norm or reg.head_batch_norm)),
        penalty=bool(reg is not None and reg.has_penalty),
        optimizer=optimizer if isinstance(optimizer, str) else None,
    )


def add_statistics(report: Any, variants: dict[str, Any], metrics: Sequence[str]) -> None:
    """Adds `"ci95"`, `"vs_reference"` and each run's `"warnings"` to report.json's variants.

    Intervals stay inside each metric's range (`interval`); `"vs_reference"` carries the
    Holm-adjusted p-value and the comparison's resolution (`reference_comparisons`).

    Args:
        report: The `Report`.
        variants: `to_dict()["variants"]`, updated in place.
        metrics: The metrics that get an interval.
    """
    comparisons = reference_comparisons(report)
    for name in report.variants:
        runs = report.runs_for(name)
        entry = variants[name]
        entry["ci95"] = intervals(runs, metrics, epochs=(report.config or {}).get("epochs"))
        if name in comparisons:
            entry["vs_reference"] = comparisons[name]
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
