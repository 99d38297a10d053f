"""EMA and SWA: the averages equal the ones computed by hand from recorded weights, and the
validation pass, checkpoint, early stopping's restored weights and final model use them."""

from __future__ import annotations

import contextlib
import math
import warnings

import keras
import numpy as np
import pytest

from regkit import Regularization, compile_model
from regkit.callbacks import (
    EMA,
    SWA,
    averaged_variables,
    averaging_callbacks,
    recompute_batch_norm,
    standard_callbacks,
)
from regkit.callbacks.averaging import early_share, ema_decay
from regkit.training import uses_sam

DECAY = 0.6


def _model(dropout=0.0):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((6,))
    x = keras.layers.Dense(5, name="fc")(inputs)
    if dropout:
        x = keras.layers.Dropout(dropout)(x)
    x = keras.layers.BatchNormalization(momentum=0.5, name="bn")(x)
    x = keras.layers.ReLU()(x)
    model = keras.Model(inputs, keras.layers.Dense(3, name="out")(x))
    model.compile(
        keras.optimizers.SGD(0.2), keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    return model


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 6)).astype("float32")
    y = np.arange(16) % 3
    return x, y, (y + 1) % 3  # validation disagrees: val_loss worsens, the best epoch is early


def _values(model):
    return [np.array(v.numpy(), dtype=np.float64) for v in averaged_variables(model)]


class _Record(keras.callbacks.Callback):
    """Weights after each batch and at each epoch's end; what validation and epoch begin see."""

    def __init__(self):
        super().__init__()
        self.batches, self.epoch_end, self.validated, self.epoch_begin = [], [], [], []

    def on_train_batch_end(self, batch, logs=None):
        self.batches.append(_values(self.model))

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_begin.append(_values(self.model))

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_end.append(_values(self.model))

    def on_test_begin(self, logs=None):
        self.validated.append(_values(self.model))


def _close(got, want):
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def _decay_by_hand(k, decay=DECAY, warmup=True):
    """The definition: the first update copies; then TF's num_updates rule, capped."""
    if k == 1:
        return 0.0
    return min(decay, (1 + k) / (10 + k)) if warmup else decay


def _ema_by_hand(batches, steps, decay=DECAY, warmup=True):
    average, out = None, []
    for i, w in enumerate(batches):
        d = _decay_by_hand(i + 1, decay, warmup)
        average = (
            w if average is None else [d * a + (1 - d) * b for a, b in zip(average, w, strict=True)]
        )
        if (i + 1) % steps == 0:
            out.append(average)
    return out  # the average at each epoch's end


def test_ema_is_what_validation_the_checkpoint_and_early_stopping_see(data, tmp_path):
    x, y, y_val = data
    model = _model()
    raw, seen = _Record(), _Record()
    path = tmp_path / "best.weights.h5"
    cbs = standard_callbacks(path, verbose=0, patience=5, averaging=[EMA(DECAY)])
    stop = cbs[2]
    assert isinstance(cbs[0], EMA) and isinstance(stop, keras.callbacks.EarlyStopping)
    model.fit(
        x,
        y,
        batch_size=4,
        epochs=3,
        shuffle=False,
        validation_data=(x, y_val),
        verbose=0,
        callbacks=[raw, *cbs, seen],
    )
    expected = _ema_by_hand(raw.batches, steps=4)
    assert len(seen.validated) == 3
    for at_validation, at_end, want in zip(seen.validated, seen.epoch_end, expected, strict=True):
        _close(at_validation, want)  # validation sees the averages ...
        _close(at_end, want)  # ... and so do the checkpoint and early stopping
    for e in (1, 2):  # ... while training goes on from the training weights
        _close(seen.epoch_begin[e], raw.batches[4 * e - 1])
    assert stop.best_epoch < 2  # the restored weights are not simply the last ones
    _close(_values(model), expected[stop.best_epoch])
    best = _model()
    best.load_weights(path)
    _close(_values(best), expected[stop.best_epoch])


