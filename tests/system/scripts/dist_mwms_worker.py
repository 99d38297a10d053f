"""One worker of a two-process MultiWorkerMirroredStrategy run on 127.0.0.1.

tests/system/test_distributed.py starts two of these with TF_CONFIG naming both workers (free
ports on 127.0.0.1) and this worker's index. Each worker builds and compiles a regkit CNN
in the strategy's scope, trains one epoch on a tiny dataset (validating on it) and evaluates;
gradients are all-reduced between the two processes every step. Then, outside any strategy,
it trains the same model from the same seed on one device as a reference. The last line of
stdout is a JSON object.

    python tests/system/scripts/dist_mwms_worker.py [--plain]

By default the strategy is `regkit.device.strategy()`, which reads TF_CONFIG. ``--plain`` uses
`tf.distribute.MultiWorkerMirroredStrategy` exactly as TensorFlow ships it, which Keras 3's
`fit` cannot train with (keras-team/keras#20585; docs/distributed.md).
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

GLOBAL_BATCH = 8  # 2 workers x 4 examples
EXAMPLES, SIZE, CLASSES = 32, 16, 4


def _dataset() -> tf.data.Dataset:
    rng = np.random.default_rng(0)
    x = rng.random((EXAMPLES, SIZE, SIZE, 3), dtype=np.float32)
    y = (np.arange(EXAMPLES) % CLASSES).astype(np.int32)
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH)


def _model():
    import regkit

    model = regkit.build_cnn(
        (SIZE, SIZE, 3), CLASSES, filters=(8,), convs_per_block=1, dense_units=(16,), reg="l2"
    )
    return regkit.compile_model(model, optimizer="sgd", learning_rate=0.1, momentum=0.9)


def _kernel_sum(model) -> float:
    return float(np.abs(model.get_layer("cnn_block1_conv1").kernel.numpy()).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description="One MultiWorkerMirroredStrategy worker.")
    parser.add_argument("--plain", action="store_true", help="TensorFlow's class, no fix")
    args = parser.parse_args()
    # The strategy must exist before any other TensorFlow op runs in this process.
    if args.plain:
        strategy, source = tf.distribute.MultiWorkerMirroredStrategy(), "tensorflow"
    else:
        import regkit.device

        strategy, source = regkit.device.strategy(), "regkit.device.strategy()"
    task = json.loads(os.environ["TF_CONFIG"])["task"]

    import keras

    keras.utils.set_random_seed(0)  # same initial weights on both workers
    with strategy.scope():
        model = _model()
    initial = _kernel_sum(model)
    ds = _dataset()
    # In-memory data has no files to split between workers: shard by element instead of
    # letting tf.data try (and warn about) file-based sharding.
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    ds = ds.with_options(options)
    history = model.fit(ds, validation_data=ds, epochs=1, verbose=0)
    evaluation = model.evaluate(ds, verbose=0, return_dict=True)
    result = {
        "task": task,
        "strategy_from": source,
        "multi_worker": isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy),
        "replicas": int(strategy.num_replicas_in_sync),
        "loss": [float(v) for v in history.history["loss"]],
        "val_loss": [float(v) for v in history.history["val_loss"]],
        "eval_loss": float(evaluation["loss"]),
        "steps": int(model.optimizer.iterations.numpy()),
        "initial_kernel_sum": initial,
        "kernel_sum": _kernel_sum(model),
    }

    # Reference: the same model, seed and global batches on this process's one device.
    keras.utils.set_random_seed(0)
    with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
        reference = _model()
    ref_history = reference.fit(ds, validation_data=ds, epochs=1, verbose=0, shuffle=False)
    result["reference_loss"] = [float(v) for v in ref_history.history["loss"]]
    result["reference_val_loss"] = [float(v) for v in ref_history.history["val_loss"]]
    result["reference_kernel_sum"] = _kernel_sum(reference)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
