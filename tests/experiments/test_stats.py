"""Statistics over seeds, checked against hand computations.

For 2 degrees of freedom (3 seeds) Student's t has a closed form: the CDF is
``1/2 + t / (2 sqrt(2 + t^2))``, so the 95% critical value is ``sqrt(2 * 0.95^2 / (1 - 0.95^2))``
and a two-sided p-value is ``1 - |t| / sqrt(2 + t^2)``. The tests below use it, so they do not
lean on the scipy call they check.
"""

from __future__ import annotations

import math

import pytest

from regkit.experiments.stats import ci95, mean, paired_difference, sample_std, t_critical

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
