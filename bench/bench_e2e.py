"""End to end: `regkit compare` with its defaults vs the same study written as the seeds
write it, each a fresh process, interleaved over rounds.

`python -m regkit compare --out DIR` trains the default variants (`baseline` and `all`:
L2 5e-4, BatchNorm, Dropout 0.25/0.5) of the default CNN on the embedded digits for 15
epochs at batch 32, and adds what a study needs: a tf.data pipeline, weight-norm and
regularization monitors, best-only checkpoint, early stopping, learning-rate reduction,
NaN guard, CSV log, backup-and-restore, test evaluation of the best weights, report.md /
report.json and two plots.

The reference (`--seed-style`, this file) is what the seed notebooks do: sklearn's digits
split the same way (stratified 20% test, then 20% validation), normalised by hand (/ 255),
two `Sequential` models with the same layers and parameter counts, `model.fit` on NumPy
arrays with the same epochs and batch size, `model.evaluate`, a printed table; no
callbacks, no files, no plots. (Its BatchNorm keeps Keras' momentum 0.99, where compare
picks 0.9 for a run this short; the cost per step is the same.)

Figures: wall-clock seconds of the whole process (interpreter, imports, data, training,
evaluation, outputs), medians over rounds; the ratio regkit / seed-style; and the training
seconds each side reports (fit + evaluate, summed over the variants).

`--breakdown` instead trains the `all` variant in one process under five set-ups, from the
seeds' way (NumPy arrays, no callbacks) up to everything `compare` adds, and prints the
first epoch (which traces the train and test steps) and the median of the later epochs of
each: where the extra time goes.

    python bench/bench_e2e.py [--quick] [--rounds N] [--json PATH]
    python bench/bench_e2e.py --breakdown [--epochs N] [--rounds N]
    python bench/bench_e2e.py --seed-style [--epochs N] [--batch-size N] [--result PATH]
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

import _common
import numpy as np

EPOCHS, BATCH_SIZE = 15, 32  # regkit compare's defaults


# ------------------------------------------------------------------ the seeds' way
def seed_style_study(epochs: int, batch_size: int) -> dict:
    """Baseline vs regularized CNN on digits, written the way the seed notebooks are."""
    import numpy as np
    from keras import Input, Sequential
    from keras.layers import BatchNormalization, Conv2D, Dense, Dropout, Flatten, MaxPooling2D
    from keras.optimizers import Adam
    from keras.regularizers import L2
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = np.round(digits.images * (255.0 / 16.0)).astype("uint8")[..., None]
    y = digits.target
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.2, random_state=0, stratify=y
    )
    x_train, x_validation, y_train, y_validation = train_test_split(
        x_train, y_train, test_size=0.2, random_state=0
    )
    x_train, x_validation, x_test = x_train / 255.0, x_validation / 255.0, x_test / 255.0

    def build(regularized: bool):
        reg = L2(5e-4) if regularized else None
        model = Sequential()
        model.add(Input(shape=(8, 8, 1)))
        for filters in (32, 64, 128):
            for _ in range(2):
                model.add(
                    Conv2D(
                        filters, (3, 3), activation="relu", padding="same", kernel_regularizer=reg
                    )
                )
                if regularized:
                    model.add(BatchNormalization())
            model.add(MaxPooling2D(pool_size=(2, 2)))
            if regularized:
                model.add(Dropout(0.25))
        model.add(Flatten())
        model.add(Dense(256, activation="relu", kernel_regularizer=reg))
        if regularized:
            model.add(BatchNormalization())
            model.add(Dropout(0.5))
        model.add(Dense(10, activation="softmax", kernel_regularizer=reg))
        model.compile(
            loss="sparse_categorical_crossentropy",
            optimizer=Adam(learning_rate=0.001),
            metrics=["accuracy"],
        )
        return model

    results = {}
    for name, regularized in (("baseline", False), ("all", True)):
        model = build(regularized)
        start = time.perf_counter()
        history = model.fit(
            x_train,
            y_train,
            epochs=epochs,
            batch_size=batch_size,
            validation_data=(x_validation, y_validation),
            verbose=2,
        )
        _, test_acc = model.evaluate(x_test, y_test, verbose=0)
        results[name] = {
            "params": model.count_params(),
            "epochs_run": len(history.history["loss"]),
            "val_accuracy": history.history["val_accuracy"][-1],
            "test_accuracy": float(test_acc),
            "wall_time": time.perf_counter() - start,
        }
    print("| model | params | val acc | test acc |")
    for name, r in results.items():
        print(f"| {name} | {r['params']:,} | {r['val_accuracy']:.4f} | {r['test_accuracy']:.4f} |")
    return results


# ------------------------------------------------------------------ breakdown
def breakdown(epochs: int, rounds: int) -> dict:
    """Median epoch seconds of the `all` variant under growing sets of regkit's extras."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    import regkit
    from regkit.callbacks import RegularizationMonitor, WeightNormLogger, standard_callbacks
    from regkit.data import image_pipeline, load_dataset

    splits = load_dataset("digits")
    arrays = {}
    for split in ("train", "validation"):
        xs, ys = zip(*getattr(splits, split).as_numpy_iterator(), strict=True)
        arrays[split] = (np.stack(xs) / 255.0, np.array(ys))
    train = image_pipeline(splits.train, batch_size=BATCH_SIZE, training=True, seed=0)
    validation = image_pipeline(splits.validation, batch_size=BATCH_SIZE, training=False)

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)

    def monitors():
        return [WeightNormLogger(), RegularizationMonitor()]

    def standard(tmp: Path):
        return standard_callbacks(tmp / "best.weights.h5", patience=epochs, verbose=0)

    setups = {
        "seed-style: NumPy arrays, no callbacks": (False, lambda tmp: []),
        "regkit tf.data pipeline, no callbacks": (True, lambda tmp: []),
        "+ WeightNormLogger, RegularizationMonitor": (True, lambda tmp: monitors()),
        "+ standard_callbacks only": (True, standard),
        "everything compare adds": (True, lambda tmp: [*monitors(), *standard(tmp)]),
    }
    timings: dict[str, list[float]] = {name: [] for name in setups}
    first: dict[str, list[float]] = {name: [] for name in setups}

    def arm(name: str):
        pipeline, make_callbacks = setups[name]

        def run() -> float:
            keras.backend.clear_session()
            keras.utils.set_random_seed(0)
            model = regkit.build_cnn((8, 8, 1), 10, reg="all")
            regkit.compile_model(model)
            timer = EpochTimer()
            with tempfile.TemporaryDirectory() as tmp:
                extra = [timer, *make_callbacks(Path(tmp))]
                if pipeline:
                    model.fit(
                        train, validation_data=validation, epochs=epochs, verbose=0, callbacks=extra
                    )
                else:
                    x, y = arrays["train"]
                    model.fit(
                        x,
                        y,
                        batch_size=BATCH_SIZE,
                        epochs=epochs,
                        verbose=0,
                        validation_data=arrays["validation"],
                        callbacks=extra,
                    )
            timings[name].extend(timer.seconds[1:])  # the first epoch traces
            first[name].append(timer.seconds[0])
            return _common.median(timer.seconds[1:])

        return run

    _common.interleave({name: arm(name) for name in setups}, rounds)
    base = _common.median(timings["seed-style: NumPy arrays, no callbacks"])
    rows = [
        [
            name,
            _common.num(_common.median(first[name])),
            _common.num(_common.median(t)),
            f"{_common.median(t) / base:.2f}",
        ]
        for name, t in timings.items()
    ]
    print()
    headers = ["set-up (variant all)", "first epoch s", "median s / later epoch", "x seed-style"]
    print(_common.markdown_table(headers, rows))
    return {
        name: {"first_epoch_s": _common.median(first[name]), "epoch_s": _common.median(t)}
        for name, t in timings.items()
    }


