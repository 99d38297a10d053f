"""Successive halving: choosing a tuned field's value on validation accuracy, round by round.

A tuned arm (``compare(tune={"l2": [1e-5, 1e-4, 1e-3]})``) picks one value of a field
before it is compared with the reference. Picking the value whose test accuracy looked
best and then comparing it with the reference on the same seeds is the winner's curse:
the maximum of several noisy figures is biased upwards, and the comparison calls a
useless arm "better" far more often than alpha. The rule here avoids it in two ways:
it selects on VALIDATION accuracy only, on selection seeds, and the chosen value is then
confirmed on fresh seeds that took no part in the choice (the study runner's job, with
`regkit.experiments.report.sequential.decide`).

The rule (Jamieson & Talwalkar, 2016; Li et al., 2018): every candidate runs the first
round's seeds; each round keeps the better ``ceil(n / eta)`` of its `n` candidates by mean
validation accuracy over all the selection seeds they have run, and the kept ones run
`eta` times as many new seeds in the next round, until one is left. Ties (equal means)
go to the smaller value when the candidates are numbers (for a regularization strength:
the weaker regularization wins a tie), else to the candidate listed first.

Example:
    >>> halving_rounds(5)
    [(5, 1), (3, 2), (2, 4)]
    >>> val = {0.0: [0.90], 1e-4: [0.92, 0.93, 0.93], 1e-3: [0.91, 0.94, 0.94], 1e-2: [0.85]}
    >>> trail = select(val, halving_rounds(4))  # 4 values on 1 seed, then 2 on 2 more
    >>> trail.chosen
    0.001
    >>> [r.dropped for r in trail.rounds]
    [(0.0, 0.01), (0.0001,)]
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import numbers
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from regkit._checks import check_finite_float, check_positive_int, invalid

__all__ = ["HalvingRound", "Trail", "halving_rounds", "ranked", "select"]


def halving_rounds(
    n_candidates: int, seeds_per_round: int = 1, eta: int = 2
) -> list[tuple[int, int]]:
    """The plan of successive halving: ``(candidates in the round, new seeds each runs)``.

    Round r runs ``seeds_per_round * eta**r`` new selection seeds on each of its
    candidates (so each round costs about the same), then keeps ``ceil(n / eta)`` of
    them; the rounds end when one candidate is left (none for a single candidate).

    Args:
        n_candidates: How many values are tried (>= 1).
        seeds_per_round: New seeds per candidate in the first round (>= 1).
        eta: The reduction factor (>= 2): 2 keeps the better half.

    Returns:
        One ``(candidates, seeds)`` pair per round.

    Raises:
        ValueError: an argument is below its minimum.
        TypeError: an argument is not an int.

    Example:
        >>> halving_rounds(8, seeds_per_round=2)
        [(8, 2), (4, 4), (2, 8)]
        >>> halving_rounds(9, eta=3)
        [(9, 1), (3, 3)]
    """
    n = check_positive_int("n_candidates", n_candidates)
    seeds = check_positive_int("seeds_per_round", seeds_per_round)
    factor = check_positive_int("eta", eta, minimum=2)
    rounds = []
    while n > 1:
        rounds.append((n, seeds))
        n, seeds = math.ceil(n / factor), seeds * factor
    return rounds


@dataclasses.dataclass(frozen=True)
class HalvingRound:
    """One round of the trail.

    Attributes:
        index: The round's number, from 0.
        seeds: Selection seeds each candidate's mean is over (all rounds so far).
        candidates: The values that ran this round, best first.
        means: Their mean validation accuracies, in the same order.
        kept: The values that go on.
        dropped: The values dropped after this round, best first.
    """

    index: int
    seeds: int
    candidates: tuple[Any, ...]
    means: tuple[float, ...]
    kept: tuple[Any, ...]
    dropped: tuple[Any, ...]


@dataclasses.dataclass(frozen=True)
class Trail:
    """How a value was chosen: every round's table and the chosen value.

    Attributes:
        rounds: The `HalvingRound`s, in order.
        chosen: The value left at the end.
        tied: Every candidate scored exactly the same accuracies on every seed of every
            round (with more than one candidate): the choice is the tie rule's, not a
            measurement's. It happens when the strength cannot reach the metric (SWA's
            validation figures are of the training weights) or has no effect at all.
    """

    rounds: tuple[HalvingRound, ...]
    chosen: Any
    tied: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The trail as plain data (for report.json).

        Example:
            >>> select({1: [0.5], 2: [0.6]}).as_dict()["chosen"]
            2
        """
        return {
            "chosen": self.chosen,
            "tied": self.tied,
            "rounds": [
                {
                    "round": r.index,
                    "seeds": r.seeds,
                    "candidates": list(r.candidates),
                    "mean_val_accuracy": list(r.means),
                    "kept": list(r.kept),
                    "dropped": list(r.dropped),
                }
                for r in self.rounds
            ],
        }


