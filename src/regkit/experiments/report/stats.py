"""Statistics over seeds: means, intervals, paired tests and Holm's correction.

A study trains each variant once per seed. These functions say how far a figure can be
trusted from that handful of runs:

- `ci95` gives the Student-t 95% confidence interval of the mean (sample standard
  deviation, ``n - 1`` degrees of freedom); with ``bounds=(lo, hi)`` the interval is
  computed on a scale where the metric's range is unbounded and so never leaves it.
- `paired_difference` compares two variants run with the same seeds, seed by seed, with a
  paired t-test, and says how fine a difference these seeds could resolve.
- `holm` adjusts the p-values of several comparisons against one reference.
- `comparison_words` turns a comparison into the report's words.
- The verdict on a run that learned nothing (the test and its likely cause) lives beside
  this module, in `regkit.experiments.report.collapse`.

Every function takes plain floats or lists of floats; the t and normal distributions
come from `regkit._tdist` (pure Python: no scipy).

Example:
    >>> from regkit.experiments.report.stats import ci95, mean, paired_difference
    >>> round(mean([0.90, 0.92, 0.94]), 4)
    0.92
    >>> lo, hi = ci95([0.90, 0.92, 0.94])
    >>> round(lo, 4), round(hi, 4)
    (0.8703, 0.9697)
    >>> round(paired_difference([0.90, 0.92, 0.94], [0.91, 0.94, 0.95]).p_value, 3)
    0.057
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Sequence
from typing import Any, NamedTuple

from regkit._checks import check_finite_float, check_positive_int, invalid
from regkit._tdist import norm_ppf, t_ppf, t_sf

__all__ = [
    "METRIC_BOUNDS",
    "PairedDifference",
    "ci95",
    "comparison_words",
    "holm",
    "mean",
    "paired_difference",
    "sample_std",
    "seeds_to_resolve",
    "t_critical",
    "verdict",
]

#: The range of each figure in `METRICS` (None: unbounded on that side), for `ci95`'s
#: `bounds`. Accuracies and shares lie in [0, 1], the generalization gap (train minus
#: validation accuracy) in [-1, 1]; losses, norms, times and counts are >= 0.
METRIC_BOUNDS: dict[str, tuple[float | None, float | None]] = {
    "params": (0.0, None),
    "epochs_run": (0.0, None),
    "best_epoch": (0.0, None),
    "train_accuracy": (0.0, 1.0),
    "val_accuracy": (0.0, 1.0),
    "generalization_gap": (-1.0, 1.0),
    "test_accuracy": (0.0, 1.0),
    "train_loss": (0.0, None),
    "val_loss": (0.0, None),
    "test_loss": (0.0, None),
    "reg_loss_share": (0.0, 1.0),
    "weight_norm": (0.0, None),
    "wall_time": (0.0, None),
}

#: Seeds beyond which `seeds_to_resolve` stops counting (a difference this small is noise).
MAX_SEEDS_TO_RESOLVE = 1_000_000


class PairedDifference(NamedTuple):
    """`other - reference`, seed by seed: its mean, 95% interval, p-value and resolution.

    `ci95`, `p_value` and `detectable` are None with a single pair (no spread can be
    estimated). `detectable` is the half-width of the 95% interval, the smallest mean
    difference these seeds could have told from zero (p < 0.05) at the paired spread seen;
    `seeds_needed` is how many seeds would make the observed difference significant at
    that spread (None for a zero difference or a single pair; see `seeds_to_resolve`).
    """

    mean_diff: float
    ci95: tuple[float, float] | None
    p_value: float | None
    n: int
    detectable: float | None = None
    seeds_needed: int | None = None

    @property
    def distinguishable(self) -> bool | None:
        """True when the 95% interval excludes zero; None when there is no interval."""
        if self.ci95 is None:
            return None
        lo, hi = self.ci95
        return lo > 0 or hi < 0


def _finite_values(values: Sequence[float], arg: str) -> list[float]:
    if isinstance(values, (str, bytes)):
        raise TypeError(
            f"Invalid type for argument `{arg}`: expected a sequence of floats. "
            f"Received: {arg}={values!r}"
        )
    out: list[float] = []
    try:
        items = list(values)
    except TypeError:
        raise TypeError(
            f"Invalid type for argument `{arg}`: expected a sequence of floats. "
            f"Received: {arg}={values!r}"
        ) from None
    for value in items:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            try:
                number = float(value)  # NumPy scalars
            except (TypeError, ValueError, OverflowError):
                raise TypeError(
                    f"Invalid type for argument `{arg}`: expected a sequence of floats. "
                    f"Received: {arg}={values!r}"
                ) from None
        else:
            try:
                number = float(value)
            except OverflowError:  # an int too large for a float
                number = math.inf
        if not math.isfinite(number):
            raise ValueError(
                f"Invalid value for argument `{arg}`: expected finite floats. "
                f"Received: {arg}={values!r}"
            )
        out.append(number)
    return out


def mean(values: Sequence[float]) -> float | None:
    """The arithmetic mean; None for no values.

    Raises:
        ValueError: a value is NaN or infinite.
        TypeError: a value is not a number.
    """
    data = _finite_values(values, "values")
    if not data:
        return None
    return math.fsum(data) / len(data)


def sample_std(values: Sequence[float]) -> float | None:
    """The sample standard deviation (divisor ``n - 1``); None for fewer than two values.

    Raises:
        ValueError: a value is NaN or infinite.
        TypeError: a value is not a number.
    """
    data = _finite_values(values, "values")
    if len(data) < 2:
        return None
    centre = math.fsum(data) / len(data)
    return math.sqrt(math.fsum((x - centre) ** 2 for x in data) / (len(data) - 1))


def t_critical(df: int, confidence: float = 0.95) -> float:
    """The two-sided Student-t critical value, e.g. 4.303 for ``df=2`` at 95%."""
    return _t_critical(int(df), float(confidence))


@functools.lru_cache(maxsize=512)
def _t_critical(df: int, confidence: float) -> float:
    return t_ppf(0.5 + confidence / 2, df)


# ---------------------------------------------------------------------------- intervals
def _check_bounds(bounds: Any) -> tuple[float | None, float | None]:
    expected = "None or a pair (lo, hi) of finite floats or None, with lo < hi"
    if isinstance(bounds, (str, bytes)) or not isinstance(bounds, Sequence) or len(bounds) != 2:
        raise invalid("bounds", expected, bounds)
    pair: list[float | None] = []
    for end in bounds:
        if end is None:
            pair.append(None)
            continue
        if isinstance(end, bool) or not isinstance(end, numbers.Real):
            raise invalid("bounds", expected, bounds)
        number = float(end)
        if not math.isfinite(number):
            raise invalid("bounds", expected, bounds)
        pair.append(number)
    lo, hi = pair
    if lo is not None and hi is not None and not lo < hi:
        raise invalid("bounds", expected, bounds)
    return lo, hi


def _t_interval(data: list[float]) -> tuple[float, float]:
    n = len(data)
    centre = math.fsum(data) / n
    std = math.sqrt(math.fsum((x - centre) ** 2 for x in data) / (n - 1))
    half = t_critical(n - 1) * std / math.sqrt(n)
    return centre - half, centre + half


def _sigmoid(y: float) -> float:
    if y >= 0:
        return 1.0 / (1.0 + math.exp(-y))
    e = math.exp(y)
    return e / (1.0 + e)


def _transformed_interval(
    data: list[float], lo: float | None, hi: float | None
) -> tuple[float, float] | None:
    """The t-interval on the logit/log scale, mapped back; None where it cannot be formed."""
    try:
        if lo is not None and hi is not None:
            width = hi - lo
            scaled = [(x - lo) / width for x in data]
            a, b = _t_interval([math.log(u) - math.log1p(-u) for u in scaled])
            return lo + width * _sigmoid(a), lo + width * _sigmoid(b)
        if lo is not None:
            a, b = _t_interval([math.log(x - lo) for x in data])
            return lo + math.exp(a), lo + math.exp(b)
        if hi is not None:
            a, b = _t_interval([math.log(hi - x) for x in data])
            return hi - math.exp(b), hi - math.exp(a)
    except (OverflowError, ValueError):  # a spread too wide for exp: use the clipped interval
        return None
    return None


def ci95(
    values: Sequence[float],
    bounds: tuple[float | None, float | None] | None = None,
) -> tuple[float, float] | None:
    """The 95% confidence interval of the mean over seeds.

    Without `bounds` it is the Student-t interval ``mean ± t * s / sqrt(n)`` (sample
    standard deviation, ``n - 1`` degrees of freedom), as always.

    With ``bounds=(lo, hi)`` (either end may be None) the interval stays inside the
    metric's range, e.g. ``(0, 1)`` for accuracies and ``(0, None)`` for losses, norms and
    times (`METRIC_BOUNDS` lists them). The t-interval is then computed on a scale where
    the range is unbounded and mapped back: the logit of ``(x - lo) / (hi - lo)`` for two
    bounds, ``log(x - lo)`` (or ``log(hi - x)``) for one. Why this method: clipping the
    plain t-interval keeps its coverage but gives intervals that reach the bound (a norm
    whose mean "could be 0" although every seed measured a positive norm), while the
    transformed interval never touches a bound, widens on the side away from it as the
    data's skew does, and equals the plain interval where the values sit far from the
    bounds. A simulation (tests/experiments/test_stats_coverage.py) checks that it covers
    the true mean about 95% of the time at 3 and 5 seeds for accuracies of 0.9-0.99 with a
    small spread, accuracies with some seeds at 1.0, and skewed positive figures (wall
    times, norms), where the plain t-interval covers less (about 88% for exponential data
    at 3 seeds). The mapped-back interval is widened, if ever needed, to contain the mean.

    Values exactly at a bound (e.g. a seed at accuracy 1.0) have no logit or log, so the
    plain t-interval clipped to the bounds is returned instead; its coverage is the plain
    interval's, since the true mean lies inside the bounds. When every seed gives the same
    value (e.g. all 1.0) the interval is that point, as without bounds: the seeds show no
    spread to build an interval from.

    Args:
        values: One figure per seed (e.g. test accuracies).
        bounds: None, or ``(lo, hi)`` with floats or None: the range of the metric.

    Returns:
        `(lo, hi)`, or None for fewer than two values (no spread can be estimated).

    Raises:
        ValueError: a value is NaN, infinite or outside `bounds`; `bounds` is malformed.
        TypeError: a value is not a number.

    Example:
        >>> ci95([0.5])  # one seed: no interval
        >>> ci95([1.0, 1.0])
        (1.0, 1.0)
        >>> lo, hi = ci95([0.90, 0.99, 0.999], bounds=(0, 1))
        >>> 0 < lo < hi < 1
        True
    """
    data = _finite_values(values, "values")
    lo_b, hi_b = (None, None) if bounds is None else _check_bounds(bounds)
    if (lo_b is not None and any(x < lo_b for x in data)) or (
        hi_b is not None and any(x > hi_b for x in data)
    ):
        raise invalid("values", f"values within bounds={bounds!r}", list(values))
    if len(data) < 2:
        return None
    centre = math.fsum(data) / len(data)
    if all(x == data[0] for x in data):
        return (centre, centre)
    if lo_b is None and hi_b is None:
        return _t_interval(data)
    at_bound = any(x in (lo_b, hi_b) for x in data)
    interval = None if at_bound else _transformed_interval(data, lo_b, hi_b)
    if interval is None:
        a, b = _t_interval(data)
        return (a if lo_b is None else max(a, lo_b), b if hi_b is None else min(b, hi_b))
    return (min(interval[0], centre), max(interval[1], centre))


# ---------------------------------------------------------------------------- comparisons
def seeds_to_resolve(mean_diff: float, std: float, *, confidence: float = 0.95) -> int | None:
    """How many seeds would make a paired mean difference significant at a given spread.

    The smallest ``n >= 2`` with ``|mean_diff| > t_{n-1} * std / sqrt(n)``: the number of
    seeds at which the difference seen, with the seed-to-seed spread of the differences
    seen, would give a 95% interval that excludes zero (p < 0.05). It is a plan for the
    next study, not a promise: the spread itself is estimated from few seeds, and a true
    difference of that size would reach significance at that n only about half the time.

    Args:
        mean_diff: The observed mean paired difference.
        std: The sample standard deviation of the paired differences (>= 0).
        confidence: The interval's confidence.

    Returns:
        The number of seeds; 2 when the spread is zero; None for a zero difference or when
        more than `MAX_SEEDS_TO_RESOLVE` would be needed.

    Raises:
        ValueError: `std` is negative or a value is not finite.
        TypeError: a value is not a number.

    Example:
        >>> seeds_to_resolve(0.02, 0.01)  # p = 0.074 at 3 seeds
        4
        >>> seeds_to_resolve(0.0, 0.01) is None
        True
    """
    diff = abs(check_finite_float("mean_diff", mean_diff))
    spread = check_finite_float("std", std)
    if spread < 0:
        raise invalid("std", "a float >= 0", std)
    if diff == 0:
        return None
    if spread == 0:
        return 2
    z = _z_critical(confidence)
    # t_{n-1} > z, so n > (z * s / d)^2 is necessary: start there and step up.
    start = max(2, math.floor((z * spread / diff) ** 2))
    if start > MAX_SEEDS_TO_RESOLVE:
        return None
    n = start
    while diff <= t_critical(n - 1, confidence) * spread / math.sqrt(n):
        n += 1
        if n > MAX_SEEDS_TO_RESOLVE:
            return None
    return n


@functools.lru_cache(maxsize=16)
def _z_critical(confidence: float) -> float:
    return norm_ppf(0.5 + confidence / 2)


def paired_difference(reference: Sequence[float], other: Sequence[float]) -> PairedDifference:
    """Compares `other` with `reference` over the same seeds (paired t-test).

    The differences ``other[i] - reference[i]`` are treated as a sample: their mean, its
    Student-t 95% interval and the two-sided p-value of a paired t-test (the probability
    of a mean difference at least this large if the true difference were zero). When every
    difference is the same, the p-value is 1.0 for a zero difference and 0.0 otherwise.

    It also gives the comparison's resolution. `detectable` is the half-width of the 95%
    interval, ``t_{0.975, n-1} * s / sqrt(n)``: the smallest mean difference these seeds
    could have told from zero at the paired spread seen (a difference is significant
    exactly when it is larger). This is the significance threshold, not a power-based
    minimum detectable effect: a true difference of that size is detected about half the
    time; 80% power takes about ``(t_{0.975} + t_{0.8}) / t_{0.975}`` times it (1.4x at
    3 seeds). `seeds_needed` (`seeds_to_resolve`) is how many seeds would make the
    difference seen significant at the same spread.

    Args:
        reference: One figure per seed for the reference variant.
        other: The same figure for the other variant, in the same seed order.

    Returns:
        A `PairedDifference` (`mean_diff`, `ci95`, `p_value`, `n`, `detectable`,
        `seeds_needed`).

    Raises:
        ValueError: the lists are empty, differ in length, or hold NaN/inf.
        TypeError: a value is not a number.

    Example:
        >>> d = paired_difference([0.90, 0.92, 0.94], [0.92, 0.93, 0.97])
        >>> round(d.mean_diff, 3), round(d.p_value, 3), round(d.detectable, 4)
        (0.02, 0.074, 0.0248)
        >>> d.seeds_needed
        4
    """
    ref = _finite_values(reference, "reference")
    oth = _finite_values(other, "other")
    if not ref or len(ref) != len(oth):
        raise ValueError(
            "Invalid value for argument `other`: expected as many values as `reference` "
            f"(one per seed, at least one). Received: reference={list(reference)!r}, "
            f"other={list(other)!r}"
        )
    diffs = [b - a for a, b in zip(ref, oth, strict=True)]
    n = len(diffs)
    centre = math.fsum(diffs) / n
    if n < 2:
        return PairedDifference(centre, None, None, n)
    std = sample_std(diffs) or 0.0
    needed = seeds_to_resolve(centre, std)
    if std == 0.0:
        p_value = 1.0 if centre == 0 else 0.0
        return PairedDifference(centre, (centre, centre), p_value, n, 0.0, needed)
    sem = std / math.sqrt(n)
    half = t_critical(n - 1) * sem
    p_value = 2 * t_sf(abs(centre / sem), n - 1)
    return PairedDifference(centre, (centre - half, centre + half), p_value, n, half, needed)


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values, for several comparisons against one reference.

    With m p-values sorted as ``p_(1) <= ... <= p_(m)``, the adjusted value of ``p_(i)`` is
    ``max_{j <= i} min(1, (m - j + 1) * p_(j))``: monotone in the raw p-values, never
    below them, capped at 1. Rejecting where the adjusted value is below 0.05 keeps the
    chance of any false "different from the reference" at 5% over all comparisons, with
    no assumption about how the comparisons depend on each other (they share the
    reference). None and NaN (comparisons without a p-value) are passed through in place
    and do not count in m.

    Args:
        p_values: One p-value per comparison, in any order; None or NaN where missing.

    Returns:
        The adjusted p-values in the same order.

    Raises:
        ValueError: a p-value is outside [0, 1].
        TypeError: a p-value is not a number (or None).

    Example:
        >>> [round(p, 3) for p in holm([0.01, 0.04, 0.03])]
        [0.03, 0.06, 0.06]
    """
    if isinstance(p_values, (str, bytes)) or not isinstance(p_values, (Sequence, *_arrays())):
        raise TypeError(
            "Invalid type for argument `p_values`: expected a sequence of floats or None. "
            f"Received: p_values={p_values!r}"
        )
    out: list[float | None] = []
    present: list[tuple[float, int]] = []
    for index, value in enumerate(p_values):
        if value is None:
            out.append(None)
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(
                "Invalid type for argument `p_values`: expected a sequence of floats or None. "
                f"Received: p_values={p_values!r}"
            )
        number = float(value)
        if math.isnan(number):
            out.append(math.nan)
            continue
        if not 0.0 <= number <= 1.0:
            raise invalid("p_values", "p-values in [0, 1], None or NaN", list(p_values))
        out.append(number)
        present.append((number, index))
    m = len(present)
    running = 0.0
    for rank, (number, index) in enumerate(sorted(present)):
        running = max(running, min(1.0, (m - rank) * number))
        out[index] = running
    return out


