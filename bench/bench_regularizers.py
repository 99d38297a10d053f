"""What the regularizers cost: the training step time of ResNet-20 at 32x32x3 with each
regularizer, against the same model with none, measured interleaved in one run.

Every case is one entry of `CASES` (a name, the `Regularization` the model is built with,
an optional `Augment`, the keywords of `regkit.compile_model`, and callbacks), so adding a
regularizer to the bench is adding one entry. Each arm is a `regkit.build_resnet` ResNet-20
(10 classes) compiled by `regkit.compile_model` and trained by `fit` on the same 512
synthetic uint8 images through `regkit.data.image_pipeline` (batch 32, the case's
augmentation), so an augmentation's cost shows as it would in a study. Arms run in
alternating order each round (A B C, C B A, ...); every step is timed whole, from the first
callback's batch begin to the last callback's batch end, so the case's own callbacks'
per-step work counts (EMA's update runs inside the traced step; a callback-driven one
would count too), and an arm's figure for a round is its median step time. Per-epoch
work (EMA's swaps, SWA's fold) is outside the steps; SWA's case folds every step to
time it.

Headline: per round, the case's step time over the reference's ("none") in the same
round, median over rounds; targets: <= 1.10 for drop path, DropBlock and EMA, <= 2.2 for
SAM and ASAM. A second plain
model ("none (A/A)") gives the same figure against the first: the noise floor of the
machine at that time. Random erasing runs only when `regkit.data.Augment` has it.

    python bench/bench_regularizers.py [--quick] [--rounds N] [--json PATH]
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any

import _common

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads

import keras
import numpy as np

import regkit
from regkit import Regularization
from regkit.data import Augment, from_arrays, image_pipeline

TARGET = 1.10
SHAPE = (32, 32, 3)
BATCH = 32
IMAGES = 512


@dataclasses.dataclass(frozen=True)
class Case:
    """One arm: how the model is built, fed, compiled and trained."""

    name: str
    reg: Regularization = dataclasses.field(default_factory=Regularization)
    augment: Augment | None = None
    compile: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    callbacks: Callable[[], list[keras.callbacks.Callback]] = list
    target: float | None = None  # the step-time ratio the case should stay within


REFERENCE = "none"


def _has_augment_field(name: str) -> bool:
    return name in {f.name for f in dataclasses.fields(Augment)}


def _averaging(reg: Regularization) -> list[keras.callbacks.Callback]:
    from regkit.callbacks import averaging_callbacks

    return averaging_callbacks(reg)


# A few unaugmented batches for SWA's BatchNorm pass (it runs after the timed steps).
_BN_DATA = np.zeros((2 * BATCH, *SHAPE), dtype=np.float32)


def _swa_fold_each_step() -> type:
    from regkit.callbacks import SWA

    class SWAFoldEachStep(SWA):
        """SWA that folds the weights into its mean after every step (to time one fold)."""

        def on_train_batch_end(self, batch, logs=None):
            self.on_epoch_end(self.first_epoch)

    return SWAFoldEachStep


def _SWAFoldEachStep(*args: Any, **kwargs: Any) -> keras.callbacks.Callback:  # noqa: N802
    return _swa_fold_each_step()(*args, **kwargs)


#: The arms, reference first. One entry per regularizer.
CASES: tuple[Case, ...] = (
    Case(REFERENCE),
    Case("drop_path=0.1", Regularization(drop_path=0.1), target=TARGET),
    Case("drop_block=0.1 (7x7)", Regularization(drop_block=0.1, drop_block_size=7), target=TARGET),
    *(
        (Case("random_erasing=0.5", augment=Augment(random_erasing=0.5)),)
        if _has_augment_field("random_erasing")
        else ()
    ),
    *(
        Case("ema=0.999", callbacks=lambda: _averaging(Regularization(ema=0.999)), target=1.10),
        Case("sam=0.05", compile={"reg": Regularization(sam=0.05)}, target=2.20),
        Case(
            "asam=0.5",
            compile={"reg": Regularization(sam=0.5, sam_adaptive=True)},
            target=2.20,
        ),
        # SWA folds the weights in once per epoch; here it folds after every step, so
        # (ratio - 1) is one fold's cost in steps. Target: one fold <= 5 % of the bench's
        # shortest epoch (512 images / batch 32 = 16 steps), i.e. ratio <= 1 + 0.05 * 16.
        Case(
            "swa fold (every step)",
            callbacks=lambda: [_SWAFoldEachStep(1.0, train_data=_BN_DATA)],
            target=1.0 + 0.05 * IMAGES / BATCH,
        ),
    ),
    Case("none (A/A)"),
)


class _StepTimer(keras.callbacks.Callback):
    """Wall-clock seconds of every training step of the last `fit`, whole: it goes first
    in the callback list (its batch begin starts the clock) and its `end` last (its batch
    end stops it), so every other callback's per-step work is inside."""

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[float] = []
        self._start = 0.0
        self.end = _StepEnd(self)

    def on_train_begin(self, logs=None):
        self.steps = []

    def on_train_batch_begin(self, batch, logs=None):
        self._start = time.perf_counter()

    def stop(self) -> None:
        self.steps.append(time.perf_counter() - self._start)


