"""The pipeline's input as a `Source`: arrays, a stream or encoded files, and what is known.

`resolve_source` accepts a `LabeledDataset` (a `DatasetSplits` split), any tf.data set of
`(image, label)`, an `ArrayData` or an `(x, y)` tuple of arrays, checks its element
structure and tells its class count, value range, image shape and size.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import tensorflow as tf

from regkit._checks import check_value_range, invalid
from regkit.data.arrays import ArrayData, from_arrays, looks_channels_first
from regkit.data.labeled import EncodedImages, LabeledDataset
from regkit.data.splits import DatasetSplits

__all__ = ["Source", "resolve_source"]


@dataclasses.dataclass(frozen=True)
class Source:
    """What the pipeline knows about its input.

    Attributes:
        dataset: Unbatched `(image, label)` tf.data set; `None` for in-memory arrays.
        arrays: The in-memory `ArrayData`; `None` for streamed data.
        encoded: For encoded images (JPEG/PNG files, tfds' undecoded bytes): the
            `EncodedImages` behind `dataset`, decoded and resized in one step by the
            pipeline; else `None`.
        num_classes: Class count, if known.
        value_range: `(low, high)` of the pixel values, mapped to [0, 1].
        height, width, channels: Image shape; `None` where it varies or is unknown.
        size: Number of examples, if known.
        check_labels: Whether labels must be checked against `num_classes` when iterated
            (arrays were checked by `from_arrays`).
        check_range: Whether pixels must be checked against `value_range` when iterated (a
            stream whose range was given, not implied by uint8).
    """

    dataset: tf.data.Dataset | None
    arrays: ArrayData | None
    encoded: EncodedImages | None
    num_classes: int | None
    value_range: tuple[float, float]
    height: int | None
    width: int | None
    channels: int | None
    size: int | None
    check_labels: bool
    check_range: bool = False


def resolve_source(
    data: Any, num_classes: int | None, value_range: tuple[float, float] | None = None
) -> Source:
    """Turns any accepted input into a `Source`, checking its element structure.

    Raises:
        ValueError: A batched, channels-first or malformed dataset, a pixel scale that
            cannot be told without `value_range`, or a `num_classes` or `value_range` that
            contradicts the data's.
        TypeError: `data` of an unsupported type.
    """
    if isinstance(data, DatasetSplits):
        raise TypeError(
            "Invalid type for argument `data`: expected one split, e.g. `splits.train`, not "
            "the whole DatasetSplits."
        )
    if isinstance(data, tuple) and len(data) == 2 and not isinstance(data[0], tf.data.Dataset):
        data = _tuple_arrays(data, num_classes, value_range)
    encoded = None
    if isinstance(data, LabeledDataset):
        if data.arrays is not None:
            data = data.arrays
        else:
            encoded = data.encoded
            if num_classes is None:
                num_classes = data.num_classes
    if isinstance(data, ArrayData):
        return _array_source(data, num_classes, value_range)
    if not isinstance(data, tf.data.Dataset):
        raise TypeError(
            "Invalid type for argument `data`: expected a tf.data.Dataset of (image, label), "
            "a DatasetSplits split, the result of from_arrays or an (x, y) tuple of arrays. "
            f"Received: data of type {type(data).__name__}"
        )
    return _stream_source(data, num_classes, value_range, encoded)


def _tuple_arrays(
    data: tuple[Any, Any], num_classes: int | None, value_range: tuple[float, float] | None
) -> ArrayData:
    """`from_arrays(x, y)`; its errors about `x` or `y` also name `data`, which held them."""
    try:
        return from_arrays(*data, num_classes=num_classes, value_range=value_range)
    except (ValueError, TypeError) as error:
        message = str(error)
        if not any(f"`{name}`" in message.split(":")[0] for name in ("x", "y")):
            raise
        raise type(error)(
            f"Invalid value for argument `data` (an (x, y) tuple): {message}"
        ) from None


def _array_source(
    data: ArrayData, num_classes: int | None, value_range: tuple[float, float] | None
) -> Source:
    if num_classes is not None and num_classes != data.num_classes:
        raise invalid("num_classes", f"{data.num_classes} (the data's class count)", num_classes)
    if value_range is not None and value_range != data.value_range:
        raise invalid(
            "value_range",
            f"{data.value_range} (the data's, set by from_arrays; pass value_range to "
            "from_arrays instead)",
            value_range,
        )
    height, width, channels = data.image_shape
    return Source(
        dataset=None,
        arrays=data,
        encoded=None,
        num_classes=data.num_classes,
        value_range=data.value_range,
        height=height,
        width=width,
        channels=channels,
        size=len(data),
        check_labels=False,
    )


def _stream_source(
    data: tf.data.Dataset,
    num_classes: int | None,
    value_range: tuple[float, float] | None,
    encoded: EncodedImages | None,
) -> Source:
    spec = data.element_spec
    if isinstance(spec, dict) and {"image", "label"} <= set(spec):
        data = data.map(lambda e: (e["image"], e["label"]))
        spec = data.element_spec
    if not (isinstance(spec, tuple) and len(spec) == 2):
        raise invalid("data", "a dataset of (image, label) pairs", f"elements {spec}")
    image_spec, label_spec = spec
    if image_spec.shape.rank == 4:
        raise invalid(
            "data",
            "an unbatched dataset of single (height, width, channels) images (call .unbatch())",
            f"images of shape {image_spec.shape}",
        )
    if image_spec.shape.rank != 3:
        raise invalid(
            "data", "images of shape (height, width, channels)", f"shape {image_spec.shape}"
        )
    if looks_channels_first(image_spec.shape.as_list()):
        raise invalid(
            "data",
            "channels-last images (height, width, channels); these look channels-first "
            "(channels, height, width): map them through tf.transpose(image, [1, 2, 0])",
            f"images of shape {image_spec.shape}",
        )
    dtype = image_spec.dtype
    if dtype == tf.bool or not (dtype.is_integer or dtype.is_floating):
        raise invalid("data", "uint8 or float images", f"dtype {dtype.name}")
    if not label_spec.dtype.is_integer or label_spec.shape.num_elements() != 1:
        raise invalid(
            "data",
            "integer class labels of shape () or (1,) (not one-hot)",
            f"labels of shape {label_spec.shape} and dtype {label_spec.dtype.name}",
        )
    if value_range is None:
        if dtype != tf.uint8:
            raise invalid(
                "value_range",
                f"the pixel scale of a tf.data source of {dtype.name} images, which cannot be "
                "known without reading them all: pass value_range=(0, 255) for 0-255 pixels "
                "(e.g. keras.utils.image_dataset_from_directory) or value_range=(0, 1) for "
                "images already in [0, 1]",
                None,
            )
        value_range = (0.0, 255.0)
    value_range = check_value_range("value_range", value_range)
    height, width, channels = image_spec.shape.as_list()
    known = int(data.cardinality())
    return Source(
        dataset=data,
        arrays=None,
        encoded=encoded,
        num_classes=num_classes,
        value_range=value_range,
        height=height,
        width=width,
        channels=channels,
        size=known if known >= 0 else None,
        check_labels=True,
        check_range=not (dtype == tf.uint8 and value_range[0] <= 0 and value_range[1] >= 255),
    )
