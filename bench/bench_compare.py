"""`regkit compare` against a hand-written Keras script doing the same work, in one process
(issue 29: nothing slow around the steps).

Both arms train the same runs on the same data, interleaved round by round (A B, B A, ...):

- `compare`: `compare(["baseline"], dataset=splits, model="cnn", model_kwargs=..., epochs=E,
  batch_size=B, seeds=(0, ..., R-1), out_dir=..., verbose=0)`, everything it does included:
  the pipeline, monitors, best-only checkpoint and backup at each epoch end, early-stopping
  and learning-rate callbacks, CSV log, test evaluation of the best weights, model.keras,
  report.json / report.md after each run and the plots at the end.
- hand-written: for each seed, `keras.utils.set_random_seed`, the same layers written out
  (Rescaling, two 3x3 convolutions and a max-pool per block, Flatten, Dense, softmax; the
  parameter counts are checked equal), Adam at the same learning rate, a plain tf.data
  pipeline (`from_tensor_slices`, `shuffle`, `batch`, `prefetch`), `fit` with
  `validation_data` for the same epochs, one `evaluate` on the test split. No callbacks,
  no files.

Both load the same splits by name in each study (`load_dataset(name).take(limit)`, which
is what `compare(dataset=name, limit=...)` does; the script then takes the arrays behind
them) and train in float32. The league's setting is the default: Fashion-MNIST
(`apt-get install -y dataset-fashion-mnist`), 10,000 training and 10,000 validation images,
the CNN at a quarter width (16-32-64, dense 128), batch 128, 2 epochs, 2 runs (seeds) per
study. Without Fashion-MNIST the embedded digits stand in (and say so).

Figures: each arm's seconds per study (median and min-max over rounds), the ratio
compare / hand-written per round (median and min-max: the noise), and the seconds inside
the runs (compare's run wall times, which cover fit, test evaluation and the model file,
against the script's fit + evaluate). One warm-up study per arm comes first, untimed, so
that first-use costs (tracing caches, imports) fall on neither arm. Exits non-zero only on
errors, never because a target is missed.

    python bench/bench_compare.py [--quick] [--rounds N] [--runs N] [--epochs N] [--json PATH]
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import _common

FILTERS, DENSE, BATCH, EPOCHS, LIMIT, RUNS = (16, 32, 64), 128, 128, 2, 10_000, 2
TARGET = 1.05  # compare / hand-written, at most


def load_splits(name: str, limit: int | None) -> Any:
    """The splits `compare(dataset=name, limit=limit)` trains on."""
    from regkit.data import load_dataset

    splits = load_dataset(name, download=False)
    return splits.take(limit) if limit else splits


def dataset_name() -> str:
    """Fashion-MNIST where it is installed, else the embedded digits (said so)."""
    try:
        load_splits("fashion_mnist", 1)
        return "fashion_mnist"
    except (OSError, ValueError) as exc:
        print(f"Fashion-MNIST not found ({type(exc).__name__}); the digits stand in")
        return "digits"


def arrays_of(splits: Any) -> dict[str, tuple[Any, Any]]:
    """Each split as (images, labels) NumPy arrays: the in-memory arrays behind it."""
    import numpy as np

    out = {}
    for name in ("train", "validation", "test"):
        split = getattr(splits, name)
        arrays = getattr(split, "arrays", None)
        if arrays is not None:
            out[name] = (arrays.images, arrays.labels)
            continue
        images, labels = [], []
        for x, y in split.batch(4096).as_numpy_iterator():
            images.append(x)
            labels.append(y)
        out[name] = (np.concatenate(images), np.concatenate(labels))
    return out


def hand_model(input_shape: tuple[int, ...], num_classes: int, filters: tuple[int, ...]) -> Any:
    """The `compare` CNN (`build_cnn` with its uint8 rescaling), written out in Keras."""
    import keras

    layers = [keras.Input(input_shape), keras.layers.Rescaling(1 / 255)]
    for width in filters:
        layers += [
            keras.layers.Conv2D(width, 3, padding="same", activation="relu"),
            keras.layers.Conv2D(width, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(),
        ]
    layers += [
        keras.layers.Flatten(),
        keras.layers.Dense(DENSE, activation="relu"),
        keras.layers.Dense(num_classes, activation="softmax"),
    ]
    model = keras.Sequential(layers)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def hand_study(name: str, limit, filters, epochs: int, runs: int, record: dict):
    """The script: the data loaded, then one model per seed, fit with validation, one test
    evaluation."""
    import keras
    import tensorflow as tf

    splits = load_splits(name, limit)
    data, num_classes = arrays_of(splits), int(splits.num_classes)
    inside = 0.0
    for seed in range(runs):
        keras.utils.set_random_seed(seed)
        model = hand_model(data["train"][0].shape[1:], num_classes, filters)

        def batches(split: str, shuffle: bool, seed: int = seed) -> tf.data.Dataset:
            images, labels = data[split]
            dataset = tf.data.Dataset.from_tensor_slices((images, labels))
            if shuffle:
                dataset = dataset.shuffle(len(labels), seed=seed)
            return dataset.batch(BATCH).prefetch(tf.data.AUTOTUNE)

        start = time.perf_counter()
        model.fit(
            batches("train", True),
            validation_data=batches("validation", False),
            epochs=epochs,
            verbose=0,
            shuffle=False,  # the pipeline shuffles
        )
        record["test_accuracy"] = model.evaluate(batches("test", False), verbose=0)[1]
        inside += time.perf_counter() - start
        record["params"] = int(model.count_params())
    record.setdefault("inside", []).append(inside)


def compare_study(name: str, limit, filters, epochs: int, runs: int, workdir: Path, record):
    from regkit.experiments import compare

    out = workdir / f"study-{len(record.get('inside', []))}"
    report = compare(
        ["baseline"],
        dataset=name,
        limit=limit,
        download=False,
        model="cnn",
        model_kwargs={"filters": filters, "dense_units": (DENSE,)},
        epochs=epochs,
        patience=epochs,
        batch_size=BATCH,
        seeds=tuple(range(runs)),
        out_dir=out,
        verbose=0,
    )
    record.setdefault("inside", []).append(sum(r.wall_time or 0.0 for r in report.runs))
    record["params"] = int(report.runs[0].params)
    record["test_accuracy"] = report.runs[-1].test_accuracy
    record["files"] = sorted(p.name for p in out.iterdir())
    shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    p = _common.parser(__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=None, help="runs (seeds) per study")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--limit", type=int, default=None, help="examples per split")
    args = p.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    rounds = args.rounds or (1 if args.quick else 5)
    runs = args.runs or (1 if args.quick else RUNS)
    epochs = args.epochs or (1 if args.quick else EPOCHS)
    limit = args.limit or (512 if args.quick else LIMIT)
    filters = (4, 8) if args.quick else FILTERS
    info = _common.print_machine()
    name = dataset_name()
    if name == "digits":
        limit = None
    data = arrays_of(load_splits(name, limit))
    print(
        f"{name}: {len(data['train'][1])} / {len(data['validation'][1])} / "
        f"{len(data['test'][1])} images; CNN {filters} + dense {DENSE}, batch {BATCH}, "
        f"{epochs} epoch(s), {runs} run(s) a study, {rounds} round(s)",
        flush=True,
    )
    records: dict[str, dict] = {"compare": {}, "hand-written": {}}
    with tempfile.TemporaryDirectory(prefix="regkit-bench-compare-") as tmp:
        workdir = Path(tmp)

        def arm(label: str, warm: bool = False):
            def run() -> float:
                record = {} if warm else records[label]
                start = time.perf_counter()
                if label == "compare":
                    compare_study(name, limit, filters, epochs, runs, workdir, record)
                else:
                    hand_study(name, limit, filters, epochs, runs, record)
                return time.perf_counter() - start

            return run

        if not args.quick:  # first-use costs (tracing caches, imports) on neither arm
            for label in records:
                arm(label, warm=True)()
        times = _common.interleave({label: arm(label) for label in records}, rounds)
    ratios = [a / b for a, b in zip(times["compare"], times["hand-written"], strict=True)]
    inside = {label: r["inside"] for label, r in records.items()}
    rows = []
    for label in records:
        rows.append(
            [
                label,
                _common.num(_common.median(times[label])),
                _common.spread(times[label]),
                _common.num(_common.median(inside[label])),
                _common.num(_common.median(times[label]) - _common.median(inside[label])),
                f"{records[label]['params']:,}",
                f"{records[label]['test_accuracy']:.4f}",
            ]
        )
    print()
    headers = ["arm", "median s / study", "min-max s", "inside runs s", "around s", "params"]
    print(_common.markdown_table([*headers, "test acc (last run)"], rows))
    ratio = _common.median(ratios)
    inside_ratio = _common.median(
        [a / b for a, b in zip(inside["compare"], inside["hand-written"], strict=True)]
    )
    same = records["compare"]["params"] == records["hand-written"]["params"]
    print()
    print(
        f"compare / hand-written = {ratio:.3f} (median of {rounds} interleaved rounds; "
        f"per round {_common.spread(ratios)}): {_common.verdict(ratio, TARGET, at_least=False)}"
    )
    print(f"inside the runs: {inside_ratio:.3f}; same parameter counts: {'yes' if same else 'NO'}")
    print(f"compare wrote: {', '.join(records['compare']['files'])}")
    _common.finish(
        args,
        {
            "bench": "compare",
            "machine": info,
            "dataset": name,
            "rounds": rounds,
            "runs": runs,
            "epochs": epochs,
            "seconds": times,
            "ratios": ratios,
            "ratio": ratio,
            "inside_s": inside,
            "inside_ratio": inside_ratio,
        },
    )


if __name__ == "__main__":
    main()
