"""Sizing the Fashion-MNIST league table (issue 24): seconds per epoch and accuracy spread.

Plain Keras on the real Fashion-MNIST files (read by `regkit.data.idx`), no regkit training
code, so the figures hold whatever state the regularizers' code is in:

    python bench/league_sizing.py timing            # s/epoch and s/eval per model and batch
    python bench/league_sizing.py spread --model cnn-small --train 10000 --epochs 8 --seeds 4
    python bench/league_sizing.py curves --train 2000 --epochs 40 --batch 64   # table 2

`timing` fits each model for two epochs on a training subset (the first epoch includes
tracing; the second is reported) and times one pass over the 10,000 test images. `spread`
trains one configuration for several seeds and prints test accuracy per seed, its mean and
standard deviation, and the wall time per run. `curves` trains on a training subset and
prints each epoch's train and validation accuracy (the 12,000 held-out images) with its
seconds, to see where a model starts to overfit. Results print as JSON lines.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

from regkit.data.idx import load_idx_arrays


def resnet(depth: int = 20, width: int = 16) -> keras.Model:
    """A CIFAR-style ResNet (He et al. 2016, section 4.2) of Conv/BN/ReLU, 6n + 2 layers."""
    n = (depth - 2) // 6
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(width, 3, padding="same", use_bias=False)(inputs)
    x = keras.layers.ReLU()(keras.layers.BatchNormalization()(x))
    for stage in range(3):
        filters = width * 2**stage
        for block in range(n):
            stride = 2 if stage > 0 and block == 0 else 1
            shortcut = x
            y = keras.layers.Conv2D(filters, 3, stride, padding="same", use_bias=False)(x)
            y = keras.layers.ReLU()(keras.layers.BatchNormalization()(y))
            y = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(y)
            y = keras.layers.BatchNormalization()(y)
            if stride != 1 or shortcut.shape[-1] != filters:
                shortcut = keras.layers.Conv2D(filters, 1, stride, use_bias=False)(shortcut)
                shortcut = keras.layers.BatchNormalization()(shortcut)
            x = keras.layers.ReLU()(keras.layers.Add()([y, shortcut]))
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs, name=f"resnet{depth}")


def build(model: str) -> keras.Model:
    import regkit

    if model == "cnn":
        return regkit.build_cnn((28, 28, 1), 10)
    if model == "cnn-small":
        return regkit.build_cnn((28, 28, 1), 10, filters=(16, 32, 64), dense_units=(128,))
    if model == "cnn-bn":
        return regkit.build_cnn((28, 28, 1), 10, reg="bn")
    if model == "resnet20":
        return resnet(20, 16)
    if model == "resnet8":
        return resnet(8, 16)
    raise SystemExit(f"unknown model {model}")


def data(train: int, seed: int = 0):
    (x, y), (xt, yt) = load_idx_arrays("fashion_mnist", download=False)
    rng = np.random.default_rng(seed)
    pick = rng.permutation(len(x))[:train]
    as_float = lambda a: (a[..., None] / 255.0).astype("float32")  # noqa: E731
    return as_float(x[pick]), y[pick].astype("int64"), as_float(xt), yt.astype("int64")


def compiled(model: str, seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    net = build(model)
    net.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return net


def timing(args: argparse.Namespace) -> None:
    x, y, xt, yt = data(args.train)
    for model in args.models:
        for batch in args.batches:
            net = compiled(model, 0)
            times = []
            for _ in range(2):
                start = time.perf_counter()
                net.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=True)
                times.append(time.perf_counter() - start)
            start = time.perf_counter()
            net.evaluate(xt, yt, batch_size=512, verbose=0)
            net.evaluate(xt, yt, batch_size=512, verbose=0)
            evaluate = (time.perf_counter() - start) / 2
            row = {
                "model": model,
                "params": net.count_params(),
                "batch": batch,
                "train": args.train,
                "first_epoch_s": round(times[0], 2),
                "epoch_s": round(times[1], 2),
                "images_per_s": round(args.train / times[1]),
                "eval10k_s": round(evaluate, 2),
                "load": os.getloadavg()[0],
            }
            print(json.dumps(row), flush=True)


def spread(args: argparse.Namespace) -> None:
    accs, walls = [], []
    for seed in range(args.seeds):
        x, y, xt, yt = data(args.train, seed)
        start = time.perf_counter()
        net = compiled(args.model, seed)
        net.fit(x, y, batch_size=args.batch, epochs=args.epochs, verbose=0, shuffle=True)
        acc = float(net.evaluate(xt, yt, batch_size=512, verbose=0)[1])
        walls.append(time.perf_counter() - start)
        accs.append(acc)
        print(json.dumps({"seed": seed, "test_acc": round(acc, 4), "s": round(walls[-1], 1)}))
    print(
        json.dumps(
            {
                "model": args.model,
                "train": args.train,
                "epochs": args.epochs,
                "batch": args.batch,
                "mean": round(statistics.mean(accs), 4),
                "std": round(statistics.stdev(accs), 4) if len(accs) > 1 else None,
                "s_per_run": round(statistics.mean(walls), 1),
                "load": os.getloadavg()[0],
            }
        ),
        flush=True,
    )


def curves(args: argparse.Namespace) -> None:
    """Train and validation accuracy per epoch of one model on a small training subset.

    The validation images are the 12,000 that regkit's 20% split holds out of the training
    file (the subset is drawn from the other 48,000), so the curves show where the model
    stops generalizing; each epoch's seconds are split into training and validation.
    """
    if args.precision != "float32":
        keras.mixed_precision.set_global_policy(args.precision)
    (x, y), _ = load_idx_arrays("fashion_mnist", download=False)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(x))
    val, rest = order[:12000], order[12000:]
    as_float = lambda a: (a[..., None] / 255.0).astype("float32")  # noqa: E731
    xv, yv = as_float(x[val]), y[val].astype("int64")
    for seed in range(args.seeds):
        pick = np.random.default_rng(seed).permutation(rest)[: args.train]
        xs, ys = as_float(x[pick]), y[pick].astype("int64")
        net = compiled(args.model, seed)
        for epoch in range(1, args.epochs + 1):
            start = time.perf_counter()
            hist = net.fit(xs, ys, batch_size=args.batch, epochs=1, verbose=0, shuffle=True)
            fit_s = time.perf_counter() - start
            start = time.perf_counter()
            val_loss, val_acc = net.evaluate(xv, yv, batch_size=512, verbose=0)
            val_s = time.perf_counter() - start
            row = {
                "seed": seed,
                "epoch": epoch,
                "train_acc": round(float(hist.history["accuracy"][0]), 4),
                "val_acc": round(float(val_acc), 4),
                "val_loss": round(float(val_loss), 4),
                "fit_s": round(fit_s, 2),
                "val_s": round(val_s, 2),
            }
            print(json.dumps(row), flush=True)
    print(
        json.dumps(
            {
                "model": args.model,
                "train": args.train,
                "batch": args.batch,
                "precision": args.precision,
                "load": os.getloadavg()[0],
            }
        ),
        flush=True,
    )


def pilot(args: argparse.Namespace) -> None:
    """The real study runner on a few variants: per-run wall time and paired spread."""
    from regkit import compare
    from regkit.data import DatasetSplits
    from regkit.data.idx import CLASS_NAMES

    splits = DatasetSplits.from_arrays(
        load_idx_arrays("fashion_mnist", download=False),
        class_names=CLASS_NAMES["fashion_mnist"],
        name="fashion_mnist",
    )
    start = time.perf_counter()
    report = compare(
        args.variants,
        dataset=splits,
        model_kwargs={"filters": (16, 32, 64), "dense_units": (128,)},
        epochs=args.epochs,
        batch_size=args.batch,
        seeds=tuple(range(args.seeds)),
        limit=args.limit,
        patience=args.epochs,
        verbose=0,
        plots=False,
        out_dir=args.out,
    )
    total = time.perf_counter() - start
    data = report.to_dict()
    for name, entry in data["variants"].items():
        runs = entry["runs"]
        row = {
            "variant": name,
            "test_accuracy": [round(r["test_accuracy"], 4) for r in runs],
            "best_epoch": [r.get("best_epoch") for r in runs],
            "wall_time": [round(r["wall_time"], 1) for r in runs],
            "mean": round(entry["test_accuracy"], 4),
            "std": round(entry["std"]["test_accuracy"], 4),
        }
        if "vs_reference" in entry:
            row["vs_reference"] = entry["vs_reference"]
        print(json.dumps(row), flush=True)
    print(json.dumps({"total_s": round(total, 1), "load": os.getloadavg()[0]}), flush=True)


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="what", required=True)
    t = sub.add_parser("timing")
    t.add_argument("--models", nargs="+", default=["cnn", "cnn-small", "resnet20"])
    t.add_argument("--batches", nargs="+", type=int, default=[128, 256])
    t.add_argument("--train", type=int, default=10000)
    s = sub.add_parser("spread")
    s.add_argument("--model", default="cnn-small")
    s.add_argument("--train", type=int, default=10000)
    s.add_argument("--epochs", type=int, default=8)
    s.add_argument("--batch", type=int, default=128)
    s.add_argument("--seeds", type=int, default=4)
    c = sub.add_parser("curves")
    c.add_argument("--model", default="cnn-small")
    c.add_argument("--train", type=int, default=2000)
    c.add_argument("--epochs", type=int, default=40)
    c.add_argument("--batch", type=int, default=128)
    c.add_argument("--seeds", type=int, default=1)
    c.add_argument("--precision", default="mixed_bfloat16")
    q = sub.add_parser("pilot")
    q.add_argument("--variants", nargs="+", default=["baseline", "dropout"])
    q.add_argument("--limit", type=int, default=10000)
    q.add_argument("--epochs", type=int, default=8)
    q.add_argument("--batch", type=int, default=128)
    q.add_argument("--seeds", type=int, default=4)
    q.add_argument("--out", default="/tmp/league-pilot")
    args = p.parse_args(argv)
    {"timing": timing, "spread": spread, "curves": curves, "pilot": pilot}[args.what](args)


if __name__ == "__main__":
    main(sys.argv[1:])
