"""The batch stage of `image_pipeline` (after `regkit.data.example_stage`).

`BatchFinisher` turns each batch of the example stage into the pipeline's output: images
scaled to [0, 1] (or the model's input range), resized when that was left to whole
batches, augmented and mixed with a stateless seed per batch; labels checked and made
int32 indices or float32 one-hot vectors. `batch_stage` maps it over the batches, zipped
with the stream of seeds.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from regkit.data.options import PipelineOptions
from regkit.data.source import Source
from regkit.data.stage_plan import StagePlan
from regkit.data.transforms import compiled_stage

__all__ = ["BatchFinisher", "batch_stage"]

_AUTOTUNE = tf.data.AUTOTUNE


class BatchFinisher:
    """The batch stage's map function: `(images, labels[, seed]) -> (images, labels)`.

    Scales to [0, 1] and resizes (unless the augmentation does it, fused), turns labels
    into checked int32 indices or float32 one-hot vectors, augments and mixes with the
    batch's stateless seed, and finally maps [0, 1] to the model's input range if it
    differs.
    """

    def __init__(self, source: Source, options: PipelineOptions, plan: StagePlan) -> None:
        self.plan = plan
        self.one_hot = options.one_hot
        self.num_classes = source.num_classes
        self.check_labels = source.check_labels and source.num_classes is not None
        self.check_range = source.check_range and not plan.randaugment and not plan.decode

    def checked(self, images: tf.Tensor) -> tf.Tensor:
        """The images, with a check (when iterated) that they lie in the stated range."""
        if not self.check_range:
            return images
        low, high = self.plan.batch_range
        pixels = tf.cast(images, tf.float32)
        message = (
            f"pixel values outside value_range=({low:g}, {high:g}): pass the range the "
            "images are in"
        )
        checks = [
            tf.debugging.assert_greater_equal(tf.reduce_min(pixels), low, message=message),
            tf.debugging.assert_less_equal(tf.reduce_max(pixels), high, message=message),
        ]
        with tf.control_dependencies(checks):
            return tf.identity(images)

    def images(self, images: tf.Tensor) -> tuple[tf.Tensor, tuple[float, float]]:
        """Scaled and resized now unless the augmentation will do it; and their range."""
        plan = self.plan
        images = self.checked(images)
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

    def output(self, images: tf.Tensor) -> tf.Tensor:
        """[0, 1] images mapped to the output range (the model's input range)."""
        low, high = self.plan.output_range
        if (low, high) == (0.0, 1.0):
            return images
        return images * (high - low) + low

    def __call__(
        self, images: tf.Tensor, labels: tf.Tensor, batch_seed: Any = None, sizes: Any = None
    ) -> Any:
        plan, aug = self.plan, self.plan.batch_augment
        resized: dict[str, Any] = {}
        if sizes is not None:  # padded canvases, resized in one pass with the geometry
            value_range = plan.batch_range
            resized = {"sizes": sizes, "out_size": (plan.height, plan.width)}
            if aug is None:
                low, high = value_range
                stage = compiled_stage(
                    "resample", low, 1.0 / (high - low), "nearest", resized["out_size"]
                )
                return self.output(stage(images, sizes, {})), self.labels(labels)
        else:
            images, value_range = self.images(images)
        labels = self.labels(labels)
        if aug is None:
            return self.output(images), labels
        if aug.mixes_labels:
            images, labels = aug.apply(
                images, labels, seed=batch_seed, value_range=value_range, **resized
            )
            return self.output(images), labels
        images = aug.apply(images, seed=batch_seed, value_range=value_range, **resized)
        return self.output(images), labels


def batch_stage(
    dataset: tf.data.Dataset,
    source: Source,
    options: PipelineOptions,
    plan: StagePlan,
    pass_seed: Any = None,
) -> tf.data.Dataset:
    """Maps `BatchFinisher` over the batches, zipped with a stream of stateless seeds when
    the batches are augmented (so each epoch re-augments, reproducibly under a seed; with
    `pass_seed`, the i-th batch's seed is a function of `pass_seed` and i alone)."""
    finish = BatchFinisher(source, options, plan)
    # The batch stage branches on Python values only, so AutoGraph has nothing to convert;
    # it is kept out because its conversion cache mixed up Augment's methods (a call of
    # `check_image_shape` ran a converted `apply`) under hypothesis' many configurations.
    plain = tf.autograph.experimental.do_not_convert
    if plan.padded:  # (images, sizes, labels) batches
        if plan.batch_augment is None:
            return dataset.map(
                plain(lambda images, sizes, labels: finish(images, labels, sizes=sizes)),
                num_parallel_calls=_AUTOTUNE,
            )
        seeds = _batch_seeds(options, pass_seed)
        return tf.data.Dataset.zip((dataset, seeds)).map(
            plain(lambda batch, seed: finish(batch[0], batch[2], seed, sizes=batch[1])),
            num_parallel_calls=_AUTOTUNE,
        )
    if plan.batch_augment is None:
        return dataset.map(plain(finish), num_parallel_calls=_AUTOTUNE)
    return tf.data.Dataset.zip((dataset, _batch_seeds(options, pass_seed))).map(
        plain(lambda batch, batch_seed: finish(batch[0], batch[1], batch_seed)),
        num_parallel_calls=_AUTOTUNE,
    )


def _batch_seeds(options: PipelineOptions, pass_seed: Any) -> tf.data.Dataset:
    """One stateless seed per batch: a stream that re-randomizes each pass, or with
    `pass_seed` the i-th batch's seed as a function of `pass_seed` and i alone."""
    if pass_seed is None:
        seed = options.seed
        if seed is not None:  # the augmentation's stream, apart from the shuffle's
            seed = seed + 1 if seed < 2**63 - 1 else -(2**63)
        return tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
    base = tf.random.experimental.stateless_fold_in(pass_seed, 1)
    return tf.data.Dataset.counter().map(
        lambda i: tf.random.experimental.stateless_fold_in(base, i)
    )
