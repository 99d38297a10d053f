"""`image_pipeline`: decode, resize, scale, augment, label and batch images with tf.data.

The pipeline does as little per example as it can: in-memory arrays are shuffled as
indices and gathered a batch at a time; images that all have one size are batched first
and scaled, resized and augmented as whole batches; only images whose sizes vary are
resized one by one (they cannot be batched before), encoded images (JPEG, PNG) are decoded
straight to the output size (JPEG with DCT scaling), and RandAugment, whose Keras layer
picks its operations once per call, runs per image. Random parameters are drawn per image
from a stateless seed attached to each batch, so the parallel map is deterministic given
`seed` and each epoch still sees new augmentations.

`image_pipeline` checks its arguments (`check_options`, giving `PipelineOptions`) and
composes the stages of `regkit.data.stages`: `resolve_source`, `plan_stages`,
`example_stage`, `batch_stage` (or `build_passes`, which rebuilds the last two for each
pass when the pipeline follows an epoch variable).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import tensorflow as tf

from regkit._checks import (
    check_count,
    check_flag,
    check_image_size,
    check_optional_seed,
    check_value_range,
    invalid,
)
from regkit.data.augment import Augment
from regkit.data.datasets import MAX_CLASSES
from regkit.data.stages import (
    batch_stage,
    build_passes,
    cache_stage,
    draw_seed,
    example_stage,
    plan_stages,
    resolve_source,
)

__all__ = ["PipelineOptions", "check_options", "image_pipeline"]

_AUTOTUNE = tf.data.AUTOTUNE


# --------------------------------------------------------------------------------------
# Arguments.


@dataclasses.dataclass(frozen=True)
class PipelineOptions:
    """`image_pipeline`'s arguments, checked (see there for their meaning).

    `augment` is `None` when nothing is to be applied (not training, or an inactive
    `Augment`); `shuffle` is a bool or a buffer size, never `None`; `epoch` is `None`
    unless the training passes follow it; `output_range` is (0, 1) or the model's input
    range, and `model_input_shape` the model's input shape (or `None`).
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
    value_range: tuple[float, float] | None = None
    epoch: tf.Variable | None = None
    output_range: tuple[float, float] = (0.0, 1.0)
    model_input_shape: tuple[int | None, ...] | None = None


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
    value_range: Any = None,
    epoch: Any = None,
    model: Any = None,
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
        num_classes = check_count("num_classes", num_classes, maximum=MAX_CLASSES)
        if num_classes < 2:
            raise invalid(
                "num_classes",
                "at least 2 classes (a classifier of one class learns nothing)",
                num_classes,
            )
    seed = check_optional_seed("seed", seed)
    if shuffle is None:
        shuffle = training
    if not isinstance(shuffle, bool):
        try:
            shuffle = check_count("shuffle", shuffle, maximum=2**63 - 1)
        except ValueError:
            raise invalid(
                "shuffle", "None, a bool or a positive buffer size below 2**63", shuffle
            ) from None
    if not isinstance(cache, (bool, str)):
        raise invalid("cache", "a bool or a file path", cache)
    if isinstance(cache, str) and cache and not _expand(cache).parent.is_dir():
        raise invalid("cache", "a file path in an existing folder", cache)
    if value_range is not None:
        value_range = check_value_range("value_range", value_range)
    aug = Augment.coerce(augment)  # validated even when unused
    if not training or (aug is not None and not aug.active):
        aug = None
    output_range, input_shape = _model_input(model)
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
        value_range=value_range,
        epoch=_check_epoch(epoch),
        output_range=output_range,
        model_input_shape=input_shape,
    )


def _expand(path: str) -> Path:
    try:
        return Path(path).expanduser()
    except RuntimeError:  # `~nosuchuser`
        return Path(path)


def _check_epoch(epoch: Any) -> tf.Variable | None:
    if epoch is None:
        return None
    if not isinstance(epoch, tf.Variable) or epoch.shape.rank != 0 or not epoch.dtype.is_integer:
        raise invalid(
            "epoch",
            "None or a scalar integer tf.Variable, e.g. tf.Variable(0, dtype=tf.int64)",
            epoch,
        )
    return epoch


def _model_input(model: Any) -> tuple[tuple[float, float], tuple[int | None, ...] | None]:
    """The model's input range and shape; (0, 1) and `None` without a model."""
    if model is None:
        return (0.0, 1.0), None
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(
            "Invalid type for argument `model`: expected None or a keras.Model (the images "
            "then come out in the range it expects). Received: model of type "
            f"{type(model).__name__}"
        )
    from regkit.introspect import input_value_range

    shape = None
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):  # a subclassed model not yet built
        inputs = None
    if inputs and len(inputs) == 1:
        shape = tuple(None if d is None else int(d) for d in inputs[0].shape)
    return input_value_range(model), shape


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
    value_range: tuple[float, float] | None = None,
    epoch: tf.Variable | None = None,
    model: Any = None,
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
            (RandAugment's Keras layer keeps its own state and is not covered.)
        model: A `keras.Model` the batches are for: images come out in the range it
            expects (`regkit.introspect.input_value_range`: 0-255 when it starts with
            regkit's `Rescaling(1/255)`, else [0, 1]); its input size must match.

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
    )
    source = resolve_source(data, options.num_classes, options.value_range)
    plan = plan_stages(source, options)
    source = cache_stage(source, options)
    random = plan.shuffle_buffer > 0 or plan.batch_augment is not None
    if options.epoch is not None and options.training and random:
        seed = options.seed if options.seed is not None else draw_seed()
        dataset = build_passes(source, options, plan, options.epoch, seed)
    else:
        dataset = example_stage(source, options, plan)
        dataset = batch_stage(dataset, source, options, plan)
    return dataset.prefetch(_AUTOTUNE)
