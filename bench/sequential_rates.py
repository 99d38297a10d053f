"""The error rates and savings of regkit's verdicts, measured by simulation (NumPy only).

Prints the markdown tables of docs/statistics.md: the family-wise error of "better" /
"worse" under the null for several noises, variant counts and plans; the error of
"equivalent" at the margin; the same for skewed differences (a variant whose spread
differs from the reference's: the t-test's known weak spot); the runs saved against the
fixed design; the winner's curse with and without successive halving; and how wide an
anytime-valid mixture boundary is at 3-20 seeds next to the group-sequential one.

    python bench/sequential_rates.py               # 20,000 studies a cell (a few minutes)
    python bench/sequential_rates.py --studies 500 # a quick look
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from regkit.experiments.report import boundaries
from regkit.experiments.report.sequential import SequentialDesign, plan_looks
from regkit.experiments.run.halving import halving_rounds, select
from sequential_sim import (
    BETTER,
    EQUIVALENT,
    UNDECIDED,
    WORSE,
    differences,
    run_adaptive,
    run_fixed,
)

PLANS = {"3..10": plan_looks(3, 10), "3..20 by 2": plan_looks(3, 20, 2)}


def _rate(count: int, trials: int) -> str:
    error = math.sqrt(max(count, 1) * (trials - count) / trials) / trials
    return f"{count / trials:.3f} ± {error:.3f}"


def family_wise(studies: int, rng: np.random.Generator) -> list[str]:
    rows = [
        "| noise | variants | looks | false better/worse (any) | false equivalent at +margin |",
        "|---|---|---|---|---|",
    ]
    for kind in ("normal", "lognormal", "exponential", "t3"):
        for variants in (2, 5, 20):
            for label, looks in PLANS.items():
                n = studies if variants < 20 else max(studies // 4, 100)
                design = SequentialDesign(looks=looks, margin=1.0)
                x = differences([0.0] * variants, looks[-1], studies=n, kind=kind, rng=rng)
                codes, _ = run_adaptive(design, x)
                false = int(np.isin(codes, (BETTER, WORSE)).any(axis=1).sum())
                x = differences([1.0] * variants, looks[-1], studies=n, kind=kind, rng=rng)
                codes, _ = run_adaptive(design, x)
                equiv = int((codes == EQUIVALENT).any(axis=1).sum())
                rows.append(
                    f"| {kind} | {variants} | {label} | {_rate(false, n)} | {_rate(equiv, n)} |"
                )
    return rows


def skewed(studies: int, rng: np.random.Generator) -> list[str]:
    rows = [
        "| noise | variant's spread / reference's | design | false better/worse, 5 variants |",
        "|---|---|---|---|",
    ]
    for kind in ("exponential", "lognormal"):
        for scale in (0.5, 1.0, 2.0):
            x = differences([0.0] * 5, 10, studies=studies, kind=kind, scales=[scale] * 5, rng=rng)
            codes, _ = run_adaptive(SequentialDesign(plan_looks(3, 10)), x)
            fixed, _ = run_fixed(5, x)
            for name, c in (("adaptive 3..10", codes), ("fixed, 5 seeds", fixed)):
                false = int(np.isin(c, (BETTER, WORSE)).any(axis=1).sum())
                rows.append(f"| {kind} | {scale} | {name} | {_rate(false, studies)} |")
    return rows


def savings(studies: int, rng: np.random.Generator) -> list[str]:
    rows = [
        "| margin | max seeds | effects (units of one run's spread) "
        "| runs: adaptive / fixed at max "
        "| variants decided: adaptive / fixed, same runs / fixed at max |",
        "|---|---|---|---|---|",
    ]
    for margin in (1.0, 2.0):
        for top in (10, 20):
            for effects in (
                [0.0, 0.0, 0.3, 1.0, 2.0, 3.0, -2.0, 4.0],
                [0.0, 0.0, 0.0, 0.5, -0.5, 2.0, 3.0, 4.0],
                [0.0] * 8,
            ):
                design = SequentialDesign(plan_looks(3, top), margin=margin)
                x = differences(effects, top, studies=studies, rng=rng)
                codes, runs = run_adaptive(design, x)
                per = runs.mean() / (len(effects) + 1)
                low, weight = math.floor(per), per - math.floor(per)
                a, _ = run_fixed(low, x, margin=margin)
                b, _ = run_fixed(min(low + 1, top), x, margin=margin)
                same = (1 - weight) * (a != UNDECIDED).sum(1).mean() + weight * (
                    b != UNDECIDED
                ).sum(1).mean()
                full, full_runs = run_fixed(top, x, margin=margin)
                rows.append(
                    f"| {margin:g} | {top} | {', '.join(f'{e:g}' for e in effects)} | "
                    f"{runs.mean():.1f} / {full_runs.mean():.0f} "
                    f"({1 - runs.mean() / full_runs.mean():.0%} saved) | "
                    f"{(codes != UNDECIDED).sum(1).mean():.2f} / {same:.2f} / "
                    f"{(full != UNDECIDED).sum(1).mean():.2f} |"
                )
    return rows


def winners_curse(studies: int, rng: np.random.Generator) -> list[str]:
    candidates = 16
    plan = halving_rounds(candidates)
    design = SequentialDesign(looks=plan_looks(3, 10))
    selection = sum(s for _, s in plan)
    seeds = selection + design.max_seeds
    quality = rng.standard_normal((studies, candidates + 1, seeds))
    val = quality + 0.5 * rng.standard_normal(quality.shape)
    test = quality + 0.5 * rng.standard_normal(quality.shape)
    chosen = np.array(
        [
            select({c: val[s, c + 1, :selection] for c in range(candidates)}, plan).chosen
            for s in range(studies)
        ]
    )
    fresh = slice(selection, seeds)
    confirm = test[np.arange(studies), chosen + 1, fresh] - test[:, 0, fresh]
    codes, _ = run_adaptive(design, confirm[:, None, :])
    pick = test[:, 1:, :5].mean(axis=2).argmax(axis=1)
    naive, _ = run_fixed(5, (test[np.arange(studies), pick + 1, :5] - test[:, 0, :5])[:, None])
    return [
        "| 16 candidates, all as good as the reference | called better |",
        "|---|---|",
        f"| halving on validation (15 selection seeds), confirmed on 3..10 fresh seeds | "
        f"{_rate(int((codes[:, 0] == BETTER).sum()), studies)} |",
        f"| best test mean on 5 seeds, t-test on the same 5 seeds | "
        f"{_rate(int((naive[:, 0] == BETTER).sum()), studies)} |",
    ]


def mixture_boundary(n: int, alpha: float, c: float) -> float:
    """|t| at which Lai's (1976) scale-invariant mixture Bayes factor reaches 1/alpha."""
    lo, hi = 0.0, 1e6
    for _ in range(200):
        t = 0.5 * (lo + hi)
        q = t * t / (n - 1)
        log_bf = 0.5 * math.log(c / (n + c)) + n / 2 * (math.log1p(q) - math.log1p(q * c / (n + c)))
        lo, hi = (lo, t) if log_bf >= -math.log(alpha) else (t, hi)
    return hi


