"""regkit's own Keras layers: `DropPath` (stochastic depth) and `DropBlock2D`.

Keras 3 has neither, and the packages that had them (TensorFlow Addons, KerasCV) no longer
release. Both layers here are ordinary Keras layers: they work in any model (not only
regkit's), on every Keras backend (their randomness comes from a
`keras.random.SeedGenerator`, so they trace under JAX), they are the identity at inference,
and they are registered for serialization under the package name ``"regkit"``.

Loading a saved model that holds them: `regkit.load_model` always can;
`keras.saving.load_model` can once this module has been imported (``import regkit.layers``),
because Keras only imports its own packages while deserializing and ``import regkit`` stays
light.

Example:
    >>> inputs = keras.Input((32, 32, 16))
    >>> branch = keras.layers.Conv2D(16, 3, padding="same")(inputs)
    >>> x = keras.layers.Add()([inputs, DropPath(0.1, seed=0)(branch)])
    >>> x = DropBlock2D(0.1, 5, seed=0)(x)
"""

from __future__ import annotations

from typing import Any

import keras

from regkit._checks import (
    MAX_LAYERS,
    check_bounded_int,
    check_choice,
    check_fraction,
    check_nonnegative_int,
    check_optional_seed,
    check_positive_int,
    invalid,
)

__all__ = ["DropBlock2D", "DropPath", "drop_path_rates"]

#: The largest DropBlock side accepted (as `Regularization.drop_block_size`).
MAX_BLOCK_SIZE = 1024
_SEED_LIMIT = 2**31  # SeedGenerator states are 32-bit on some backends


def _check_rate(rate: Any) -> float:
    """`rate` as a float in [0, 1); an int too large for a float (``10**400``) is out of
    range like any other, not an OverflowError."""
    try:
        return check_fraction("rate", rate)
    except OverflowError:
        raise invalid("rate", "a float in [0, 1)", rate) from None


def _check_seed(seed: Any) -> int | None:
    seed = check_optional_seed("seed", seed)
    if seed is not None and not 0 <= seed < _SEED_LIMIT:
        raise invalid("seed", "None or an int in [0, 2**31)", seed)
    return seed


def drop_path_rates(rate: float, blocks: int) -> list[float]:
    """regkit's stochastic-depth schedule: block i of N (1-based, forward order) uses
    ``rate * i / N``, so the rates grow linearly and the last block uses `rate`.

    This is the linear decay rule of Huang et al. 2016 (the input keeps everything, the last
    block drops `rate`) applied to the N residual blocks of a network.

    Args:
        rate: The largest rate, in [0, 1).
        blocks: The number of residual blocks N, in [0, `regkit._checks.MAX_LAYERS`]
            (10,000: no network regkit builds has more).

    Returns:
        N floats.

    Raises:
        ValueError: `rate` is not in [0, 1), or `blocks` is negative or above 10,000.
        TypeError: `blocks` is not an int.

    Example:
        >>> drop_path_rates(0.2, 4)
        [0.05, 0.1, 0.15, 0.2]
    """
    rate = _check_rate(rate)
    blocks = check_bounded_int("blocks", blocks, minimum=0, maximum=MAX_LAYERS)
    return [rate * i / blocks for i in range(1, blocks + 1)]


