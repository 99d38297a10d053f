"""Verdicts against the reference that stay honest when a study looks again.

A study compares each variant with the reference seed by seed: the paired difference
``variant's test accuracy - reference's`` for each seed. This module turns those
differences into one of four words per variant:

- ``"better"`` / ``"worse"``: the mean difference is shown to be above / below zero;
- ``"equivalent"``: with a `margin` d, the mean difference is shown to lie within ±d;
- ``"undecided"``: neither yet, with the smallest difference the study could still
  detect and how many more seeds would decide it at the spread seen.

Two designs share the words. `fixed_verdicts` is the fixed-seed study: Holm-adjusted
paired t-tests (the figures of `regkit.experiments.report.stats`) plus equivalence by
TOST (Schuirmann, 1987) at the margin, Holm-adjusted in its own family. `decide` is the
adaptive study, which adds seeds in rounds to the variants still undecided: at each
planned seed count ("look") every variant gets a group-sequential paired t-test with
O'Brien-Fleming-type Lan-DeMets spending (`regkit.experiments.report.boundaries`), and
Holm's step-down shares alpha over the variants, a decided variant's share passing to the
others (Maurer & Bretz, 2013). The chance of any false "better" or "worse", over all
variants and looks, stays below `alpha`, and so does the chance of any false
"equivalent" (a variant whose true difference is ±margin or beyond), each family on its
own. The verdicts are a deterministic function of the differences seen so far, so a
resumed study replays to the same answer. docs/statistics.md has the method, its
references and the simulations that check it.

Example:
    >>> design = SequentialDesign(looks=(3, 5, 8), margin=0.01)
    >>> bn = [0.031, 0.029, 0.030, 0.032, 0.028]  # five seeds: bn has run the second round
    >>> d = decide({"bn": bn, "l2": [0.001, -0.004, 0.006]}, design)
    >>> d["bn"].verdict, d["l2"].verdict
    ('better', 'undecided')
    >>> open_variants(d), d["l2"].next_look
    (['l2'], 5)
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from regkit._checks import (
    check_choice,
    check_finite_float,
    check_int_sequence,
    check_positive_int,
    invalid,
)
from regkit.experiments.report.boundaries import norm_isf, spent, t_bounds, t_isf, t_sf

__all__ = [
    "VERDICTS",
    "Decision",
    "SequentialDesign",
    "decide",
    "decide_batch",
    "fixed_verdicts",
    "open_variants",
    "plan_looks",
]

#: The verdict words; `decide_batch` returns their indices.
VERDICTS: tuple[str, ...] = ("undecided", "better", "worse", "equivalent")
#: Seeds beyond which `fixed_verdicts` stops counting the seeds that would decide a variant.
MAX_EXTRA_SEEDS = 1_000_000


def _check_alpha(value: Any) -> float:
    level = check_finite_float("alpha", value)
    if not 0.0 < level < 0.5:
        raise invalid("alpha", "a float in (0, 0.5)", value)
    return level


def _check_margin(value: Any) -> float | None:
    if value is None:
        return None
    margin = check_finite_float("margin", value)
    if margin <= 0:
        raise invalid("margin", "None or a finite float > 0", value)
    return margin


def plan_looks(start: int, max_seeds: int, step: int | None = None) -> tuple[int, ...]:
    """The seed counts at which an adaptive study looks: `start`, then every `step` seeds,
    and always `max_seeds` last.

    Args:
        start: Seeds every variant runs first (>= 2: a t-test needs a spread).
        max_seeds: The most seeds any variant runs (>= `start`).
        step: Seeds added per round; None for 1 (one seed a round: the most chances to
            stop early; the boundaries barely tighten with more looks).

    Returns:
        The increasing seed counts ``(start, ..., max_seeds)``.

    Raises:
        ValueError: `start` < 2, `max_seeds` < `start` or `step` < 1.
        TypeError: an argument is not an int.

    Example:
        >>> plan_looks(3, 10, 2)
        (3, 5, 7, 9, 10)
        >>> plan_looks(3, 3)
        (3,)
    """
    first = check_positive_int("start", start, minimum=2)
    last = check_positive_int("max_seeds", max_seeds, minimum=first)
    stride = 1 if step is None else check_positive_int("step", step)
    return (*range(first, last, stride), last)


@dataclasses.dataclass(frozen=True)
class SequentialDesign:
    """An adaptive study's plan: where it looks, its error rate and its margin.

    Args:
        looks: Increasing seed counts (each >= 2) at which verdicts are taken; the last is
            `max_seeds`. `plan_looks` makes them. One look is the fixed design.
        alpha: The family-wise error rate of "better"/"worse" (two-sided), and of
            "equivalent", over all variants and looks.
        margin: The equivalence margin d (differences within ±d count as no difference);
            None: no "equivalent" verdict.

    Raises:
        ValueError: a look < 2 or not increasing; `alpha` outside (0, 0.5); `margin` <= 0.

    Example:
        >>> SequentialDesign(looks=plan_looks(3, 6), margin=0.01).max_seeds
        6
    """

    looks: tuple[int, ...]
    alpha: float = 0.05
    margin: float | None = None

    def __post_init__(self) -> None:
        looks = check_int_sequence("looks", self.looks, minimum=2)
        if any(b <= a for a, b in itertools.pairwise(looks)):
            raise invalid("looks", "strictly increasing seed counts >= 2", self.looks)
        object.__setattr__(self, "looks", looks)
        object.__setattr__(self, "alpha", _check_alpha(self.alpha))
        object.__setattr__(self, "margin", _check_margin(self.margin))

    @property
    def max_seeds(self) -> int:
        """The last look: the most seeds a variant runs."""
        return self.looks[-1]


@dataclasses.dataclass(frozen=True)
class Decision:
    """One variant's verdict against the reference, with the figures behind it.

    Attributes:
        verdict: ``"better"``, ``"worse"``, ``"equivalent"`` or ``"undecided"``.
        margin: The equivalence margin used (None: none).
        n: The paired seeds the verdict is read from (the last look reached).
        mean_diff: Their mean difference, variant minus reference (None: no seeds).
        interval: The confidence interval of the mean difference at this look and at the
            level the variant is tested at now (a repeated confidence interval in an
            adaptive study); None with fewer than two seeds or an infinite boundary.
        detectable: For "undecided": the smallest mean difference the study could still
            call better or worse (at its last look, at the spread seen); else None.
        seeds_to_decide: For "undecided": how many more seeds would decide it if the
            mean and spread stayed as seen (None: not within the plan; in a fixed design,
            not within `MAX_EXTRA_SEEDS`); else None.
        look: How many looks the variant has reached (0: not the first yet).
        alpha_spent: The share of the variant's current level of "better"/"worse" that
            its looks so far have used.
        next_look: The seed count of the variant's next look, when it needs more seeds
            ("undecided" before the last look); else None.
    """

    verdict: str
    margin: float | None
    n: int
    mean_diff: float | None
    interval: tuple[float, float] | None
    detectable: float | None
    seeds_to_decide: int | None
    look: int
    alpha_spent: float
    next_look: int | None = None


class _Closure(NamedTuple):
    codes: np.ndarray  # (S, V) verdict indices
    diff_rank: np.ndarray  # (S, V) r: the variant's difference test is at level alpha / r
    equiv_rank: np.ndarray  # (S, V) the same for the equivalence test


def _ratio(numerator: np.ndarray, se: np.ndarray) -> np.ndarray:
    """``numerator / se``, with ±inf (0 for a zero numerator) where the spread is zero."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = numerator / se
    flat = se == 0
    out[flat] = np.where(numerator[flat] > 0, np.inf, np.where(numerator[flat] < 0, -np.inf, 0.0))
    return out


