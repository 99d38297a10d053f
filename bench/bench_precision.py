"""What bfloat16 buys: training-step time of the league CNN and a ResNet-20 under
``float32`` and ``mixed_bfloat16``, measured interleaved in one process (issue 29).

Two workloads, each built twice (once per policy, through `regkit.device.precision_policy`,
so the process's own policy is untouched), compiled by `regkit.compile_model` (Adam) and
trained by `fit` on one in-memory batch of random images repeated (so the input pipeline
costs nothing and the figure is the model's step):

- the league CNN of examples/studies/fashion_mnist_league.toml: `build_cnn` at 28x28x1,
  filters 16-32-64, dense 128, 10 classes, batch 128;
- ResNet-20 (`build_resnet`, depth 20, width 16) at 32x32x3, 10 classes, batch 128.

Each arm is traced once, then the arms run in alternating order each round (A B, B A,
...); every step is timed (batch begin to end) and an arm's figure for a round is its
median step time. Headline: per round, float32's step time over bfloat16's in the same
round (the speed-up), median over rounds; the target for the CNN is >= 2 (what the issue
measured from outside). GFLOP/s: the step's floating-point operations (2 per multiply-add
of the conv and dense layers, times 3 for forward and backward) over its median time.

bfloat16 pays only where the hardware computes it: a CPU with AMX or AVX-512 BF16, a GPU
of compute capability >= 8.0 (`regkit.device.resolve_precision`'s rule; the header says
what "auto" would choose here). XLA stays off (`jit_compile="auto"`): it made conv nets
4-7x slower on the CPU.

    python bench/bench_precision.py [--quick] [--tiny] [--rounds N] [--json PATH]

``--tiny`` is a smoke run (batch 8, ResNet-8, one round of two steps): it checks that the
script works, its figures mean nothing.
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import _common

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads

import keras
import numpy as np

import regkit
from regkit.device import choose_precision, device_facts, precision_policy

CNN_TARGET = 2.0  # float32 step time / bfloat16 step time for the league CNN
POLICIES = ("float32", "mixed_bfloat16")


@dataclasses.dataclass(frozen=True)
class Workload:
    """One model to time under each policy."""

    name: str
    shape: tuple[int, int, int]
    batch: int
    build: Callable[[], keras.Model]
    target: float | None = None


def workloads(tiny: bool) -> tuple[Workload, ...]:
    batch = 8 if tiny else 128
    depth = 8 if tiny else 20
    return (
        Workload(
            "league CNN (28x28x1, 16-32-64, dense 128)",
            (28, 28, 1),
            batch,
            lambda: regkit.build_cnn((28, 28, 1), 10, filters=(16, 32, 64), dense_units=(128,)),
            target=CNN_TARGET,
        ),
        Workload(
            f"ResNet-{depth} (32x32x3, width 16)",
            (32, 32, 3),
            batch,
            lambda: regkit.build_resnet((32, 32, 3), 10, depth=depth, width=16),
        ),
    )


def step_flops(model: keras.Model, batch: int) -> float:
    """Floating-point operations of one training step: 2 per multiply-add of the conv,
    depthwise conv and dense layers for the forward pass, times 3 (the backward pass
    computes the gradients of the inputs and of the weights, each as costly)."""
    forward = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D | keras.layers.Dense):
            kernel = np.prod(layer.kernel.shape)  # k*k*in*out, or in*out
            positions = np.prod(layer.output.shape[1:-1]) if layer.output.shape[1:-1] else 1
            forward += 2 * int(kernel) * int(positions)
        elif isinstance(layer, keras.layers.DepthwiseConv2D):
            kernel = np.prod(layer.kernel.shape)
            forward += 2 * int(kernel) * int(np.prod(layer.output.shape[1:-1]))
    return 3.0 * forward * batch


class _StepTimer(keras.callbacks.Callback):
    """Wall-clock seconds of every training step of the last `fit`."""

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[float] = []
        self._start = 0.0

    def on_train_begin(self, logs=None):
        self.steps = []

    def on_train_batch_begin(self, batch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.steps.append(time.perf_counter() - self._start)


def _arm(work: Workload, policy: str, steps: int) -> tuple[Callable[[], float], keras.Model]:
    """Builds, compiles and traces one arm under `policy`; each call of the returned
    function fits `steps` steps and returns their median step time (seconds)."""
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    with precision_policy(policy):  # the model keeps its policy after the block
        model = work.build()
        regkit.compile_model(model)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    wanted = {"float32": "float32", "mixed_bfloat16": "bfloat16"}[policy]
    if any(layer.compute_dtype != wanted for layer in convs):
        raise RuntimeError(f"{work.name}: built under {policy}, a conv computes otherwise")
    rng = np.random.default_rng(0)
    x = rng.random((work.batch, *work.shape), dtype=np.float32)
    y = rng.integers(0, 10, size=work.batch)
    data = tf.data.Dataset.from_tensors((x, y)).repeat()
    timer = _StepTimer()
    # the first steps trace the train function; they are not timed
    model.fit(data, steps_per_epoch=2, epochs=1, verbose=0, callbacks=[timer], shuffle=False)

    def measure() -> float:
        model.fit(
            data, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=[timer], shuffle=False
        )
        if not all(np.isfinite(v) for v in model.get_metrics_result().values()):
            raise RuntimeError(f"{work.name} under {policy}: the loss is not finite")
        return statistics.median(timer.steps)

    return measure, model


def bench(work: Workload, steps: int, rounds: int) -> dict[str, Any]:
    arms, models = {}, {}
    for policy in POLICIES:
        print(f"building and tracing {work.name} under {policy}", flush=True)
        arms[policy], models[policy] = _arm(work, policy, steps)
    times = _common.interleave(arms, rounds)
    speedups = [f / b for f, b in zip(times["float32"], times["mixed_bfloat16"], strict=True)]
    flops = step_flops(models["float32"], work.batch)
    result: dict[str, Any] = {
        "workload": work.name,
        "batch": work.batch,
        "gflop_per_step": flops / 1e9,
        "speedup": _common.median(speedups),
        "speedup_spread": _common.spread(speedups),
        "rounds": rounds,
        "steps": steps,
        "verdict": (
            _common.verdict(_common.median(speedups), work.target, at_least=True)
            if work.target
            else ""
        ),
    }
    for policy in POLICIES:
        step = _common.median(times[policy])
        result[policy] = {
            "step_ms": 1000 * step,
            "step_ms_spread": _common.spread([1000 * t for t in times[policy]]),
            "gflops": flops / step / 1e9,
        }
    return result


def main() -> None:
    p = _common.parser(__doc__.splitlines()[0])
    p.add_argument(
        "--tiny", action="store_true", help="smoke run at a tiny size (figures meaningless)"
    )
    args = p.parse_args()
    info = _common.print_machine()
    facts = device_facts()
    auto = choose_precision("auto", facts)
    print(f'precision="auto" here: {auto.policy} ({auto.reason})')
    steps = 2 if args.tiny else 3 if args.quick else 10
    rounds = args.rounds or (1 if args.tiny or args.quick else 7)
    print(f"{steps} steps x {rounds} rounds per arm; float32 and mixed_bfloat16 interleaved")
    results = [bench(work, steps, rounds) for work in workloads(args.tiny)]
    headers = [
        "workload",
        "GFLOP/step",
        "float32 ms (spread)",
        "bfloat16 ms (spread)",
        "float32 GFLOP/s",
        "bfloat16 GFLOP/s",
        "speed-up (spread)",
        "verdict",
    ]
    rows = [
        [
            r["workload"],
            f"{r['gflop_per_step']:.3g}",
            f"{_common.num(r['float32']['step_ms'])} ({r['float32']['step_ms_spread']})",
            f"{_common.num(r['mixed_bfloat16']['step_ms'])} "
            f"({r['mixed_bfloat16']['step_ms_spread']})",
            _common.num(r["float32"]["gflops"]),
            _common.num(r["mixed_bfloat16"]["gflops"]),
            f"{r['speedup']:.2f} ({r['speedup_spread']})",
            r["verdict"],
        ]
        for r in results
    ]
    print()
    print(_common.markdown_table(headers, rows))
    print(
        f"\nspeed-up: median over {rounds} rounds of float32's step time over bfloat16's "
        f"in the same round (each round: the median of {steps} steps per arm); target for "
        f"the CNN: >= {CNN_TARGET:g}."
        + ("\n--tiny: a smoke run; these figures mean nothing." if args.tiny else "")
    )
    _common.finish(
        args,
        {
            "bench": "precision",
            "machine": info,
            "auto": auto._asdict(),
            "cpu_bfloat16_flags": sorted(f for f in facts.cpu_flags if "bf16" in f),
            "tiny": args.tiny,
            "results": results,
        },
    )


if __name__ == "__main__":
    main()