@keras.saving.register_keras_serializable(package="regkit")
class DropPath(keras.layers.Layer):
    """Stochastic depth (Huang et al. 2016): drops a whole residual branch per sample.

    In training, each sample of the batch is kept with probability ``1 - rate`` and zeroed
    otherwise (a 0/1 mask of shape ``(batch, 1, ..., 1)``), and the kept samples are scaled
    by ``1 / (1 - rate)`` so the expected output equals the input. At inference (and with
    ``rate=0``) the layer is the identity. Put it on the residual branch, before the add:
    ``Add()([shortcut, DropPath(rate)(branch)])``.

    Args:
        rate: Probability of dropping a sample's branch, in [0, 1).
        seed: Seed of the layer's `keras.random.SeedGenerator` (None: a random one). A
            seeded layer draws the same masks in every run.
        **kwargs: Passed to `keras.layers.Layer` (``name``, ``dtype``...).

    Raises:
        ValueError: `rate` is not in [0, 1) or `seed` is not None or an int in [0, 2**31);
            when called, an input without a batch axis (a scalar).

    Example:
        >>> inputs = keras.Input((32, 32, 16))
        >>> branch = keras.layers.Conv2D(16, 3, padding="same")(inputs)
        >>> outputs = keras.layers.Add()([inputs, DropPath(0.1, seed=0)(branch)])
    """

    def __init__(self, rate: float = 0.0, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate = _check_rate(rate)
        self.seed = _check_seed(seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed)
        self.supports_masking = True

    def build(self, input_shape: Any) -> None:
        if len(input_shape) < 1:  # the mask is drawn per sample, along the batch axis
            raise invalid("inputs", "a tensor with a batch axis (rank >= 1)", input_shape)

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        if not training or self.rate == 0.0:
            return inputs
        keep = 1.0 - self.rate
        shape = (keras.ops.shape(inputs)[0],) + (1,) * (len(inputs.shape) - 1)
        draw = keras.random.uniform(shape, seed=self.seed_generator, dtype="float32")
        # one (batch, 1, ..., 1) factor, 0 or 1/keep, so the full-size tensor is touched once
        scale = keras.ops.cast(draw < keep, "float32") / keep
        return inputs * keras.ops.cast(scale, inputs.dtype)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


@keras.saving.register_keras_serializable(package="regkit")
class DropBlock2D(keras.layers.Layer):
    """DropBlock (Ghiasi et al. 2018): zeroes contiguous squares of a feature map.

    In training, for a feature map of height H and width W, block side
    ``k = min(block_size, H, W)`` (a block larger than the map is clipped to it) and seed
    positions only where a whole block fits (the ``(H - k + 1) x (W - k + 1)`` valid
    region), each seed position is drawn independently per sample and per channel with
    probability

        gamma = rate / k**2 * (H * W) / ((H - k + 1) * (W - k + 1)),

    each seed zeroes the k x k block around it, and the survivors are rescaled by
    ``mask.size / mask.sum()`` (the count of all units over the count of kept ones, over the
    batch, as the paper does), so the sum of the activations is kept exactly. About a
    fraction `rate` of the units is dropped (a little less, as blocks overlap). At inference
    (and with ``rate=0``) the layer is the identity.

    The paper ramps the rate up from 0 during training: with ``ramp_steps=S`` the layer
    uses ``rate * min(1, t / S)`` at its t-th training call (counted by a non-trainable
    weight, ``step``, saved with the model). With ``ramp_steps=0`` (the default) the rate is
    constant and the layer has no weights.

    Args:
        rate: The fraction of units to drop, in [0, 1).
        block_size: Side of the square blocks (>= 1; clipped to the feature map).
        seed: Seed of the layer's `keras.random.SeedGenerator` (None: a random one).
        data_format: ``"channels_last"`` or ``"channels_first"``; None reads
            `keras.config.image_data_format()`.
        ramp_steps: Training calls over which the rate ramps linearly from 0 (0: no ramp).
        **kwargs: Passed to `keras.layers.Layer`.

    Raises:
        ValueError: An argument is out of range; at build, an input that is not rank 4.

    Example:
        >>> inputs = keras.Input((32, 32, 16))
        >>> outputs = DropBlock2D(0.1, 7, seed=0)(inputs)
    """

    def __init__(
        self,
        rate: float = 0.0,
        block_size: int = 7,
        seed: int | None = None,
        data_format: str | None = None,
        ramp_steps: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.rate = _check_rate(rate)
        self.block_size = check_positive_int("block_size", block_size)
        if self.block_size > MAX_BLOCK_SIZE:
            raise invalid("block_size", f"an int in [1, {MAX_BLOCK_SIZE}]", block_size)
        self.seed = _check_seed(seed)
        if data_format is not None:
            check_choice("data_format", data_format, ("channels_last", "channels_first"))
        self.data_format = data_format or keras.config.image_data_format()
        self.ramp_steps = check_nonnegative_int("ramp_steps", ramp_steps)
        self.seed_generator = keras.random.SeedGenerator(self.seed)
        self.step: Any = None

    def build(self, input_shape: Any) -> None:
        if len(input_shape) != 4:
            raise invalid("inputs", "a rank-4 tensor (batch, height, width, channels)", input_shape)
        if self.ramp_steps:
            self.step = self.add_weight(
                name="step",
                shape=(),
                dtype="float32",
                initializer="zeros",
                trainable=False,
                aggregation="only_first_replica",
                # a count, never cast to a mixed policy's bfloat16/float16 compute dtype
                # (bfloat16 stops counting at 256 and breaks the float32 rate arithmetic)
                autocast=False,
            )

    def _sizes(self, inputs: Any) -> tuple[Any, Any]:
        shape = keras.ops.shape(inputs)
        if self.data_format == "channels_last":
            return shape[1], shape[2]
        return shape[2], shape[3]

    def current_rate(self) -> Any:
        """The rate used now: `rate`, or its ramped value when `ramp_steps` > 0."""
        if not self.ramp_steps or self.step is None:
            return self.rate
        return self.rate * keras.ops.minimum(1.0, self.step / float(self.ramp_steps))

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        if not training or self.rate == 0.0:
            return inputs
        rate = self.current_rate()
        if self.step is not None:
            self.step.assign(self.step + 1.0)
        height, width = self._sizes(inputs)
        static = isinstance(height, int) and isinstance(width, int)
        if static:
            kh = kw = max(1, min(self.block_size, height, width))
            pool = (kh, kw)
        else:  # sizes known only when run: the rate is exact, the pooled square is block_size
            kh = keras.ops.minimum(self.block_size, height)
            kw = keras.ops.minimum(self.block_size, width)
            pool = (self.block_size, self.block_size)
        mask = self._block_mask(inputs, rate, height, width, kh, kw, pool)
        kept = keras.ops.sum(mask)
        scale = keras.ops.cast(keras.ops.size(mask), "float32") / keras.ops.maximum(kept, 1.0)
        return inputs * keras.ops.cast(mask * scale, inputs.dtype)

    def _block_mask(
        self,
        inputs: Any,
        rate: Any,
        height: Any,
        width: Any,
        kh: Any,
        kw: Any,
        pool: tuple[int, int],
    ) -> Any:
        """A float32 0/1 mask of the input's shape: 0 inside the dropped blocks."""
        ops = keras.ops
        height_f = ops.cast(height, "float32")
        width_f = ops.cast(width, "float32")
        kh_f, kw_f = ops.cast(kh, "float32"), ops.cast(kw, "float32")
        valid = (height_f - kh_f + 1.0) * (width_f - kw_f + 1.0)
        gamma = rate / (kh_f * kw_f) * (height_f * width_f) / valid
        gamma = ops.clip(gamma, 0.0, 1.0)
        # Keras 'same' pooling pads (k - 1) // 2 before and the rest after, so the block of a
        # seed at s covers rows s - after .. s + before: seeds in [after, H - 1 - before].
        rows = ops.arange(height)
        cols = ops.arange(width)
        before_h, before_w = (kh - 1) // 2, (kw - 1) // 2
        after_h, after_w = kh - 1 - before_h, kw - 1 - before_w
        ok_rows = ops.logical_and(rows >= after_h, rows <= height - 1 - before_h)
        ok_cols = ops.logical_and(cols >= after_w, cols <= width - 1 - before_w)
        region = ops.cast(ops.logical_and(ok_rows[:, None], ok_cols[None, :]), "float32")
        if self.data_format == "channels_last":
            region = region[None, :, :, None]
        else:
            region = region[None, None, :, :]
        draw = keras.random.uniform(ops.shape(inputs), seed=self.seed_generator, dtype="float32")
        seeds = ops.cast(draw < gamma, "float32") * region
        dropped = ops.max_pool(
            seeds, pool_size=pool, strides=1, padding="same", data_format=self.data_format
        )
        return 1.0 - dropped

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "rate": self.rate,
            "block_size": self.block_size,
            "seed": self.seed,
            "data_format": self.data_format,
            "ramp_steps": self.ramp_steps,
        }