def _look_stats(
    x: np.ndarray, lengths: np.ndarray, looks: tuple[int, ...]
) -> tuple[np.ndarray, ...]:
    """Per look: mean and standard error of the first ``n_k`` differences, and whether the
    variant has reached that look; each (S, V, K)."""
    shape = (*x.shape[:2], len(looks))
    mean, se = np.full(shape, np.nan), np.full(shape, np.nan)
    reached = np.zeros(shape, dtype=bool)
    for k, n in enumerate(looks):
        reached[..., k] = lengths >= n
        if n > x.shape[2] or not reached[..., k].any():
            continue
        segment = np.where(reached[..., k, None], x[..., :n], 0.0)
        mean[..., k] = segment.mean(axis=-1)
        se[..., k] = segment.std(axis=-1, ddof=1) / math.sqrt(n)
    return mean, se, reached


def _tables(design: SequentialDesign, variants: int) -> tuple[np.ndarray, np.ndarray]:
    """One-sided t boundaries (V, K): row r-1 at level alpha/(2r) (difference, two-sided
    alpha/r) and at alpha/r (each side of the equivalence test)."""
    looks, alpha = design.looks, design.alpha
    ranks = range(1, max(variants, 1) + 1)
    diff = np.array([t_bounds(looks, alpha / (2 * r)) for r in ranks])
    if design.margin is None:
        return diff, np.full_like(diff, np.inf)
    return diff, np.array([t_bounds(looks, alpha / r) for r in ranks])


