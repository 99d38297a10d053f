"""regkit's public API under the Keras backend named by KERAS_BACKEND (run in a subprocess).

Each check prints `ok <name>` or `FAIL <name>: <error>`; the process exits 1 if any failed.
tests/system/test_backends.py runs it under `KERAS_BACKEND=jax`.
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback

import numpy as np

CHECKS = []


def check(fn):
    CHECKS.append(fn)
    return fn


@check
def build_cnn_all():
    from regkit import Regularization, build_cnn

    model = build_cnn((32, 32, 3), 10, reg=Regularization.preset("all"), filters=(8, 16))
    out = model(np.zeros((2, 32, 32, 3), "float32"))
    assert tuple(out.shape) == (2, 10), out.shape


@check
def build_mobilenet_v2_bn_l2():
    from regkit import build_mobilenet_v2

    model = build_mobilenet_v2((32, 32, 3), 10, alpha=0.35, reg="bn+l2")
    assert tuple(model(np.zeros((2, 32, 32, 3), "float32")).shape) == (2, 10)


@check
def compose_blocks():
    import keras

    from regkit import conv_block, dense_head, inverted_residual

    inputs = keras.Input((32, 32, 3))
    x = conv_block(inputs, 8, reg="bn")
    x = inverted_residual(x, 8, reg="bn")
    outputs = dense_head(x, 3, units=(16,), pooling="avg")
    model = keras.Model(inputs, outputs)
    assert tuple(model(np.zeros((2, 32, 32, 3), "float32")).shape) == (2, 3)


@check
def compile_and_fit_with_monitors():
    from regkit import build_cnn, compile_model
    from regkit.callbacks import RegularizationMonitor, WeightNormLogger

    rng = np.random.default_rng(0)
    x = rng.random((16, 32, 32, 3), dtype="float32")
    y = np.arange(16) % 4
    model = compile_model(build_cnn((32, 32, 3), 4, filters=(8,), reg="bn+l2"), weight_decay=1e-4)
    history = model.fit(
        x,
        y,
        batch_size=8,
        epochs=2,
        verbose=0,
        callbacks=[WeightNormLogger(), RegularizationMonitor()],
    )
    assert np.isfinite(history.history["loss"]).all()
    assert "reg_loss_share" in history.history
    assert any(k.endswith("_kernel_norm") for k in history.history)


@check
def pipeline_fit():
    from regkit import build_cnn, compile_model
    from regkit.data import Augment, from_arrays, image_pipeline

    rng = np.random.default_rng(0)
    data = from_arrays(rng.integers(0, 256, (16, 32, 32, 3), dtype=np.uint8), np.arange(16) % 4)
    train = image_pipeline(data, batch_size=8, augment=Augment(flip=True, rotation=10), seed=0)
    model = compile_model(build_cnn((32, 32, 3), 4, filters=(8,)))
    history = model.fit(train, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


@check
def save_and_reload():
    import keras

    from regkit import build_cnn, compile_model

    model = compile_model(build_cnn((32, 32, 3), 4, filters=(8,), reg="all"))
    x = np.random.default_rng(0).random((2, 32, 32, 3), dtype="float32")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.keras")
        model.save(path)
        again = keras.saving.load_model(path)
    np.testing.assert_allclose(model.predict(x, verbose=0), again.predict(x, verbose=0), atol=1e-6)


@check
def small_compare():
    from regkit import compare

    with tempfile.TemporaryDirectory() as tmp:
        report = compare(
            ["baseline", "bn"], dataset="digits", epochs=1, limit=64, out_dir=tmp, verbose=0
        )
        rows = report.summary()
    assert set(rows) == {"baseline", "bn"}, rows


def main() -> int:
    import keras

    print(f"backend {keras.backend.backend()}")
    failed = 0
    for fn in CHECKS:
        try:
            fn()
        except Exception as err:  # report every check, then fail
            failed += 1
            print(f"FAIL {fn.__name__}: {type(err).__name__}: {err}")
            traceback.print_exc(limit=3)
        else:
            print(f"ok {fn.__name__}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
