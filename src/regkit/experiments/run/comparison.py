"""A whole study: `run_comparison` runs every (variant, seed) of a checked `Plan`.

The top of the run wing: it opens the study folder (`ledger.Study`), chooses the tuned
arms' values on selection seeds (`tuning.tune_arms`), runs the study's rounds
(`rounds.run_rounds`: one round, or more with adaptive seeds) one run after the other
(`runner.run_sequentially`) or on workers (`parallel.run_in_parallel`), and saves the
`Report`.

Example:
    >>> from regkit.experiments.run.plan import plan_comparison
    >>> report = run_comparison(plan_comparison(["baseline"], epochs=1))  # doctest: +SKIP
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import cast

from regkit.experiments.report.results import Report
from regkit.experiments.run.ledger import Study
from regkit.experiments.run.parallel import run_in_parallel
from regkit.experiments.run.plan import Plan
from regkit.experiments.run.preflight import check_executor
from regkit.experiments.run.rounds import run_rounds
from regkit.experiments.run.runner import run_sequentially
from regkit.experiments.run.tuning import tune_arms

__all__ = ["run_comparison"]


def run_comparison(plan: Plan) -> Report:
    """Runs every (seed, variant) of `plan` and returns the `Report`.

    With `plan.study.out_dir`, the folder is locked for the whole study and checked before any
    training (`regkit.experiments.run.ledger.Study`): finished runs with the same settings
    are reused, interrupted ones resumed, and other settings refused. `report.json` /
    `report.md` are rewritten after every run (a crash keeps what finished) and the plots
    are drawn at the end.

    Args:
        plan: What `plan_comparison` checked.

    Returns:
        The complete `Report`.

    Raises:
        regkit.experiments.run.ledger.StudyFolderError: (a `ValueError` naming `out_dir`) the
            folder is in use, holds runs with other settings, or holds symlinks.
        OSError: the report itself cannot be written.
        Exception: the first failed run's exception where a failure stops the study
            (`runner.stops_at_failure`; after saving the partial report).
    """
    check_executor(plan.study.executor)  # still running tasks: refused before any write
    out_dir = cast("Path | None", plan.study.out_dir)  # checked: a created folder or None
    report = Report(
        variants=plan.variants,
        config=plan.config,
        seeds=tuple(cast("tuple[int, ...]", plan.study.seeds)),
        complete=False,
        directory=out_dir,
    )
    tmp: tempfile.TemporaryDirectory[str] | None = None
    workdir = out_dir
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="regkit-compare-")
        workdir = Path(tmp.name)
    try:
        with Study(plan, restart=plan.study.restart, workdir=workdir) as study:
            parallel = plan.study.jobs > 1 or plan.study.executor is not None
            run_slots = run_in_parallel if parallel else run_sequentially
            tuned, trails, selection = tune_arms(plan, workdir, run_slots)
            if tuned:  # each chosen arm joins the study, on the study's own seeds
                plan.variants.update(tuned)
                report.variants.update(tuned)
                plan.config["tuning"] = trails
                study.add([(name, seed) for seed in report.seeds for name in tuned])
            run_rounds(plan, study, report, run_slots, spent=lambda: selection)
            report.complete = True
            if plan.study.out_dir is not None:
                report.save(plan.study.out_dir, plots=plan.study.plots)
    finally:
        if tmp is not None:
            tmp.cleanup()
    return report
