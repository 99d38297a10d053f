"""Shared test set-up. TensorFlow's C++ log noise is silenced here (tests only, never in src)."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("PYTHONHASHSEED", "0")

import pytest


@pytest.fixture(autouse=True)
def _fresh_keras_session():
    """Each test starts with fresh layer-name counters and a fixed seed."""
    import keras

    keras.backend.clear_session(free_memory=False)  # skip the full gc.collect (0.4 s a test)
    keras.utils.set_random_seed(0)
    yield
    keras.config.set_dtype_policy("float32")


@pytest.fixture
def tiny_images():
    """Eight 32x32x3 uint8 images and their integer labels over 4 classes."""
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(8, 32, 32, 3), dtype=np.uint8)
    y = np.arange(8) % 4
    return x, y