class _StepEnd(keras.callbacks.Callback):
    """The last callback of the list: stops its `_StepTimer`'s clock."""

    def __init__(self, timer: _StepTimer) -> None:
        super().__init__()
        self.timer = timer

    def on_train_batch_end(self, batch, logs=None):
        self.timer.stop()


def _arm(case: Case, steps: int) -> tuple[Callable[[], float], keras.Model]:
    """Builds and warms up one arm; each call of the returned function fits `steps` steps
    and returns their median step time (seconds)."""
    keras.utils.set_random_seed(0)
    model = regkit.build_resnet(SHAPE, 10, depth=20, reg=case.reg)
    regkit.compile_model(model, **case.compile)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(IMAGES, *SHAPE), dtype=np.uint8)
    labels = rng.integers(0, 10, size=IMAGES)
    data = image_pipeline(
        from_arrays(images, labels), batch_size=BATCH, augment=case.augment, seed=0
    ).repeat()
    timer = _StepTimer()
    callbacks = [timer, *case.callbacks(), timer.end]  # the whole step, callbacks included
    model.fit(data, steps_per_epoch=3, epochs=1, verbose=0, callbacks=callbacks)  # trace

    def measure() -> float:
        model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=callbacks)
        return statistics.median(timer.steps)

    return measure, model


def bench(cases: tuple[Case, ...], steps: int, rounds: int) -> list[dict[str, Any]]:
    arms = {}
    for case in cases:
        print(f"building and tracing {case.name}", flush=True)
        arms[case.name], _ = _arm(case, steps)
    times = _common.interleave(arms, rounds)
    reference = times[REFERENCE]
    results = []
    for case in cases:
        ratios = [t / r for t, r in zip(times[case.name], reference, strict=True)]
        ratio = _common.median(ratios)
        results.append(
            {
                "case": case.name,
                "step_ms": 1000 * _common.median(times[case.name]),
                "step_ms_spread": _common.spread([1000 * t for t in times[case.name]]),
                "ratio": ratio,
                "ratio_spread": _common.spread(ratios),
                "rounds": rounds,
                "steps": steps,
                "verdict": (
                    "reference"
                    if case.name == REFERENCE
                    else _common.verdict(ratio, case.target, at_least=False)
                    if case.target
                    else ""
                ),
            }
        )
    return results


def main() -> None:
    args = _common.parser(__doc__.splitlines()[0]).parse_args()
    info = _common.print_machine()
    steps = 3 if args.quick else 8
    rounds = args.rounds or (1 if args.quick else 7)
    print(f"ResNet-20, {SHAPE}, batch {BATCH}: {steps} steps x {rounds} rounds per arm")
    results = bench(CASES, steps, rounds)
    headers = ["regularizer", "step ms (spread)", "/ none (spread)", "verdict"]
    rows = [
        [
            r["case"],
            f"{_common.num(r['step_ms'])} ({r['step_ms_spread']})",
            f"{r['ratio']:.3f} ({r['ratio_spread']})",
            r["verdict"],
        ]
        for r in results
    ]
    print()
    print(_common.markdown_table(headers, rows))
    print(
        f"\n/ none: median over {rounds} rounds of the step-time ratio to the plain ResNet-20 "
        "of the same round (each round: the median of "
        f"{steps} steps per arm). none (A/A): a second plain model, the noise floor."
    )
    _common.finish(
        args,
        {
            "bench": "regularizers",
            "machine": info,
            "model": "resnet20",
            "batch": BATCH,
            "results": results,
        },
    )


if __name__ == "__main__":
    main()
