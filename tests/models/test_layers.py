"""regkit.layers: DropPath and DropBlock2D against their definitions.

Each drop rate is compared with the rate computed by hand (NumPy) over many independent
samples, with a tolerance of five standard errors computed from the binomial law (DropPath)
or from the spread of the independent feature maps (DropBlock2D, whose units are correlated
within a map but independent across maps).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from regkit.layers import DropBlock2D, DropPath, drop_path_rates

SIGMAS = 5.0


def _sliding(a: np.ndarray, k: int) -> np.ndarray:
    """All k x k windows of the (H, W) maps of `a` (..., H, W): shape (..., H-k+1, W-k+1, k, k)."""
    return np.lib.stride_tricks.sliding_window_view(a, (k, k), axis=(-2, -1))


def _expected_dropblock_fraction(rate: float, k: int, height: int, width: int) -> float:
    """The fraction DropBlock drops, from the paper's definition, computed by hand.

    gamma seeds per valid position ((H-k+1) x (W-k+1), where a whole block fits); unit u is
    dropped unless none of the c(u) valid seeds whose block covers it fired.
    """
    k = min(k, height, width)
    valid = (height - k + 1) * (width - k + 1)
    gamma = rate / k**2 * height * width / valid
    cover = np.zeros((height, width))
    for i in range(height - k + 1):
        for j in range(width - k + 1):
            cover[i : i + k, j : j + k] += 1
    return float(np.mean(1.0 - (1.0 - gamma) ** cover))


# --------------------------------------------------------------------------- DropPath
def test_drop_path_rates_follow_the_linear_rule():
    assert drop_path_rates(0.2, 4) == pytest.approx([0.05, 0.1, 0.15, 0.2])
    assert drop_path_rates(0.3, 1) == [0.3]
    assert drop_path_rates(0.1, 0) == []


def test_drop_path_drops_whole_samples_at_the_asked_rate_and_rescales_survivors():
    rate, n = 0.3, 20_000
    x = np.random.default_rng(0).uniform(0.5, 1.5, size=(n, 3, 2)).astype("float32")
    y = np.asarray(DropPath(rate, seed=1)(x, training=True))
    dropped = np.all(y == 0, axis=(1, 2))
    kept = np.allclose(y[~dropped], x[~dropped] / (1 - rate), rtol=1e-6)
    assert kept  # every sample is all-zero or the whole input scaled by 1/(1 - rate)
    tolerance = SIGMAS * np.sqrt(rate * (1 - rate) / n)
    assert abs(dropped.mean() - rate) < tolerance


def test_drop_path_is_the_identity_at_inference_and_at_rate_zero():
    x = np.random.default_rng(0).normal(size=(4, 5, 5, 3)).astype("float32")
    np.testing.assert_array_equal(np.asarray(DropPath(0.5, seed=0)(x)), x)
    np.testing.assert_array_equal(np.asarray(DropPath(0.5, seed=0)(x, training=False)), x)
    np.testing.assert_array_equal(np.asarray(DropPath(0.0)(x, training=True)), x)


def test_drop_path_seed_repeats_masks_and_calls_draw_new_ones():
    x = np.ones((64, 1), "float32")
    a, b = DropPath(0.5, seed=7), DropPath(0.5, seed=7)
    first = np.asarray(a(x, training=True))
    np.testing.assert_array_equal(first, np.asarray(b(x, training=True)))
    assert not np.array_equal(first, np.asarray(a(x, training=True)))


def test_drop_path_rate_is_an_attribute_and_config_round_trips():
    layer = DropPath(0.25, seed=3, name="dp")
    assert layer.rate == 0.25
    config = layer.get_config()
    assert config["rate"] == 0.25 and config["seed"] == 3 and config["name"] == "dp"
    again = DropPath.from_config(config)
    assert (again.rate, again.seed, again.name) == (0.25, 3, "dp")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rate": 1.0}, "Invalid value for argument `rate`: expected a float in [0, 1). "),
        ({"rate": -0.1}, "argument `rate`"),
        ({"rate": "0.1"}, "argument `rate`"),
        ({"rate": 0.1, "seed": -1}, "argument `seed`: expected None or an int in [0, 2**31)"),
        ({"rate": 0.1, "seed": 1.5}, "argument `seed`"),
    ],
)
def test_drop_path_refuses_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=None) as error:
        DropPath(**kwargs)
    assert message in str(error.value)


@pytest.mark.parametrize("layer", [DropPath, DropBlock2D])
def test_a_rate_too_large_for_a_float_is_out_of_range_not_an_overflow(layer):
    with pytest.raises(ValueError) as error:
        layer(10**400)
    assert str(error.value) == (
        f"Invalid value for argument `rate`: expected a float in [0, 1). Received: rate={10**400!r}"
    )


@pytest.mark.parametrize("training", [True, False])
def test_drop_path_refuses_a_scalar_input_which_has_no_batch_axis(training):
    with pytest.raises(ValueError) as error:
        DropPath(0.5)(keras.ops.convert_to_tensor(1.0), training=training)
    assert str(error.value) == (
        "Invalid value for argument `inputs`: expected a tensor with a batch axis "
        "(rank >= 1). Received: inputs=()"
    )


def test_drop_path_on_a_vector_drops_whole_samples():
    """Rank 1 (a batch of scalars) is the smallest input with a batch axis: each sample is
    0 or x / (1 - rate)."""
    x = np.full((4000,), 2.0, dtype="float32")
    y = np.asarray(DropPath(0.5, seed=3)(x, training=True))
    assert set(np.unique(y)) == {0.0, 4.0}
    assert abs(np.mean(y == 0.0) - 0.5) < SIGMAS * np.sqrt(0.25 / x.size)


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (
            (0.1, 2**31),
            ValueError,
            "Invalid value for argument `blocks`: expected an int <= 10000. "
            "Received: blocks=2147483648",
        ),
        (
            (0.1, -1),
            ValueError,
            "Invalid value for argument `blocks`: expected an int >= 0. Received: blocks=-1",
        ),
        (
            (10**400, 2),
            ValueError,
            f"Invalid value for argument `rate`: expected a float in [0, 1). "
            f"Received: rate={10**400!r}",
        ),
        (
            (0.1, 2.0),
            TypeError,
            "Invalid type for argument `blocks`: expected an int. "
            "Received: blocks=2.0 of type float",
        ),
    ],
)
def test_drop_path_rates_refuses_bad_arguments(args, error, message):
    with pytest.raises(error) as info:
        drop_path_rates(*args)
    assert str(info.value) == message


def test_drop_path_rates_accepts_the_largest_block_count():
    rates = drop_path_rates(0.5, 10_000)
    assert len(rates) == 10_000 and rates[-1] == 0.5 and rates[0] == pytest.approx(0.5e-4)


# --------------------------------------------------------------------------- DropBlock2D
@pytest.mark.parametrize(("height", "width", "k"), [(12, 12, 3), (10, 13, 4), (6, 6, 7)])
def test_drop_block_drops_the_fraction_the_paper_defines(height, width, k):
    rate, maps = 0.15, 512
    x = np.ones((maps // 4, height, width, 4), "float32")
    y = np.asarray(DropBlock2D(rate, k, seed=2)(x, training=True))
    per_map = (y == 0).mean(axis=(1, 2)).ravel()  # maps are independent
    expected = _expected_dropblock_fraction(rate, k, height, width)
    tolerance = SIGMAS * per_map.std(ddof=1) / np.sqrt(per_map.size) + 1e-9
    assert abs(per_map.mean() - expected) < tolerance
    # the rule targets `rate`: with overlapping blocks the expected fraction is a bit below
    assert 0.75 * rate < expected <= rate + 1e-9


@pytest.mark.parametrize("k", [3, 4])
def test_drop_block_zeros_come_in_whole_blocks_inside_the_map(k):
    x = np.ones((8, 14, 14, 3), "float32")
    y = np.asarray(DropBlock2D(0.2, k, seed=4)(x, training=True))
    zeros = np.moveaxis(y == 0, -1, 1)  # (batch, channels, H, W)
    assert zeros.any()
    full = _sliding(zeros, k).all(axis=(-2, -1))  # windows entirely zero
    covered = np.zeros_like(zeros)
    for i, j in zip(*np.nonzero(full.any(axis=(0, 1))), strict=True):
        covered[..., i : i + k, j : j + k] |= full[..., i, j][..., None, None]
    # every zero lies in some all-zero k x k square that fits in the map
    np.testing.assert_array_equal(covered, zeros)


def test_drop_block_rescales_by_the_count_of_kept_units():
    x = np.random.default_rng(0).uniform(1, 2, size=(4, 10, 10, 2)).astype("float32")
    y = np.asarray(DropBlock2D(0.2, 3, seed=5)(x, training=True))
    mask = y != 0
    scale = mask.size / mask.sum()
    np.testing.assert_allclose(y[mask], x[mask] * scale, rtol=1e-5)
    ones = np.asarray(DropBlock2D(0.2, 3, seed=5)(np.ones_like(x), training=True))
    assert ones.sum() == pytest.approx(x.size, rel=1e-5)  # the sum is kept exactly


def test_drop_block_larger_than_the_map_is_clipped_to_it():
    rate, n = 0.25, 4000
    x = np.ones((n // 4, 3, 5, 4), "float32")
    y = np.asarray(DropBlock2D(rate, 7, seed=6)(x, training=True))
    assert np.isfinite(y).all()
    # clipped to 3x3 on a 3x5 map: every block spans the whole height
    np.testing.assert_array_equal((y == 0).all(axis=1), (y == 0).any(axis=1))
    # 3x5 map, 3x3 block: 3 seed positions at gamma = rate * 15 / (9 * 3)
    gamma = rate * 15 / 27
    columns = np.array([1, 2, 3, 2, 1])  # valid seeds covering each column
    expected = np.mean(1 - (1 - gamma) ** columns)
    per_map = (y == 0).mean(axis=(1, 2)).ravel()
    tolerance = SIGMAS * per_map.std(ddof=1) / np.sqrt(per_map.size)
    assert abs(per_map.mean() - expected) < tolerance


def test_drop_block_channels_first_drops_the_same_fraction():
    rate, k = 0.2, 3
    x = np.ones((64, 4, 12, 12), "float32")
    y = np.asarray(DropBlock2D(rate, k, seed=8, data_format="channels_first")(x, training=True))
    per_map = (y == 0).mean(axis=(2, 3)).ravel()
    tolerance = SIGMAS * per_map.std(ddof=1) / np.sqrt(per_map.size)
    assert abs(per_map.mean() - _expected_dropblock_fraction(rate, k, 12, 12)) < tolerance


def test_drop_block_is_the_identity_at_inference():
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype("float32")
    layer = DropBlock2D(0.3, 3, seed=0)
    np.testing.assert_array_equal(np.asarray(layer(x)), x)
    np.testing.assert_array_equal(np.asarray(DropBlock2D(0.0, 3)(x, training=True)), x)
    assert layer.weights == []


def test_drop_block_ramp_grows_the_rate_linearly_over_training_calls():
    layer = DropBlock2D(0.2, 3, seed=0, ramp_steps=4)
    x = np.ones((2, 8, 8, 2), "float32")
    rates = []
    for _ in range(6):
        rates.append(float(layer.current_rate()) if layer.built else 0.0)
        layer(x, training=True)
    assert rates == pytest.approx([0.0, 0.05, 0.1, 0.15, 0.2, 0.2])
    assert float(layer.step.numpy()) == 6.0
    layer(x)  # inference calls do not count
    assert float(layer.step.numpy()) == 6.0


def test_drop_block_works_under_tf_function_with_an_unknown_size():
    import tensorflow as tf

    layer = DropBlock2D(0.2, 3, seed=0)
    fn = tf.function(
        lambda t: layer(t, training=True),
        input_signature=[tf.TensorSpec((None, None, None, 2), tf.float32)],
    )
    y = fn(tf.ones((32, 12, 12, 2))).numpy()
    per_map = (y == 0).mean(axis=(1, 2)).ravel()
    tolerance = SIGMAS * per_map.std(ddof=1) / np.sqrt(per_map.size)
    assert abs(per_map.mean() - _expected_dropblock_fraction(0.2, 3, 12, 12)) < tolerance
    assert np.isfinite(fn(tf.ones((2, 2, 3, 2))).numpy()).all()  # map smaller than the block


def test_drop_block_config_round_trips():
    layer = DropBlock2D(0.1, 5, seed=1, ramp_steps=10, name="db")
    again = DropBlock2D.from_config(layer.get_config())
    assert (again.rate, again.block_size, again.seed, again.ramp_steps, again.name) == (
        0.1,
        5,
        1,
        10,
        "db",
    )
    assert again.data_format == keras.config.image_data_format()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rate": 1.5}, "Invalid value for argument `rate`: expected a float in [0, 1)."),
        ({"rate": 0.1, "block_size": 0}, "argument `block_size`"),
        ({"rate": 0.1, "block_size": 5000}, "argument `block_size`: expected an int in [1, 1024]"),
        ({"rate": 0.1, "data_format": "nhwc"}, "argument `data_format`"),
        ({"rate": 0.1, "ramp_steps": -1}, "argument `ramp_steps`"),
    ],
)
def test_drop_block_refuses_bad_arguments(kwargs, message):
    with pytest.raises(ValueError) as error:
        DropBlock2D(**kwargs)
    assert message in str(error.value)


def test_drop_block_refuses_an_input_that_is_not_rank_4():
    with pytest.raises(ValueError, match="Invalid value for argument `inputs`"):
        DropBlock2D(0.1, 3)(keras.Input((8, 8)))


# --------------------------------------------------------------------------- in any model
@pytest.fixture(scope="module")
def saved_model_pair(tmp_path_factory):
    """A small non-regkit model holding both layers, trained one step, saved and reloaded."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", name="conv")(inputs)
    branch = keras.layers.Conv2D(4, 3, padding="same", name="branch")(x)
    x = keras.layers.Add()([x, DropPath(0.3, seed=1, name="dp")(branch)])
    x = DropBlock2D(0.2, 3, seed=2, ramp_steps=5, name="db")(x)
    outputs = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, outputs)
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    data = np.random.default_rng(0).normal(size=(4, 8, 8, 3)).astype("float32")
    model.fit(data, np.array([0, 1, 0, 1]), epochs=1, batch_size=4, verbose=0)
    path = tmp_path_factory.mktemp("layers") / "m.keras"
    model.save(path)
    return model, keras.saving.load_model(path), data