# ------------------------------------------------------------------ the benchmark
def _regkit_arm(workdir: Path, epochs: int | None, record: list):
    def run() -> float:
        out = workdir / f"regkit-{len(record)}"
        cmd = [_common.python(), "-m", "regkit", "compare", "--out", str(out)]
        if epochs is not None:
            cmd += ["--epochs", str(epochs)]
        seconds = _common.timed_run(cmd, cwd=workdir)
        report = json.loads((out / "report.json").read_text())
        record.append(
            {
                "seconds": seconds,
                "variants": {
                    name: {k: v.get(k) for k in ("params", "epochs_run", "wall_time")}
                    for name, v in report["variants"].items()
                },
                "files": sorted(p.name for p in out.iterdir()),
            }
        )
        shutil.rmtree(out, ignore_errors=True)
        return seconds

    return run


def _seed_arm(workdir: Path, epochs: int, record: list):
    def run() -> float:
        result = workdir / f"seed-{len(record)}.json"
        cmd = [_common.python(), __file__, "--seed-style", "--epochs", str(epochs)]
        seconds = _common.timed_run([*cmd, "--result", str(result)], cwd=workdir)
        record.append({"seconds": seconds, "variants": json.loads(result.read_text())})
        return seconds

    return run


def _training_seconds(record: list) -> float:
    return _common.median(
        [sum(v["wall_time"] or 0.0 for v in run["variants"].values()) for run in record]
    )


