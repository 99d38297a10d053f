"""regkit._tdist: the t, normal and binomial tails a report needs, without scipy.

Checked three ways: against closed forms (Cauchy and t with 2 degrees of freedom, whose cdf
and quantile are elementary, exact binomial sums in rational arithmetic), against scipy
over df in [1, 1e6] and probabilities in [1e-12, 1 - 1e-12] (scipy is in the dev extra;
those tests skip without it), and by round trips. No TensorFlow.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from regkit import _tdist

DFS = [1.0, 1.5, 2.0, 3.0, 4.5, 9.0, 30.0, 117.0, 1e3, 1e4, 1e5, 1e6, 3e6, 1e9]
PROBABILITIES = [1e-12, 1e-9, 1e-6, 1e-3, 0.025, 0.1, 0.3, 0.45, 0.5 - 1e-9, 0.5]
PROBABILITIES += [1.0 - p for p in PROBABILITIES if p != 0.5]


def _random_cases(count: int, seed: int = 0) -> list[tuple[float, float]]:
    """(df, p): df log-uniform in [1, 1e6], p log-uniform in [1e-12, 1/2] or mirrored."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        df = float(10 ** rng.uniform(0, 6))
        p = float(10 ** rng.uniform(-12, math.log10(0.5)))
        out.append((df, 1.0 - p if rng.random() < 0.5 else p))
    return out


# --------------------------------------------------------------- closed forms (no scipy)
@pytest.mark.parametrize("t", [-1e11, -300.0, -3.0, -1.0, -1e-3, -3e-9, 0.0, 2e-8, 0.7, 40.0])
def test_cauchy_and_df2_cdf_match_their_closed_forms(t):
    # df = 1 is Cauchy: 1/2 + atan(t)/pi; the lower tail as atan(1/|t|)/pi keeps its digits.
    cauchy = math.atan2(1.0, -t) / math.pi if t < 0 else 0.5 + math.atan(t) / math.pi
    assert _tdist.t_cdf(t, 1) == pytest.approx(cauchy, rel=1e-13)
    # df = 2: 1/2 + t / (2 sqrt(2 + t^2)); for t < 0 written without cancellation.
    s = math.sqrt(2.0 + t * t)
    df2 = 1.0 / (s * (s - t)) if t < 0 else 0.5 + t / (2.0 * s)
    assert _tdist.t_cdf(t, 2) == pytest.approx(df2, rel=1e-13)


@pytest.mark.parametrize("p", [1e-12, 1e-6, 0.01, 0.25, 0.3, 0.5 - 1e-9, 0.5, 0.7, 1 - 1e-12])
def test_cauchy_and_df2_quantiles_match_their_closed_forms(p):
    q = min(p, 1.0 - p)  # exact: 1 - p is exact for p >= 1/2
    half = 0.5 - q  # exact too (Sterbenz)
    lower = -math.tan(math.pi * half) if q > 0.25 else -1.0 / math.tan(math.pi * q)
    cauchy = math.copysign(lower, p - 0.5) if p != 0.5 else 0.0
    assert _tdist.t_ppf(p, 1) == pytest.approx(cauchy, rel=1e-12, abs=1e-300)
    df2 = math.copysign((0.5 - q) / math.sqrt(0.5 * q * (1.0 - q)), p - 0.5)  # (2p-1)/sqrt(2pq)
    assert _tdist.t_ppf(p, 2) == pytest.approx(df2, rel=1e-12, abs=1e-300)


def test_large_df_tends_to_the_normal_and_both_methods_agree_at_the_switch():
    for p in (1e-6, 0.025, 0.4):
        assert _tdist.t_ppf(p, 1e12) == pytest.approx(_tdist.norm_ppf(p), rel=1e-11)
    # at 1e5 the continued fraction, just above it Cornish-Fisher
    for p in (1e-12, 1e-6, 0.025, 0.4):
        below, above = _tdist.t_ppf(p, 1e5), _tdist.t_ppf(p, 1e5 * (1 + 1e-12))
        assert above == pytest.approx(below, rel=1e-11)
        assert _tdist.t_cdf(below, 1e5 * (1 + 1e-12)) == pytest.approx(p, rel=1e-10)
    assert _tdist.norm_ppf(0.975) == pytest.approx(1.959963984540054, rel=1e-15)
    assert _tdist.norm_cdf(-1.0) == pytest.approx(0.15865525393145707, rel=1e-15)


def test_quantile_and_cdf_round_trip_and_symmetry():
    for df, p in _random_cases(300, seed=1):
        t = _tdist.t_ppf(p, df)
        assert _tdist.t_cdf(t, df) == pytest.approx(p, rel=1e-12)
        if p >= 0.5:  # 1 - p is exact there, and the quantile is odd about 1/2
            assert _tdist.t_ppf(1.0 - p, df) == -t
        assert _tdist.t_sf(t, df) == _tdist.t_cdf(-t, df)


def test_a_tiny_lower_tail_keeps_its_relative_accuracy():
    # P(T < -1e6) with df = 3 is ~1e-18: a cdf formed as 1 - something would return 0.
    value = _tdist.t_cdf(-1e6, 3.0)
    # Leading term of the tail: Gamma(2)/(sqrt(3 pi) Gamma(3/2)) * 3^2 / 3 * |t|^-3.
    leading = 2 * math.sqrt(3) / math.pi * 1e-18
    assert value == pytest.approx(leading, rel=1e-11)


