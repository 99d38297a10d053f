"""The small model and data the callback tests train (shared by the callbacks room's tests)."""

from __future__ import annotations

import keras
import numpy as np


def data(n=16, seed=0):
    """`n` random 8x8x1 float images and integer labels over 4 classes."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, 8, 8, 1), dtype=np.float32)
    return x, np.arange(n) % 4


def small_cnn(l2: float | None = None) -> keras.Model:
    """Conv2D + SeparableConv2D + Dense logits, compiled with SGD; optional L2 on two kernels."""
    reg = keras.regularizers.L2(l2) if l2 else None
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3, kernel_regularizer=reg, name="conv")(inputs)
    x = keras.layers.SeparableConv2D(4, 3, name="sep")(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(4, kernel_regularizer=reg, name="out")(x)
    model = keras.Model(inputs, outputs)
    model.compile(
        keras.optimizers.SGD(0.05),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def norm(variable) -> float:
    """The L2 norm of a variable, in float64."""
    return float(np.linalg.norm(keras.ops.convert_to_numpy(variable).astype(np.float64)))
