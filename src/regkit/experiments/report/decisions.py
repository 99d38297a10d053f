"""A study's verdicts: each variant against the reference in one of four words.

The words and their error control are `regkit.experiments.report.sequential`'s; this
module reads them off a report's runs. Each variant's paired differences (its test
accuracy minus the reference's, seed by seed, in the study's seed order) go to
`sequential.decide` when the study is adaptive (its config's ``"design"`` has several
looks) and to `sequential.fixed_verdicts` otherwise. A variant with a collapsed or
diverged run on a seed where the reference trained is ``"worse"`` (it failed to train
where the reference did not), and the others share alpha without it.

The verdicts are a function of the runs alone, so a report read back from its JSON, or a
study resumed after an interruption, gives the same words.

Example:
    >>> from regkit.experiments.study.records import RunResult, Variant
    >>> runs = [RunResult("ref", s, status="ok", test_accuracy=0.90 + s / 1000) for s in range(3)]
    >>> runs += [RunResult("bad", s, status="collapsed", test_accuracy=0.1) for s in range(3)]
    >>> verdicts({"ref": runs[:3], "bad": runs[3:]}, config={})["bad"].verdict
    'worse'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from regkit.experiments.report.sequential import (
    Decision,
    SequentialDesign,
    decide,
    fixed_verdicts,
)
from regkit.experiments.study.records import MEASURED_STATUSES

__all__ = ["FAILED_TO_TRAIN", "design_of", "paired_differences", "verdict_fields", "verdicts"]

#: Run statuses that make a variant's verdict "worse": it did not train.
FAILED_TO_TRAIN = frozenset({"collapsed", "diverged"})


def design_of(config: Mapping[str, Any]) -> SequentialDesign | None:
    """The adaptive design a report's config records (None: a fixed-seed study)."""
    design = config.get("design") or {}
    looks = design.get("looks")
    if not looks or len(looks) < 2:
        return None
    return SequentialDesign(
        looks=tuple(looks), alpha=design.get("alpha", 0.05), margin=design.get("margin")
    )


def paired_differences(
    reference_runs: Sequence[Any],
    runs: Sequence[Any],
    seed_order: Sequence[int] = (),
    metric: str = "test_accuracy",
) -> list[float]:
    """A variant's test accuracy minus the reference's, on the seeds both measured, in the
    study's seed order (`seed_order`; seeds it lacks after it, by value)."""
    ref = {
        r.seed: getattr(r, metric, None) for r in reference_runs if r.status in MEASURED_STATUSES
    }
    position = {seed: i for i, seed in enumerate(seed_order)}
    pairs = []
    for run in runs:
        a, b = ref.get(run.seed), getattr(run, metric, None)
        if run.status not in MEASURED_STATUSES or not _finite(a) or not _finite(b):
            continue
        pairs.append((position.get(run.seed, len(position)), run.seed, float(b) - float(a)))  # type: ignore[arg-type]
    return [d for *_, d in sorted(pairs)]


def verdicts(
    runs_by_variant: Mapping[str, Sequence[Any]], *, config: Mapping[str, Any]
) -> dict[str, Decision]:
    """Every variant but the first (the reference) against the first.

    Args:
        runs_by_variant: Variant name -> its `RunResult`s, the reference first.
        config: The report's config: its ``"design"`` (``looks``, ``alpha``, ``margin``,
            ``seeds``) says which design and error rate; absent, a fixed design at 0.05
            with no margin.

    Returns:
        Variant name -> `sequential.Decision`, for every variant but the reference.
    """
    names = list(runs_by_variant)
    if len(names) < 2:
        return {}
    reference, others = names[0], names[1:]
    design_config = config.get("design") or {}
    order = design_config.get("seeds") or ()
    ref_runs = runs_by_variant[reference]
    trained = {run.seed for run in ref_runs if run.status not in FAILED_TO_TRAIN}
    forced = {
        name: "worse"
        for name in others
        if any(
            run.status in FAILED_TO_TRAIN and run.seed in trained for run in runs_by_variant[name]
        )
    }
    differences = {
        name: paired_differences(ref_runs, runs_by_variant[name], order)
        for name in others
        if name not in forced
    }
    design = design_of(config)
    alpha = design_config.get("alpha", 0.05)
    margin = design_config.get("margin")
    if design is not None:
        decided = decide(
            {name: differences.get(name, []) for name in others},
            design,
            forced=forced,
        )
        for name in forced:  # the design's replay keeps their seeds; the word is theirs
            decided[name] = _forced(name, runs_by_variant, ref_runs, order, margin)
        return {name: decided[name] for name in others}
    fixed = fixed_verdicts(differences, alpha=alpha, margin=margin) if differences else {}
    return {
        name: fixed[name]
        if name in fixed
        else _forced(name, runs_by_variant, ref_runs, order, margin)
        for name in others
    }


def _forced(
    name: str,
    runs_by_variant: Mapping[str, Sequence[Any]],
    ref_runs: Sequence[Any],
    order: Sequence[int],
    margin: float | None,
) -> Decision:
    values = paired_differences(ref_runs, runs_by_variant[name], order)
    return Decision(
        verdict="worse",
        margin=margin,
        n=len(values),
        mean_diff=math.fsum(values) / len(values) if values else None,
        interval=None,
        detectable=None,
        seeds_to_decide=None,
        look=0,
        alpha_spent=0.0,
    )


def verdict_fields(decision: Decision) -> dict[str, Any]:
    """What report.json's `vs_reference` gains from a verdict: ``verdict`` and ``margin``,
    and for ``"undecided"`` the smallest difference the study could still detect
    (``detectable``) and how many more seeds would decide it (``seeds_to_decide``)."""
    fields: dict[str, Any] = {"verdict": decision.verdict, "margin": decision.margin}
    if decision.verdict == "undecided":
        fields["detectable"] = decision.detectable
        fields["seeds_to_decide"] = decision.seeds_to_decide
    return fields


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
