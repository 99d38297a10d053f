"""Student t, normal and binomial tails in pure Python, so that regkit needs no scipy.

A study's report needs a handful of distribution functions: the Student t quantile for
confidence intervals, the t tail for paired p-values, the normal quantile, and a binomial
tail for the collapse test. scipy (143 MB installed) was a hard dependency for those few
calls; this module computes them with the standard library's `math` alone:

- the regularized incomplete beta function `I_x(a, b)` by its continued fraction,
  evaluated with the modified Lentz method (Numerical Recipes, 3rd ed., 6.4), on whichever
  side of the symmetry `I_x(a, b) = 1 - I_{1-x}(b, a)` converges fast, so that both tails
  keep their relative accuracy;
- `log B(a, b)` from `math.lgamma` for small arguments and from Stirling's series with the
  large parts cancelled by hand otherwise (lgamma's absolute error at a = 5e5 would cost
  ~1e-9 in relative accuracy);
- quantiles by Newton's method on the log of the tail (or on the central mass near the
  median), kept inside a bracket and falling back to bisection, so it cannot diverge.

Above 1e5 degrees of freedom the t is the normal with Cornish-Fisher terms. Accuracy
against scipy (tests/test_tdist.py): better than 1e-10 relative over df in [1, 1e6] and
probabilities in [1e-12, 1 - 1e-12]. The functions take and return plain floats.

Example:
    >>> round(t_ppf(0.975, 4), 6)
    2.776445
    >>> round(2 * t_sf(2.776445, 4), 6)
    0.05
"""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = [
    "betainc",
    "binom_sf",
    "log_beta",
    "norm_cdf",
    "norm_ppf",
    "norm_sf",
    "t_cdf",
    "t_pdf",
    "t_ppf",
    "t_sf",
]

_EPS = 1e-15  # the continued fraction stops when a step changes it by less than this
_TINY = 1e-300  # Lentz's guard against a zero denominator
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_STIRLING_FROM = 10.0  # Stirling's series below is accurate to ~1e-16 from here on


def _invalid(argument: str, expected: str, value: object) -> ValueError:
    return ValueError(
        f"Invalid value for argument `{argument}`: expected {expected}. "
        f"Received: {argument}={value!r}"
    )


def _check_df(df: float) -> float:
    df = float(df)
    if not (df > 0 and math.isfinite(df)):
        raise _invalid("df", "a finite number > 0", df)
    return df


def _check_probability(p: float) -> float:
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise _invalid("p", "a probability in [0, 1]", p)
    return p


# ------------------------------------------------------------------------ log B(a, b)
def _stirling_delta(z: float) -> float:
    """`lgamma(z) - ((z - 1/2) log z - z + log sqrt(2 pi))`, for z >= 10 (Stirling's series)."""
    r = 1.0 / z
    r2 = r * r
    return r * (
        1 / 12
        - r2
        * (
            1 / 360
            - r2 * (1 / 1260 - r2 * (1 / 1680 - r2 * (1 / 1188 - r2 * (691 / 360360 - r2 / 156))))
        )
    )


def log_beta(a: float, b: float) -> float:
    """`log B(a, b) = lgamma(a) + lgamma(b) - lgamma(a + b)`, accurate for large arguments.

    Args:
        a: A positive number.
        b: A positive number.

    Returns:
        The logarithm of the beta function, with an absolute error of a few 1e-16 even
        where the three lgamma values are in the millions.

    Example:
        >>> round(log_beta(0.5, 0.5), 12) == round(math.log(math.pi), 12)
        True
    """
    small, large = (a, b) if a <= b else (b, a)
    if large < _STIRLING_FROM:
        return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    total = a + b
    if small < _STIRLING_FROM:
        # lgamma(large) - lgamma(large + small) with the big terms cancelled analytically.
        ratio = (
            -(large - 0.5) * math.log1p(small / large)
            - small * math.log(total)
            + small
            + _stirling_delta(large)
            - _stirling_delta(total)
        )
        return math.lgamma(small) + ratio
    return (
        _LOG_SQRT_2PI
        - (a - 0.5) * math.log1p(b / a)
        - b * math.log1p(a / b)
        - 0.5 * math.log(b)
        + _stirling_delta(a)
        + _stirling_delta(b)
        - _stirling_delta(total)
    )