def _tie_order(values: Sequence[Hashable]) -> dict[Hashable, int]:
    """Each value's rank among ties: by value when all are real numbers, else as listed."""
    numeric = all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values)
    ordered = sorted(values, key=lambda v: float(v)) if numeric else list(values)  # type: ignore[arg-type]
    return {v: i for i, v in enumerate(ordered)}


def ranked(means: Mapping[Any, float]) -> list[Any]:
    """Candidates best first by mean validation accuracy; ties go to the smaller value
    when the candidates are numbers (the weaker regularization), else to the one listed
    first. The order `select` keeps and drops by.

    Example:
        >>> ranked({1e-3: 0.9, 1e-4: 0.9, 1e-2: 0.95})
        [0.01, 0.0001, 0.001]
    """
    tie = _tie_order(list(means))
    return sorted(means, key=lambda v: (-means[v], tie[v]))


def _check_rounds(rounds: Any, count: int) -> list[tuple[int, int]]:
    expected = (
        f"a list of (candidates, seeds) pairs, starting with {count} candidates and "
        "keeping fewer each round down to 1"
    )
    try:
        pairs = [(int(n), int(s)) for n, s in rounds]
    except (TypeError, ValueError):
        raise invalid("rounds", expected, rounds) from None
    if count > 1 and (not pairs or pairs[0][0] != count):
        raise invalid("rounds", expected, rounds)
    sizes = [n for n, _ in pairs] + [1]
    if any(b >= a or b < 1 for a, b in itertools.pairwise(sizes)) and pairs:
        raise invalid("rounds", expected, rounds)
    if any(s < 1 for _, s in pairs):
        raise invalid("rounds", expected, rounds)
    return pairs


def select(
    scores: Mapping[Any, Sequence[float]],
    rounds: Sequence[tuple[int, int]] | None = None,
) -> Trail:
    """Applies successive halving to the validation accuracies of the selection seeds.

    Args:
        scores: Candidate value -> its validation accuracies on the selection seeds, in
            seed order (round 0's seeds first). A candidate dropped early has fewer; only
            as many as its rounds used are read.
        rounds: The plan, as `halving_rounds` gives it (None: ``halving_rounds(len(scores))``).
            Each round's kept count is the next round's candidate count (1 after the last).

    Returns:
        The `Trail`: each round's candidates and means (best first), who was dropped when,
        and the chosen value.

    Raises:
        ValueError: no candidates; `rounds` does not fit `scores`; a candidate has fewer
            accuracies than its rounds need, or a value that is not finite.
        TypeError: an accuracy is not a number.

    Example:
        >>> select({0.1: [0.8, 0.8], 0.2: [0.8, 0.8]}, [(2, 2)]).chosen  # a tie: smaller
        0.1
    """
    if not isinstance(scores, Mapping) or not scores:
        raise invalid("scores", "a non-empty mapping of candidate value to accuracies", scores)
    names = list(scores)
    plan = halving_rounds(len(names)) if rounds is None else _check_rounds(rounds, len(names))
    values = {v: [check_finite_float("scores", x) for x in scores[v]] for v in names}
    alive = names
    used = 0
    trail = []
    tied = len(names) > 1
    for index, (_count, seeds) in enumerate(plan):
        used += seeds
        short = [v for v in alive if len(values[v]) < used]
        if short:
            raise invalid(
                "scores", f"at least {used} accuracies for each candidate of round {index}", short
            )
        means = {v: math.fsum(values[v][:used]) / used for v in alive}
        tied = tied and len({tuple(values[v][:used]) for v in alive}) == 1
        order = ranked(means)
        keep = plan[index + 1][0] if index + 1 < len(plan) else 1
        trail.append(
            HalvingRound(
                index=index,
                seeds=used,
                candidates=tuple(order),
                means=tuple(means[v] for v in order),
                kept=tuple(order[:keep]),
                dropped=tuple(order[keep:]),
            )
        )
        alive = order[:keep]
    return Trail(rounds=tuple(trail), chosen=alive[0], tied=tied)
