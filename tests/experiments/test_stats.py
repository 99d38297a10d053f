"""Statistics over seeds, checked against hand computations.

For 2 degrees of freedom (3 seeds) Student's t has a closed form: the CDF is
``1/2 + t / (2 sqrt(2 + t^2))``, so the 95% critical value is ``sqrt(2 * 0.95^2 / (1 - 0.95^2))``
and a two-sided p-value is ``1 - |t| / sqrt(2 + t^2)``. The tests below use it, so they do not
lean on the scipy call they check.
"""

from __future__ import annotations

import itertools
import math

import pytest

from regkit.experiments.report.collapse import collapse_cause, no_better_than_majority
from regkit.experiments.report.stats import (
    METRIC_BOUNDS,
    ci95,
    comparison_words,
    holm,
    mean,
    paired_difference,
    sample_std,
    seeds_to_resolve,
    t_critical,
)

T_975_DF2 = math.sqrt(2 * 0.95**2 / (1 - 0.95**2))  # 4.3027


def test_t_critical_matches_the_closed_form_for_two_degrees_of_freedom():
    assert t_critical(2) == pytest.approx(T_975_DF2, rel=1e-9)
    assert t_critical(2) == pytest.approx(4.303, abs=1e-3)  # the textbook table


def test_mean_std_and_ci95_of_three_seeds_by_hand():
    accuracies = [0.90, 0.92, 0.94]
    # mean 0.92, deviations -0.02, 0, 0.02: s = sqrt(0.0008 / 2) = 0.02
    assert mean(accuracies) == pytest.approx(0.92)
    assert sample_std(accuracies) == pytest.approx(0.02)
    half = T_975_DF2 * 0.02 / math.sqrt(3)  # 0.04968
    lo, hi = ci95(accuracies)
    assert (lo, hi) == pytest.approx((0.92 - half, 0.92 + half))
    assert (round(lo, 4), round(hi, 4)) == (0.8703, 0.9697)


def test_one_seed_gives_no_interval_and_no_std():
    assert ci95([0.9]) is None
    assert sample_std([0.9]) is None
    assert mean([0.9]) == 0.9
    assert mean([]) is None


def test_identical_values_give_a_zero_width_interval():
    assert ci95([0.5, 0.5, 0.5]) == (0.5, 0.5)


def test_paired_difference_of_three_seeds_by_hand():
    reference = [0.90, 0.92, 0.94]
    other = [0.92, 0.93, 0.97]
    # differences 0.02, 0.01, 0.03: mean 0.02, s = 0.01, t = 0.02 / (0.01 / sqrt 3) = 2 sqrt 3
    t = 2 * math.sqrt(3)
    p_by_hand = 1 - t / math.sqrt(2 + t**2)  # 0.0742
    half = T_975_DF2 * 0.01 / math.sqrt(3)
    result = paired_difference(reference, other)
    assert result.mean_diff == pytest.approx(0.02)
    assert result.ci95 == pytest.approx((0.02 - half, 0.02 + half))
    assert result.p_value == pytest.approx(p_by_hand, rel=1e-9)
    assert result.n == 3
    assert result.distinguishable is False  # the interval contains 0 at 3 seeds


def test_paired_difference_agrees_with_scipys_paired_t_test():
    from scipy import stats as sps

    reference = [0.81, 0.85, 0.79, 0.88, 0.83]
    other = [0.86, 0.90, 0.80, 0.93, 0.87]
    expected = sps.ttest_rel(other, reference)
    result = paired_difference(reference, other)
    assert result.p_value == pytest.approx(float(expected.pvalue))
    assert result.distinguishable is True
    assert result.ci95[0] > 0


def test_pairing_is_what_makes_a_consistent_small_gain_visible():
    """The same values unpaired overlap; paired, every seed gains 0.01 and the test sees it."""
    reference = [0.80, 0.90, 0.85, 0.95]
    other = [0.81, 0.91, 0.86, 0.96]
    hi_ref = ci95(reference)[1]
    lo_oth = ci95(other)[0]
    assert lo_oth < hi_ref  # the per-variant intervals overlap
    result = paired_difference(reference, other)
    assert result.p_value == 0.0  # every difference is exactly the same, non-zero
    assert result.distinguishable is True


