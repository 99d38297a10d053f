"""Builder overhead: training images/sec of regkit-built seed models vs the same models
hand-written in Keras (tests/seed_models.py), measured interleaved in one run.

Both models of a pair have the same layers, parameter count and regularization losses, are
compiled by the same `regkit.compile_model` call (Adam, sparse cross-entropy, accuracy,
``jit_compile="auto"``) and train on the same in-memory synthetic batch repeated, so the
input pipeline costs nothing and any difference comes from the model graph; the bench
also traces both train steps and says whether the TensorFlow graphs are identical (same op
types, same counts). Each measurement is one `fit` of N steps after a warm-up fit
(tracing). Target: regkit / Keras >= 0.97.

Every step is timed (a callback, batch begin to end, so fit's per-call set-up is left
out); images/sec is batch size over the median step time of all rounds.
Seed 001 (160x160x3, 13.4 M parameters) trains at a few images/sec on 2 CPU cores, so it
runs with batch 8 and one step per round (12 per arm) instead of the seed's batch 32.

Headline ratio: per round, the Keras step time over the regkit step time measured right
next to it (same load), median over rounds. A third arm, a second hand-written copy, gives
the same figure against the first copy: the A/A noise floor of the machine at that time.

    python bench/bench_builders.py [--quick] [--rounds N] [--json PATH]
"""

from __future__ import annotations

import importlib
import os
import statistics
import sys
import time
from collections import Counter

import _common

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads

import keras
import numpy as np
import tensorflow as tf

import regkit
from regkit import Regularization

sys.path.insert(0, str(_common.ROOT / "tests"))
seed_models = importlib.import_module("seed_models")  # the seeds' models in plain Keras

TARGET = 0.97


def seed000_pair() -> tuple[keras.Model, keras.Model]:
    reg = Regularization(
        l2=0.01, batch_norm=True, head_batch_norm=True, head_dropout=0.5, regularize_output=False
    )
    ours = regkit.build_cnn(
        (32, 32, 3), 10, filters=(32,), convs_per_block=1, dense_units=(512,), reg=reg
    )
    return ours, seed_models.seed000(keras.regularizers.L2(0.01))


def seed001_pair() -> tuple[keras.Model, keras.Model]:
    reg = Regularization(batch_norm=True, dropout=0.25, head_batch_norm=True, head_dropout=0.5)
    return regkit.build_cnn((160, 160, 3), 10, reg=reg), seed_models.seed001((160, 160, 3))


def _layer_configs(model: keras.Model) -> list[tuple[str, dict]]:
    """(class, config without the name) of every layer but the input."""
    out = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        config = dict(layer.get_config())
        config.pop("name", None)
        out.append((type(layer).__name__, config))
    return out


def check_same(ours: keras.Model, theirs: keras.Model) -> None:
    """Refuses to time two models that are not the same architecture, layer for layer."""
    problems = []
    if ours.count_params() != theirs.count_params():
        problems.append(f"parameters {ours.count_params():,} vs {theirs.count_params():,}")
    if len(ours.losses) != len(theirs.losses):
        problems.append(f"regularization losses {len(ours.losses)} vs {len(theirs.losses)}")
    mine, reference = _layer_configs(ours), _layer_configs(theirs)
    if len(mine) != len(reference):
        problems.append(f"{len(mine)} vs {len(reference)} layers")
    for i, (a, b) in enumerate(zip(mine, reference, strict=False)):
        if a != b:
            problems.append(f"layer {i}: {a} vs {b}")
    if problems:
        raise SystemExit(f"not the same model: {'; '.join(problems)}")


class _StepTimer(keras.callbacks.Callback):
    """Wall-clock seconds of every training step (batch begin to batch end), per `fit`."""

    def __init__(self) -> None:
        super().__init__()
        self.rounds: list[list[float]] = []
        self._start = 0.0

    @property
    def steps(self) -> list[float]:
        return [t for steps in self.rounds for t in steps]

    def on_train_begin(self, logs=None):
        self.rounds.append([])

    def on_train_batch_begin(self, batch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.rounds[-1].append(time.perf_counter() - self._start)


def train_step_ops(model: keras.Model, shape: tuple[int, ...], batch: int) -> Counter:
    """Op types of the model's traced train step (forward, loss, gradients, Adam update).

    Two models whose counters are equal run the same TensorFlow graph, step for step.
    """
    spec = (tf.TensorSpec((batch, *shape), tf.float32), tf.TensorSpec((batch,), tf.int32))
    graph = tf.function(model.train_step).get_concrete_function(spec).graph
    return Counter(op.type for op in graph.get_operations())


def _trainer(model: keras.Model, shape: tuple[int, ...], batch: int, steps: int):
    """Compiles `model` and returns (measure, timer): each `measure()` fits `steps` steps."""
    regkit.compile_model(model)
    rng = np.random.default_rng(0)
    x = rng.random((batch, *shape), dtype=np.float32)
    y = (np.arange(batch) % 10).astype(np.int32)
    data = tf.data.Dataset.from_tensors((x, y)).repeat()
    model.fit(data, steps_per_epoch=2, epochs=1, verbose=0)  # warm-up: trace, allocate
    timer = _StepTimer()

    def measure() -> float:
        start = time.perf_counter()
        model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=[timer])
        return batch * steps / (time.perf_counter() - start)

    return measure, timer