# ------------------------------------------------------------- the incomplete beta
def _continued_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of `I_x(a, b)` (modified Lentz), fast for x < (a+1)/(a+b+2)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    # Converges in O(sqrt(max(a, b))) steps on this side of the mean.
    for m in range(1, 1000 + 20 * int(math.sqrt(max(a, b)))):
        m2 = 2 * m
        for numerator in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            step = d * c
            h *= step
        if abs(step - 1.0) < _EPS:
            return h
    raise ArithmeticError(f"incomplete beta: no convergence for a={a}, b={b}, x={x}")


def _betainc_pair(
    a: float, b: float, x: float, y: float, log_x: float, log_y: float
) -> tuple[float, float]:
    """`(I_x(a, b), I_y(b, a))`, which sum to 1, where `y = 1 - x` (given, not computed).

    The one of the two that the continued fraction converges to quickly is computed
    directly, with full relative accuracy, and the other as its complement, so a small
    tail on either side keeps its relative accuracy.
    """
    if x <= 0.0:
        return 0.0, 1.0
    if y <= 0.0:
        return 1.0, 0.0
    front = math.exp(a * log_x + b * log_y - log_beta(a, b))
    if x < (a + 1.0) / (a + b + 2.0):
        direct = front * _continued_fraction(a, b, x) / a
        return direct, 1.0 - direct
    direct = front * _continued_fraction(b, a, y) / b
    return 1.0 - direct, direct