def _step_down(crossed: Any, active: np.ndarray, variants: int) -> tuple[np.ndarray, np.ndarray]:
    """Holm's step-down, vectorized over studies: reject every active hypothesis whose test
    crosses at level alpha / (number not yet rejected), until none does. `crossed(rank)`
    says, per (study, variant), whether the test crosses at rank `rank` (S,)."""
    rejected = np.zeros_like(active)
    total = active.sum(axis=1)
    for _ in range(variants):
        rank = np.maximum(total - rejected.sum(axis=1), 1)
        new = crossed(rank) & active & ~rejected
        if not new.any():
            break
        rejected |= new
    return rejected, np.maximum(total - rejected.sum(axis=1), 1)


def _closure(
    mean: np.ndarray,
    se: np.ndarray,
    reached: np.ndarray,
    design: SequentialDesign,
    forced: np.ndarray,
) -> _Closure:
    studies, variants, _ = mean.shape
    diff_table, equiv_table = _tables(design, variants)
    active = forced < 0
    t_stat = np.where(reached, _ratio(np.nan_to_num(mean), np.nan_to_num(se, nan=1.0)), 0.0)
    size = np.abs(np.where(reached, t_stat, 0.0))
    size[~reached] = -np.inf

    def diff_crossed(rank: np.ndarray) -> np.ndarray:
        return (size >= diff_table[rank - 1][:, None, :]).any(axis=-1)

    rejected, rank = _step_down(diff_crossed, active, variants)
    # a rejected variant was rejected at a level <= alpha / (rank + 1): its test crosses there
    most = np.maximum(active.sum(axis=1), 1)[:, None]
    diff_rank = np.minimum(np.where(rejected, rank[:, None] + 1, rank[:, None]), most)
    bound = np.take_along_axis(diff_table[None].repeat(studies, 0), diff_rank[..., None] - 1, 1)
    first = np.argmax(size >= bound, axis=-1)
    upward = np.take_along_axis(t_stat, first[..., None], -1)[..., 0] > 0
    codes = np.where(rejected, np.where(upward, 1, 2), 0)
    equiv_rank = np.ones_like(diff_rank)
    if design.margin is not None:
        margin = design.margin
        safe_se = np.nan_to_num(se, nan=1.0)
        lower = np.where(reached, _ratio(np.nan_to_num(mean) + margin, safe_se), -np.inf)
        upper = np.where(reached, _ratio(margin - np.nan_to_num(mean), safe_se), -np.inf)

        def equiv_crossed(rank: np.ndarray) -> np.ndarray:
            row = equiv_table[rank - 1][:, None, :]
            return (lower >= row).any(axis=-1) & (upper >= row).any(axis=-1)

        shown, erank = _step_down(equiv_crossed, active, variants)
        codes = np.where((codes == 0) & shown, 3, codes)
        equiv_rank = np.minimum(np.where(shown, erank[:, None] + 1, erank[:, None]), most)
    codes = np.where(active, codes, forced)
    return _Closure(codes.astype(np.int8), diff_rank, equiv_rank)


