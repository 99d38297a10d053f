"""Validation and test passes at four training batches against passes at the training
batch (0.4's evaluation batches), whole `compare` runs, in one process, interleaved.

League table 2's setting: Fashion-MNIST (`apt-get install -y dataset-fashion-mnist`; the
embedded digits stand in, and say so), 2,000 training images with the whole 12,000-image
validation and 10,000-image test sets (`limit={"train": 2000}`), the small CNN (16-32-64,
dense 128) at batch 64 in mixed_bfloat16. Each study is one run of E epochs; the "at the
training batch" arm patches `Plan.eval_batch_size` to the training batch, which is what
every version before it did. Both arms must give the same test accuracy (per-image means,
inference mode): the script says if they do not. One warm-up study per arm first.

    python bench/bench_eval_batch.py [--quick] [--rounds N] [--epochs N] [--json PATH]
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import _common

FILTERS, DENSE, BATCH, EPOCHS, TRAIN = (16, 32, 64), 128, 64, 6, 2000


def study(name: str, epochs: int, workdir: Path, record: dict[str, Any], quick: bool) -> float:
    from regkit.experiments import compare

    out = Path(tempfile.mkdtemp(prefix="study-", dir=workdir))  # a fresh folder: no reuse
    limit = {"train": TRAIN} if name == "fashion_mnist" else None
    if quick:
        limit = {"train": 256, "validation": 512, "test": 512}
    report = compare(
        ["baseline"],
        dataset=name,
        limit=limit,
        download=False,
        model_kwargs={"filters": (4, 8) if quick else FILTERS, "dense_units": (DENSE,)},
        epochs=epochs,
        patience=epochs,
        batch_size=BATCH,
        seeds=(0,),
        precision="mixed_bfloat16",
        out_dir=out,
        verbose=0,
        plots=False,
    )
    seconds = sum(r.wall_time or 0.0 for r in report.runs)
    record.setdefault("seconds", []).append(seconds)
    record["test_accuracy"] = report.runs[0].test_accuracy
    return seconds


def main() -> None:
    p = _common.parser(__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=None)
    args = p.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from bench_compare import dataset_name

    from regkit.experiments.run.plan import Plan

    rounds = args.rounds or (1 if args.quick else 4)
    epochs = args.epochs or (1 if args.quick else EPOCHS)
    info = _common.print_machine()
    name = dataset_name()
    four = Plan.eval_batch_size
    one = property(lambda plan: plan.study.batch_size)
    records: dict[str, dict[str, Any]] = {"training batch": {}, "four batches": {}}
    with tempfile.TemporaryDirectory(prefix="regkit-bench-eval-") as tmp:

        def arm(label: str, warm: bool = False):
            def run() -> float:
                Plan.eval_batch_size = one if label == "training batch" else four  # type: ignore[method-assign]
                try:
                    record = {} if warm else records[label]
                    return study(name, epochs, Path(tmp), record, args.quick)
                finally:
                    Plan.eval_batch_size = four  # type: ignore[method-assign]

            return run

        for label in records:
            arm(label, warm=True)()
        _common.interleave({label: arm(label) for label in records}, rounds)
    old, new = (records[k]["seconds"] for k in records)
    ratios = [b / a for a, b in zip(old, new, strict=True)]
    print(f"\n{name}, {epochs} epochs a run, batch {BATCH}, {rounds} rounds\n")
    print("| Evaluation batch | s / run (median, min-max) | test accuracy |")
    print("|---|--:|--:|")
    for label, record in records.items():
        seconds = record["seconds"]
        print(
            f"| {label} | {_common.num(_common.median(seconds))} ({_common.spread(seconds)}) "
            f"| {record['test_accuracy']:.4f} |"
        )
    print(
        f"\nfour batches / training batch: {_common.median(ratios):.3f} "
        f"(per round {_common.spread(ratios)})"
    )
    same = records["training batch"]["test_accuracy"] == records["four batches"]["test_accuracy"]
    print("same test accuracy: " + ("yes" if same else "NO"))
    _common.finish(args, {"machine": info, "records": records, "ratios": ratios})


if __name__ == "__main__":
    main()
