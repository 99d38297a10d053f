"""How many seeds would a study need to decide its arms? Simulated from a finished study.

A finished adaptive study (`regkit compare` with `max_seeds`) leaves each arm's test
accuracy per seed in report.json. This script takes those as a pilot: each arm's per-seed
accuracy is drawn from a normal distribution with the arm's own mean and standard
deviation (the reference's too, shared by every arm on a seed, as in the study), and the
study's own decision rule (`regkit.experiments.report.sequential.decide_batch`: the same
group-sequential boundaries, Holm step-down and equivalence margin) is replayed over
thousands of simulated studies for each candidate plan of looks. It prints, per plan, the
expected number of arms decided, the chance of deciding at least two thirds of them, and
the expected wall time of the confirmation (each arm's mean seconds per run, over --jobs),
tuning excluded.

    python bench/seed_plan.py runs/league-overfitting/report.json
    python bench/seed_plan.py REPORT --max-seeds 6 8 10 12 --start 3 --jobs 2 --studies 4000

The means plugged in are the pilot's, and the arms that look best in a pilot tend to look
a little worse on fresh seeds (the winner's curse): read the figures as a plan, not a
promise. NumPy only (no TensorFlow).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from regkit.experiments.report.decisions import design_of
from regkit.experiments.report.sequential import SequentialDesign, decide_batch, plan_looks


def pilot(report: Mapping[str, Any]) -> dict[str, Any]:
    """The reference and its arms from a report.json: per-seed test accuracies, each
    arm's mean and standard deviation, and mean seconds per run."""
    variants = report["variants"]
    reference = next(
        (v["vs_reference"]["reference"] for v in variants.values() if v.get("vs_reference")),
        next(iter(variants)),
    )
    out: dict[str, Any] = {"reference": reference, "arms": {}}
    for name, entry in variants.items():
        accs = [r["test_accuracy"] for r in entry.get("runs", []) if _ok(r)]
        if len(accs) < 2:
            continue  # no spread to plan from
        seconds = [r["wall_time"] for r in entry["runs"] if _ok(r) and r.get("wall_time")]
        out["arms"][name] = {
            "mean": float(np.mean(accs)),
            "sd": float(np.std(accs, ddof=1)),
            "seconds": float(np.mean(seconds)) if seconds else 0.0,
            "seeds": len(accs),
        }
    if reference not in out["arms"]:
        raise ValueError(f"report: the reference {reference!r} has fewer than two measured runs")
    return out


def _ok(run: Mapping[str, Any]) -> bool:
    value = run.get("test_accuracy")
    return run.get("status") == "ok" and isinstance(value, (int, float)) and math.isfinite(value)


def simulate(
    arms: Mapping[str, Mapping[str, float]],
    reference: str,
    design: SequentialDesign,
    *,
    studies: int = 2000,
    jobs: int = 1,
    seed: int = 0,
) -> dict[str, Any]:
    """Replays the adaptive study `studies` times with normal per-seed accuracies.

    Args:
        arms: Name -> {"mean", "sd", "seconds"} (the reference among them).
        reference: The reference's name.
        design: The plan of looks, alpha and margin to replay.
        studies: Simulated studies.
        jobs: Runs at once (wall time is run time over jobs).
        seed: The simulation's seed.

    Returns:
        {"decided": mean arms decided, "share": P(at least two thirds decided),
        "none": P(no arm decided), "minutes": mean wall minutes, "minutes_p90": 90th percentile,
        "per_arm": name -> P(decided), "names": the arms in order}.
    """
    rng = np.random.default_rng(seed)
    names = [n for n in arms if n != reference]
    mean = np.array([arms[n]["mean"] for n in names])[None, :, None]
    sd = np.array([arms[n]["sd"] for n in names])[None, :, None]
    cost = np.array([arms[n]["seconds"] for n in names]) / jobs / 60
    ref, ref_cost = arms[reference], arms[reference]["seconds"] / jobs / 60
    looks = design.looks
    base = ref["mean"] + ref["sd"] * rng.standard_normal((studies, 1, looks[-1]))
    x = mean + sd * rng.standard_normal((studies, len(names), looks[-1])) - base
    lengths = np.full((studies, len(names)), looks[0])
    minutes = np.full(studies, looks[0] * (cost.sum() + ref_cost))
    codes = decide_batch(x, lengths, design)
    for before, now in itertools.pairwise(looks):
        open_ = codes == 0
        minutes += (now - before) * ((open_ * cost).sum(axis=1) + open_.any(axis=1) * ref_cost)
        lengths = np.where(open_, now, lengths)
        codes = decide_batch(x, lengths, design)
    decided = (codes != 0).sum(axis=1)
    return {
        "names": names,
        "decided": float(decided.mean()),
        "share": float((decided * 3 >= 2 * len(names)).mean()),
        "none": float((decided == 0).mean()),
        "minutes": float(minutes.mean()),
        "minutes_p90": float(np.percentile(minutes, 90)),
        "per_arm": dict(zip(names, (codes != 0).mean(axis=0).tolist(), strict=True)),
    }


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("report", type=Path, help="a finished study's report.json")
    p.add_argument("--max-seeds", type=int, nargs="+", default=[6, 8, 10, 12])
    p.add_argument("--start", type=int, default=None, help="seeds at the first look")
    p.add_argument("--jobs", type=int, default=1, help="runs at once when it ran")
    p.add_argument("--studies", type=int, default=2000)
    args = p.parse_args(argv)
    report = json.loads(args.report.read_text())
    data = pilot(report)
    design = design_of(report.get("config") or {})
    alpha = design.alpha if design else 0.05
    margin = design.margin if design else 0.005
    start = args.start or (design.looks[0] if design else 3)
    arms = data["arms"]
    print(
        f"pilot: {args.report} ({len(arms) - 1} arms against {data['reference']!r}; "
        f"alpha {alpha}, margin {margin}, first look at {start} seeds, --jobs {args.jobs})"
    )
    print("\n| Arm | Difference (pilot, pt) | SD (pt) | s/run |")
    print("|---|--:|--:|--:|")
    ref = arms[data["reference"]]
    for name, arm in arms.items():
        diff = f"{100 * (arm['mean'] - ref['mean']):+.2f}"
        diff = "reference" if name == data["reference"] else diff
        print(f"| {name} | {diff} | {100 * arm['sd']:.2f} | {arm['seconds']:.0f} |")
    print("\n| At most | Arms decided (mean) | P(at least 2/3) | Minutes (mean, p90) |")
    print("|--:|--:|--:|--:|")
    for most in args.max_seeds:
        plan = SequentialDesign(plan_looks(start, most), alpha=alpha, margin=margin)
        out = simulate(arms, data["reference"], plan, studies=args.studies, jobs=args.jobs)
        print(
            f"| {most} | {out['decided']:.1f} of {len(out['names'])} | {out['share']:.2f} "
            f"| {out['minutes']:.0f} ({out['minutes_p90']:.0f}) |"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