def _arrays() -> tuple[type, ...]:
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy ships with TensorFlow
        return ()
    return (np.ndarray,)


def approx_text(value: float) -> str:
    """`value` to two significant figures, without exponent: 0.021, 0.0063, 12, 1,200."""
    value = abs(value)
    if value == 0:
        return "0"
    exponent = math.floor(math.log10(value))
    decimals = max(0, 1 - exponent)
    text = f"{round(value, 1 - exponent):,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if decimals else text


def comparison_words(
    mean_diff: float,
    ci95: Sequence[float] | None,
    p_value: float | None,
    n: int,
    *,
    p_adjusted: float | None = None,
    detectable: float | None = None,
    seeds_needed: int | None = None,
    alpha: float = 0.05,
) -> str:
    """The report's words for a comparison with the reference (other minus reference).

    The verdict follows `p_adjusted` when it is given (Holm, several variants against one
    reference), else `p_value`, else whether `ci95` excludes zero. A difference below
    `alpha` reads "higher than the reference" or "lower than the reference"; otherwise
    "not distinguishable from zero at N seeds", followed by the comparison's resolution
    when known: the smallest difference these seeds could have detected and how many seeds
    would resolve the difference seen (derived from `detectable` when `seeds_needed` is
    not given). A difference significant alone but not after Holm's adjustment says so.

    Args:
        mean_diff: The mean paired difference, other minus reference.
        ci95: Its 95% interval, or None (one seed).
        p_value: The paired t-test's p-value, or None.
        n: The number of paired seeds.
        p_adjusted: The Holm-adjusted p-value, when there are several comparisons.
        detectable: `PairedDifference.detectable` (the interval's half-width).
        seeds_needed: `PairedDifference.seeds_needed`.
        alpha: The significance level.

    Returns:
        A phrase such as ``"not distinguishable from zero at 3 seeds (could detect
        differences of about 0.021; about 11 seeds would resolve 0.006)"``.

    Raises:
        ValueError: a figure is not finite or out of range.
        TypeError: a figure is not a number.

    Example:
        >>> comparison_words(-0.03, (-0.04, -0.02), 0.004, 3)
        'lower than the reference'
        >>> comparison_words(0.006, (-0.015, 0.027), 0.32, 3, detectable=0.021)
        'not distinguishable from zero at 3 seeds (could detect differences of about 0.021; about 11 seeds would resolve 0.006)'
    """  # noqa: E501
    diff = check_finite_float("mean_diff", mean_diff)
    seeds = check_positive_int("n", n)
    level = _check_alpha(alpha)
    if seeds < 2 or ci95 is None:
        return "one seed: no interval can be given"
    raw, adjusted, alone, significant = _significance(ci95, p_value, p_adjusted, level)
    if significant and diff != 0:
        return f"{'higher' if diff > 0 else 'lower'} than the reference"
    text = f"not distinguishable from zero at {seeds} seeds"
    if adjusted is not None and alone and diff != 0:
        shown = "" if raw is None else f", p = {raw:.2g} alone"
        return (
            f"{text} after Holm's adjustment for the other comparisons ({approx_text(diff)}{shown})"
        )
    if detectable is None:
        return text
    half = check_finite_float("detectable", detectable)
    if half < 0:
        raise invalid("detectable", "a float >= 0", detectable)
    if seeds_needed is None and half > 0 and diff != 0:
        std = half * math.sqrt(seeds) / t_critical(seeds - 1)
        seeds_needed = seeds_to_resolve(diff, std)
    parts = [f"could detect differences of about {approx_text(half)}"]
    if seeds_needed is not None and diff != 0:
        count = check_positive_int("seeds_needed", seeds_needed)
        parts.append(f"about {count:,} seeds would resolve {approx_text(diff)}")
    elif diff != 0:
        parts.append(f"more than {MAX_SEEDS_TO_RESOLVE:,} seeds would be needed to resolve it")
    return f"{text} ({'; '.join(parts)})"


