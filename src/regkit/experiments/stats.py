"""Statistics over seeds: means, sample standard deviations, 95% intervals, paired tests.

A study trains each variant once per seed. These functions say how far a figure can be
trusted from that handful of runs: `ci95` gives the Student-t 95% confidence interval of
the mean (sample standard deviation, ``n - 1`` degrees of freedom), and
`paired_difference` compares two variants run with the same seeds, seed by seed, with a
paired t-test. Every function takes plain lists of floats; scipy is imported only by the
functions that need the t distribution.

Example:
    >>> from regkit.experiments.stats import ci95, mean, paired_difference
    >>> round(mean([0.90, 0.92, 0.94]), 4)
    0.92
    >>> lo, hi = ci95([0.90, 0.92, 0.94])
    >>> round(lo, 4), round(hi, 4)
    (0.8703, 0.9697)
    >>> round(paired_difference([0.90, 0.92, 0.94], [0.91, 0.94, 0.95]).p_value, 3)
    0.057
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

__all__ = [
    "PairedDifference",
    "ci95",
    "mean",
    "paired_difference",
    "sample_std",
    "t_critical",
]


class PairedDifference(NamedTuple):
    """`other - reference`, seed by seed: its mean, 95% interval and paired-t p-value.

    `ci95` and `p_value` are None with a single pair (no spread can be estimated).
    """

    mean_diff: float
    ci95: tuple[float, float] | None
    p_value: float | None
    n: int

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
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            try:
                number = float(value)  # NumPy scalars
            except (TypeError, ValueError):
                raise TypeError(
                    f"Invalid type for argument `{arg}`: expected a sequence of floats. "
                    f"Received: {arg}={values!r}"
                ) from None
        else:
            number = float(value)
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
    from scipy import stats as sps

    return float(sps.t.ppf(0.5 + confidence / 2, df))


def ci95(values: Sequence[float]) -> tuple[float, float] | None:
    """The Student-t 95% confidence interval of the mean, ``mean ± t * s / sqrt(n)``.

    Args:
        values: One figure per seed (e.g. test accuracies).

    Returns:
        `(lo, hi)`, or None for fewer than two values (no spread can be estimated).

    Raises:
        ValueError: a value is NaN or infinite.
        TypeError: a value is not a number.

    Example:
        >>> ci95([0.5])  # one seed: no interval
        >>> ci95([1.0, 1.0])
        (1.0, 1.0)
    """
    data = _finite_values(values, "values")
    if len(data) < 2:
        return None
    centre = math.fsum(data) / len(data)
    std = sample_std(data) or 0.0
    if std == 0.0:
        return (centre, centre)
    half = t_critical(len(data) - 1) * std / math.sqrt(len(data))
    return (centre - half, centre + half)


def paired_difference(reference: Sequence[float], other: Sequence[float]) -> PairedDifference:
    """Compares `other` with `reference` over the same seeds (paired t-test).

    The differences ``other[i] - reference[i]`` are treated as a sample: their mean, its
    Student-t 95% interval and the two-sided p-value of a paired t-test (the probability
    of a mean difference at least this large if the true difference were zero). When every
    difference is the same, the p-value is 1.0 for a zero difference and 0.0 otherwise.

    Args:
        reference: One figure per seed for the reference variant.
        other: The same figure for the other variant, in the same seed order.

    Returns:
        A `PairedDifference` (`mean_diff`, `ci95`, `p_value`, `n`).

    Raises:
        ValueError: the lists are empty, differ in length, or hold NaN/inf.
        TypeError: a value is not a number.

    Example:
        >>> d = paired_difference([0.90, 0.92, 0.94], [0.92, 0.93, 0.97])
        >>> round(d.mean_diff, 3), round(d.p_value, 3)
        (0.02, 0.074)
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
    if std == 0.0:
        return PairedDifference(centre, (centre, centre), 1.0 if centre == 0 else 0.0, n)
    from scipy import stats as sps

    sem = std / math.sqrt(n)
    half = t_critical(n - 1) * sem
    p_value = float(2 * sps.t.sf(abs(centre / sem), n - 1))
    return PairedDifference(centre, (centre - half, centre + half), p_value, n)