def _quartile_rates(steps: list[float], batch: int) -> list[float]:
    """Images/sec at the slow quartile, median and fast quartile of the step times."""
    if len(steps) < 2:
        return [batch / steps[0]] * 3
    return [batch / q for q in reversed(statistics.quantiles(steps, n=4))]


def _paired_ratio(fast: _StepTimer, slow: _StepTimer) -> tuple[float, list[float]]:
    """Speed of `fast` over `slow`: each round's median steps, paired, median over rounds.

    The two arms of a round ran right after each other, under the same load.
    """
    per_round = [
        _common.median(b) / _common.median(a) for a, b in zip(fast.rounds, slow.rounds, strict=True)
    ]
    return _common.median(per_round), per_round


def bench(name: str, pair, shape, *, batch: int, steps: int, rounds: int) -> dict:
    keras.utils.set_random_seed(0)
    ours, theirs = pair()
    _, control = pair()  # a second hand-written copy: the A/A noise floor
    check_same(ours, theirs)
    arms = {
        "regkit": _trainer(ours, shape, batch, steps),
        "keras": _trainer(theirs, shape, batch, steps),
        "keras_copy": _trainer(control, shape, batch, steps),
    }
    ops = train_step_ops(ours, shape, batch)  # models are built by the warm-up fits
    same_graph = ops == train_step_ops(theirs, shape, batch)
    _common.interleave({k: measure for k, (measure, _) in arms.items()}, rounds)
    timers = {k: timer for k, (_, timer) in arms.items()}
    # Batch size over the median step time of all rounds, and the interquartile range.
    rate = {k: batch / _common.median(t.steps) for k, t in timers.items()}
    quartiles = {k: _quartile_rates(t.steps, batch) for k, t in timers.items()}
    ratio, per_round = _paired_ratio(timers["regkit"], timers["keras"])
    control_ratio, _ = _paired_ratio(timers["keras_copy"], timers["keras"])
    return {
        "model": name,
        "input": "x".join(map(str, shape)),
        "params": ours.count_params(),
        "batch": batch,
        "steps": steps,
        "rounds": rounds,
        "regkit_img_s": rate["regkit"],
        "keras_img_s": rate["keras"],
        "regkit_iqr": _common.spread(quartiles["regkit"]),
        "keras_iqr": _common.spread(quartiles["keras"]),
        "ratio": ratio,
        "round_ratios": per_round,
        "control_ratio": control_ratio,
        "train_step_ops": sum(ops.values()),
        "same_train_step_graph": same_graph,
        "verdict": _common.verdict(ratio, TARGET, at_least=True),
    }


def main() -> None:
    args = _common.parser(__doc__.splitlines()[0]).parse_args()
    info = _common.print_machine()
    # (name, builders, input shape, batch, timed steps per round, rounds)
    plans = [
        ("seed 000", seed000_pair, (32, 32, 3), 64, 5 if args.quick else 8, 30),
        ("seed 001", seed001_pair, (160, 160, 3), 8, 1, 12),
    ]
    if args.quick or args.rounds:
        plans = [(*plan[:5], args.rounds or 1) for plan in plans]
    results = []
    for name, pair, shape, batch, steps, rounds in plans:
        size = "x".join(map(str, shape))
        print(f"timing {name} ({size}, batch {batch}, {steps} steps x {rounds} rounds)", flush=True)
        results.append(bench(name, pair, shape, batch=batch, steps=steps, rounds=rounds))
        keras.backend.clear_session()
    headers = [
        "model",
        "input",
        "params",
        "batch x steps",
        "rounds",
        "train step graph",
        "regkit img/s (IQR)",
        "Keras img/s (IQR)",
        "regkit / Keras",
        "A/A control",
        "verdict",
    ]
    rows = [
        [
            r["model"],
            r["input"],
            f"{r['params']:,}",
            f"{r['batch']} x {r['steps']}",
            r["rounds"],
            f"{'identical' if r['same_train_step_graph'] else 'DIFFERENT'}, "
            f"{r['train_step_ops']} ops",
            f"{_common.num(r['regkit_img_s'])} ({r['regkit_iqr']})",
            f"{_common.num(r['keras_img_s'])} ({r['keras_iqr']})",
            f"{r['ratio']:.3f}",
            f"{r['control_ratio']:.3f}",
            r["verdict"],
        ]
        for r in results
    ]
    print()
    print(_common.markdown_table(headers, rows))
    print(
        "\nregkit / Keras: median over rounds of the paired step-time ratio (Keras step / "
        "regkit step, same round). A/A control: the same figure for a second hand-written "
        "copy against the first, i.e. the noise floor of this machine right now."
    )
    _common.finish(args, {"bench": "builders", "machine": info, "results": results})


if __name__ == "__main__":
    main()
