"""Trains regkit models on one device and under MirroredStrategy over two logical CPUs.

Logical devices must be configured before TensorFlow initialises its devices, so this runs
in a fresh process (tests/system/test_distributed.py starts it). It prints one JSON object on the
last line of stdout.

    python tests/system/scripts/dist_mirrored.py            # every check
    python tests/system/scripts/dist_mirrored.py builders   # build_cnn + compile_model trajectories
    python tests/system/scripts/dist_mirrored.py compare    # regkit.compare(..., strategy=...)
    python tests/system/scripts/dist_mirrored.py mobilenet  # build_mobilenet_v2 trains (slow)

Each check's result (or its error) is a key of that object, so one failing check does not
hide the others.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import types

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

# Two logical CPU devices out of the one physical CPU, before anything touches the devices.
_CPU = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    _CPU, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)

import keras  # noqa: E402

import regkit  # noqa: E402

SIZE, CLASSES, EXAMPLES = 16, 4, 64
GLOBAL_BATCH = 16  # 2 replicas x 8 examples


class _BatchLosses(keras.callbacks.Callback):
    """Collects the loss Keras reports after every training batch (running epoch mean)."""

    def __init__(self) -> None:
        super().__init__()
        self.losses: list[float] = []

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(float(logs["loss"]))


def _data(n: int = EXAMPLES) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.random((n, SIZE, SIZE, 3), dtype=np.float32)
    y = (np.arange(n) % CLASSES).astype(np.int32)
    return x, y


def _cnn() -> keras.Model:
    # reg="l2": L2 on kernels, no BatchNorm and no Dropout. BatchNorm under MirroredStrategy
    # normalises with per-replica batch statistics (8 examples each instead of 16) unless it
    # is synchronized, and Dropout draws its masks per replica, so either would make the two
    # trajectories differ by design rather than by a bug. L2 and weight decay are exact.
    return regkit.build_cnn(
        (SIZE, SIZE, 3), CLASSES, filters=(8, 16), convs_per_block=1, dense_units=(16,), reg="l2"
    )


def _compile(model: keras.Model) -> keras.Model:
    # SGD with momentum and decoupled weight decay: a wrong gradient scale across replicas
    # or decay reaching the biases (compile_model exempts them) would both show.
    return regkit.compile_model(
        model, optimizer="sgd", learning_rate=0.1, momentum=0.9, weight_decay=1e-3
    )


def _describe(model: keras.Model, strategy, losses: list[float], initial) -> dict:
    first = model.weights[0]
    inner = getattr(first, "value", first)
    opt_var = model.optimizer.variables[-1]
    opt_inner = getattr(opt_var, "value", opt_var)
    return {
        "replicas": int(strategy.num_replicas_in_sync),
        "losses": losses,
        "reg_losses": len(model.losses),
        "final_weights": [w.numpy().ravel().tolist() for w in model.weights],
        "weights_moved": float(
            max(np.abs(w.numpy() - w0).max() for w, w0 in zip(model.weights, initial, strict=True))
        ),
        "variable_replicas": len(getattr(inner, "values", [inner])),
        "optimizer_variable_replicas": len(getattr(opt_inner, "values", [opt_inner])),
        "optimizer_iterations": int(model.optimizer.iterations.numpy()),
    }


def _train_cnn(strategy, *, compile_in_scope: bool = True, epochs: int = 2) -> dict:
    x, y = _data()
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = _cnn()
        if compile_in_scope:
            _compile(model)
    if not compile_in_scope:
        _compile(model)
    initial = [w.numpy().copy() for w in model.weights]
    # One global batch per step; Keras splits it across the replicas (8 + 8).
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH)
    record = _BatchLosses()
    model.fit(ds, epochs=epochs, shuffle=False, verbose=0, callbacks=[record])
    return _describe(model, strategy, record.losses, initial)


def _train_mobilenet(strategy) -> dict:
    x, y = _data(16)
    x = tf.image.resize(x, (32, 32)).numpy()
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = regkit.build_mobilenet_v2(
            (32, 32, 3), CLASSES, alpha=0.35, reg="bn+l2", output="logits"
        )
        regkit.compile_model(model, optimizer="sgd", learning_rate=0.01)
    initial = [w.numpy().copy() for w in model.weights]
    record = _BatchLosses()
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)  # 4 per replica
    model.fit(ds, epochs=1, verbose=0, callbacks=[record])
    return _describe(model, strategy, record.losses, initial)


def _attempt(fn, *args, **kwargs) -> dict:
    """Runs one check; an exception becomes {"error": ...} so the other checks still run."""
    start = time.perf_counter()
    try:
        result = fn(*args, **kwargs)
    except Exception as exc:  # reported to the test, which asserts on it
        result = {"error": f"{type(exc).__name__}: {exc}"}
    result["seconds"] = round(time.perf_counter() - start, 2)
    return result


def _splits() -> types.SimpleNamespace:
    x, y = _data(96)
    x = np.round(x * 255).astype(np.uint8)  # pixels, so the pipeline knows their range

    def ds(lo: int, hi: int) -> tf.data.Dataset:
        return tf.data.Dataset.from_tensor_slices((x[lo:hi], y[lo:hi]))

    return types.SimpleNamespace(
        name="random",
        train=ds(0, 64),
        validation=ds(64, 80),
        test=ds(80, 96),
        num_classes=CLASSES,
        class_names=[str(i) for i in range(CLASSES)],
        image_shape=(SIZE, SIZE, 3),
    )


def _compare(strategy) -> dict:
    # Both runs pass a strategy: under any strategy but TensorFlow's default, Keras' fit
    # draws one batch before the first epoch (to build the model symbolically), which
    # moves a reshuffling tf.data pipeline on by one epoch's order. A OneDeviceStrategy
    # run sees the same shifted orders as the mirrored one; a run without a strategy not.
    report = regkit.compare(
        {"l2": "l2"},
        dataset=_splits(),
        epochs=2,
        batch_size=GLOBAL_BATCH,
        optimizer="sgd",
        learning_rate=0.1,
        model_kwargs={"filters": (8, 16), "convs_per_block": 1, "dense_units": (16,)},
        verbose=0,
        plots=False,
        strategy=strategy,
    )
    run = report.runs[0]
    return {
        "status": run.status,
        "error": run.error,
        "loss": list(run.history.get("loss", [])),
        "val_loss": list(run.history.get("val_loss", [])),
        "test_loss": run.test_loss,
    }


CHECKS = ("builders", "compare", "mobilenet")


def main() -> None:
    parser = argparse.ArgumentParser(description="MirroredStrategy checks on 2 logical CPUs.")
    parser.add_argument(
        "checks", nargs="*", metavar="CHECK", help=f"any of {', '.join(CHECKS)} (default: all)"
    )
    checks = parser.parse_args().checks or list(CHECKS)
    unknown = sorted(set(checks) - set(CHECKS))
    if unknown:
        parser.error(f"unknown check(s) {', '.join(unknown)}; expected any of {', '.join(CHECKS)}")
    mirrored = regkit.device.strategy(["/cpu:0", "/cpu:1"])
    result = {}
    if "builders" in checks:
        result["single"] = _attempt(_train_cnn, tf.distribute.get_strategy())
        result["mirrored"] = _attempt(_train_cnn, mirrored)
        result["mirrored_compiled_outside"] = _attempt(_train_cnn, mirrored, compile_in_scope=False)
    if "compare" in checks:
        result["compare_single"] = _attempt(_compare, tf.distribute.OneDeviceStrategy("/cpu:0"))
        result["compare_mirrored"] = _attempt(_compare, mirrored)
    if "mobilenet" in checks:
        result["mobilenet_mirrored"] = _attempt(_train_mobilenet, mirrored)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
