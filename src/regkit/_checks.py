"""Argument checks shared by regkit's public functions.

Every check raises in Keras' style, naming the argument, what was expected and what came:
``ValueError("Invalid value for argument `filters`: expected ... Received: filters=()")``.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from typing import Any, cast

__all__ = [
    "check_bool",
    "check_bounded_int",
    "check_choice",
    "check_finite_float",
    "check_float_range",
    "check_folder_name",
    "check_input_shape",
    "check_int_sequence",
    "check_items",
    "check_keras_file",
    "check_keras_model",
    "check_kwargs",
    "check_model_size",
    "check_name",
    "check_nonnegative_int",
    "check_num_classes",
    "check_optional_list",
    "check_own_folder",
    "check_path",
    "check_poolable",
    "check_positive_float",
    "check_positive_int",
    "check_strategy",
    "check_tensor_rank",
    "invalid",
    "shown",
]


def invalid(arg: str, expected: str, value: Any) -> ValueError:
    """The house-style ValueError for argument `arg` (`value` shown by `shown`)."""
    return ValueError(
        f"Invalid value for argument `{arg}`: expected {expected}. Received: {arg}={shown(value)}"
    )


#: Longest `repr` a message shows whole; longer ones are cut (a list of a million items).
MAX_SHOWN = 500


def shown(value: Any) -> str:
    """`repr(value)` for a message: cut after `MAX_SHOWN` characters, and never failing
    (an int of more than 4,300 digits has no `repr`; a broken `__repr__` raises)."""
    try:
        text = repr(value)
    except Exception:  # repr is for a message: any failure must not hide the real error
        if isinstance(value, int):
            return f"<an int of {value.bit_length()} bits>"
        return f"<{type(value).__name__} object>"
    if len(text) > MAX_SHOWN:
        return f"{text[:200]}... ({len(text):,} characters)"
    return text


def _real(arg: str, value: Any, expected: str) -> float:
    """`value` as a float; TypeError unless a real number, ValueError naming `arg` when it
    is beyond the float range (10**400 overflows `float()`)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"Invalid type for argument `{arg}`: expected a float. "
            f"Received: {arg}={shown(value)} of type {type(value).__name__}"
        )
    try:
        return float(value)
    except (OverflowError, ValueError):
        raise invalid(arg, expected, value) from None


#: Most items a list argument may hold (filters, units, metrics, callbacks, seeds): more is
#: a mistake (`range(10**9)`), refused before it is read, let alone built.
MAX_ITEMS = 10_000


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
    arg: str,
    value: Any,
    *,
    allow_empty: bool = False,
    minimum: int = 1,
    maximum: int | None = None,
) -> tuple[int, ...]:
    """Returns `value` as a tuple of ints >= `minimum` (a single int counts as a 1-tuple).

    With `maximum`, each int must also be <= `maximum`. Unordered containers (sets, dicts)
    are a TypeError; more than `MAX_ITEMS` items a ValueError (read no further).
    """
    if _is_int(value):
        value = (value,)
    if isinstance(value, (str, bytes, Set, Mapping)) or not isinstance(value, Iterable):
        raise TypeError(
            f"Invalid type for argument `{arg}`: expected a sequence of ints (a list or "
            f"tuple). Received: {arg}={shown(value)} of type {type(value).__name__}"
        )
    items = tuple(itertools.islice(value, MAX_ITEMS + 1))
    if len(items) > MAX_ITEMS:
        raise invalid(arg, f"a sequence of at most {MAX_ITEMS:,} ints", value)
    if not items and not allow_empty:
        raise invalid(arg, "a non-empty sequence of positive ints", value)
    if not all(_is_int(v) and int(v) >= minimum for v in items):
        raise invalid(arg, f"a sequence of ints >= {minimum}", value)
    if maximum is not None and any(int(v) > maximum for v in items):
        raise invalid(arg, f"a sequence of ints <= {maximum}", value)
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
    """Returns `value` as float; TypeError unless a real number, ValueError if NaN, inf or
    beyond the float range."""
    number = _real(arg, value, "a finite float")
    if not math.isfinite(number):
        raise invalid(arg, "a finite float", value)
    return number


def check_positive_float(arg: str, value: Any) -> float:
    """Returns `value` as float; raises unless it is a finite real number > 0."""
    number = _real(arg, value, "a finite float > 0")
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


