"""Training speed of regkit's CNN under Keras' JAX backend against TensorFlow's.

Each arm is a fresh process (Keras picks its backend once, at import) that builds
`build_cnn((8, 8, 1), 10, reg="all")`, compiles it with `compile_model`, and fits it on
the digits images for a fixed number of epochs; the figure is training images per second
over the epochs after the first (the first traces/compiles). The arms are interleaved,
and the ratio JAX / TensorFlow is printed.

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

epochs = int(sys.argv[1])
x, y = load_digits(return_X_y=True)
x = (x.reshape(-1, 8, 8, 1) / 16.0).astype("float32")
keras.utils.set_random_seed(0)
model = compile_model(build_cnn((8, 8, 1), 10, filters=(32, 64), reg="all"))

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


def run(backend: str, epochs: int) -> float:
    proc = subprocess.run(
        [python(), "-c", CHILD, str(epochs)],
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
    epochs = 2 if args.quick else 6
    info = print_machine()
    results = interleave(
        {"tensorflow": lambda: run("tensorflow", epochs), "jax": lambda: run("jax", epochs)},
        rounds,
    )
    tf_rate, jax_rate = median(results["tensorflow"]), median(results["jax"])
    ratio = jax_rate / tf_rate
    print(
        markdown_table(
            ["backend", "train images/s (median)", "range", "runs"],
            [
                ["tensorflow", num(tf_rate), spread(results["tensorflow"]), rounds],
                ["jax", num(jax_rate), spread(results["jax"]), rounds],
            ],
        )
    )
    faster = "faster" if ratio >= 1 else "slower"
    factor = ratio if ratio >= 1 else 1 / ratio
    print(f"jax / tensorflow training speed: {ratio:.2f} (JAX {factor:.2f}x {faster})")
    finish(args, {"machine": info, "epochs": epochs, "results": results, "ratio": ratio})


if __name__ == "__main__":
    main()
