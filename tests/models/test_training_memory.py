"""`release_training_memory`: what each traced `fit` leaves in TensorFlow is freed on exit.

The cause, measured (issue 22): every traced train step of the TF backend registers the
optimizer's gradient all-reduce as a custom gradient in TensorFlow's process-wide gradient
registry, which nothing empties; the entry holds the whole traced step (its FuncGraph and the
C++ graph under it), so each fresh model's `fit` leaves about 6 MiB behind, whatever
`keras.backend.clear_session()` and `gc.collect()` do. These tests count the registry and the
surviving graphs directly (RSS is the slow tier's test_memory.py)."""

from __future__ import annotations

import gc

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework import func_graph, ops

from regkit.training import release_training_memory

X = np.random.default_rng(0).random((32, 4, 4, 1), dtype=np.float32)
Y = np.arange(32) % 3


def _model() -> keras.Model:
    layers = [keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(3)]
    model = keras.Sequential(layers)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _fit_fresh_model() -> None:
    _model().fit(X, Y, epochs=1, batch_size=16, verbose=0)


def _registered() -> set[str]:
    return set(ops._gradient_registry._registry)


def _graphs() -> int:
    gc.collect()
    return sum(isinstance(o, func_graph.FuncGraph) for o in gc.get_objects())


def test_without_it_each_fit_leaves_its_step_registered():
    """The leak itself, so that this file fails if a TensorFlow release fixes or moves it."""
    before = _registered()
    _fit_fresh_model()
    new = _registered() - before
    assert new and all(name.startswith("CustomGradient-") for name in new)
    with release_training_memory():  # tidy up for the tests after this one
        pass
    assert _registered() - before == new  # only what was registered inside is released


def test_fits_inside_leave_no_registration_and_no_graph_behind():
    _fit_fresh_model()  # warm: Keras' own one-off graphs
    keras.backend.clear_session()
    registered, graphs = _registered(), _graphs()
    with release_training_memory():
        for _ in range(2):
            _fit_fresh_model()
            keras.backend.clear_session()
    assert _registered() == registered
    assert _graphs() <= graphs


def test_a_users_own_custom_gradient_registered_inside_is_kept():
    @tf.custom_gradient
    def clipped(x):
        return tf.identity(x), lambda dy: tf.clip_by_value(dy, -1.0, 1.0)

    @tf.function
    def loss(x):
        return tf.reduce_sum(clipped(x) * 10.0)

    x = tf.Variable([1.0, 2.0])
    before = _registered()
    with release_training_memory():
        with tf.GradientTape() as tape:
            value = loss(x)
        _fit_fresh_model()
    kept = _registered() - before
    assert len(kept) == 1  # the user's entry; the optimizer's went
    np.testing.assert_allclose(tape.gradient(value, x).numpy(), [1.0, 1.0])


def test_training_again_after_the_block_works():
    model = _model()
    with release_training_memory():
        model.fit(X, Y, epochs=1, batch_size=16, verbose=0)
    history = model.fit(X, Y, epochs=2, batch_size=16, verbose=0)  # the same traced step
    assert np.isfinite(history.history["loss"]).all()


def test_an_error_inside_still_releases_and_propagates():
    before = _registered()
    with pytest.raises(RuntimeError, match="stop"), release_training_memory():
        _fit_fresh_model()
        raise RuntimeError("stop")
    assert _registered() == before