def check_float_range(arg: str, value: Any, *, low: float, high: float | None = None) -> float:
    """Returns `value` as float; raises unless a finite real number >= `low` (and < `high`)."""
    number = check_finite_float(arg, value)
    if high is None:
        if not number >= low:
            raise invalid(arg, f"a float >= {low:g}", value)
    elif not low <= number < high:
        raise invalid(arg, f"a float in [{low:g}, {high:g})", value)
    return number


def check_nonnegative_int(arg: str, value: Any) -> int:
    """Returns `value` as int; raises unless it is an integer >= 0 (patience, counts)."""
    return check_positive_int(arg, value, minimum=0)


def check_name(arg: str, value: Any) -> str:
    """Returns `value`; raises unless it is a non-empty str (model and layer-name prefixes)."""
    if not isinstance(value, str) or not value:
        raise invalid(arg, "a non-empty str", value)
    return value


# ----------------------------------------------------------------------------------------
# Data arguments (regkit.data). These raise ValueError for a wrong type too, as the data
# functions have since 0.1.

#: Sizes (batch sizes, shuffle buffers, image sides, class counts) above this are refused
#: up front: no machine holds them, and TensorFlow would try to allocate (or overflow).
MAX_SIZE = 2**31 - 1


def check_count(arg: str, value: Any, *, maximum: int = MAX_SIZE) -> int:
    """Returns `value` as int; ValueError unless an integer in [1, `maximum`]."""
    if not _is_int(value) or not 1 <= int(value) <= maximum:
        too_big = _is_int(value) and int(value) > maximum
        expected = f"a positive int <= {maximum}" if too_big else "a positive int"
        raise invalid(arg, expected, value)
    return int(value)


#: Largest image side accepted (JPEG's own limit is 65,535 pixels).
MAX_IMAGE_SIDE = 65_536


def check_image_size(arg: str, value: Any) -> tuple[int, int] | None:
    """Returns `None` or a `(height, width)` pair of positive ints (an int means square),
    each at most `MAX_IMAGE_SIDE`."""
    if value is None:
        return None
    if _is_int(value):
        side = check_count(arg, value, maximum=MAX_IMAGE_SIDE)
        return side, side
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return (
            check_count(arg, value[0], maximum=MAX_IMAGE_SIDE),
            check_count(arg, value[1], maximum=MAX_IMAGE_SIDE),
        )
    raise invalid(arg, "None, a positive int or a (height, width) pair", value)


def check_flag(arg: str, value: Any) -> bool:
    """Returns `value`; ValueError unless it is a bool (NumPy bools count)."""
    if not isinstance(value, bool) and type(value).__name__ != "bool_":
        raise invalid(arg, "a bool", value)
    return bool(value)


def check_seed(arg: str, value: Any) -> int:
    """Returns `value` as int; ValueError unless an integer that fits TensorFlow's int64.

    Integers >= 2**63 (or < -2**63) are refused here rather than overflowing inside
    TensorFlow.
    """
    if not _is_int(value):
        raise invalid(arg, "an int", value)
    if not -(2**63) <= int(value) < 2**63:
        raise invalid(arg, "an int in [-2**63, 2**63)", value)
    return int(value)


def check_optional_seed(arg: str, value: Any) -> int | None:
    """`None`, or `value` checked by `check_seed` (the message says None is allowed)."""
    if value is None:
        return None
    if not _is_int(value):
        raise invalid(arg, "None or an int", value)
    return check_seed(arg, value)