def decide_batch(
    differences: Any,
    lengths: Any,
    design: SequentialDesign,
    forced: Any = None,
) -> np.ndarray:
    """`decide` for many studies at once, on arrays: the engine behind `decide`, for
    simulations.

    Args:
        differences: Array (studies, variants, seeds) of paired differences; entries past
            a variant's length are ignored (NaN is fine there).
        lengths: Int array (studies, variants): how many differences each variant has
            (<= `design.max_seeds`).
        design: The `SequentialDesign`.
        forced: None, or an int array (studies, variants) of verdict indices to force
            (-1: not forced); forced variants leave the families (see `decide`).

    Returns:
        Int array (studies, variants) of indices into `VERDICTS`.

    Raises:
        ValueError: the shapes disagree or a length exceeds `design.max_seeds`.

    Example:
        >>> import numpy as np
        >>> x = np.array([[[0.03, 0.031, 0.029], [0.0, 0.01, -0.01]]])
        >>> [VERDICTS[c] for c in decide_batch(x, np.array([[3, 3]]), SequentialDesign((3,)))[0]]
        ['better', 'undecided']
    """
    x = np.asarray(differences, dtype=float)
    size = np.asarray(lengths)
    if x.ndim != 3 or size.shape != x.shape[:2]:
        raise invalid("lengths", f"an int array of shape {x.shape[:2]}", size.shape)
    if (size > design.max_seeds).any() or (size > x.shape[2]).any() or (size < 0).any():
        raise invalid("lengths", f"counts in [0, {min(design.max_seeds, x.shape[2])}]", size.max())
    codes = np.full(size.shape, -1) if forced is None else np.asarray(forced)
    mean, se, reached = _look_stats(x, size, design.looks)
    return _closure(mean, se, reached, design, codes).codes


def _differences(differences: Any) -> dict[str, list[float]]:
    if not isinstance(differences, Mapping):
        raise TypeError(
            "Invalid type for argument `differences`: expected a mapping of variant name to "
            f"a sequence of floats. Received: differences={differences!r}"
        )
    out: dict[str, list[float]] = {}
    for name, values in differences.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)):
            raise TypeError(
                "Invalid type for argument `differences`: expected a sequence of floats for "
                f"{name!r}. Received: {values!r}"
            )
        out[str(name)] = [check_finite_float("differences", v) for v in values]
    return out


def _forced(forced: Any, names: Sequence[str]) -> dict[str, str]:
    if forced is None:
        return {}
    if not isinstance(forced, Mapping):
        raise invalid("forced", "None or a mapping of variant name to verdict", forced)
    for name, word in forced.items():
        if name not in names:
            raise invalid("forced", f"names among {list(names)!r}", name)
        check_choice("forced", word, VERDICTS)
    return dict(forced)


def _seeds_to_decide(
    mean: float,
    sd: float,
    n: int,
    candidates: Sequence[tuple[int, float, float]],
    margin: float | None,
) -> int | None:
    """The first ``(n', diff boundary, equivalence boundary)`` at which the mean and spread
    seen would be decided; returns ``n' - n``."""
    for count, c_diff, c_equiv in candidates:
        half = sd / math.sqrt(count)
        if abs(mean) >= c_diff * half:
            return count - n
        if margin is not None and abs(mean) + c_equiv * half <= margin:
            return count - n
    return None


def decide(
    differences: Mapping[str, Sequence[float]],
    design: SequentialDesign,
    *,
    forced: Mapping[str, str] | None = None,
) -> dict[str, Decision]:
    """The current verdict of each variant in an adaptive (group-sequential) study.

    Each variant's paired differences are tested at every look of `design` it has
    reached: a two-sided paired t-test for "better"/"worse" and, with a margin, two
    one-sided tests at ±margin (TOST) for "equivalent", each against group-sequential
    boundaries. Holm's step-down runs over the variants in each family at every call: a
    variant shown better or worse passes its share of alpha to the others, whose looks
    so far are re-read at the higher level. When both hold, "better"/"worse" wins over
    "equivalent". Only the first ``n_k`` differences count at look k; differences past a
    variant's last look reached wait for its next look.

    Args:
        differences: Variant name -> paired differences (variant minus reference, same
            seed) in seed order; variants stopped early have fewer.
        design: The study's `SequentialDesign`.
        forced: Variant name -> verdict set by the caller (e.g. ``"worse"`` for a variant
            whose runs collapsed). Forced variants leave both families: the others share
            alpha without them.

    Returns:
        Variant name -> `Decision`, in the order of `differences`.

    Raises:
        ValueError: a difference is not finite, a variant has more than
            `design.max_seeds` differences, or `forced` names an unknown variant or word.
        TypeError: `differences` is not a mapping of sequences of floats.

    Example:
        >>> design = SequentialDesign(looks=(3, 4, 5))
        >>> d = decide({"a": [0.02, 0.03, 0.025, 0.022, 0.028]}, design)
        >>> d["a"].verdict, d["a"].n, d["a"].look
        ('better', 5, 3)
    """
    data = _differences(differences)
    names = list(data)
    words = _forced(forced, names)
    for name, values in data.items():
        if len(values) > design.max_seeds:
            raise invalid(
                "differences",
                f"at most max_seeds={design.max_seeds} values for {name!r}",
                len(values),
            )
    x = np.full((1, len(names), design.max_seeds), np.nan)
    lengths = np.array([[len(data[name]) for name in names]])
    for i, name in enumerate(names):
        x[0, i, : len(data[name])] = data[name]
    codes = np.array([[VERDICTS.index(words[n]) if n in words else -1 for n in names]])
    mean, se, reached = _look_stats(x, lengths, design.looks)
    closure = _closure(mean, se, reached, design, codes)
    diff_table, equiv_table = _tables(design, len(names))
    out: dict[str, Decision] = {}
    for i, name in enumerate(names):
        hits = np.flatnonzero(reached[0, i])
        k = int(hits[-1]) if hits.size else -1
        values = data[name][: design.looks[k]] if k >= 0 else data[name]
        out[name] = _decision(
            values,
            VERDICTS[int(closure.codes[0, i])],
            k,
            design,
            diff_table[closure.diff_rank[0, i] - 1],
            equiv_table[closure.equiv_rank[0, i] - 1],
            design.alpha / int(closure.diff_rank[0, i]),
        )
    return out