def _never(bound: float) -> str:
    return "never" if bound > 1e5 else f"{bound:.2f}"


def anytime() -> list[str]:
    looks = plan_looks(3, 20)
    gs = boundaries.t_bounds(looks, 0.025)
    best = min(
        (sum(mixture_boundary(n, 0.05, c) for n in (10, 20)), c) for c in np.geomspace(0.1, 50, 60)
    )[1]
    rows = [
        f"| seeds | fixed t-test | group-sequential (looks 3..20) | mixture t (c = {best:.2g}) |",
        "|---|---|---|---|",
    ]
    for n, g in zip(looks, gs, strict=True):
        if n in (3, 4, 5, 6, 8, 10, 15, 20):
            rows.append(
                f"| {n} | {boundaries.t_isf(0.025, n - 1):.2f} | {_never(g)} | "
                f"{_never(mixture_boundary(n, 0.05, best))} |"
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=20_000)
    args = parser.parse_args()
    rng = np.random.default_rng(2026)
    start = time.perf_counter()
    for title, rows in (
        (
            "Family-wise error (alpha 0.05, margin 1 = 0.71 spreads of a difference)",
            family_wise(args.studies, rng),
        ),
        ("Skewed differences", skewed(args.studies, rng)),
        ("Runs saved", savings(max(args.studies // 10, 200), rng)),
        ("Winner's curse", winners_curse(max(args.studies // 2, 200), rng)),
        ("Boundaries for |t|, two-sided 0.05, one variant", anytime()),
    ):
        print(f"\n### {title}\n")
        print("\n".join(rows), flush=True)
    print(f"\n({args.studies} studies a cell; {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
