"""Seed 001: a basic and a regularized CNN, with augmentation and the seed's callbacks.

The seed trains three blocks of two Conv(relu)+BN, MaxPool, Dropout(0.25) (32/64/128
filters), then Flatten, Dense256, BN, Dropout(0.5) and softmax, on Imagenette at 160x160
with flip/brightness/contrast/rot90 augmentation, a best-only checkpoint,
EarlyStopping(7, restore best), ReduceLROnPlateau(0.5, 3, min 1e-5), mixed precision and
GPU memory growth, and ends with a basic-vs-regularized comparison table. Here that is:

    regkit.device.setup()                      # memory growth, mixed precision where it pays
    regkit.compare({"basic": ..., "regularized": ...}, augment=Augment.seed001(), ...)

`compare` adds the seed's callbacks to every run (`regkit.callbacks.standard_callbacks`),
restores the best epoch, evaluates it on the test split and writes the table, the
overlaid loss/accuracy curves and each run's CSV log and checkpoint.

Runs offline on the embedded digits by default (digits are not flipped or turned: a
mirrored 2 is not a 2, so they get small shifts and rotations instead); the seed's setting:

    python examples/seed001_regularized_cnn.py --dataset imagenette/160px --image-size 160 \\
        --batch-size 16 --epochs 50 --data-dir ~/tensorflow_datasets [--download]
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence

from regkit import Regularization, compare, device
from regkit.data import Augment

#: Seed 001's regularized model: BN after every conv, dropout after every block and in the head.
REGULARIZED = Regularization(batch_norm=True, dropout=0.25, head_batch_norm=True, head_dropout=0.5)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="digits", help="digits or e.g. imagenette/160px")
    parser.add_argument("--data-dir", help="where the tfds/CIFAR data lies")
    parser.add_argument("--download", action="store_true", help="let tfds download the set")
    parser.add_argument("--image-size", type=int, help="resize to NxN (160 for Imagenette)")
    parser.add_argument("--epochs", type=int, default=20, help="maximum epochs (seed: 50)")
    parser.add_argument("--batch-size", type=int, default=32, help="seed: 16")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds")
    parser.add_argument("--out", help="report directory (default: a temporary one)")
    parser.add_argument("--smoke", action="store_true", help="1 epoch on 64 images (tests)")
    args = parser.parse_args(argv)

    print(device.setup())  # memory growth + mixed precision on a recent GPU; no-op on CPU
    digits = args.dataset == "digits"
    augment = True if digits else Augment.seed001()  # flip, brightness, contrast, rot90
    with tempfile.TemporaryDirectory() as tmp:
        report = compare(
            {"basic": Regularization(), "regularized": REGULARIZED},
            model="cnn",  # build_cnn's defaults are the seed's architecture
            dataset=args.dataset,
            data_dir=args.data_dir,
            download=True if args.download else None,
            image_size=args.image_size,
            epochs=1 if args.smoke else args.epochs,
            batch_size=args.batch_size,
            seeds=[int(s) for s in args.seeds.split(",")],
            augment=augment,
            patience=7,  # the seed's EarlyStopping; ReduceLROnPlateau(0.5, 3, 1e-5) too
            bn_momentum="auto",
            limit=64 if args.smoke else None,
            out_dir=args.out or tmp,
            run_eagerly=args.smoke,  # one step: tracing would cost more than training
            plots=not args.smoke,
            verbose=0 if args.smoke else 2,
        )
        print(report.to_markdown())
        if args.out:
            print(f"Curves, logs and checkpoints: {args.out}")
    summary = report.summary()
    basic, regularized = summary["basic"]["mean"], summary["regularized"]["mean"]
    if basic["generalization_gap"] is not None and regularized["generalization_gap"] is not None:
        print(
            f"Generalization gap (train - validation accuracy): basic "
            f"{basic['generalization_gap']:+.4f}, regularized "
            f"{regularized['generalization_gap']:+.4f}; test accuracy "
            f"{basic['test_accuracy']:.4f} vs {regularized['test_accuracy']:.4f}."
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
