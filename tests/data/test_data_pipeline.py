"""`regkit.data.image_pipeline`: what comes out (dtype, range, shapes, labels), shuffling
and determinism, augmentation only when training, per-image randomness within a batch, the
input forms it accepts, and every bad argument."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from regkit.data import Augment, from_arrays, image_pipeline, load_dataset


def _arrays(n: int = 10, side: int = 8, channels: int = 3, classes: int = 4):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (n, side, side, channels), dtype=np.uint8)
    return x, np.arange(n) % classes


def _collect(dataset):
    batches = [(images.numpy(), labels.numpy()) for images, labels in dataset]
    return np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])


# ----------------------------------------------------------------------------------------
# Output contract


def test_validation_pipeline_is_the_scaled_data_in_order():
    x, y = _arrays()
    dataset = image_pipeline(from_arrays(x, y), batch_size=4, training=False)
    shapes = [tuple(images.shape) for images, _ in dataset]
    assert shapes == [(4, 8, 8, 3), (4, 8, 8, 3), (2, 8, 8, 3)]
    images, labels = _collect(dataset)
    assert images.dtype == np.float32 and labels.dtype == np.int32
    np.testing.assert_allclose(images, x / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(labels, y)


def test_one_hot_resize_and_drop_remainder():
    x, y = _arrays()
    dataset = image_pipeline(
        (x, y), batch_size=4, image_size=(6, 5), one_hot=True, training=False, drop_remainder=True
    )
    images, labels = _collect(dataset)
    assert images.shape == (8, 6, 5, 3) and labels.shape == (8, 4)
    assert labels.dtype == np.float32
    np.testing.assert_array_equal(labels.argmax(axis=1), y[:8])
    expected = tf.image.resize(x[:8].astype(np.float32), (6, 5)).numpy() / 255.0
    np.testing.assert_allclose(images, expected, atol=1e-5)


def test_float_arrays_keep_their_scale():
    x, y = _arrays()
    unit = x / 255.0
    images, _ = _collect(image_pipeline((unit, y), batch_size=5, training=False))
    np.testing.assert_allclose(images, unit, atol=1e-6)
    custom = from_arrays(unit * 2 - 1, y, value_range=(-1, 1))
    images, _ = _collect(image_pipeline(custom, batch_size=5, training=False))
    np.testing.assert_allclose(images, unit, atol=1e-6)


# ----------------------------------------------------------------------------------------
# Shuffling, determinism, training vs validation


def test_training_shuffles_every_example_once_per_epoch_and_reshuffles():
    x, y = _arrays(n=32, classes=32)
    dataset = image_pipeline((x, y), batch_size=8, seed=3)  # training: shuffled by default
    first = _collect(dataset)[1]
    second = _collect(dataset)[1]
    assert sorted(first.tolist()) == list(range(32)) == sorted(second.tolist())
    assert first.tolist() != list(range(32)) and first.tolist() != second.tolist()


def test_same_seed_same_batches_other_seed_other_batches():
    x, y = _arrays(n=16)
    aug = Augment(flip=True, rotation=20, brightness=0.3, mixup=0.2, cutmix=1.0)

    def run(seed):
        return _collect(image_pipeline((x, y), batch_size=8, augment=aug, one_hot=True, seed=seed))

    a, b, c = run(5), run(5), run(6)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_each_epoch_gets_new_augmentation_but_the_sequence_is_reproducible():
    x, y = _arrays(n=8)
    aug = Augment(brightness=0.5)

    def two_epochs():
        dataset = image_pipeline((x, y), batch_size=8, augment=aug, shuffle=False, seed=1)
        return _collect(dataset)[0], _collect(dataset)[0]

    (e1, e2), (again1, again2) = two_epochs(), two_epochs()
    assert not np.array_equal(e1, e2)
    np.testing.assert_array_equal(e1, again1)
    np.testing.assert_array_equal(e2, again2)


def test_no_augmentation_or_shuffle_when_not_training():
    x, y = _arrays()
    plain = _collect(image_pipeline((x, y), batch_size=4, training=False))
    augmented = _collect(
        image_pipeline((x, y), batch_size=4, training=False, augment=Augment.seed001(), seed=0)
    )
    np.testing.assert_array_equal(plain[0], augmented[0])
    np.testing.assert_array_equal(plain[1], augmented[1])
    trained = _collect(image_pipeline((x, y), batch_size=4, augment=Augment.seed001(), seed=0))
    assert not np.array_equal(np.sort(trained[0], axis=None), np.sort(plain[0], axis=None))


def test_brightness_and_contrast_are_per_image_in_one_batch():
    """tf.image.random_brightness/contrast on a batch draw ONE value for the whole batch;
    regkit draws one per image."""
    x = np.full((8, 6, 6, 3), 128, np.uint8)
    x[:, :3] = 64  # two grey levels, so contrast changes the spread
    images, _ = next(
        iter(
            image_pipeline(
                (x, np.arange(8) % 2),
                batch_size=8,
                augment=Augment(brightness=0.2, contrast=0.3),
                seed=0,
            )
        )
    )
    images = images.numpy()
    means = images.reshape(8, -1).mean(axis=1)
    spreads = images[:, 4, 0, 0] - images[:, 0, 0, 0]
    assert len(np.unique(np.round(means, 4))) == 8
    assert len(np.unique(np.round(spreads, 4))) == 8


# ----------------------------------------------------------------------------------------
# Input forms


def test_plain_tf_data_with_cifar_shaped_labels_and_dicts():
    x, y = _arrays()
    column = tf.data.Dataset.from_tensor_slices((x, y[:, None]))  # CIFAR's (n, 1) labels
    images, labels = _collect(image_pipeline(column, batch_size=4, training=False))
    np.testing.assert_array_equal(labels, y)
    assert labels.ndim == 1
    dicts = tf.data.Dataset.from_tensor_slices({"image": x, "label": y})
    images2, labels2 = _collect(
        image_pipeline(dicts, batch_size=4, training=False, one_hot=True, num_classes=4)
    )
    np.testing.assert_array_equal(images2, images)
    np.testing.assert_array_equal(labels2.argmax(axis=1), y)


def test_images_of_varying_sizes_need_image_size():
    sizes = [(5, 7), (9, 4), (6, 6), (8, 8)]
    dataset = tf.data.Dataset.from_generator(
        lambda: ((np.full((*s, 3), 100, np.uint8), i) for i, s in enumerate(sizes)),
        output_signature=(
            tf.TensorSpec((None, None, 3), tf.uint8),
            tf.TensorSpec((), tf.int64),
        ),
    )
    with pytest.raises(ValueError) as info:
        image_pipeline(dataset, batch_size=2)
    assert str(info.value).startswith("Invalid value for argument `image_size`: expected an ")
    assert "vary in size" in str(info.value) and "image_size=160" in str(info.value)
    images, _ = _collect(
        image_pipeline(dataset, batch_size=2, image_size=6, augment="seed001", seed=0)
    )
    assert images.shape == (4, 6, 6, 3)
    assert images.min() >= 0.0 and images.max() <= 1.0


def test_streamed_images_of_varying_size_are_resized_whole_as_each_alone():
    """A stream of images of varying size is padded per batch and resized (with flips and
    turns) in one pass: the same pixels as tf.image.resize on each image."""
    from regkit.data.options import check_options
    from regkit.data.source import resolve_source
    from regkit.data.stage_plan import plan_stages

    rng = np.random.default_rng(7)
    images = [rng.integers(0, 256, (9, 9 + i, 3), dtype=np.uint8) for i in range(6)]
    labels = np.arange(6) % 3
    stream = tf.data.Dataset.from_generator(
        lambda: zip(images, labels, strict=True),
        output_signature=(
            tf.TensorSpec((9, None, 3), tf.uint8),
            tf.TensorSpec((), tf.int64),
        ),
    )
    options = check_options(
        batch_size=3,
        image_size=8,
        augment=None,
        one_hot=False,
        training=False,
        shuffle=False,
        cache=False,
        seed=None,
        num_classes=3,
        drop_remainder=False,
    )
    assert plan_stages(resolve_source(stream, 3), options).bucket > 0
    out, out_labels = _collect(
        image_pipeline(stream, batch_size=3, image_size=8, training=False, num_classes=3)
    )
    resized = np.stack([tf.image.resize(x, (8, 8)).numpy() / 255.0 for x in images])
    np.testing.assert_allclose(out, resized, atol=1e-5)
    np.testing.assert_array_equal(out_labels, labels)
    aug = Augment(flip=True, rot90=True, contrast=0.2)
    augmented, _ = _collect(
        image_pipeline(
            stream, batch_size=6, image_size=8, augment=aug, seed=3, shuffle=False, num_classes=3
        )
    )
    assert augmented.shape == (6, 8, 8, 3)
    # Each output is one of the eight turns of its resized image, then a contrast change:
    # the per-channel means are kept (the contrast factor scales around them).
    np.testing.assert_allclose(augmented.mean(axis=(1, 2)), resized.mean(axis=(1, 2)), atol=0.02)


def test_randaugment_runs_per_image_and_is_deterministic_with_a_seed():
    x, y = _arrays(n=4, side=8)
    aug = Augment(randaugment=True)

    def run():
        return _collect(image_pipeline((x, y), batch_size=4, augment=aug, shuffle=False, seed=2))

    a, b = run(), run()
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], y)
    assert a[0].shape == (4, 8, 8, 3) and a[0].min() >= 0.0 and a[0].max() <= 1.0
    assert not np.allclose(a[0], x / 255.0)
    with pytest.raises(ValueError, match="argument `augment`: expected RGB images"):
        image_pipeline((x[..., :1], y), augment=aug)


def test_cache_in_memory_and_on_disk(tmp_path):
    x, y = _arrays()
    dataset = tf.data.Dataset.from_tensor_slices((x, y))
    for cache in (True, str(tmp_path / "cache")):
        images, _ = _collect(image_pipeline(dataset, batch_size=4, training=False, cache=cache))
        np.testing.assert_allclose(images, x / 255.0, rtol=1e-6)
    assert any(p.name.startswith("cache") for p in tmp_path.iterdir())


def test_one_training_step_on_digits():
    import keras

    splits = load_dataset("digits")
    train = image_pipeline(
        splits.train, batch_size=32, augment=Augment(rotation=10, mixup=0.2), one_hot=True, seed=0
    )
    model = keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(10, "softmax")]
    )
    model.compile("adam", "categorical_crossentropy")
    history = model.fit(train.take(2), epochs=1, verbose=0, shuffle=False)
    assert np.isfinite(history.history["loss"][0])


# ----------------------------------------------------------------------------------------
# Bad arguments


def test_labels_outside_num_classes_raise_when_iterated():
    x, y = _arrays()
    dataset = tf.data.Dataset.from_tensor_slices((x, y + 3))
    with pytest.raises(tf.errors.InvalidArgumentError, match="labels must be < num_classes=4"):
        _collect(image_pipeline(dataset, batch_size=4, num_classes=4, training=False))


BAD = [
    ({"batch_size": 0}, "batch_size", "a positive int"),
    ({"batch_size": 2.0}, "batch_size", "a positive int"),
    ({"image_size": (0, 4)}, "image_size", "a positive int"),
    ({"image_size": "big"}, "image_size", "None, a positive int or a (height, width) pair"),
    ({"image_size": (4, 4, 3)}, "image_size", "(height, width) pair"),
    ({"one_hot": "yes"}, "one_hot", "a bool"),
    ({"training": None}, "training", "a bool"),
    ({"drop_remainder": 1}, "drop_remainder", "a bool"),
    ({"shuffle": 0}, "shuffle", "None, a bool or a positive buffer size"),
    ({"shuffle": 2.5}, "shuffle", "a positive buffer size"),
    ({"cache": 3}, "cache", "a bool or a file path"),
    ({"seed": "0"}, "seed", "None or an int"),
    ({"num_classes": 0}, "num_classes", "a positive int"),
    ({"num_classes": 3}, "num_classes", "4 (the data's class count)"),
    ({"augment": "strong"}, "augment", "a preset name"),
    ({"augment": Augment(mixup=0.2)}, "one_hot", "True when Augment(mixup=...)"),
    ({"augment": Augment(cutmix=1.0), "one_hot": False}, "one_hot", "mixing needs one-hot"),
    ({"augment": Augment(rot90=True), "image_size": (8, 6)}, "image_size", "needs square"),
]


def test_bad_arguments_name_themselves():
    x, y = _arrays()
    data = from_arrays(x, y)
    for kwargs, argument, detail in BAD:
        with pytest.raises(ValueError) as info:
            image_pipeline(data, **kwargs)
        text = str(info.value)
        assert text.startswith(f"Invalid value for argument `{argument}`"), (kwargs, text)
        assert detail in text, (kwargs, text)


def test_bad_data_names_it():
    x, y = _arrays()
    cases = [
        (tf.data.Dataset.from_tensor_slices((x, y)).batch(2), "call .unbatch()"),
        (tf.data.Dataset.from_tensor_slices((x.reshape(10, -1), y)), "(height, width, channels)"),
        (tf.data.Dataset.from_tensor_slices((x, y.astype(np.float32))), "integer class labels"),
        (tf.data.Dataset.from_tensor_slices((x, np.eye(4)[y])), "(not one-hot)"),
        (tf.data.Dataset.from_tensor_slices((x, y, y)), "(image, label) pairs"),
        (tf.data.Dataset.from_tensor_slices((x.astype(bool), y)), "uint8 or float images"),
    ]
    for dataset, detail in cases:
        with pytest.raises(ValueError) as info:
            image_pipeline(dataset)
        assert str(info.value).startswith("Invalid value for argument `data`"), str(info.value)
        assert detail in str(info.value)
    with pytest.raises(TypeError, match=r"argument `data`: expected a tf\.data\.Dataset"):
        image_pipeline("digits")
    with pytest.raises(TypeError, match=r"expected one split, e\.g\. `splits\.train`"):
        image_pipeline(load_dataset("digits"))
    plain = tf.data.Dataset.from_tensor_slices((x, y))
    with pytest.raises(ValueError, match="argument `num_classes`: expected the number"):
        image_pipeline(plain, one_hot=True)


# ----------------------------------------------------------------------------------------
# Passes that follow an epoch variable (exact resume, issue 11)


def _sources(kind: str):
    x, y = _arrays(n=18, side=8)
    if kind == "arrays":
        return from_arrays(x, y)
    if kind == "stream":
        return tf.data.Dataset.from_tensor_slices((x, y))
    # float images of varying size: prepared one by one before batching
    xs, ys = tf.constant(x), tf.constant(y)

    def example(i):
        width = 8 + tf.cast(i % 3, tf.int32)
        return tf.image.resize(tf.gather(xs, i), tf.stack([8, width])), tf.gather(ys, i)

    return tf.data.Dataset.range(18).map(example)


@pytest.mark.parametrize("kind", ["arrays", "stream", "varying"])
def test_epoch_pass_is_a_function_of_seed_and_epoch(kind):
    """The pass for epoch 3 after passes 0-2 equals a fresh pipeline's pass with the
    variable at 3: shuffle order and augmentation restart nowhere."""
    kwargs = {
        "batch_size": 4,
        "image_size": 8,
        "augment": Augment(flip=True, rotation=10, brightness=0.2),
        "seed": 5,
        "num_classes": 4,
        "value_range": None if kind != "varying" else (0, 255),
    }
    epoch = tf.Variable(0, dtype=tf.int64)
    dataset = image_pipeline(_sources(kind), epoch=epoch, **kwargs)
    assert int(dataset.cardinality()) == 5
    passes = []
    for value in range(4):
        epoch.assign(value)
        passes.append(_collect(dataset))
    fresh_epoch = tf.Variable(3, dtype=tf.int64)
    fresh = _collect(image_pipeline(_sources(kind), epoch=fresh_epoch, **kwargs))
    np.testing.assert_array_equal(fresh[0], passes[3][0])
    np.testing.assert_array_equal(fresh[1], passes[3][1])
    # Each epoch is its own shuffle and augmentation; going back repeats a pass exactly.
    assert not np.array_equal(passes[0][1], passes[1][1])
    assert not np.allclose(passes[1][0], passes[2][0])
    assert sorted(passes[2][1].tolist()) == sorted(np.arange(18) % 4)
    epoch.assign(1)
    again = _collect(dataset)
    np.testing.assert_array_equal(again[0], passes[1][0])


def test_epoch_pipeline_trains_with_keras():
    import keras

    x, y = _arrays(n=16)
    epoch = tf.Variable(0, dtype=tf.int64)
    train = image_pipeline(
        (x, y), batch_size=8, augment="flip-rot90-color", seed=0, epoch=epoch, num_classes=4
    )

    class SetEpoch(keras.callbacks.Callback):
        def on_epoch_begin(self, number, logs=None):
            epoch.assign(number)

    model = keras.Sequential(
        [keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(4)]
    )
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(train, epochs=2, callbacks=[SetEpoch()], verbose=0, shuffle=False)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()
    assert int(epoch.numpy()) == 1


def test_bad_epoch_names_it():
    x, y = _arrays()
    for bad in (3, tf.Variable([0, 1]), tf.Variable(0.5), "0"):
        with pytest.raises(ValueError, match="argument `epoch`: expected None or a scalar"):
            image_pipeline((x, y), epoch=bad)


# ----------------------------------------------------------------------------------------
# model=: images in the range the model expects


def test_model_with_preprocessing_gets_0_255_pixels():
    import keras

    x, y = _arrays(n=4)
    inputs = keras.Input((8, 8, 3))
    scaled = keras.layers.Rescaling(1 / 255)(inputs)
    raw_model = keras.Model(inputs, keras.layers.Flatten()(scaled))
    plain_model = keras.Model(inputs, keras.layers.Flatten()(inputs))
    kwargs = {"batch_size": 4, "training": False}
    raw, _ = next(iter(image_pipeline((x, y), model=raw_model, **kwargs)))
    plain, _ = next(iter(image_pipeline((x, y), model=plain_model, **kwargs)))
    np.testing.assert_allclose(raw.numpy(), x.astype(np.float32), atol=1e-3)
    np.testing.assert_allclose(plain.numpy(), x / 255.0, atol=1e-6)
    # The model sees the same thing either way: never scaled twice.
    np.testing.assert_allclose(raw_model(raw), plain_model(plain), atol=1e-5)
    # Augmented batches stay in the model's range too.
    aug, _ = next(
        iter(image_pipeline((x, y), model=raw_model, batch_size=4, augment="seed001", seed=0))
    )
    assert float(tf.reduce_min(aug)) >= 0.0 and float(tf.reduce_max(aug)) <= 255.0 + 1e-3
    assert float(tf.reduce_max(aug)) > 2.0


def test_model_input_must_fit():
    import keras

    x, y = _arrays(n=4)
    small = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Flatten()])
    with pytest.raises(ValueError, match=r"argument `image_size`: expected the model's input"):
        image_pipeline((x, y), model=small)
    assert next(iter(image_pipeline((x, y), model=small, image_size=4)))[0].shape == (4, 4, 4, 3)
    grey = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten()])
    with pytest.raises(ValueError, match="argument `model`: expected a model taking images"):
        image_pipeline((x, y), model=grey)
    with pytest.raises(TypeError, match="argument `model`"):
        image_pipeline((x, y), model="cnn")


def _assert_epoch_one_resumes_exactly(x, y, kwargs):
    """Epoch 1 of a pipeline that ran epoch 0 equals epoch 1 of a fresh pipeline (a resumed
    run) and differs from epoch 0; returns epoch 0's images."""
    epoch = tf.Variable(0, dtype=tf.int64)
    dataset = image_pipeline((x, y), epoch=epoch, **kwargs)
    first = _collect(dataset)[0]
    epoch.assign(1)
    second = _collect(dataset)[0]
    fresh = image_pipeline((x, y), epoch=tf.Variable(1, dtype=tf.int64), **kwargs)
    np.testing.assert_array_equal(_collect(fresh)[0], second)
    assert not np.array_equal(first, second)
    return first


