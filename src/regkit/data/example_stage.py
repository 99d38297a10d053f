"""The example stage: shuffling, the per-example work that cannot wait, and batching.

In-memory arrays are shuffled as indices and gathered a batch at a time; encoded images
are decoded (into padded canvases when their largest size is known); streams of images
of varying size are padded per batch; only what must (RandAugment, sizes that vary with
no canvas) is prepared one image at a time. `cache_stage` caches a stream's examples
(or encoded bytes) first when asked.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import tensorflow as tf

from regkit._checks import invalid
from regkit.data.arrays import ArrayData
from regkit.data.decode import decode_resized, decode_scaled
from regkit.data.labeled import EncodedImages
from regkit.data.options import PipelineOptions
from regkit.data.source import Source
from regkit.data.stage_plan import StagePlan

__all__ = ["cache_stage", "example_stage", "seeded_shuffle"]

_AUTOTUNE = tf.data.AUTOTUNE


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
    source: Source,
    options: PipelineOptions,
    plan: StagePlan,
    pass_seed: Any = None,
    randaugment: RandAugmentStage | None = None,
) -> tf.data.Dataset:
    """Batches of `(images, labels)` in the source's value range (or [0, 1] after
    RandAugment), decoded and resized when they must be; shuffled when asked.

    `pass_seed` (a stateless seed tensor) makes the shuffle order, and RandAugment's draws,
    a function of it alone; `randaugment` is the `RandAugmentStage` to use (made here when
    `None`; passes that follow an epoch share one, made outside them).
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
        if plan.randaugment and options.augment is not None:
            stage = randaugment if randaugment is not None else RandAugmentStage(options)
            dataset = stage.apply(dataset, pass_seed)
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
    """Indices shuffled, batched, then one gather per batch from the arrays.

    The arrays become eager tensors even when this runs inside a function (the passes of
    `regkit.data.pipeline.build_passes`): captured by reference, rather than embedded in the
    function's graph as constants, which every new iterator would copy (seconds for
    Fashion-MNIST's 47 MB at each epoch).
    """
    with tf.init_scope():
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

    return dataset.map(lambda image, label: (prepare(image), label), num_parallel_calls=_AUTOTUNE)


class RandAugmentStage:
    """Keras' `RandAugment` layer run on one image at a time, and how its draws are seeded.

    The layer draws from a stateful seed generator. Without a pass seed it runs as a
    sequential map, which keeps the order of its draws, and so its output, fixed for a
    given `seed` (and in parallel, unseeded, without one). With a pass seed (passes that
    follow an epoch variable) the generator's state is set before each image to a function
    of (pass seed, position in the pass), so a pass repeats exactly whatever ran before it.

    Args:
        options: The pipeline's options; `options.augment` has `randaugment` on.
    """

    def __init__(self, options: PipelineOptions) -> None:
        if options.augment is None:  # pragma: no cover - the caller checks
            raise invalid("augment", "an Augment with randaugment=True", None)
        self.seed = options.seed
        self.layer = options.augment.randaugment_layer(options.seed)
        # The generator the layer draws from inside tf.data, which is a TensorFlow one
        # whatever Keras' backend (Keras creates it on first use: made here, outside any
        # tf.data function, so that it can be reset per image).
        self.generator = self.layer._get_seed_generator("tensorflow")

    def _augment(self, image: tf.Tensor) -> tf.Tensor:
        return tf.clip_by_value(self.layer(image, training=True), 0.0, 1.0)

    def apply(self, dataset: tf.data.Dataset, pass_seed: Any = None) -> tf.data.Dataset:
        """`dataset`'s `(image, label)` pairs with their images augmented."""
        if pass_seed is None:
            return dataset.map(
                lambda image, label: (self._augment(image), label),
                num_parallel_calls=None if self.seed is not None else _AUTOTUNE,
            )
        state = self.generator.state

        def seeded(index: tf.Tensor, example: Any) -> Any:
            image, label = example
            draws = tf.random.experimental.stateless_fold_in(pass_seed, index)
            reset = state.assign(tf.cast(draws % (2**31 - 1), state.dtype))
            with tf.control_dependencies([reset]):
                return self._augment(tf.identity(image)), label

        return dataset.enumerate().map(seeded, num_parallel_calls=None)
