"""The stages `image_pipeline` is composed of, after its argument checks.

1. `resolve_source`: the input (a `LabeledDataset`, any tf.data set, an `ArrayData` or an
   `(x, y)` tuple) as a `Source`: arrays, a stream or encoded files; class count, value
   range, shape and size;
2. `plan_stages`: what must happen where (`StagePlan`), checking that the options fit the
   data (sizes that vary need `image_size`, MixUp needs one-hot labels, ...);
3. `example_stage`: shuffling, the per-example work that cannot wait (decoding encoded
   images, resizing images of varying size, RandAugment), and batching;
4. `batch_stage` (in `regkit.data.batching`): scaling and resizing whole batches, labels
   (checked, one-hot), augmentation and mixing, and the model's input range.

`build_passes` runs stages 3 and 4 once per pass when the pipeline follows an epoch
variable, so that each pass's shuffle order and augmentation are a function of
(seed, epoch) rather than of the passes before.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np
import tensorflow as tf

from regkit._checks import check_value_range, invalid
from regkit.data.augment import Augment
from regkit.data.batching import BatchFinisher, batch_stage
from regkit.data.datasets import ArrayData, DatasetSplits, from_arrays, looks_channels_first
from regkit.data.decode import decode_resized, decode_scaled
from regkit.data.sources import EncodedImages, LabeledDataset

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from regkit.data.pipeline import PipelineOptions

__all__ = [
    "CANVAS_BUCKET",
    "DEFAULT_SHUFFLE_BUFFER",
    "MAX_CANVAS_BYTES",
    "MAX_STREAM_SHUFFLE_BUFFER",
    "BatchFinisher",
    "Source",
    "StagePlan",
    "batch_stage",
    "build_passes",
    "example_stage",
    "plan_stages",
    "resolve_source",
]

_AUTOTUNE = tf.data.AUTOTUNE
#: Shuffle buffer for streamed data sets (in-memory arrays are shuffled whole).
DEFAULT_SHUFFLE_BUFFER = 10_000
#: Largest shuffle buffer accepted for a stream of unknown size (a buffer is allocated
#: up front: 2**40 slots crashed the process).
MAX_STREAM_SHUFFLE_BUFFER = 2**22


# --------------------------------------------------------------------------------------
# 1. The input.


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


# --------------------------------------------------------------------------------------
# 2. The plan: what happens per example and what per batch.


@dataclasses.dataclass(frozen=True)
class StagePlan:
    """Where each step runs.

    Attributes:
        height, width: Output image size.
        resize: Whether images must be resized at all.
        per_example: Whether examples are prepared one by one before batching (sizes vary,
            encoded images, or RandAugment); otherwise everything happens on whole batches.
        decode: Whether encoded images are decoded (and resized) per example.
        randaugment: Whether Keras' RandAugment runs (per example, scaling to [0, 1] first).
        batch_resize: Whether the batch stage resizes.
        batch_range: Value range of the images the batch stage receives.
        batch_augment: The `Augment` the batch stage applies, if any.
        output_range: The range images come out in: (0, 1), or the model's input range.
        shuffle_buffer: Shuffle buffer size (0: no shuffling).
        canvas: For encoded images whose largest size is known: the `(height, width)`
            canvas each batch is padded to after decoding, so that resizing (with the
            augmentation's geometry) runs on whole batches in one resampling pass; else
            `None` (each image is resized as it is decoded).
        bucket: For a stream of images of varying size: each batch is padded to its
            largest image, rounded up to a multiple of `bucket` pixels (so that the
            compiled resampling sees few distinct shapes), and resized whole in one pass;
            0 when images are resized one by one.
    """

    height: int
    width: int
    resize: bool
    per_example: bool
    decode: bool
    randaugment: bool
    batch_resize: bool
    batch_range: tuple[float, float]
    batch_augment: Augment | None
    output_range: tuple[float, float]
    shuffle_buffer: int
    canvas: tuple[int, int] | None = None
    bucket: int = 0

    @property
    def padded(self) -> bool:
        """Whether batches come as `(padded images, sizes, labels)`."""
        return self.canvas is not None or self.bucket > 0


def plan_stages(source: Source, options: PipelineOptions) -> StagePlan:
    """Checks the options against the data and decides what each stage does.

    Raises:
        ValueError: `one_hot` without a known class count, images of varying size without
            `image_size`, MixUp/CutMix without `one_hot`, `rot90` on non-square output,
            RandAugment on images that are not RGB, a `model` whose input does not fit the
            images, a shuffle buffer too large for a stream of unknown size.
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
    _check_model_input(options, height, width, source.channels)
    _check_batch_memory(options, source, height, width)
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
    decode = source.encoded is not None and source.channels == source.encoded.channels
    randaugment = aug is not None and aug.randaugment
    per_example = source.height is None or source.width is None or randaugment or decode
    batch_augment = (
        aug
        if aug is not None and (aug.geometric or aug.brightness or aug.contrast or aug.mixes_labels)
        else None
    )
    canvas = None
    encoded = source.encoded
    if decode and encoded is not None and encoded.largest is not None and not randaugment:
        batch = min(options.batch_size, source.size or options.batch_size)
        if batch * encoded.largest[0] * encoded.largest[1] * encoded.channels <= MAX_CANVAS_BYTES:
            canvas = encoded.largest
    bucket = 0
    if (
        source.dataset is not None
        and source.encoded is None
        and (source.height is None or source.width is None)
        and not randaugment
        and not source.check_range
    ):
        bucket = CANVAS_BUCKET
    return StagePlan(
        canvas=canvas,
        bucket=bucket,
        height=height,
        width=width,
        resize=resize,
        per_example=per_example,
        decode=decode,
        randaugment=randaugment,
        batch_resize=resize and not per_example,
        batch_range=(0.0, 1.0) if randaugment else source.value_range,
        batch_augment=batch_augment,
        output_range=options.output_range,
        shuffle_buffer=_shuffle_buffer(source, options.shuffle),
    )


def _check_model_input(
    options: PipelineOptions, height: int, width: int, channels: int | None
) -> None:
    shape = options.model_input_shape
    if shape is None or len(shape) != 4:
        return
    _, model_h, model_w, model_c = shape
    if (model_h is not None and model_h != height) or (model_w is not None and model_w != width):
        raise invalid(
            "image_size",
            f"the model's input size ({model_h}, {model_w}) when `model` is given (pass "
            f"image_size=({model_h}, {model_w}))",
            (height, width),
        )
    if model_c is not None and channels is not None and model_c != channels:
        raise invalid(
            "model",
            f"a model taking images with the data's {channels} channel(s)",
            f"a model with input shape {tuple(shape)}",
        )


#: Largest batch of float32 images accepted (bytes): beyond any machine's memory.
MAX_BATCH_BYTES = 2**36
#: Largest padded batch of decoded uint8 images resized as a whole (bytes).
MAX_CANVAS_BYTES = 2**28
#: Streams of images of varying size are padded per batch to a multiple of this.
CANVAS_BUCKET = 64


def _check_batch_memory(options: PipelineOptions, source: Source, height: int, width: int) -> None:
    image = height * width * (source.channels or 3) * 4
    if image > MAX_BATCH_BYTES:
        raise invalid(
            "image_size",
            f"images that fit in memory ({height}x{width} float32 images take "
            f"{image / 2**30:,.0f} GiB each)",
            options.image_size,
        )
    batch = min(options.batch_size, source.size or options.batch_size)
    if batch * image > MAX_BATCH_BYTES:
        raise invalid(
            "batch_size",
            f"a batch that fits in memory ({batch} images of {height}x{width} take "
            f"{batch * image / 2**30:,.0f} GiB)",
            options.batch_size,
        )


def _shuffle_buffer(source: Source, shuffle: bool | int) -> int:
    """The buffer: the whole data set for arrays, else its size up to 10,000 by default; a
    requested size is capped at the data set's size where known."""
    if shuffle is False:
        return 0
    if shuffle is True:
        if source.arrays is not None and source.size is not None:
            return max(1, source.size)
        return max(1, min(source.size or DEFAULT_SHUFFLE_BUFFER, DEFAULT_SHUFFLE_BUFFER))
    if source.size is not None:
        return max(1, min(int(shuffle), source.size))
    if shuffle > MAX_STREAM_SHUFFLE_BUFFER:
        raise invalid(
            "shuffle",
            f"a buffer of at most {MAX_STREAM_SHUFFLE_BUFFER:,} examples for a data set of "
            "unknown size (the buffer is allocated up front)",
            shuffle,
        )
    return int(shuffle)


# --------------------------------------------------------------------------------------
# 3. Examples: shuffled (as indices for arrays), prepared one by one only when they must
#    be, then batched.


def cache_stage(source: Source, options: PipelineOptions) -> Source:
    """The stream (or its encoded bytes) cached, when asked (arrays need no cache)."""
    if options.cache is False or source.arrays is not None:
        return source
    filename = "" if options.cache is True else options.cache
    if source.encoded is not None:  # the files' bytes, read once
        encoded = dataclasses.replace(
            source.encoded, dataset=source.encoded.as_bytes().cache(filename), paths=False
        )
        return dataclasses.replace(source, encoded=encoded)
    if source.dataset is None:  # pragma: no cover - a Source has one or the other
        return source
    return dataclasses.replace(source, dataset=source.dataset.cache(filename))


def example_stage(
    source: Source, options: PipelineOptions, plan: StagePlan, pass_seed: Any = None
) -> tf.data.Dataset:
    """Batches of `(images, labels)` in the source's value range (or [0, 1] after
    RandAugment), decoded and resized when they must be; shuffled when asked.

    `pass_seed` (a stateless seed tensor) makes the shuffle order a function of it alone.
    """
    if source.arrays is not None and not plan.per_example:
        return _array_batches(source.arrays, options, plan, pass_seed)
    if plan.canvas is not None and source.encoded is not None:
        return _canvas_batches(source.encoded, options, plan, pass_seed)
    if plan.bucket and source.dataset is not None:
        return _bucketed_batches(source.dataset, options, plan, pass_seed)
    if plan.decode and source.encoded is not None:
        dataset = source.encoded.dataset
    elif source.dataset is not None:
        dataset = source.dataset
    elif source.arrays is not None:
        dataset = source.arrays.as_dataset()
    else:  # pragma: no cover - a Source has one or the other
        raise invalid("data", "arrays or a dataset", None)
    dataset = _shuffle(dataset, plan.shuffle_buffer, options.seed, pass_seed)
    if plan.per_example:
        dataset = _prepare_examples(dataset, source, options, plan)
    return dataset.batch(
        options.batch_size, drop_remainder=options.drop_remainder, num_parallel_calls=_AUTOTUNE
    )


def _canvas_batches(
    encoded: EncodedImages, options: PipelineOptions, plan: StagePlan, pass_seed: Any
) -> tf.data.Dataset:
    """`(images, sizes, labels)` batches: each file decoded (a JPEG DCT-scaled down where it
    is at least twice the output size), padded into the plan's canvas, with its size."""
    size = (plan.height, plan.width)
    dataset = _shuffle(encoded.dataset, plan.shuffle_buffer, options.seed, pass_seed)

    def decode(data: tf.Tensor, label: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        if encoded.paths:
            data = tf.io.read_file(data)
        image = decode_scaled(
            data, size, encoded.channels, jpeg_only=encoded.jpeg, largest=encoded.largest
        )
        return image, tf.shape(image)[:2], label

    dataset = dataset.map(decode, num_parallel_calls=_AUTOTUNE)
    canvas = plan.canvas or size
    label_shape = encoded.dataset.element_spec[1].shape
    return dataset.padded_batch(
        options.batch_size,
        padded_shapes=([canvas[0], canvas[1], encoded.channels], [2], label_shape),
        drop_remainder=options.drop_remainder,
    )


def _bucketed_batches(
    stream: tf.data.Dataset, options: PipelineOptions, plan: StagePlan, pass_seed: Any
) -> tf.data.Dataset:
    """`(images, sizes, labels)` batches of a stream of images of varying size: each batch
    padded to its largest image, rounded up to a multiple of `plan.bucket`.

    An image more than twice the output size on a side is first resized, alone, to twice
    the output size on that side, so that a batch's canvas stays small whatever the images.
    """
    dataset = _shuffle(stream, plan.shuffle_buffer, options.seed, pass_seed)
    image_spec, label_spec = stream.element_spec
    limit = tf.constant([2 * plan.height, 2 * plan.width])

    def bounded(image: tf.Tensor, label: tf.Tensor) -> Any:
        shape = tf.shape(image)[:2]
        target = tf.minimum(shape, limit)

        def shrink() -> tf.Tensor:
            smaller = tf.image.resize(image, target, method="bilinear")
            if image.dtype.is_integer:
                smaller = tf.round(smaller)
            return tf.cast(smaller, image.dtype)

        image = tf.cond(tf.reduce_any(shape > limit), shrink, lambda: image)
        return image, tf.shape(image)[:2], label

    dataset = dataset.map(bounded, num_parallel_calls=_AUTOTUNE)
    dataset = dataset.padded_batch(
        options.batch_size,
        padded_shapes=(image_spec.shape, [2], label_spec.shape),
        drop_remainder=options.drop_remainder,
    )
    static = image_spec.shape.as_list()
    step = plan.bucket

    def round_up(images: tf.Tensor, sizes: tf.Tensor, labels: tf.Tensor) -> Any:
        shape = tf.shape(images)
        pads = [[0, 0]]
        for axis in (1, 2):  # a side that varies: rounded up to the bucket
            pads.append([0, 0] if static[axis - 1] is not None else [0, (-shape[axis]) % step])
        return tf.pad(images, [*pads, [0, 0]]), sizes, labels

    return dataset.map(round_up, num_parallel_calls=_AUTOTUNE)


def _shuffle(
    dataset: tf.data.Dataset, buffer: int, seed: int | None, pass_seed: Any
) -> tf.data.Dataset:
    if not buffer:
        return dataset
    if pass_seed is None:
        return dataset.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
    return seeded_shuffle(dataset, buffer, pass_seed)


def seeded_shuffle(dataset: tf.data.Dataset, buffer: int, seed: tf.Tensor) -> tf.data.Dataset:
    """`dataset.shuffle(buffer)` with its two seeds taken from the stateless seed tensor
    `seed` (shape (2,)): one fixed order per seed, independent of the global seed.

    `Dataset.shuffle` takes its seed through `tf.random`'s seed logic, which cannot take a
    tensor under a global seed of 0; the shuffle op itself takes tensor seeds.
    """
    seeds = tf.random.stateless_uniform([2], seed=seed, minval=None, maxval=None, dtype=tf.int64)
    spec = dataset.element_spec
    flat = tf.nest.flatten(spec)
    variant = tf.raw_ops.ShuffleDatasetV3(
        input_dataset=tf.data.experimental.to_variant(dataset),
        buffer_size=tf.constant(buffer, tf.int64),
        seed=seeds[0],
        seed2=seeds[1],
        seed_generator=tf.raw_ops.DummySeedGenerator(),
        reshuffle_each_iteration=False,
        output_types=[s.dtype for s in flat],
        output_shapes=[s.shape for s in flat],
    )
    return tf.data.experimental.from_variant(variant, spec)


def _array_batches(
    arrays: ArrayData, options: PipelineOptions, plan: StagePlan, pass_seed: Any
) -> tf.data.Dataset:
    """Indices shuffled, batched, then one gather per batch from the arrays."""
    all_images = tf.convert_to_tensor(arrays.images)
    all_labels = tf.convert_to_tensor(arrays.labels)
    dataset = tf.data.Dataset.range(len(arrays))
    dataset = _shuffle(dataset, plan.shuffle_buffer, options.seed, pass_seed)
    dataset = dataset.batch(options.batch_size, drop_remainder=options.drop_remainder)
    return dataset.map(
        lambda idx: (tf.gather(all_images, idx), tf.gather(all_labels, idx)),
        num_parallel_calls=_AUTOTUNE,
    )


def _prepare_examples(
    dataset: tf.data.Dataset, source: Source, options: PipelineOptions, plan: StagePlan
) -> tf.data.Dataset:
    """Decodes (encoded images), resizes one by one (sizes vary), and runs RandAugment per
    image."""
    low, high = source.value_range
    size = (plan.height, plan.width)

    encoded = source.encoded

    def prepare(image: tf.Tensor) -> tf.Tensor:
        if plan.decode and encoded is not None:  # a file path or its bytes
            data = tf.io.read_file(image) if encoded.paths else image
            image = decode_resized(
                data, size, encoded.channels, jpeg_only=encoded.jpeg, largest=encoded.largest
            )
            if not plan.randaugment:
                return image
        if plan.randaugment:  # RandAugment works on [0, 1]
            image = tf.cast(image, tf.float32)
            if plan.resize and not plan.decode:
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
# Passes that follow an epoch variable.


def build_passes(
    source: Source, options: PipelineOptions, plan: StagePlan, epoch: tf.Variable, seed: int
) -> tf.data.Dataset:
    """Stages 3 and 4 rebuilt at the start of every pass from a stateless seed derived from
    (`seed`, the value of `epoch` then): the pass for epoch 3 is the same whether or not
    passes 0-2 ran before it in this process."""
    base = tf.constant([seed, 0x5EED], dtype=tf.int64)

    def read_epoch(_: tf.Tensor) -> tf.Tensor:
        return tf.cast(epoch.read_value(), tf.int64)

    def one_pass(epoch_value: tf.Tensor) -> tf.data.Dataset:
        pass_seed = tf.random.experimental.stateless_fold_in(base, epoch_value)
        dataset = example_stage(source, options, plan, pass_seed)
        return batch_stage(dataset, source, options, plan, pass_seed)

    dataset = tf.data.Dataset.range(1).map(read_epoch).flat_map(one_pass)
    if source.size is not None:
        batches = source.size // options.batch_size
        if not options.drop_remainder and source.size % options.batch_size:
            batches += 1
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(batches))
    return dataset


def draw_seed() -> int:
    """A fresh seed for a pipeline given none (passes still follow the epoch variable)."""
    return int(np.random.default_rng().integers(0, 2**31 - 1))
