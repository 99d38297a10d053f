"""`image_pipeline`: decode, resize, scale, augment, label and batch images with tf.data.

The pipeline does as little per example as it can: in-memory arrays are shuffled as
indices and gathered a batch at a time; images that all have one size are batched first
and scaled, resized and augmented as whole batches; only images whose sizes vary are
resized one by one (they cannot be batched before), encoded images (JPEG, PNG) are decoded
straight to the output size (JPEG with DCT scaling), and RandAugment, whose Keras layer
picks its operations once per call, runs per image. Random parameters are drawn per image
from a stateless seed attached to each batch, so the parallel map is deterministic given
`seed` and each epoch still sees new augmentations.

`image_pipeline` composes the stages, each in its own module, in this order:
`check_options` (`regkit.data.options`), `resolve_source` (`regkit.data.source`),
`plan_stages` (`regkit.data.stage_plan`), `cache_stage` and `example_stage`
(`regkit.data.example_stage`), `batch_stage` (`regkit.data.batch_stage`); `build_passes`, here,
rebuilds the last two for each pass when the pipeline follows an epoch variable.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from regkit.data.augment import Augment
from regkit.data.batch_stage import batch_stage
from regkit.data.example_stage import RandAugmentStage, cache_stage, example_stage
from regkit.data.options import PipelineOptions, check_options
from regkit.data.source import Source, resolve_source
from regkit.data.stage_plan import StagePlan, plan_stages

__all__ = ["build_passes", "draw_seed", "image_pipeline"]

_AUTOTUNE = tf.data.AUTOTUNE


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
    value_range: tuple[float, float] | None = None,
    epoch: tf.Variable | None = None,
    model: Any = None,
    repeat: bool | int = False,
) -> tf.data.Dataset:
    """Builds a batched tf.data pipeline of float32 images in [0, 1] and their labels.

    Per batch: scale to [0, 1] (from the data's `value_range`), resize to `image_size`
    (bilinear), augment (training only, parameters drawn per image), and turn labels into
    int32 class indices or float32 one-hot vectors. Then prefetch. Given a `model`, images
    come out in the range that model expects instead (0-255 for one built with
    `include_preprocessing=True`), so they are never scaled twice.

    The pipeline shuffles (with `seed`), so pass `shuffle=False` to `model.fit`: Keras'
    default `shuffle=True` cannot shuffle a tf.data set and warns "`shuffle=True` was
    passed, but will be ignored" on every fit.

    The pixel scale is never guessed where it is ambiguous: uint8 images are 0-255;
    `from_arrays` reads float arrays and takes them as [0, 1] when every value is; a
    tf.data source of float (or non-uint8 integer) images needs `value_range`.

    Args:
        data: A `tf.data.Dataset` of unbatched `(image, label)` pairs (a `DatasetSplits`
            split, or `{"image", "label"}` dicts), the result of `from_arrays`, or an
            `(x, y)` tuple of arrays. A `DatasetSplits` split (a `LabeledDataset`) brings
            its class count, in-memory ones their arrays (gathered a batch at a time) and
            image folders or tfds sets their encoded files (decoded straight to size).
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
        shuffle: Shuffle examples (default: `training`); an int sets the buffer size
            (capped at the data set's size; at most 2**22 for a stream of unknown size).
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
        value_range: `(low, high)` of the input pixels, mapped to [0, 1]: needed for a
            tf.data source of float images (e.g. `(0, 255)` for
            `keras.utils.image_dataset_from_directory(...).unbatch()`); for arrays, give it
            to `from_arrays` (or here with an `(x, y)` tuple).
        epoch: A scalar integer `tf.Variable` (e.g. `tf.Variable(0, dtype=tf.int64)`).
            When training, each pass's shuffle order and augmentation are then a function
            of (`seed`, the variable's value when the pass starts) rather than of the
            passes before, so a resumed run repeats an uninterrupted one exactly:
            `regkit.callbacks.EpochSeeding(seed, epoch_variable=epoch)` sets it each epoch.
            Every `Augment` option follows it, RandAugment included (its Keras layer's
            seed state is set per image from the pass's seed and the image's position).
        model: A `keras.Model` the batches are for: images come out in the range it
            expects (`regkit.introspect.input_value_range`: 0-255 when it starts with
            regkit's `Rescaling(1/255)`, else [0, 1]); its input size must match.
        repeat: Pass over the data several times in one iteration: `True` without end,
            an int that many times. Give `fit` one pass as `steps_per_epoch` (with an
            int, `int(dataset.cardinality()) // repeat` when the size is known): Keras
            then keeps one iterator for the whole `fit`, where a one-pass dataset gets
            a new one every epoch (and another after its last batch). With `epoch`,
            pass k of an iteration is the pass of epoch `e + k`, `e` being the
            variable's value when the iteration starts, exactly as if the variable had
            been set before each pass; each pass must then have the same number of
            batches (a known size, or `drop_remainder`).

    Returns:
        A `tf.data.Dataset` of `(images, labels)`: images float32 `(batch, height, width,
        channels)` in [0, 1] (or the model's input range); labels int32 `(batch,)` or
        float32 `(batch, num_classes)`.

    Raises:
        ValueError: Naming the argument: images that vary in size without `image_size`,
            MixUp/CutMix without `one_hot`, `rot90` with a non-square size, a batched,
            channels-first or malformed dataset, a pixel scale that needs `value_range`,
            `one_hot` without a known `num_classes`, a model whose input does not fit, or
            a bad value.
        TypeError: `data` or `model` of an unsupported type.

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
        value_range=value_range,
        epoch=epoch,
        model=model,
        repeat=repeat,
    )
    source = resolve_source(data, options.num_classes, options.value_range)
    plan = plan_stages(source, options)
    source = cache_stage(source, options)
    random = plan.shuffle_buffer > 0 or plan.batch_augment is not None
    if options.epoch is not None and options.training and random:
        seed = options.seed if options.seed is not None else draw_seed()
        dataset = build_passes(source, options, plan, options.epoch, seed, options.repeat)
    else:
        dataset = example_stage(source, options, plan)
        dataset = batch_stage(dataset, source, options, plan)
        if options.repeat:
            dataset = dataset.repeat(options.repeat)
    return dataset.prefetch(_AUTOTUNE)


# --------------------------------------------------------------------------------------
# Passes that follow an epoch variable.


def build_passes(
    source: Source,
    options: PipelineOptions,
    plan: StagePlan,
    epoch: tf.Variable,
    seed: int,
    repeat: int = 0,
) -> tf.data.Dataset:
    """Stages 3 and 4 rebuilt at the start of every pass from a stateless seed derived from
    (`seed`, the pass's epoch): the pass for epoch 3 is the same whether or not passes 0-2
    ran before it in this process.

    The first pass of an iteration is that of the epoch `epoch` holds when the iteration
    starts; with `repeat` (a number of passes, or -1 without end) the next ones are those
    of the following epochs, so that one iterator serves a whole `fit`. A pass of a known
    size is checked to have exactly its number of batches, so that the passes stay
    aligned with `fit`'s epochs.
    """
    base = tf.constant([seed, 0x5EED], dtype=tf.int64)
    # Keras' RandAugment layer holds variables: made once, outside the passes' function.
    randaugment = RandAugmentStage(options) if plan.randaugment else None
    batches = None
    if source.size is not None:
        batches = source.size // options.batch_size
        if not options.drop_remainder and source.size % options.batch_size:
            batches += 1

    def read_epoch(_: tf.Tensor) -> tf.Tensor:
        return tf.cast(epoch.read_value(), tf.int64)

    def following(first: tf.Tensor) -> tf.data.Dataset:
        # the first pass's epoch is read once, when the iteration starts; never again, since
        # the prefetched next pass would read it before fit sets the next epoch
        count = tf.int64.max - first if repeat < 0 else max(repeat, 1)
        return tf.data.Dataset.range(first, first + count)

    def one_pass(epoch_value: tf.Tensor) -> tf.data.Dataset:
        pass_seed = tf.random.experimental.stateless_fold_in(base, epoch_value)
        dataset = example_stage(source, options, plan, pass_seed, randaugment)
        dataset = batch_stage(dataset, source, options, plan, pass_seed)
        if batches is not None and repeat:
            dataset = dataset.apply(tf.data.experimental.assert_cardinality(batches))
        return dataset

    dataset = tf.data.Dataset.range(1).map(read_epoch)
    if repeat:
        dataset = dataset.flat_map(following)
    dataset = dataset.flat_map(one_pass)
    if repeat < 0:
        dataset = dataset.apply(
            tf.data.experimental.assert_cardinality(tf.data.INFINITE_CARDINALITY)
        )
    elif batches is not None:
        total = batches * max(repeat, 1)
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(total))
    return dataset


def draw_seed() -> int:
    """A fresh seed for a pipeline given none (passes still follow the epoch variable)."""
    return int(np.random.default_rng().integers(0, 2**31 - 1))
