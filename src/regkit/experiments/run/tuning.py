"""Tuned arms: each regularizer at its best strength, without the winner's curse.

For each arm of `compare(tune=...)` the reference variant is trained with every candidate
value on *selection seeds*, and successive halving (`regkit.experiments.run.halving`)
keeps the better half by mean VALIDATION accuracy each round, giving the survivors more
seeds, until one value is left. That value becomes one arm of the study, named for it
(``"l2 (tuned=0.0001)"``), and is compared with the reference on the study's own seeds,
which took no part in the choice, with the study's verdicts and error control. Test
figures are never looked at to choose.

Selection runs live in the study folder's ``_tuning/<arm>/`` folder, a study folder of
their own (its ledger reuses, resumes and refuses them like any run, and its report.md
shows them); their seeds are `SELECTION_SEED_BASE` and up, so they never meet the study's
confirmation seeds. report.json's ``config["tuning"]`` holds the trail: the candidates,
every round's validation means, who was dropped when, the selection seeds and the choice.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from regkit._checks import invalid
from regkit.experiments.report.results import Report
from regkit.experiments.report.tuning_trail import TIED_WHY
from regkit.experiments.run.halving import halving_rounds, ranked, select
from regkit.experiments.run.ledger import RunSlot, Study
from regkit.experiments.run.plan import Plan
from regkit.experiments.run.runner import say_for
from regkit.experiments.study.records import Variant, jsonable
from regkit.experiments.study.specs import folder_name
from regkit.experiments.study.tuning import candidates, coerce_tune, tuned_label

__all__ = ["SELECTION_SEED_BASE", "TUNING_DIR", "check_seeds", "tune_arms"]

#: The first selection seed; the study's own (confirmation) seeds stay below it.
SELECTION_SEED_BASE = 1_000_000
#: The study folder's subfolder that holds each tuned arm's selection runs.
TUNING_DIR = "_tuning"

RunSlots = Callable[[Plan, Study, Report, Sequence[RunSlot]], None]


def check_seeds(design: Mapping[str, Any]) -> None:
    """Refuses study seeds that would meet the selection seeds (a tuned study's
    confirmation seeds must take no part in the choice)."""
    clash = [seed for seed in design["seeds"] if seed >= SELECTION_SEED_BASE]
    if clash:
        raise invalid(
            "seeds",
            f"seeds below {SELECTION_SEED_BASE:,} in a tuned study (selection seeds)",
            clash,
        )


def tune_arms(
    plan: Plan, workdir: Path, run_slots: RunSlots
) -> tuple[dict[str, Variant], dict[str, Any], tuple[int, float]]:
    """Chooses each tuned arm's value on selection seeds.

    Args:
        plan: The checked plan (`plan.study.tune`; the first variant is the reference the
            candidates are made from).
        workdir: The study folder (or the temporary one without `out_dir`).
        run_slots: Runs a list of slots (`run_sequentially` or `run_in_parallel`).

    Returns:
        The chosen arms (name -> `Variant`), the trails for ``config["tuning"]``, and the
        runs and seconds the selection spent.
    """
    arms = coerce_tune(plan.study.tune)
    if not arms:
        return {}, {}, (0, 0.0)
    check_seeds(plan.config["design"])
    say = say_for(plan)
    reference = next(iter(plan.variants.values()))
    chosen: dict[str, Variant] = {}
    trails: dict[str, Any] = {}
    runs, seconds = 0, 0.0
    for arm, fields in arms.items():
        say(f"Tuning {arm}: {_grid_text(fields)} on selection seeds")
        pool = candidates(reference, fields)
        trail, report = _select(plan, workdir / TUNING_DIR / folder_name(arm), pool, run_slots)
        runs += len(report.runs)
        seconds += sum(run.wall_time or 0.0 for run in report.runs)
        winner = pool[trail["chosen_variant"]]
        values = dict(winner.swept)
        name = tuned_label(arm, values)
        chosen[name] = dataclasses.replace(winner, label=name, spec=name, base=None, swept=())
        trails[arm] = {**trail, "variant": name, "chosen": values}
        say(f"Tuning {arm}: chose {name!r}")
        if trail.get("tied"):  # a choice by the tie rule, which a user must not read as tuned
            warnings.warn(
                f"Tuning {arm}: every candidate scored the same validation accuracies on "
                f"every selection seed, so {name!r} is the tie rule's choice (the smallest "
                f"value, or the first listed), not a measurement's. {TIED_WHY}",
                UserWarning,
                stacklevel=2,
            )
    return chosen, jsonable(trails), (runs, seconds)


def _select(
    plan: Plan, folder: Path, pool: Mapping[str, Variant], run_slots: RunSlots
) -> tuple[dict[str, Any], Report]:
    """Successive halving over `pool` in `folder`, round by round; returns the trail."""
    labels = list(pool)
    key = {label: _key(pool[label]) for label in labels}
    rounds = halving_rounds(len(labels))
    seeds = [SELECTION_SEED_BASE + i for i in range(sum(s for _, s in rounds))]
    kept = plan.study.out_dir is not None
    sub_study = dataclasses.replace(
        plan.study,
        seeds=tuple(seeds[: rounds[0][1]]),
        out_dir=folder if kept else None,
        plots=False,
    )
    sub_plan = dataclasses.replace(
        plan,
        study=sub_study,
        variants=dict(pool),
        config={**plan.config, "design": {**plan.config["design"], "seeds": seeds}, "tuning": None},
    )
    report = Report(
        variants=sub_plan.variants,
        config=sub_plan.config,
        seeds=tuple(seeds),
        complete=False,
        directory=folder if kept else None,
    )
    folder.mkdir(parents=True, exist_ok=True)
    alive, used = labels, 0
    with Study(sub_plan, restart=plan.study.restart, workdir=folder) as study:
        for index, (_count, new) in enumerate(rounds):
            used += new
            pairs = [(label, seed) for seed in seeds[:used] for label in alive]
            done = {(r.variant, r.seed) for r in report.runs}
            run_slots(sub_plan, study, report, study.add([p for p in pairs if p not in done]))
            keep = rounds[index + 1][0] if index + 1 < len(rounds) else 1
            alive = _ranked(alive, report, seeds[:used], key)[:keep]
        report.complete = True
        if kept:
            report.save(folder, plots=False)
    scores = {key[label]: _scores(report, label, seeds) for label in labels}
    official = select(scores, rounds)
    if official.chosen != key[alive[0]]:  # pragma: no cover - the two readings of one rule
        raise RuntimeError(f"halving chose {alive[0]!r} but its rule gives {official.chosen!r}")
    trail = official.as_dict()
    trail.update(
        {
            "fields": {field: list(values) for field, values in _fields(pool).items()},
            "selection_seeds": sorted({r.seed for r in report.runs}),
            "metric": "val_accuracy",
            "chosen_variant": alive[0],
        }
    )
    return trail, report


def _key(variant: Variant) -> Any:
    """A candidate's name in the trail: its value (one field), or its values (several)."""
    values = [value for _, value in variant.swept]
    return values[0] if len(values) == 1 else tuple(values)


