"""`DatasetSplits`: a data set's train / validation / test splits, and how they are carved.

Every loader of `regkit.data.datasets` returns one. In-memory sets are carved here
(`carve_splits`: validation from train with scikit-learn's `train_test_split`, as seed 000
does). TensorFlow and scikit-learn are imported only inside the functions that need them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from regkit._checks import check_count
from regkit.data.arrays import ArrayData

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    import tensorflow as tf

__all__ = ["SPLIT_KEYS", "DatasetSplits", "carve_splits"]

#: The split names of a `DatasetSplits`, in order.
SPLIT_KEYS = ("train", "validation", "test")


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
            >>> from regkit.data import load_dataset
            >>> small = load_dataset("digits").take(64)
            >>> small.num_examples
            {'train': 64, 'validation': 64, 'test': 64}
        """
        # Imported here: regkit.data.sources imports TensorFlow, which only splits need.
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
    exactly as seed 000 does (`train_test_split(test_size=validation_split,
    random_state=seed)`); arguments already checked."""
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
