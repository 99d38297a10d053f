"""Parallel runs: one study of 4 variants x 2 seeds on digits, `--jobs 1` vs `--jobs 2`.

`regkit compare --variants baseline,l2,bn,all --seeds 0,1 --jobs N` in a fresh process
each time (interpreter, imports, data, 8 runs, report), the two arms interleaved over
rounds. With `--jobs 2` the runs go to two spawned worker processes (inter-op pools sized
to cores / 2, intra-op pools as in one process, so the figures stay those of `--jobs 1`);
the parent only plans, keeps the ledger and writes the report.

Figures: median wall-clock seconds per arm, the ratio jobs 1 / jobs 2 (the speed-up), and
whether the two studies' figures agree: test accuracies and per-epoch losses exactly, and
the largest relative difference in any logged value (0 when identical).

    python bench/bench_jobs.py [--quick] [--rounds N] [--epochs N] [--json PATH]
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import _common

VARIANTS = "baseline,l2,bn,all"
SEEDS = "0,1"


def _arm(workdir: Path, jobs: int, epochs: int, reports: list) -> object:
    def run() -> float:
        out = workdir / f"jobs{jobs}-{len(reports)}"
        cmd = [_common.python(), "-m", "regkit", "compare", "--variants", VARIANTS]
        cmd += ["--seeds", SEEDS, "--epochs", str(epochs), "--jobs", str(jobs)]
        cmd += ["--out", str(out), "--quiet", "--no-plots"]
        seconds = _common.timed_run(cmd)
        reports.append(json.loads((out / "report.json").read_text()))
        return seconds

    return run


def _agreement(a: dict, b: dict) -> tuple[bool, float]:
    """(test accuracies and losses equal, largest relative difference of any history value)."""
    exact = True
    worst = 0.0
    for name, entry in a["variants"].items():
        for run, other in zip(entry["runs"], b["variants"][name]["runs"], strict=True):
            exact &= run["test_accuracy"] == other["test_accuracy"]
            exact &= run["history"]["loss"] == other["history"]["loss"]
            for key, values in run["history"].items():
                for x, y in zip(values, other["history"].get(key, []), strict=False):
                    if x is not None and y is not None and x != y:
                        worst = max(worst, abs(x - y) / max(abs(x), abs(y), 1e-300))
    return exact, worst


def main() -> None:
    p = _common.parser(__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=None)
    args = p.parse_args()
    info = _common.print_machine()
    epochs = args.epochs or (1 if args.quick else 5)
    rounds = args.rounds or (1 if args.quick else 2)
    print(f"4 variants x 2 seeds on digits, {epochs} epochs, {rounds} round(s) per arm", flush=True)
    reports: dict[int, list] = {1: [], 2: []}
    with tempfile.TemporaryDirectory(prefix="regkit-bench-jobs-") as tmp:
        workdir = Path(tmp)
        times = _common.interleave(
            {f"--jobs {j}": _arm(workdir, j, epochs, reports[j]) for j in (1, 2)}, rounds
        )
    med = {k: _common.median(v) for k, v in times.items()}
    speedup = med["--jobs 1"] / med["--jobs 2"]
    exact, worst = _agreement(reports[1][-1], reports[2][-1])
    rows = [[arm, _common.num(med[arm]), _common.spread(times[arm])] for arm in times]
    print()
    print(_common.markdown_table(["arm", "median s (process)", "min-max s"], rows))
    print()
    print(f"speed-up jobs 1 / jobs 2: {speedup:.2f}x over 8 runs")
    print(
        f"figures: test accuracies and losses {'identical' if exact else 'DIFFER'}; largest "
        f"relative difference in any logged value: {worst:.1e}"
    )
    _common.finish(
        args,
        {
            "bench": "jobs",
            "machine": info,
            "runs": 8,
            "epochs": epochs,
            "seconds": times,
            "speedup": speedup,
            "identical_accuracy_and_loss": exact,
            "largest_relative_difference": worst,
        },
    )


if __name__ == "__main__":
    main()
