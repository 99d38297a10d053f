"""Seed 002: does BatchNorm make L2 useless? MobileNetV2 three ways, watching the weights.

The seed trains MobileNetV2 with BN only, with L2 only (no BN) and with BN + L2 (L2 on
kernels and biases), using SGD and sparse cross-entropy from logits, and prints the first
10 weights of the first conv layer each epoch. What it shows:

- L2 without BN shrinks the weights, and with them what the network computes.
- BN alone lets the weights grow: under BN a kernel's scale does not matter, and plain
  gradient steps (orthogonal to the kernel) only ever lengthen it.
- BN + L2: the penalty shrinks the kernels but cannot change the function through their
  scale. What it changes is the *effective learning rate* lr / ||w||^2 of each kernel
  that feeds a BatchNorm, which rises as ||w|| falls.

`compare` logs every kernel norm (`WeightNormLogger`) and each BN'd kernel's effective
learning rate (`RegularizationMonitor`); this script prints the stem conv's first weights
per epoch like the seed's `PrintWeightsCallback`, then the norms and effective learning
rates at the start and end of training.

Runs offline on the embedded digits, resized to 32x32 (MobileNetV2's minimum), with
alpha 0.35 by default; `--dataset cifar10` (or a tfds name with `--image-size`) and
`--alpha 1.0` for the seed's scale.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence

from regkit import Regularization, compare
from regkit.callbacks import WeightNormLogger

STEM = "mobilenet_v2_stem_conv"
VARIANTS = {
    "bn": Regularization(batch_norm=True),
    "l2": Regularization(l2=1e-3, regularize_bias=True),
    "bn+l2": Regularization(l2=1e-3, regularize_bias=True, batch_norm=True),
}


class StemPrinter(WeightNormLogger):
    """The seed's PrintWeightsCallback, which also keeps each run's initial stem norm."""

    def __init__(self, print_first: int) -> None:
        super().__init__([STEM], print_first=print_first)
        self.initial: list[float] = []  # one per run, in run order

    def on_train_begin(self, logs=None) -> None:
        super().on_train_begin(logs)
        self.initial.append(self.initial_norms[f"{STEM}_kernel_norm"])


def _trace(values: list[float]) -> str:
    """`initial -> after epoch 1 -> last`."""
    return " -> ".join(
        f"{v:.4g}" for v in (values[:2] + values[-1:] if len(values) > 2 else values)
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="digits", help="digits, cifar10 or a tfds name")
    parser.add_argument("--data-dir", help="where the data lies")
    parser.add_argument("--image-size", type=int, help="resize to NxN (default: >= 32)")
    parser.add_argument("--alpha", type=float, default=0.35, help="width multiplier")
    parser.add_argument("--epochs", type=int, default=10, help="the seed's 10")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=0.05, help="SGD learning rate")
    parser.add_argument("--out", help="report directory (default: a temporary one)")
    parser.add_argument(
        "--smoke", action="store_true", help="1 epoch on 16 images, bn+l2 only (tests)"
    )
    args = parser.parse_args(argv)

    printer = StemPrinter(print_first=0 if args.smoke else 10)
    chosen = {"bn+l2": VARIANTS["bn+l2"]} if args.smoke else VARIANTS
    with tempfile.TemporaryDirectory() as tmp:
        report = compare(
            chosen,
            model="mobilenet_v2",
            model_kwargs={"alpha": args.alpha, "output": "logits"},
            dataset=args.dataset,
            data_dir=args.data_dir,
            image_size=args.image_size,
            epochs=1 if args.smoke else args.epochs,
            batch_size=args.batch_size,
            optimizer="sgd",
            learning_rate=args.learning_rate,
            callbacks=[printer],  # the seed's PrintWeightsCallback
            bn_momentum="auto",
            limit=16 if args.smoke else None,
            out_dir=args.out or tmp,
            run_eagerly=args.smoke,  # one step: tracing would cost more than training
            plots=not args.smoke,
            verbose=0 if args.smoke else 2,
        )
        print(report.to_markdown())

    print(
        f"{STEM} kernel: ||w|| and effective learning rate lr / ||w||^2 "
        "(at initialisation -> after epoch 1 -> at the end)"
    )
    for run, initial in zip(report.runs, printer.initial, strict=True):
        norms = [initial, *run.history.get(f"{STEM}_kernel_norm", [])]
        line = f"  {run.variant:6s} ||w|| {_trace(norms):28s}"
        if f"{STEM}_effective_lr" in run.history:  # only kernels that feed a BatchNorm
            lrs = [args.learning_rate / initial**2, *run.history[f"{STEM}_effective_lr"]]
            line += f" effective lr {_trace(lrs)}"
        print(line.rstrip())
    print(
        "Under BatchNorm the kernel's scale does not change the function: its norm grows "
        "from plain SGD steps, which divides its effective learning rate, and L2 (bn+l2) "
        "holds the norm down, keeping that rate higher. Without BN (l2), L2 shrinks the "
        "function itself."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