def test_no_difference_at_all_has_p_value_one():
    result = paired_difference([0.5, 0.6], [0.5, 0.6])
    assert result.mean_diff == 0.0
    assert result.p_value == 1.0
    assert result.distinguishable is False


def test_one_pair_has_a_difference_but_no_interval():
    result = paired_difference([0.5], [0.7])
    assert result.mean_diff == pytest.approx(0.2)
    assert result.ci95 is None
    assert result.p_value is None
    assert result.distinguishable is None


def test_unaligned_lists_are_refused_naming_the_argument():
    with pytest.raises(ValueError, match="`other`: expected as many values as `reference`"):
        paired_difference([0.5, 0.6], [0.5])
    with pytest.raises(ValueError, match="`other`"):
        paired_difference([], [])


def test_non_finite_values_are_refused():
    with pytest.raises(ValueError, match="`values`: expected finite floats"):
        ci95([0.5, float("nan")])
    with pytest.raises(ValueError, match="`reference`: expected finite floats"):
        paired_difference([float("inf"), 0.5], [0.5, 0.5])
    with pytest.raises(TypeError, match="`values`"):
        mean("0.5")
    with pytest.raises(TypeError, match="`values`"):
        mean([0.5, None])


def test_numpy_scalars_are_accepted():
    import numpy as np

    assert mean(np.array([0.25, 0.75], dtype=np.float32)) == pytest.approx(0.5)


# ---------------------------------------------------------------------------- bounded intervals
def _by_hand_t(values):
    n = len(values)
    centre = sum(values) / n
    s = math.sqrt(sum((v - centre) ** 2 for v in values) / (n - 1))
    return centre, T_975_DF2 * s / math.sqrt(n)


def test_bounded_accuracy_interval_is_the_logit_t_interval_mapped_back():
    accuracies = [0.80, 0.99, 0.999]
    assert ci95(accuracies)[1] > 1  # what report.json showed: [0.73, 1.17]-like intervals
    centre, half = _by_hand_t([math.log(a / (1 - a)) for a in accuracies])
    expected = (1 / (1 + math.exp(-(centre - half))), 1 / (1 + math.exp(-(centre + half))))
    lo, hi = ci95(accuracies, bounds=(0, 1))
    assert (lo, hi) == pytest.approx(expected, rel=1e-9)
    assert 0 < lo < hi < 1


def test_bounded_positive_interval_is_the_log_t_interval_and_stays_above_zero():
    norms = [0.1, 0.5, 3.0]
    assert ci95(norms)[0] < 0  # a negative weight norm, unbounded
    centre, half = _by_hand_t([math.log(v) for v in norms])
    lo, hi = ci95(norms, bounds=(0, None))
    assert (lo, hi) == pytest.approx((math.exp(centre - half), math.exp(centre + half)))
    assert lo > 0


def test_an_upper_bound_alone_mirrors_the_log_scale():
    values = [0.5, 0.9, 0.99]
    centre, half = _by_hand_t([math.log(1 - v) for v in values])
    lo, hi = ci95(values, bounds=(None, 1.0))
    assert (lo, hi) == pytest.approx((1 - math.exp(centre + half), 1 - math.exp(centre - half)))
    assert hi < 1


def test_a_general_range_is_scaled_before_the_logit():
    gaps = [-0.2, 0.1, 0.3]  # generalization gap in [-1, 1]
    centre, half = _by_hand_t([math.log((g + 1) / (1 - g)) for g in gaps])
    lo, hi = ci95(gaps, bounds=(-1, 1))
    sig = lambda y: 1 / (1 + math.exp(-y))  # noqa: E731
    assert (lo, hi) == pytest.approx((-1 + 2 * sig(centre - half), -1 + 2 * sig(centre + half)))


def test_far_from_the_bounds_the_bounded_interval_is_close_to_the_plain_one():
    values = [0.50, 0.52, 0.54]
    assert ci95(values, bounds=(0, 1)) == pytest.approx(ci95(values), abs=2e-3)


