"""Group-sequential boundaries for paired t-tests, in pure Python and NumPy (no scipy).

A study that looks at its figures after ``n_1 < n_2 < ... < n_K`` seeds and may stop at
any look needs stricter thresholds than one that looks once: this module computes them.

- `spent(fraction, level)` is the Lan-DeMets (1983) O'Brien-Fleming-type alpha-spending
  function ``2 - 2 * Phi(z_{1 - level/2} / sqrt(t))``: the part of a one-sided `level`
  that may be used up by the information fraction ``t = n_k / n_K``.
- `z_bounds(fractions, level)` turns the spending into one-sided boundaries for the
  standardized statistic of a Brownian motion observed at those fractions (the exact
  recursive integration of Armitage, McPherson & Rowe, 1969, on a grid).
- `t_bounds(looks, level)` converts each z boundary to the Student-t boundary with the
  same one-sided tail (``n_k - 1`` degrees of freedom): the "significance level"
  approach of Jennison & Turnbull (2000, ch. 11), whose error rates at 3-20 seeds are
  measured by simulation in tests/experiments/test_sequential.py.
- `t_sf`, `t_isf`, `norm_sf` and `norm_isf` are the distributions they need.

Example:
    >>> [round(c, 3) for c in z_bounds((0.2, 0.4, 0.6, 0.8, 1.0), 0.025)]
    [4.877, 3.357, 2.68, 2.29, 2.031]
    >>> round(t_sf(2.0, 4), 4)
    0.0581
"""

from __future__ import annotations

import functools
import math

import numpy as np

__all__ = [
    "calibrated_level",
    "norm_isf",
    "norm_sf",
    "spent",
    "t_bounds",
    "t_isf",
    "t_sf",
    "t_tail",
    "z_bounds",
]

#: A look whose share of the level is below this gets an infinite boundary (never crossed):
#: a tail this thin is beyond what floating point (or any study) can resolve.
NEGLIGIBLE = 1e-15
#: Null paths simulated to calibrate a design's level (and as many mirror images).
CALIBRATION_PATHS = 1 << 17
CALIBRATION_SEED = 20260407
#: Nominal levels tabulated (log-spaced, 1e-7 to 0.5) to read each path's crossing level.
TABLE_LEVELS = 20
GRID_STEP = 0.04  # the integration grid's spacing on the z scale (Simpson's rule)
_LOW = -9.0  # the grid's lower end: the density of a standard normal below it is < 1e-18


