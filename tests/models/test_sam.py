"""SAM / ASAM steps installed by compile_model(reg=Regularization(sam=...)), checked by hand."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from regkit import Regularization, compile_model
from regkit.training import uses_sam

RHO, LR = 0.5, 0.1


def _model():
    keras.utils.set_random_seed(3)
    inputs = keras.Input((5,))
    x = keras.layers.Dense(4, kernel_regularizer=keras.regularizers.L2(0.01), name="fc")(inputs)
    x = keras.layers.BatchNormalization(momentum=0.5, name="bn")(x)
    x = keras.layers.ReLU()(x)
    return keras.Model(inputs, keras.layers.Dense(3, name="out")(x))


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(0)
    return rng.normal(size=(8, 5)).astype("float32"), np.arange(8) % 3


def _by_hand(start, x, y, *, adaptive, clipnorm=None):
    """The SAM step computed with tf.GradientTape on a copy: new weights and BN statistics."""
    model = _model()
    model.set_weights(start)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    variables = model.trainable_variables

    def loss_and_grads():
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True)) + tf.add_n(model.losses)
        return [g.numpy().astype(np.float64) for g in tape.gradient(loss, variables)]

    stats = {v.path: v.numpy() for v in model.non_trainable_variables}
    g = loss_and_grads()  # moves BN's statistics once, as the real step must
    after_first = [v.numpy() for v in model.non_trainable_variables]
    assert any(not np.allclose(stats[v.path], v.numpy()) for v in model.non_trainable_variables)
    w = [v.numpy().astype(np.float64) for v in variables]
    if adaptive:
        norm = np.sqrt(sum(np.sum((wi * gi) ** 2) for wi, gi in zip(w, g, strict=True)))
        e = [RHO * wi**2 * gi / norm for wi, gi in zip(w, g, strict=True)]
    else:
        norm = np.sqrt(sum(np.sum(gi**2) for gi in g))
        e = [RHO * gi / norm for gi in g]
    for v, wi, ei in zip(variables, w, e, strict=True):
        v.assign((wi + ei).astype("float32"))
    g2 = loss_and_grads()
    if clipnorm is not None:
        g2 = [gi * min(1.0, clipnorm / np.sqrt(np.sum(gi**2))) for gi in g2]
    return [wi - LR * gi for wi, gi in zip(w, g2, strict=True)], after_first


@pytest.mark.parametrize(
    ("adaptive", "optimizer", "clipnorm"),
    [
        (False, "sgd", None),
        (True, "sgd", None),
        (False, "loss_scale", None),
        (False, "sgd", 0.05),
    ],
    ids=["sam", "asam", "mixed-precision-loss-scale", "clipnorm"],
)
def test_one_sam_step_equals_the_step_computed_by_hand(batch, adaptive, optimizer, clipnorm):
    x, y = batch
    model = _model()
    start = model.get_weights()
    if optimizer == "loss_scale":
        opt = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(LR))
    else:
        opt = keras.optimizers.SGD(LR, clipnorm=clipnorm)
    reg = Regularization(sam=RHO, sam_adaptive=adaptive)
    compile_model(model, reg=reg, optimizer=opt, from_logits=True)
    assert uses_sam(model)
    expected, stats = _by_hand(start, x, y, adaptive=adaptive, clipnorm=clipnorm)
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for v, want in zip(model.trainable_variables, expected, strict=True):
        np.testing.assert_allclose(v.numpy(), want, rtol=2e-5, atol=2e-6, err_msg=v.path)
    for v, want in zip(model.non_trainable_variables, stats, strict=True):
        np.testing.assert_allclose(v.numpy(), want, rtol=1e-5, atol=1e-6, err_msg=v.path)


def test_a_sam_model_saves_as_a_plain_model_and_recompiling_removes_sam(tmp_path):
    model = compile_model(_model(), reg=Regularization(sam=RHO), optimizer="sgd")
    model.save(tmp_path / "sam.keras")
    reloaded = keras.saving.load_model(tmp_path / "sam.keras")
    assert not uses_sam(reloaded)
    compile_model(model, optimizer="sgd")  # compiled again without SAM: plain steps
    assert not uses_sam(model)


def test_compile_model_reads_the_recipe_and_refuses_conflicts():
    model = compile_model(
        _model(), reg=Regularization(weight_decay=0.01, label_smoothing=0.1), labels="one_hot"
    )
    assert model.optimizer.weight_decay == pytest.approx(0.01)
    assert model.loss.get_config()["label_smoothing"] == pytest.approx(0.1)
    same = compile_model(_model(), reg=Regularization(weight_decay=0.01), weight_decay=0.01)
    assert same.optimizer.weight_decay == pytest.approx(0.01)
    with pytest.raises(ValueError, match=r"weight_decay=0.02 with reg.weight_decay=0.01"):
        compile_model(_model(), reg=Regularization(weight_decay=0.01), weight_decay=0.02)
    with pytest.raises(ValueError, match=r"`label_smoothing`: it conflicts with `reg.label_"):
        compile_model(
            _model(), reg=Regularization(label_smoothing=0.1), label_smoothing=0.2, labels="one_hot"
        )
    with pytest.raises(ValueError, match="use_ema=True"):
        compile_model(
            _model(), reg=Regularization(ema=0.9), optimizer=keras.optimizers.Adam(use_ema=True)
        )
    with pytest.raises(ValueError, match="unknown Regularization preset"):
        compile_model(_model(), reg="nope")


def test_sam_refuses_several_replicas(monkeypatch):
    class TwoReplicas:
        num_replicas_in_sync = 2

        def scope(self):  # pragma: no cover - never entered
            raise AssertionError

    model = _model()
    monkeypatch.setattr(type(model), "distribute_strategy", property(lambda self: TwoReplicas()))
    with pytest.raises(ValueError, match="several replicas"):
        compile_model(model, reg=Regularization(sam=0.1))


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_sam_under_mixed_precision_perturbs_the_float32_weights_by_exactly_rho(batch, policy):
    """Forward and backward run in the policy's 16-bit compute dtype; the gradient's norm,
    the perturbation and the restore are float32 on the float32 master weights: the
    second pass sees weights exactly rho away along the first pass's gradient (a norm in
    16 bits would miss rho by about 1e-3), and the step matches float32 SAM to 16-bit
    accuracy."""
    x, y = batch
    keras.config.set_dtype_policy(policy)
    try:
        model = _model()
        assert {v.dtype for v in model.trainable_variables} == {"float32"}
        start = model.get_weights()
        compile_model(model, reg=Regularization(sam=RHO), optimizer="sgd", learning_rate=LR)
        model.run_eagerly = True  # to read the weights each pass sees
        seen, compute_loss = [], model.compute_loss

        def spy(*args, **kwargs):
            seen.append([v.numpy().astype(np.float64) for v in model.trainable_variables])
            return compute_loss(*args, **kwargs)

        model.compute_loss = spy
        model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
        assert len(seen) == 2
        e = [far - near for far, near in zip(seen[1], seen[0], strict=True)]
        assert np.sqrt(sum(np.sum(d**2) for d in e)) == pytest.approx(RHO, rel=1e-5)
    finally:
        keras.config.set_dtype_policy("float32")
    expected, _ = _by_hand(start, x, y, adaptive=False)  # float32 SAM, by hand
    for v, want in zip(model.trainable_variables, expected, strict=True):
        np.testing.assert_allclose(v.numpy(), want, rtol=0, atol=2e-2, err_msg=v.path)
