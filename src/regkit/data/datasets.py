"""Data sets as tf.data: scikit-learn's digits, CIFAR-10/100 and any tensorflow-datasets name.

`load_dataset` returns a `DatasetSplits` whose `train`, `validation` and `test` are
`tf.data.Dataset`s of unbatched `(uint8 image (H, W, C), int64 label)` pairs; feed them to
`regkit.data.image_pipeline` to resize, scale, augment and batch. `from_arrays` validates
user arrays and wraps them the same way.

The loaders live beside this module: `regkit.data.cifar` and `regkit.data.tfds_sets`.
Nothing is downloaded silently where it could hang: CIFAR is read from `data_dir` or Keras'
cache before Keras is asked to download it, and a tensorflow-datasets set that is not
prepared raises at once (naming the directory and the `tfds build` command) unless
`download=True`. TensorFlow, scikit-learn and tensorflow_datasets are imported inside the
functions that need them.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from regkit._checks import (
    check_count,
    check_fraction,
    check_path,
    check_seed,
    check_value_range,
    invalid,
)

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    import tensorflow as tf

    from regkit.data.sources import LabeledDataset

__all__ = [
    "BUILTIN_DATASETS",
    "CIFAR_SETS",
    "MAX_CLASSES",
    "SPLIT_KEYS",
    "ArrayData",
    "DatasetSplits",
    "from_arrays",
    "load_dataset",
]

#: Names `load_dataset` knows without tensorflow-datasets (any tfds name works too).
BUILTIN_DATASETS = ("digits", "cifar10", "cifar100")
#: The CIFAR sets, read by `regkit.data.cifar`.
CIFAR_SETS = ("cifar10", "cifar100")
#: Most classes a data set may have (one-hot labels of more would not fit in memory).
MAX_CLASSES = 1_000_000

# --------------------------------------------------------------------------------------
# In-memory arrays.


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
        from regkit.data.sources import LabeledDataset

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


# --------------------------------------------------------------------------------------
# The splits.


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

    Example:
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

    def take(self, limit: int) -> DatasetSplits:
        """New splits holding at most the first `limit` examples of each split.

        In-memory splits stay in memory (their `ArrayData` is sliced), so pipelines built on
        the result keep their fast path; streamed splits take their first `limit` examples.
        `num_examples` is capped to match.

        Args:
            limit: Maximum number of examples per split, a positive int.

        Returns:
            A new `DatasetSplits` (this one is unchanged).

        Raises:
            ValueError: `limit` is not a positive int.

        Example:
            >>> small = load_dataset("digits").take(64)
            >>> small.num_examples
            {'train': 64, 'validation': 64, 'test': 64}
        """
        from regkit.data.sources import LabeledDataset

        limit = check_count("limit", limit)
        changes: dict[str, Any] = {}
        arrays = dict(self.arrays) if self.arrays is not None else None
        for key in SPLIT_KEYS:
            dataset = getattr(self, key)
            if dataset is None:
                continue
            if arrays is not None and key in arrays:
                arrays[key] = arrays[key].take(limit)
                changes[key] = arrays[key].as_dataset()
            elif isinstance(dataset, LabeledDataset):
                changes[key] = LabeledDataset(
                    dataset.take(limit),
                    num_classes=dataset.num_classes,
                    class_names=dataset.class_names,
                    encoded=None if dataset.encoded is None else dataset.encoded.take(limit),
                )
            else:
                changes[key] = dataset.take(limit)
        changes["num_examples"] = {
            key: None if count is None else min(count, limit)
            for key, count in self.num_examples.items()
        }
        if arrays is not None:
            changes["arrays"] = arrays
        return dataclasses.replace(self, **changes)

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={v}" for k, v in self.num_examples.items())
        return (
            f"DatasetSplits(name={self.name!r}, image_shape={self.image_shape}, "
            f"num_classes={self.num_classes}, {counts})"
        )


def _splits_from_arrays(
    name: str,
    train: ArrayData,
    test: ArrayData | None,
    validation_split: float,
    seed: int,
) -> DatasetSplits:
    """Carves validation from train exactly as seed 000 does (`train_test_split`)."""
    parts: dict[str, ArrayData] = {}
    if validation_split > 0:
        from sklearn.model_selection import train_test_split

        x_tr, x_val, y_tr, y_val = train_test_split(
            train.images, train.labels, test_size=validation_split, random_state=seed
        )
        parts["train"] = dataclasses.replace(train, images=x_tr, labels=y_tr)
        parts["validation"] = dataclasses.replace(train, images=x_val, labels=y_val)
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


#: The split names of a `DatasetSplits`, in order.
SPLIT_KEYS = ("train", "validation", "test")


def load_dataset(
    name: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    validation_split: float = 0.2,
    seed: int = 0,
    download: bool | None = None,
    image_size: int | tuple[int, int] | None = None,
) -> DatasetSplits:
    """Loads a classification data set as train / validation / test tf.data splits.

    * `"digits"`: scikit-learn's embedded 1,797 8x8 grey digits (offline), scaled to
      uint8 0-255 with shape (8, 8, 1). A fixed stratified 20% (360 images) is the test
      split, whatever `seed`.
    * `"cifar10"`, `"cifar100"` (fine labels): read from `data_dir` when it holds the
      official python-version archive (`cifar-10-python.tar.gz`) or its extracted folder
      (`cifar-10-batches-py/`; for CIFAR-100 `cifar-100-python`), else from Keras' cache
      (`$KERAS_HOME/datasets`, default `~/.keras/datasets`), else downloaded there by
      `keras.utils.get_file` (unless `download=False`).
    * Any tensorflow-datasets name, e.g. `"imagenette/160px"`, from its prepared copy in
      `data_dir` (tfds' default when `None`). Its `test` split is the set's `"test"` split,
      or its `"validation"` split when it has no test split (as seed 001 evaluates).
    * A folder of images, one subfolder per class (a `pathlib.Path`, or a string naming an
      existing directory): JPEG, PNG, BMP or GIF files; `class_names` are the sorted
      subfolder names. `train/`, `validation/` and `test/` subfolders (each holding class
      subfolders) are used when present; otherwise a stratified 20% of each class is the
      test split (fixed) and `validation_split` of the rest, drawn with `seed`, the
      validation split. Images of varying size need `image_size`. Only headers are read
      here; `image_pipeline` decodes the files straight to its size (see
      `regkit.data.folders`).

    The validation split is carved from the training data: for in-memory sets with
    `sklearn.model_selection.train_test_split(test_size=validation_split,
    random_state=seed)` on the training arrays (seed 000's 80/20 split: `seed=42`
    reproduces it exactly); for tfds sets as the last `validation_split` of the (already
    shuffled at preparation) train split, `train[n - k:]`, which does not depend on `seed`.

    Args:
        name: `"digits"`, `"cifar10"`, `"cifar100"` or a tensorflow-datasets name.
        data_dir: Where the data lies (see above).
        validation_split: Fraction of the training data held out for validation, in
            [0, 1); 0 gives `validation=None`.
        seed: Random state of the validation carve for in-memory sets.
        download: `None` (default): download CIFAR through Keras when it is absent, never
            tfds sets. `True`: also download and prepare tfds sets (this can take long and
            needs the network). `False`: never download.
        image_size: For folders only: `(height, width)` (or one int for square) the images
            are resized to, needed when their sizes vary.

    Returns:
        A `DatasetSplits`.

    Raises:
        ValueError: Unknown `name` (the message lists the built-in names), bad
            `validation_split` or `seed`; for folders, naming `name`: an empty folder, a
            single class, a file that is not a readable image (named); naming
            `image_size`: images of varying size without it (or `image_size` for a data
            set that is not a folder).
        FileNotFoundError: The data is not where it should be and may not (or could not)
            be downloaded; the message names the missing files, where to put them and,
            for tfds, the `tfds build` command.

    Example:
        >>> splits = load_dataset("digits", validation_split=0.2, seed=0)
        >>> splits.num_examples
        {'train': 1149, 'validation': 288, 'test': 360}
    """
    from regkit.data.folders import is_image_folder, load_folder

    folder = is_image_folder(name)
    if not folder and (not isinstance(name, str) or not name):
        raise invalid(
            "name",
            f"one of {', '.join(map(repr, BUILTIN_DATASETS))}, a tfds name or a folder",
            name,
        )
    validation_split = check_fraction("validation_split", validation_split)
    seed = check_seed("seed", seed)
    if download is not None and not isinstance(download, bool):
        raise invalid("download", "None, True or False", download)
    if data_dir is not None:
        check_path("data_dir", data_dir)
    if folder:
        if not 0 <= seed < 2**32:
            raise invalid("seed", "an int in [0, 2**32) (NumPy's random state)", seed)
        return load_folder(
            name, validation_split=validation_split, seed=seed, image_size=image_size
        )
    if image_size is not None:
        raise invalid(
            "image_size",
            f"None for {name!r}, which is not a folder (image_size is for folders of images; "
            "pass it to image_pipeline to resize)",
            image_size,
        )
    if not 0 <= seed < 2**32:
        raise invalid("seed", "an int in [0, 2**32) (NumPy's random state)", seed)
    key = name.lower().replace("-", "")
    if key == "digits":
        train, test = _digits()
        return _splits_from_arrays("digits", train, test, validation_split, seed)
    if key in CIFAR_SETS:
        from regkit.data.cifar import load_cifar

        train, test = load_cifar(key, data_dir, download)
        return _splits_from_arrays(key, train, test, validation_split, seed)
    from regkit.data.tfds_sets import load_tfds

    return load_tfds(name, data_dir, validation_split, download)


# --------------------------------------------------------------------------------------
# digits


def _digits() -> tuple[ArrayData, ArrayData]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    images = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    labels = bunch.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        images, labels, test_size=0.2, random_state=0, stratify=labels
    )
    names = tuple(str(n) for n in bunch.target_names)
    return (
        from_arrays(x_tr, y_tr, num_classes=10, class_names=names),
        from_arrays(x_te, y_te, num_classes=10, class_names=names),
    )
