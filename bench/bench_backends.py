"""Training speed of regkit's CNN under Keras' JAX backend against TensorFlow's.

Each arm is a fresh process (Keras picks its backend once, at import) that builds a
`build_cnn(..., reg="all")`, compiles it with `compile_model`, and fits it for a fixed
number of epochs on one of two workloads: the digits images (1,797 at 8x8x1, filters
32/64) and 2,048 random 32x32x3 images (CIFAR-sized, filters 32/64/128). The figure is
training images per second over the epochs after the first (the first traces/compiles).
The arms are interleaved, and the ratio JAX / TensorFlow is printed per workload.

    python bench/bench_backends.py [--quick] [--rounds N]

Needs `pip install regkit[jax]`.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

from _common import (
    finish,
    interleave,
    markdown_table,
    median,
    num,
    parser,
    print_machine,
    python,
    quiet_env,
    spread,
)

CHILD = r"""
import json, sys, time
import numpy as np
import keras
from sklearn.datasets import load_digits
from regkit import build_cnn, compile_model

epochs, workload = int(sys.argv[1]), sys.argv[2]
if workload == "digits":
    x, y = load_digits(return_X_y=True)
    x = (x.reshape(-1, 8, 8, 1) / 16.0).astype("float32")
    filters = (32, 64)
else:
    rng = np.random.default_rng(0)
    x = rng.random((2048, 32, 32, 3), dtype="float32")
    y = rng.integers(0, 10, 2048)
    filters = (32, 64, 128)
keras.utils.set_random_seed(0)
model = compile_model(build_cnn(x.shape[1:], 10, filters=filters, reg="all"))

class Clock(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.t = time.perf_counter()
    def on_epoch_end(self, epoch, logs=None):
        times.append(time.perf_counter() - self.t)

times = []
model.fit(x, y, batch_size=32, epochs=epochs, verbose=0, callbacks=[Clock()])
later = times[1:]
rate = len(x) * len(later) / sum(later)
print(json.dumps({"images_per_s": rate, "backend": keras.backend.backend()}))
"""


WORKLOADS = ("digits", "32x32x3")


def run(backend: str, epochs: int, workload: str) -> float:
    proc = subprocess.run(
        [python(), "-c", CHILD, str(epochs), workload],
        env=quiet_env(KERAS_BACKEND=backend),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{backend} run failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if result["backend"] != backend:
        raise RuntimeError(f"asked for {backend}, ran {result['backend']}")
    return float(result["images_per_s"])


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    if importlib.util.find_spec("jax") is None:
        sys.exit("bench_backends needs JAX: pip install 'regkit[jax]'")
    rounds = args.rounds or (1 if args.quick else 3)
    epochs = 2 if args.quick else 4
    info = print_machine()
    rows, payload = [], {}
    for workload in WORKLOADS:
        results = interleave(
            {
                backend: (lambda b=backend, w=workload: run(b, epochs, w))
                for backend in ("tensorflow", "jax")
            },
            rounds,
        )
        tf_rate, jax_rate = median(results["tensorflow"]), median(results["jax"])
        ratio = jax_rate / tf_rate
        for backend, rate in (("tensorflow", tf_rate), ("jax", jax_rate)):
            rows.append([workload, backend, num(rate), spread(results[backend]), rounds])
        faster = "faster" if ratio >= 1 else "slower"
        factor = ratio if ratio >= 1 else 1 / ratio
        print(f"{workload}: jax / tensorflow = {ratio:.2f} (JAX {factor:.2f}x {faster})")
        payload[workload] = {"results": results, "ratio": ratio}
    print(markdown_table(["workload", "backend", "train images/s (median)", "range", "runs"], rows))
    finish(args, {"machine": info, "epochs": epochs, "workloads": payload})


if __name__ == "__main__":
    main()
