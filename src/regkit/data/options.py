"""`image_pipeline`'s arguments, checked: `check_options` gives a `PipelineOptions`.

Nothing here looks at the data yet; `regkit.data.stage_plan` checks the options against it.
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
from regkit.data.arrays import MAX_CLASSES
from regkit.data.augment import Augment

__all__ = ["PipelineOptions", "check_options"]


@dataclasses.dataclass(frozen=True)
class PipelineOptions:
    """`image_pipeline`'s arguments, checked (see there for their meaning).

    `augment` is `None` when nothing is to be applied (not training, or an inactive
    `Augment`); `shuffle` is a bool or a buffer size, never `None`; `epoch` is `None`
    unless the training passes follow it; `output_range` is (0, 1) or the model's input
    range, and `model_input_shape` the model's input shape (or `None`); `repeat` is the
    number of passes (0: one, not repeated; -1: without end).
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
    repeat: int = 0


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
    repeat: Any = False,
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
        repeat=_check_repeat(repeat),
    )


def _expand(path: str) -> Path:
    try:
        return Path(path).expanduser()
    except RuntimeError:  # `~nosuchuser`
        return Path(path)


#: The most passes `repeat=` may ask for (more is `repeat=True`, without end).
MAX_PASSES = 2**31 - 1


def _check_repeat(repeat: Any) -> int:
    """0 (no repeat), a number of passes, or -1 (`True`: without end)."""
    kind = type(repeat)
    if kind.__module__ == "numpy" and kind.__name__ in ("bool", "bool_"):  # a NumPy bool
        repeat = bool(repeat)
    if repeat is False or repeat is None:
        return 0
    if repeat is True:
        return -1
    try:
        return check_count("repeat", repeat, maximum=MAX_PASSES)
    except ValueError:
        raise invalid(
            "repeat", f"a bool or a number of passes in [1, {MAX_PASSES}]", repeat
        ) from None


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
    # Imported here: Keras only when a model is given.
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(
            "Invalid type for argument `model`: expected None or a keras.Model (the images "
            "then come out in the range it expects). Received: model of type "
            f"{type(model).__name__}"
        )
    # Imported here: regkit.introspect imports Keras, needed only when a model is given.
    from regkit.introspect import input_value_range

    shape = None
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):  # a subclassed model not yet built
        inputs = None
    if inputs and len(inputs) == 1:
        shape = tuple(None if d is None else int(d) for d in inputs[0].shape)
    return input_value_range(model), shape