def betainc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function `I_x(a, b)`.

    Args:
        a: A positive number.
        b: A positive number.
        x: The upper limit, in [0, 1].

    Returns:
        `I_x(a, b)`, the beta(a, b) distribution's cdf at x.

    Raises:
        ValueError: a or b is not positive, or x is outside [0, 1].

    Example:
        >>> round(betainc(2.0, 3.0, 0.4), 12)  # 1 - 0.6**4 - 4 * 0.4 * 0.6**3
        0.5248
    """
    a, b, x = float(a), float(b), float(x)
    if not (a > 0 and math.isfinite(a)):
        raise _invalid("a", "a finite number > 0", a)
    if not (b > 0 and math.isfinite(b)):
        raise _invalid("b", "a finite number > 0", b)
    if not 0.0 <= x <= 1.0:
        raise _invalid("x", "a number in [0, 1]", x)
    y = 1.0 - x
    log_x = math.log(x) if x > 0 else -math.inf
    log_y = math.log1p(-x) if y > 0 else -math.inf
    return _betainc_pair(a, b, x, y, log_x, log_y)[0]


# -------------------------------------------------------------------------- Student t
#: Above this many degrees of freedom the t is the normal plus Cornish-Fisher terms (the
#: continued fraction would need O(sqrt(df)) steps and lose digits to their rounding).
_ASYMPTOTIC_DF = 1e5


def _cornish_fisher(z: float, df: float) -> tuple[float, float]:
    """The t quantile for the normal quantile z, and its derivative in z, for large df.

    Abramowitz & Stegun 26.7.5, through the 1/df^4 term: for df > 1e5 and any |z| < 40 the
    first omitted term is below ~1e-13 relative (measured against scipy).
    """
    z2 = z * z
    g = (
        (z2 + 1) / 4,
        ((5 * z2 + 16) * z2 + 3) / 96,
        (((3 * z2 + 19) * z2 + 17) * z2 - 15) / 384,
        ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) / 92160,
    )
    dg = (  # d(z * g_k)/dz
        (3 * z2 + 1) / 4,
        ((25 * z2 + 48) * z2 + 3) / 96,
        (((21 * z2 + 95) * z2 + 51) * z2 - 15) / 384,
        ((((711 * z2 + 5432) * z2 + 7410) * z2 - 5760) * z2 - 945) / 92160,
    )
    t, slope, power = z, 1.0, 1.0
    for gk, dgk in zip(g, dg, strict=True):
        power /= df
        t += z * gk * power
        slope += dgk * power
    return t, slope


def _t_to_z(t: float, df: float) -> float:
    """The normal quantile z whose Cornish-Fisher t is t (Newton; df > 1e5, |t| <= 50)."""
    z = t
    for _ in range(50):
        value, slope = _cornish_fisher(z, df)
        step = (value - t) / slope
        z -= step
        if abs(step) <= 1e-16 * max(1.0, abs(z)):
            break
    return z


def _t_masses(u: float, df: float) -> tuple[float, float]:
    """`(tail, central)` of Student's t at u >= 0: P(T > u) and P(0 < T < u).

    With x = df / (df + u^2) and y = u^2 / (df + u^2) (each formed as a ratio, never as
    1 - the other), P(T > u) = I_x(df/2, 1/2) / 2 and P(0 < T < u) = I_y(1/2, df/2) / 2.
    """
    if u == 0.0:
        return 0.5, 0.0
    if math.isinf(u):
        return 0.0, 0.5
    r = u * u / df  # may overflow to inf: then x = 0 and the tail is 0
    x = 1.0 / (1.0 + r)
    y = r / (1.0 + r) if math.isfinite(r) else 1.0
    log_x = -math.log1p(r)
    log_y = -math.log1p(df / (u * u)) if u * u > 0 else -math.inf
    tail, central = _betainc_pair(0.5 * df, 0.5, x, y, log_x, log_y)
    return 0.5 * tail, 0.5 * central


def t_pdf(t: float, df: float) -> float:
    """Student's t density with df degrees of freedom.

    Args:
        t: The point.
        df: Degrees of freedom, > 0 (need not be an integer).

    Returns:
        The density at t.

    Example:
        >>> round(t_pdf(0.0, 1.0), 12) == round(1 / math.pi, 12)
        True
    """
    df = _check_df(df)
    t = float(t)
    if math.isinf(t):
        return 0.0
    log_pdf = (
        -0.5 * math.log(df) - log_beta(0.5 * df, 0.5) - 0.5 * (df + 1) * math.log1p(t * t / df)
    )
    return math.exp(log_pdf)


def t_cdf(t: float, df: float) -> float:
    """Student's t cumulative distribution `P(T <= t)`.

    Args:
        t: The point (may be +-inf).
        df: Degrees of freedom, > 0 (need not be an integer).

    Returns:
        The probability; small lower tails keep their relative accuracy.

    Raises:
        ValueError: df is not a finite positive number.

    Example:
        >>> round(t_cdf(-1.0, 1.0), 12)  # Cauchy: 1/2 + atan(-1)/pi
        0.25
    """
    df = _check_df(df)
    t = float(t)
    if math.isnan(t):
        return math.nan
    if df > _ASYMPTOTIC_DF:
        if abs(t) > 50:  # beyond it both tails underflow for df > 1e5
            return 0.0 if t < 0 else 1.0
        return norm_cdf(_t_to_z(t, df))
    tail, central = _t_masses(abs(t), df)
    return tail if t < 0 else 0.5 + central


def t_sf(t: float, df: float) -> float:
    """Student's t survival function `P(T > t) = t_cdf(-t, df)`.

    Args:
        t: The point (may be +-inf).
        df: Degrees of freedom, > 0.

    Returns:
        The upper-tail probability; small upper tails keep their relative accuracy.

    Example:
        >>> round(2 * t_sf(2.0, 10), 6)  # a two-sided p-value
        0.073388
    """
    return t_cdf(-float(t), df)


def _symmetric_quantile(
    p: float,
    masses: Callable[[float], tuple[float, float]],
    pdf: Callable[[float], float],
) -> float:
    """The p-quantile of a distribution symmetric about 0, from its masses beyond and
    below u >= 0 (`masses(u) = (P(X > u), P(0 < X < u))`) and its density.

    For a tail p < 1/4 it solves log P(X > u) = log p (Newton on the log keeps heavy tails
    in a few steps); nearer the median it solves P(0 < X < u) = 1/2 - p, which is exact in
    floating point for p in [1/4, 1/2]. Each Newton step stays inside a bracket [lo, hi]
    that always holds the answer; a step that would leave it bisects instead.
    """
    if p == 0.5:
        return 0.0
    if p > 0.5:
        return -_symmetric_quantile(1.0 - p, masses, pdf)  # 1 - p is exact for p >= 1/2
    if p == 0.0:
        return -math.inf
    use_tail = p < 0.25
    target = math.log(p) if use_tail else 0.5 - p

    def excess(u: float) -> float:  # increasing in u, zero at the answer
        tail, central = masses(u)
        if use_tail:
            return (target - math.log(tail)) if tail > 0 else math.inf
        return central - target

    def slope(u: float) -> float:
        density = pdf(u)
        if use_tail:
            tail = masses(u)[0]
            return density / tail if tail > 0 else math.inf
        return density

    lo, hi = 0.0, 1.0
    while excess(hi) < 0:  # doubling: the bracket is [hi/2, hi] after it
        lo, hi = hi, 2.0 * hi
        if math.isinf(hi):  # pragma: no cover - only for p below the smallest double
            return -math.inf
    u = 0.5 * (lo + hi)
    for _ in range(200):
        value = excess(u)
        if value == 0:
            break
        if value < 0:
            lo = u
        else:
            hi = u
        derivative = slope(u)
        step = value / derivative if derivative > 0 and math.isfinite(derivative) else math.inf
        candidate = u - step
        if not lo < candidate < hi:
            candidate = 0.5 * (lo + hi)
        if abs(candidate - u) <= 2e-16 * u or hi - lo <= 2e-16 * hi:
            u = candidate
            break
        u = candidate
    return -u


def t_ppf(p: float, df: float) -> float:
    """Student's t quantile: the t with `t_cdf(t, df) == p`.

    Args:
        p: A probability in [0, 1] (0 and 1 give -inf and inf).
        df: Degrees of freedom, > 0 (need not be an integer).

    Returns:
        The quantile.

    Raises:
        ValueError: p is outside [0, 1] or df is not a finite positive number.

    Example:
        >>> round(t_ppf(0.975, 9), 6)  # the 95% interval's factor for 10 seeds
        2.262157
    """
    df = _check_df(df)
    p = _check_probability(p)
    if df > _ASYMPTOTIC_DF:
        z = norm_ppf(p)
        return z if math.isinf(z) else _cornish_fisher(z, df)[0]
    return _symmetric_quantile(p, lambda u: _t_masses(u, df), lambda u: t_pdf(u, df))


# --------------------------------------------------------------------------- normal
def _normal_masses(u: float) -> tuple[float, float]:
    return 0.5 * math.erfc(u / math.sqrt(2.0)), 0.5 * math.erf(u / math.sqrt(2.0))


def _normal_pdf(u: float) -> float:
    return math.exp(-0.5 * u * u - _LOG_SQRT_2PI)


def norm_cdf(z: float) -> float:
    """The standard normal cdf `P(Z <= z)`.

    Example:
        >>> round(norm_cdf(1.959963984540054), 12)
        0.975
    """
    return 0.5 * math.erfc(-float(z) / math.sqrt(2.0))


def norm_sf(z: float) -> float:
    """The standard normal survival function `P(Z > z)`.

    Example:
        >>> round(norm_sf(0.0), 12)
        0.5
    """
    return 0.5 * math.erfc(float(z) / math.sqrt(2.0))


def norm_ppf(p: float) -> float:
    """The standard normal quantile: the z with `norm_cdf(z) == p`.

    Args:
        p: A probability in [0, 1] (0 and 1 give -inf and inf).

    Returns:
        The quantile.

    Raises:
        ValueError: p is outside [0, 1].

    Example:
        >>> round(norm_ppf(0.975), 9)
        1.959963985
    """
    return _symmetric_quantile(_check_probability(p), _normal_masses, _normal_pdf)


# ------------------------------------------------------------------------- binomial
def binom_sf(k: float, n: int, p: float) -> float:
    """The binomial survival function `P(X > k)` for X ~ Binomial(n, p).

    Computed as `I_p(k + 1, n - k)` (the incomplete beta), so a tiny upper tail keeps
    its relative accuracy: `binom_sf(correct - 1, n, p)` is P(X >= correct).

    Args:
        k: The threshold (non-integers are floored, as scipy does).
        n: The number of trials, >= 0.
        p: The success probability, in [0, 1].

    Returns:
        The probability of more than k successes.

    Raises:
        ValueError: n is negative or p is outside [0, 1].

    Example:
        >>> round(binom_sf(7, 10, 0.5), 12)  # (1 + 10 + 45) / 1024
        0.0546875
    """
    if isinstance(n, bool) or int(n) != n or n < 0:
        raise _invalid("n", "an integer >= 0", n)
    n = int(n)
    p = _check_probability(p)
    k = math.floor(float(k))
    if k < 0:
        return 1.0
    if k >= n:
        return 0.0
    return betainc(k + 1.0, float(n - k), p)