def _fields(pool: Mapping[str, Variant]) -> dict[str, list[Any]]:
    fields: dict[str, list[Any]] = {}
    for variant in pool.values():
        for field, value in variant.swept:
            if value not in fields.setdefault(field, []):
                fields[field].append(value)
    return fields


def _scores(report: Report, label: str, seeds: Sequence[int]) -> list[float]:
    """A candidate's validation accuracies in selection-seed order; a run that did not
    train (diverged, failed) scores 0, so it is never kept over one that did."""
    by_seed = {run.seed: run for run in report.runs_for(label)}
    out = []
    for seed in seeds:
        run = by_seed.get(seed)
        if run is None:
            break
        value = run.val_accuracy
        trained = run.status in ("ok", "collapsed")
        ok = trained and isinstance(value, numbers.Real) and math.isfinite(value)
        out.append(float(value) if ok and value is not None else 0.0)
    return out


def _ranked(
    alive: Sequence[str], report: Report, seeds: Sequence[int], key: Mapping[str, Any]
) -> list[str]:
    """`alive`, best first by mean validation accuracy over `seeds` (`halving.ranked`'s
    order: ties to the smaller value)."""
    label_of = {key[label]: label for label in alive}
    means = {}
    for label in alive:
        scores = _scores(report, label, seeds)
        means[key[label]] = math.fsum(scores) / len(scores)
    return [label_of[value] for value in ranked(means)]


def _grid_text(fields: Mapping[str, Sequence[Any]]) -> str:
    return " x ".join(f"{field} in {list(values)}" for field, values in fields.items())