def test_seeds_exactly_at_a_bound_fall_back_to_the_clipped_t_interval():
    values = [1.0, 0.98, 0.99]
    plain_lo, plain_hi = ci95(values)
    assert plain_hi > 1
    assert ci95(values, bounds=(0, 1)) == (plain_lo, 1.0)
    assert ci95([0.0, 0.2, 0.1], bounds=(0, None)) == (0.0, ci95([0.0, 0.2, 0.1])[1])


def test_all_seeds_at_the_bound_give_the_point():
    assert ci95([1.0, 1.0, 1.0], bounds=(0, 1)) == (1.0, 1.0)
    assert ci95([0.0, 0.0], bounds=(0, None)) == (0.0, 0.0)


def test_no_bounds_is_todays_interval():
    values = [0.90, 0.92, 0.94]
    assert ci95(values, bounds=None) == ci95(values)
    assert ci95(values, bounds=(None, None)) == ci95(values)
    assert ci95([0.9], bounds=(0, 1)) is None


def test_the_bounded_interval_always_holds_the_mean_and_stays_in_range():
    import numpy as np

    rng = np.random.default_rng(3)
    for n in (2, 3, 5, 12):
        for row in rng.exponential(1.0, (150, n)).tolist():
            lo, hi = ci95(row, bounds=(0, None))
            assert 0 < lo <= mean(row) <= hi
        for row in rng.beta(0.5, 0.5, (150, n)).tolist():
            lo, hi = ci95(row, bounds=(0, 1))
            assert 0 <= lo <= mean(row) <= hi <= 1


def test_values_outside_the_bounds_and_malformed_bounds_are_refused():
    with pytest.raises(ValueError, match="`values`: expected values within bounds"):
        ci95([0.5, 1.2], bounds=(0, 1))
    with pytest.raises(ValueError, match="`values`"):
        ci95([-0.1, 2.0], bounds=(0, None))
    for bad in [(1, 0), (0,), "01", (0, float("inf")), (0, "1"), 1, (True, None)]:
        with pytest.raises(ValueError, match="`bounds`"):
            ci95([0.5, 0.6], bounds=bad)


def test_every_reported_metric_has_bounds():
    from regkit.experiments.study.records import METRICS

    assert set(METRICS) <= set(METRIC_BOUNDS)


# ---------------------------------------------------------------------------- Holm
def test_holm_by_hand():
    # sorted: 0.005 * 4 = 0.02, 0.01 * 3 = 0.03, 0.03 * 2 = 0.06, 0.04 * 1 = 0.04 -> 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == [1.0, 1.0]  # capped at 1
    assert holm([0.02]) == [0.02]
    assert holm([]) == []


def test_holm_passes_missing_p_values_through_and_does_not_count_them():
    out = holm([0.01, None, 0.04, float("nan")])
    assert out[0] == pytest.approx(0.02) and out[2] == pytest.approx(0.04)
    assert out[1] is None and math.isnan(out[3])


def test_holm_agrees_with_the_step_down_procedure_it_defines():
    """Holm at level a: sort, reject while p_(i) <= a / (m - i + 1), stop at the first that
    fails. An adjusted p-value is <= a exactly when its hypothesis is rejected."""
    import numpy as np

    rng = np.random.default_rng(0)
    for _ in range(300):
        m = int(rng.integers(1, 8))
        p = (rng.uniform(0, 0.2, m) * rng.choice([0.1, 1.0], m)).tolist()
        adjusted = holm(p)
        for level in (0.01, 0.05, 0.1):
            rejected = set()
            for i, index in enumerate(sorted(range(m), key=lambda k: p[k])):
                if p[index] > level / (m - i):
                    break
                rejected.add(index)
            assert {k for k in range(m) if adjusted[k] <= level} == rejected
        order = sorted(range(m), key=lambda k: p[k])
        assert all(adjusted[k] >= p[k] for k in range(m))
        assert all(adjusted[a] <= adjusted[b] for a, b in itertools.pairwise(order))


def test_holm_refuses_what_is_not_a_p_value():
    with pytest.raises(ValueError, match="`p_values`"):
        holm([0.5, 1.5])
    with pytest.raises(TypeError, match="`p_values`"):
        holm(["0.5"])
    with pytest.raises(TypeError, match="`p_values`"):
        holm(0.5)