def _decision(
    values: list[float],
    verdict: str,
    k: int,
    design: SequentialDesign,
    diff_bounds: np.ndarray,
    equiv_bounds: np.ndarray,
    level: float,
) -> Decision:
    n = len(values)
    mean = math.fsum(values) / n if n else None
    sd = _sd(values)
    looks = design.looks
    interval = None
    if k >= 0 and sd is not None and mean is not None and math.isfinite(diff_bounds[k]):
        half = float(diff_bounds[k]) * sd / math.sqrt(n)
        interval = (mean - half, mean + half)
    undecided = verdict == "undecided"
    detectable = seeds = None
    if undecided and sd is not None and mean is not None:
        last = float(diff_bounds[-1])
        detectable = last * sd / math.sqrt(looks[-1]) if math.isfinite(last) else None
        later = [
            (looks[q], float(diff_bounds[q]), float(equiv_bounds[q]))
            for q in range(k + 1, len(looks))
        ]
        seeds = _seeds_to_decide(mean, sd, n, later, design.margin)
    return Decision(
        verdict=verdict,
        margin=design.margin,
        n=n,
        mean_diff=mean,
        interval=interval,
        detectable=detectable,
        seeds_to_decide=seeds,
        look=k + 1,
        alpha_spent=2 * spent(looks[k] / looks[-1], level / 2) if k >= 0 else 0.0,
        next_look=looks[k + 1] if undecided and k + 1 < len(looks) else None,
    )


def _sd(values: Sequence[float]) -> float | None:
    n = len(values)
    if n < 2:
        return None
    centre = math.fsum(values) / n
    return math.sqrt(math.fsum((v - centre) ** 2 for v in values) / (n - 1))


def _holm_ranks(p_values: list[float | None], alpha: float) -> tuple[list[bool], int]:
    """Holm's step-down at `alpha` (None: not tested): rejections and the final count of
    tested, unrejected hypotheses."""
    order = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    rejected = [False] * len(p_values)
    remaining = len(order)
    for p, i in order:
        if p >= alpha / remaining:
            break
        rejected[i] = True
        remaining -= 1
    return rejected, remaining