def check_fraction(arg: str, value: Any) -> float:
    """Returns `value` as float; ValueError unless a real number in [0, 1) (one beyond
    the float range, such as 10**400, included)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise invalid(arg, "a float in [0, 1)", value)
    try:
        number = float(value)
    except (OverflowError, ValueError):
        raise invalid(arg, "a float in [0, 1)", value) from None
    if not 0.0 <= number < 1.0:
        raise invalid(arg, "a float in [0, 1)", value)
    return number


def check_value_range(arg: str, value: Any) -> tuple[float, float]:
    """Returns `value` as a `(low, high)` pair of finite floats with low < high."""
    expected = "a pair of finite floats (low, high) with low < high"
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, *_array_types())):
        raise invalid(arg, expected, value)
    items = cast("Sequence[Any]", value)
    try:
        if len(items) != 2:
            raise invalid(arg, expected, value)
        pair = (float(items[0]), float(items[1]))
    except (TypeError, ValueError, OverflowError):
        raise invalid(arg, expected, value) from None
    if not all(math.isfinite(v) for v in (*pair, pair[1] - pair[0])) or not pair[0] < pair[1]:
        raise invalid(arg, expected, value)
    return pair[0], pair[1]


def _array_types() -> tuple[type, ...]:
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy ships with TensorFlow
        return ()
    return (np.ndarray,)


# ----------------------------------------------------------------------------------------
# Model arguments (regkit.blocks, regkit.models).


def check_input_shape(
    input_shape: Any, *, allow_none_spatial: bool, min_size: int = 1
) -> tuple[int | None, int | None, int]:
    """Returns `input_shape` as ``(height, width, channels)``; raises naming `input_shape`.

    Height and width must be ints >= `min_size` (or None where `allow_none_spatial`), at
    most `MAX_SIZE`; channels an int >= 1. A shape that looks channels-first, such as
    ``(3, 32, 32)`` (first dimension 1, 3 or 4 and last dimension > 4), is refused with a
    message saying so: regkit models are channels-last.
    """
    if isinstance(input_shape, (str, bytes)) or not isinstance(input_shape, Sequence):
        raise invalid("input_shape", "a tuple (height, width, channels)", input_shape)
    shape = tuple(input_shape)
    if len(shape) != 3:
        raise invalid("input_shape", "a tuple (height, width, channels) of length 3", input_shape)
    h, w, c = shape
    if _is_int(h) and int(h) in (1, 3, 4) and _is_int(c) and 4 < int(c) <= MAX_SIZE:
        raise ValueError(
            f"Invalid value for argument `input_shape`: {shape} looks channels-first "
            f"({h} channels of {w}x{c} images); regkit models are channels-last, "
            f"(height, width, channels): pass input_shape=({w}, {c}, {h}) and transpose "
            f"images with np.transpose(x, (0, 2, 3, 1)). Received: input_shape={shape}"
        )
    for dim in (h, w):
        if dim is None and allow_none_spatial:
            continue
        if not _is_int(dim) or not min_size <= int(dim) <= MAX_SIZE:
            what = f"height and width ints >= {min_size}"
            if _is_int(dim) and int(dim) > MAX_SIZE:
                what = f"height and width ints <= {MAX_SIZE}"
            elif allow_none_spatial:
                what += " (or None)"
            raise invalid("input_shape", f"a tuple (height, width, channels) with {what}", shape)
    if not _is_int(c) or not 1 <= int(c) <= MAX_SIZE:
        what = f"channels <= {MAX_SIZE}" if _is_int(c) and int(c) > 0 else "channels >= 1"
        raise invalid("input_shape", f"a tuple (height, width, channels) with {what}", shape)
    return (
        None if h is None else int(h),
        None if w is None else int(w),
        int(c),
    )


def check_poolable(x: Any, poolings: int, *, arg: str = "input_shape") -> None:
    """Raises, naming `arg`, if tensor `x`'s spatial size cannot take `poolings` 2x2 poolings."""
    need = 2**poolings
    for size in tuple(x.shape)[1:3]:
        if size is not None and size < need:
            received = (
                f"input_shape={tuple(x.shape)[1:]}"
                if arg == "input_shape"
                else f"{arg} with shape {tuple(x.shape)}"
            )
            raise ValueError(
                f"Invalid value for argument `{arg}`: an input of spatial size "
                f"{tuple(x.shape)[1:3]} is too small for {poolings} 2x2 pooling(s); "
                f"expected height and width >= {need}. Received: {received}"
            )


_UNSAFE_NAME_CHARS = frozenset('/\\<>:"|?*')


def check_folder_name(arg: str, value: Any, *, reserved: Iterable[str] = ()) -> str:
    """Returns `value`; raises unless it can name one folder on any system.

    Refused: a non-str, an empty name, `.` or `..`, leading or trailing spaces, path
    separators, the characters Windows forbids (``<>:"|?*``) and control characters, and
    the `reserved` names in any case (a study folder's own files, such as report.json).
    """
    if not isinstance(value, str):
        raise TypeError(
            f"Invalid type for argument `{arg}`: expected a name (str). "
            f"Received: {arg}={value!r} of type {type(value).__name__}"
        )
    bad = sorted({c for c in value if c in _UNSAFE_NAME_CHARS or ord(c) < 32})
    if not value.strip() or value in (".", "..") or value != value.strip() or bad:
        why = f" (it contains {''.join(bad)!r})" if bad else ""
        raise invalid(
            arg,
            f"a name usable as a folder: not empty, '.' or '..', no separators or "
            f'<>:"|?* characters, no leading or trailing spaces{why}',
            value,
        )
    names = tuple(reserved)
    if value.lower() in {r.lower() for r in names}:
        raise invalid(arg, f"a name other than the study's own files ({', '.join(names)})", value)
    return value