def verdict(
    mean_diff: float,
    ci95: Sequence[float],
    p_value: float | None,
    *,
    p_adjusted: float | None = None,
    alpha: float = 0.05,
) -> str:
    """The decision behind `comparison_words`, as one word: ``"higher"``, ``"lower"`` or
    ``"not distinguishable"`` (the same rule: `p_adjusted` when given, else `p_value`,
    else whether `ci95` excludes zero; a zero difference is never higher or lower).

    Raises:
        ValueError: a figure is not finite or out of range.
        TypeError: a figure is not a number.

    Example:
        >>> verdict(-0.03, (-0.04, -0.02), 0.004, p_adjusted=0.2)
        'not distinguishable'
    """
    diff = check_finite_float("mean_diff", mean_diff)
    *_, significant = _significance(ci95, p_value, p_adjusted, _check_alpha(alpha))
    if significant and diff != 0:
        return "higher" if diff > 0 else "lower"
    return "not distinguishable"


def _check_alpha(alpha: Any) -> float:
    level = check_finite_float("alpha", alpha)
    if not 0 < level < 1:
        raise invalid("alpha", "a float in (0, 1)", alpha)
    return level


def _significance(
    ci95: Sequence[float], p_value: Any, p_adjusted: Any, level: float
) -> tuple[float | None, float | None, bool, bool]:
    """`(p_value, p_adjusted, significant alone, significant after the adjustment)`, checked:
    alone by `p_value`, else by whether `ci95` excludes zero; after it by `p_adjusted` when
    there is one."""
    lo, hi = (check_finite_float("ci95", end) for end in ci95)
    raw = None if p_value is None else check_probability("p_value", p_value)
    adjusted = None if p_adjusted is None else check_probability("p_adjusted", p_adjusted)
    alone = raw < level if raw is not None else (lo > 0 or hi < 0)
    return raw, adjusted, alone, alone if adjusted is None else adjusted < level


def check_probability(arg: str, value: Any) -> float:
    """`value` as a float in [0, 1], or a ValueError naming `arg`."""
    number = check_finite_float(arg, value)
    if not 0.0 <= number <= 1.0:
        raise invalid(arg, "a float in [0, 1]", value)
    return number