def norm_sf(z: float) -> float:
    """The standard normal upper tail ``P(Z > z)``."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def norm_isf(p: float) -> float:
    """The `z` with ``P(Z > z) = p``, for ``0 < p < 1`` (bisection to machine precision)."""
    lo, hi = -40.0, 40.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if norm_sf(mid) > p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-15 * max(1.0, abs(mid)):
            break
    return 0.5 * (lo + hi)


_lgamma = np.vectorize(math.lgamma, otypes=[float])


def _beta_series(p: np.ndarray, q: np.ndarray, z: np.ndarray, terms: int) -> np.ndarray:
    """``I_z(p, q)`` elementwise by its hypergeometric series (converges like ``z^n``)."""
    beta = _lgamma(p) + _lgamma(q) - _lgamma(p + q)
    with np.errstate(divide="ignore"):
        front = np.exp(p * np.log(z) + q * np.log1p(-z) - np.log(p) - beta)
    term, total = np.ones_like(z), np.ones_like(z)
    for n in range(terms):
        term = term * z * (p + q + n) / (p + 1.0 + n)
        total += term
        if float(np.max(term, initial=0.0)) < 1e-17:
            break
    return front * total


def t_tail(t: np.ndarray | float, df: np.ndarray | float) -> np.ndarray:
    """Student's t upper tail ``P(T_df > t)``, elementwise (`df` broadcasts), accurate far
    into the tails.

    Uses ``P(T > t) = I_x(df/2, 1/2) / 2`` with ``x = df / (df + t^2)`` for ``t >= 0``,
    the regularized incomplete beta function summed as its hypergeometric series in
    whichever of ``x``, ``1 - x`` is below 1/2 (fast), and in ``x`` wherever the tail is
    small (no cancellation in the tails).
    """
    values, dfs = np.broadcast_arrays(np.asarray(t, dtype=float), np.asarray(df, dtype=float))
    finite = np.nan_to_num(values, posinf=0.0, neginf=0.0)
    x = np.where(np.isinf(values), 0.0, dfs / (dfs + np.square(finite)))
    a, b = dfs / 2.0, np.full(dfs.shape, 0.5)
    out = np.empty_like(x)
    near = x > 0.5
    if near.any():
        out[near] = 1.0 - _beta_series(b[near], a[near], 1.0 - x[near], 200)
    if (~near).any():
        out[~near] = _beta_series(a[~near], b[~near], x[~near], 200)
    redo = near & (out < 1e-3)  # a small tail at x > 1/2 (many degrees of freedom)
    if redo.any():
        out[redo] = _beta_series(a[redo], b[redo], x[redo], 100_000)
    tail = 0.5 * out
    return np.where(values >= 0, tail, 1.0 - tail)


def t_sf(t: float, df: float) -> float:
    """Student's t upper tail ``P(T_df > t)``.

    Example:
        >>> round(t_sf(4.303, 2), 4)
        0.025
    """
    return float(t_tail(np.array([t]), df)[0])


def _t_isf_many(p: np.ndarray, df: np.ndarray | float) -> np.ndarray:
    """`t_isf` elementwise (`df` broadcasts) for ``0 <= p <= 1/2``, by bisection on
    ``log t``."""
    p = np.broadcast_to(np.asarray(p, dtype=float), np.broadcast_shapes(np.shape(p), np.shape(df)))
    lo = np.full(p.shape, math.log(1e-12))
    hi = np.full(p.shape, math.log(1e18))
    for _ in range(64):
        mid = 0.5 * (lo + hi)
        above = t_tail(np.exp(mid), df) > p
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    out = np.exp(0.5 * (lo + hi))
    out[p >= 0.5] = 0.0  # not used by the boundaries (levels below 1/2)
    out[p < NEGLIGIBLE] = np.inf
    return out


@functools.lru_cache(maxsize=4096)
def t_isf(p: float, df: float) -> float:
    """The `t` with ``P(T_df > t) = p``, for ``0 < p < 1``; inf for `p` below `NEGLIGIBLE`.

    Newton's method on ``log t`` (a few steps), checked and else bisection.

    Example:
        >>> round(t_isf(0.025, 2), 3)
        4.303
    """
    if p > 0.5:
        return -t_isf(1.0 - p, df)
    if p < NEGLIGIBLE:
        return math.inf
    if p == 0.5:
        return 0.0
    log_density = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    u = math.log(max(norm_isf(p), 1e-3))
    for _ in range(50):
        t = math.exp(u)
        tail = t_sf(t, df)
        if tail <= 0.0:
            break
        density = math.exp(log_density - (df + 1) / 2 * math.log1p(t * t / df))
        step = (math.log(tail) - math.log(p)) / (
            t * density / tail
        )  # d log(tail) / du = -t f / tail
        u += max(-2.0, min(2.0, step))
        if abs(step) < 1e-13:
            t = math.exp(u)
            if abs(t_sf(t, df) / p - 1) < 1e-9:
                return t
            break
    return float(_t_isf_many(np.array([p]), df)[0])


def spent(fraction: float, level: float) -> float:
    """The O'Brien-Fleming-type Lan-DeMets spending: the share of a one-sided `level`
    that may be used by information fraction `fraction` (0 at 0, `level` at 1).

    Example:
        >>> round(spent(1.0, 0.05), 12), round(spent(0.5, 0.05), 5)
        (0.05, 0.00557)
    """
    if fraction <= 0.0:
        return 0.0
    return min(level, 2.0 * norm_sf(norm_isf(level / 2.0) / math.sqrt(fraction)))


def _upper_tail(z: np.ndarray) -> np.ndarray:
    """``P(Z > z)`` elementwise (Numerical Recipes' erfc, relative error < 1.2e-7)."""
    x = np.abs(z) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.5 * x)
    poly = -1.26551223 + t * (
        1.00002368
        + t
        * (
            0.37409196
            + t
            * (
                0.09678418
                + t
                * (
                    -0.18628806
                    + t
                    * (
                        0.27886807
                        + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))
                    )
                )
            )
        )
    )
    erfc = t * np.exp(-x * x + poly)
    return np.where(z >= 0, 0.5 * erfc, 1.0 - 0.5 * erfc)


