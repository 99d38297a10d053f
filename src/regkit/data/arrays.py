"""In-memory images and labels: `from_arrays` validates them into an `ArrayData`.

The pixel scale is never guessed where it is ambiguous (uint8 is 0-255, floats all within
[0, 1] are [0, 1]; anything else needs `value_range`). This module needs only NumPy:
`ArrayData.as_dataset` imports TensorFlow (through `regkit.data.labeled`) when called.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from regkit._checks import check_count, check_value_range, invalid

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from regkit.data.labeled import LabeledDataset

__all__ = [
    "MAX_CLASSES",
    "ArrayData",
    "from_arrays",
    "guessed_value_range",
    "looks_channels_first",
]

#: Most classes a data set may have (one-hot labels of more would not fit in memory).
MAX_CLASSES = 1_000_000


@dataclasses.dataclass(frozen=True, eq=False)
class ArrayData:
    """Validated in-memory images and labels (what `from_arrays` returns).

    Attributes:
        images: `(n, height, width, channels)` array, uint8 or float32.
        labels: `(n,)` int64 array of class indices in `[0, num_classes)`.
        num_classes: Number of classes.
        value_range: `(low, high)` of the pixel scale (`(0, 255)` or `(0, 1)`);
            `image_pipeline` maps it to [0, 1].
        class_names: Optional class names.
    """

    images: np.ndarray
    labels: np.ndarray
    num_classes: int
    value_range: tuple[float, float] = (0.0, 255.0)
    class_names: tuple[str, ...] | None = None

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """`(height, width, channels)`."""
        return tuple(int(d) for d in self.images.shape[1:])  # type: ignore[return-value]

    def as_dataset(self) -> LabeledDataset:
        """A `tf.data.Dataset` of unbatched `(image, int64 label)` pairs.

        It is a `regkit.data.LabeledDataset` whose `arrays` attribute is this `ArrayData`,
        so `image_pipeline` given it gathers whole batches straight from the arrays.
        """
        # Imported here: regkit.data.labeled imports TensorFlow, which arrays need only now.
        from regkit.data.labeled import LabeledDataset

        return LabeledDataset.from_arrays(self)

    def take(self, limit: int) -> ArrayData:
        """The first `limit` images and labels (all of them when there are fewer).

        Raises:
            ValueError: `limit` is not a positive int.
        """
        limit = check_count("limit", limit)
        return dataclasses.replace(self, images=self.images[:limit], labels=self.labels[:limit])

    def __repr__(self) -> str:
        return (
            f"ArrayData(n={len(self)}, image_shape={self.image_shape}, "
            f"dtype={self.images.dtype}, num_classes={self.num_classes})"
        )


def from_arrays(
    x: Any,
    y: Any,
    *,
    num_classes: int | None = None,
    value_range: tuple[float, float] | None = None,
    class_names: Sequence[str] | None = None,
) -> ArrayData:
    """Validates image and label arrays for `image_pipeline`.

    The pixel scale is never guessed where it is ambiguous: uint8 images are 0-255, float
    images whose values all lie in [0, 1] are [0, 1]; anything else (float images with
    values above 1, other integer types) needs `value_range`.

    Args:
        x: Images `(n, height, width, channels)`, channels last: uint8 (0-255) or float
            in [0, 1]; other scales with `value_range`.
        y: Integer class labels shaped `(n,)` or `(n, 1)` (as Keras' CIFAR loaders give).
        num_classes: Number of classes (at least 2); defaults to `max(y) + 1`.
        value_range: `(low, high)` of the pixel values, mapped to [0, 1] by the pipeline,
            e.g. `(0, 255)` for float images in 0-255. Every pixel must lie within it.
            Defaults to `(0, 255)` for uint8 images and `(0, 1)` for float images in
            [0, 1].
        class_names: Optional names, one per class.

    Returns:
        An `ArrayData` (`image_pipeline` accepts it; `.as_dataset()` gives tf.data).

    Raises:
        ValueError: Naming the argument: `x` not 4-D, channels-first, empty, NaN/inf or
            outside `value_range`; a pixel scale that cannot be told without
            `value_range`; `y` not `(n,)`/`(n, 1)`, not integers, outside
            `[0, num_classes)` or of a single class; `x` and `y` of different lengths; a
            bad `num_classes`, `value_range` or `class_names`.

    Example:
        >>> x = np.zeros((4, 32, 32, 3), np.uint8)
        >>> data = from_arrays(x, np.array([[0], [1], [2], [1]]))
        >>> data.num_classes, data.labels.shape
        (3, (4,))
    """
    for arg, value in (("x", x), ("y", y)):
        try:
            converted = np.asarray(value)
        except (ValueError, TypeError) as error:
            received = f"{type(value).__name__} ({error})"
            raise invalid(arg, "a rectangular array", received) from None
        if arg == "x":
            x = converted
        else:
            y = converted
    if x.ndim != 4:
        hint = " (add a channel axis, e.g. x[..., None])" if x.ndim == 3 else ""
        raise invalid(
            "x",
            f"an array of images shaped (n, height, width, channels){hint}",
            f"array of shape {x.shape}",
        )
    if x.shape[0] == 0 or 0 in x.shape[1:]:
        raise invalid("x", "at least one non-empty image", f"array of shape {x.shape}")
    if looks_channels_first(x.shape[1:]):
        raise invalid(
            "x",
            "channels-last images (n, height, width, channels); this array looks "
            "channels-first (n, channels, height, width): pass x.transpose(0, 2, 3, 1)",
            f"array of shape {x.shape}",
        )
    if x.dtype == np.bool_ or not (
        np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)
    ):
        raise invalid("x", "uint8 or float images", f"array of dtype {x.dtype}")
    if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
        raise invalid("x", "finite pixel values (no NaN or inf)", "an array holding NaN/inf")
    low, high = float(x.min()), float(x.max())
    if value_range is None:
        value_range = _guess_value_range(x.dtype, low, high)
    else:
        value_range = check_value_range("value_range", value_range)
    if low < value_range[0] or high > value_range[1]:
        raise invalid(
            "x",
            f"pixel values in [{value_range[0]:g}, {value_range[1]:g}] (the `value_range`; "
            "pass the range the pixels are in)",
            f"values in [{low:g}, {high:g}]",
        )
    if np.issubdtype(x.dtype, np.integer):
        if x.dtype != np.uint8 and value_range == (0.0, 255.0):
            x = x.astype(np.uint8)
        elif x.dtype != np.uint8:
            x = x.astype(np.float32)
    elif x.dtype != np.float32:
        x = x.astype(np.float32)

    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise invalid(
            "y",
            "integer labels shaped (n,) or (n, 1) (for one-hot labels pass y.argmax(-1))",
            f"array of shape {y.shape}",
        )
    if np.issubdtype(y.dtype, np.floating):
        if not np.isfinite(y).all():
            raise invalid("y", "integer class labels (no NaN or inf)", "an array holding NaN/inf")
        if not np.array_equal(y, np.round(y)):
            raise invalid("y", "integer class labels", "non-integer values")
    elif not np.issubdtype(y.dtype, np.integer) or y.dtype == np.bool_:
        raise invalid("y", "integer class labels", f"array of dtype {y.dtype}")
    if len(x) != len(y):
        raise ValueError(
            "Invalid value for arguments `x` and `y`: expected the same number of images and "
            f"labels. Received: len(x)={len(x)}, len(y)={len(y)}"
        )
    y = y.astype(np.int64)
    if num_classes is None:
        if y.min() >= 0 and len(np.unique(y)) < 2:
            raise invalid(
                "y",
                "labels of at least two classes (a classifier of one class learns nothing); "
                "pass num_classes when these are part of a larger set",
                f"labels all equal to {int(y[0])}",
            )
        num_classes = max(int(y.max()) + 1, 1)
    num_classes = check_count("num_classes", num_classes, maximum=MAX_CLASSES)
    if y.min() < 0 or y.max() >= num_classes:
        raise invalid(
            "y",
            f"labels in [0, {num_classes}) (`num_classes`={num_classes})",
            f"labels in [{y.min()}, {y.max()}]",
        )
    if num_classes < 2:
        raise invalid(
            "num_classes",
            "at least 2 classes (a classifier of one class learns nothing; for a yes/no task "
            "use labels 0 and 1)",
            num_classes,
        )
    names: tuple[str, ...] | None = None
    if class_names is not None:
        if isinstance(class_names, (str, bytes)) or not isinstance(class_names, Sequence):
            raise TypeError(
                "Invalid type for argument `class_names`: expected a sequence of names. "
                f"Received: class_names={class_names!r} of type {type(class_names).__name__}"
            )
        names = tuple(str(n) for n in class_names)
        if len(names) != num_classes:
            raise invalid(
                "class_names", f"{num_classes} names (one per class)", f"{len(names)} names"
            )
    return ArrayData(
        images=x, labels=y, num_classes=num_classes, value_range=value_range, class_names=names
    )


def looks_channels_first(shape: Sequence[int | None]) -> bool:
    """Whether an image shape `(a, b, c)` looks channels-first: `a` a channel count (1, 3
    or 4) and `c` clearly not one (more than 4)."""
    if len(shape) != 3 or None in shape:
        return False
    first, _, last = (int(d) for d in shape)  # type: ignore[arg-type]
    return first in (1, 3, 4) and last > 4


def guessed_value_range(x: Any) -> tuple[float, float] | None:
    """The pixel scale `from_arrays` guesses for images `x` without `value_range`:
    `(0, 255)` for uint8, `(0, 1)` for floats within [0, 1]; None where it cannot tell
    (other scales, empty or non-numeric arrays, NaN/inf)."""
    try:
        array = np.asarray(x)
        if array.size == 0 or not (
            array.dtype == np.uint8 or np.issubdtype(array.dtype, np.floating)
        ):
            return None
        low, high = float(array.min()), float(array.max())
        if not (np.isfinite(low) and np.isfinite(high)):
            return None
        return _guess_value_range(array.dtype, low, high)
    except (ValueError, TypeError):
        return None


def _guess_value_range(dtype: np.dtype[Any], low: float, high: float) -> tuple[float, float]:
    """uint8 -> (0, 255); floats within [0, 1] -> (0, 1); anything else is ambiguous."""
    if dtype == np.uint8:
        return (0.0, 255.0)
    if np.issubdtype(dtype, np.floating) and low >= 0.0 and high <= 1.0:
        return (0.0, 1.0)
    if np.issubdtype(dtype, np.floating):
        hint = (
            "pass value_range=(0, 255) for 0-255 images, or clip images meant to be in [0, 1] "
            "(np.clip(x, 0, 1))"
            if low >= 0.0 and high <= 255.0
            else "pass value_range=(low, high) of your pixel scale"
        )
    else:
        hint = f"pass value_range=(low, high) of your {dtype} pixel scale, e.g. (0, 255)"
    raise invalid(
        "value_range",
        f"the pixel scale when it cannot be told from the images: {dtype} values in "
        f"[{low:g}, {high:g}] are neither uint8 0-255 nor floats in [0, 1]; {hint}",
        None,
    )
