"""Adaptive seeds: a study's runs in rounds, seeds spent where a verdict is still open.

A fixed-seed study is one round: every variant with every seed. With `max_seeds`, the
study runs the given seeds first, reads each variant's verdict against the reference
(`regkit.experiments.report.decisions.verdicts`: group-sequential tests whose error rate
survives looking again), and adds one seed per round to the variants still
``"undecided"``; the reference runs every seed any of them needs, so every comparison
stays paired. It stops when every verdict is decided, every open variant has run
`max_seeds` seeds, or the `budget` (runs, or wall time) is spent.

Every round goes through the same study folder (`Study.add`) and the same executors as
any run, and the verdicts are a function of the finished runs only: an interrupted study,
rerun, reuses its finished runs, replays the same decisions and goes on where it stopped;
a rerun with a larger `max_seeds` continues the same study.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

from regkit.experiments.report.decisions import verdicts
from regkit.experiments.report.results import Report
from regkit.experiments.run.ledger import RunSlot, Study
from regkit.experiments.run.plan import Plan
from regkit.experiments.run.runner import say_for

__all__ = ["budget_spent", "next_round", "run_rounds"]

#: How a round's slots are run: `run_sequentially` or `run_in_parallel`.
RunSlots = Callable[[Plan, Study, Report, Sequence[RunSlot]], None]


def budget_spent(budget: float | None, runs: int, seconds: float, at_once: int = 1) -> str | None:
    """Why the study stops adding rounds, or None while the budget lasts.

    Args:
        budget: The checked `budget`: an int is a number of runs, a float seconds of
            wall time (from the runs' own times, so a resumed study counts what it reused).
        runs: Runs so far (tuning's selection runs included).
        seconds: Their times, summed.
        at_once: Runs trained at once (`jobs`): the summed times over it is the wall time
            they took (two runs of 40 s side by side take 40 s, not 80).

    Example:
        >>> budget_spent(10, 10, 5.0)
        'the budget of 10 runs is spent (10 runs)'
        >>> budget_spent(60.0, 3, 30.0) is None
        True
        >>> budget_spent(60.0, 4, 100.0, at_once=2) is None  # 50 s of wall time
        True
    """
    if budget is None:
        return None
    if isinstance(budget, int):
        return f"the budget of {budget} runs is spent ({runs} runs)" if runs >= budget else None
    seconds /= max(1, at_once)
    if seconds >= budget:
        return f"the budget of {budget / 60:g} minutes is spent ({seconds / 60:.1f} minutes)"
    return None


def next_round(plan: Plan, report: Report) -> list[tuple[str, int]]:
    """The `(variant, seed)` runs the next round needs: for each variant whose verdict is
    open, the seeds up to its next look, and the reference's for all of them (runs the
    report already holds are left out)."""
    design = plan.config["design"]
    names = list(plan.variants)
    decided = verdicts({name: report.runs_for(name) for name in names}, config=plan.config)
    wanted = {name: d.next_look for name, d in decided.items() if d.next_look is not None}
    if not wanted:
        return []
    seeds = design["seeds"]
    pairs = [(names[0], seed) for seed in seeds[: max(wanted.values())]]
    pairs += [(name, seed) for name, look in wanted.items() for seed in seeds[:look]]
    done = {(run.variant, run.seed) for run in report.runs}
    return [pair for pair in dict.fromkeys(pairs) if pair not in done]


def run_rounds(
    plan: Plan,
    study: Study,
    report: Report,
    run_slots: RunSlots,
    *,
    spent: Callable[[], tuple[int, float]] | None = None,
) -> None:
    """Runs the study's first round (every variant, every given seed) and, with adaptive
    seeds, the rounds after it.

    Args:
        plan: The checked plan (its config's ``"design"`` says whether it is adaptive).
        study: The opened study folder.
        report: The report the runs go to.
        run_slots: Runs a list of slots (`run_sequentially` or `run_in_parallel`).
        spent: Runs and seconds spent outside this report (tuning's selection runs).
    """
    run_slots(plan, study, report, study.slots())
    design = plan.config["design"]
    if not design.get("looks"):
        return
    say = say_for(plan)
    number = 1
    while True:
        pairs = next_round(plan, report)
        if not pairs:
            return
        extra_runs, extra_seconds = spent() if spent is not None else (0, 0.0)
        stop = budget_spent(
            cast("float | None", plan.study.budget),  # checked: a run count or seconds
            len(report.runs) + extra_runs,
            sum(run.wall_time or 0.0 for run in report.runs) + extra_seconds,
            at_once=plan.study.jobs,
        )
        if stop is not None:
            design["stopped"] = stop
            say(f"Adaptive seeds: {stop}; the open verdicts stay undecided.")
            return
        number += 1
        open_names = sorted({name for name, _ in pairs} - {next(iter(plan.variants))})
        say(f"Round {number}: {len(pairs)} runs for {', '.join(open_names) or 'the reference'}")
        run_slots(plan, study, report, study.add(pairs))
        report.seeds = _seeds_used(report, design["seeds"])


def _seeds_used(report: Report, order: Sequence[int]) -> tuple[int, ...]:
    used = {run.seed for run in report.runs}
    return tuple(seed for seed in order if seed in used)