def test_swa_is_the_mean_of_the_last_epochs_with_exact_batch_norm_statistics(data, tmp_path):
    x, y, _ = data
    model = _model(dropout=0.5)  # dropout before BN: the BatchNorm pass must switch it off
    record = _Record()
    path = tmp_path / "best.weights.h5"
    swa = averaging_callbacks(Regularization(swa=0.4), train_data=x, batch_size=4)[0]
    cbs = standard_callbacks(path, monitor="loss", verbose=0, patience=9, averaging=[swa])
    assert cbs.index(swa) == 3 and swa.save_path == path  # after EarlyStopping, LR decay
    model.fit(x, y, batch_size=4, epochs=5, shuffle=False, verbose=0, callbacks=[record, *cbs])
    assert swa.averaged_epochs == [3, 4]  # ceil(0.4 * 5) = 2 final epochs
    names = [v.path for v in averaged_variables(model)]
    mean = [(a + b) / 2 for a, b in zip(record.epoch_end[3], record.epoch_end[4], strict=True)]
    got = dict(zip(names, _values(model), strict=True))
    for name, want in zip(names, mean, strict=True):
        if "moving" not in name:
            np.testing.assert_allclose(got[name], want, rtol=1e-5, atol=1e-6, err_msg=name)
    kernel, bias = got["fc/kernel"], got["fc/bias"]
    batch_stats = [
        ((x[i : i + 4] @ kernel + bias).mean(0), (x[i : i + 4] @ kernel + bias).var(0))
        for i in range(0, 16, 4)
    ]
    np.testing.assert_allclose(
        got["bn/moving_mean"], np.mean([m for m, _ in batch_stats], 0), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        got["bn/moving_variance"], np.mean([v for _, v in batch_stats], 0), rtol=1e-5, atol=1e-6
    )
    saved = _model(dropout=0.5)
    saved.load_weights(path)  # the checkpoint a study evaluates holds the SWA model
    _close(_values(saved), _values(model))