@pytest.mark.parametrize(
    ("k", "n", "p"), [(0, 1, 0.3), (3, 10, 0.5), (40, 50, 0.6), (89, 100, 0.5)]
)
def test_binom_sf_is_the_exact_binomial_tail(k, n, p):
    q = Fraction(p)
    exact = sum(math.comb(n, j) * q**j * (1 - q) ** (n - j) for j in range(k + 1, n + 1))
    assert _tdist.binom_sf(k, n, p) == pytest.approx(float(exact), rel=1e-12)


def test_binom_sf_edges():
    assert _tdist.binom_sf(-1, 5, 0.2) == 1.0  # P(X >= 0)
    assert _tdist.binom_sf(5, 5, 0.2) == 0.0
    assert _tdist.binom_sf(0, 5, 0.0) == 0.0
    assert _tdist.binom_sf(4, 5, 1.0) == 1.0
    assert _tdist.binom_sf(2.7, 5, 0.5) == _tdist.binom_sf(2, 5, 0.5)  # floored, as scipy


def test_log_beta_is_accurate_where_lgamma_cancels():
    # B(a, 1/2) ~ sqrt(pi / a) (1 + 1/(8a)) for large a: lgamma at 5e5 is ~6e6, so the
    # three-lgamma formula keeps only ~1e-9 of log B; the Stirling path keeps ~1e-16.
    a = 5e5
    approx = 0.5 * math.log(math.pi / a) + math.log1p(1 / (8 * a) + 1 / (128 * a * a))
    assert _tdist.log_beta(a, 0.5) == pytest.approx(approx, abs=1e-15)
    assert _tdist.log_beta(3.0, 4.0) == pytest.approx(math.log(1 / 60), rel=1e-14)
    assert _tdist.log_beta(20.0, 30.0) == pytest.approx(
        math.lgamma(20) + math.lgamma(30) - math.lgamma(50), rel=1e-13
    )


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: _tdist.t_ppf(1.5, 3),
            r"`p`: expected a probability in \[0, 1\]\. Received: p=1\.5",
        ),
        (lambda: _tdist.t_cdf(1.0, 0), r"`df`: expected a finite number > 0\. Received: df=0\.0"),
        (lambda: _tdist.t_ppf(0.5, math.inf), r"Received: df=inf"),
        (lambda: _tdist.binom_sf(1, -2, 0.5), r"`n`: expected an integer >= 0"),
        (lambda: _tdist.betainc(1.0, 1.0, 2.0), r"`x`: expected a number in \[0, 1\]"),
    ],
)
def test_bad_arguments_raise_keras_style_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_extreme_probabilities():
    assert _tdist.t_ppf(0.0, 5) == -math.inf
    assert _tdist.t_ppf(1.0, 5) == math.inf
    assert _tdist.t_cdf(-math.inf, 5) == 0.0
    assert _tdist.t_cdf(math.inf, 5) == 1.0
    assert _tdist.t_cdf(0.0, 5) == 0.5


# ---------------------------------------------------------------------- against scipy
@pytest.fixture(scope="module")
def sps():
    return pytest.importorskip("scipy.stats")


@pytest.mark.parametrize("df", DFS)
def test_t_quantile_matches_scipy_on_a_grid(sps, df):
    for p in PROBABILITIES:
        ours, theirs = _tdist.t_ppf(p, df), float(sps.t.ppf(p, df))
        # abs: near the median scipy itself is only ~1e-16 absolute (see the closed forms)
        assert math.isclose(ours, theirs, rel_tol=1e-10, abs_tol=1e-15), (df, p, ours, theirs)


def test_t_quantile_cdf_and_sf_match_scipy_at_random(sps):
    for df, p in _random_cases(1000, seed=2):
        ours, theirs = _tdist.t_ppf(p, df), float(sps.t.ppf(p, df))
        assert math.isclose(ours, theirs, rel_tol=1e-10, abs_tol=1e-15), (df, p, ours, theirs)
        if abs(theirs) > 0.5:  # nearer 0 scipy's cdf keeps ~1e-9 absolute only
            assert _tdist.t_cdf(theirs, df) == pytest.approx(sps.t.cdf(theirs, df), rel=1e-10)
            assert _tdist.t_sf(theirs, df) == pytest.approx(sps.t.sf(theirs, df), rel=1e-10)


def test_normal_and_binomial_match_scipy_at_random(sps):
    rng = np.random.default_rng(3)
    for _ in range(500):
        p = float(10 ** rng.uniform(-300, math.log10(0.5)))
        p = 1.0 - p if rng.random() < 0.5 else p
        assert _tdist.norm_ppf(p) == pytest.approx(sps.norm.ppf(p), rel=1e-13)
        n = int(rng.integers(1, 20000))
        k, q = int(rng.integers(-1, n + 1)), float(rng.random())
        theirs = float(sps.binom.sf(k, n, q))
        assert _tdist.binom_sf(k, n, q) == pytest.approx(theirs, rel=1e-9, abs=1e-300)
