"""What bfloat16 does to accuracy: float32 against mixed_bfloat16, paired by seed (issue 29).

    python bench/precision_accuracy.py [--seeds 8] [--out runs/precision]

For the league CNN (examples/studies/fashion_mnist_league.toml) and the league ResNet
(fashion_mnist_league_resnet.toml), the baseline trains once per seed under each policy
through `regkit.compare` (the same data, splits, batch order and initial weights: only the
policy differs), and the paired differences of test accuracy (bfloat16 minus float32) give
the mean difference, its 95 % interval, and the equivalence test at +-0.5 point (two
one-sided tests, `regkit.experiments.report.sequential.fixed_verdicts`). The studies go to
`--out` and a rerun reuses every finished run, so the table comes back in seconds.
Prints a markdown table (docs/benchmarks.md) and each run's wall time.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STUDIES = {
    "league CNN": ROOT / "examples" / "studies" / "fashion_mnist_league.toml",
    "league ResNet-8": ROOT / "examples" / "studies" / "fashion_mnist_league_resnet.toml",
}
POLICIES = ("float32", "mixed_bfloat16")
MARGIN = 0.005  # half a point


def _study(path: Path, policy: str, seeds: int, out: Path) -> object:
    from regkit import compare
    from regkit.experiments.study.specs import load_study

    settings = dict(load_study(path).settings)
    settings.update(
        seeds=tuple(range(seeds)),
        out_dir=out,
        precision=policy,
        verbose=0,
        plots=False,
    )
    return compare("baseline", **settings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--out", type=Path, default=Path("runs/precision"))
    parser.add_argument("--only", choices=list(STUDIES), default=None)
    args = parser.parse_args(argv)

    from regkit.experiments.report.sequential import fixed_verdicts

    print(
        "| model | float32 test acc | bfloat16 test acc | bf16 - f32 [95% CI] (points) | "
        f"within +-{MARGIN * 100:g} pt | s/run f32 | s/run bf16 |"
    )
    print("|---|--:|--:|---|---|--:|--:|")
    for label, path in STUDIES.items():
        if args.only and label != args.only:
            continue
        reports = {
            policy: _study(path, policy, args.seeds, args.out / f"{path.stem}-{policy}")
            for policy in POLICIES
        }
        acc = {
            policy: {r.seed: r.test_accuracy for r in rep.runs if r.status == "ok"}
            for policy, rep in reports.items()
        }
        seeds = sorted(set(acc["float32"]) & set(acc["mixed_bfloat16"]))
        diffs = [acc["mixed_bfloat16"][s] - acc["float32"][s] for s in seeds]
        n = len(diffs)
        mean = statistics.fmean(diffs)
        from regkit._tdist import t_ppf

        half = t_ppf(0.975, n - 1) * statistics.stdev(diffs) / math.sqrt(n) if n > 1 else math.nan
        verdict = fixed_verdicts({"bf16": diffs}, alpha=0.05, margin=MARGIN)["bf16"].verdict
        times = {
            policy: statistics.fmean(r.wall_time for r in rep.runs if r.wall_time)
            for policy, rep in reports.items()
        }
        print(
            f"| {label} ({n} seeds) | {statistics.fmean(acc['float32'].values()) * 100:.2f} | "
            f"{statistics.fmean(acc['mixed_bfloat16'].values()) * 100:.2f} | "
            f"{mean * 100:+.2f} [{(mean - half) * 100:+.2f}, {(mean + half) * 100:+.2f}] | "
            f"{'yes' if verdict == 'equivalent' else 'not shown'} ({verdict}) | "
            f"{times['float32']:.0f} | {times['mixed_bfloat16']:.0f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