def test_random_erasing_in_the_pipeline_resumes_exactly_and_is_off_at_inference():
    x, y = _arrays(n=12, side=8)
    kwargs = {"batch_size": 6, "augment": Augment(random_erasing=0.8), "seed": 2}
    first = _assert_epoch_one_resumes_exactly(x, y, kwargs)
    plain = _collect(image_pipeline((x, y), training=False, batch_size=6))[0]
    assert not np.allclose(np.sort(first, axis=None), np.sort(plain, axis=None))
    off = image_pipeline((x, y), training=False, batch_size=6, augment=kwargs["augment"])
    np.testing.assert_array_equal(_collect(off)[0], plain)
    none = image_pipeline((x, y), batch_size=6, shuffle=False, augment=Augment(random_erasing=0))
    np.testing.assert_array_equal(_collect(none)[0], plain)


@pytest.mark.slow  # about 16 s on the shared 2-core machine (tracing Keras' RandAugment)
def test_randaugment_passes_follow_the_epoch_variable():
    """Exact resume holds for RandAugment too (issue 22): its draws restart from (seed,
    epoch, position in the pass), not from the Keras layer's running state."""
    x, y = _arrays(n=4, side=8)
    kwargs = {"batch_size": 4, "augment": Augment(randaugment=True), "seed": 4}
    _assert_epoch_one_resumes_exactly(x, y, kwargs)
