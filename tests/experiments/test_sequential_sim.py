"""The sequential verdicts' error rates on larger simulations (slow tier; NumPy only).

The default tier (test_sequential.py) checks a few cells with a few thousand studies; this
checks every noise, variant count and plan with 10,000 studies a cell.
bench/sequential_rates.py prints the same cells as the tables of docs/statistics.md.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest

from regkit.experiments.report.sequential import SequentialDesign, plan_looks
from sequential_sim import (
    BETTER,
    EQUIVALENT,
    NOISES,
    UNDECIDED,
    WORSE,
    differences,
    run_adaptive,
    run_fixed,
    within_rate,
)

pytestmark = pytest.mark.slow

PLANS = (plan_looks(3, 10), plan_looks(3, 20, 2), plan_looks(5, 20, 5))


def _rng(*key: object) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


@pytest.mark.parametrize("kind", NOISES)
@pytest.mark.parametrize("variants", [2, 5, 20])
@pytest.mark.parametrize("looks", PLANS, ids=lambda looks: f"{looks[0]}..{looks[-1]}x{len(looks)}")
def test_error_rates_stay_below_alpha(kind, variants, looks):
    studies = 10_000 if variants < 20 else 3_000
    design = SequentialDesign(looks=looks, margin=1.0)
    x = differences(
        [0.0] * variants, looks[-1], studies=studies, kind=kind, rng=_rng(kind, variants, looks)
    )
    codes, _ = run_adaptive(design, x)
    false = int(np.isin(codes, (BETTER, WORSE)).any(axis=1).sum())
    assert within_rate(false, studies, 0.05), false
    effects = [1.0 if i % 2 else -1.0 for i in range(variants)]  # every variant at ±margin
    x = differences(effects, looks[-1], studies=studies, kind=kind, rng=_rng(kind, looks, "eq"))
    codes, _ = run_adaptive(design, x)
    false = int((codes == EQUIVALENT).any(axis=1).sum())
    assert within_rate(false, studies, 0.05), false


def test_alpha_recycling_keeps_the_error_of_the_true_nulls():
    # two clear variants are decided early and pass their alpha to three null ones
    design = SequentialDesign(looks=plan_looks(3, 10))
    x = differences([6.0, -6.0, 0.0, 0.0, 0.0], 10, studies=10_000, rng=_rng("recycle"))
    codes, _ = run_adaptive(design, x)
    assert (codes[:, 0] == BETTER).mean() > 0.99 and (codes[:, 1] == WORSE).mean() > 0.99
    false = int(np.isin(codes[:, 2:], (BETTER, WORSE)).any(axis=1).sum())
    assert within_rate(false, 10_000, 0.05), false


@pytest.mark.parametrize("top", [10, 20])
def test_adaptive_beats_the_fixed_design_with_the_same_runs(top):
    design = SequentialDesign(looks=plan_looks(3, top), margin=2.0)
    effects = [0.0, 0.0, 0.0, 0.5, -0.5, 2.0, 3.0, 4.0]
    x = differences(effects, top, studies=4000, rng=_rng("runs", top))
    codes, runs = run_adaptive(design, x)
    per = runs.mean() / (len(effects) + 1)
    low, weight = math.floor(per), per - math.floor(per)
    a, _ = run_fixed(low, x, margin=2.0)
    b, _ = run_fixed(low + 1, x, margin=2.0)
    same = (1 - weight) * (a != UNDECIDED).sum(1).mean() + weight * (b != UNDECIDED).sum(1).mean()
    assert (codes != UNDECIDED).sum(1).mean() > same
    assert runs.mean() < 0.9 * (len(effects) + 1) * top
