"""`LabeledDataset`: a `tf.data.Dataset` of `(image, label)` that says where it came from.

`load_dataset` and `ArrayData.as_dataset` return their splits as `LabeledDataset`s. To a
user they are ordinary tf.data datasets of unbatched `(image, label)` pairs; in addition
they carry, as public attributes, what `image_pipeline` can use: the class count and names
and, for in-memory data, the `ArrayData` itself, so that `image_pipeline(splits.train)`
needs no `num_classes` and gathers whole batches straight from the arrays.

Any tf.data transformation (`map`, `take`, `shuffle`, ...) returns a plain dataset: the
result is no longer the source's data, so it carries nothing. To cap a data set's size
and keep the fast path, use `DatasetSplits.take(limit)` or slice the `ArrayData`.

This module imports TensorFlow; `regkit.data.arrays` and `regkit.data.datasets` import it
only when they build a dataset.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import tensorflow as tf

__all__ = ["ArraysLike", "EncodedImages", "LabeledDataset"]


class ArraysLike(Protocol):
    """What a `LabeledDataset` reads of in-memory data: `regkit.data.ArrayData` is one
    (this module stays below `regkit.data.arrays`, which imports it to make datasets)."""

    @property
    def images(self) -> np.ndarray: ...
    @property
    def labels(self) -> np.ndarray: ...
    @property
    def num_classes(self) -> int: ...
    @property
    def class_names(self) -> tuple[str, ...] | None: ...


@dataclasses.dataclass(frozen=True)
class EncodedImages:
    """Images still encoded (JPEG, PNG, ...), for `image_pipeline` to decode straight to
    its output size.

    Attributes:
        dataset: Unbatched `(encoded bytes, label)` pairs, or `(file path, label)` pairs when
            `paths`; in the same order as the decoded dataset they stand for.
        paths: Whether the first elements are file paths to read (cheaper to shuffle than
            the bytes).
        jpeg: Whether every image is a JPEG (decoded without checking the format).
        channels: Channels to decode to (1 or 3).
        largest: `(height, width)` of the tallest and of the widest image, when known: a
            set none of whose images is twice the output size needs no DCT scaling.
    """

    dataset: tf.data.Dataset
    paths: bool = False
    jpeg: bool = False
    channels: int = 3
    largest: tuple[int, int] | None = None

    def take(self, limit: int) -> EncodedImages:
        """The first `limit` images."""
        return dataclasses.replace(self, dataset=self.dataset.take(limit))

    def as_bytes(self) -> tf.data.Dataset:
        """`(encoded bytes, label)` pairs (files read when `paths`)."""
        if not self.paths:
            return self.dataset
        return self.dataset.map(
            lambda path, label: (tf.io.read_file(path), label),
            num_parallel_calls=tf.data.AUTOTUNE,
        )


class LabeledDataset(tf.data.Dataset):
    """A `tf.data.Dataset` of unbatched `(image, label)` pairs that knows its source.

    It iterates, maps, batches and feeds `model.fit` exactly like the dataset it wraps.

    Args:
        dataset: The tf.data dataset of `(image, label)` pairs to wrap.
        num_classes: Number of classes (`None` when unknown).
        class_names: Optional class names, one per class.
        arrays: The `ArrayData` the dataset was made from, if any.
        encoded: For images stored encoded (JPEG/PNG files, tfds' undecoded bytes): an
            `EncodedImages` in the same order as `dataset`, which `image_pipeline`
            decodes straight to its output size (JPEG with DCT scaling).

    Attributes:
        num_classes: Number of classes, or `None`.
        class_names: Class names, or `None`.
        arrays: The in-memory `ArrayData` behind the dataset, or `None` (streamed data).
        encoded: The `EncodedImages` behind it, or `None`.

    Example:
        >>> import numpy as np
        >>> from regkit.data import from_arrays
        >>> data = from_arrays(np.zeros((4, 32, 32, 3), np.uint8), np.array([0, 1, 2, 1]))
        >>> dataset = data.as_dataset()
        >>> dataset.num_classes, dataset.arrays is data, len(list(dataset))
        (3, True, 4)
    """

    def __init__(
        self,
        dataset: tf.data.Dataset,
        *,
        num_classes: int | None = None,
        class_names: Sequence[str] | None = None,
        arrays: ArraysLike | None = None,
        encoded: EncodedImages | None = None,
    ) -> None:
        if not isinstance(dataset, tf.data.Dataset):
            raise TypeError(
                "Invalid type for argument `dataset`: expected a tf.data.Dataset. "
                f"Received: dataset of type {type(dataset).__name__}"
            )
        self._dataset = dataset
        self.num_classes = num_classes
        self.class_names = None if class_names is None else tuple(class_names)
        self.arrays = arrays
        self.encoded = encoded
        super().__init__(tf.data.experimental.to_variant(dataset))

    @classmethod
    def from_arrays(cls, arrays: ArraysLike) -> LabeledDataset:
        """The dataset of an `ArrayData`'s `(image, int64 label)` pairs, carrying it."""
        dataset = tf.data.Dataset.from_tensor_slices((arrays.images, arrays.labels))
        return cls(
            dataset,
            num_classes=arrays.num_classes,
            class_names=arrays.class_names,
            arrays=arrays,
        )

    def _inputs(self) -> list[tf.data.Dataset]:  # tf.data's protocol: the wrapped dataset
        return [self._dataset]

    @property
    def element_spec(self) -> Any:
        """The wrapped dataset's element spec: `(image spec, label spec)`."""
        return self._dataset.element_spec

    def __repr__(self) -> str:
        kind = "arrays" if self.arrays is not None else "stream"
        kind = "encoded" if self.encoded is not None else kind
        return (
            f"<LabeledDataset {kind} num_classes={self.num_classes} "
            f"element_spec={self.element_spec}>"
        )
