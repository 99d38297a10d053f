"""`plan_stages`: what the pipeline does per example and what per batch (`StagePlan`).

It checks the options against the data (sizes that vary need `image_size`, MixUp needs
one-hot labels, a model's input must fit, a batch must fit in memory, ...) and decides
where decoding, resizing, RandAugment and the batch augmentation run.
"""

from __future__ import annotations

import dataclasses

from regkit._checks import invalid
from regkit.data.augment import Augment
from regkit.data.options import PipelineOptions
from regkit.data.source import Source

__all__ = [
    "CANVAS_BUCKET",
    "DEFAULT_SHUFFLE_BUFFER",
    "MAX_BATCH_BYTES",
    "MAX_CANVAS_BYTES",
    "MAX_STREAM_SHUFFLE_BUFFER",
    "StagePlan",
    "plan_stages",
]

#: Shuffle buffer for streamed data sets (in-memory arrays are shuffled whole).
DEFAULT_SHUFFLE_BUFFER = 10_000
#: Largest shuffle buffer accepted for a stream of unknown size (a buffer is allocated
#: up front: 2**40 slots crashed the process).
MAX_STREAM_SHUFFLE_BUFFER = 2**22
#: Largest batch of float32 images accepted (bytes): beyond any machine's memory.
MAX_BATCH_BYTES = 2**36
#: Largest padded batch of decoded uint8 images resized as a whole (bytes).
MAX_CANVAS_BYTES = 2**28
#: Streams of images of varying size are padded per batch to a multiple of this.
CANVAS_BUCKET = 64


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
        if aug is not None
        and (
            aug.geometric
            or aug.brightness
            or aug.contrast
            or aug.random_erasing
            or aug.mixes_labels
        )
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
