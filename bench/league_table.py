"""The league table of docs/results.md, from a study's own report.json (issue 24).

    python bench/league_table.py runs/league/report.json [runs/league-resnet/report.json]

prints one markdown table per report: each variant's test accuracy over seeds with its
95% interval, the generalization gap (train minus validation accuracy at the best epoch),
the paired difference from the reference (the first variant) with its interval, p-value
and Holm-adjusted p-value, the smallest difference these seeds could detect and the seeds
that would resolve the difference seen, and the cost: seconds per run and per training
step (wall time over the steps trained, evaluation included), and that time over the
reference's. Every figure is read from report.json; nothing is recomputed but the cost
columns' arithmetic. `make benchmark-regularizers` runs it after the studies.

A study that decides (adaptive seeds, `max_seeds`, or tuned arms, `tune`: league table 2)
gets the decided layout instead: each arm's setting (a tuned arm's chosen strength), test
accuracy, gap, the difference from the reference with its interval, the verdict word
(better / worse / equivalent / undecided, after the study's error control), the seeds the
arm used, seconds per run and the runs it cost (tuning's selection runs included); then a
count of the verdicts and each tuned arm's trail (mean validation accuracy per round of
successive halving).

`--curves PNG` also draws the first report's reference alone (train and validation
accuracy and loss per epoch, every seed): the picture of a baseline that overfits.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any


def _pt(value: float | None, sign: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value * 100:+.2f}" if sign else f"{value * 100:.2f}"


def _p(value: float | None) -> str:
    if value is None:
        return "-"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _interval(bounds: list[float] | None, sign: bool = False) -> str:
    if not bounds:
        return ""
    return f" [{_pt(bounds[0], sign)}, {_pt(bounds[1], sign)}]"


def _run_costs(entry: dict[str, Any], steps_per_epoch: int | None) -> tuple[float, float | None]:
    runs = [r for r in entry.get("runs", []) if r.get("wall_time") is not None]
    seconds = statistics.fmean(r["wall_time"] for r in runs) if runs else float("nan")
    if not steps_per_epoch:
        return seconds, None
    per_step = [
        r["wall_time"] / (steps_per_epoch * r["epochs_run"]) for r in runs if r.get("epochs_run")
    ]
    return seconds, statistics.fmean(per_step) if per_step else None


def table(report: dict[str, Any]) -> str:
    """The markdown table of one report.json (see the module docstring)."""
    config = report.get("config") or {}
    variants = report["variants"]
    names = list(variants)
    steps = config.get("steps_per_epoch")
    ref_seconds, _ = _run_costs(variants[names[0]], steps)
    lines = [
        "| Variant | Test accuracy, % [95 % CI] | Gap, pt | Difference from "
        f"{names[0]}, pt [95 % CI] | p | Holm p | Resolves, pt | Seeds to resolve | s / run "
        "| ms / step | Time x " + names[0] + " | Status |",
        "|---|---|--:|---|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for name in names:
        entry = variants[name]
        ci = (entry.get("ci95") or {}).get("test_accuracy")
        versus = entry.get("vs_reference") or {}
        seconds, per_step = _run_costs(entry, steps)
        lines.append(
            "| "
            + " | ".join(
                [
                    name,
                    _pt(entry.get("test_accuracy")) + _interval(ci),
                    _pt(entry.get("generalization_gap"), sign=True),
                    (_pt(versus.get("mean_diff"), sign=True) + _interval(versus.get("ci95"), True))
                    if versus
                    else "reference",
                    _p(versus.get("p_value")),
                    _p(versus.get("p_adjusted")),
                    _pt(versus.get("detectable")) if versus else "-",
                    str(versus.get("seeds_needed") or "-") if versus else "-",
                    f"{seconds:.0f}",
                    "-" if per_step is None else f"{per_step * 1000:.0f}",
                    f"{seconds / ref_seconds:.2f}",
                    str(entry.get("status", "")),
                ]
            )
            + " |"
        )
    return "\n".join(lines)


def deciding(report: dict[str, Any]) -> bool:
    """Whether a report comes from a study that decides: adaptive seeds or tuned arms."""
    config = report.get("config") or {}
    return bool(config.get("tuning")) or bool((config.get("design") or {}).get("looks"))


def tuning_runs(trail: dict[str, Any]) -> int:
    """The selection runs a tuned arm's trail records: each round ran its candidates on
    the seeds it added (a round's ``seeds`` counts all the seeds run by then)."""
    runs, before = 0, 0
    for round_ in trail.get("rounds") or []:
        seeds = int(round_.get("seeds") or 0)
        runs += len(round_.get("candidates") or []) * (seeds - before)
        before = seeds
    return runs


def decided_table(report: dict[str, Any]) -> str:
    """The decided layout of one report.json (see the module docstring)."""
    from regkit.experiments.report.tuning_trail import TIED_TEXT, trail_rows, tuned_trails

    config = report.get("config") or {}
    variants = report["variants"]
    names = list(variants)
    trails = tuned_trails(config)
    arm_of = {trail.get("variant"): arm for arm, trail in trails.items()}
    margin = (config.get("design") or {}).get("margin")
    lines = [
        f"| Arm | Setting | Test accuracy, % [95 % CI] | Gap, pt | Difference from {names[0]}, "
        "pt [95 % CI] | Verdict | Seeds | s / run | Runs (tuning + study) | Status |",
        "|---|---|---|--:|---|---|--:|--:|--:|---|",
    ]
    verdicts: dict[str, int] = {}
    for name in names:
        entry = variants[name]
        ci = (entry.get("ci95") or {}).get("test_accuracy")
        versus = entry.get("vs_reference") or {}
        seconds, _ = _run_costs(entry, None)
        trail = trails.get(arm_of.get(name, ""), {})
        tuned = tuning_runs(trail) if trail else 0
        study_runs = len(entry.get("runs") or [])
        verdict = str(versus.get("verdict") or "-") if versus else "reference"
        if versus:
            verdicts[verdict] = verdicts.get(verdict, 0) + 1
        lines.append(
            "| "
            + " | ".join(
                [
                    arm_of.get(name, name),
                    str(entry.get("description") or "none"),
                    _pt(entry.get("test_accuracy")) + _interval(ci),
                    _pt(entry.get("generalization_gap"), sign=True),
                    (_pt(versus.get("mean_diff"), sign=True) + _interval(versus.get("ci95"), True))
                    if versus
                    else "-",
                    f"**{verdict}**" if verdict in ("better", "worse", "equivalent") else verdict,
                    str(len(entry.get("seeds") or [])),
                    f"{seconds:.0f}",
                    f"{tuned} + {study_runs}" if trail else str(study_runs),
                    str(entry.get("status", "")),
                ]
            )
            + " |"
        )
    arms = sum(verdicts.values())
    decided = arms - verdicts.get("undecided", 0) - verdicts.get("-", 0)
    counts = ", ".join(f"{word} {verdicts[word]}" for word in sorted(verdicts))
    margin_text = "" if margin is None else f"; margin ±{margin * 100:g} pt"
    lines += ["", f"Decided: {decided} of {arms} arms ({counts}{margin_text})."]
    for arm, trail in trails.items():
        rows = trail_rows(trail, bold=True)
        lines += ["", f"Tuning trail of {arm} (mean validation accuracy, %):", ""]
        lines.append("| " + " | ".join(rows[0]) + " |")
        lines.append("|" + "---|" * len(rows[0]))
        lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
        if trail.get("tied"):
            lines += ["", f"{arm}: {TIED_TEXT}."]
    return "\n".join(lines)


def reference_curves(path: Path, png: Path) -> Path:
    """Draws the reference's curves of report.json `path` (`regkit.plots.plot_report` on a
    report holding the reference's runs only) into `png`."""
    import shutil
    import tempfile

    from regkit.experiments import Report
    from regkit.plots import plot_report

    report = Report.from_json(path)
    reference = next(iter(report.variants))
    alone = Report(
        variants={reference: report.variants[reference]},
        runs=report.runs_for(reference),
        seeds=report.seeds,
        config=report.config,
    )
    with tempfile.TemporaryDirectory() as tmp:
        plot_report(alone, tmp)
        png.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(tmp) / "curves.png", png)
    return png


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reports", nargs="+", type=Path, help="report.json files")
    parser.add_argument(
        "--curves", type=Path, metavar="PNG", help="draw the first report's reference here"
    )
    args = parser.parse_args(argv)
    if args.curves:
        reference_curves(args.reports[0], args.curves)
    for path in args.reports:
        report = json.loads(path.read_text(encoding="utf-8"))
        config = report.get("config") or {}
        print(f"### {config.get('model')} on {config.get('dataset')} ({path})\n")
        print(decided_table(report) if deciding(report) else table(report))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
