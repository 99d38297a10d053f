"""`DatasetSplits`: a data set's train / validation / test splits, and how they are carved.

Every loader of `regkit.data.datasets` returns one. In-memory sets are carved here
(`carve_splits`: validation from train by `regkit.data.sampling.shuffle_split`, which draws
exactly as scikit-learn's `train_test_split` and seed 000 do). TensorFlow is imported only
inside the functions that need it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from regkit._checks import check_count, check_fraction, check_seed, invalid
from regkit.data.arrays import ArrayData, from_arrays, guessed_value_range
from regkit.data.sampling import shuffle_split

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    import tensorflow as tf

__all__ = ["SPLIT_KEYS", "DatasetSplits", "carve_splits", "check_limit"]

#: The split names of a `DatasetSplits`, in order.
SPLIT_KEYS = ("train", "validation", "test")


def check_limit(arg: str, value: Any) -> dict[str, int]:
    """Returns `value` as ``{split: cap}``: an int caps every split, a mapping only the
    splits it names (for example ``{"train": 2000}``: a small training set, whole
    validation and test sets).

    Raises:
        ValueError: `value` is neither a positive int nor a non-empty mapping of split
            names (train, validation, test) to positive ints.
    """
    if isinstance(value, Mapping):
        unknown = [k for k in value if k not in SPLIT_KEYS]
        if not value or unknown:
            raise invalid(
                arg, f"a positive int or a mapping of {', '.join(SPLIT_KEYS)} to one", value
            )
        named = (key for key in SPLIT_KEYS if key in value)
        return {key: check_count(f"{arg}[{key!r}]", value[key]) for key in named}
    count = check_count(arg, value)
    return dict.fromkeys(SPLIT_KEYS, count)


@dataclasses.dataclass(frozen=True, eq=False)
class DatasetSplits:
    """A data set's train / validation / test splits as tf.data, plus what models need.

    The splits are `regkit.data.LabeledDataset`s: plain `tf.data.Dataset`s to a user that
    also carry the class count and, for in-memory sets, their `ArrayData`, which
    `image_pipeline` uses (`image_pipeline(splits.train)` needs no `num_classes` and
    gathers batches straight from the arrays). Cap every split's size with `take`.

    Attributes:
        train: `tf.data.Dataset` of unbatched `(uint8 image, int64 label)`.
        validation: Same, carved from the training data (`None` when
            `validation_split=0`).
        test: Same, the data set's held-out split (`None` if it has none).
        num_classes: Number of classes.
        class_names: One name per class.
        image_shape: `(height, width, channels)`; `None` for sizes that vary (tfds
            sets such as Imagenette: pass `image_size` to the pipeline).
        num_examples: Examples per split (`"train"`, `"validation"`, `"test"`); a value is
            `None` where the count is unknown.
        arrays: The raw `ArrayData` per split for in-memory sets (digits, CIFAR), else
            `None`.
        name: The data set's name.
        skipped: The files `load_dataset(folder, bad_images="skip")` left out because they
            could not be read as images (corrupt, truncated or not images at all), as
            strings; `num_skipped` counts them. Empty for every other data set.

    Example:
        >>> from regkit.data import load_dataset
        >>> splits = load_dataset("digits")
        >>> splits.image_shape, splits.num_classes, splits.num_examples["test"]
        ((8, 8, 1), 10, 360)
    """

    train: tf.data.Dataset
    validation: tf.data.Dataset | None
    test: tf.data.Dataset | None
    num_classes: int
    class_names: tuple[str, ...]
    image_shape: tuple[int | None, int | None, int | None]
    num_examples: Mapping[str, int | None]
    arrays: Mapping[str, ArrayData] | None = None
    name: str = ""
    skipped: tuple[str, ...] = ()

    @property
    def num_skipped(self) -> int:
        """How many unreadable image files were skipped while loading (see `skipped`)."""
        return len(self.skipped)

    @classmethod
    def from_arrays(
        cls,
        data: Any,
        *,
        validation_split: float = 0.2,
        seed: int = 0,
        class_names: Sequence[str] | None = None,
        value_range: tuple[float, float] | None = None,
        num_classes: int | None = None,
        name: str = "",
    ) -> DatasetSplits:
        """Splits of NumPy arrays as Keras hands them out, validation carved from train.

        `data` is `((x_train, y_train), (x_test, y_test))`, the shape of every
        `keras.datasets.*.load_data()` of images: grey images `(n, height, width)` (MNIST,
        Fashion-MNIST) get a channel axis, colour images are `(n, height, width,
        channels)`; labels `(n,)` or `(n, 1)` (CIFAR). The validation split is carved
        from train as for the built-in sets, drawn exactly as
        `sklearn.model_selection.train_test_split(test_size=validation_split,
        random_state=seed)` draws it (regkit does not need scikit-learn for that); the test
        arrays are the test split.

        Args:
            data: `((x_train, y_train), (x_test, y_test))`.
            validation_split: Fraction of the training arrays held out for validation, in
                [0, 1); 0 gives `validation=None`.
            seed: Random state of the validation carve, an int in [0, 2**32).
            class_names: One name per class (default: `"0"`, `"1"`, ...).
            value_range: `(low, high)` of the pixels, as for `regkit.data.from_arrays`
                (guessed only where unambiguous: uint8 is 0-255, floats within [0, 1] are
                [0, 1]); the test images must lie in the same range, and without it
                train and test images whose own scales differ (uint8 train, [0, 1] float
                test) are refused.
            num_classes: Class count (default: the largest label of either split plus 1,
                or the number of `class_names` when that is larger).
            name: The data set's name (reports show it).

        Returns:
            A `DatasetSplits` whose splits hold the arrays in memory.

        Raises:
            ValueError: Naming `data` (and which array, e.g. `x_test`): not two
                `(x, y)` pairs, images that are not `(n, height, width[, channels])`,
                empty, NaN/inf or outside the value range, labels that are not integers in
                `[0, num_classes)` shaped `(n,)` or `(n, 1)`, an `x` and `y` of different
                lengths, train and test images of different shapes or on different pixel
                scales; or naming
                `validation_split`, `seed`, `class_names`, `value_range` or `num_classes`.
            TypeError: `class_names` that is not a sequence of names.

        Example:
            >>> import numpy as np
            >>> x = np.zeros((10, 28, 28), np.uint8)
            >>> y = np.arange(10) % 2
            >>> splits = DatasetSplits.from_arrays(((x, y), (x[:4], y[:4])))
            >>> splits.image_shape, splits.num_examples
            ((28, 28, 1), {'train': 8, 'validation': 2, 'test': 4})
        """
        validation_split = check_fraction("validation_split", validation_split)
        seed = check_seed("seed", seed)
        if not 0 <= seed < 2**32:
            raise invalid("seed", "an int in [0, 2**32) (NumPy's random state)", seed)
        (x_train, y_train), (x_test, y_test) = _pairs(data)
        names = None if class_names is None else _names(class_names)
        if num_classes is None:
            counts = [_class_count(y_train, y_test), None if names is None else len(names)]
            num_classes = max((c for c in counts if c is not None), default=None)
        train = _part("train", x_train, y_train, num_classes, value_range, names)
        if value_range is None:
            _same_scale(train, x_train, x_test)
        test = _part("test", x_test, y_test, num_classes, train.value_range, names)
        if train.image_shape != test.image_shape:
            raise invalid(
                "data",
                "train and test images of one shape",
                f"x_train of shape {train.images.shape} and x_test of shape {test.images.shape}",
            )
        return carve_splits(name, train, test, validation_split, seed)

    def take(self, limit: int | Mapping[str, int]) -> DatasetSplits:
        """New splits holding at most the first `limit` examples of each split.

        In-memory splits stay in memory (their `ArrayData` is sliced), so pipelines built on
        the result keep their fast path; streamed splits take their first `limit` examples.
        `num_examples` is capped to match.

        Args:
            limit: Maximum number of examples per split, a positive int; or a mapping that
                caps only the splits it names (``{"train": 1000}``: a small training set
                with whole validation and test sets, the regime where models overfit).

        Returns:
            A new `DatasetSplits` (this one is unchanged).

        Raises:
            ValueError: `limit` is not a positive int, or a mapping with a key other than
                train, validation and test, or a value that is not a positive int.

        Example:
            >>> from regkit.data import load_dataset
            >>> small = load_dataset("digits").take(64)
            >>> small.num_examples
            {'train': 64, 'validation': 64, 'test': 64}
            >>> load_dataset("digits").take({"train": 100}).num_examples
            {'train': 100, 'validation': 288, 'test': 360}
        """
        # Imported here: regkit.data.labeled imports TensorFlow, which only splits need.
        from regkit.data.labeled import LabeledDataset

        caps = check_limit("limit", limit)
        changes: dict[str, Any] = {}
        arrays = dict(self.arrays) if self.arrays is not None else None
        for key, cap in caps.items():
            dataset = getattr(self, key)
            if dataset is None:
                continue
            if arrays is not None and key in arrays:
                arrays[key] = arrays[key].take(cap)
                changes[key] = arrays[key].as_dataset()
            elif isinstance(dataset, LabeledDataset):
                changes[key] = LabeledDataset(
                    dataset.take(cap),
                    num_classes=dataset.num_classes,
                    class_names=dataset.class_names,
                    encoded=None if dataset.encoded is None else dataset.encoded.take(cap),
                )
            else:
                changes[key] = dataset.take(cap)
        changes["num_examples"] = {
            key: count if count is None or key not in caps else min(count, caps[key])
            for key, count in self.num_examples.items()
        }
        if arrays is not None:
            changes["arrays"] = arrays
        return dataclasses.replace(self, **changes)

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={v}" for k, v in self.num_examples.items())
        if self.skipped:
            counts += f", skipped={len(self.skipped)}"
        return (
            f"DatasetSplits(name={self.name!r}, image_shape={self.image_shape}, "
            f"num_classes={self.num_classes}, {counts})"
        )


def carve_splits(
    name: str,
    train: ArrayData,
    test: ArrayData | None,
    validation_split: float,
    seed: int,
) -> DatasetSplits:
    """`DatasetSplits` of in-memory train and test arrays, validation carved from train
    exactly as seed 000 does (scikit-learn's `train_test_split(test_size=validation_split,
    random_state=seed)`, drawn by `shuffle_split`); arguments already checked.

    Raises:
        ValueError: Naming `validation_split`, when it would leave no training examples.
    """
    parts: dict[str, ArrayData] = {}
    if validation_split > 0:
        kept, held = shuffle_split(len(train), validation_split, seed)
        parts["train"] = dataclasses.replace(
            train, images=train.images[kept], labels=train.labels[kept]
        )
        parts["validation"] = dataclasses.replace(
            train, images=train.images[held], labels=train.labels[held]
        )
    else:
        parts["train"] = train
    if test is not None:
        parts["test"] = test
    datasets = {key: value.as_dataset() for key, value in parts.items()}
    names = train.class_names or tuple(str(i) for i in range(train.num_classes))
    return DatasetSplits(
        train=datasets["train"],
        validation=datasets.get("validation"),
        test=datasets.get("test"),
        num_classes=train.num_classes,
        class_names=names,
        image_shape=train.image_shape,
        num_examples={key: len(parts[key]) if key in parts else 0 for key in SPLIT_KEYS},
        arrays=parts,
        name=name,
    )


_DATA_SHAPE = "((x_train, y_train), (x_test, y_test)) as keras.datasets.*.load_data() returns"


def _pairs(data: Any) -> tuple[tuple[Any, Any], tuple[Any, Any]]:
    """`data` unpacked into its two `(x, y)` pairs, or a ValueError naming `data`."""
    ok = isinstance(data, (tuple, list)) and len(data) == 2
    ok = ok and all(isinstance(pair, (tuple, list)) and len(pair) == 2 for pair in data)
    if not ok:
        shape = type(data).__name__
        if isinstance(data, (tuple, list)):
            shape += f" of {len(data)} item(s)"
        raise invalid("data", _DATA_SHAPE, shape)
    (x_train, y_train), (x_test, y_test) = data
    return (x_train, y_train), (x_test, y_test)


def _same_scale(train: ArrayData, x_train: Any, x_test: Any) -> None:
    """Refuses test images whose own pixel scale (as `from_arrays` would guess it) is not
    the training images': uint8 train and [0, 1] float test images would be scaled as
    0-255 and reach the model black."""
    scale = guessed_value_range(x_test)
    if scale is None or scale == train.value_range:
        return
    images = np.asarray(x_test)

    def described(name: str, array: np.ndarray, scale: tuple[float, float]) -> str:
        return (
            f"{name} of {array.dtype} in [{float(array.min()):g}, {float(array.max()):g}] "
            f"(pixel scale {scale[0]:g}-{scale[1]:g})"
        )

    raise invalid(
        "data",
        "train and test images on one pixel scale (scale the test images like the training "
        "images, or pass value_range=(low, high) when both truly share it)",
        f"{described('x_train', np.asarray(x_train), train.value_range)} and "
        f"{described('x_test', images, scale)}",
    )


def _names(class_names: Any) -> tuple[str, ...]:
    if isinstance(class_names, (str, bytes)) or not isinstance(class_names, Sequence):
        raise TypeError(
            "Invalid type for argument `class_names`: expected a sequence of names. "
            f"Received: class_names={class_names!r} of type {type(class_names).__name__}"
        )
    return tuple(str(n) for n in class_names)


def _class_count(*labels: Any) -> int | None:
    """The largest integer label of all `labels` plus 1; `None` when that cannot be told
    (`from_arrays` then names the bad labels)."""
    try:
        arrays = [np.asarray(y) for y in labels]
        if not all(a.size and np.issubdtype(a.dtype, np.number) for a in arrays):
            return None
        if not all(np.isfinite(a).all() for a in arrays):
            return None
        return int(max(a.max() for a in arrays)) + 1
    except (TypeError, ValueError, OverflowError):
        return None


def _part(
    split: str,
    x: Any,
    y: Any,
    num_classes: int | None,
    value_range: tuple[float, float] | None,
    class_names: tuple[str, ...] | None,
) -> ArrayData:
    """`from_arrays` on one pair; grey `(n, h, w)` images get a channel axis, and errors
    about `x` or `y` name `data` and the array (`x_train`, `y_test`, ...)."""
    try:
        if getattr(x, "ndim", None) == 3:  # grey images, as MNIST's load_data() gives
            x = np.asarray(x)[..., None]
        return from_arrays(
            x, y, num_classes=num_classes, value_range=value_range, class_names=class_names
        )
    except (ValueError, TypeError) as error:
        raise _renamed(error, split) from None


def _renamed(error: Exception, split: str) -> Exception:
    """`from_arrays`' error about `x` or `y` as one about `data`'s `x_<split>` or
    `y_<split>`; any other error as it is."""
    message = str(error)
    x, y = f"x_{split}", f"y_{split}"
    heads = {
        "Invalid value for argument `x`:": (f"Invalid value for argument `data` ({x}):", "x"),
        "Invalid value for argument `y`:": (f"Invalid value for argument `data` ({y}):", "y"),
        "Invalid value for arguments `x` and `y`:": (
            f"Invalid value for argument `data` ({x} and {y}):",
            "",
        ),
    }
    for head, (new_head, arg) in heads.items():
        if message.startswith(head):
            message = new_head + message[len(head) :]
            if arg:
                message = message.replace(
                    f"Received: {arg}=", f"Received: {x if arg == 'x' else y}="
                )
            message = message.replace("len(x)", f"len({x})").replace("len(y)", f"len({y})")
            return type(error)(message)
    return error