class _StopAt(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            self.model.stop_training = True


def test_swa_stopped_early_averages_the_epochs_it_reached_or_warns(data):
    x, y, _ = data
    model = _model()
    record, swa = _Record(), SWA(0.75, train_data=x, batch_size=4)  # window: epochs 1..3
    model.fit(x, y, batch_size=4, epochs=4, verbose=0, callbacks=[record, _StopAt(2), swa])
    assert swa.averaged_epochs == [1, 2]
    want = [(a + b) / 2 for a, b in zip(record.epoch_end[1], record.epoch_end[2], strict=True)]
    got = _values(model)
    kinds = [v.path for v in averaged_variables(model)]
    _close(
        [g for g, k in zip(got, kinds, strict=True) if "moving" not in k],
        [w for w, k in zip(want, kinds, strict=True) if "moving" not in k],
    )
    model = _model()
    swa = SWA(0.25, train_data=x, batch_size=4)  # window: epoch 3 only
    with pytest.warns(UserWarning, match="SWA averaged no epoch"):
        model.fit(x, y, batch_size=4, epochs=4, verbose=0, callbacks=[_StopAt(0), swa])


@pytest.mark.slow
@pytest.mark.parametrize("which", ["ema", "swa"])
def test_a_resumed_run_averages_exactly_like_an_uninterrupted_one(data, tmp_path, which):
    x, y, y_val = data

    class _Kill(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise RuntimeError("killed")

    def fit(folder, kill=False):
        model = _model()
        reg = Regularization(ema=DECAY) if which == "ema" else Regularization(swa=0.75)
        averaging = averaging_callbacks(reg, train_data=x, batch_size=4)
        cbs = standard_callbacks(folder / "best.weights.h5", verbose=0, averaging=averaging)
        history = None
        with contextlib.suppress(RuntimeError):
            history = model.fit(
                x,
                y,
                batch_size=4,
                epochs=3,
                shuffle=False,
                validation_data=(x, y_val),
                verbose=0,
                callbacks=[*cbs, _Kill()] if kill else cbs,
            )
        return model, history

    whole = _values(fit(tmp_path / "a")[0])
    fit(tmp_path / "b", kill=True)  # killed after epoch 1 was backed up
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # the averages are never lost
        model, history = fit(tmp_path / "b")
    assert history.epoch == [2]  # it did resume
    _close(_values(model), whole)


def test_recompute_batch_norm_leaves_frozen_layers_and_counts_batches(data):
    x, _, _ = data
    model = _model()
    bn = model.get_layer("bn")
    bn.trainable = False
    before = bn.moving_mean.numpy().copy()
    assert recompute_batch_norm(model, x, batch_size=4) == 0
    np.testing.assert_array_equal(bn.moving_mean.numpy(), before)
    bn.trainable = True
    assert recompute_batch_norm(model, x, batch_size=4, steps=2) == 2
    assert bn.momentum == 0.5 and "call" not in vars(bn)  # put back as it was


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="argument `decay`"):
        EMA(1.0)
    with pytest.raises(ValueError, match="argument `fraction`"):
        SWA(0.0)
    with pytest.raises(ValueError, match="argument `save_path`"):
        SWA(0.5, save_path="x.h5")
    with pytest.raises(ValueError, match="use one"):
        averaging_callbacks(Regularization(ema=0.9, swa=0.5))
    assert averaging_callbacks(None) == []
    with pytest.raises(TypeError, match="argument `averaging`"):
        standard_callbacks("b.keras", averaging=[keras.callbacks.History()])
    assert SWA(0.3).window(10) == 3 and SWA(0.25).window(10) == math.ceil(2.5)


def test_swa_needs_data_for_batch_norm(data):
    x, y, _ = data
    with pytest.raises(ValueError, match="argument `train_data`"):
        _model().fit(x, y, epochs=1, verbose=0, callbacks=[SWA(0.5)])


class _Batches(keras.callbacks.Callback):
    """The training weights after each step, whatever the callback order (the model holds
    them during the epoch; EMA's swap happens at the epoch's end)."""

    def __init__(self):
        super().__init__()
        self.batches = []

    def on_train_batch_end(self, batch, logs=None):
        self.batches.append(_values(self.model))


@pytest.mark.parametrize(
    ("warmup", "fused", "decay"),
    [(True, True, 0.3), (False, True, 0.6), (True, False, 0.6)],
    ids=["warmup-capped-fused", "constant-fused", "warmup-callback"],
)
def test_ema_equals_its_definition_computed_by_hand(data, monkeypatch, warmup, fused, decay):
    x, y, _ = data
    if not fused:  # the callback's own update (other backends, several replicas)
        monkeypatch.setattr("regkit.callbacks.ema._fusable", lambda model: False)
    model = _model()
    record, ema = _Batches(), EMA(decay, warmup=warmup)
    model.fit(x, y, batch_size=2, epochs=1, shuffle=False, verbose=0, callbacks=[ema, record])
    assert ema.updates == 8 and len(record.batches) == 8 and ema._fused is fused
    want = _ema_by_hand(record.batches, steps=8, decay=decay, warmup=warmup)[-1]
    _close(_values(model), want)  # after fit the model holds the averages
    assert [ema_decay(k, decay, warmup=warmup) for k in range(1, 9)] == pytest.approx(
        [_decay_by_hand(k, decay, warmup) for k in range(1, 9)]
    )
    assert ("train_step" in vars(model)) is False  # the fused step is taken off again


def test_fused_ema_updates_every_step_of_an_execution_and_composes_with_sam(data):
    x, y, _ = data
    model = _model()
    compile_model(
        model, optimizer="sgd", from_logits=True, reg=Regularization(sam=0.1), steps_per_execution=2
    )
    record, ema = _Batches(), EMA(DECAY)
    model.fit(x, y, batch_size=2, epochs=1, shuffle=False, verbose=0, callbacks=[ema, record])
    assert ema.updates == 8  # 4 executions of 2 steps: 8 updates, one per step
    assert uses_sam(model)  # SAM's step is back in place
    ema2 = EMA(DECAY)
    start = model.get_weights()
    model.fit(x[:2], y[:2], batch_size=2, epochs=1, verbose=0, callbacks=[ema2])
    assert ema2.updates == 1  # a new average: its first update copies the weights
    assert not all(np.allclose(a, b) for a, b in zip(start, model.get_weights(), strict=True))


def test_ema_warns_when_its_window_is_a_large_part_of_the_run(data):
    x, y, _ = data
    xs, ys = np.repeat(x, 5, axis=0)[:76], np.repeat(y, 5)[:76]  # 38 steps of 2
    assert early_share(38, 0.99, warmup=False) == pytest.approx(0.99**19)
    ema = EMA(0.99, warmup=False)
    with pytest.warns(UserWarning, match=r"first half make up 83% .* warmup=True"):
        _model().fit(xs, ys, batch_size=2, epochs=1, verbose=0, callbacks=[ema])
    assert "83%" in ema.warning
    ema = EMA(0.99)  # the warm-up: the first half weighs 0.6 % of the average
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        _model().fit(xs, ys, batch_size=2, epochs=1, verbose=0, callbacks=[ema])
    assert ema.warning is None and early_share(38, 0.99) < 0.01


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "float16"])
def test_averages_are_float32_whatever_the_weights_precision(data, policy):
    x, y, _ = data
    keras.config.set_dtype_policy(policy)
    try:
        model = _model()
        record, ema = _Batches(), EMA(0.9, warmup=False)
        with pytest.warns(UserWarning, match="first half"):  # 4 updates at 0.9: it says so
            model.fit(
                x, y, batch_size=4, epochs=1, shuffle=False, verbose=0, callbacks=[ema, record]
            )
        dtypes = {keras.backend.standardize_dtype(v.dtype) for v in averaged_variables(model)}
        assert dtypes == ({"float32"} if policy.startswith("mixed") else {"float16"})
        assert all(a.dtype == np.float32 for a in ema.averages)
        want = _ema_by_hand(record.batches, steps=4, decay=0.9, warmup=False)[-1]
        for got, w in zip(ema.averages, want, strict=True):  # float32 sums, not float16
            np.testing.assert_allclose(got, w, rtol=1e-6, atol=1e-6)
        swa = SWA(1.0, train_data=x, batch_size=4)
        record = _Record()
        model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[record, swa])
        mean = [(a + b) / 2 for a, b in zip(*record.epoch_end, strict=True)]
        kinds = [v.path for v in averaged_variables(model)]
        for got, w, kind in zip(swa.average, mean, kinds, strict=True):
            tol = 1e-6 if policy.startswith("mixed") else 1e-3  # float16 weights: rounded once
            np.testing.assert_allclose(got, w, rtol=tol, atol=tol, err_msg=kind)
    finally:
        keras.config.set_dtype_policy("float32")