def test_keras_round_trip_is_exact(saved_model_pair):
    model, loaded, data = saved_model_pair
    assert isinstance(loaded.get_layer("dp"), DropPath)
    assert isinstance(loaded.get_layer("db"), DropBlock2D)
    assert loaded.get_layer("dp").rate == 0.3 and loaded.get_layer("db").block_size == 3
    assert float(loaded.get_layer("db").step.numpy()) == 1.0  # the ramp resumes where it was
    np.testing.assert_array_equal(loaded.predict(data, verbose=0), model.predict(data, verbose=0))


def test_inference_equals_the_same_weights_without_the_layers(saved_model_pair):
    model, _, data = saved_model_pair
    inputs = keras.Input((8, 8, 3))
    x = model.get_layer("conv")(inputs)
    x = keras.layers.Add()([x, model.get_layer("branch")(x)])
    outputs = model.layers[-1](model.layers[-2](x))
    plain = keras.Model(inputs, outputs)
    np.testing.assert_allclose(
        plain.predict(data, verbose=0), model.predict(data, verbose=0), rtol=0, atol=0
    )


def test_layers_work_under_mixed_precision():
    keras.config.set_dtype_policy("mixed_float16")
    x = np.ones((4, 8, 8, 2), "float16")
    y = DropBlock2D(0.2, 3, seed=0)(DropPath(0.2, seed=0)(x, training=True), training=True)
    assert y.dtype == "float16" and np.isfinite(np.asarray(y)).all()
