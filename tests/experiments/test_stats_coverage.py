"""Coverage of `stats.ci95(values, bounds=...)`, checked by simulation.

Each case draws many studies of 3 or 5 seeds from a distribution whose mean is known, computes
the bounded interval of each and counts how often it holds the true mean. The observed coverage
of a method that truly covers 95% has binomial standard error ``sqrt(0.95 * 0.05 / draws)``;
a case fails when the coverage is further than four of those from 0.95 (about 1 in 16,000 by
chance for an exact method). The cases are the figures a study reports: accuracies of 0.9-0.99
with a small spread between seeds, accuracies near 1 with some seeds exactly at 1.0 (a test set of
360 digits), and positive skewed figures (wall time, weight norm). The default tier draws a few
thousand studies per case (seconds); the slow tier draws 20,000 and adds harder cases.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from regkit.experiments.report.stats import ci95

Draw = Callable[[np.random.Generator, int, int], np.ndarray]


def _beta(mean: float, sd: float) -> tuple[float, float]:
    k = mean * (1 - mean) / sd**2 - 1
    return mean * k, (1 - mean) * k


A99, B99 = _beta(0.99, 0.005)
A97, B97 = _beta(0.97, 0.01)

# name: (draw(rng, draws, seeds) -> array, true mean, bounds)
CASES: dict[str, tuple[Draw, float, tuple[float | None, float | None]]] = {
    "accuracy 0.95, sd 0.01": (
        lambda r, d, n: np.clip(r.normal(0.95, 0.01, (d, n)), 0, 1),
        0.95,
        (0.0, 1.0),
    ),
    "accuracy 0.99, sd 0.005 (beta)": (lambda r, d, n: r.beta(A99, B99, (d, n)), 0.99, (0, 1)),
    "accuracy 0.97, sd 0.01 (beta)": (lambda r, d, n: r.beta(A97, B97, (d, n)), 0.97, (0, 1)),
    "accuracy 0.99 on 360 examples, some seeds at 1.0": (
        lambda r, d, n: r.binomial(360, 0.99, (d, n)) / 360,
        0.99,
        (0.0, 1.0),
    ),
    "wall time, lognormal sd 0.2": (
        lambda r, d, n: 30.0 * r.lognormal(0.0, 0.2, (d, n)),
        30.0 * math.exp(0.2**2 / 2),
        (0.0, None),
    ),
    "weight norm, gamma shape 20": (lambda r, d, n: r.gamma(20.0, 0.5, (d, n)), 10.0, (0, None)),
}


def _coverage(draw: Draw, truth: float, bounds, seeds: int, draws: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    lo_b, hi_b = bounds
    hits = 0
    for row in draw(rng, draws, seeds).tolist():
        lo, hi = ci95(row, bounds=bounds)
        assert lo_b is None or lo >= lo_b
        assert hi_b is None or hi <= hi_b
        hits += lo <= truth <= hi
    return hits / draws


def _tolerance(draws: int) -> float:
    return 4 * math.sqrt(0.95 * 0.05 / draws)


@pytest.mark.parametrize("seeds", [3, 5])
@pytest.mark.parametrize("case", list(CASES))
def test_bounded_interval_covers_the_mean_about_95_percent(case, seeds):
    draw, truth, bounds = CASES[case]
    draws = 2500
    coverage = _coverage(draw, truth, bounds, seeds, draws, seed=seeds)
    assert abs(coverage - 0.95) <= _tolerance(draws), (case, seeds, coverage)


def test_the_log_scale_mends_the_plain_intervals_undercoverage_on_skewed_figures():
    """Exponential figures at 3 seeds: the plain t-interval covers 88.6%, the bounded 94.6%."""
    rng = np.random.default_rng(7)
    draws = 3000
    rows = rng.exponential(1.0, (draws, 3)).tolist()
    plain = sum(lo <= 1.0 <= hi for lo, hi in (ci95(r) for r in rows)) / draws
    bounded = sum(lo <= 1.0 <= hi for lo, hi in (ci95(r, bounds=(0, None)) for r in rows)) / draws
    assert plain < 0.95 - _tolerance(draws)
    assert abs(bounded - 0.95) <= _tolerance(draws)


@pytest.mark.slow
@pytest.mark.parametrize("seeds", [3, 5])
@pytest.mark.parametrize("case", list(CASES))
def test_bounded_interval_coverage_with_many_draws(case, seeds):
    draw, truth, bounds = CASES[case]
    draws = 20_000
    coverage = _coverage(draw, truth, bounds, seeds, draws, seed=100 + seeds)
    # the methods are approximate: allow 0.01 besides the simulation's own noise
    assert abs(coverage - 0.95) <= 0.01 + _tolerance(draws), (case, seeds, coverage)


@pytest.mark.slow
@pytest.mark.parametrize("seeds", [3, 5])
def test_many_seeds_at_the_bound_cover_as_well_as_the_plain_interval(seeds):
    """Accuracy 0.995 on 500 examples: a quarter of the seeds sit at 1.0. Neither interval
    reaches 95% there (about 94%), and the bounded one must not do worse than the plain one."""
    rng = np.random.default_rng(seeds)
    draws = 20_000
    rows = (rng.binomial(500, 0.995, (draws, seeds)) / 500).tolist()
    plain = sum(lo <= 0.995 <= hi for lo, hi in (ci95(r) for r in rows)) / draws
    bounded = sum(lo <= 0.995 <= hi for lo, hi in (ci95(r, bounds=(0, 1)) for r in rows)) / draws
    assert bounded >= plain - 2 * math.sqrt(0.05 * 0.95 / draws)
    assert bounded >= 0.93
