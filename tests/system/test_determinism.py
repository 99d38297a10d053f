"""Determinism: the same seed gives the same training history on CPU, to the last bit.

Op determinism is process-global and cannot be switched off again, so each training runs
in a child process (`python -c CHILD`) that calls `regkit.device.setup(seed=...,
deterministic=True)`. The runs exercise every source of randomness a study has: weight
initialisation, shuffling and per-image augmentation in `image_pipeline`, Dropout and
SpatialDropout, BatchNorm, L2 and the optimizer. Two processes with seed 0 must produce
exactly equal histories (every float of every epoch) and bit-identical final weights
(SHA-256 over every variable, BatchNorm statistics included); seed 1 must differ (so the
comparison can fail).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

CHILD = r"""
import hashlib, json, sys
import numpy as np
from regkit import Regularization, build_cnn, build_mobilenet_v2, compile_model, device
from regkit.data import Augment, from_arrays, image_pipeline

model_name, epochs = sys.argv[1], int(sys.argv[2])
results = {}
for seed in map(int, sys.argv[3].split(",")):
    import keras

    keras.backend.clear_session()
    report = device.setup(seed=seed, deterministic=True)
    assert report.deterministic, report
    rng = np.random.default_rng(123)  # the data are fixed; only the seed varies
    x = rng.integers(0, 256, (48, 16, 16, 3), dtype=np.uint8)
    y = (x[..., 0].mean(axis=(1, 2)) > x[..., 2].mean(axis=(1, 2))).astype("int64")
    y += 2 * (x[:, :8].mean(axis=(1, 2, 3)) > 127)
    data = from_arrays(x, y, num_classes=4)
    reg = Regularization.preset("all").replace(spatial_dropout=0.1, weight_decay=1e-4)
    if model_name == "cnn":
        model = build_cnn((16, 16, 3), 4, filters=(8, 16), dense_units=(16,), reg=reg)
        augment = Augment(flip=True, rotation=15, translate=0.1, brightness=0.1, contrast=0.1)
        one_hot = False
    else:
        model = build_mobilenet_v2((32, 32, 3), 4, alpha=0.35, reg=reg)
        augment = Augment(flip=True, rot90=True, mixup=0.2, cutmix=1.0)
        one_hot = True
    size = model.input_shape[1]
    train = image_pipeline(
        data, batch_size=8, image_size=size, augment=augment, one_hot=one_hot, seed=seed
    )
    val = image_pipeline(
        data, batch_size=16, image_size=size, one_hot=one_hot, training=False
    )
    compile_model(model, learning_rate=3e-3, weight_decay=reg.weight_decay,
                  labels="one_hot" if one_hot else "sparse")
    history = model.fit(train, validation_data=val, epochs=epochs, verbose=0)
    results[seed] = {k: [float(v) for v in vs] for k, vs in history.history.items()}
    digest = hashlib.sha256()
    for weight in model.get_weights():  # BN moving statistics included
        digest.update(np.ascontiguousarray(weight).tobytes())
    results[seed]["weights_sha256"] = digest.hexdigest()
print("RESULT " + json.dumps(results))
"""

# Under `pytest -n 2 --dist loadgroup`, the tests that start TensorFlow children (and train
# beside them) share one xdist worker, so they never run at once and oversubscribe 2 cores.
pytestmark = pytest.mark.xdist_group("two_core_children")

_ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONHASHSEED="0", CUDA_VISIBLE_DEVICES="")


def _start(model: str, epochs: int, seeds: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, model, str(epochs), seeds],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_ENV,
    )


def _result(proc: subprocess.Popen) -> dict[str, dict[str, list[float]]]:
    out, err = proc.communicate(timeout=560)
    assert proc.returncode == 0, err[-3000:]
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


def _check(model: str, epochs: int) -> None:
    first, second = _start(model, epochs, "0,1"), _start(model, epochs, "0")
    a, b = _result(first), _result(second)
    assert a["0"] == b["0"]  # exact: every float of every epoch and every weight bit
    assert len(a["0"]["loss"]) == epochs
    assert {"loss", "val_loss", "val_accuracy"} <= set(a["0"])
    assert a["1"]["loss"] != a["0"]["loss"]  # another seed, another run
    assert a["1"]["weights_sha256"] != a["0"]["weights_sha256"]


def test_same_seed_same_history_cnn():
    _check("cnn", 2)


@pytest.mark.slow
def test_same_seed_same_history_mobilenet_v2_with_mixup():
    _check("mobilenet_v2", 3)
