"""Argument checks shared by regkit's public functions.

Every check raises in Keras' style, naming the argument, what was expected and what came:
``ValueError("Invalid value for argument `filters`: expected ... Received: filters=()")``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "check_bool",
    "check_choice",
    "check_finite_float",
    "check_int_sequence",
    "check_positive_float",
    "check_positive_int",
    "check_tensor_rank",
    "invalid",
]


def invalid(arg: str, expected: str, value: Any) -> ValueError:
    """The house-style ValueError for argument `arg`."""
    return ValueError(
        f"Invalid value for argument `{arg}`: expected {expected}. Received: {arg}={value!r}"
    )


def _is_int(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or _is_numpy_int(value)


def _is_numpy_int(value: Any) -> bool:
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy ships with TensorFlow
        return False
    return isinstance(value, np.integer)


def check_positive_int(arg: str, value: Any, *, minimum: int = 1) -> int:
    """Returns `value` as int; raises unless it is an integer >= `minimum`."""
    if not _is_int(value):
        raise TypeError(
            f"Invalid type for argument `{arg}`: expected an int. "
            f"Received: {arg}={value!r} of type {type(value).__name__}"
        )
    if int(value) < minimum:
        raise invalid(arg, f"an int >= {minimum}", value)
    return int(value)


def check_int_sequence(
    arg: str, value: Any, *, allow_empty: bool = False, minimum: int = 1
) -> tuple[int, ...]:
    """Returns `value` as a tuple of ints >= `minimum` (a single int counts as a 1-tuple)."""
    if _is_int(value):
        value = (value,)
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(
            f"Invalid type for argument `{arg}`: expected a sequence of ints. "
            f"Received: {arg}={value!r} of type {type(value).__name__}"
        )
    items = tuple(value)
    if not items and not allow_empty:
        raise invalid(arg, "a non-empty sequence of positive ints", value)
    if not all(_is_int(v) and int(v) >= minimum for v in items):
        raise invalid(arg, f"a sequence of ints >= {minimum}", value)
    return tuple(int(v) for v in items)


def check_choice(arg: str, value: Any, choices: Sequence[Any]) -> Any:
    """Returns `value` if it is one of `choices`; the error lists the valid ones.

    The match is by type as well as value, so ``True`` is not ``1`` and ``2.0`` is not ``2``,
    and values that do not compare to a bool (NumPy arrays) are rejected, not crashed on.
    """
    if not any(_same_choice(value, choice) for choice in choices):
        valid = ", ".join(repr(c) for c in choices)
        raise ValueError(
            f"Invalid value for argument `{arg}`: expected one of {valid}. "
            f"Received: {arg}={value!r}"
        )
    return value


def _same_choice(value: Any, choice: Any) -> bool:
    if type(value) is not type(choice) and not (isinstance(choice, str) and isinstance(value, str)):
        return False
    try:
        return bool(value == choice)
    except (TypeError, ValueError):
        return False


def check_finite_float(arg: str, value: Any) -> float:
    """Returns `value` as float; TypeError unless a real number, ValueError if NaN or inf."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"Invalid type for argument `{arg}`: expected a float. "
            f"Received: {arg}={value!r} of type {type(value).__name__}"
        )
    number = float(value)
    if not math.isfinite(number):
        raise invalid(arg, "a finite float", value)
    return number


def check_positive_float(arg: str, value: Any) -> float:
    """Returns `value` as float; raises unless it is a finite real number > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"Invalid type for argument `{arg}`: expected a float. "
            f"Received: {arg}={value!r} of type {type(value).__name__}"
        )
    number = float(value)
    if not (math.isfinite(number) and number > 0):
        raise invalid(arg, "a finite float > 0", value)
    return number


def check_bool(arg: str, value: Any) -> bool:
    """Returns `value`; raises TypeError unless it is a bool (NumPy bools count)."""
    if not isinstance(value, bool) and type(value).__name__ != "bool_":
        raise TypeError(
            f"Invalid type for argument `{arg}`: expected a bool. "
            f"Received: {arg}={value!r} of type {type(value).__name__}"
        )
    return bool(value)


def check_tensor_rank(arg: str, x: Any, rank: int) -> None:
    """Raises unless `x` is a symbolic/eager tensor of the given rank (batch included)."""
    shape = getattr(x, "shape", None)
    if shape is None:
        raise TypeError(
            f"Invalid type for argument `{arg}`: expected a Keras tensor (e.g. from keras.Input). "
            f"Received: {arg}={x!r} of type {type(x).__name__}"
        )
    if len(shape) != rank:
        raise ValueError(
            f"Invalid value for argument `{arg}`: expected a tensor of rank {rank} "
            f"(batch included). Received: {arg} with shape {tuple(shape)}"
        )
