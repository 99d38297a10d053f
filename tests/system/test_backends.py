"""regkit under Keras' JAX backend (slow tier; `pip install regkit-keras[jax]`).

regkit builds stock Keras layers, so its builders, compile_model, callbacks, pipelines
(tf.data feeds any backend) and compare run under JAX as under TensorFlow. The checks run
in a fresh process because the backend is chosen once, at Keras' import.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parent / "scripts" / "backend_checks.py"


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="needs regkit-keras[jax]")
def test_public_api_runs_under_jax():
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(
        [sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=900
    )
    lines = result.stdout.splitlines()
    assert lines[0] == "backend jax", result.stdout + result.stderr
    failures = [line for line in lines if line.startswith("FAIL")]
    assert not failures and result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert sum(line.startswith("ok ") for line in lines) == 7, result.stdout


#: regkit.layers under the backend of the process (issue 20): traced training steps, the
#: drop rates, the ramp's counter and a .keras round trip. Prints "ok layers" when all hold.
LAYERS_CHECK = """
import os, sys, tempfile
import numpy as np
import keras
from regkit import Regularization, build_resnet, load_model
from regkit.layers import DropBlock2D, DropPath

assert keras.backend.backend() == os.environ["KERAS_BACKEND"], keras.backend.backend()
keras.utils.set_random_seed(0)
model = build_resnet(
    (8, 8, 1), 3, depth=8, width=4, reg=Regularization(drop_path=0.3, drop_block=0.2)
)
model.compile("sgd", "sparse_categorical_crossentropy")
rng = np.random.default_rng(0)
x, y = rng.uniform(size=(16, 8, 8, 1)).astype("float32"), rng.integers(0, 3, 16)
history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)  # jitted train steps
assert np.isfinite(history.history["loss"]).all(), history.history

drop = DropPath(0.25, seed=1)
out = np.asarray(keras.ops.convert_to_numpy(drop(np.ones((4000, 1), "float32"), training=True)))
assert abs((out == 0).mean() - 0.25) < 5 * (0.25 * 0.75 / 4000) ** 0.5, (out == 0).mean()

inputs = keras.Input((8, 8, 2))
ramped = keras.Model(inputs, DropBlock2D(0.2, 3, seed=2, ramp_steps=10)(inputs))
ramped.compile("sgd", "mse")
ramped.fit(np.ones((8, 8, 8, 2)), np.ones((8, 8, 8, 2)), batch_size=4, epochs=1, verbose=0)
step = float(keras.ops.convert_to_numpy(ramped.layers[1].step))
assert step == 2.0, step  # one per traced training call

path = os.path.join(tempfile.mkdtemp(), "m.keras")
model.save(path)
np.testing.assert_array_equal(load_model(path).predict(x, verbose=0), model.predict(x, verbose=0))
print("ok layers")
"""


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="needs regkit-keras[jax]")
def test_regkit_layers_train_and_round_trip_under_jax():
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(
        [sys.executable, "-c", LAYERS_CHECK], env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0 and "ok layers" in result.stdout, result.stderr[-3000:]
