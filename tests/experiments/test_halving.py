"""Successive halving (run/halving.py): the plan, the trail, ties, and no winner's curse."""

from __future__ import annotations

import numpy as np
import pytest

from regkit.experiments.report.sequential import SequentialDesign, plan_looks
from regkit.experiments.run.halving import halving_rounds, select
from sequential_sim import BETTER, run_adaptive, run_fixed, within_rate


def test_halving_rounds():
    assert halving_rounds(1) == []
    assert halving_rounds(2) == [(2, 1)]
    assert halving_rounds(5) == [(5, 1), (3, 2), (2, 4)]
    assert halving_rounds(8, 2) == [(8, 2), (4, 4), (2, 8)]
    assert halving_rounds(10, eta=3) == [(10, 1), (4, 3), (2, 9)]
    with pytest.raises(ValueError, match=r"argument `eta`: expected an int >= 2. Received: eta=1"):
        halving_rounds(4, eta=1)
    with pytest.raises(ValueError, match="argument `n_candidates`"):
        halving_rounds(0)


def test_select_keeps_the_better_half_on_the_mean_over_all_its_seeds():
    scores = {
        1e-5: [0.80, 0.90, 0.90],  # round 0: 0.80 -> dropped
        1e-4: [0.84, 0.86, 0.86],  # round 1 mean 0.853
        1e-3: [0.83, 0.88, 0.88],  # round 1 mean 0.863 -> chosen
        1e-2: [0.82],
    }
    trail = select(scores)
    assert trail.chosen == 1e-3
    first, second = trail.rounds
    assert first.seeds == 1 and first.candidates == (1e-4, 1e-3, 1e-2, 1e-5)
    assert first.kept == (1e-4, 1e-3) and first.dropped == (1e-2, 1e-5)
    assert second.seeds == 3 and second.kept == (1e-3,) and second.dropped == (1e-4,)
    assert second.means == pytest.approx((np.mean([0.83, 0.88, 0.88]), np.mean([0.84, 0.86, 0.86])))
    data = trail.as_dict()
    assert data["chosen"] == 1e-3 and data["rounds"][1]["dropped"] == [1e-4]


def test_ties_go_to_the_smaller_value_or_the_first_listed():
    assert select({0.5: [0.9, 0.9], 0.1: [0.9, 0.9]}, [(2, 2)]).chosen == 0.1
    assert select({"sgd": [0.9], "adam": [0.9]}, [(2, 1)]).chosen == "sgd"
    assert select({7: [0.1]}).chosen == 7 and select({7: [0.1]}).rounds == ()


def test_select_checks_its_inputs():
    with pytest.raises(ValueError, match=r"at least 3 accuracies for each candidate of round 1"):
        select({1: [0.9], 2: [0.8], 3: [0.7, 0.7]}, [(3, 1), (2, 2)])
    with pytest.raises(ValueError, match="argument `rounds`"):
        select({1: [0.9], 2: [0.8]}, [(3, 1)])
    with pytest.raises(ValueError, match="argument `scores`"):
        select({})
    with pytest.raises(ValueError, match="argument `scores`: expected a finite float"):
        select({1: [float("nan")], 2: [0.5]})


def _runs(rng, arms, seeds, studies):
    """(val, test) accuracies per (study, arm, seed): a run's own quality (shared by its
    validation and test figures) plus each split's sampling noise; every arm equal."""
    quality = rng.standard_normal((studies, arms, seeds))
    return (
        quality + 0.5 * rng.standard_normal(quality.shape),
        quality + 0.5 * rng.standard_normal(quality.shape),
    )


def test_no_winners_curse_when_the_choice_is_confirmed_on_fresh_seeds():
    """Sixteen candidates, all exactly as good as the reference (arm 0). Halving picks one
    on the selection seeds' validation figures; fresh seeds confirm it with `decide`. The
    naive way runs every candidate on 5 seeds, picks the best test mean and compares it
    with the reference on those same seeds (a paired t-test)."""
    rng = np.random.default_rng(11)
    studies, candidates = 2000, 16
    plan = halving_rounds(candidates)  # 16 on 1 seed, 8 on 2 more, 4 on 4, 2 on 8: 15 seeds
    design = SequentialDesign(looks=plan_looks(3, 10))
    selection = sum(s for _, s in plan)
    val, test = _runs(rng, candidates + 1, selection + design.max_seeds, studies)
    chosen = np.array(
        [
            select({c: val[s, c + 1, :selection] for c in range(candidates)}, plan).chosen
            for s in range(studies)
        ]
    )
    fresh = slice(selection, selection + design.max_seeds)
    confirm = test[np.arange(studies), chosen + 1, fresh] - test[:, 0, fresh]
    codes, _ = run_adaptive(design, confirm[:, None, :])
    halving_better = int((codes[:, 0] == BETTER).sum())

    naive_pick = test[:, 1:, :5].mean(axis=2).argmax(axis=1)
    naive = test[np.arange(studies), naive_pick + 1, :5] - test[:, 0, :5]
    naive_codes, _ = run_fixed(5, naive[:, None, :])
    naive_better = int((naive_codes[:, 0] == BETTER).sum())

    assert within_rate(halving_better, studies, 0.05), halving_better
    assert not within_rate(naive_better, studies, 0.05), naive_better
    assert naive_better > 2.5 * halving_better, (naive_better, halving_better)
    print(
        f"called better: halving {halving_better / studies:.1%}, naive {naive_better / studies:.1%}"
    )