# ---------------------------------------------------------------------------- resolution
def test_resolution_of_three_seeds_by_hand():
    # differences 0.02, 0.01, 0.03: s = 0.01; the interval's half-width is what 3 seeds resolve
    result = paired_difference([0.90, 0.92, 0.94], [0.92, 0.93, 0.97])
    assert result.detectable == pytest.approx(T_975_DF2 * 0.01 / math.sqrt(3))  # 0.0248
    # 4 seeds: t_{0.975, 3} = 3.182, 3.182 * 0.01 / 2 = 0.0159 < 0.02, so 4 seeds resolve it
    assert result.seeds_needed == 4
    assert result.distinguishable is (abs(result.mean_diff) > result.detectable)


def test_seeds_to_resolve_is_the_smallest_n_at_which_the_difference_is_significant():
    for diff, std in [(0.006, 0.01), (0.001, 0.02), (0.05, 0.01), (-0.01, 0.03)]:
        n = seeds_to_resolve(diff, std)
        assert abs(diff) > t_critical(n - 1) * std / math.sqrt(n)
        assert n == 2 or abs(diff) <= t_critical(n - 2) * std / math.sqrt(n - 1)
    assert seeds_to_resolve(0.0, 0.01) is None
    assert seeds_to_resolve(0.01, 0.0) == 2
    assert seeds_to_resolve(1e-9, 1.0) is None  # beyond a million seeds


def test_resolution_is_absent_without_a_spread_or_a_difference():
    one = paired_difference([0.5], [0.7])
    assert one.detectable is None and one.seeds_needed is None
    same = paired_difference([0.5, 0.6], [0.5, 0.6])
    assert same.detectable == 0.0 and same.seeds_needed is None
    existing = paired_difference([0.9, 0.8], [0.91, 0.82])
    assert existing[:4] == (existing.mean_diff, existing.ci95, existing.p_value, existing.n)


# ---------------------------------------------------------------------------- words
def test_words_of_the_report():
    assert comparison_words(0.03, (0.01, 0.05), 0.01, 3) == "higher than the reference"
    assert comparison_words(-0.03, (-0.05, -0.01), 0.01, 3) == "lower than the reference"
    # at 3 seeds, half-width 0.021 means s = 0.021 * sqrt(3) / 4.303 = 0.00845; 0.006 needs
    # n with 0.006 > t_{n-1} * 0.00845 / sqrt(n): 11 (t_10 = 2.228: 0.00568)
    words = comparison_words(0.006, (-0.015, 0.027), 0.32, 3, detectable=0.021)
    assert words == (
        "not distinguishable from zero at 3 seeds "
        "(could detect differences of about 0.021; about 11 seeds would resolve 0.006)"
    )
    assert comparison_words(0.0, (-0.01, 0.01), 1.0, 5, detectable=0.01) == (
        "not distinguishable from zero at 5 seeds (could detect differences of about 0.01)"
    )
    assert comparison_words(0.2, None, None, 1) == "one seed: no interval can be given"


def test_words_follow_the_adjusted_p_value():
    alone = comparison_words(0.03, (0.01, 0.05), 0.02, 3)
    assert alone == "higher than the reference"
    adjusted = comparison_words(0.03, (0.01, 0.05), 0.02, 3, p_adjusted=0.06, detectable=0.02)
    assert adjusted.startswith("not distinguishable from zero at 3 seeds after Holm's adjustment")
    assert "p = 0.02 alone" in adjusted
    assert comparison_words(0.03, (0.01, 0.05), 0.01, 3, p_adjusted=0.03).startswith("higher")


def test_words_use_given_seeds_needed_and_refuse_bad_figures():
    words = comparison_words(0.004, (-0.01, 0.018), 0.4, 3, detectable=0.014, seeds_needed=25)
    assert words.endswith(
        "(could detect differences of about 0.014; about 25 seeds would resolve 0.004)"
    )
    with pytest.raises(ValueError, match="`p_adjusted`"):
        comparison_words(0.01, (0.0, 0.02), 0.04, 3, p_adjusted=2.0)
    with pytest.raises(TypeError, match="`mean_diff`"):
        comparison_words("0.01", (0.0, 0.02), 0.04, 3)


