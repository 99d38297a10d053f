"""`image_pipeline`: resize, scale, augment, label and batch images with tf.data.

The pipeline does as little per example as it can: in-memory arrays are shuffled as
indices and gathered a batch at a time; images that all have one size are batched first
and scaled, resized and augmented as whole batches; only images whose sizes vary are
resized one by one (they cannot be batched before) and RandAugment, whose Keras layer
picks its operations once per call, runs per image. Random parameters are drawn per
image from a stateless seed attached to each batch (`tf.data.Dataset.random`), so the
parallel map is deterministic given `seed` and each epoch still sees new augmentations.

`image_pipeline` is composed of named stages, each a small function of the one before:

1. `check_options`: every argument, checked and normalised into `PipelineOptions`;
2. `resolve_source`: the input (a `LabeledDataset`, any tf.data set, an `ArrayData` or an
   `(x, y)` tuple) as a `Source`: arrays or a stream, class count, value range, shape;
3. `plan_stages`: what must happen where (`StagePlan`), checking that the options fit the
   data (sizes that vary need `image_size`, MixUp needs one-hot labels, ...);
4. `example_stage`: shuffling, the per-example work that cannot wait (resizing images of
   varying size, RandAugment), and batching;
5. `batch_stage`: scaling and resizing whole batches, labels (checked, one-hot),
   augmentation and mixing.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import tensorflow as tf

from regkit._checks import (
    check_count,
    check_flag,
    check_image_size,
    check_optional_seed,
    invalid,
)
from regkit.data.augment import Augment
from regkit.data.datasets import ArrayData, DatasetSplits, from_arrays
from regkit.data.sources import LabeledDataset

__all__ = [
    "DEFAULT_SHUFFLE_BUFFER",
    "PipelineOptions",
    "Source",
    "StagePlan",
    "batch_stage",
    "check_options",
    "example_stage",
    "image_pipeline",
    "plan_stages",
    "resolve_source",
]

_AUTOTUNE = tf.data.AUTOTUNE
#: Shuffle buffer for streamed data sets (in-memory arrays are shuffled whole).
DEFAULT_SHUFFLE_BUFFER = 10_000


# --------------------------------------------------------------------------------------
# 1. Arguments.


@dataclasses.dataclass(frozen=True)
class PipelineOptions:
    """`image_pipeline`'s arguments, checked (see there for their meaning).

    `augment` is `None` when nothing is to be applied (not training, or an inactive
    `Augment`); `shuffle` is a bool or a buffer size, never `None`.
    """

    batch_size: int
    image_size: tuple[int, int] | None
    augment: Augment | None
    one_hot: bool
    training: bool
    shuffle: bool | int
    cache: bool | str
    seed: int | None
    num_classes: int | None
    drop_remainder: bool


def check_options(
    *,
    batch_size: Any,
    image_size: Any,
    augment: Any,
    one_hot: Any,
    training: Any,
    shuffle: Any,
    cache: Any,
    seed: Any,
    num_classes: Any,
    drop_remainder: Any,
) -> PipelineOptions:
    """Checks `image_pipeline`'s arguments (not yet against the data).

    Raises:
        ValueError: Naming the first bad argument.
        TypeError: `augment` of an unsupported type.
    """
    batch_size = check_count("batch_size", batch_size)
    size = check_image_size("image_size", image_size)
    one_hot = check_flag("one_hot", one_hot)
    training = check_flag("training", training)
    drop_remainder = check_flag("drop_remainder", drop_remainder)
    if num_classes is not None:
        num_classes = check_count("num_classes", num_classes)
    seed = check_optional_seed("seed", seed)
    if shuffle is None:
        shuffle = training
    if not isinstance(shuffle, bool):
        try:
            shuffle = check_count("shuffle", shuffle)
        except ValueError:
            raise invalid("shuffle", "None, a bool or a positive buffer size", shuffle) from None
    if not isinstance(cache, (bool, str)):
        raise invalid("cache", "a bool or a file path", cache)
    aug = Augment.coerce(augment)  # validated even when unused
    if not training or (aug is not None and not aug.active):
        aug = None
    return PipelineOptions(
        batch_size=batch_size,
        image_size=size,
        augment=aug,
        one_hot=one_hot,
        training=training,
        shuffle=shuffle,
        cache=cache,
        seed=seed,
        num_classes=num_classes,
        drop_remainder=drop_remainder,
    )


# --------------------------------------------------------------------------------------
# 2. The input.


@dataclasses.dataclass(frozen=True)
class Source:
    """What the pipeline knows about its input.

    Attributes:
        dataset: Unbatched `(image, label)` tf.data set; `None` for in-memory arrays.
        arrays: The in-memory `ArrayData`; `None` for streamed data.
        num_classes: Class count, if known.
        value_range: `(low, high)` of the pixel values, mapped to [0, 1].
        height, width, channels: Image shape; `None` where it varies or is unknown.
        check_labels: Whether labels must be checked against `num_classes` when iterated
            (arrays were checked by `from_arrays`).
    """

    dataset: tf.data.Dataset | None
    arrays: ArrayData | None
    num_classes: int | None
    value_range: tuple[float, float]
    height: int | None
    width: int | None
    channels: int | None
    check_labels: bool


def resolve_source(data: Any, num_classes: int | None) -> Source:
    """Turns any accepted input into a `Source`, checking its element structure.

    Raises:
        ValueError: A batched or malformed dataset, or a `num_classes` that contradicts
            the data's.
        TypeError: `data` of an unsupported type.
    """
    if isinstance(data, DatasetSplits):
        raise TypeError(
            "Invalid type for argument `data`: expected one split, e.g. `splits.train`, not "
            "the whole DatasetSplits."
        )
    if isinstance(data, tuple) and len(data) == 2 and not isinstance(data[0], tf.data.Dataset):
        data = from_arrays(*data, num_classes=num_classes)
    if isinstance(data, LabeledDataset):
        if data.arrays is not None:
            data = data.arrays
        elif num_classes is None:
            num_classes = data.num_classes
    if isinstance(data, ArrayData):
        return _array_source(data, num_classes)
    if not isinstance(data, tf.data.Dataset):
        raise TypeError(
            "Invalid type for argument `data`: expected a tf.data.Dataset of (image, label), "
            "a DatasetSplits split, the result of from_arrays or an (x, y) tuple of arrays. "
            f"Received: data of type {type(data).__name__}"
        )
    return _stream_source(data, num_classes)


def _array_source(data: ArrayData, num_classes: int | None) -> Source:
    if num_classes is not None and num_classes != data.num_classes:
        raise invalid("num_classes", f"{data.num_classes} (the data's class count)", num_classes)
    height, width, channels = data.image_shape
    return Source(
        dataset=None,
        arrays=data,
        num_classes=data.num_classes,
        value_range=data.value_range,
        height=height,
        width=width,
        channels=channels,
        check_labels=False,
    )


def _stream_source(data: tf.data.Dataset, num_classes: int | None) -> Source:
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
    if not (image_spec.dtype.is_integer or image_spec.dtype.is_floating):
        raise invalid("data", "uint8 or float images", f"dtype {image_spec.dtype.name}")
    if not label_spec.dtype.is_integer or label_spec.shape.num_elements() != 1:
        raise invalid(
            "data",
            "integer class labels of shape () or (1,) (not one-hot)",
            f"labels of shape {label_spec.shape} and dtype {label_spec.dtype.name}",
        )
    height, width, channels = image_spec.shape.as_list()
    return Source(
        dataset=data,
        arrays=None,
        num_classes=num_classes,
        value_range=(0.0, 255.0) if image_spec.dtype.is_integer else (0.0, 1.0),
        height=height,
        width=width,
        channels=channels,
        check_labels=True,
    )


# --------------------------------------------------------------------------------------
# 3. The plan: what happens per example and what per batch.


@dataclasses.dataclass(frozen=True)
class StagePlan:
    """Where each step runs.

    Attributes:
        height, width: Output image size.
        resize: Whether images must be resized at all.
        per_example: Whether examples are prepared one by one before batching (sizes vary,
            or RandAugment runs); otherwise everything happens on whole batches.
        randaugment: Whether Keras' RandAugment runs (per example, scaling to [0, 1] first).
        batch_resize: Whether the batch stage resizes.
        batch_range: Value range of the images the batch stage receives.
        batch_augment: The `Augment` the batch stage applies, if any.
    """

    height: int
    width: int
    resize: bool
    per_example: bool
    randaugment: bool
    batch_resize: bool
    batch_range: tuple[float, float]
    batch_augment: Augment | None


def plan_stages(source: Source, options: PipelineOptions) -> StagePlan:
    """Checks the options against the data and decides what each stage does.

    Raises:
        ValueError: `one_hot` without a known class count, images of varying size without
            `image_size`, MixUp/CutMix without `one_hot`, `rot90` on non-square output,
            RandAugment on images that are not RGB.
    """
    aug = options.augment
    if options.one_hot and source.num_classes is None:
        raise invalid(
            "num_classes",
            "the number of classes when one_hot=True and `data` is a plain tf.data set "
            "(e.g. num_classes=splits.num_classes)",
            None,
        )
    size = options.image_size
    if source.height is None or source.width is None:
        if size is None:
            raise invalid(
                "image_size",
                "an output size because the images in `data` vary in size "
                f"(shape {(source.height, source.width, source.channels)}) and cannot be "
                "batched as they are; pass e.g. image_size=160",
                None,
            )
        height, width = size
    else:
        height, width = size if size is not None else (source.height, source.width)
    if aug is not None:
        if aug.mixes_labels and not options.one_hot:
            raise invalid(
                "one_hot",
                "True when Augment(mixup=...) or Augment(cutmix=...) is on (mixing needs "
                "one-hot labels)",
                options.one_hot,
            )
        aug.check_image_shape(height, width)
        if aug.randaugment and source.channels not in (3, None):
            raise invalid(
                "augment",
                "RGB images for RandAugment (its colour operations need 3 channels)",
                f"{aug} on images with {source.channels} channel(s)",
            )
    resize = size is not None and (source.height, source.width) != size
    randaugment = aug is not None and aug.randaugment
    per_example = source.height is None or source.width is None or randaugment
    batch_augment = (
        aug
        if aug is not None and (aug.geometric or aug.brightness or aug.contrast or aug.mixes_labels)
        else None
    )
    return StagePlan(
        height=height,
        width=width,
        resize=resize,
        per_example=per_example,
        randaugment=randaugment,
        batch_resize=resize and not per_example,
        batch_range=(0.0, 1.0) if randaugment else source.value_range,
        batch_augment=batch_augment,
    )


# --------------------------------------------------------------------------------------
# 4. Examples: shuffled (as indices for arrays), prepared one by one only when they must
#    be, then batched.


def example_stage(source: Source, options: PipelineOptions, plan: StagePlan) -> tf.data.Dataset:
    """Batches of `(images, labels)` in the source's value range (or [0, 1] after
    RandAugment), resized when sizes vary; shuffled when `options.shuffle`."""
    if source.arrays is not None and not plan.per_example:
        return _array_batches(source.arrays, options)
    dataset = source.dataset if source.dataset is not None else _as_dataset(source)
    if options.cache is not False and source.arrays is None:
        dataset = dataset.cache("" if options.cache is True else options.cache)
    if options.shuffle:
        dataset = dataset.shuffle(
            _stream_buffer(dataset, options.shuffle),
            seed=options.seed,
            reshuffle_each_iteration=True,
        )
    if plan.per_example:
        dataset = _prepare_examples(dataset, source, options, plan)
    return dataset.batch(
        options.batch_size, drop_remainder=options.drop_remainder, num_parallel_calls=_AUTOTUNE
    )


def _as_dataset(source: Source) -> tf.data.Dataset:
    if source.arrays is None:  # pragma: no cover - a Source has one or the other
        raise invalid("data", "arrays or a dataset", None)
    return source.arrays.as_dataset()


def _array_batches(arrays: ArrayData, options: PipelineOptions) -> tf.data.Dataset:
    """Indices shuffled whole, batched, then one gather per batch from the arrays."""
    all_images = tf.convert_to_tensor(arrays.images)
    all_labels = tf.convert_to_tensor(arrays.labels)
    dataset = tf.data.Dataset.range(len(arrays))
    if options.shuffle:
        buffer = len(arrays) if options.shuffle is True else int(options.shuffle)
        dataset = dataset.shuffle(buffer, seed=options.seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(options.batch_size, drop_remainder=options.drop_remainder)
    return dataset.map(
        lambda idx: (tf.gather(all_images, idx), tf.gather(all_labels, idx)),
        num_parallel_calls=_AUTOTUNE,
    )


def _stream_buffer(dataset: tf.data.Dataset, shuffle: bool | int) -> int:
    """The shuffle buffer of a streamed data set: its size up to 10,000 by default."""
    if shuffle is not True:
        return int(shuffle)
    known = int(dataset.cardinality())
    buffer = DEFAULT_SHUFFLE_BUFFER if known < 0 else max(1, known)
    return min(buffer, DEFAULT_SHUFFLE_BUFFER)


def _prepare_examples(
    dataset: tf.data.Dataset, source: Source, options: PipelineOptions, plan: StagePlan
) -> tf.data.Dataset:
    """Resizes one by one (sizes vary) and runs RandAugment per image."""
    low, high = source.value_range
    size = (plan.height, plan.width)

    def prepare(image: tf.Tensor) -> tf.Tensor:
        if plan.randaugment:  # RandAugment works on [0, 1]
            image = tf.cast(image, tf.float32)
            if plan.resize:
                image = tf.image.resize(image, size, method="bilinear")
            return (image - low) * (1.0 / (high - low))
        # float32 in the source's value range; scaled to [0, 1] in the batch stage, where
        # it fuses with the augmentation (rounding back to uint8 here measured slower).
        return tf.image.resize(image, size, method="bilinear")

    dataset = dataset.map(
        lambda image, label: (prepare(image), label), num_parallel_calls=_AUTOTUNE
    )
    if plan.randaugment and options.augment is not None:
        layer = options.augment.randaugment_layer(options.seed)
        # Keras' layer advances a stateful seed: only a sequential map keeps the order of
        # its draws, and so the output, fixed for a given seed.
        dataset = dataset.map(
            lambda image, label: (tf.clip_by_value(layer(image, training=True), 0.0, 1.0), label),
            num_parallel_calls=None if options.seed is not None else _AUTOTUNE,
        )
    return dataset


# --------------------------------------------------------------------------------------
# 5. Batches: scale / resize (when not done per example), labels, augmentation.


class BatchFinisher:
    """The batch stage's map function: `(images, labels[, seed]) -> (images, labels)`.

    Scales to [0, 1] and resizes (unless the augmentation does it, fused), turns labels
    into checked int32 indices or float32 one-hot vectors, then augments and mixes with
    the batch's stateless seed.
    """

    def __init__(self, source: Source, options: PipelineOptions, plan: StagePlan) -> None:
        self.plan = plan
        self.one_hot = options.one_hot
        self.num_classes = source.num_classes
        self.check_labels = source.check_labels and source.num_classes is not None

    def images(self, images: tf.Tensor) -> tuple[tf.Tensor, tuple[float, float]]:
        """Scaled and resized now unless the augmentation will do it; and their range."""
        plan = self.plan
        if not (plan.batch_resize or plan.batch_augment is None):
            return images, plan.batch_range  # the augmentation scales, fused
        images = tf.cast(images, tf.float32)
        if plan.batch_resize:
            images = tf.image.resize(images, (plan.height, plan.width), method="bilinear")
        low, high = plan.batch_range
        if (low, high) != (0.0, 1.0):
            images = (images - low) * (1.0 / (high - low))
        return images, (0.0, 1.0)

    def labels(self, labels: tf.Tensor) -> tf.Tensor:
        """int32 class indices (checked against the class count when streamed), or
        float32 one-hot vectors."""
        labels = tf.cast(tf.reshape(labels, [-1]), tf.int32)
        num = self.num_classes
        if self.check_labels and num is not None:
            checks = [
                tf.debugging.assert_non_negative(labels, message="labels must be >= 0"),
                tf.debugging.assert_less(
                    labels, num, message=f"labels must be < num_classes={num}"
                ),
            ]
            with tf.control_dependencies(checks):
                labels = tf.identity(labels)
        if self.one_hot:
            labels = tf.one_hot(labels, num, dtype=tf.float32)
        return labels

    def __call__(self, images: tf.Tensor, labels: tf.Tensor, batch_seed: Any = None) -> Any:
        images, value_range = self.images(images)
        labels = self.labels(labels)
        aug = self.plan.batch_augment
        if aug is None:
            return images, labels
        if aug.mixes_labels:
            return aug.apply(images, labels, seed=batch_seed, value_range=value_range)
        return aug.apply(images, seed=batch_seed, value_range=value_range), labels


def batch_stage(
    dataset: tf.data.Dataset, source: Source, options: PipelineOptions, plan: StagePlan
) -> tf.data.Dataset:
    """Maps `BatchFinisher` over the batches, zipped with a stream of stateless seeds when
    the batches are augmented (so each epoch re-augments, reproducibly under a seed)."""
    finish = BatchFinisher(source, options, plan)
    # The batch stage branches on Python values only, so AutoGraph has nothing to convert;
    # it is kept out because its conversion cache mixed up Augment's methods (a call of
    # `check_image_shape` ran a converted `apply`) under hypothesis' many configurations.
    plain = tf.autograph.experimental.do_not_convert
    if plan.batch_augment is None:
        return dataset.map(plain(finish), num_parallel_calls=_AUTOTUNE)
    seed = options.seed
    seeds = tf.data.Dataset.random(
        seed=None if seed is None else seed + 1, rerandomize_each_iteration=True
    ).batch(2)
    return tf.data.Dataset.zip((dataset, seeds)).map(
        plain(lambda batch, batch_seed: finish(batch[0], batch[1], batch_seed)),
        num_parallel_calls=_AUTOTUNE,
    )


# --------------------------------------------------------------------------------------
# The pipeline.


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
            `(x, y)` tuple of arrays. A `DatasetSplits` split (a `LabeledDataset`) brings
            its class count, and in-memory ones their arrays (gathered a batch at a time).
        batch_size: Images per batch.
        image_size: Output `(height, width)` or one int for square images. Required when
            the images vary in size (tfds sets such as Imagenette).
        augment: An `Augment`, a recipe name (see `regkit.data.augment.AUGMENT_PRESETS`:
            e.g. `"flip-rotate-shift"`, `"flip-rot90-color"`, or the seeds' names
            `"seed000"`, `"seed001"`) or `None`. Applied only when `training`.
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
    options = check_options(
        batch_size=batch_size,
        image_size=image_size,
        augment=augment,
        one_hot=one_hot,
        training=training,
        shuffle=shuffle,
        cache=cache,
        seed=seed,
        num_classes=num_classes,
        drop_remainder=drop_remainder,
    )
    source = resolve_source(data, options.num_classes)
    plan = plan_stages(source, options)
    dataset = example_stage(source, options, plan)
    dataset = batch_stage(dataset, source, options, plan)
    return dataset.prefetch(_AUTOTUNE)
