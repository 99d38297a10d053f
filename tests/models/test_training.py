"""Tests for regkit.training.compile_model."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from regkit.training import compile_model, output_kind


def _bn_model(output: str = "softmax", units: int = 3) -> keras.Model:
    """Dense -> BN -> ReLU -> Dense: kernels, biases, gamma and beta all present."""
    inputs = keras.Input((6,))
    x = keras.layers.Dense(5, name="hidden")(inputs)
    x = keras.layers.BatchNormalization(name="hidden_bn")(x)
    x = keras.layers.ReLU()(x)
    activation = None if output == "logits" else output
    outputs = keras.layers.Dense(units, activation=activation, name="head_predictions")(x)
    return keras.Model(inputs, outputs)


def _loss_config(model: keras.Model) -> tuple[str, dict]:
    return type(model.loss).__name__, model.loss.get_config()


def test_defaults_sparse_softmax():
    model = compile_model(_bn_model("softmax"))
    name, config = _loss_config(model)
    assert name == "SparseCategoricalCrossentropy"
    assert config["from_logits"] is False
    assert type(model.optimizer).__name__ == "Adam"
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)
    assert model.optimizer.weight_decay is None


def test_logits_detected_from_linear_final_layer():
    model = compile_model(_bn_model("logits"))
    assert _loss_config(model)[1]["from_logits"] is True
    assert output_kind(model) == "logits"


def test_softmax_layer_and_activation_layer_count_as_probabilities():
    inputs = keras.Input((4,))
    x = keras.layers.Dense(3)(inputs)
    assert output_kind(keras.Model(inputs, keras.layers.Softmax()(x))) == "softmax"
    assert output_kind(keras.Model(inputs, keras.layers.Activation("softmax")(x))) == "softmax"
    seq = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    assert output_kind(seq) == "softmax"


def test_unknown_final_activation_asks_for_from_logits():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="relu")(inputs))
    with pytest.raises(ValueError, match="Pass `from_logits=True`"):
        compile_model(model)
    compile_model(model, from_logits=True)
    assert _loss_config(model)[1]["from_logits"] is True


def test_one_hot_labels_with_label_smoothing():
    model = compile_model(_bn_model("logits"), labels="one_hot", label_smoothing=0.1)
    name, config = _loss_config(model)
    assert name == "CategoricalCrossentropy"
    assert config["label_smoothing"] == pytest.approx(0.1)
    assert config["from_logits"] is True
    x = np.random.default_rng(0).normal(size=(8, 6)).astype("float32")
    y = keras.utils.to_categorical(np.arange(8) % 3, 3)
    history = model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert set(history.history) == {"loss", "accuracy"}
    assert np.isfinite(history.history["loss"][0])


def test_sparse_labels_reject_label_smoothing():
    with pytest.raises(ValueError, match="labels='one_hot'"):
        compile_model(_bn_model(), label_smoothing=0.1)


def test_single_unit_output_uses_binary_loss():
    model = compile_model(_bn_model("sigmoid", units=1), label_smoothing=0.05)
    name, config = _loss_config(model)
    assert name == "BinaryCrossentropy"
    assert config["from_logits"] is False
    model = compile_model(_bn_model("logits", units=1))
    assert _loss_config(model)[1]["from_logits"] is True


def test_sparse_training_step_and_history_keys():
    model = compile_model(_bn_model("softmax"), optimizer="sgd", learning_rate=0.05)
    x = np.random.default_rng(0).normal(size=(8, 6)).astype("float32")
    y = np.arange(8) % 3
    history = model.fit(x, y, batch_size=4, epochs=1, verbose=0, validation_data=(x, y))
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert np.isfinite(history.history["loss"][0])


@pytest.mark.parametrize(
    ("name", "weight_decay", "cls"),
    [
        ("adam", 0.0, "Adam"),
        ("adam", 1e-4, "AdamW"),
        ("adamw", 1e-4, "AdamW"),
        ("sgd", 0.0, "SGD"),
        ("rmsprop", 0.0, "RMSprop"),
    ],
)
def test_optimizer_by_name(name, weight_decay, cls):
    model = compile_model(
        _bn_model(), optimizer=name, learning_rate=0.01, weight_decay=weight_decay
    )
    assert type(model.optimizer).__name__ == cls
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
    assert (model.optimizer.weight_decay or 0.0) == pytest.approx(weight_decay)


def test_sgd_momentum_default_and_explicit():
    assert compile_model(_bn_model(), optimizer="sgd").optimizer.momentum == 0.0
    assert compile_model(_bn_model(), optimizer="sgd", momentum=0.9).optimizer.momentum == 0.9
    with pytest.raises(ValueError, match="has no momentum argument"):
        compile_model(_bn_model(), optimizer="adam", momentum=0.9)


def test_unknown_optimizer_lists_choices():
    with pytest.raises(ValueError) as err:
        compile_model(_bn_model(), optimizer="adagrad")
    assert str(err.value) == (
        "Invalid value for argument `optimizer`: expected one of 'adam', 'adamw', 'sgd', "
        "'rmsprop'. Received: optimizer='adagrad'"
    )


def test_bad_numbers_and_labels():
    with pytest.raises(ValueError, match=r"Received: weight_decay=-0\.1"):
        compile_model(_bn_model(), weight_decay=-0.1)
    with pytest.raises(ValueError, match=r"expected a float in \[0, 1\)"):
        compile_model(_bn_model(), labels="one_hot", label_smoothing=1.0)
    with pytest.raises(ValueError, match="'sparse', 'one_hot'"):
        compile_model(_bn_model(), labels="categorical")
    with pytest.raises(TypeError, match="learning_rate"):
        compile_model(_bn_model(), learning_rate="fast")


def test_optimizer_instance_is_used_and_conflicting_args_raise():
    opt = keras.optimizers.SGD(0.3)
    model = compile_model(_bn_model(), optimizer=opt)
    assert model.optimizer is opt
    with pytest.raises(ValueError, match="set it on the SGD instance"):
        compile_model(_bn_model(), optimizer=keras.optimizers.SGD(0.3), learning_rate=0.1)
    with pytest.raises(ValueError, match=r"Received: weight_decay=0\.01"):
        compile_model(_bn_model(), optimizer=keras.optimizers.SGD(0.3), weight_decay=0.01)
    with pytest.raises(TypeError, match="optimizer"):
        compile_model(_bn_model(), optimizer=42)


def _decay_steps(model: keras.Model, steps: int) -> None:
    """Applies `steps` updates with all-zero gradients: only weight decay can move weights."""
    zeros = [keras.ops.zeros_like(v) for v in model.trainable_variables]
    for _ in range(steps):
        model.optimizer.apply_gradients(zip(zeros, model.trainable_variables, strict=True))


@pytest.mark.parametrize(
    "optimizer",
    ["sgd", "adam", "rmsprop", lambda: keras.optimizers.AdamW(0.1, weight_decay=0.5)],
)
def test_weight_decay_skips_batchnorm_and_biases(optimizer):
    model = _bn_model()
    if callable(optimizer):
        compile_model(model, optimizer=optimizer())
    else:
        compile_model(model, optimizer=optimizer, learning_rate=0.1, weight_decay=0.5)
    before = {v.path: v.numpy().copy() for v in model.trainable_variables}
    _decay_steps(model, 3)
    exempt = {"hidden/bias", "hidden_bn/gamma", "hidden_bn/beta", "head_predictions/bias"}
    kernels = {"hidden/kernel", "head_predictions/kernel"}
    assert set(before) == exempt | kernels
    for var in model.trainable_variables:
        key = var.path
        if key in exempt:
            np.testing.assert_array_equal(var.numpy(), before[var.path], err_msg=key)
        else:  # decoupled decay: w <- w * (1 - lr * wd) per step
            np.testing.assert_allclose(
                var.numpy(), before[var.path] * (1 - 0.1 * 0.5) ** 3, rtol=1e-5, err_msg=key
            )


def test_zero_weight_decay_moves_nothing():
    model = compile_model(_bn_model(), optimizer="sgd", learning_rate=0.1)
    before = [v.numpy().copy() for v in model.trainable_variables]
    _decay_steps(model, 2)
    for var, old in zip(model.trainable_variables, before, strict=True):
        np.testing.assert_array_equal(var.numpy(), old)


def test_a_built_optimizer_still_keeps_batchnorm_and_biases_out_of_decay():
    """As after `keras.saving.load_model`: the optimizer is built; regkit fixes it anyway."""
    opt = keras.optimizers.SGD(0.1, weight_decay=0.5)
    model = _bn_model()
    opt.build(model.trainable_variables)
    compile_model(model, optimizer=opt)
    before = {v.path: v.numpy().copy() for v in model.trainable_variables}
    _decay_steps(model, 1)
    for var in model.trainable_variables:
        moved = not np.array_equal(var.numpy(), before[var.path])
        assert moved == var.path.endswith("kernel"), var.path


def test_jit_compile_auto_and_steps_per_execution():
    model = compile_model(_bn_model(), steps_per_execution=2)
    assert model.steps_per_execution == 2
    # "auto" is Keras' own choice: never XLA on a CPU-only machine.
    import tensorflow as tf

    if not tf.config.list_physical_devices("GPU"):
        assert model.jit_compile is False


def test_custom_metrics_replace_accuracy():
    model = compile_model(_bn_model(), metrics=["sparse_top_k_categorical_accuracy"])
    x = np.zeros((4, 6), "float32")
    logs = model.evaluate(x, np.zeros(4, "int32"), verbose=0, return_dict=True)
    assert set(logs) == {"loss", "sparse_top_k_categorical_accuracy"}


def test_compiled_model_round_trips_without_custom_objects(tmp_path):
    model = compile_model(_bn_model("logits"), optimizer="adam", weight_decay=1e-4)
    x = np.random.default_rng(1).normal(size=(4, 6)).astype("float32")
    model.fit(x, np.arange(4) % 3, epochs=1, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), 1e-6)
    assert type(loaded.optimizer).__name__ == "AdamW"


def test_optimizer_is_created_in_the_models_strategy_scope(monkeypatch):
    import tensorflow as tf

    from regkit import training

    seen = []
    make = training._make_optimizer

    def recording_make(*args, **kwargs):
        seen.append(tf.distribute.get_strategy())
        return make(*args, **kwargs)

    monkeypatch.setattr(training, "_make_optimizer", recording_make)
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with strategy.scope():
        model = _bn_model()
    compile_model(model, optimizer="sgd")  # outside the scope: the model's strategy is used
    assert seen == [strategy]
    other = tf.distribute.OneDeviceStrategy("/cpu:0")
    compile_model(_bn_model(), optimizer="sgd", strategy=other)
    assert seen[-1] is other
    compile_model(_bn_model(), optimizer="sgd")  # plain model: the default strategy
    assert not isinstance(seen[-1], tf.distribute.OneDeviceStrategy)


def test_learning_rate_must_be_positive():
    with pytest.raises(ValueError, match="argument `learning_rate`: expected a finite float > 0"):
        compile_model(_bn_model(), learning_rate=0.0)


# ------------------------------------------------------------------ sigmoid outputs (issue 14)


def test_a_binary_sigmoid_model_gets_binary_cross_entropy():
    model = compile_model(_bn_model("sigmoid", units=1))
    name, config = _loss_config(model)
    assert name == "BinaryCrossentropy" and config["from_logits"] is False
    x = np.random.default_rng(0).normal(size=(8, 6)).astype("float32")
    y = np.array([0, 1] * 4)
    logs = model.fit(x, y, epochs=1, verbose=0).history
    assert set(logs) == {"loss", "accuracy"}
    assert np.isfinite(logs["loss"][0]) and 0.0 <= logs["accuracy"][0] <= 1.0


def test_a_multi_label_sigmoid_model_gets_binary_cross_entropy_per_label():
    model = compile_model(_bn_model("sigmoid", units=4), labels="one_hot")
    name, config = _loss_config(model)
    assert name == "BinaryCrossentropy" and config["from_logits"] is False
    x = np.random.default_rng(0).normal(size=(8, 6)).astype("float32")
    multi_hot = (np.random.default_rng(1).random((8, 4)) > 0.5).astype("float32")
    result = model.evaluate(x, multi_hot, verbose=0, return_dict=True)
    probs = model.predict(x, verbose=0)
    expected = keras.losses.BinaryCrossentropy()(multi_hot, probs)
    assert result["loss"] == pytest.approx(float(expected), rel=1e-4)
    assert result["accuracy"] == pytest.approx(float(np.mean((probs > 0.5) == multi_hot)))


# ------------------------------------------------------------ schedules and hardening (issue 15)


@pytest.mark.parametrize(
    ("optimizer", "weight_decay"), [("adam", 0.0), ("adam", 0.01), ("sgd", 0.01)]
)
def test_a_learning_rate_schedule_is_accepted(optimizer, weight_decay):
    schedule = keras.optimizers.schedules.CosineDecay(0.1, decay_steps=4)
    model = compile_model(
        _bn_model(), optimizer=optimizer, learning_rate=schedule, weight_decay=weight_decay
    )
    x = np.random.default_rng(0).normal(size=(8, 6)).astype("float32")
    history = model.fit(x, np.arange(8) % 3, batch_size=4, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert float(model.optimizer.learning_rate) == pytest.approx(float(schedule(4)), abs=1e-7)
    assert float(model.optimizer.learning_rate) < 0.1  # the schedule decayed it


@pytest.mark.parametrize("model", [None, {}, "avg", 3, keras.layers.Dense(2)])
def test_something_else_than_a_model_names_model(model):
    with pytest.raises(TypeError, match=r"`model`: expected a keras\.Model"):
        compile_model(model)


@pytest.mark.parametrize(
    ("kwargs", "arg", "error"),
    [
        ({"metrics": 5}, "metrics", TypeError),
        ({"metrics": "accuracy"}, "metrics", TypeError),
        ({"jit_compile": "yes"}, "jit_compile", ValueError),
        ({"jit_compile": 1}, "jit_compile", ValueError),
        ({"steps_per_execution": 2**63}, "steps_per_execution", ValueError),
        ({"steps_per_execution": 1.5}, "steps_per_execution", TypeError),
        ({"strategy": "mirrored"}, "strategy", TypeError),
        ({"from_logits": "yes"}, "from_logits", ValueError),
        (
            {"learning_rate": 2**63 * 1.0, "optimizer": keras.optimizers.SGD()},
            "learning_rate",
            ValueError,
        ),
        ({"momentum": float("inf"), "optimizer": "sgd"}, "momentum", ValueError),
        ({"weight_decay": float("nan")}, "weight_decay", ValueError),
    ],
)
def test_bad_options_name_their_argument(kwargs, arg, error):
    with pytest.raises(error, match=f"`{arg}`"):
        compile_model(_bn_model(), **kwargs)


# ------------------------------------------- every field of a reg acts, or says why not
def _data(n=16):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 6)).astype("float32"), np.arange(n) % 3


class _Weights(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batches = []

    def on_train_batch_end(self, batch, logs=None):
        self.batches.append([np.array(w, dtype=np.float64) for w in self.model.get_weights()])


def test_compile_model_with_ema_makes_fit_average_by_the_definition():
    from regkit import Regularization
    from regkit.callbacks import EMA

    x, y = _data()
    keras.utils.set_random_seed(0)
    model = compile_model(_bn_model("logits"), optimizer="sgd", reg=Regularization(ema=0.6))
    record = _Weights()
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[record])
    average = None  # by hand: a = w after the first step, then min(0.6, (1+k)/(10+k))
    for k, w in enumerate(record.batches, 1):
        d = 0.0 if k == 1 else min(0.6, (1 + k) / (10 + k))
        average = (
            w if average is None else [d * a + (1 - d) * b for a, b in zip(average, w, strict=True)]
        )
    for got, want in zip(model.get_weights(), average, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    ema = EMA(0.6)  # given explicitly: used as it is, not a second one
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[ema])
    assert ema.updates == 4
    with pytest.raises(ValueError, match=r"disagrees with `reg.ema`=0.6"):
        model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[EMA(0.9)])
    compile_model(model, optimizer="sgd")  # compiled again without ema: a plain fit
    assert "fit" not in vars(model)


def test_compile_model_with_swa_makes_fit_average_and_recompute_batch_norm():
    from regkit import Regularization

    x, y = _data()
    keras.utils.set_random_seed(0)
    model = compile_model(_bn_model("logits"), optimizer="sgd", reg=Regularization(swa=0.5))
    ends = []
    grab = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda e, logs: ends.append(model.get_layer("hidden").kernel.numpy())
    )
    model.fit(x, y, batch_size=4, epochs=4, validation_split=0.25, verbose=0, callbacks=[grab])
    np.testing.assert_allclose(
        model.get_layer("hidden").kernel.numpy(), (ends[2] + ends[3]) / 2, rtol=1e-5, atol=1e-6
    )
    hidden = model.get_layer("hidden")  # BatchNorm recomputed over fit's 12 training rows
    h = [x[i : i + 4] @ hidden.kernel.numpy() + hidden.bias.numpy() for i in range(0, 12, 4)]
    np.testing.assert_allclose(
        model.get_layer("hidden_bn").moving_mean.numpy(),
        np.mean([b.mean(0) for b in h], 0),
        rtol=1e-5,
        atol=1e-6,
    )

    def batches():
        while True:
            yield x[:4], y[:4]

    with pytest.raises(ValueError, match=r"`reg.swa` makes fit average .* train_data="):
        model.fit(batches(), steps_per_epoch=2, epochs=1, verbose=0)


def test_ema_and_swa_together_are_refused_by_compile_model():
    from regkit import Regularization

    with pytest.raises(ValueError, match="use one"):
        compile_model(_bn_model(), reg=Regularization(ema=0.9, swa=0.5))


@pytest.mark.parametrize(
    ("field", "value", "lacks"),
    [
        ("l2", 1e-4, "no kernel regularizer"),
        ("l2_sp", 1e-3, "no L2-SP penalty"),
        ("dropout", 0.2, "no Dropout layer"),
        ("spatial_dropout", 0.1, "no SpatialDropout layer"),
        ("drop_path", 0.1, "no DropPath layer"),
        ("drop_block", 0.1, "no DropBlock2D layer"),
        ("head_batch_norm", True, None),  # the model has a BatchNormalization layer
    ],
)
def test_a_field_the_model_does_not_carry_is_named_in_a_warning(field, value, lacks):
    import warnings

    from regkit import Regularization

    reg = Regularization(**{field: value})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compile_model(_bn_model(), reg=reg)
    said = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    if lacks is None:
        assert not said
    else:
        assert len(said) == 1 and f"`reg.{field}`={value!r} has no effect" in said[0]
        assert lacks in said[0]


def test_a_model_built_from_the_same_reg_gets_no_warning():
    import warnings

    from regkit import Regularization, apply_regularization, build_cnn

    reg = Regularization(l2=1e-4, batch_norm=True, dropout=0.2, ema=0.99, weight_decay=1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        compile_model(build_cnn((8, 8, 1), 3, filters=(4,), dense_units=(), reg=reg), reg=reg)
        model = _bn_model()
        apply_regularization(model, Regularization(l2_sp=1e-3))
        compile_model(model, reg=Regularization(l2_sp=1e-3))
