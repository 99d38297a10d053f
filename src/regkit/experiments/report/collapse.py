"""Verdicts on a run: did it learn anything, and if not, what most likely stopped it.

A run whose best validation accuracy is no better than always answering the most frequent
class has collapsed, however its loss looks. `no_better_than_majority` is that test (exact,
allowing for the sampling noise of a small validation split); `collapse_cause` names the
likely cause from the figures the run measured. Plain floats in, no regkit state.

Example:
    >>> from regkit.experiments.report.collapse import no_better_than_majority
    >>> no_better_than_majority(0.103, 0.101, 360)  # chance on 360 digits
    True
    >>> no_better_than_majority(0.90, 0.101, 360)
    False
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

from regkit._checks import check_finite_float, check_positive_int, invalid
from regkit._tdist import binom_sf
from regkit.experiments.report.stats import approx_text, check_probability

__all__ = ["collapse_cause", "no_better_than_majority"]


# ---------------------------------------------------------------------------- collapse
def no_better_than_majority(
    best_accuracy: float, majority_fraction: float, n: int, *, alpha: float = 0.05
) -> bool:
    """Whether a run's best validation accuracy is no better than always guessing one class.

    Always answering the most frequent class is right on `majority_fraction` of the `n`
    validation examples. The run counts as no better when an exact one-sided binomial test
    does not reject "the model is right with probability `majority_fraction`": with
    ``k = round(best_accuracy * n)`` correct answers, True when
    ``P(X >= k) >= alpha`` for ``X ~ Binomial(n, majority_fraction)``. Why exact: the
    validation sets of small studies hold a few hundred examples and the majority share of
    a ten-class set is about 0.1, where the normal approximation
    ``majority + z * sqrt(p (1 - p) / n)`` is off by a few examples; the exact tail costs
    nothing. The best accuracy is the largest over epochs, an optimistic figure, so the
    test errs towards calling a run ok rather than collapsed.

    Args:
        best_accuracy: The run's best validation accuracy, in [0, 1].
        majority_fraction: The share of the most frequent class among the validation
            examples, in (0, 1].
        n: The number of validation examples.
        alpha: The test's significance level, in (0, 1).

    Returns:
        True when the accuracy is not significantly above the majority share.

    Raises:
        ValueError: a figure is out of range or not finite.
        TypeError: a figure is not a number.

    Example:
        >>> no_better_than_majority(0.103, 0.101, 360)  # chance on ten digits
        True
        >>> no_better_than_majority(0.15, 0.101, 360)  # 54 right where 36 are expected
        False
    """
    accuracy = check_probability("best_accuracy", best_accuracy)
    majority = check_probability("majority_fraction", majority_fraction)
    if majority == 0:
        raise invalid("majority_fraction", "a float in (0, 1]", majority_fraction)
    count = check_positive_int("n", n)
    level = check_finite_float("alpha", alpha)
    if not 0 < level < 1:
        raise invalid("alpha", "a float in (0, 1)", alpha)
    correct = round(accuracy * count)
    if correct <= majority * count:
        return True
    tail = binom_sf(correct - 1, count, majority)  # P(X >= correct)
    return tail >= level


def _figure(figures: Mapping[str, Any], key: str) -> float | None:
    value = figures.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"Invalid type for argument `figures`: expected floats. "
            f"Received: figures[{key!r}]={value!r} of type {type(value).__name__}"
        )
    number = float(value)
    return number if math.isfinite(number) else None


def collapse_cause(figures: Mapping[str, float | None]) -> str:
    """The likely cause of a collapse, from the figures a run measured.

    Every key is optional (missing, None or NaN means not measured); the first cause the
    figures support is named, in this order:

    1. The penalty dominates the loss (L2 too strong): `reg_loss_share` >= 0.5 (the
       penalties' share of the training loss, best taken as its largest over epochs), or
       the weights shrank to under 5% of their starting norm (`weight_norm` over
       `initial_weight_norm`). A penalty that crushed the weights no longer shows a large
       share once they are small, so the shrinkage is evidence on its own. With
       `adaptive` = 1 (Adam and its kin) the message adds that the step size then no
       longer depends on the strength, so stronger penalties follow the same path.
    2. The effective learning rate blew up: `effective_lr_ratio` >= 100 (the final
       effective learning rate over the initial one, e.g. ``lr / |w|^2`` for weights
       behind batch normalization).
    3. Constant predictions: `prediction_share` >= 0.99 (the share of validation examples
       given the most common predicted class).
    4. Uniform outputs: `train_loss` within 2% of ``ln(num_classes)``, the loss of
       predicting every class with the same probability.

    Args:
        figures: A mapping of floats, keys among `reg_loss_share`, `weight_norm`,
            `initial_weight_norm`, `adaptive`, `effective_lr_ratio`, `prediction_share`,
            `train_loss`, `num_classes`; other keys are ignored.

    Returns:
        A sentence naming the likely cause, with the figures behind it.

    Raises:
        TypeError: `figures` is not a mapping or holds a value that is not a number.

    Example:
        >>> collapse_cause({"reg_loss_share": 0.97, "weight_norm": 0.14,
        ...                 "initial_weight_norm": 26.0})
        'the penalty dominates the loss (L2 too strong): penalty share 97%, weight norm 26 -> 0.14'
    """
    if not isinstance(figures, Mapping):
        raise TypeError(
            "Invalid type for argument `figures`: expected a mapping of floats. "
            f"Received: figures={figures!r} of type {type(figures).__name__}"
        )
    share = _figure(figures, "reg_loss_share")
    norm = _figure(figures, "weight_norm")
    start = _figure(figures, "initial_weight_norm")
    adaptive = _figure(figures, "adaptive")
    lr_ratio = _figure(figures, "effective_lr_ratio")
    constant = _figure(figures, "prediction_share")
    loss = _figure(figures, "train_loss")
    classes = _figure(figures, "num_classes")

    shrank = norm is not None and start is not None and start > 0 and norm < 0.05 * start
    if (share is not None and share >= 0.5) or shrank:
        evidence = []
        if share is not None:
            evidence.append(f"penalty share {share:.0%}")
        if norm is not None and start is not None:
            evidence.append(f"weight norm {approx_text(start)} -> {approx_text(norm)}")
        text = "the penalty dominates the loss (L2 too strong): " + ", ".join(evidence)
        if adaptive:
            text += (
                "; under an adaptive optimizer (Adam) the step no longer depends on the "
                "penalty's strength once its gradient dominates, so stronger penalties "
                "follow the same path"
            )
        return text
    if lr_ratio is not None and lr_ratio >= 100:
        return (
            f"the effective learning rate blew up ({approx_text(lr_ratio)} times its start): "
            "try a smaller learning rate or weaker weight decay"
        )
    if constant is not None and constant >= 0.99:
        return f"constant predictions: {constant:.0%} of validation examples get one class"
    if loss is not None and classes is not None and classes >= 2:
        uniform = math.log(classes)
        if abs(loss - uniform) <= 0.02 * uniform:
            return (
                f"uniform outputs: the training loss stays at ln({classes:g}) = "
                f"{uniform:.3f}, every class predicted with the same probability"
            )
    return "no cause stands out in the measured figures"
