"""`image_pipeline`: resize, scale, augment, label and batch images with tf.data.

The pipeline does as little per example as it can: in-memory arrays are shuffled as
indices and gathered a batch at a time; images that all have one size are batched first
and scaled, resized and augmented as whole batches; only images whose sizes vary are
resized one by one (they cannot be batched before) and RandAugment, whose Keras layer
picks its operations once per call, runs per image. Random parameters are drawn per
image from a stateless seed attached to each batch (`tf.data.Dataset.random`), so the
parallel map is deterministic given `seed` and each epoch still sees new augmentations.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import tensorflow as tf

from regkit.data.augment import Augment, _invalid
from regkit.data.datasets import ArrayData, DatasetSplits, _source_of, from_arrays

__all__ = ["image_pipeline"]

_AUTOTUNE = tf.data.AUTOTUNE
#: Shuffle buffer for streamed data sets (in-memory arrays are shuffled whole).
DEFAULT_SHUFFLE_BUFFER = 10_000


@dataclasses.dataclass
class _Source:
    """What the pipeline needs to know about its input."""

    dataset: tf.data.Dataset | None  # unbatched (image, label); None for the index path
    arrays: ArrayData | None
    num_classes: int | None
    value_range: tuple[float, float]
    height: int | None
    width: int | None
    channels: int | None
    check_labels: bool


def _positive_int(arg: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise _invalid(arg, "a positive int", value)
    return int(value)


def _image_size(value: Any) -> tuple[int, int] | None:
    if value is None:
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        size = _positive_int("image_size", value)
        return size, size
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return _positive_int("image_size", value[0]), _positive_int("image_size", value[1])
    raise _invalid("image_size", "None, a positive int or a (height, width) pair", value)


def _resolve(data: Any, num_classes: int | None) -> _Source:
    """Turns any accepted input into a `_Source`, checking its element structure."""
    if isinstance(data, DatasetSplits):
        raise TypeError(
            "Invalid type for argument `data`: expected one split, e.g. `splits.train`, not "
            "the whole DatasetSplits."
        )
    if isinstance(data, tuple) and len(data) == 2 and not isinstance(data[0], tf.data.Dataset):
        data = from_arrays(*data, num_classes=num_classes)
    if isinstance(data, tf.data.Dataset):
        known = _source_of(data)
        if isinstance(known, ArrayData):
            data = known
        elif isinstance(known, int) and num_classes is None:
            num_classes = known
    if isinstance(data, ArrayData):
        if num_classes is not None and num_classes != data.num_classes:
            raise _invalid(
                "num_classes", f"{data.num_classes} (the data's class count)", num_classes
            )
        height, width, channels = data.image_shape
        return _Source(
            dataset=None,
            arrays=data,
            num_classes=data.num_classes,
            value_range=data.value_range,
            height=height,
            width=width,
            channels=channels,
            check_labels=False,
        )
    if not isinstance(data, tf.data.Dataset):
        raise TypeError(
            "Invalid type for argument `data`: expected a tf.data.Dataset of (image, label), "
            "a DatasetSplits split, the result of from_arrays or an (x, y) tuple of arrays. "
            f"Received: data of type {type(data).__name__}"
        )
    spec = data.element_spec
    if isinstance(spec, dict) and {"image", "label"} <= set(spec):
        data = data.map(lambda e: (e["image"], e["label"]))
        spec = data.element_spec
    if not (isinstance(spec, tuple) and len(spec) == 2):
        raise _invalid("data", "a dataset of (image, label) pairs", f"elements {spec}")
    image_spec, label_spec = spec
    if image_spec.shape.rank == 4:
        raise _invalid(
            "data",
            "an unbatched dataset of single (height, width, channels) images (call .unbatch())",
            f"images of shape {image_spec.shape}",
        )
    if image_spec.shape.rank != 3:
        raise _invalid(
            "data", "images of shape (height, width, channels)", f"shape {image_spec.shape}"
        )
    if not (image_spec.dtype.is_integer or image_spec.dtype.is_floating):
        raise _invalid("data", "uint8 or float images", f"dtype {image_spec.dtype.name}")
    if not label_spec.dtype.is_integer or label_spec.shape.num_elements() != 1:
        raise _invalid(
            "data",
            "integer class labels of shape () or (1,) (not one-hot)",
            f"labels of shape {label_spec.shape} and dtype {label_spec.dtype.name}",
        )
    height, width, channels = image_spec.shape.as_list()
    return _Source(
        dataset=data,
        arrays=None,
        num_classes=num_classes,
        value_range=(0.0, 255.0) if image_spec.dtype.is_integer else (0.0, 1.0),
        height=height,
        width=width,
        channels=channels,
        check_labels=True,
    )


def image_pipeline(
    data: Any,
    *,
    batch_size: int = 32,
    image_size: int | tuple[int, int] | None = None,
    augment: Augment | str | None = None,
    one_hot: bool = False,
    training: bool = True,
    shuffle: bool | int | None = None,
    cache: bool | str = False,
    seed: int | None = None,
    num_classes: int | None = None,
    drop_remainder: bool = False,
) -> tf.data.Dataset:
    """Builds a batched tf.data pipeline of float32 images in [0, 1] and their labels.

    Per batch: scale to [0, 1] (uint8 / 255, float images are taken to be in [0, 1] unless
    they come from `from_arrays` with another `value_range`), resize to `image_size`
    (bilinear), augment (training only, parameters drawn per image), and turn labels into
    int32 class indices or float32 one-hot vectors. Then prefetch.

    Args:
        data: A `tf.data.Dataset` of unbatched `(image, label)` pairs (a `DatasetSplits`
            split, or `{"image", "label"}` dicts), the result of `from_arrays`, or an
            `(x, y)` tuple of arrays.
        batch_size: Images per batch.
        image_size: Output `(height, width)` or one int for square images. Required when
            the images vary in size (tfds sets such as Imagenette).
        augment: An `Augment`, a preset name (`"seed000"`, `"seed001"`) or `None`. Applied
            only when `training`.
        one_hot: Float32 one-hot labels (needed for MixUp / CutMix and categorical
            cross-entropy) instead of int32 class indices.
        training: Training pipeline: augmentation on, shuffled by default. Use `False` for
            validation and test (no augmentation, no shuffling by default).
        shuffle: Shuffle examples (default: `training`); an int sets the buffer size.
            In-memory arrays are shuffled whole; streamed data through a buffer of
            `min(size, 10000)` examples.
        cache: Cache the undecoded examples before shuffling: `True` in memory, a string
            for a file path. Ignored for in-memory arrays.
        seed: Seed for shuffling and augmentation: with a seed, building the pipeline twice
            gives identical batches (each epoch reshuffles and re-augments). `None` draws a
            fresh seed (or follows `tf.random.set_seed`).
        num_classes: Class count; needed for `one_hot` when `data` is a tf.data set not
            made by regkit. Labels outside `[0, num_classes)` raise when iterated.
        drop_remainder: Drop the last, smaller batch.

    Returns:
        A `tf.data.Dataset` of `(images, labels)`: images float32 `(batch, height, width,
        channels)` in [0, 1]; labels int32 `(batch,)` or float32 `(batch, num_classes)`.

    Raises:
        ValueError: Naming the argument: images that vary in size without `image_size`,
            MixUp/CutMix without `one_hot`, `rot90` with a non-square size, a batched or
            malformed dataset, `one_hot` without a known `num_classes`, or a bad value.
        TypeError: `data` of an unsupported type.

    Example:
        >>> from regkit.data import load_dataset
        >>> splits = load_dataset("digits")
        >>> train = image_pipeline(splits.train, batch_size=8, image_size=32,
        ...                        augment=Augment(flip=True, rotation=15), seed=0)
        >>> images, labels = next(iter(train))
        >>> images.shape, labels.dtype
        (TensorShape([8, 32, 32, 1]), tf.int32)
    """
    batch_size = _positive_int("batch_size", batch_size)
    size = _image_size(image_size)
    for name, value in (
        ("one_hot", one_hot),
        ("training", training),
        ("drop_remainder", drop_remainder),
    ):
        if not isinstance(value, bool):
            raise _invalid(name, "a bool", value)
    if num_classes is not None:
        num_classes = _positive_int("num_classes", num_classes)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise _invalid("seed", "None or an int", seed)
    seed = None if seed is None else int(seed)
    if shuffle is None:
        shuffle = training
    if not isinstance(shuffle, (bool, int, np.integer)) or (
        not isinstance(shuffle, bool) and shuffle < 1
    ):
        raise _invalid("shuffle", "None, a bool or a positive buffer size", shuffle)
    if not isinstance(cache, (bool, str)):
        raise _invalid("cache", "a bool or a file path", cache)
    aug = Augment.coerce(augment)  # validated even when unused
    if not training:
        aug = None
    if aug is not None and not aug.active:
        aug = None

    source = _resolve(data, num_classes)
    if one_hot and source.num_classes is None:
        raise _invalid(
            "num_classes",
            "the number of classes when one_hot=True and `data` is a plain tf.data set "
            "(e.g. num_classes=splits.num_classes)",
            None,
        )
    if (source.height is None or source.width is None) and size is None:
        raise _invalid(
            "image_size",
            "an output size because the images in `data` vary in size "
            f"(shape {(source.height, source.width, source.channels)}) and cannot be "
            "batched as they are; pass e.g. image_size=160",
            None,
        )
    out_h, out_w = size if size is not None else (source.height, source.width)
    if aug is not None:
        if aug.mixes_labels and not one_hot:
            raise _invalid(
                "one_hot",
                "True when Augment(mixup=...) or Augment(cutmix=...) is on (mixing needs "
                "one-hot labels)",
                one_hot,
            )
        aug.check_image_shape(out_h, out_w)
        if aug.randaugment and source.channels not in (3, None):
            raise _invalid(
                "augment",
                "RGB images for RandAugment (its colour operations need 3 channels)",
                f"{aug} on images with {source.channels} channel(s)",
            )

    resize_needed = size is not None and (source.height, source.width) != size
    randaugment = aug is not None and aug.randaugment
    per_example = source.height is None or source.width is None or randaugment
    low, high = source.value_range
    num = source.num_classes

    def to_unit(images: tf.Tensor, resize: bool) -> tf.Tensor:
        images = tf.cast(images, tf.float32)
        if resize:
            images = tf.image.resize(images, (out_h, out_w), method="bilinear")
        return (images - low) * (1.0 / (high - low))

    def prep_example(image: tf.Tensor) -> tf.Tensor:
        """Per example, only what must be: resizing (and RandAugment's scaling)."""
        if randaugment:
            return to_unit(image, resize_needed)
        # float32 in the source's value range; scaled to [0, 1] in the batch stage, where
        # it fuses with the augmentation (rounding back to uint8 here measured slower).
        return tf.image.resize(image, (out_h, out_w), method="bilinear")

    # What the batch stage receives: still to resize? in which value range?
    batch_resize = resize_needed and not per_example
    batch_range = (0.0, 1.0) if randaugment else (low, high)

    # 1. Examples: shuffled (as indices for arrays), scaled / resized one by one only when
    #    sizes vary or RandAugment runs, then batched.
    if source.arrays is not None and not per_example:
        arrays = source.arrays
        all_images = tf.convert_to_tensor(arrays.images)
        all_labels = tf.convert_to_tensor(arrays.labels)
        dataset = tf.data.Dataset.range(len(arrays))
        if shuffle:
            buffer = len(arrays) if shuffle is True else int(shuffle)
            dataset = dataset.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
        dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
        dataset = dataset.map(
            lambda idx: (tf.gather(all_images, idx), tf.gather(all_labels, idx)),
            num_parallel_calls=_AUTOTUNE,
        )
    else:
        if source.dataset is not None:
            dataset = source.dataset
        elif source.arrays is not None:
            dataset = source.arrays.as_dataset()
        if cache is not False and source.arrays is None:
            dataset = dataset.cache("" if cache is True else cache)
        if shuffle:
            if shuffle is True:
                known = int(dataset.cardinality())
                buffer = DEFAULT_SHUFFLE_BUFFER if known < 0 else max(1, known)
                buffer = min(buffer, DEFAULT_SHUFFLE_BUFFER)
            else:
                buffer = int(shuffle)
            dataset = dataset.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
        if per_example:
            dataset = dataset.map(
                lambda image, label: (prep_example(image), label), num_parallel_calls=_AUTOTUNE
            )
            if randaugment and aug is not None:
                layer = aug.randaugment_layer(seed)
                # Keras' layer advances a stateful seed: only a sequential map keeps the
                # order of its draws, and so the output, fixed for a given seed.
                dataset = dataset.map(
                    lambda image, label: (
                        tf.clip_by_value(layer(image, training=True), 0.0, 1.0),
                        label,
                    ),
                    num_parallel_calls=None if seed is not None else _AUTOTUNE,
                )
        dataset = dataset.batch(
            batch_size, drop_remainder=drop_remainder, num_parallel_calls=_AUTOTUNE
        )

    # 2. Batches: scale / resize (when not done per example), labels, augmentation.
    batch_aug = (
        aug
        if aug is not None and (aug.geometric or aug.brightness or aug.contrast or aug.mixes_labels)
        else None
    )

    def finish(images: tf.Tensor, labels: tf.Tensor, batch_seed: Any = None) -> Any:
        value_range = batch_range
        if batch_resize or batch_aug is None:
            low_, high_ = batch_range
            images = tf.cast(images, tf.float32)
            if batch_resize:
                images = tf.image.resize(images, (out_h, out_w), method="bilinear")
            if (low_, high_) != (0.0, 1.0):
                images = (images - low_) * (1.0 / (high_ - low_))
            value_range = (0.0, 1.0)
        labels = tf.cast(tf.reshape(labels, [-1]), tf.int32)
        if source.check_labels and num is not None:
            checks = [
                tf.debugging.assert_non_negative(labels, message="labels must be >= 0"),
                tf.debugging.assert_less(
                    labels, num, message=f"labels must be < num_classes={num}"
                ),
            ]
            with tf.control_dependencies(checks):
                labels = tf.identity(labels)
        if one_hot:
            labels = tf.one_hot(labels, num, dtype=tf.float32)
        if batch_aug is not None:
            if batch_aug.mixes_labels:
                images, labels = batch_aug.apply(
                    images, labels, seed=batch_seed, value_range=value_range
                )
            else:
                images = batch_aug.apply(images, seed=batch_seed, value_range=value_range)
        return images, labels

    # The batch stage branches on Python values only, so AutoGraph has nothing to convert;
    # it is kept out because its conversion cache mixed up Augment's methods (a call of
    # `check_image_shape` ran a converted `apply`) under hypothesis' many configurations.
    plain = tf.autograph.experimental.do_not_convert
    if batch_aug is not None:
        seeds = tf.data.Dataset.random(
            seed=None if seed is None else seed + 1, rerandomize_each_iteration=True
        ).batch(2)
        dataset = tf.data.Dataset.zip((dataset, seeds)).map(
            plain(lambda batch, batch_seed: finish(batch[0], batch[1], batch_seed)),
            num_parallel_calls=_AUTOTUNE,
        )
    else:
        dataset = dataset.map(plain(finish), num_parallel_calls=_AUTOTUNE)
    return dataset.prefetch(_AUTOTUNE)
