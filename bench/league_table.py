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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reports", nargs="+", type=Path, help="report.json files")
    args = parser.parse_args(argv)
    for path in args.reports:
        report = json.loads(path.read_text(encoding="utf-8"))
        config = report.get("config") or {}
        print(f"### {config.get('model')} on {config.get('dataset')} ({path})\n")
        print(table(report))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
