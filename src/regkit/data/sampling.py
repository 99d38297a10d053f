"""Random train / held-out index splits, drawn exactly as scikit-learn draws them.

regkit carves validation (and the digits' test split) with these instead of depending on
scikit-learn: `shuffle_split` is `sklearn.model_selection.train_test_split(...,
test_size=fraction, random_state=seed)` and `stratified_split` the same with
`stratify=labels`, draw for draw from the same `numpy.random.RandomState(seed)`, so the
same seed gives the same images in the same order as regkit 0.1-0.3 (which called
scikit-learn) did, and as seed 000's notebook does. `tests/data/test_data_sampling.py`
compares them with scikit-learn where it is installed.

NumPy only; no regkit imports beyond the checks.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from regkit._checks import invalid

__all__ = ["held_out_count", "shuffle_split", "stratified_split"]


def held_out_count(n: int, fraction: float, *, arg: str = "validation_split") -> int:
    """How many of `n` examples `fraction` holds out: `ceil(fraction * n)`, as scikit-learn.

    Raises:
        ValueError: Naming `arg`, when nothing would be left to train on (or `n` < 2).
    """
    held = math.ceil(fraction * n)
    if held >= n or n < 2:
        raise invalid(
            arg,
            f"a fraction that leaves training examples: {fraction:g} of {n} example(s) holds "
            f"out {held} (rounded up), leaving {max(n - held, 0)}; use a smaller fraction or "
            "more data",
            fraction,
        )
    return held


def shuffle_split(
    n: int, fraction: float, seed: int, *, arg: str = "validation_split"
) -> tuple[np.ndarray, np.ndarray]:
    """Indices `(kept, held_out)` of a random split of `range(n)`.

    Exactly `train_test_split(range(n), test_size=fraction, random_state=seed)`: one
    permutation of `n` from `RandomState(seed)`, the first `ceil(fraction * n)` held out.

    Args:
        n: Number of examples.
        fraction: Fraction held out, in (0, 1).
        seed: NumPy random state, an int in [0, 2**32).
        arg: The argument errors name.

    Returns:
        Two int arrays of indices, in the order the examples are drawn.

    Raises:
        ValueError: Naming `arg`, when nothing is left to train on.

    Example:
        >>> kept, held = shuffle_split(10, 0.2, seed=0)
        >>> held.tolist(), len(kept)
        ([2, 8], 8)
    """
    held = held_out_count(n, fraction, arg=arg)
    permutation = np.random.RandomState(seed).permutation(n)
    return permutation[held:], permutation[:held]


def stratified_split(
    labels: Any, fraction: float, seed: int, *, arg: str = "validation_split"
) -> tuple[np.ndarray, np.ndarray]:
    """Indices `(kept, held_out)` of a split that keeps each class's share in both parts.

    Exactly `train_test_split(..., test_size=fraction, random_state=seed,
    stratify=labels)` (scikit-learn's `StratifiedShuffleSplit`): class counts of each part
    from the approximate mode of the multivariate hypergeometric, ties broken at random,
    each class's members permuted, then each part permuted; all from `RandomState(seed)`.

    Args:
        labels: `(n,)` class labels.
        fraction: Fraction held out, in (0, 1).
        seed: NumPy random state, an int in [0, 2**32).
        arg: The argument errors name.

    Returns:
        Two int arrays of indices, in the order the examples are drawn.

    Raises:
        ValueError: Naming `arg`, when nothing is left to train on, a class has a single
            member, or either part is smaller than the number of classes.

    Example:
        >>> kept, held = stratified_split([0, 0, 0, 0, 1, 1, 1, 1], 0.5, seed=0)
        >>> sorted(np.asarray([0, 0, 0, 0, 1, 1, 1, 1])[held].tolist())
        [0, 0, 1, 1]
    """
    y = np.asarray(labels)
    n = len(y)
    n_test = held_out_count(n, fraction, arg=arg)
    n_train = n - n_test
    classes, y_indices, class_counts = np.unique(y, return_inverse=True, return_counts=True)
    y_indices = y_indices.reshape(-1)
    if np.min(class_counts) < 2 or min(n_train, n_test) < len(classes):
        raise invalid(
            arg,
            f"a fraction that gives both parts at least one example of each of the "
            f"{len(classes)} classes (the smallest class has {int(np.min(class_counts))}; "
            f"{fraction:g} of {n} holds out {n_test} and keeps {n_train})",
            fraction,
        )
    members = np.split(np.argsort(y_indices, kind="stable"), np.cumsum(class_counts)[:-1])
    rng = np.random.RandomState(seed)
    n_i = _approximate_mode(class_counts, n_train, rng)
    t_i = _approximate_mode(class_counts - n_i, n_test, rng)
    train: list[Any] = []
    test: list[Any] = []
    for i in range(len(classes)):
        order = members[i].take(rng.permutation(class_counts[i]), mode="clip")
        train.extend(order[: n_i[i]])
        test.extend(order[n_i[i] : n_i[i] + t_i[i]])
    return rng.permutation(train), rng.permutation(test)


def _approximate_mode(
    class_counts: np.ndarray, n_draws: int, rng: np.random.RandomState
) -> np.ndarray:
    """Per-class draws summing to `n_draws`, near `class_counts`' proportions: floors, then
    one more for the largest remainders, ties broken at random (scikit-learn's rule)."""
    continuous = class_counts / class_counts.sum() * n_draws
    floored = np.floor(continuous)
    need_to_add = int(n_draws - floored.sum())
    if need_to_add > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (inds,) = np.where(remainder == value)
            add_now = min(len(inds), need_to_add)
            inds = rng.choice(inds, size=add_now, replace=False)
            floored[inds] += 1
            need_to_add -= add_now
            if need_to_add == 0:
                break
    return floored.astype(int)
