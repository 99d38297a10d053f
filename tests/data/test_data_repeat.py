"""`image_pipeline(repeat=...)`: several passes in one iteration (issue 29).

With an epoch variable, pass k of an iteration is the pass of epoch e + k (e: the variable
when the iteration starts), batch for batch what a one-pass pipeline gives with the
variable set to e + k; so `fit(steps_per_epoch=one pass)` keeps one iterator and trains
exactly as a new iterator per epoch would.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from regkit.data import Augment, image_pipeline

AUG = Augment(flip=True, rotation=10, brightness=0.2)


def _arrays(n: int = 18) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (n, 8, 8, 3), dtype=np.uint8), np.arange(n) % 4


def _source(kind: str):
    x, y = _arrays()
    if kind == "arrays":
        return x, y
    return tf.data.Dataset.from_tensor_slices((x, y))  # a stream (shuffle buffer)


def _batches(dataset: tf.data.Dataset, count: int | None = None) -> list:
    iterator = iter(dataset)
    if count is None:
        return [tuple(np.asarray(t) for t in batch) for batch in iterator]
    return [tuple(np.asarray(t) for t in next(iterator)) for _ in range(count)]


def _assert_same(got: list, want: list) -> None:
    assert len(got) == len(want)
    for (images, labels), (images_w, labels_w) in zip(got, want, strict=True):
        np.testing.assert_array_equal(images, images_w)
        np.testing.assert_array_equal(labels, labels_w)


@pytest.mark.parametrize("kind", ["arrays", "stream"])
def test_repeated_passes_are_the_following_epochs(kind):
    kwargs = {"batch_size": 4, "augment": AUG, "seed": 3, "num_classes": 4}
    epoch = tf.Variable(2, dtype=tf.int64)
    repeated = image_pipeline(_source(kind), epoch=epoch, repeat=3, **kwargs)
    assert int(repeated.cardinality()) == 3 * 5  # 18 images: 5 batches a pass
    got = _batches(repeated)
    one_pass = image_pipeline(_source(kind), epoch=epoch, **kwargs)
    want = []
    for value in (2, 3, 4):
        epoch.assign(value)
        want += _batches(one_pass)
    _assert_same(got, want)
    # passes differ from one another, and each holds every example once
    assert not np.array_equal(got[0][1], got[5][1])
    assert sorted(np.concatenate([labels for _, labels in got[5:10]]).tolist()) == sorted(
        (np.arange(18) % 4).tolist()
    )
    # the first pass is read from the variable when iteration starts, never again
    epoch.assign(4)
    _assert_same(_batches(repeated, 5), want[10:15])


def test_endless_repeat_follows_the_epochs_and_reports_infinite_cardinality():
    x, y = _arrays()
    epoch = tf.Variable(0, dtype=tf.int64)
    endless = image_pipeline((x, y), batch_size=4, augment=AUG, seed=1, epoch=epoch, repeat=True)
    assert int(endless.cardinality()) == int(tf.data.INFINITE_CARDINALITY)
    one_pass = image_pipeline((x, y), batch_size=4, augment=AUG, seed=1, epoch=epoch)
    want = []
    for value in range(4):
        epoch.assign(value)
        want += _batches(one_pass)
    epoch.assign(0)
    _assert_same(_batches(endless, 20), want)


def test_repeat_without_epoch_repeats_plain_passes():
    x, y = _arrays()
    validation = image_pipeline((x, y), batch_size=4, training=False, repeat=2)
    assert int(validation.cardinality()) == 10
    batches = _batches(validation)
    _assert_same(batches[5:], batches[:5])  # an unshuffled pass, twice
    train = image_pipeline((x, y), batch_size=4, seed=0, repeat=2)
    labels = [labels for _, labels in _batches(train)]
    first, second = np.concatenate(labels[:5]), np.concatenate(labels[5:])
    assert sorted(first.tolist()) == sorted(second.tolist()) == sorted(y.tolist())


def test_bad_repeat_names_it():
    x, y = _arrays()
    for bad in (0, -1, 2.5, "2", 2**31):
        with pytest.raises(ValueError, match="argument `repeat`: expected a bool or a number"):
            image_pipeline((x, y), repeat=bad)
    assert int(image_pipeline((x, y), repeat=np.bool_(False), batch_size=6).cardinality()) == 3


def test_one_iterator_fit_trains_exactly_as_one_pass_per_epoch():
    """fit(steps_per_epoch=one pass) on the repeated pipeline gives, bit for bit, the
    weights of fit on the one-pass pipeline (a new iterator at every epoch)."""
    import keras

    x, y = _arrays(n=20)  # 20 images, batch 8: passes of 3 batches, the last short

    def train(repeat: bool) -> list[np.ndarray]:
        keras.utils.set_random_seed(0)
        epoch = tf.Variable(0, dtype=tf.int64)

        class SetEpoch(keras.callbacks.Callback):
            def on_epoch_begin(self, number, logs=None):
                epoch.assign(number)

        kwargs = {"batch_size": 8, "augment": AUG, "seed": 7, "num_classes": 4, "epoch": epoch}
        data = image_pipeline((x, y), repeat=4 if repeat else False, **kwargs)
        model = keras.Sequential(
            [keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(4)]
        )
        model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        steps = int(data.cardinality()) // 4 if repeat else None
        model.fit(
            data,
            epochs=3,
            steps_per_epoch=steps,
            callbacks=[SetEpoch()],
            verbose=0,
            shuffle=False,
        )
        return [np.asarray(w) for w in model.get_weights()]

    for got, want in zip(train(repeat=True), train(repeat=False), strict=True):
        np.testing.assert_array_equal(got, want)
