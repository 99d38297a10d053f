"""Simulated studies for the tests of the sequential verdicts (NumPy only, no training).

A simulated run's test accuracy is ``effect + scale * noise`` (the reference: effect 0,
scale 1), with unit-variance centred noise of one of `NOISES`; a variant's paired
differences are its runs minus the reference's runs of the same seeds, so the variants
of one study share the reference's noise, as in a real study. Used by
tests/experiments/test_sequential.py, test_sequential_sim.py, test_halving.py and
bench/sequential_rates.py.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from regkit.experiments.report.sequential import SequentialDesign, decide_batch

NOISES = ("normal", "lognormal", "exponential", "t3")
UNDECIDED, BETTER, WORSE, EQUIVALENT = range(4)


def noise(kind: str, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Centred noise with variance 1: normal, skewed (lognormal sigma 0.5, exponential) or
    heavy-tailed (Student t with 3 degrees of freedom)."""
    if kind == "normal":
        return rng.standard_normal(shape)
    if kind == "lognormal":
        s2 = 0.25
        raw = rng.lognormal(0.0, math.sqrt(s2), shape)
        return (raw - math.exp(s2 / 2)) / math.sqrt((math.exp(s2) - 1) * math.exp(s2))
    if kind == "exponential":
        return rng.exponential(1.0, shape) - 1.0
    if kind == "t3":
        return rng.standard_t(3, shape) / math.sqrt(3.0)
    raise ValueError(kind)


def differences(
    effects: Sequence[float],
    seeds: int,
    *,
    studies: int,
    kind: str = "normal",
    scales: Sequence[float] | None = None,
    rng: np.random.Generator,
) -> np.ndarray:
    """Paired differences (studies, variants, seeds): variant run minus reference run."""
    variants = len(effects)
    scale = np.ones(variants) if scales is None else np.asarray(scales, dtype=float)
    reference = noise(kind, rng, (studies, 1, seeds))
    runs = np.asarray(effects, dtype=float)[None, :, None] + scale[None, :, None] * noise(
        kind, rng, (studies, variants, seeds)
    )
    return runs - reference


def run_adaptive(design: SequentialDesign, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Runs the adaptive study on the differences `x` (studies, variants, max_seeds):
    every variant runs the first look's seeds, then only the undecided ones run on to the
    next look, round by round. Returns the final verdict codes (studies, variants) and the
    runs each study trained (variants' runs plus the reference's, which runs as many seeds
    as its longest variant)."""
    looks = design.looks
    lengths = np.full(x.shape[:2], looks[0])
    for k in range(1, len(looks)):
        codes = decide_batch(x, lengths, design)
        grow = (codes == UNDECIDED) & (lengths == looks[k - 1])
        if not grow.any():
            break
        lengths[grow] = looks[k]
    codes = decide_batch(x, lengths, design)
    return codes, lengths.sum(axis=1) + lengths.max(axis=1)


def run_fixed(seeds: int, x: np.ndarray, *, alpha: float = 0.05, margin: float | None = None):
    """The fixed design on the first `seeds` differences: verdict codes, runs per study."""
    design = SequentialDesign(looks=(seeds,), alpha=alpha, margin=margin)
    lengths = np.full(x.shape[:2], seeds)
    codes = decide_batch(x[..., :seeds], lengths, design)
    return codes, np.full(x.shape[0], seeds * (x.shape[1] + 1))


def binomial_upper_p(count: int, trials: int, rate: float) -> float:
    """``P(X >= count)`` for ``X ~ Binomial(trials, rate)``, exactly."""
    if count <= 0:
        return 1.0
    log_rate, log_rest = math.log(rate), math.log1p(-rate)
    total = 0.0
    for k in range(count, trials + 1):
        log_term = (
            math.lgamma(trials + 1)
            - math.lgamma(k + 1)
            - math.lgamma(trials - k + 1)
            + k * log_rate
            + (trials - k) * log_rest
        )
        total += math.exp(log_term)
    return min(1.0, total)


def within_rate(count: int, trials: int, rate: float, *, confidence: float = 1e-3) -> bool:
    """Whether `count` events in `trials` are consistent with a true rate <= `rate`
    (one-sided exact binomial test at level `confidence`)."""
    return binomial_upper_p(count, trials, rate) > confidence
