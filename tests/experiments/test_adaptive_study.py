"""Adaptive seeds and tuned arms on the embedded digits, as a user runs them.

The statistics behind the verdicts are tested by simulation in test_sequential.py and
test_halving.py (NumPy only); these tests check that a real study spends its seeds where
the answer is open, says the four words, continues when rerun, and tunes without touching
the confirmation seeds.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

SMALL = {
    "epochs": 3,
    "limit": 300,
    "batch_size": 16,
    "learning_rate": 3e-3,
    "verbose": 0,
    "plots": False,
    "model_kwargs": {"filters": (8,), "dense_units": (16,)},
}


def test_budget_and_the_next_round_are_pure():
    from regkit.experiments.run.rounds import budget_spent

    assert budget_spent(None, 10**6, 1e9) is None
    assert budget_spent(12, 11, 0.0) is None
    assert "12 runs" in budget_spent(12, 12, 0.0)
    assert budget_spent(90 * 60.0, 100, 89 * 60.0) is None
    assert "90 minutes" in budget_spent(90 * 60.0, 1, 90 * 60.0)
    # runs side by side: their summed time over the runs at once is the wall time taken
    assert budget_spent(90 * 60.0, 100, 170 * 60.0, at_once=2) is None
    assert "(90.0 minutes)" in budget_spent(90 * 60.0, 100, 180 * 60.0, at_once=2)


def test_a_harmful_variant_is_worse_at_the_first_look_and_a_rerun_reuses_the_study(tmp_path):
    """The default tier's quick twin of the study below: 4 runs, then a rerun with a larger
    max_seeds that has nothing left to decide and so trains nothing."""
    from regkit import compare

    variants = {"baseline": "baseline", "crushed": "l2=1"}
    report = compare(variants, seeds=(0, 1), max_seeds=3, out_dir=tmp_path, **SMALL)
    assert report.comparisons()["crushed"]["verdict"] == "worse"
    assert Counter(run.variant for run in report.runs) == {"baseline": 2, "crushed": 2}
    again = compare(variants, seeds=(0, 1), max_seeds=4, out_dir=tmp_path, **SMALL)
    assert [run.origin for run in again.runs] == ["reused"] * 4


@pytest.mark.slow
def test_adaptive_seeds_decide_a_harmful_variant_first_and_continue_when_rerun(tmp_path):
    from regkit import compare

    variants = {
        "baseline": "baseline",
        "crushed": "l2=1",  # the penalty crushes the weights: runs collapse at chance
        "same": "baseline",  # identical to the reference: within any margin
        "lr": "learning_rate=0.0032",  # a small change: open after two seeds
    }
    report = compare(variants, seeds=(0, 1), max_seeds=3, margin=0.002, out_dir=tmp_path, **SMALL)
    runs = Counter(run.variant for run in report.runs)
    verdicts = {name: c["verdict"] for name, c in report.comparisons().items()}
    assert verdicts["crushed"] == "worse" and runs["crushed"] == 2
    assert verdicts["same"] == "equivalent" and runs["same"] == 2
    assert runs["lr"] == 3 and runs["baseline"] == 3  # the reference runs what lr needs
    saved = json.loads((tmp_path / "report.json").read_text())
    lr = saved["variants"]["lr"]["vs_reference"]
    assert lr["verdict"] in ("better", "worse", "equivalent", "undecided")
    assert lr["margin"] == 0.002 and saved["config"]["design"]["looks"] == [2, 3]
    if lr["verdict"] == "undecided":  # at max_seeds: what it could still detect
        assert lr["detectable"] is not None

    again = compare(variants, seeds=(0, 1), max_seeds=4, margin=0.002, out_dir=tmp_path, **SMALL)
    origins = Counter(run.origin for run in again.runs)
    assert origins["reused"] == len(report.runs)  # the same study, continued
    new = Counter(run.variant for run in again.runs if run.origin != "reused")
    assert set(new) <= {"lr", "baseline"} and new["lr"] == new["baseline"] <= 1  # open ones only
    assert Counter(run.variant for run in again.runs)["crushed"] == 2  # decided: no more seeds


def test_a_tuned_arm_is_chosen_on_selection_seeds_and_confirmed_on_the_study_seeds(tmp_path):
    from regkit import compare

    report = compare("baseline", tune={"l2": [1e-5, 1.0]}, seeds=(0, 1), out_dir=tmp_path, **SMALL)
    assert list(report.variants) == ["baseline", "l2 (tuned=1e-05)"]
    assert report.variants["l2 (tuned=1e-05)"].reg.l2 == 1e-5
    trail = report.config["tuning"]["l2"]
    assert trail["chosen"] == {"l2": 1e-5} and trail["rounds"][0]["dropped"] == [1.0]
    selection = set(trail["selection_seeds"])
    assert selection and not selection & {run.seed for run in report.runs}
    assert (tmp_path / "_tuning" / "l2" / "report.json").is_file()
    assert "verdict" in report.comparisons()["l2 (tuned=1e-05)"]


def test_tune_and_adaptive_settings_are_refused_before_anything_trains():
    from regkit import compare

    with pytest.raises(ValueError, match="argument `tune`"):
        compare("baseline", tune={"l2": [1e-4]}, **SMALL)  # one candidate: nothing to choose
    with pytest.raises(ValueError, match="argument `tune`"):
        compare("baseline", tune={"nonsense": [1, 2]}, **SMALL)
    with pytest.raises(ValueError, match="argument `seeds`"):
        compare("baseline", seeds=(0,), max_seeds=4, **SMALL)
    with pytest.raises(ValueError, match="argument `max_seeds`"):
        compare("baseline", seeds=(0, 1, 2), max_seeds=2, **SMALL)
    with pytest.raises(ValueError, match="argument `budget`"):
        compare("baseline", budget="ninety minutes", **SMALL)


def test_a_variant_that_fails_to_train_where_the_reference_trains_is_worse():
    from regkit.experiments.report.decisions import verdicts
    from regkit.experiments.study.records import RunResult

    def runs(name, status, base):
        return [RunResult(name, s, status=status, test_accuracy=base + s / 100) for s in range(3)]

    by_variant = {
        "ref": runs("ref", "ok", 0.9),
        "bad": runs("bad", "collapsed", 0.1),
        "fine": runs("fine", "ok", 0.9),
    }
    decided = verdicts(by_variant, config={"design": {"margin": 0.01}})
    assert decided["bad"].verdict == "worse"
    assert decided["fine"].verdict == "equivalent"  # identical figures: zero spread
    both_failed = {"ref": runs("ref", "collapsed", 0.1), "also": runs("also", "collapsed", 0.1)}
    assert verdicts(both_failed, config={})["also"].verdict != "worse"


def test_a_tuning_whose_candidates_all_tie_warns_that_it_chose_nothing(monkeypatch, tmp_path):
    import types

    from regkit.experiments.report.results import Report
    from regkit.experiments.run import tuning
    from regkit.experiments.run.halving import halving_rounds, select
    from regkit.experiments.study.records import Variant

    def select_alike(plan, folder, pool, run_slots):  # every candidate: the same accuracies
        trail = select({s: [0.84, 0.85, 0.83] for s in (0.1, 0.25)}, halving_rounds(2))
        return {**trail.as_dict(), "chosen_variant": next(iter(pool))}, Report(variants={})

    monkeypatch.setattr(tuning, "_select", select_alike)
    study = types.SimpleNamespace(tune={"swa": [0.1, 0.25]}, verbose=0)
    plan = types.SimpleNamespace(
        study=study, config={"design": {"seeds": [0, 1]}}, variants={"baseline": Variant({})}
    )
    with pytest.warns(UserWarning, match=r"Tuning swa: every candidate scored the same"):
        chosen, trails, _ = tuning.tune_arms(plan, tmp_path, run_slots=None)
    assert trails["swa"]["tied"] is True and list(chosen) == ["swa (tuned=0.1)"]