def fixed_verdicts(
    differences: Mapping[str, Sequence[float]],
    *,
    alpha: float = 0.05,
    margin: float | None = None,
) -> dict[str, Decision]:
    """The verdicts of a fixed-seed study: Holm-adjusted paired t-tests, and equivalence by
    Holm-adjusted TOST at `margin`.

    "better"/"worse": the two-sided paired t-test's Holm-adjusted p-value (over the
    variants with at least two seeds) is below `alpha` (the figures of
    ``stats.paired_difference`` and ``stats.holm``). "equivalent": the TOST p-value
    ``max(P(T >= (mean + d) / se), P(T >= (d - mean) / se))``, Holm-adjusted in its own
    family, is below `alpha`; for one variant this is the ``1 - 2 * alpha`` interval lying
    within ±d. A zero spread gives p = 0 for a nonzero difference (as the stats module).

    Args:
        differences: Variant name -> paired differences (variant minus reference).
        alpha: The family-wise error rate of each family.
        margin: The equivalence margin d, or None.

    Returns:
        Variant name -> `Decision` (``look`` is 1 when tested; ``seeds_to_decide`` counts
        the seeds to add to this study, at the spread seen, up to `MAX_EXTRA_SEEDS`).

    Raises:
        ValueError: a value is not finite, `alpha` outside (0, 0.5), `margin` <= 0.
        TypeError: `differences` is not a mapping of sequences of floats.

    Example:
        >>> d = fixed_verdicts({"bn": [0.02, 0.03, 0.025], "l2": [0.001, -0.001, 0.0]}, margin=0.01)
        >>> d["bn"].verdict, d["l2"].verdict
        ('better', 'equivalent')
    """
    data = _differences(differences)
    level_all = _check_alpha(alpha)
    d = _check_margin(margin)
    names = list(data)
    p_diff: list[float | None] = []
    p_equiv: list[float | None] = []
    for name in names:
        values = data[name]
        n, sd = len(values), _sd(values)
        if sd is None:
            p_diff.append(None)
            p_equiv.append(None)
            continue
        centre = math.fsum(values) / n
        se = sd / math.sqrt(n)
        if se == 0:
            p_diff.append(1.0 if centre == 0 else 0.0)
            p_equiv.append(None if d is None else (0.0 if abs(centre) < d else 1.0))
            continue
        p_diff.append(min(1.0, 2 * t_sf(abs(centre) / se, n - 1)))
        if d is not None:
            p_equiv.append(max(t_sf((centre + d) / se, n - 1), t_sf((d - centre) / se, n - 1)))
    diff_rej, diff_left = _holm_ranks(p_diff, level_all)
    equiv_rej, equiv_left = (
        _holm_ranks(p_equiv, level_all) if d is not None else ([False] * len(names), 1)
    )
    out: dict[str, Decision] = {}
    for i, name in enumerate(names):
        values = data[name]
        n, sd = len(values), _sd(values)
        mean = math.fsum(values) / n if n else None
        if diff_rej[i] and mean is not None:
            verdict = "better" if mean > 0 else "worse"
        else:
            verdict = "equivalent" if equiv_rej[i] else "undecided"
        level = level_all / max(1, diff_left + (1 if diff_rej[i] else 0))
        level_eq = level_all / max(1, equiv_left + (1 if equiv_rej[i] else 0))
        interval = detectable = seeds = None
        if sd is not None and mean is not None:
            half = t_isf(level / 2, n - 1) * sd / math.sqrt(n)
            interval = (mean - half, mean + half)
            if verdict == "undecided":
                detectable = half
                seeds = _extra_seeds(mean, sd, n, level, level_eq, d)
        out[name] = Decision(
            verdict=verdict,
            margin=d,
            n=n,
            mean_diff=mean,
            interval=interval,
            detectable=detectable,
            seeds_to_decide=seeds,
            look=1 if sd is not None else 0,
            alpha_spent=level if sd is not None else 0.0,
        )
    return out


def _quantile(p: float, df: int) -> float:
    """`t_isf`, or beyond 200 degrees of freedom its Cornish-Fisher expansion (error ~1e-6)."""
    if df <= 200:
        return t_isf(p, df)
    z = norm_isf(p)
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def _extra_seeds(
    mean: float, sd: float, n: int, level: float, level_eq: float, margin: float | None
) -> int | None:
    """More seeds (beyond `n`) at which a fixed test would decide, mean and spread held:
    the smallest count that decides, by doubling then bisection (deciding is monotone)."""
    if sd == 0 or (mean == 0 and (margin is None or abs(mean) >= margin)):
        return None

    def decides(count: int) -> bool:
        half = sd / math.sqrt(count)
        if mean != 0 and abs(mean) >= _quantile(level / 2, count - 1) * half:
            return True
        return margin is not None and abs(mean) + _quantile(level_eq, count - 1) * half <= margin

    low, high = n, n + 1
    while not decides(high):
        if high - n >= MAX_EXTRA_SEEDS:
            return None
        low, high = high, n + min(2 * (high - n), MAX_EXTRA_SEEDS)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if decides(middle) else (middle, high)
    return high - n


def open_variants(decisions: Mapping[str, Decision]) -> list[str]:
    """The variants that need more seeds: "undecided" and not yet at the last look.

    Example:
        >>> d = decide({"a": [0.01, -0.01, 0.0]}, SequentialDesign(looks=(3, 4)))
        >>> open_variants(d)
        ['a']
    """
    return [
        name
        for name, d in decisions.items()
        if d.verdict == "undecided" and d.next_look is not None
    ]