def main() -> None:
    p = _common.parser(__doc__.splitlines()[0])
    p.add_argument("--seed-style", action="store_true", help="run the seed-style study only")
    p.add_argument("--breakdown", action="store_true", help="where regkit's extra time goes")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    p.add_argument("--result", metavar="PATH", help="(--seed-style) write its results here")
    args = p.parse_args()
    if args.seed_style:
        results = seed_style_study(args.epochs or EPOCHS, args.batch_size)
        if args.result:
            Path(args.result).write_text(json.dumps(results))
        return

    info = _common.print_machine()
    if args.breakdown:
        epochs = args.epochs or (2 if args.quick else 6)
        rounds = args.rounds or (1 if args.quick else 2)
        print(f"breakdown: {epochs} epochs x {rounds} round(s) per set-up", flush=True)
        figures = breakdown(epochs, rounds)
        _common.finish(args, {"bench": "e2e-breakdown", "machine": info, "epoch_s": figures})
        return
    rounds = args.rounds or (1 if args.quick else 2)
    epochs = args.epochs or (1 if args.quick else None)  # None: compare's own default
    seed_epochs = epochs or EPOCHS
    print(
        f"timing `regkit compare` ({'default' if epochs is None else f'--epochs {epochs}'}) "
        f"and the seed-style study, {rounds} round(s) each",
        flush=True,
    )
    regkit_runs: list = []
    seed_runs: list = []
    with tempfile.TemporaryDirectory(prefix="regkit-bench-e2e-") as tmp:
        workdir = Path(tmp)
        times = _common.interleave(
            {
                "regkit compare": _regkit_arm(workdir, epochs, regkit_runs),
                "seed-style script": _seed_arm(workdir, seed_epochs, seed_runs),
            },
            rounds,
        )
    med = {k: _common.median(v) for k, v in times.items()}
    ratio = med["regkit compare"] / med["seed-style script"]
    train = {
        "regkit compare": _training_seconds(regkit_runs),
        "seed-style script": _training_seconds(seed_runs),
    }
    runs = {"regkit compare": regkit_runs, "seed-style script": seed_runs}
    rows = []
    for arm, record in runs.items():
        variants = record[-1]["variants"]
        rows.append(
            [
                arm,
                _common.num(med[arm]),
                _common.spread(times[arm]),
                _common.num(train[arm]),
                ", ".join(
                    f"{n} {int(v['params']):,} params / {int(v['epochs_run'])} ep"
                    for n, v in variants.items()
                ),
            ]
        )
    print()
    print(
        _common.markdown_table(
            ["arm", "median s (process)", "min-max s", "training s (fit+eval)", "variants"],
            rows,
        )
    )
    params = {
        arm: {n: int(v["params"]) for n, v in record[-1]["variants"].items()}
        for arm, record in runs.items()
    }
    same = params["regkit compare"] == params["seed-style script"]
    print()
    print(f"regkit compare / seed-style = {ratio:.3f} (whole process, median of {rounds})")
    print(
        f"training only: {train['regkit compare'] / train['seed-style script']:.3f}; "
        f"same parameter counts: {'yes' if same else f'NO {params}'}"
    )
    print(f"regkit compare wrote: {', '.join(regkit_runs[-1]['files'])}")
    _common.finish(
        args,
        {
            "bench": "e2e",
            "machine": info,
            "rounds": rounds,
            "epochs": epochs or EPOCHS,
            "seconds": times,
            "median_s": med,
            "ratio": ratio,
            "training_s": train,
            "runs": runs,
        },
    )


if __name__ == "__main__":
    main()