def _grid(top: float, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Points from `_LOW` to `top` (an odd number, at most `step` apart), Simpson weights."""
    count = max(3, math.ceil((top - _LOW) / step) + 1)
    count += 1 - count % 2
    points = np.linspace(_LOW, top, count)
    weights = np.full(count, 2.0)
    weights[1::2] = 4.0
    weights[[0, -1]] = 1.0
    return points, weights * (points[1] - points[0]) / 3.0


@functools.lru_cache(maxsize=512)
def z_bounds(fractions: tuple[float, ...], level: float) -> tuple[float, ...]:
    """One-sided boundaries ``c_1..c_K`` for a standardized Brownian motion observed at
    information `fractions` (increasing, the last 1.0) that spend `level` as `spent` says.

    ``P(Z_1 < c_1, ..., Z_{k-1} < c_{k-1}, Z_k >= c_k) = spent(t_k) - spent(t_{k-1})``
    under the null, computed by recursive numerical integration of the continuation
    density on a grid (fine enough for about 4 decimals). A look whose increment is below
    `NEGLIGIBLE` gets ``inf``.
    """
    bounds: list[float] = []
    points = weights = density = np.zeros(0)
    previous_fraction = previous_spent = 0.0
    for fraction in fractions:
        target = spent(fraction, level) - previous_spent
        previous_spent += max(target, 0.0)
        if not bounds:
            c = norm_isf(target) if target >= NEGLIGIBLE else math.inf
            points, weights = _grid(min(c, -_LOW), GRID_STEP)
            density = np.exp(-0.5 * points**2) / math.sqrt(2 * math.pi)
        else:
            shrink = math.sqrt(previous_fraction / fraction)
            sigma = math.sqrt((fraction - previous_fraction) / fraction)
            centres = shrink * points
            mass = weights * density

            def crossing(
                c: float,
                centres: np.ndarray = centres,
                mass: np.ndarray = mass,
                sigma: float = sigma,
            ) -> float:
                return float(np.sum(mass * _upper_tail((c - centres) / sigma)))

            if target < NEGLIGIBLE:
                c = math.inf
            else:
                lo, hi = -12.0, 60.0
                for _ in range(64):
                    mid = 0.5 * (lo + hi)
                    if crossing(mid) > target:
                        lo = mid
                    else:
                        hi = mid
                c = 0.5 * (lo + hi)
            points, weights = _grid(min(c, -_LOW), min(GRID_STEP, sigma / 4))
            kernel = np.exp(-0.5 * ((points[:, None] - centres[None, :]) / sigma) ** 2)
            density = kernel @ mass / (sigma * math.sqrt(2 * math.pi))
        bounds.append(c)
        previous_fraction = fraction
    return tuple(bounds)


@functools.lru_cache(maxsize=64)
def _table(looks: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """``(log levels (L,), log t boundaries (L, K))``: the z boundaries of `z_bounds` at
    `TABLE_LEVELS` nominal levels, each mapped to the t quantile with the same tail."""
    levels = np.geomspace(1e-7, 0.5, TABLE_LEVELS)
    fractions = tuple(n / looks[-1] for n in looks)
    tails = np.array([[norm_sf(c) for c in z_bounds(fractions, float(v))] for v in levels])
    bounds = _t_isf_many(tails, np.array(looks, dtype=float)[None, :] - 1.0)
    with np.errstate(divide="ignore"):
        return np.log(levels), np.log(bounds)


def _nominal_bounds(looks: tuple[int, ...], nominal: float) -> np.ndarray:
    """The t boundaries at a nominal level: the table read log-log linearly between its
    levels (inf where a neighbouring entry is inf: a look that spends nothing)."""
    log_levels, log_bounds = _table(looks)
    x = math.log(nominal)
    i = int(np.clip(np.searchsorted(log_levels, x) - 1, 0, len(log_levels) - 2))
    w = (x - log_levels[i]) / (log_levels[i + 1] - log_levels[i])
    low, high = log_bounds[i], log_bounds[i + 1]
    with np.errstate(invalid="ignore"):
        mixed = np.where(np.isinf(low) | np.isinf(high), np.inf, (1 - w) * low + w * high)
    return np.exp(mixed)


@functools.lru_cache(maxsize=64)
def _crossing_levels(looks: tuple[int, ...]) -> np.ndarray:
    """For each simulated null path of paired t-statistics (and its mirror image), the
    smallest nominal level at which `_nominal_bounds` rejects it, sorted."""
    log_levels, log_bounds = _table(looks)
    rng = np.random.default_rng(CALIBRATION_SEED)
    total = np.zeros(CALIBRATION_PATHS)
    squares = np.zeros(CALIBRATION_PATHS)
    smallest = np.full(2 * CALIBRATION_PATHS, np.inf)
    seen = 0
    for k, n in enumerate(looks):
        draws = rng.standard_normal((n - seen, CALIBRATION_PATHS))
        total += draws.sum(axis=0)
        squares += np.square(draws).sum(axis=0)
        seen = n
        sd = np.sqrt(np.maximum(squares - total**2 / n, 0.0) / (n - 1))
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = np.log(np.abs(total / n / (sd / math.sqrt(n))))
        signs = np.sign(total)
        both = np.concatenate(
            [np.where(signs > 0, stat, -np.inf), np.where(signs < 0, stat, -np.inf)]
        )
        column = log_bounds[:, k]
        finite = np.isfinite(column)
        if not finite.any():
            continue
        # the boundary falls as the level grows: read log(level) off the same lines
        found = np.interp(
            both,
            column[finite][::-1],
            log_levels[finite][::-1],
            left=np.inf,
            right=log_levels[finite][0],
        )
        smallest = np.minimum(smallest, np.exp(found))
    return np.sort(smallest)


@functools.lru_cache(maxsize=1024)
def calibrated_level(looks: tuple[int, ...], level: float) -> float:
    """The nominal level whose z-to-t boundaries reject a null of normal differences with
    probability `level` (one-sided) over all `looks`, by Monte Carlo.

    With one look the conversion is exact and `level` comes back. Otherwise
    `CALIBRATION_PATHS` null paths of paired t-statistics (fixed seed
    `CALIBRATION_SEED`; the null law of the t-statistics does not depend on the spread),
    with their mirror images, give each path's smallest rejecting nominal level; the
    calibrated level is the one at which a fraction `level` of them would reject, less
    1.645 binomial standard errors (so the simulation's own error errs on the safe side).
    Never above `level`; below ``50 / paths`` it scales the calibration found there.
    """
    if len(looks) == 1:
        return level
    mins = _crossing_levels(looks)
    count = len(mins)
    floor_level = 50.0 / count  # below this too few paths cross: scale from it
    target = max(level, floor_level)
    allowed = math.floor(target * count - 1.645 * math.sqrt(target * count))
    nominal = float(mins[max(allowed, 0)]) * (1 - 1e-9)
    if level < floor_level:
        nominal *= level / floor_level
    return min(level, nominal)


@functools.lru_cache(maxsize=1024)
def t_bounds(looks: tuple[int, ...], level: float) -> tuple[float, ...]:
    """One-sided Student-t boundaries for a paired t-test at seed counts `looks`.

    The O'Brien-Fleming-type z boundaries of `z_bounds` (information fraction
    ``n_k / n_K``) at the `calibrated_level` are each mapped to the t quantile with the
    same upper tail at ``n_k - 1`` degrees of freedom (read off a table of nominal levels).
    With one look this is the ordinary t critical value, 4.303 for 3 seeds at 0.025.

    Example:
        >>> [round(c, 3) for c in t_bounds((3,), 0.025)]
        [4.303]
    """
    if len(looks) == 1:
        return (t_isf(level, looks[0] - 1.0),)
    return tuple(float(c) for c in _nominal_bounds(looks, calibrated_level(looks, level)))