# ----------------------------------------------------------------------------------------
# Model sizes (regkit.blocks, regkit.models): refused up front, before Keras allocates.

#: More parameters than this (16 GiB of float32) is beyond what regkit's builders are for.
MAX_PARAMETERS = 2**32
#: Widths (filters, units, classes) above this (a million channels) are refused.
MAX_WIDTH = 2**20
#: More activations than this per example (64 GiB of float32) likewise.
MAX_ACTIVATIONS = 2**34
#: More layers than this would take minutes just to build.
MAX_LAYERS = 10_000


def _largest(value: Any) -> float:
    """The largest number inside `value` (ints, floats, nested tuples); 0 for anything else."""
    if isinstance(value, bool):
        return 0.0
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (tuple, list)):
        return max((_largest(v) for v in value), default=0.0)
    return 0.0


def check_model_size(
    arguments: dict[str, Any], *, parameters: float, activations: float = 0, layers: float = 0
) -> None:
    """Refuses a model no machine could hold, naming the argument that makes it so.

    Args:
        arguments: The size arguments that went into the estimate, name -> value; the
            error names the one holding the largest number.
        parameters: Estimated parameter count.
        activations: Estimated activations per example (the largest layer output).
        layers: Estimated layer count.

    Raises:
        ValueError: An estimate exceeds `MAX_PARAMETERS`, `MAX_ACTIVATIONS` or `MAX_LAYERS`.
    """
    for what, count, limit in (
        ("parameters", parameters, MAX_PARAMETERS),
        ("activations per example", activations, MAX_ACTIVATIONS),
        ("layers", layers, MAX_LAYERS),
    ):
        if count > limit:
            arg = max(arguments, key=lambda name: _largest(arguments[name]))
            raise ValueError(
                f"Invalid value for argument `{arg}`: the model would have about "
                f"{count:.3g} {what}, more than any machine holds or builds in reasonable "
                f"time (limit {limit:.3g}); check "
                f"{', '.join(f'`{name}`' for name in arguments)}. "
                f"Received: {arg}={arguments[arg]!r}"
            )


def check_num_classes(value: Any, output: str) -> int:
    """Returns `num_classes` as int; a softmax over one class is refused (it is always 1)."""
    number = check_positive_int("num_classes", value)
    if number > MAX_WIDTH:
        raise invalid("num_classes", f"an int <= {MAX_WIDTH}", value)
    if number == 1 and output == "softmax":
        raise ValueError(
            "Invalid value for argument `num_classes`: a softmax over one class always "
            "outputs 1. For a binary problem use output='sigmoid' (one unit giving P(class "
            "1), with num_classes=1 or 2), or num_classes=2 with the softmax. Received: "
            "num_classes=1 with output='softmax'"
        )
    return number


def check_keras_file(arg: str, value: Any) -> Any:
    """Returns `value` as a `Path` to an existing ``.keras`` file; raises naming `arg`."""
    import os

    path = check_path(arg, value)
    if path.suffix != ".keras":
        raise invalid(
            arg,
            "a '.keras' file (a '.weights.h5' file loads into a built model with "
            "`model.load_weights`)",
            os.fspath(value),
        )
    if not path.is_file():
        raise invalid(arg, "an existing .keras file", os.fspath(value))
    return path


def check_keras_model(arg: str, value: Any, *, built: bool = False) -> Any:
    """Returns `value`; TypeError unless a `keras.Model` (ValueError if `built` and it is not)."""
    import keras

    if not isinstance(value, keras.Model):
        raise TypeError(
            f"Invalid type for argument `{arg}`: expected a keras.Model. "
            f"Received: {arg}={value!r} of type {type(value).__name__}"
        )
    if built and not value.built:
        raise ValueError(
            f"Invalid value for argument `{arg}`: the model is not built, so it has no "
            f"weights yet. Build it first (call it on a batch, or give it a keras.Input). "
            f"Received: {arg}={value.name!r}"
        )
    return value