# ---------------------------------------------------------------------------- collapse
def _upper_tail(k, n, p):
    return math.fsum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))


def test_collapse_test_is_an_exact_one_sided_binomial_test():
    n, majority = 360, 0.1
    # expected 36 right by chance; the smallest count significant at 5%, by hand:
    threshold = next(k for k in range(37, n) if _upper_tail(k, n, majority) < 0.05)
    assert 45 <= threshold <= 48  # about 36 + 1.645 * sqrt(360 * 0.1 * 0.9) = 45.4
    assert no_better_than_majority((threshold - 1) / n, majority, n) is True
    assert no_better_than_majority(threshold / n, majority, n) is False


def test_collapse_verdicts_with_hand_made_numbers():
    assert no_better_than_majority(0.103, 0.101, 360) is True  # the L2 = 1e-2 digits run
    assert no_better_than_majority(0.05, 0.101, 360) is True  # below chance: still collapsed
    assert no_better_than_majority(0.90, 0.101, 360) is False
    assert no_better_than_majority(0.55, 0.5, 20) is True  # 11 of 20 on a two-class set
    assert no_better_than_majority(0.55, 0.5, 2000) is False  # 1100 of 2000 is not noise
    assert no_better_than_majority(1.0, 1.0, 10) is True  # one class only: nothing to beat


def test_collapse_test_refuses_bad_figures():
    with pytest.raises(ValueError, match="`best_accuracy`"):
        no_better_than_majority(1.5, 0.1, 100)
    with pytest.raises(ValueError, match="`majority_fraction`"):
        no_better_than_majority(0.5, 0.0, 100)
    with pytest.raises(ValueError, match="`n`"):
        no_better_than_majority(0.5, 0.1, 0)
    with pytest.raises(TypeError, match="`n`"):
        no_better_than_majority(0.5, 0.1, 10.0)
    with pytest.raises(ValueError, match="`alpha`"):
        no_better_than_majority(0.5, 0.1, 100, alpha=1.0)


def test_collapse_cause_names_the_penalty_from_the_shrunken_weights():
    # the run: L2 = 1e-2 under Adam, weight norm 26 -> 0.14, loss ln 10, share ~0
    figures = {
        "reg_loss_share": 0.0001,
        "weight_norm": 0.14,
        "initial_weight_norm": 26.0,
        "adaptive": 1.0,
        "train_loss": math.log(10),
        "num_classes": 10,
    }
    cause = collapse_cause(figures)
    assert cause.startswith("the penalty dominates the loss (L2 too strong)")
    assert "26 -> 0.14" in cause and "Adam" in cause


def test_collapse_cause_in_order_of_evidence():
    assert collapse_cause({"reg_loss_share": 0.9}) == (
        "the penalty dominates the loss (L2 too strong): penalty share 90%"
    )
    assert collapse_cause({"effective_lr_ratio": 500.0}).startswith(
        "the effective learning rate blew up (500 times its start)"
    )
    assert collapse_cause({"prediction_share": 1.0, "effective_lr_ratio": 2.0}).startswith(
        "constant predictions: 100% of validation examples"
    )
    assert collapse_cause({"train_loss": 2.31, "num_classes": 10}).startswith("uniform outputs")
    assert collapse_cause({"train_loss": 1.5, "num_classes": 10}) == (
        "no cause stands out in the measured figures"
    )
    assert collapse_cause(
        {
            "weight_norm": 20.0,
            "initial_weight_norm": 26.0,
            "reg_loss_share": None,
            "prediction_share": float("nan"),
        }
    ) == ("no cause stands out in the measured figures")


def test_collapse_cause_refuses_what_is_not_a_mapping_of_floats():
    with pytest.raises(TypeError, match="`figures`"):
        collapse_cause([("reg_loss_share", 0.9)])
    with pytest.raises(TypeError, match="reg_loss_share"):
        collapse_cause({"reg_loss_share": "0.9"})
