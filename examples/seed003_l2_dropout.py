"""Seed 003: adding L2 and dropout to a small functional CNN.

The seed's model: Conv32(L2 0.01) -> BN -> ReLU -> MaxPool, Conv64(L2) -> BN -> ReLU ->
MaxPool, Conv128(L2) -> BN -> ReLU, Flatten, Dense64(relu, L2) -> Dropout(0.5) -> Dense10
logits, trained with Adam(3e-4) (`learning_rate=`: Keras 3 rejects the seed's `lr=`) and
sparse cross-entropy from logits, batch 64. In regkit that is one `build_cnn` call with
`norm_order="conv-bn-act"` (conv without bias, then BN, then ReLU) and `output="logits"`.

This script trains the seed's model beside the same network with BatchNorm only (no L2,
no dropout) and prints what L2 + dropout change: the gap between training and validation
accuracy, the penalty's share of the loss, the kernel norms. On the embedded digits
(default, offline) both networks fit almost perfectly and the gaps stay close; the seed's
CIFAR-10 setting is `--dataset cifar10` (its 150 epochs with `--epochs 150`).
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence

from regkit import Regularization, build_cnn, compare

#: The seed's regularization: L2(0.01) on the conv and hidden dense kernels (not on the
#: logits layer), BN after every conv, dropout 0.5 after the hidden dense layer.
SEED003 = Regularization(l2=0.01, batch_norm=True, head_dropout=0.5, regularize_output=False)


def seed003_model(input_shape, num_classes, *, reg):
    """The seed's functional model (3 convs, no pooling after the last, Dense64, logits)."""
    return build_cnn(
        input_shape,
        num_classes,
        filters=(32, 64, 128),
        convs_per_block=1,
        dense_units=(64,),
        norm_order="conv-bn-act",
        pool=(True, True, False),
        output="logits",
        reg=reg,
        name="seed003",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="digits", help="digits (default) or cifar10")
    parser.add_argument("--data-dir", help="where CIFAR-10 is (else Keras' cache/download)")
    parser.add_argument("--epochs", type=int, default=30, help="maximum epochs (seed: 150)")
    parser.add_argument("--batch-size", type=int, default=64, help="the seed's 64")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds")
    parser.add_argument("--out", help="report directory (default: a temporary one)")
    parser.add_argument("--smoke", action="store_true", help="1 epoch on 64 images (tests)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        report = compare(
            {"bn only": Regularization(batch_norm=True), "l2 + dropout": SEED003},
            model=seed003_model,
            dataset=args.dataset,
            data_dir=args.data_dir,
            epochs=1 if args.smoke else args.epochs,
            batch_size=args.batch_size,
            seeds=[int(s) for s in args.seeds.split(",")],
            learning_rate=3e-4,
            patience=10,
            bn_momentum="auto",
            limit=64 if args.smoke else None,
            out_dir=args.out or tmp,
            run_eagerly=args.smoke,  # one step: tracing would cost more than training
            plots=not args.smoke,
            verbose=0 if args.smoke else 2,
        )
        print(report.to_markdown())
    summary = report.summary()
    for name in ("bn only", "l2 + dropout"):
        mean = summary[name]["mean"]
        if mean["generalization_gap"] is not None:
            print(
                f"{name:12s}: train {mean['train_accuracy']:.4f}, validation "
                f"{mean['val_accuracy']:.4f}, gap {mean['generalization_gap']:+.4f}, "
                f"test {mean['test_accuracy']:.4f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