def check_optional_list(arg: str, value: Any, *, of: str = "items") -> list[Any] | None:
    """Returns None or `value` as a list; TypeError unless None or a list/tuple (not a str),
    ValueError when it holds more than `MAX_ITEMS` items."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise TypeError(
            f"Invalid type for argument `{arg}`: expected None or a list of {of}. "
            f"Received: {arg}={shown(value)} of type {type(value).__name__}"
        )
    if len(value) > MAX_ITEMS:
        raise invalid(arg, f"None or a list of at most {MAX_ITEMS:,} {of}", value)
    return list(value)


def check_bounded_int(arg: str, value: Any, *, minimum: int = 1, maximum: int = MAX_SIZE) -> int:
    """Returns `value` as int; TypeError unless an int, ValueError unless in [min, max]."""
    number = check_positive_int(arg, value, minimum=minimum)
    if number > maximum:
        raise invalid(arg, f"an int <= {maximum}", value)
    return number


def check_strategy(arg: str, value: Any) -> Any:
    """Returns `value`; TypeError unless None or something with a `scope()` (a tf.distribute
    strategy)."""
    if value is not None and not callable(getattr(value, "scope", None)):
        raise TypeError(
            f"Invalid type for argument `{arg}`: expected None or a tf.distribute.Strategy. "
            f"Received: {arg}={value!r} of type {type(value).__name__}"
        )
    return value


def check_own_folder(
    arg: str,
    folder: Any,
    *,
    owned: Callable[[str], bool],
    protected: Iterable[Any] = (),
    purpose: str = "regkit deletes its own files there",
) -> Any:
    """Returns `folder` as a `Path` regkit may write and clean up; raises naming `arg`.

    Refused: a symbolic link, a file, a folder that contains any of `protected` (e.g. the
    checkpoint or the CSV log), and a folder holding any entry for which `owned(name)` is
    False (files regkit did not write). A missing or empty folder is fine.
    """
    import os
    from pathlib import Path

    path = check_path(arg, folder)
    shown = os.fspath(folder)
    if path.is_symlink():
        raise invalid(
            arg, "a folder, not a symbolic link (regkit never writes through links)", shown
        )
    if path.exists() and not path.is_dir():
        raise invalid(arg, "a folder (this is a file)", shown)
    resolved = path.resolve()
    for item in protected:
        target = Path(item).resolve()
        if target == resolved or resolved in target.parents:
            raise ValueError(
                f"Invalid value for argument `{arg}`: it contains {os.fspath(item)!r}, and "
                f"{purpose}; give it a folder of its own. Received: {arg}={shown!r}"
            )
    if path.is_dir():
        foreign = sorted(
            child.name
            for child in path.iterdir()
            if child.is_symlink() or not child.is_file() or not owned(child.name)
        )
        if foreign:
            listed = ", ".join(repr(n) for n in foreign[:5]) + (", ..." if len(foreign) > 5 else "")
            raise ValueError(
                f"Invalid value for argument `{arg}`: the folder holds entries regkit did not "
                f"write ({listed}), and {purpose}; give it an empty or new folder. "
                f"Received: {arg}={shown!r}"
            )
    return path


def check_path(arg: str, value: Any) -> Any:
    """Returns `value` as a `Path`; TypeError unless a str or os.PathLike (not empty)."""
    import os
    from pathlib import Path

    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(
            f"Invalid type for argument `{arg}`: expected a file path (str or os.PathLike). "
            f"Received: {arg}={value!r} of type {type(value).__name__}"
        )
    text = os.fspath(value)
    if not text or (isinstance(text, str) and "\x00" in text):
        raise invalid(arg, "a non-empty path without NUL characters", value)
    return Path(value)


def check_items(arg: str, items: list[Any], accepted: Callable[[Any], bool], expected: str) -> None:
    """Raises TypeError naming `arg` unless `accepted(item)` for every item of the list."""
    for item in items:
        if not accepted(item):
            raise TypeError(
                f"Invalid type for argument `{arg}`: expected a list of {expected}. "
                f"Received: {arg}={shown(items)} holding {shown(item)} of type "
                f"{type(item).__name__}"
            )


def check_kwargs(arg: str, value: Any) -> dict[str, Any]:
    """Returns `value` (None: {}) as a dict of keyword arguments; raises naming `arg`."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(
            f"Invalid type for argument `{arg}`: expected a dict of keyword arguments. "
            f"Received: {arg}={value!r} of type {type(value).__name__}"
        )
    for key in value:
        if not isinstance(key, str) or not key.isidentifier():
            raise invalid(arg, "a dict whose keys are argument names", dict(value))
    return dict(value)
